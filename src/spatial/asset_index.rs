//! The in-memory R*-tree of every asset.
//!
//! Each asset kind has two trees: one over longitude/latitude envelopes,
//! for bounding-box and containment queries, and one over Earth-centred
//! (ECEF) coordinates in metres, for nearest-neighbour and radius queries.
//! In ECEF the straight-line distance is a true metric, so rstar's
//! best-first search is exact in it (see `geodesy`): nearest means nearest
//! in metres, not in degrees.

use super::LonLatBox;
use super::address_index::{AddressIndex, AddressMatch};
use super::geodesy::{
    Ecef, EcefPoint, chord_m_for_distance_m, distance_m_from_chord_m, segment_distance_2,
};
use crate::domain::{AddressKey, Asset, AssetAttributes, AssetId, AssetKind, Derived, Version};
use geo::{BoundingRect, Coord, CoordsIter, Geometry, InteriorPoint, Intersects, Point, Rect};
use rstar::{AABB, Envelope, RTree, RTreeObject};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// One asset in memory: the whole asset as stored (geometry, attributes,
/// version, times). Reads answer from here, never from the store. What
/// spatial queries need of it (its envelopes) lives in the trees' entries,
/// not here, and its vertices are taken into ECEF only when a query
/// measures to them: a second copy of every vertex would cost more memory
/// than the few conversions a query makes.
#[derive(Debug)]
pub struct IndexedAsset {
    pub asset: Asset,
}

impl IndexedAsset {
    /// An asset with only a geometry (the attributes its kind requires,
    /// at their first values): for tests and benchmarks of the index.
    pub fn bare(id: AssetId, kind: AssetKind, geometry: Geometry<f64>) -> Self {
        Self::new(Asset {
            id,
            geometry,
            attributes: AssetAttributes::minimal(kind),
            derived: Derived::default(),
            version: Version::FIRST,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        })
    }

    pub fn new(asset: Asset) -> Self {
        Self { asset }
    }

    pub fn id(&self) -> AssetId {
        self.asset.id
    }

    pub fn kind(&self) -> AssetKind {
        self.asset.kind()
    }

    pub fn geometry(&self) -> &Geometry<f64> {
        &self.asset.geometry
    }

    fn is_areal(&self) -> bool {
        matches!(
            self.asset.geometry,
            Geometry::Polygon(_) | Geometry::MultiPolygon(_)
        )
    }

    /// The envelope of the geometry in longitude/latitude.
    fn lonlat_envelope(&self) -> AABB<[f64; 2]> {
        match self.asset.geometry.bounding_rect() {
            Some(r) => AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
            None => AABB::from_point([0.0, 0.0]),
        }
    }

