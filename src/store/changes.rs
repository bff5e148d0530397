//! Following other instances' writes on a shared PostgreSQL database
//! (assets, and work orders): NOTIFY wakes the follower, and a query of
//! the change log (`asset_changes`, `work_order_changes`) after the last
//! sequence number seen says what changed. The query runs
//! after every wake-up, after every reconnect and every few seconds
//! regardless, so a notification lost with a dropped connection delays a
//! change by seconds but never loses it.

use super::StoreError;
use super::postgres::{ASSET_CHANNEL, PgStore};
use crate::domain::{AssetId, WorkOrderId};
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Changes made by other instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch<Id> {
    /// What was written (created, changed or deleted), each once.
    pub ids: Vec<Id>,
    /// Changes may have been lost (the follower was cut off for longer
    /// than changes are kept): the whole index must be rebuilt.
    pub resync: bool,
}

/// A source of other instances' writes of things with ids `Id`.
#[async_trait]
pub trait ChangeFeed<Id>: Send {
    /// Waits until other instances have written, and says what.
    /// An error (the database is away) may be followed by another call.
    async fn next(&mut self) -> Result<ChangeBatch<Id>, StoreError>;
}

/// Other instances' asset writes.
pub type AssetChangeFeed = dyn ChangeFeed<AssetId>;
/// Work-order writes, by any instance (own ones too: re-reading an order
/// is harmless, and the log has no origin).
pub type WorkOrderChangeFeed = dyn ChangeFeed<WorkOrderId>;

/// A change log table and its channel.
struct ChangeLog {
    table: &'static str,
    id_column: &'static str,
    channel: &'static str,
    /// Whether rows name their writing instance in `origin` (then this
    /// instance's own are skipped).
    has_origin: bool,
}

const ASSET_LOG: ChangeLog = ChangeLog {
    table: "asset_changes",
    id_column: "asset_id",
    channel: ASSET_CHANNEL,
    has_origin: true,
};

/// The log that migration 0009's trigger writes.
const WORK_ORDER_LOG: ChangeLog = ChangeLog {
    table: "work_order_changes",
    id_column: "work_order_id",
    channel: "hutong_work_orders",
    has_origin: false,
};

/// How often the change log is read with no notification.
const POLL_EVERY: Duration = Duration::from_secs(5);
/// Changes kept in a log: far more than any reconnect takes.
const KEEP_CHANGES: &str = "1 day";
/// A follower that has not read the log for this long may have missed
/// pruned changes, and rebuilds instead (half of what is kept).
const STALE_AFTER: Duration = Duration::from_secs(12 * 3600);
/// How often a follower prunes the log.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Change rows read at once.
const READ_ROWS: i64 = 100_000;

/// [`ChangeFeed`] over LISTEN/NOTIFY and a change log.
pub struct PgChangeFeed<Id> {
    log: &'static ChangeLog,
    id: fn(i64) -> Id,
    pool: PgPool,
    origin: String,
    /// The last change seen.
    last: i64,
    listener: Option<PgListener>,
    last_read: Instant,
    last_pruned: Instant,
}

impl PgChangeFeed<AssetId> {
    /// Starts following other instances' asset writes from now: call
    /// before the index is built, so that writes made while it builds are
    /// replayed, not missed.
    pub async fn assets(store: &PgStore) -> Result<Self, StoreError> {
        Self::start(store, &ASSET_LOG, AssetId).await
    }
}

impl PgChangeFeed<WorkOrderId> {
    /// Starts following work-order writes from now: call before the open
    /// orders are read.
    pub async fn work_orders(store: &PgStore) -> Result<Self, StoreError> {
        Self::start(store, &WORK_ORDER_LOG, WorkOrderId).await
    }
}

impl<Id: Ord> PgChangeFeed<Id> {
    async fn start(
        store: &PgStore,
        log: &'static ChangeLog,
        id: fn(i64) -> Id,
    ) -> Result<Self, StoreError> {
        let last: i64 =
            sqlx::query_scalar(&format!("SELECT coalesce(max(seq), 0) FROM {}", log.table))
                .fetch_one(&store.pool)
                .await?;
        let mut feed = Self {
            log,
            id,
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
        listener.listen(self.log.channel).await?;
        self.listener = Some(listener);
        Ok(())
    }

    /// The changes after the last one seen, by other instances.
    async fn read_log(&mut self) -> Result<ChangeBatch<Id>, StoreError> {
        let stale = self.last_read.elapsed() > STALE_AFTER;
        let mut ids = BTreeSet::new();
        let log = self.log;
        let own = if log.has_origin {
            "origin = $2"
        } else {
            "$2::text IS NULL"
        };
        let read = format!(
            "SELECT seq, {}, {own} FROM {} WHERE seq > $1 ORDER BY seq LIMIT $3",
            log.id_column, log.table
        );
        loop {
            let rows: Vec<(i64, i64, bool)> = sqlx::query_as(&read)
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
                    .map(|(_, id, _)| (self.id)(*id)),
            );
            if (rows.len() as i64) < READ_ROWS {
                break;
            }
        }
        self.last_read = Instant::now();
        if self.last_pruned.elapsed() > PRUNE_EVERY {
            self.last_pruned = Instant::now();
            let pruned = sqlx::query(&format!(
                "DELETE FROM {} WHERE at < now() - interval '{KEEP_CHANGES}'",
                log.table
            ))
            .execute(&self.pool)
            .await?;
            tracing::debug!(
                rows = pruned.rows_affected(),
                log = log.table,
                "change log pruned"
            );
        }
        Ok(ChangeBatch {
            ids: ids.into_iter().collect(),
            resync: stale,
        })
    }
}

#[async_trait]
impl<Id: Ord + Send> ChangeFeed<Id> for PgChangeFeed<Id> {
    async fn next(&mut self) -> Result<ChangeBatch<Id>, StoreError> {
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
