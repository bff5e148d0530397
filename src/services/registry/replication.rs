//! Keeping this instance's index in step with writes made
//! by other instances on the same database (told by the follower), and
//! starting over when changes may have been missed.

use super::{Registry, RegistryError, build_index};
use crate::domain::{Asset, AssetId};

impl Registry {
    /// Brings the index up to date with assets that
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
                .map_err(RegistryError::store)?
            {
                current.insert(asset.id, asset);
            }
        }
        {
            let mut index = self.write_index();
            let lane = |asset: Option<&Asset>| {
                asset.is_some_and(|a| a.attributes.kind() == crate::domain::AssetKind::Lane)
            };
            if ids
                .iter()
                .any(|id| lane(current.get(id)) || lane(index.get(*id).map(|a| &a.asset)))
            {
                self.lanes_changed();
            }
            for id in ids {
                match current.get(id) {
                    Some(asset) => index.upsert(Self::index_entry(asset)),
                    None => {
                        index.remove(*id);
                    }
                }
            }
        }
        tracing::debug!(assets = ids.len(), "applied other instances' asset writes");
        Ok(())
    }

    /// Rebuilds the whole index from the store (after changes may have
    /// been missed).
    pub async fn rebuild(&self) -> Result<(), RegistryError> {
        let _writer = self.writes.lock().await;
        let index = build_index(self.store.as_ref())
            .await
            .map_err(RegistryError::store)?;
        *self.write_index() = index;
        self.lanes_changed();
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::services::follower::Follows<AssetId> for Registry {
    type Error = RegistryError;
    const WHAT: &'static str = "assets";

    async fn apply_remote(&self, ids: &[AssetId]) -> Result<(), RegistryError> {
        Registry::apply_remote(self, ids).await
    }

    async fn rebuild(&self) -> Result<(), RegistryError> {
        Registry::rebuild(self).await
    }
}