    /// The envelope of the vertices in ECEF (for a point, the point).
    fn ecef_envelope(&self) -> AABB<EcefPoint> {
        match &self.asset.geometry {
            Geometry::Point(p) => AABB::from_point(Ecef::from_point(*p)),
            other => AABB::from_points(
                &other
                    .coords_iter()
                    .map(|c| Ecef::from_lon_lat(c.x, c.y))
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// Squared chord from `q` to the nearest point of the asset's
    /// vertices and edges (for polygons: of their boundary), the vertices
    /// taken into ECEF as they are met.
    fn boundary_chord_2(&self, q: &EcefPoint) -> f64 {
        fn nearest_on_path(
            q: &EcefPoint,
            coords: impl Iterator<Item = Coord<f64>>,
            best: &mut f64,
        ) {
            let mut previous: Option<EcefPoint> = None;
            for c in coords {
                let p = Ecef::from_lon_lat(c.x, c.y);
                *best = best.min(match previous {
                    None => super::geodesy::chord_2(*q, p),
                    Some(a) => segment_distance_2(*q, a, p),
                });
                previous = Some(p);
            }
        }
        let mut best = f64::INFINITY;
        match &self.asset.geometry {
            Geometry::Point(p) => return super::geodesy::chord_2(*q, Ecef::from_point(*p)),
            Geometry::Polygon(p) => {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    nearest_on_path(q, ring.coords().copied(), &mut best);
                }
            }
            Geometry::MultiPolygon(mp) => {
                for p in mp {
                    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                        nearest_on_path(q, ring.coords().copied(), &mut best);
                    }
                }
            }
            Geometry::MultiLineString(lines) => {
                for line in lines {
                    nearest_on_path(q, line.coords().copied(), &mut best);
                }
            }
            other => nearest_on_path(q, other.coords_iter(), &mut best),
        }
        best
    }

    /// A point guaranteed to lie inside the geometry (on it, for lines).
    pub fn interior_point(&self) -> Option<Point<f64>> {
        self.asset.geometry.interior_point()
    }
}

/// Entries keep their envelope inline so that queries touch the asset
/// itself only for the few candidates that need its geometry: at a
/// million assets, chasing the `Arc` for every visited leaf costs more
/// than the arithmetic.
#[derive(Clone)]
struct PlanarEntry {
    envelope: AABB<[f64; 2]>,
    asset: Arc<IndexedAsset>,
}

impl PlanarEntry {
    fn new(asset: &Arc<IndexedAsset>) -> Self {
        Self {
            envelope: asset.lonlat_envelope(),
            asset: asset.clone(),
        }
    }
}

impl RTreeObject for PlanarEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

impl PartialEq for PlanarEntry {
    fn eq(&self, other: &Self) -> bool {
        self.asset.id() == other.asset.id()
    }
}

/// An entry of the ECEF tree of every kind: the kind is kept inline, so
/// that a walk for some kinds passes the others without touching them.
#[derive(Clone)]
struct EcefEntry {
    envelope: AABB<EcefPoint>,
    asset: Arc<IndexedAsset>,
    kind: AssetKind,
    /// A polygon: a point inside it is at 0 m.
    areal: bool,
}

impl EcefEntry {
    fn new(asset: &Arc<IndexedAsset>) -> Self {
        Self {
            envelope: asset.ecef_envelope(),
            asset: asset.clone(),
            kind: asset.kind(),
            areal: asset.is_areal(),
        }
    }

    /// Whether a point this far (squared chord) from the envelope of the
    /// polygon's vertices may lie inside it: the surface between the
    /// vertices bulges beyond their envelope by at most the sagitta of
    /// the polygon's extent, d²/8R; twice that, and a millimetre, is the
    /// margin taken here.
    fn may_contain(&self, envelope_d2: f64) -> bool {
        const MIN_RADIUS_M: f64 = 6_300_000.0;
        let extent_2 = super::geodesy::chord_2(self.envelope.upper(), self.envelope.lower());
        let margin = extent_2 / (4.0 * MIN_RADIUS_M) + 1e-3;
        self.areal && envelope_d2 <= margin * margin
    }

    fn is_point(&self) -> bool {
        self.envelope.lower() == self.envelope.upper()
    }

