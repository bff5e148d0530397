//! Keeps this instance's index in step with the asset writes of the
//! other instances sharing its database.

use crate::services::registry::Registry;
use crate::store::{AssetChangeFeed, ChangeBatch};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Longest pause between attempts while the database is away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Follows `feed` into `registry` until the task is dropped or aborted.
pub fn spawn(registry: Arc<Registry>, mut feed: Box<dyn AssetChangeFeed>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        // A batch read but not yet applied is kept until it is: the feed
        // has moved past it.
        let mut pending: Option<ChangeBatch> = None;
        loop {
            let batch = match pending.take() {
                Some(batch) => batch,
                None => match feed.next().await {
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot follow other instances' writes");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
            };
            let applied = if batch.resync {
                tracing::warn!(
                    "other instances' writes may have been missed; rebuilding the index"
                );
                registry.rebuild().await
            } else {
                registry.apply_remote(&batch.ids).await
            };
            match applied {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot apply other instances' writes yet");
                    pending = Some(batch);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    })
}
