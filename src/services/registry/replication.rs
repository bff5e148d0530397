//! Keeping this instance's index and renderings in step with writes made
//! by other instances on the same database (told by the follower), and
//! starting over when changes may have been missed.

use super::{Registry, RegistryError, build_index};
use crate::domain::{Asset, AssetId, AssetKind};
use crate::spatial::LonLatBox;

impl Registry {
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
                .map_err(RegistryError::store)?
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
                    courtyards.extend(LonLatBox::of_geometry(old.geometry()));
                }
                match current.get(id) {
                    Some(asset) => {
                        if asset.kind() == AssetKind::Courtyard {
                            courtyards.extend(LonLatBox::of_geometry(&asset.geometry));
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
            .map_err(RegistryError::store)?;
        *self.write_index() = index;
        self.forget_all_rendered();
        Ok(())
    }
}