    /// Squared chord from `q` to the asset: exact for a point (its
    /// envelope), measured to the vertices and edges otherwise. Edges are
    /// straight chords between ECEF vertices, inside the envelope of the
    /// vertices, so the envelope's distance is a lower bound of this.
    fn exact_distance_2(&self, q: &EcefPoint) -> f64 {
        if self.is_point() {
            super::geodesy::chord_2(*q, self.envelope.lower())
        } else {
            self.asset.boundary_chord_2(q)
        }
    }
}

impl RTreeObject for EcefEntry {
    type Envelope = AABB<EcefPoint>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

impl PartialEq for EcefEntry {
    fn eq(&self, other: &Self) -> bool {
        self.asset.id() == other.asset.id()
    }
}

/// A nearest-neighbour or radius query.
#[derive(Debug, Clone)]
pub struct NearbyQuery {
    pub point: Point<f64>,
    /// Kinds to search; empty means every kind.
    pub kinds: Vec<AssetKind>,
    /// Only assets at most this far, metres.
    pub radius_m: Option<f64>,
    /// At most this many results.
    pub limit: usize,
}

/// One answer to a [`NearbyQuery`].
#[derive(Debug, Clone)]
pub struct NearbyHit {
    pub asset: Arc<IndexedAsset>,
    /// Metric distance from the query point, 0 when a polygon contains it.
    pub distance_m: f64,
}

/// The trees' node sizes: up to 16 children rather than rstar's 6, so a
/// million assets sit five levels deep instead of eight, and a query
/// visits fewer nodes (each a cache miss) for a few more envelope tests
/// in memory it has already fetched.
struct Wide;

impl rstar::RTreeParams for Wide {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 5;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}
/// How many asset kinds there are: one tree and id set each.
const KINDS: usize = AssetKind::ALL.len();

/// Every asset: a longitude/latitude tree per kind (boxes, containment,
/// tiles, listings are per kind), and one ECEF tree of every kind for
/// nearest queries, walked by `nearby` and filtered by kind as it goes.
#[derive(Default)]
pub struct AssetIndex {
    planar: [RTree<PlanarEntry, Wide>; KINDS],
    ecef: RTree<EcefEntry, Wide>,
    by_id: HashMap<AssetId, Arc<IndexedAsset>>,
    /// Each kind's ids in order, for paging without a box.
    ids_by_kind: [BTreeSet<AssetId>; KINDS],
    /// The gazetteer: addressed assets by their address.
    addresses: AddressIndex,
}

impl AssetIndex {
    /// Bulk-loads an index (much faster than inserting one by one).
    pub fn build(assets: Vec<IndexedAsset>) -> Self {
        let mut by_id = HashMap::with_capacity(assets.len());
        let mut per_kind: [Vec<Arc<IndexedAsset>>; KINDS] = Default::default();
        let mut ids_by_kind: [BTreeSet<AssetId>; KINDS] = Default::default();
        let mut addresses = AddressIndex::default();
        for asset in assets {
            addresses.insert(&asset.asset);
            let asset = Arc::new(asset);
            ids_by_kind[asset.kind().index()].insert(asset.id());
            per_kind[asset.kind().index()].push(asset.clone());
            by_id.insert(asset.id(), asset);
        }
        let planar_of = |assets: &Vec<Arc<IndexedAsset>>| -> RTree<PlanarEntry, Wide> {
            RTree::bulk_load_with_params(assets.iter().map(PlanarEntry::new).collect())
        };
        // The two families of trees are independent: build them on two
        // threads.
        let all = || -> RTree<EcefEntry, Wide> {
            RTree::bulk_load_with_params(per_kind.iter().flatten().map(EcefEntry::new).collect())
        };
        let (planar, ecef) = std::thread::scope(|scope| {
            let ecef = scope.spawn(all);
            let planar: Vec<_> = per_kind.iter().map(planar_of).collect();
            // A thread that panicked (out of memory) is redone here.
            let ecef = ecef.join().unwrap_or_else(|_| all());
            (planar, ecef)
        });
        let mut trees: [RTree<PlanarEntry, Wide>; KINDS] = Default::default();
        for (slot, planar) in trees.iter_mut().zip(planar) {
            *slot = planar;
        }
        Self {
            planar: trees,
            ecef,
            by_id,
            ids_by_kind,
            addresses,
        }
    }

