//! The asset registry: the use cases of recording assets. A write goes to
//! the store in a transaction and, only after it commits, into the spatial
//! index, so index and store never disagree. Writes are serialized here
//! (SQLite has one writer anyway) so that index updates apply in commit
//! order.

use crate::asset_feature::RenderedAsset;
use crate::domain::{
    Asset, AssetAttributes, AssetDraft, AssetId, AssetKind, Principal, ValidationError, Version,
};
use crate::query_budget::{Budget, BudgetError};
use crate::spatial::{
    AssetIndex, GeometryLimits, IndexedAsset, LonLatBox, NearbyQuery, derive_measures,
    parse_geometry,
};
use crate::store::{Store, StoreError};
use serde_json::{Map, Value};
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
    Store(StoreError),
    /// Writing what was read (an export) failed.
    #[error("writing failed: {0}")]
    Write(#[source] std::io::Error),
    /// A filtered read ran out of time, found no free slot, or lost its
    /// client.
    #[error(transparent)]
    Budget(#[from] BudgetError),
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

/// An asset as shown to clients: stored state plus values derived from
/// its surroundings at read time.
#[derive(Debug, Clone)]
pub struct AssetView {
    pub asset: Asset,
    /// For a building: the courtyard that contains it.
    pub courtyard_id: Option<AssetId>,
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
    /// Assets as served, kept from their first read until they change.
    rendered: RwLock<RenderedCache>,
    writes: tokio::sync::Mutex<()>,
    limits: GeometryLimits,
    observer: std::sync::OnceLock<std::sync::Weak<dyn AssetObserver>>,
}

/// The rendered assets. `generation` moves on with every forgetting, so a
/// reader that fetched an asset before a change cannot put the old
/// rendering back after it.
#[derive(Default)]
struct RenderedCache {
    generation: u64,
    assets: foldhash::HashMap<AssetId, Arc<RenderedAsset>>,
}

/// Most rendered assets kept; past it the cache starts over (a crude
/// bound, but one that holds: each is about a kilobyte).
const RENDERED_CACHE_MAX: usize = 2_000_000;

fn bbox_of(geometry: &geo::Geometry<f64>) -> Option<LonLatBox> {
    use geo::BoundingRect;
    geometry.bounding_rect().map(|r| LonLatBox {
        min_lon: r.min().x,
        min_lat: r.min().y,
        max_lon: r.max().x,
        max_lat: r.max().y,
    })
}

fn store_error(id: AssetId, e: StoreError) -> RegistryError {
    match e {
        StoreError::NotFound => RegistryError::NotFound(id),
        StoreError::VersionMismatch { current } => RegistryError::VersionMismatch { id, current },
        other => RegistryError::Store(other),
    }
}

fn object_at<'v>(value: &'v Value, key: &str) -> Result<&'v Map<String, Value>, ValidationError> {
    match value.get(key) {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(ValidationError::single(
            format!("/{key}"),
            "must be a JSON object",
        )),
        None => Err(ValidationError::single(format!("/{key}"), "is required")),
    }
}

