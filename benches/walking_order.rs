//! Walking order over a lane network of 10,000 lanes: hutong blocks of
//! 100 m lanes on a grid with a fifth of them missing (dead ends and
//! detours, as in the old city), and a crew with 30 jobs spread over the
//! 1.5 km around where it stands. Reports the network's build time and
//! sizes, then per route (each a different crew position and different
//! jobs) the whole of `LaneNetwork::route`: the distance matrix (one
//! bounded search per point), the order (nearest neighbour and 2-opt) and
//! the legs' paths.
//! The first route is reported apart from the rest.
//!
//! `cargo bench --bench walking_order` (HUTONG_BENCH_ROUTES, default 200)

use hutong::spatial::{DistanceMethod, LaneNetwork};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::time::Instant;

#[path = "common/lane_grid.rs"]
mod lane_grid;

use lane_grid::{BLOCK_M, SIDE, at};

const STOPS: usize = 30;

fn main() {
    let routes: usize = std::env::var("HUTONG_BENCH_ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rng = Pcg64Mcg::seed_from_u64(13);
    // 10,000 lanes: an 80 × 80 grid of blocks has 2 × 80 × 81 = 12,960
    // block sides; four in five are kept at random until 10,000 are.
    let lanes = lane_grid::lanes(&mut rng);
    let side = SIDE;
    let started = Instant::now();
    let network = LaneNetwork::build(&lanes);
    println!(
        "lane network: {} lanes, {} nodes, {} edges, built in {:.0} ms",
        lanes.len(),
        network.node_count(),
        network.edge_count(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let extent = side as f64 * BLOCK_M;
    let mut times = Vec::new();
    let mut straight_legs = 0usize;
    let mut walked_over_straight = Vec::new();
    for _ in 0..routes {
        let centre = (
            rng.random_range(800.0..extent - 800.0),
            rng.random_range(800.0..extent - 800.0),
        );
        let mut points = vec![at(centre.0, centre.1)];
        for _ in 0..STOPS {
            points.push(at(
                centre.0 + rng.random_range(-750.0..750.0),
                centre.1 + rng.random_range(-750.0..750.0),
            ));
        }
        let started = Instant::now();
        let (order, legs) = network.route(points[0], &points[1..]);
        let mut path_points = 0;
        for leg in &legs {
            path_points += leg.path.len();
            if leg.distance.method == DistanceMethod::StraightLine {
                straight_legs += 1;
            } else {
                walked_over_straight
                    .push(leg.distance.distance_m / leg.distance.straight_m.max(1.0));
            }
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(path_points > 0 && order.len() == STOPS);
    }
    let first = times[0];
    let mut rest = times[1..].to_vec();
    rest.sort_by(f64::total_cmp);
    let pct = |p: f64| rest[((rest.len() - 1) as f64 * p) as usize];
    walked_over_straight.sort_by(f64::total_cmp);
    println!(
        "routes of {STOPS} stops: first {first:.1} ms; then over {} routes median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        rest.len(),
        pct(0.5),
        pct(0.95),
        rest[rest.len() - 1]
    );
    println!(
        "legs: {straight_legs} by straight line (no lane near or none joining), the rest walked at a median {:.2}× their straight line",
        walked_over_straight[walked_over_straight.len() / 2]
    );
}
