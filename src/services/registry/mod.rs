//! The asset registry: the use cases of recording assets. A write goes to
//! the store in a transaction and, only after it commits, into the spatial
//! index, so index and store never disagree. Writes are serialized here
//! (SQLite has one writer anyway) so that index updates apply in commit
//! order.

use crate::domain::{AddressKey, Asset, AssetId, AssetKind, AssetView, ValidationError, Version};
use crate::services::asset_feature::ServedAsset;
use crate::services::query_budget::{Budget, BudgetError};
use crate::services::store_failure::StoreFailure;
use crate::spatial::{
    AddressMatch, AssetIndex, GeometryLimits, IndexedAsset, LonLatBox, NearbyQuery,
};
use crate::store::{Store, StoreError};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid asset: {0}")]
    Invalid(#[from] ValidationError),
    #[error("asset {0} does not exist")]
    NotFound(AssetId),
    #[error("asset {id} has version {current:?}, not the one in If-Match")]
    VersionMismatch { id: AssetId, current: Version },
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(StoreFailure),
    /// Writing what was read (an export) failed.
    #[error("writing failed: {0}")]
    Write(#[source] std::io::Error),
    /// A filtered read ran out of time, found no free slot, or lost its
    /// client.
    #[error(transparent)]
    Budget(#[from] BudgetError),
}

impl RegistryError {
    fn store(e: StoreError) -> Self {
        RegistryError::Store(e.into())
    }
}

/// What an address names: the match, the asset's kind and a point on it.
pub struct GeocodedPlace {
    pub matched: AddressMatch,
    pub kind: AssetKind,
    pub point: geo::Point<f64>,
    /// The district recorded on the asset found.
    pub district: Option<crate::domain::District>,
}

/// One answer of [`Registry::nearby`].
pub struct NearbyAsset {
    pub asset: Arc<IndexedAsset>,
    /// For a building: the courtyard that contains it.
    pub courtyard_id: Option<AssetId>,
    pub distance_m: f64,
}

/// What `If-Match` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`: unconditional.
    None,
    /// `If-Match: *`: the asset must exist.
    Any,
    /// The asset's version must be one of these (none parsed: never).
    OneOf(Vec<Version>),
}

/// Query of a listing.
#[derive(Debug, Clone)]
pub struct AssetFilter {
    pub kinds: Vec<AssetKind>,
    pub bbox: Option<LonLatBox>,
    pub limit: u32,
    pub offset: u64,
}

/// A committed change of one asset: its kind and its bounding box before
/// and after (none when created, or deleted).
#[derive(Debug, Clone, Copy)]
pub struct AssetChange {
    pub kind: AssetKind,
    pub before: Option<LonLatBox>,
    pub after: Option<LonLatBox>,
}

/// Told of every committed asset change, after the index has it and
/// before the write is answered (so complaint links are current when the
/// client hears back).
#[async_trait::async_trait]
pub trait AssetObserver: Send + Sync {
    async fn assets_changed(&self, changes: &[AssetChange]);
}

pub struct Registry {
    store: Arc<dyn Store>,
    index: RwLock<AssetIndex>,
    writes: tokio::sync::Mutex<()>,
    limits: GeometryLimits,
    observer: std::sync::OnceLock<std::sync::Weak<dyn AssetObserver>>,
    /// The administrative areas a district-scoped token's writes are
    /// checked against.
    areas: std::sync::OnceLock<Arc<crate::services::areas::Areas>>,
    /// Counts the changes of lanes (here or, told by the follower, on
    /// other instances), so that the lane network is rebuilt when one
    /// changes.
    lane_generation: std::sync::atomic::AtomicU64,
}

impl Registry {
    /// Opens the registry over a store, rebuilding the index from it.
    pub async fn open(store: Arc<dyn Store>, limits: GeometryLimits) -> Result<Self, StoreError> {
        let started = Instant::now();
        let index = build_index(store.as_ref()).await?;
        tracing::info!(
            assets = index.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "spatial index rebuilt"
        );
        Ok(Self {
            store,
            index: RwLock::new(index),
            writes: tokio::sync::Mutex::new(()),
            limits,
            observer: std::sync::OnceLock::new(),
            areas: std::sync::OnceLock::new(),
            lane_generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Registers the one observer of asset changes (held weakly).
    pub fn observe(&self, observer: &Arc<dyn AssetObserver>) {
        let _ = self.observer.set(Arc::downgrade(observer));
    }

    /// Checks district-scoped writes against these areas' boundaries.
    pub fn use_areas(&self, areas: Arc<crate::services::areas::Areas>) {
        let _ = self.areas.set(areas);
    }

    async fn notify(&self, changes: &[AssetChange]) {
        if changes.is_empty() {
            return;
        }
        if changes.iter().any(|c| c.kind == AssetKind::Lane) {
            self.lanes_changed();
        }
        if let Some(observer) = self.observer.get().and_then(std::sync::Weak::upgrade) {
            observer.assets_changed(changes).await;
        }
    }

    fn lanes_changed(&self) {
        self.lane_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// A number that changes whenever a lane does.
    pub fn lane_generation(&self) -> u64 {
        self.lane_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every lane's id and line(s) as longitude/latitude, for the lane
    /// network (a MultiLineString gives one entry per part).
    pub fn lane_lines(&self) -> Vec<(i64, Vec<(f64, f64)>)> {
        use geo::Geometry;
        let index = self.read_index();
        let mut lines = Vec::new();
        for id in index.ids_of(AssetKind::Lane) {
            let Some(asset) = index.get(id) else { continue };
            match asset.geometry() {
                Geometry::LineString(line) => {
                    lines.push((id.0, line.coords().map(|c| (c.x, c.y)).collect()));
                }
                Geometry::MultiLineString(parts) => {
                    for line in &parts.0 {
                        lines.push((id.0, line.coords().map(|c| (c.x, c.y)).collect()));
                    }
                }
                _ => {}
            }
        }
        lines
    }

    /// Runs `f` with the index (read-locked: keep it short).
    pub fn with_index<R>(&self, f: impl FnOnce(&AssetIndex) -> R) -> R {
        f(&self.read_index())
    }

    fn read_index(&self) -> RwLockReadGuard<'_, AssetIndex> {
        // A poisoned lock means a panic while writing the index, which the
        // index code does not do; the data is still a valid tree.
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, AssetIndex> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the service works: positions elsewhere are refused.
    pub fn service_area(&self) -> LonLatBox {
        self.limits.service_area
    }

    pub fn asset_count(&self) -> usize {
        self.read_index().len()
    }

    pub(super) fn view(&self, index: &AssetIndex, asset: Asset) -> AssetView {
        AssetView {
            courtyard_id: index
                .get(asset.id)
                .and_then(|a| Self::courtyard_of(index, a)),
            asset,
        }
    }

    /// For a building: the courtyard that contains it.
    fn courtyard_of(index: &AssetIndex, asset: &IndexedAsset) -> Option<AssetId> {
        if asset.kind() != AssetKind::Building {
            return None;
        }
        let inside = asset.interior_point()?;
        index
            .containing(inside, &[AssetKind::Courtyard])
            .first()
            .map(|c| c.id())
    }

    fn views(&self, assets: Vec<Asset>) -> Vec<AssetView> {
        let index = self.read_index();
        assets.into_iter().map(|a| self.view(&index, a)).collect()
    }

    fn index_entry(asset: &Asset) -> IndexedAsset {
        IndexedAsset::new(asset.clone())
    }

    /// One asset as served, from memory.
    pub async fn get(&self, id: AssetId) -> Result<AssetView, RegistryError> {
        let index = self.read_index();
        let asset = index
            .get(id)
            .map(|a| a.asset.clone())
            .ok_or(RegistryError::NotFound(id))?;
        Ok(self.view(&index, asset))
    }

    /// A page of assets as served, by id, optionally within a bounding
    /// box, and how many there are in all (from the index: exact, and
    /// without reading the store).
    pub async fn list(
        &self,
        filter: &AssetFilter,
    ) -> Result<(Vec<ServedAsset>, u64), RegistryError> {
        let (ids, number_matched) = {
            let index = self.read_index();
            match filter.bbox {
                Some(bbox) => {
                    let hits = index.intersecting(bbox, &filter.kinds);
                    let matched = hits.len() as u64;
                    let ids: Vec<AssetId> = hits
                        .iter()
                        .skip(usize::try_from(filter.offset).unwrap_or(usize::MAX))
                        .take(filter.limit as usize)
                        .map(|a| a.id())
                        .collect();
                    (ids, matched)
                }
                None => (
                    index.page_of(&filter.kinds, filter.offset, filter.limit),
                    index.count(&filter.kinds) as u64,
                ),
            }
        };
        Ok((self.rendered(&ids).await, number_matched))
    }

    /// The district a point lies in, from the assets around it: the
    /// nearest asset within 1 km that records one (a courtyard or
    /// building containing the point is at 0 m, so it wins). Until
    /// administrative areas are imported this is how a case's district is
    /// derived from its location.
    pub fn district_at(&self, (lon, lat): (f64, f64)) -> Option<crate::domain::District> {
        let query = NearbyQuery {
            point: geo::Point::new(lon, lat),
            kinds: Vec::new(),
            radius_m: Some(1_000.0),
            limit: 8,
        };
        self.read_index()
            .nearby(&query)
            .into_iter()
            .find_map(|hit| hit.asset.asset.attributes.district())
    }

    /// The district a point lies in: by the imported administrative
    /// areas when they cover it, else from the assets around it
    /// ([`Registry::district_at`]).
    pub fn district_of_point(&self, at: (f64, f64)) -> Option<crate::domain::District> {
        self.areas
            .get()
            .and_then(|areas| areas.path_at(at).district)
            .and_then(|d| d.parse().ok())
            .or_else(|| self.district_at(at))
    }

    /// Whether a district's imported boundary covers a geometry whole:
    /// None when the areas are not imported or do not hold the district.
    pub fn district_covers(
        &self,
        district: crate::domain::District,
        geometry: &geo::Geometry<f64>,
    ) -> Option<bool> {
        use geo::Contains;
        let areas = self.areas.get()?;
        let index = areas.snapshot();
        let boundary = &index.get(district.as_str())?.boundary;
        Some(boundary.contains(geometry))
    }

    /// The street (街道) a point lies in, by code, when the
    /// administrative areas are imported and cover it.
    pub fn street_at(&self, at: (f64, f64)) -> Option<String> {
        self.areas.get().and_then(|areas| areas.path_at(at).street)
    }

    /// The asset an address names, from the gazetteer in memory: a
    /// courtyard by way and house number, else a lane by its name.
    pub fn geocode(&self, address: &str) -> Option<GeocodedPlace> {
        let key = AddressKey::parse(address);
        let index = self.read_index();
        let matched = index.lookup_address(&key)?;
        let asset = index.get(matched.asset_id)?;
        Some(GeocodedPlace {
            kind: asset.kind(),
            point: asset.interior_point()?,
            district: asset.asset.attributes.district(),
            matched,
        })
    }

    /// The assets of one kind in a box, at most `limit` (ordered by id),
    /// each with its courtyard (for a building): the assets as the index
    /// holds them, for a vector tile.
    pub fn in_box(
        &self,
        kind: AssetKind,
        bbox: LonLatBox,
        limit: usize,
    ) -> Vec<(Arc<IndexedAsset>, Option<AssetId>)> {
        let index = self.read_index();
        let mut hits = index.intersecting(bbox, &[kind]);
        hits.truncate(limit);
        hits.into_iter()
            .map(|a| {
                let courtyard = Self::courtyard_of(&index, &a);
                (a, courtyard)
            })
            .collect()
    }

    /// A page of the assets of one kind (in the box, when given) that
    /// `keep` accepts, and how many it accepts in all. Candidates come
    /// from the index, a chunk at a time.
    pub async fn filtered(
        &self,
        kind: AssetKind,
        bbox: Option<LonLatBox>,
        limit: u32,
        offset: u64,
        keep: Arc<dyn Fn(&ServedAsset) -> bool + Send + Sync>,
        budget: &Budget,
    ) -> Result<(Vec<ServedAsset>, u64), RegistryError> {
        const CHUNK: usize = 5_000;
        let candidates: Vec<AssetId> = {
            let index = self.read_index();
            match bbox {
                Some(b) => index
                    .intersecting(b, &[kind])
                    .iter()
                    .map(|a| a.id())
                    .collect(),
                None => index.ids_of(kind),
            }
        };
        let (skip, take) = (offset, u64::from(limit));
        let (mut matched, mut page) = (0u64, Vec::new());
        for chunk in candidates.chunks(CHUNK) {
            // Not rendered: the filter reads the properties, and only the
            // page is rendered, at the end.
            let served = self.served(chunk).await;
            let keep = keep.clone();
            // The filter runs on a blocking thread, looking at the clock
            // between features.
            let kept = budget
                .run(move |clock| {
                    let mut kept = Vec::new();
                    for asset in served {
                        clock.check()?;
                        if keep(&asset) {
                            kept.push(asset);
                        }
                    }
                    Ok(kept)
                })
                .await?;
            for asset in kept {
                if matched >= skip && matched < skip.saturating_add(take) {
                    page.push(asset);
                }
                matched += 1;
            }
        }
        let page = budget
            .run(move |clock| {
                for asset in &page {
                    clock.check()?;
                    asset.json();
                }
                Ok(page)
            })
            .await?;
        Ok((page, matched))
    }

    /// The nearest assets, closest first, with their distances in metres:
    /// the assets as the index holds them, not copies.
    pub async fn nearby(&self, query: &NearbyQuery) -> Result<Vec<NearbyAsset>, RegistryError> {
        let index = self.read_index();
        Ok(index
            .nearby(query)
            .into_iter()
            .map(|hit| NearbyAsset {
                courtyard_id: Self::courtyard_of(&index, &hit.asset),
                asset: hit.asset,
                distance_m: hit.distance_m,
            })
            .collect())
    }

    /// Every asset, in id order, a page at a time (for export).
    pub async fn for_each_page(
        &self,
        page_size: u32,
        mut visit: impl FnMut(Vec<AssetView>) -> std::io::Result<()>,
    ) -> Result<(), RegistryError> {
        let mut after = AssetId(0);
        loop {
            let assets = self
                .store
                .assets_after(after, page_size)
                .await
                .map_err(RegistryError::store)?;
            let Some(last) = assets.last() else {
                return Ok(());
            };
            after = last.id;
            visit(self.views(assets)).map_err(RegistryError::Write)?;
        }
    }
}

/// Loads every asset, whole, from the store into a fresh index.
pub async fn build_index(store: &dyn Store) -> Result<AssetIndex, StoreError> {
    let started = Instant::now();
    let rows = store.all_assets().await?;
    let loaded = started.elapsed();
    let entries = rows.into_iter().map(IndexedAsset::new).collect();
    let index = AssetIndex::build(entries);
    tracing::debug!(
        load_ms = loaded.as_millis() as u64,
        build_ms = (started.elapsed() - loaded).as_millis() as u64,
        "index rebuild phases"
    );
    Ok(index)
}

mod asset_writes;
mod rendering;
mod replication;

/// Refuses a facility drawn as more than [`MAX_FACILITY_PARTS`]
/// separate parts (at `pointer`): more are several facilities.
pub fn facility_parts(
    kind: crate::domain::AssetKind,
    geometry: &geo::Geometry<f64>,
    pointer: &str,
) -> Result<(), crate::domain::ValidationError> {
    use crate::domain::MAX_FACILITY_PARTS;
    if let (crate::domain::AssetKind::Facility, geo::Geometry::MultiPolygon(mp)) = (kind, geometry)
    {
        if mp.0.len() > MAX_FACILITY_PARTS {
            return Err(crate::domain::ValidationError::single(
                pointer,
                format!(
                    "a facility of {} separate parts: at most {MAX_FACILITY_PARTS}; more are several facilities",
                    mp.0.len()
                ),
            ));
        }
    }
    Ok(())
}