    /// The asset an address names, and how precisely (see
    /// [`AddressIndex::lookup`]).
    pub fn lookup_address(&self, query: &AddressKey) -> Option<AddressMatch> {
        self.addresses.lookup(query)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many assets of these kinds (all when empty) are indexed.
    pub fn count(&self, kinds: &[AssetKind]) -> usize {
        Self::kinds(kinds)
            .iter()
            .map(|k| self.planar[k.index()].size())
            .sum()
    }

    /// The box around every asset of this kind, or `None` when there is
    /// none (the root of the kind's tree: no walk).
    pub fn extent(&self, kind: AssetKind) -> Option<LonLatBox> {
        let tree = &self.planar[kind.index()];
        if tree.size() == 0 {
            return None;
        }
        let envelope = tree.root().envelope();
        let ([min_lon, min_lat], [max_lon, max_lat]) = (envelope.lower(), envelope.upper());
        Some(LonLatBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// The ids of every asset of this kind, in order.
    pub fn ids_of(&self, kind: AssetKind) -> Vec<AssetId> {
        self.ids_by_kind[kind.index()].iter().copied().collect()
    }

    /// A page of the ids of these kinds (all when empty), in order.
    pub fn page_of(&self, kinds: &[AssetKind], offset: u64, limit: u32) -> Vec<AssetId> {
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = limit as usize;
        match Self::kinds(kinds).as_slice() {
            [kind] => self.ids_by_kind[kind.index()]
                .iter()
                .skip(skip)
                .take(take)
                .copied()
                .collect(),
            many => {
                let mut ids: Vec<AssetId> = many
                    .iter()
                    .flat_map(|k| self.ids_by_kind[k.index()].iter().copied())
                    .collect();
                ids.sort();
                ids.into_iter().skip(skip).take(take).collect()
            }
        }
    }

    pub fn get(&self, id: AssetId) -> Option<&Arc<IndexedAsset>> {
        self.by_id.get(&id)
    }

    /// Adds an asset or replaces the one with the same id.
    pub fn upsert(&mut self, asset: IndexedAsset) {
        self.remove(asset.id());
        let asset = Arc::new(asset);
        self.planar[asset.kind().index()].insert(PlanarEntry::new(&asset));
        self.ecef.insert(EcefEntry::new(&asset));
        self.ids_by_kind[asset.kind().index()].insert(asset.id());
        self.addresses.insert(&asset.asset);
        self.by_id.insert(asset.id(), asset);
    }

    /// Removes an asset; returns whether it was there.
    pub fn remove(&mut self, id: AssetId) -> bool {
        let Some(asset) = self.by_id.remove(&id) else {
            return false;
        };
        self.planar[asset.kind().index()].remove(&PlanarEntry::new(&asset));
        self.ecef.remove(&EcefEntry::new(&asset));
        self.ids_by_kind[asset.kind().index()].remove(&id);
        self.addresses.remove(&asset.asset);
        true
    }

    fn kinds(kinds: &[AssetKind]) -> Vec<AssetKind> {
        if kinds.is_empty() {
            AssetKind::ALL.to_vec()
        } else {
            let mut k = kinds.to_vec();
            k.sort();
            k.dedup();
            k
        }
    }

    /// Assets whose geometry intersects the box, ordered by id.
    pub fn intersecting(&self, bbox: LonLatBox, kinds: &[AssetKind]) -> Vec<Arc<IndexedAsset>> {
        let envelope =
            AABB::from_corners([bbox.min_lon, bbox.min_lat], [bbox.max_lon, bbox.max_lat]);
        let rect = Rect::new(
            Coord {
                x: bbox.min_lon,
                y: bbox.min_lat,
            },
            Coord {
                x: bbox.max_lon,
                y: bbox.max_lat,
            },
        );
        let mut out: Vec<Arc<IndexedAsset>> = Vec::new();
        for kind in Self::kinds(kinds) {
            for entry in self.planar[kind.index()].locate_in_envelope_intersecting(&envelope) {
                let asset = &entry.asset;
                let inside = envelope.contains_envelope(&entry.envelope);
                if inside || asset.geometry().intersects(&rect) {
                    out.push(asset.clone());
                }
            }
        }
        out.sort_by_key(|a| a.id());
        out
    }

    /// Polygonal assets that contain the point (boundary included),
    /// ordered by id.
    pub fn containing(&self, point: Point<f64>, kinds: &[AssetKind]) -> Vec<Arc<IndexedAsset>> {
        let mut out = Vec::new();
        for kind in Self::kinds(kinds) {
            let at = AABB::from_point([point.x(), point.y()]);
            for entry in self.planar[kind.index()].locate_in_envelope_intersecting(&at) {
                if entry.asset.is_areal() && entry.asset.geometry().intersects(&point) {
                    out.push(entry.asset.clone());
                }
            }
        }
        out.sort_by_key(|a| a.id());
        out
    }

    /// The nearest assets to a point, closest first (ties by id), exact in
    /// the metric of `geodesy`. A polygon containing the point is at 0 m.
    pub fn nearby(&self, query: &NearbyQuery) -> Vec<NearbyHit> {
        if query.limit == 0 {
            return Vec::new();
        }
        let kinds = Self::kinds(&query.kinds);
        let max_chord_2 = query
            .radius_m
            .map(|r| chord_m_for_distance_m(r).powi(2))
            .unwrap_or(f64::INFINITY);

        // Polygons that contain the point are at 0 m: the walk tests
        // them for containment as it meets them.
        let mut hits: Vec<(f64, Arc<IndexedAsset>)> = Vec::new();
        // A kind with no assets is not looked for: the walk would pass
        // every entry of the tree in vain.
        let mut wanted = [false; KINDS];
        for k in &kinds {
            wanted[k.index()] = self.planar[k.index()].size() > 0;
        }
        if !wanted.contains(&true) {
            return Vec::new();
        }
        let mut last_d2 = f64::NEG_INFINITY;
        let walk = NearestWalk::new(&self.ecef, query.point, wanted, max_chord_2, query.limit);
        for (entry, d2) in walk {
            // Enough: unless this one ties with the last taken (then it
            // may have the lower id, which wins ties).
            if hits.len() >= query.limit && d2 > last_d2 {
                break;
            }
            last_d2 = d2;
            hits.push((d2, entry.asset.clone()));
        }
        hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id().cmp(&b.1.id())));
        hits.truncate(query.limit);
        hits.into_iter()
            .map(|(d2, asset)| NearbyHit {
                asset,
                distance_m: distance_m_from_chord_m(d2.sqrt()),
            })
            .collect()
    }
}

/// A best-first walk of the ECEF tree from a point, nearest first: the
/// tree's nodes and entries in one heap by their distance from the point.
/// A polygon that contains the point is at 0 m.
/// An entry that is not a point goes in by its envelope's distance (a
/// lower bound) and is measured exactly only when it comes out on top, so
/// that the walk converts the vertices of only the few shapes that can be
/// in the answer. Entries of kinds not wanted are passed over unmeasured.
/// (rstar's own nearest iterator measures every entry it meets and knows
/// no filter: written here for those two reasons.)
struct NearestWalk<'a> {
    q: EcefPoint,
    /// The query point in longitude/latitude, for containment.
    point: Point<f64>,
    wanted: [bool; KINDS],
    max_d2: f64,
    heap: std::collections::BinaryHeap<Candidate<'a>>,
    /// How many answers are wanted, and the distances (as ordered bits
    /// of non-negative squared chords) of the nearest that many entries
    /// measured so far, the farthest on top: nothing farther than the
    /// farthest of them can be in the answer, so it is not pushed.
    limit: usize,
    nearest: std::collections::BinaryHeap<u64>,
}

enum Step<'a> {
    Node(&'a rstar::ParentNode<EcefEntry>),
    Bound(&'a EcefEntry),
    Exact(&'a EcefEntry),
}

struct Candidate<'a> {
    d2: f64,
    step: Step<'a>,
}

impl PartialEq for Candidate<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.d2.total_cmp(&other.d2).is_eq()
    }
}

impl Eq for Candidate<'_> {}

impl PartialOrd for Candidate<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate<'_> {
    /// Reversed: the heap's top is the nearest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.d2.total_cmp(&self.d2)
    }
}

