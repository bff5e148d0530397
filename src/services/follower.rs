//! Keeps this instance's in-memory state (the asset index, the open work
//! orders) in step with the writes of the other instances sharing its
//! database.

use crate::store::{ChangeBatch, ChangeFeed};
use async_trait::async_trait;
use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Longest pause between attempts while the database is away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What follows a change feed: held state that can take changed ids or
/// be rebuilt whole.
#[async_trait]
pub trait Follows<Id>: Send + Sync + 'static {
    type Error: Display + Send;
    /// What the state is, for the log.
    const WHAT: &'static str;
    /// Reads these from the store again and holds them as they now are.
    async fn apply_remote(&self, ids: &[Id]) -> Result<(), Self::Error>;
    /// Reads everything again (changes may have been missed).
    async fn rebuild(&self) -> Result<(), Self::Error>;
}

/// Follows `feed` into `state` until the task is dropped or aborted.
pub fn spawn<Id, S>(state: Arc<S>, mut feed: Box<dyn ChangeFeed<Id>>) -> JoinHandle<()>
where
    Id: Send + Sync + 'static,
    S: Follows<Id>,
{
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        // A batch read but not yet applied is kept until it is: the feed
        // has moved past it.
        let mut pending: Option<ChangeBatch<Id>> = None;
        loop {
            let batch = match pending.take() {
                Some(batch) => batch,
                None => match feed.next().await {
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::warn!(error = %e, of = S::WHAT, retry_in_ms = backoff.as_millis() as u64, "cannot follow other instances' writes");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
            };
            let applied = if batch.resync {
                tracing::warn!(
                    of = S::WHAT,
                    "other instances' writes may have been missed; reading everything again"
                );
                state.rebuild().await
            } else {
                state.apply_remote(&batch.ids).await
            };
            match applied {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(e) => {
                    tracing::warn!(error = %e, of = S::WHAT, "cannot apply other instances' writes yet");
                    pending = Some(batch);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    })
}
