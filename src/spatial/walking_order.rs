//! The order to walk a crew's jobs in: an open tour from where the crew
//! stands through every stop, short by walking distance. Up to
//! [`EXACT_UP_TO`] stops every order is tried; beyond, the nearest
//! neighbour first, then 2-opt until no reversal shortens it.
//!
//! Written here: the few crates that solve travelling-salesman tours
//! solve closed tours over coordinates; this one is open (it ends at the
//! last job) and runs over a matrix of walking distances.

/// Up to this many stops, the order is the best of all orders (8! =
/// 40,320 of them, a millisecond).
pub const EXACT_UP_TO: usize = 8;
/// Most rounds of 2-opt: each is O(n²), and a round that finds nothing
/// ends them.
const MAX_TWO_OPT_ROUNDS: usize = 200;

/// The length of walking the stops in `order` from the start (index 0 of
/// `d`; stops are 1..).
pub fn tour_length(d: &[Vec<f64>], order: &[usize]) -> f64 {
    let mut at = 0;
    let mut total = 0.0;
    for &next in order {
        total += d[at][next];
        at = next;
    }
    total
}

/// The order (indices 1..n of `d`) to walk the stops in from index 0.
pub fn walking_order(d: &[Vec<f64>]) -> Vec<usize> {
    let stops = d.len().saturating_sub(1);
    if stops <= EXACT_UP_TO {
        best_of_all(d)
    } else {
        let mut order = nearest_neighbour(d);
        two_opt(d, &mut order);
        order
    }
}

/// From the start, always to the nearest stop not yet visited.
pub fn nearest_neighbour(d: &[Vec<f64>]) -> Vec<usize> {
    let n = d.len();
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n.saturating_sub(1));
    let mut at = 0;
    for _ in 1..n {
        let next = (1..n)
            .filter(|&j| !visited[j])
            .min_by(|&a, &b| d[at][a].total_cmp(&d[at][b]));
        let Some(next) = next else { break };
        visited[next] = true;
        order.push(next);
        at = next;
    }
    order
}

/// Reverses stretches of the order while that shortens the open tour.
pub fn two_opt(d: &[Vec<f64>], order: &mut [usize]) {
    let n = order.len();
    for _ in 0..MAX_TWO_OPT_ROUNDS {
        let mut improved = false;
        for i in 0..n {
            let before = if i == 0 { 0 } else { order[i - 1] };
            for j in i + 1..n {
                // Reverse order[i..=j]: the edges before i and after j change.
                let removed = d[before][order[i]]
                    + if j + 1 < n {
                        d[order[j]][order[j + 1]]
                    } else {
                        0.0
                    };
                let added = d[before][order[j]]
                    + if j + 1 < n {
                        d[order[i]][order[j + 1]]
                    } else {
                        0.0
                    };
                if added + 1e-9 < removed {
                    order[i..=j].reverse();
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// The shortest order of all (Heap's algorithm over the stops).
pub fn best_of_all(d: &[Vec<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (1..d.len()).collect();
    let mut best = order.clone();
    let mut best_length = tour_length(d, &order);
    let n = order.len();
    let mut c = vec![0usize; n];
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                order.swap(0, i);
            } else {
                order.swap(c[i], i);
            }
            let length = tour_length(d, &order);
            if length < best_length {
                best_length = length;
                best.clone_from(&order);
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A distance matrix of points on a plane, the start first.
    fn plane(points: &[(f64, f64)]) -> Vec<Vec<f64>> {
        points
            .iter()
            .map(|a| {
                points
                    .iter()
                    .map(|b| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_row_of_stops_is_walked_end_to_end() {
        // The crew stands at 0; stops at 3, 1, 2 and 10 along a line.
        let d = plane(&[(0.0, 0.0), (3.0, 0.0), (1.0, 0.0), (2.0, 0.0), (10.0, 0.0)]);
        assert_eq!(walking_order(&d), [2, 3, 1, 4]);
        assert_eq!(tour_length(&d, &[2, 3, 1, 4]), 10.0);
        // Standing between: the short side first (4 there, then 5 and 4
        // on: 13), not the nearest stop (1 there, 4 on, 9 back: 14).
        let d = plane(&[(4.0, 0.0), (0.0, 0.0), (5.0, 0.0), (9.0, 0.0)]);
        assert_eq!(walking_order(&d), [1, 2, 3]);
        assert_eq!(nearest_neighbour(&d), [2, 3, 1]);
    }

    #[test]
    fn the_heuristic_is_never_better_than_brute_force_and_rarely_worse() {
        // A small deterministic generator (no test dependency for it).
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 10_000) as f64 / 10.0
        };
        let mut worst: f64 = 1.0;
        for stops in 1..=EXACT_UP_TO {
            for _ in 0..40 {
                let points: Vec<(f64, f64)> = (0..=stops).map(|_| (next(), next())).collect();
                let d = plane(&points);
                let best = tour_length(&d, &best_of_all(&d));
                let mut order = nearest_neighbour(&d);
                two_opt(&d, &mut order);
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (1..=stops).collect::<Vec<_>>(), "every stop once");
                let found = tour_length(&d, &order);
                assert!(found + 1e-9 >= best, "{found} < {best}");
                worst = worst.max(found / best.max(1e-9));
                assert_eq!(tour_length(&d, &walking_order(&d)), best);
            }
        }
        assert!(
            worst < 1.25,
            "nearest neighbour + 2-opt within 25 %: {worst}"
        );
    }

    #[test]
    fn thirty_stops_are_ordered_without_crossings() {
        let points: Vec<(f64, f64)> = (0..=30)
            .map(|i| {
                let a = i as f64 * 0.7;
                (100.0 * a.cos() + i as f64, 100.0 * a.sin())
            })
            .collect();
        let d = plane(&points);
        let order = walking_order(&d);
        assert_eq!(order.len(), 30);
        let nn = tour_length(&d, &nearest_neighbour(&d));
        assert!(tour_length(&d, &order) <= nn);
    }
}
