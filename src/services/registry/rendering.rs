//! Assets as served, rendered from the assets in memory on every read.
//! Rendering streams each Feature straight into text (see
//! `asset_feature`), which is cheap enough that no rendering is kept: a
//! cache of renderings cost more memory than the whole index (about
//! 2.8 KB an asset) and missed on the random boxes of a whole city.

use super::{Registry, RegistryError};
use crate::domain::AssetId;
use crate::services::asset_feature::RenderedAsset;
use std::sync::Arc;

impl Registry {
    /// These assets as served, in the order asked (missing ones left out).
    pub async fn rendered(
        &self,
        ids: &[AssetId],
    ) -> Result<Vec<Arc<RenderedAsset>>, RegistryError> {
        // Copied out under the read lock a chunk at a time, rendered
        // outside it, so writers wait for no rendering; between chunks the
        // async worker is handed back, so a page of 10,000 features (tens
        // of milliseconds) does not hold up the requests queued behind it.
        const CHUNK: usize = 1_000;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let views: Vec<_> = {
                let index = self.read_index();
                chunk
                    .iter()
                    .filter_map(|id| index.get(*id).map(|a| a.asset.clone()))
                    .map(|asset| self.view(&index, asset))
                    .collect()
            };
            out.extend(
                views
                    .into_iter()
                    .map(|view| Arc::new(RenderedAsset::new(view))),
            );
            if out.len() < ids.len() {
                tokio::task::yield_now().await;
            }
        }
        Ok(out)
    }
}