/// RFC 7386 merge of a flat patch into properties: `null` removes.
fn merge_properties(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
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
            rendered: RwLock::new(RenderedCache::default()),
            writes: tokio::sync::Mutex::new(()),
            limits,
            observer: std::sync::OnceLock::new(),
        })
    }

    /// Registers the one observer of asset changes (held weakly).
    pub fn observe(&self, observer: &Arc<dyn AssetObserver>) {
        let _ = self.observer.set(Arc::downgrade(observer));
    }

    async fn notify(&self, changes: &[AssetChange]) {
        if changes.is_empty() {
            return;
        }
        if let Some(observer) = self.observer.get().and_then(std::sync::Weak::upgrade) {
            observer.assets_changed(changes).await;
        }
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

    /// These assets as served, in the order asked (missing ones left
    /// out): from the cache, or read from the store and rendered once.
    pub async fn rendered(
        &self,
        ids: &[AssetId],
    ) -> Result<Vec<Arc<RenderedAsset>>, RegistryError> {
        const CHUNK: usize = 2_000;
        let (mut slots, missing, generation) = {
            let cache = self.rendered.read().unwrap_or_else(|p| p.into_inner());
            let mut missing = Vec::new();
            let slots: Vec<Option<Arc<RenderedAsset>>> = ids
                .iter()
                .map(|id| {
                    let hit = cache.assets.get(id).cloned();
                    if hit.is_none() {
                        missing.push(*id);
                    }
                    hit
                })
                .collect();
            (slots, missing, cache.generation)
        };
        if missing.is_empty() {
            return Ok(slots.into_iter().flatten().collect());
        }
        let mut fresh: foldhash::HashMap<AssetId, Arc<RenderedAsset>> = Default::default();
        for chunk in missing.chunks(CHUNK) {
            let assets = self
                .store
                .get_assets(chunk)
                .await
                .map_err(RegistryError::Store)?;
            for view in self.views(assets) {
                fresh.insert(view.asset.id, Arc::new(RenderedAsset::new(view)));
            }
        }
        {
            let mut cache = self.rendered.write().unwrap_or_else(|p| p.into_inner());
            if cache.generation == generation {
                if cache.assets.len() + fresh.len() > RENDERED_CACHE_MAX {
                    cache.assets.clear();
                }
                for (id, r) in &fresh {
                    cache.assets.insert(*id, r.clone());
                }
            }
        }
        for (slot, id) in slots.iter_mut().zip(ids) {
            if slot.is_none() {
                *slot = fresh.get(id).cloned();
            }
        }
        Ok(slots.into_iter().flatten().collect())
    }

    /// Forgets the renderings of changed assets, and of the buildings in
    /// changed courtyards (their `courtyard_id` may have changed). Called
    /// after the index has the change.
    fn forget_rendered(&self, ids: &[AssetId], courtyards: &[LonLatBox]) {
        let buildings: Vec<AssetId> = {
            let index = self.read_index();
            courtyards
                .iter()
                .flat_map(|b| index.intersecting(*b, &[AssetKind::Building]))
                .map(|a| a.id)
                .collect()
        };
        let mut cache = self.rendered.write().unwrap_or_else(|p| p.into_inner());
        cache.generation += 1;
        for id in ids.iter().chain(&buildings) {
            cache.assets.remove(id);
        }
    }

    /// Brings the index and the renderings up to date with assets that
    /// another instance wrote: each is read from the store again (so the
    /// order of notifications does not matter, and repeats are harmless)
    /// and put in the index, or taken out when it is gone.
    pub async fn apply_remote(&self, ids: &[AssetId]) -> Result<(), RegistryError> {
        // Local writes hold this from their store write to their index
        // update: a remote change read now cannot be overtaken by a
        // local write's older state.
        let _writer = self.writes.lock().await;
        let mut current: foldhash::HashMap<AssetId, Asset> = Default::default();
        for chunk in ids.chunks(10_000) {
            for asset in self
                .store
                .get_assets(chunk)
                .await
                .map_err(RegistryError::Store)?
            {
                current.insert(asset.id, asset);
            }
        }
        let mut courtyards = Vec::new();
        {
            let mut index = self.write_index();
            for id in ids {
                if let Some(old) = index.get(*id)
                    && old.kind == AssetKind::Courtyard
                {
                    courtyards.extend(bbox_of(&old.geometry));
                }
                match current.get(id) {
                    Some(asset) => {
                        if asset.kind() == AssetKind::Courtyard {
                            courtyards.extend(bbox_of(&asset.geometry));
                        }
                        index.upsert(Self::index_entry(asset));
                    }
                    None => {
                        index.remove(*id);
                    }
                }
            }
        }
        self.forget_rendered(ids, &courtyards);
        tracing::debug!(assets = ids.len(), "applied other instances' asset writes");
        Ok(())
    }

    /// Rebuilds the whole index from the store and forgets every
    /// rendering (after changes may have been missed).
    pub async fn rebuild(&self) -> Result<(), RegistryError> {
        let _writer = self.writes.lock().await;
        let index = build_index(self.store.as_ref())
            .await
            .map_err(RegistryError::Store)?;
        *self.write_index() = index;
        let mut cache = self.rendered.write().unwrap_or_else(|p| p.into_inner());
        cache.generation += 1;
        cache.assets.clear();
        Ok(())
    }

    /// Where the service works: positions elsewhere are refused.
    pub fn service_area(&self) -> LonLatBox {
        self.limits.service_area
    }

    pub fn asset_count(&self) -> usize {
        self.read_index().len()
    }

    /// Parses a GeoJSON Feature into a validated draft. Error pointers are
    /// relative to the feature.
    pub fn draft_from_feature(&self, feature: &Value) -> Result<AssetDraft, ValidationError> {
        if !feature.is_object() {
            return Err(ValidationError::single(
                "",
                "body must be a GeoJSON Feature object",
            ));
        }
        match feature.get("type").and_then(Value::as_str) {
            Some("Feature") => {}
            Some(other) => {
                return Err(ValidationError::single(
                    "/type",
                    format!("must be \"Feature\", got {other:?}"),
                ));
            }
            None => return Err(ValidationError::single("/type", "must be \"Feature\"")),
        }
        let properties = object_at(feature, "properties")?;
        let kind = match properties.get("kind") {
            Some(Value::String(text)) => text
                .parse::<AssetKind>()
                .map_err(|e| ValidationError::single("/properties/kind", e))?,
            Some(_) => {
                return Err(ValidationError::single(
                    "/properties/kind",
                    "must be a string",
                ));
            }
            None => return Err(ValidationError::single("/properties/kind", "is required")),
        };
        let geometry_value = feature
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| ValidationError::single("/geometry", "is required"))?;
        let geometry = parse_geometry(geometry_value, kind.shape(), self.limits)
            .map_err(|e| e.nested_under("/geometry"))?;
        let attributes =
            AssetAttributes::parse(kind, properties).map_err(|e| e.nested_under("/properties"))?;
        let derived = derive_measures(&geometry);
        Ok(AssetDraft {
            geometry,
            attributes,
            derived,
        })
    }

    fn view(&self, index: &AssetIndex, asset: Asset) -> AssetView {
        let courtyard_id = if asset.kind() == AssetKind::Building {
            index
                .get(asset.id)
                .and_then(|a| a.interior_point())
                .and_then(|p| {
                    index
                        .containing(p, &[AssetKind::Courtyard])
                        .first()
                        .map(|c| c.id)
                })
        } else {
            None
        };
        AssetView {
            asset,
            courtyard_id,
        }
    }

    fn views(&self, assets: Vec<Asset>) -> Vec<AssetView> {
        let index = self.read_index();
        assets.into_iter().map(|a| self.view(&index, a)).collect()
    }

    fn check_scope(principal: &Principal, asset: &AssetDraft) -> Result<(), RegistryError> {
        let district = asset.attributes.district();
        if principal.may_act_in(district) {
            Ok(())
        } else {
            Err(RegistryError::Forbidden(format!(
                "this token is limited to district {}; the asset is in {}",
                principal.district.map(|d| d.as_str()).unwrap_or("none"),
                district.map(|d| d.as_str()).unwrap_or("no district")
            )))
        }
    }

    fn index_entry(asset: &Asset) -> IndexedAsset {
        IndexedAsset::new(asset.id, asset.kind(), asset.geometry.clone())
    }

    /// Stores many drafts in one transaction (all or nothing), then
    /// indexes them.
    pub async fn insert_all(&self, drafts: &[AssetDraft]) -> Result<Vec<Asset>, RegistryError> {
        let _writer = self.writes.lock().await;
        let stored = self
            .store
            .insert_assets(drafts)
            .await
            .map_err(RegistryError::Store)?;
        {
            let mut index = self.write_index();
            for asset in &stored {
                index.upsert(Self::index_entry(asset));
            }
        }
        let ids: Vec<AssetId> = stored.iter().map(|a| a.id).collect();
        let courtyards: Vec<LonLatBox> = stored
            .iter()
            .filter(|a| a.kind() == AssetKind::Courtyard)
            .filter_map(|a| bbox_of(&a.geometry))
            .collect();
        self.forget_rendered(&ids, &courtyards);
        let changes: Vec<AssetChange> = stored
            .iter()
            .map(|a| AssetChange {
                kind: a.kind(),
                before: None,
                after: bbox_of(&a.geometry),
            })
            .collect();
        self.notify(&changes).await;
        Ok(stored)
    }

    pub async fn create(
        &self,
        principal: &Principal,
        feature: &Value,
    ) -> Result<AssetView, RegistryError> {
        let draft = self.draft_from_feature(feature)?;
        Self::check_scope(principal, &draft)?;
        let stored = self.insert_all(std::slice::from_ref(&draft)).await?;
        Ok(self.views(stored).remove(0))
    }

    pub async fn get(&self, id: AssetId) -> Result<AssetView, RegistryError> {
        let asset = self
            .store
            .get_asset(id)
            .await
            .map_err(RegistryError::Store)?
            .ok_or(RegistryError::NotFound(id))?;
        Ok(self.views(vec![asset]).remove(0))
    }

    async fn current_for_write(
        &self,
        id: AssetId,
        precondition: &Precondition,
    ) -> Result<(Asset, Option<Version>), RegistryError> {
        let current = self
            .store
            .get_asset(id)
            .await
            .map_err(RegistryError::Store)?
            .ok_or(RegistryError::NotFound(id))?;
        let expected = match precondition {
            Precondition::None | Precondition::Any => None,
            Precondition::OneOf(versions) => {
                if !versions.contains(&current.version) {
                    return Err(RegistryError::VersionMismatch {
                        id,
                        current: current.version,
                    });
                }
                // The store checks again inside its transaction.
                Some(current.version)
            }
        };
        Ok((current, expected))
    }

    async fn write_update(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
        make_draft: impl FnOnce(&Asset) -> Result<AssetDraft, RegistryError>,
    ) -> Result<AssetView, RegistryError> {
        let _writer = self.writes.lock().await;
        let (current, expected) = self.current_for_write(id, precondition).await?;
        let draft = make_draft(&current)?;
        if draft.kind() != current.kind() {
            return Err(ValidationError::single(
                "/properties/kind",
                format!(
                    "an asset's kind cannot change (it is a {}); delete it and create a new one",
                    current.kind()
                ),
            )
            .into());
        }
        let before = AssetDraft {
            geometry: current.geometry.clone(),
            attributes: current.attributes.clone(),
            derived: current.derived,
        };
        Self::check_scope(principal, &before)?;
        Self::check_scope(principal, &draft)?;
        let updated = self
            .store
            .update_asset(id, expected, &draft)
            .await
            .map_err(|e| store_error(id, e))?;
        self.write_index().upsert(Self::index_entry(&updated));
        let courtyards: Vec<LonLatBox> = if updated.kind() == AssetKind::Courtyard {
            [bbox_of(&current.geometry), bbox_of(&updated.geometry)]
                .into_iter()
                .flatten()
                .collect()
        } else {
            Vec::new()
        };
        self.forget_rendered(&[id], &courtyards);
        self.notify(&[AssetChange {
            kind: updated.kind(),
            before: bbox_of(&current.geometry),
            after: bbox_of(&updated.geometry),
        }])
        .await;
        Ok(self.views(vec![updated]).remove(0))
    }

    /// Replaces an asset with a whole new Feature (PUT).
    pub async fn replace(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
        feature: &Value,
    ) -> Result<AssetView, RegistryError> {
        let draft = self.draft_from_feature(feature)?;
        self.write_update(principal, id, precondition, |_| Ok(draft))
            .await
    }

    /// Merges a partial Feature into an asset (PATCH): `properties` are
    /// merged as RFC 7386 says (null removes), `geometry` replaces.
    pub async fn patch(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
        patch: &Value,
    ) -> Result<AssetView, RegistryError> {
        let Value::Object(patch_object) = patch else {
            return Err(ValidationError::single("", "a patch must be a JSON object").into());
        };
        for key in patch_object.keys() {
            if !matches!(key.as_str(), "type" | "id" | "geometry" | "properties") {
                return Err(ValidationError::single(
                    format!("/{key}"),
                    "a patch may only carry type, geometry and properties",
                )
                .into());
            }
        }
        let patch_properties = match patch_object.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                return Err(ValidationError::single("/properties", "must be a JSON object").into());
            }
        };
        let patch_geometry = patch_object
            .get("geometry")
            .filter(|g| !g.is_null())
            .cloned();
        self.write_update(principal, id, precondition, |current| {
            let mut properties = current.attributes.to_json();
            properties.insert("kind".into(), Value::from(current.kind().as_str()));
            merge_properties(&mut properties, &patch_properties);
            let geometry = match patch_geometry {
                Some(g) => g,
                None => serde_json::to_value(geojson::Geometry::from(geojson::GeometryValue::from(
                    &current.geometry,
                )))
                .unwrap_or(Value::Null),
            };
            let feature = serde_json::json!({"type": "Feature", "geometry": geometry, "properties": properties});
            Ok(self.draft_from_feature(&feature)?)
        })
        .await
    }

    pub async fn delete(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
    ) -> Result<Asset, RegistryError> {
        let _writer = self.writes.lock().await;
        let (current, expected) = self.current_for_write(id, precondition).await?;
        if !principal.may_act_in(current.attributes.district()) {
            return Err(RegistryError::Forbidden(
                "this token may not delete assets outside its district".into(),
            ));
        }
        let deleted = self
            .store
            .delete_asset(id, expected)
            .await
            .map_err(|e| store_error(id, e))?;
        self.write_index().remove(id);
        let courtyards: Vec<LonLatBox> = if deleted.kind() == AssetKind::Courtyard {
            bbox_of(&deleted.geometry).into_iter().collect()
        } else {
            Vec::new()
        };
        self.forget_rendered(&[id], &courtyards);
        self.notify(&[AssetChange {
            kind: deleted.kind(),
            before: bbox_of(&deleted.geometry),
            after: None,
        }])
        .await;
        Ok(deleted)
    }

    /// A page of assets as served, by id, optionally within a bounding
    /// box, and how many there are in all (from the index: exact, and
    /// without reading the store).
    pub async fn list(
        &self,
        filter: &AssetFilter,
    ) -> Result<(Vec<Arc<RenderedAsset>>, u64), RegistryError> {
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
                        .map(|a| a.id)
                        .collect();
                    (ids, matched)
                }
                None => (
                    index.page_of(&filter.kinds, filter.offset, filter.limit),
                    index.count(&filter.kinds) as u64,
                ),
            }
        };
        Ok((self.rendered(&ids).await?, number_matched))
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
        keep: Arc<dyn Fn(&RenderedAsset) -> bool + Send + Sync>,
        budget: &Budget,
    ) -> Result<(Vec<Arc<RenderedAsset>>, u64), RegistryError> {
        const CHUNK: usize = 5_000;
        let candidates: Vec<AssetId> = {
            let index = self.read_index();
            match bbox {
                Some(b) => index
                    .intersecting(b, &[kind])
                    .iter()
                    .map(|a| a.id)
                    .collect(),
                None => index.ids_of(kind),
            }
        };
        let (skip, take) = (offset, u64::from(limit));
        let (mut matched, mut page) = (0u64, Vec::new());
        for chunk in candidates.chunks(CHUNK) {
            let rendered = self.rendered(chunk).await?;
            let keep = keep.clone();
            // The filter runs on a blocking thread, looking at the clock
            // between features.
            let kept = budget
                .run(move |clock| {
                    let mut kept = Vec::new();
                    for asset in rendered {
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
        Ok((page, matched))
    }

    /// The nearest assets, closest first, with their distances in metres.
    pub async fn nearby(
        &self,
        query: &NearbyQuery,
    ) -> Result<Vec<(AssetView, f64)>, RegistryError> {
        let hits = self.read_index().nearby(query);
        let ids: Vec<AssetId> = hits.iter().map(|h| h.asset.id).collect();
        let mut assets = self
            .store
            .get_assets(&ids)
            .await
            .map_err(RegistryError::Store)?;
        assets.sort_by_key(|a| a.id);
        let mut out = Vec::with_capacity(hits.len());
        let views = self.views(assets);
        for hit in hits {
            if let Ok(pos) = views.binary_search_by_key(&hit.asset.id, |v| v.asset.id) {
                out.push((views[pos].clone(), hit.distance_m));
            }
        }
        Ok(out)
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
                .map_err(RegistryError::Store)?;
            let Some(last) = assets.last() else {
                return Ok(());
            };
            after = last.id;
            visit(self.views(assets)).map_err(RegistryError::Write)?;
        }
    }
}

/// Loads every asset's geometry from the store into a fresh index.
pub async fn build_index(store: &dyn Store) -> Result<AssetIndex, StoreError> {
    let started = Instant::now();
    let rows = store.index_rows().await?;
    let loaded = started.elapsed();
    let entries = rows
        .into_iter()
        .map(|(id, kind, geometry)| IndexedAsset::new(id, kind, geometry))
        .collect();
    let index = AssetIndex::build(entries);
    tracing::debug!(
        load_ms = loaded.as_millis() as u64,
        build_ms = (started.elapsed() - loaded).as_millis() as u64,
        "index rebuild phases"
    );
    Ok(index)
}
