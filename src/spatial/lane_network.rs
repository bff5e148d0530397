//! The lane network: a graph of the lanes (hutongs, and walkways in the
//! estates) for walking distances. Nodes sit at lane ends, at vertices and
//! where lanes cross or a lane ends on another, snapped together within
//! [`SNAP_M`]; each edge is a straight piece of one lane with its geodesic
//! length. Points (a job, a crew, a courtyard) attach to the nearest piece
//! of lane. The graph is petgraph's; geometry is done in a local metric
//! frame (equirectangular about the network's mean latitude, well under
//! 0.1 % off across a city), lengths on the ellipsoid.

use super::geodesy::distance_m;
use geo::Point;
use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;
use rstar::primitives::{GeomWithData, Line};
use rstar::{AABB, PointDistance, RTree};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes a node index (a `u32`) with one multiplication: the searches
/// do a map operation per edge, and SipHash was most of their time. No
/// crate is added for a hasher of one integer.
#[derive(Default)]
struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type NodeMap<V> = HashMap<NodeIndex, V, BuildHasherDefault<NodeHasher>>;

/// What a search reached: each node's distance, its predecessor, and
/// whether it is settled.
type Reach = NodeMap<(f64, Option<NodeIndex>, bool)>;

/// Points of different lanes this close are one node.
pub const SNAP_M: f64 = 1.0;
/// A point farther than this from every lane does not walk along them:
/// its distances are straight lines.
pub const MAX_ATTACH_M: f64 = 150.0;
/// Most a walk searches before it gives up on the lanes and reports the
/// straight line (a crew on foot walks a few kilometres, not across the
/// city).
pub const MAX_WALK_M: f64 = 20_000.0;

const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

/// Longitude/latitude to metres about a reference latitude, and back.
#[derive(Debug, Clone, Copy)]
struct LocalFrame {
    lon0: f64,
    lat0: f64,
    m_per_deg_lon: f64,
}

impl LocalFrame {
    fn around(lon0: f64, lat0: f64) -> Self {
        LocalFrame {
            lon0,
            lat0,
            m_per_deg_lon: METRES_PER_DEGREE_LAT * lat0.to_radians().cos(),
        }
    }

    fn to_m(self, (lon, lat): (f64, f64)) -> [f64; 2] {
        [
            (lon - self.lon0) * self.m_per_deg_lon,
            (lat - self.lat0) * METRES_PER_DEGREE_LAT,
        ]
    }

    fn to_lon_lat(self, [x, y]: [f64; 2]) -> (f64, f64) {
        (
            self.lon0 + x / self.m_per_deg_lon,
            self.lat0 + y / METRES_PER_DEGREE_LAT,
        )
    }
}

/// A piece of one lane between two nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneEdge {
    /// The lane asset's id.
    pub lane: i64,
    pub length_m: f64,
}

type Segment = GeomWithData<Line<[f64; 2]>, EdgeIndex>;
/// A segment of a lane as drawn: the lane's and the segment's position.
type RawSegment = GeomWithData<Line<[f64; 2]>, (usize, usize)>;

/// Where a point meets the network: a piece of lane, how far along it
/// (0 at its first node, 1 at its second) and the straight step from the
/// point onto it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attachment {
    pub edge: EdgeIndex,
    pub along: f64,
    pub access_m: f64,
    at: [f64; 2],
}

/// How a distance was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceMethod {
    /// Along the lanes (with the straight steps onto and off them).
    Lanes,
    /// A straight line: no lane near one end, or no lane joins the two.
    StraightLine,
}

/// A distance between two points and how it was measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WalkingDistance {
    pub distance_m: f64,
    pub straight_m: f64,
    pub method: DistanceMethod,
}

/// One leg of a walk: its distance and its path as longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    pub distance: WalkingDistance,
    pub path: Vec<(f64, f64)>,
}

#[derive(Debug, Default)]
pub struct LaneNetwork {
    graph: UnGraph<[f64; 2], LaneEdge>,
    segments: RTree<Segment>,
    frame: Option<LocalFrame>,
}

/// A node reached by a search, ordered for the heap (nearest first).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reached {
    distance: f64,
    node: NodeIndex,
}

impl Eq for Reached {}

impl Ord for Reached {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then_with(|| self.node.cmp(&other.node))
    }
}