impl<'a> NearestWalk<'a> {
    fn new(
        tree: &'a RTree<EcefEntry, Wide>,
        point: Point<f64>,
        wanted: [bool; KINDS],
        max_d2: f64,
        limit: usize,
    ) -> Self {
        let q = Ecef::from_point(point);
        let mut walk = Self {
            limit,
            nearest: std::collections::BinaryHeap::new(),
            q,
            point,
            wanted,
            max_d2,
            heap: std::collections::BinaryHeap::new(),
        };
        if tree.size() > 0 {
            walk.push(
                tree.root().envelope().distance_2(&q),
                Step::Node(tree.root()),
            );
        }
        walk
    }

    fn push(&mut self, d2: f64, step: Step<'a>) {
        let bound = match self.nearest.peek() {
            Some(&farthest) if self.nearest.len() >= self.limit => f64::from_bits(farthest),
            _ => self.max_d2,
        };
        // Ties are kept: the lower id wins them.
        if d2 > bound.min(self.max_d2) {
            return;
        }
        if let Step::Exact(_) = step {
            // Non-negative doubles order as their bits do.
            self.nearest.push(d2.to_bits());
            if self.nearest.len() > self.limit {
                self.nearest.pop();
            }
        }
        self.heap.push(Candidate { d2, step });
    }
}

