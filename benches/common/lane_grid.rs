//! The lane network two benchmarks share (`walking_order`, `work_orders`):
//! 10,000 lanes of hutong blocks of 100 m on an 80 × 80 grid north-east of
//! Gulou, one block side in five missing at random (dead ends and
//! detours), each lane bent in the middle.

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

pub const BLOCK_M: f64 = 100.0;
/// Blocks on a side of the grid.
pub const SIDE: usize = 80;
pub const WEST: f64 = 116.39;
pub const SOUTH: f64 = 39.94;

/// Metres east and north of the grid's corner as lon/lat.
pub fn at(east: f64, north: f64) -> (f64, f64) {
    (
        WEST + east / (111_320.0 * SOUTH.to_radians().cos()),
        SOUTH + north / 111_320.0,
    )
}

/// The 10,000 lanes, drawn with `rng` (which goes on from there).
pub fn lanes(rng: &mut Pcg64Mcg) -> Vec<(i64, Vec<(f64, f64)>)> {
    let mut lanes = Vec::new();
    let mut id = 0i64;
    for row in 0..=SIDE {
        for col in 0..SIDE {
            for horizontal in [true, false] {
                if rng.random_range(0..5) == 0 {
                    continue;
                }
                let (x, y) = if horizontal {
                    (col as f64 * BLOCK_M, row as f64 * BLOCK_M)
                } else {
                    (row as f64 * BLOCK_M, col as f64 * BLOCK_M)
                };
                let end = if horizontal {
                    (x + BLOCK_M, y)
                } else {
                    (x, y + BLOCK_M)
                };
                // A bend in the middle, as hutongs have.
                let mid = ((x + end.0) / 2.0 + 3.0, (y + end.1) / 2.0 + 3.0);
                id += 1;
                lanes.push((id, vec![at(x, y), at(mid.0, mid.1), at(end.0, end.1)]));
                if lanes.len() == 10_000 {
                    return lanes;
                }
            }
        }
    }
    lanes
}