impl PartialOrd for Reached {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How far a search from `from` goes before it gives up on the lanes:
/// three times the straight line to the farthest of `to` and 500 m
/// more (detours in the old city run to about one and a half times),
/// at most [`MAX_WALK_M`]. A point no lane joins would otherwise send
/// the search over the whole network.
fn walk_limit_m(from: (f64, f64), to: &[(f64, f64)]) -> f64 {
    let farthest = to
        .iter()
        .map(|p| distance_m(Point::new(from.0, from.1), Point::new(p.0, p.1)))
        .fold(0.0, f64::max);
    (3.0 * farthest + 500.0).min(MAX_WALK_M)
}

/// The parameter (0..1) of the point of segment `a`–`b` nearest `p`.
fn project(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return 0.0;
    }
    (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
}

fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Where segments `a`–`b` and `c`–`d` cross, as the parameter along the
/// first, when they do (parallel ones never do).
fn crossing(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> Option<f64> {
    let r = [b[0] - a[0], b[1] - a[1]];
    let s = [d[0] - c[0], d[1] - c[1]];
    let denom = r[0] * s[1] - r[1] * s[0];
    if denom.abs() < 1e-12 {
        return None;
    }
    let q = [c[0] - a[0], c[1] - a[1]];
    let t = (q[0] * s[1] - q[1] * s[0]) / denom;
    let u = (q[0] * r[1] - q[1] * r[0]) / denom;
    ((0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u)).then_some(t)
}

impl LaneNetwork {
    /// The network of these lanes (id and centre line as
    /// longitude/latitude vertices).
    pub fn build(lanes: &[(i64, Vec<(f64, f64)>)]) -> Self {
        let lanes: Vec<&(i64, Vec<(f64, f64)>)> =
            lanes.iter().filter(|(_, line)| line.len() >= 2).collect();
        let count = lanes.iter().map(|(_, l)| l.len()).sum::<usize>();
        if count == 0 {
            return LaneNetwork::default();
        }
        let (sum_lon, sum_lat) = lanes
            .iter()
            .flat_map(|(_, l)| l.iter())
            .fold((0.0, 0.0), |(x, y), (lon, lat)| (x + lon, y + lat));
        let frame = LocalFrame::around(sum_lon / count as f64, sum_lat / count as f64);
        let lines: Vec<Vec<[f64; 2]>> = lanes
            .iter()
            .map(|(_, l)| l.iter().map(|&p| frame.to_m(p)).collect())
            .collect();

        // Every raw segment, to find where lanes cross or end on others.
        let raw: RTree<RawSegment> = RTree::bulk_load(
            lines
                .iter()
                .enumerate()
                .flat_map(|(i, l)| {
                    l.windows(2)
                        .enumerate()
                        .map(move |(k, w)| GeomWithData::new(Line::new(w[0], w[1]), (i, k)))
                })
                .collect(),
        );
        // Per lane and segment, the parameters where it must be split.
        let mut splits: Vec<Vec<Vec<f64>>> = lines
            .iter()
            .map(|l| vec![Vec::new(); l.len() - 1])
            .collect();
        for (i, line) in lines.iter().enumerate() {
            for (k, w) in line.windows(2).enumerate() {
                let (a, b) = (w[0], w[1]);
                let envelope = AABB::from_corners(
                    [a[0].min(b[0]) - SNAP_M, a[1].min(b[1]) - SNAP_M],
                    [a[0].max(b[0]) + SNAP_M, a[1].max(b[1]) + SNAP_M],
                );
                for other in raw.locate_in_envelope_intersecting(&envelope) {
                    let (j, m) = other.data;
                    if j == i {
                        continue;
                    }
                    let (c, d) = (other.geom().from, other.geom().to);
                    if let Some(t) = crossing(a, b, c, d) {
                        splits[i][k].push(t);
                    }
                    // The other lane ends on this one (a T-junction drawn
                    // a little short or long).
                    let last = lines[j].len() - 2;
                    let ends = [(m == 0).then_some(c), (m == last).then_some(d)];
                    for end in ends.into_iter().flatten() {
                        let t = project(a, b, end);
                        if dist(lerp(a, b, t), end) <= SNAP_M {
                            splits[i][k].push(t);
                        }
                    }
                }
            }
        }

        let mut network = LaneNetwork {
            frame: Some(frame),
            ..LaneNetwork::default()
        };
        let mut nodes: RTree<GeomWithData<[f64; 2], NodeIndex>> = RTree::new();
        let mut node_at = |graph: &mut UnGraph<[f64; 2], LaneEdge>, p: [f64; 2]| {
            if let Some(near) = nodes.nearest_neighbor(&p) {
                if near.geom().distance_2(&p) <= SNAP_M * SNAP_M {
                    return near.data;
                }
            }
            let node = graph.add_node(p);
            nodes.insert(GeomWithData::new(p, node));
            node
        };
        let mut edges = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let lane = lanes[i].0;
            let mut points = vec![line[0]];
            for (k, w) in line.windows(2).enumerate() {
                let mut ts = std::mem::take(&mut splits[i][k]);
                ts.sort_by(f64::total_cmp);
                points.extend(ts.into_iter().map(|t| lerp(w[0], w[1], t)));
                points.push(w[1]);
            }
            let mut previous = node_at(&mut network.graph, points[0]);
            for &p in &points[1..] {
                let node = node_at(&mut network.graph, p);
                if node != previous && network.graph.find_edge(previous, node).is_none() {
                    let (a, b) = (network.graph[previous], network.graph[node]);
                    let ((lon_a, lat_a), (lon_b, lat_b)) =
                        (frame.to_lon_lat(a), frame.to_lon_lat(b));
                    let length_m = distance_m(Point::new(lon_a, lat_a), Point::new(lon_b, lat_b));
                    let edge = network
                        .graph
                        .add_edge(previous, node, LaneEdge { lane, length_m });
                    edges.push(GeomWithData::new(Line::new(a, b), edge));
                }
                previous = node;
            }
        }
        network.segments = RTree::bulk_load(edges);
        network
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Where a point meets the lanes, if one is within [`MAX_ATTACH_M`].
    pub fn attach(&self, (lon, lat): (f64, f64)) -> Option<Attachment> {
        let frame = self.frame?;
        let p = frame.to_m((lon, lat));
        let nearest = self.segments.nearest_neighbor(&p)?;
        let line = nearest.geom();
        let along = project(line.from, line.to, p);
        let at = lerp(line.from, line.to, along);
        let access_m = dist(at, p);
        (access_m <= MAX_ATTACH_M).then_some(Attachment {
            edge: nearest.data,
            along,
            access_m,
            at,
        })
    }

    /// The two ends of an attachment's edge with the distance to each.
    fn seeds(&self, a: &Attachment) -> Option<[(NodeIndex, f64); 2]> {
        let (u, v) = self.graph.edge_endpoints(a.edge)?;
        let length = self.graph[a.edge].length_m;
        Some([(u, a.along * length), (v, (1.0 - a.along) * length)])
    }

    /// Shortest distances along the lanes from an attachment to the
    /// nodes, until every node of `targets` is settled or the search
    /// passes [`MAX_WALK_M`]; with each node's predecessor.
    ///
    /// Written here rather than with `petgraph::algo::dijkstra`: that one
    /// starts from a single node, while an attachment starts part-way
    /// along an edge (two sources, each with an offset), and it searches
    /// the whole component instead of stopping once the targets are met.
    fn search(&self, from: &Attachment, targets: &[NodeIndex], limit_m: f64) -> Reach {
        // Sized for a search of a few hundred nodes, so that it does not
        // grow its tables as it goes.
        let mut reach = Reach::with_capacity_and_hasher(512, Default::default());
        let mut heap = BinaryHeap::with_capacity(256);
        let Some(seeds) = self.seeds(from) else {
            return reach;
        };
        for (node, distance) in seeds {
            if reach.get(&node).is_none_or(|(d, _, _)| distance < *d) {
                reach.insert(node, (distance, None, false));
                heap.push(Reached { distance, node });
            }
        }
        let mut wanted: NodeMap<()> = targets.iter().map(|t| (*t, ())).collect();
        while let Some(Reached { distance, node }) = heap.pop() {
            if distance > limit_m {
                break;
            }
            match reach.get_mut(&node) {
                Some(entry) if !entry.2 => entry.2 = true,
                _ => continue,
            }
            if wanted.remove(&node).is_some() && wanted.is_empty() {
                break;
            }
            for edge in self.graph.edges(node) {
                let next = if edge.source() == node {
                    edge.target()
                } else {
                    edge.source()
                };
                let d = distance + edge.weight().length_m;
                if reach.get(&next).is_none_or(|(old, _, _)| d < *old) {
                    reach.insert(next, (d, Some(node), false));
                    heap.push(Reached {
                        distance: d,
                        node: next,
                    });
                }
            }
        }
        reach
    }

    /// The distance along the lanes between two attachments (without the
    /// steps onto and off them), and the end node of `b`'s edge it
    /// arrives by (`None`: along the shared edge).
    fn along(
        &self,
        a: &Attachment,
        b: &Attachment,
        reached: &Reach,
    ) -> Option<(f64, Option<NodeIndex>)> {
        let mut found: Option<(f64, Option<NodeIndex>)> = None;
        if a.edge == b.edge {
            let length = self.graph[a.edge].length_m;
            found = Some(((a.along - b.along).abs() * length, None));
        }
        for (node, offset) in self.seeds(b)? {
            if let Some((d, _, _)) = reached.get(&node) {
                let total = d + offset;
                if found.is_none_or(|(f, _)| total < f) {
                    found = Some((total, Some(node)));
                }
            }
        }
        found
    }

    /// The walking distance between two points: along the lanes when both
    /// are near one and a lane joins them, else the straight line.
    pub fn distance(&self, a: (f64, f64), b: (f64, f64)) -> WalkingDistance {
        self.leg(a, b, false).distance
    }

    /// Whether a distance from a point (`from_on_lanes`: a lane reaches
    /// it) to `to` stands for a walk: along the lanes, or a straight line
    /// where no lane reaches one end. Between two points on lanes, a
    /// straight-line answer means the lanes do not join them within the
    /// search, so it is no walk at all.
    pub fn is_walk(&self, w: &WalkingDistance, from_on_lanes: bool, to: (f64, f64)) -> bool {
        Self::counts_as_walk(w, from_on_lanes, self.attach(to).is_some())
    }

    /// [`LaneNetwork::is_walk`] when whether a lane reaches each end is
    /// known already.
    pub fn counts_as_walk(w: &WalkingDistance, from_on_lanes: bool, to_on_lanes: bool) -> bool {
        w.method == DistanceMethod::Lanes || !from_on_lanes || !to_on_lanes
    }

    /// Walking distances from `origin` to each of `targets`, with one
    /// search (a crew's distance to the jobs near it).
    pub fn distances_from(
        &self,
        origin: (f64, f64),
        targets: &[(f64, f64)],
    ) -> Vec<WalkingDistance> {
        let attached: Vec<((f64, f64), Option<Attachment>)> =
            targets.iter().map(|p| (*p, self.attach(*p))).collect();
        self.distances_from_attached(origin, &attached)
    }

    /// [`LaneNetwork::distances_from`] for targets already attached to
    /// this network (by [`LaneNetwork::attach`]): jobs that stay put are
    /// attached once, not at every query.
    pub fn distances_from_attached(
        &self,
        origin: (f64, f64),
        targets: &[((f64, f64), Option<Attachment>)],
    ) -> Vec<WalkingDistance> {
        let from = self.attach(origin);
        let points: Vec<(f64, f64)> = targets.iter().map(|(p, _)| *p).collect();
        let reach = from.as_ref().map(|f| {
            let ends: Vec<NodeIndex> = targets
                .iter()
                .filter_map(|(_, a)| a.as_ref())
                .flat_map(|a| self.ends(a))
                .collect();
            self.search(f, &ends, walk_limit_m(origin, &points))
        });
        targets
            .iter()
            .map(|(t, a)| {
                self.leg_between(
                    (origin, from.as_ref()),
                    (*t, a.as_ref()),
                    reach.as_ref(),
                    false,
                )
                .distance
            })
            .collect()
    }

    /// A leg from `a` to `b` with its path when `with_path`.
    pub fn leg(&self, a: (f64, f64), b: (f64, f64), with_path: bool) -> Leg {
        let (from, to) = (self.attach(a), self.attach(b));
        let reach = match (&from, &to) {
            (Some(f), Some(t)) => {
                let targets = self.ends(t);
                Some(self.search(f, &targets, walk_limit_m(a, &[b])))
            }
            _ => None,
        };
        self.leg_between(
            (a, from.as_ref()),
            (b, to.as_ref()),
            reach.as_ref(),
            with_path,
        )
    }

    /// The two nodes of an attachment's edge.
    fn ends(&self, a: &Attachment) -> Vec<NodeIndex> {
        self.graph
            .edge_endpoints(a.edge)
            .map(|(u, v)| vec![u, v])
            .unwrap_or_default()
    }

    /// A leg between two points, given where each meets the lanes and
    /// what a search from the first reached.
    fn leg_between(
        &self,
        (a, from): ((f64, f64), Option<&Attachment>),
        (b, to): ((f64, f64), Option<&Attachment>),
        reach: Option<&Reach>,
        with_path: bool,
    ) -> Leg {
        let straight_m = distance_m(Point::new(a.0, a.1), Point::new(b.0, b.1));
        let straight = Leg {
            distance: WalkingDistance {
                distance_m: straight_m,
                straight_m,
                method: DistanceMethod::StraightLine,
            },
            path: if with_path { vec![a, b] } else { Vec::new() },
        };
        let (Some(frame), Some(from), Some(to), Some(reach)) = (self.frame, from, to, reach) else {
            return straight;
        };
        let Some((along, via)) = self.along(from, to, reach) else {
            return straight;
        };
        let distance_m = from.access_m + along + to.access_m;
        let path = if with_path {
            let mut nodes = Vec::new();
            let mut cursor = via;
            while let Some(node) = cursor {
                nodes.push(node);
                cursor = reach.get(&node).and_then(|(_, previous, _)| *previous);
            }
            nodes.reverse();
            let mut metres = vec![frame.to_m(a), from.at];
            metres.extend(nodes.iter().map(|n| self.graph[*n]));
            metres.push(to.at);
            metres.push(frame.to_m(b));
            metres.dedup_by(|x, y| dist(*x, *y) < 0.01);
            let mut path: Vec<(f64, f64)> =
                metres.into_iter().map(|p| frame.to_lon_lat(p)).collect();
            // The ends exactly as given.
            if let Some(first) = path.first_mut() {
                *first = a;
            }
            if path.len() > 1 {
                if let Some(last) = path.last_mut() {
                    *last = b;
                }
            }
            path
        } else {
            Vec::new()
        };
        Leg {
            distance: WalkingDistance {
                distance_m,
                straight_m,
                method: DistanceMethod::Lanes,
            },
            path,
        }
    }

    /// Where each point meets the lanes, and a search from each that
    /// stops once it has reached all the others.
    fn searches(&self, points: &[(f64, f64)]) -> (Vec<Option<Attachment>>, Vec<Option<Reach>>) {
        let attached: Vec<Option<Attachment>> = points.iter().map(|p| self.attach(*p)).collect();
        let targets: Vec<NodeIndex> = attached
            .iter()
            .flatten()
            .flat_map(|a| self.ends(a))
            .collect();
        let reaches = attached
            .iter()
            .zip(points)
            .map(|(a, p)| {
                a.as_ref()
                    .map(|a| self.search(a, &targets, walk_limit_m(*p, points)))
            })
            .collect();
        (attached, reaches)
    }

    /// Walking distances between every pair of `points` (the lanes are
    /// walked both ways). One search per point.
    pub fn matrix(&self, points: &[(f64, f64)]) -> Vec<Vec<WalkingDistance>> {
        let (attached, reaches) = self.searches(points);
        (0..points.len())
            .map(|i| {
                (0..points.len())
                    .map(|j| {
                        self.leg_between(
                            (points[i], attached[i].as_ref()),
                            (points[j], attached[j].as_ref()),
                            reaches[i].as_ref(),
                            false,
                        )
                        .distance
                    })
                    .collect()
            })
            .collect()
    }

    /// The order to walk `stops` in from `start` (indices into `stops`),
    /// with each leg and its path.
    pub fn route(&self, start: (f64, f64), stops: &[(f64, f64)]) -> (Vec<usize>, Vec<Leg>) {
        let mut points = vec![start];
        points.extend_from_slice(stops);
        let (attached, reaches) = self.searches(&points);
        let leg = |i: usize, j: usize, with_path: bool| {
            self.leg_between(
                (points[i], attached[i].as_ref()),
                (points[j], attached[j].as_ref()),
                reaches[i].as_ref(),
                with_path,
            )
        };
        let d: Vec<Vec<f64>> = (0..points.len())
            .map(|i| {
                (0..points.len())
                    .map(|j| leg(i, j, false).distance.distance_m)
                    .collect()
            })
            .collect();
        let order = super::walking_order::walking_order(&d);
        let mut legs = Vec::with_capacity(order.len());
        let mut from = 0;
        for &stop in &order {
            legs.push(leg(from, stop, true));
            from = stop;
        }
        (order.into_iter().map(|i| i - 1).collect(), legs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres east and north of a point in the old city, as lon/lat.
    fn at(east: f64, north: f64) -> (f64, f64) {
        let frame = LocalFrame::around(116.39, 39.94);
        frame.to_lon_lat([east, north])
    }

    #[test]
    fn crossing_lanes_share_a_node_and_a_dead_end_is_walked_around() {
        // A comb: a main lane along the south, two dead-end lanes going
        // north from it 100 m apart. Their tips are 100 m apart in a
        // straight line but 400 m apart on foot.
        let lanes = vec![
            (1, vec![at(0.0, 0.0), at(300.0, 0.0)]),
            (2, vec![at(100.0, 0.0), at(100.0, 150.0)]),
            // Drawn 0.6 m short of the main lane: still joined.
            (3, vec![at(200.0, 0.6), at(200.0, 150.0)]),
        ];
        let network = LaneNetwork::build(&lanes);
        assert_eq!(network.node_count(), 6, "ends, and two T-junctions");
        let walk = network.distance(at(100.0, 150.0), at(200.0, 150.0));
        assert_eq!(walk.method, DistanceMethod::Lanes);
        assert!((walk.distance_m - 400.0).abs() < 1.5, "{walk:?}");
        assert!((walk.straight_m - 100.0).abs() < 0.2, "{walk:?}");
        let leg = network.leg(at(100.0, 150.0), at(200.0, 150.0), true);
        assert_eq!(leg.path.len(), 4, "{:?}", leg.path);
        // A point off the lanes steps onto them.
        let off = network.distance(at(110.0, 140.0), at(200.0, 150.0));
        assert!((off.distance_m - (10.0 + 390.0)).abs() < 1.5, "{off:?}");
        // Far from every lane: the straight line, and said so.
        let far = network.distance(at(100.0, 150.0), at(2000.0, 2000.0));
        assert_eq!(far.method, DistanceMethod::StraightLine);
        assert_eq!(far.distance_m, far.straight_m);
    }

    #[test]
    fn lanes_that_do_not_meet_fall_back_to_the_straight_line() {
        let lanes = vec![
            (1, vec![at(0.0, 0.0), at(100.0, 0.0)]),
            (2, vec![at(0.0, 50.0), at(100.0, 50.0)]),
        ];
        let network = LaneNetwork::build(&lanes);
        let across = network.distance(at(50.0, 0.0), at(50.0, 50.0));
        assert_eq!(across.method, DistanceMethod::StraightLine);
        let same = network.distance(at(10.0, 0.0), at(90.0, 0.0));
        assert_eq!(same.method, DistanceMethod::Lanes);
        assert!((same.distance_m - 80.0).abs() < 0.2);
        let m = network.matrix(&[at(10.0, 0.0), at(90.0, 0.0), at(50.0, 50.0)]);
        assert_eq!(m[0][1].method, DistanceMethod::Lanes);
        assert_eq!(m[0][2].method, DistanceMethod::StraightLine);
        assert!((m[1][0].distance_m - m[0][1].distance_m).abs() < 1e-6);
        assert!(LaneNetwork::build(&[]).attach(at(0.0, 0.0)).is_none());
    }

    #[test]
    fn a_route_walks_the_tips_of_a_comb_in_order_along_the_lanes() {
        // Teeth every 100 m along a 400 m lane, each 100 m long. From the
        // lane's west end, the tips are walked west to east, down and up
        // each tooth: the straight-line order would be the same, but each
        // leg is 300 m on foot (100 down, 100 along, 100 up), not 100.
        let mut lanes = vec![(1, vec![at(0.0, 0.0), at(400.0, 0.0)])];
        for (i, x) in [100.0, 200.0, 300.0].into_iter().enumerate() {
            lanes.push((i as i64 + 2, vec![at(x, 0.0), at(x, 100.0)]));
        }
        let network = LaneNetwork::build(&lanes);
        let stops = [at(300.0, 100.0), at(100.0, 100.0), at(200.0, 100.0)];
        let (order, legs) = network.route(at(0.0, 0.0), &stops);
        assert_eq!(order, [1, 2, 0]);
        let lengths: Vec<f64> = legs.iter().map(|l| l.distance.distance_m).collect();
        for (got, want) in lengths.iter().zip([200.0, 300.0, 300.0]) {
            assert!((got - want).abs() < 1.0, "{lengths:?}");
        }
        assert!(
            legs.iter()
                .all(|l| l.distance.method == DistanceMethod::Lanes)
        );
        // Each leg's path runs from its start to its stop.
        assert_eq!(legs[0].path.first(), Some(&at(0.0, 0.0)));
        assert_eq!(legs[2].path.last(), Some(&stops[0]));
        assert_eq!(legs[1].path.len(), 4, "{:?}", legs[1].path);
    }
}
