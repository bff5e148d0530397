//! Assets as served, from the assets in memory on every read. Nothing
//! rendered is kept: rendering streams each Feature straight into text
//! (see `asset_feature`), which is cheap enough, while a cache of
//! renderings cost more memory than the whole index (about 2.8 KB an
//! asset) and missed on the random boxes of a whole city.

use super::Registry;
use crate::domain::AssetId;
use crate::services::asset_feature::ServedAsset;

/// Assets handled between two hand-backs of the async worker.
const CHUNK: usize = 1_000;

impl Registry {
    /// These assets as served, in the order asked (missing ones left
    /// out), nothing rendered yet: the index's own assets, with a
    /// building's courtyard. Between chunks the async worker is handed
    /// back, so a long list does not hold up the requests behind it.
    pub async fn served(&self, ids: &[AssetId]) -> Vec<ServedAsset> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            {
                let index = self.read_index();
                out.extend(chunk.iter().filter_map(|id| {
                    let asset = index.get(*id)?;
                    Some(ServedAsset::new(
                        asset.clone(),
                        Self::courtyard_of(&index, asset),
                    ))
                }));
            }
            if out.len() < ids.len() {
                tokio::task::yield_now().await;
            }
        }
        out
    }

    /// [`Registry::served`], each rendered as Feature text (a chunk at a
    /// time, handing the async worker back between chunks).
    pub async fn rendered(&self, ids: &[AssetId]) -> Vec<ServedAsset> {
        let served = self.served(ids).await;
        for (i, asset) in served.iter().enumerate() {
            asset.json();
            if (i + 1) % CHUNK == 0 {
                tokio::task::yield_now().await;
            }
        }
        served
    }
}
