//! The assets as served, kept from their first read until they change, so
//! that reads of many features cost no re-rendering. Renderings are made
//! from the assets in memory, never from the store.

use super::{Registry, RegistryError};
use crate::domain::{AssetId, AssetKind};
use crate::services::asset_feature::RenderedAsset;
use crate::spatial::LonLatBox;
use std::sync::Arc;

/// The rendered assets. `generation` moves on with every forgetting, so a
/// reader that fetched an asset before a change cannot put the old
/// rendering back after it.
#[derive(Default)]
pub(super) struct RenderedCache {
    generation: u64,
    assets: foldhash::HashMap<AssetId, Arc<RenderedAsset>>,
}

/// Most rendered assets kept; past it the cache starts over (a crude
/// bound, but one that holds). Each costs about 2.8 KB (measured at 1M
/// assets of the generator's city mix), so this is about 560 MB. Now that
/// a miss renders from memory rather than reading the store, the cache
/// only saves rendering work (issue 11 decides whether it earns even that).
pub(super) const RENDERED_CACHE_MAX: usize = 200_000;

impl Registry {
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
            // Copied out under the read lock a chunk at a time, rendered
            // outside it, so writers wait for no rendering.
            let views: Vec<_> = {
                let index = self.read_index();
                chunk
                    .iter()
                    .filter_map(|id| index.get(*id).map(|a| a.asset.clone()))
                    .map(|asset| self.view(&index, asset))
                    .collect()
            };
            for view in views {
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
    pub(super) fn forget_rendered(&self, ids: &[AssetId], courtyards: &[LonLatBox]) {
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

    /// Forgets every rendering (after the index was rebuilt).
    pub(super) fn forget_all_rendered(&self) {
        let mut cache = self.rendered.write().unwrap_or_else(|p| p.into_inner());
        cache.generation += 1;
        cache.assets.clear();
    }
}