impl<'a> Iterator for NearestWalk<'a> {
    type Item = (&'a EcefEntry, f64);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(Candidate { d2, step }) = self.heap.pop() {
            match step {
                Step::Exact(entry) => return Some((entry, d2)),
                Step::Bound(entry) => {
                    let inside =
                        d2 == 0.0 && entry.areal && entry.asset.geometry().intersects(&self.point);
                    let exact = if inside {
                        0.0
                    } else {
                        entry.exact_distance_2(&self.q)
                    };
                    self.push(exact, Step::Exact(entry));
                }
                Step::Node(node) => {
                    for child in node.children() {
                        match child {
                            rstar::RTreeNode::Parent(p) => {
                                self.push(p.envelope().distance_2(&self.q), Step::Node(p));
                            }
                            rstar::RTreeNode::Leaf(entry) => {
                                if !self.wanted[entry.kind.index()] {
                                    continue;
                                }
                                if entry.is_point() {
                                    let exact = entry.exact_distance_2(&self.q);
                                    self.push(exact, Step::Exact(entry));
                                } else {
                                    // A polygon that may contain the point
                                    // comes up at once to be tested.
                                    let bound = entry.envelope.distance_2(&self.q);
                                    let bound = if entry.may_contain(bound) { 0.0 } else { bound };
                                    self.push(bound, Step::Bound(entry));
                                }
                            }
                        }
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::distance_m;
    use geo::{LineString, Polygon};

    fn point(id: i64, kind: AssetKind, lon: f64, lat: f64) -> IndexedAsset {
        IndexedAsset::bare(AssetId(id), kind, Geometry::Point(Point::new(lon, lat)))
    }

    fn square(id: i64, kind: AssetKind, lon: f64, lat: f64, d: f64) -> IndexedAsset {
        let ring = LineString::from(vec![
            (lon, lat),
            (lon + d, lat),
            (lon + d, lat + d),
            (lon, lat + d),
            (lon, lat),
        ]);
        IndexedAsset::bare(
            AssetId(id),
            kind,
            Geometry::Polygon(Polygon::new(ring, vec![])),
        )
    }

    /// A deterministic scatter of lights around the Bell Tower.
    fn scatter(n: i64) -> Vec<IndexedAsset> {
        (1..=n)
            .map(|i| {
                let t = i as f64;
                let lon = 116.39 + ((t * 0.618_033_988_7) % 1.0) * 0.02;
                let lat = 39.93 + ((t * 0.414_213_562_3) % 1.0) * 0.02;
                point(i, AssetKind::Light, lon, lat)
            })
            .collect()
    }

    #[test]
    fn nearest_matches_brute_force_in_metres() {
        let assets = scatter(2_000);
        let truth: Vec<(i64, Point<f64>)> = assets
            .iter()
            .map(|a| match a.asset.geometry {
                Geometry::Point(p) => (a.id().0, p),
                _ => unreachable!("scatter makes points"),
            })
            .collect();
        let index = AssetIndex::build(assets);
        for q in [
            Point::new(116.395, 39.941),
            Point::new(116.3901, 39.9499),
            Point::new(116.41, 39.93),
        ] {
            let mut expected: Vec<(f64, i64)> = truth
                .iter()
                .map(|(id, p)| (distance_m(q, *p), *id))
                .collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let got = index.nearby(&NearbyQuery {
                point: q,
                kinds: vec![],
                radius_m: None,
                limit: 10,
            });
            let got_ids: Vec<i64> = got.iter().map(|h| h.asset.id().0).collect();
            let want_ids: Vec<i64> = expected.iter().take(10).map(|e| e.1).collect();
            assert_eq!(got_ids, want_ids);
            for (hit, (d, _)) in got.iter().zip(&expected) {
                assert!((hit.distance_m - d).abs() < 1e-6);
            }
            let within = index.nearby(&NearbyQuery {
                point: q,
                kinds: vec![],
                radius_m: Some(150.0),
                limit: usize::MAX,
            });
            let want = expected.iter().filter(|e| e.0 <= 150.0).count();
            assert_eq!(within.len(), want);
            assert!(within.iter().all(|h| h.distance_m <= 150.0));
        }
    }

    /// Points, lanes and overlapping courtyards and buildings: the walk's
    /// answers are the brute-force nearest (a polygon containing the point
    /// at 0 m) for any kinds, limits and radii, with queries inside
    /// polygons, on their edges and between them.
    #[test]
    fn nearest_of_mixed_shapes_matches_brute_force() {
        let mut assets = Vec::new();
        for i in 1..=600_i64 {
            let t = i as f64;
            let lon = 116.39 + ((t * 0.618_033_988_7) % 1.0) * 0.01;
            let lat = 39.93 + ((t * 0.414_213_562_3) % 1.0) * 0.01;
            assets.push(match i % 4 {
                0 => square(i, AssetKind::Courtyard, lon, lat, 0.0004),
                1 => square(i, AssetKind::Building, lon, lat, 0.0001),
                2 => IndexedAsset::bare(
                    AssetId(i),
                    AssetKind::Lane,
                    Geometry::LineString(LineString::from(vec![
                        (lon, lat),
                        (lon + 0.001, lat + 0.0002),
                    ])),
                ),
                _ => point(i, AssetKind::Light, lon, lat),
            });
        }
        let truth: Vec<(AssetId, AssetKind, Geometry<f64>)> = assets
            .iter()
            .map(|a| (a.id(), a.kind(), a.geometry().clone()))
            .collect();
        let measured: Vec<IndexedAsset> = truth
            .iter()
            .map(|(id, kind, g)| IndexedAsset::bare(*id, *kind, g.clone()))
            .collect();
        let index = AssetIndex::build(assets);
        let mut queries = vec![Point::new(116.395, 39.935), Point::new(116.3999, 39.9301)];
        // Inside, and on the corner of, some courtyards.
        for (_, kind, g) in truth.iter().take(40) {
            if let (AssetKind::Courtyard, Geometry::Polygon(p)) = (kind, g) {
                let c = p.exterior().0[0];
                queries.push(Point::new(c.x + 0.0002, c.y + 0.0002));
                queries.push(Point::new(c.x, c.y));
            }
        }
        for q in queries {
            let qe = Ecef::from_point(q);
            for (kinds, limit, radius_m) in [
                (vec![], 10, None),
                (vec![AssetKind::Courtyard], 3, None),
                (vec![AssetKind::Light, AssetKind::Lane], 7, None),
                (vec![], usize::MAX, Some(120.0)),
            ] {
                let mut expected: Vec<(f64, AssetId)> = measured
                    .iter()
                    .filter(|a| kinds.is_empty() || kinds.contains(&a.kind()))
                    .map(|a| {
                        let inside = a.is_areal() && a.geometry().intersects(&q);
                        let d2 = if inside { 0.0 } else { a.boundary_chord_2(&qe) };
                        (distance_m_from_chord_m(d2.sqrt()), a.id())
                    })
                    .filter(|(d, _)| radius_m.is_none_or(|r| *d <= r))
                    .collect();
                expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                expected.truncate(limit);
                let got: Vec<(f64, AssetId)> = index
                    .nearby(&NearbyQuery {
                        point: q,
                        kinds: kinds.clone(),
                        radius_m,
                        limit,
                    })
                    .iter()
                    .map(|h| (h.distance_m, h.asset.id()))
                    .collect();
                assert_eq!(
                    got.iter().map(|g| g.1).collect::<Vec<_>>(),
                    expected.iter().map(|e| e.1).collect::<Vec<_>>(),
                    "{q:?} {kinds:?} {limit} {radius_m:?}"
                );
                for (g, e) in got.iter().zip(&expected) {
                    assert!((g.0 - e.0).abs() < 1e-6, "{g:?} {e:?}");
                }
            }
        }
    }

    #[test]
    fn nearest_is_by_metres_not_degrees() {
        // At 40° N a degree of longitude is ~23 % shorter than a degree of
        // latitude: the east neighbour 0.00012° away (10.3 m) is nearer
        // than the north one 0.0001° away (11.1 m).
        let index = AssetIndex::build(vec![
            point(1, AssetKind::Light, 116.3951, 39.9413),
            point(2, AssetKind::Light, 116.39522, 39.9412),
        ]);
        let hits = index.nearby(&NearbyQuery {
            point: Point::new(116.3951, 39.9412),
            kinds: vec![],
            radius_m: None,
            limit: 2,
        });
        assert_eq!(hits[0].asset.id(), AssetId(2));
        assert!(
            (hits[0].distance_m - 10.256).abs() < 0.01,
            "{}",
            hits[0].distance_m
        );
        assert!(
            (hits[1].distance_m - 11.103).abs() < 0.01,
            "{}",
            hits[1].distance_m
        );
    }

    #[test]
    fn polygons_containing_the_point_come_first_at_zero() {
        let index = AssetIndex::build(vec![
            square(1, AssetKind::Courtyard, 116.3950, 39.9410, 0.0003),
            point(2, AssetKind::Drainage, 116.39515, 39.94115),
            square(3, AssetKind::Courtyard, 116.3960, 39.9410, 0.0003),
        ]);
        let q = Point::new(116.3951, 39.9411);
        let hits = index.nearby(&NearbyQuery {
            point: q,
            kinds: vec![],
            radius_m: None,
            limit: 3,
        });
        let ids: Vec<i64> = hits.iter().map(|h| h.asset.id().0).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(hits[0].distance_m, 0.0);
        // The other courtyard's nearest edge is at 116.3960: ~76.8 m east.
        let expected = distance_m(q, Point::new(116.3960, 39.9411));
        assert!(
            (hits[2].distance_m - expected).abs() < 0.01,
            "{}",
            hits[2].distance_m
        );

        let drainage_only = index.nearby(&NearbyQuery {
            point: q,
            kinds: vec![AssetKind::Drainage],
            radius_m: None,
            limit: 5,
        });
        assert_eq!(drainage_only.len(), 1);
        assert_eq!(index.containing(q, &[]).len(), 1);
        assert!(index.containing(Point::new(116.40, 39.95), &[]).is_empty());
    }

    #[test]
    fn bbox_finds_intersecting_geometry_not_just_envelopes() {
        // A diagonal lane whose envelope covers the box's corner but whose
        // line does not.
        let lane = IndexedAsset::bare(
            AssetId(1),
            AssetKind::Lane,
            Geometry::LineString(LineString::from(vec![(116.390, 39.940), (116.400, 39.950)])),
        );
        let index = AssetIndex::build(vec![lane, point(2, AssetKind::Light, 116.3985, 39.9405)]);
        let corner = LonLatBox {
            min_lon: 116.398,
            min_lat: 39.940,
            max_lon: 116.400,
            max_lat: 39.941,
        };
        let ids: Vec<i64> = index
            .intersecting(corner, &[])
            .iter()
            .map(|a| a.id().0)
            .collect();
        assert_eq!(ids, vec![2]);
        let across = LonLatBox {
            min_lon: 116.394,
            min_lat: 39.944,
            max_lon: 116.396,
            max_lat: 39.946,
        };
        let ids: Vec<i64> = index
            .intersecting(across, &[])
            .iter()
            .map(|a| a.id().0)
            .collect();
        assert_eq!(ids, vec![1]);
        assert!(index.intersecting(across, &[AssetKind::Light]).is_empty());
    }

    #[test]
    fn upsert_moves_and_remove_forgets() {
        let mut index = AssetIndex::build(scatter(100));
        let q = Point::new(116.5, 40.5);
        index.upsert(point(7, AssetKind::Light, 116.5, 40.5));
        let hits = index.nearby(&NearbyQuery {
            point: q,
            kinds: vec![],
            radius_m: Some(1.0),
            limit: 5,
        });
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].asset.id(), AssetId(7));
        assert_eq!(index.len(), 100);
        assert!(index.remove(AssetId(7)));
        assert!(!index.remove(AssetId(7)));
        assert_eq!(index.len(), 99);
        let hits = index.nearby(&NearbyQuery {
            point: q,
            kinds: vec![],
            radius_m: Some(1.0),
            limit: 5,
        });
        assert!(hits.is_empty());
    }
}
