//! Following other instances' asset writes on a shared PostgreSQL
//! database: NOTIFY wakes the follower, and a query of `asset_changes`
//! after the last sequence number seen says what changed. The query runs
//! after every wake-up, after every reconnect and every few seconds
//! regardless, so a notification lost with a dropped connection delays a
//! change by seconds but never loses it.

use super::StoreError;
use super::postgres::{ASSET_CHANNEL, PgStore};
use crate::domain::AssetId;
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Asset changes made by other instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeBatch {
    /// The assets written (created, changed or deleted), each once.
    pub ids: Vec<AssetId>,
    /// Changes may have been lost (the follower was cut off for longer
    /// than changes are kept): the whole index must be rebuilt.
    pub resync: bool,
}

/// A source of other instances' asset writes.
#[async_trait]
pub trait AssetChangeFeed: Send {
    /// Waits until other instances have written assets, and says which.
    /// An error (the database is away) may be followed by another call.
    async fn next(&mut self) -> Result<ChangeBatch, StoreError>;
}

/// How often the change log is read with no notification.
const POLL_EVERY: Duration = Duration::from_secs(5);
/// Changes kept in `asset_changes`: far more than any reconnect takes.
const KEEP_CHANGES: &str = "1 day";
/// A follower that has not read the log for this long may have missed
/// pruned changes, and rebuilds instead (half of what is kept).
const STALE_AFTER: Duration = Duration::from_secs(12 * 3600);
/// How often a follower prunes the log.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Change rows read at once.
const READ_ROWS: i64 = 100_000;

/// [`AssetChangeFeed`] over LISTEN/NOTIFY and the `asset_changes` log.
pub struct PgChangeFeed {
    pool: PgPool,
    origin: String,
    /// The last change seen.
    last: i64,
    listener: Option<PgListener>,
    last_read: Instant,
    last_pruned: Instant,
}

impl PgChangeFeed {
    /// Starts following from now: call before the index is built, so
    /// that writes made while it builds are replayed, not missed.
    pub async fn start(store: &PgStore) -> Result<Self, StoreError> {
        let last: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM asset_changes")
            .fetch_one(&store.pool)
            .await?;
        let mut feed = Self {
            pool: store.pool.clone(),
            origin: store.origin.clone(),
            last,
            listener: None,
            last_read: Instant::now(),
            last_pruned: Instant::now(),
        };
        feed.listen().await?;
        Ok(feed)
    }

    async fn listen(&mut self) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(ASSET_CHANNEL).await?;
        self.listener = Some(listener);
        Ok(())
    }

    /// The changes after the last one seen, by other instances.
    async fn read_log(&mut self) -> Result<ChangeBatch, StoreError> {
        let stale = self.last_read.elapsed() > STALE_AFTER;
        let mut ids = BTreeSet::new();
        loop {
            let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
                "SELECT seq, asset_id, origin = $2 FROM asset_changes WHERE seq > $1 ORDER BY seq LIMIT $3",
            )
            .bind(self.last)
            .bind(&self.origin)
            .bind(READ_ROWS)
            .fetch_all(&self.pool)
            .await?;
            let Some(&(last, _, _)) = rows.last() else {
                break;
            };
            self.last = last;
            ids.extend(
                rows.iter()
                    .filter(|(_, _, own)| !own)
                    .map(|(_, id, _)| AssetId(*id)),
            );
            if (rows.len() as i64) < READ_ROWS {
                break;
            }
        }
        self.last_read = Instant::now();
        if self.last_pruned.elapsed() > PRUNE_EVERY {
            self.last_pruned = Instant::now();
            let pruned = sqlx::query(&format!(
                "DELETE FROM asset_changes WHERE at < now() - interval '{KEEP_CHANGES}'"
            ))
            .execute(&self.pool)
            .await?;
            tracing::debug!(rows = pruned.rows_affected(), "asset change log pruned");
        }
        Ok(ChangeBatch {
            ids: ids.into_iter().collect(),
            resync: stale,
        })
    }
}

#[async_trait]
impl AssetChangeFeed for PgChangeFeed {
    async fn next(&mut self) -> Result<ChangeBatch, StoreError> {
        loop {
            if self.listener.is_none() {
                self.listen().await?;
            }
            let batch = self.read_log().await?;
            if batch.resync || !batch.ids.is_empty() {
                return Ok(batch);
            }
            let Some(listener) = self.listener.as_mut() else {
                continue;
            };
            match tokio::time::timeout(POLL_EVERY, listener.try_recv()).await {
                // Woken, or time for a look anyway.
                Ok(Ok(Some(_))) | Err(_) => {}
                // The connection dropped and was made again: whatever was
                // announced meanwhile is in the log, read next.
                Ok(Ok(None)) => tracing::info!("change feed reconnected; catching up"),
                Ok(Err(e)) => {
                    self.listener = None;
                    return Err(e.into());
                }
            }
        }
    }
}
