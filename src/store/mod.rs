//! Persistence. The only module that speaks SQL.
//!
//! Services see the [`Store`] trait; [`SqliteStore`] is the embedded
//! implementation, [`PgStore`] the PostgreSQL/PostGIS one for several
//! instances on one database. [`open`] picks one by URL.

mod areas;
mod audit;
mod changes;
mod complaint_sql;
mod complaints;
mod error;
mod geopackage;
mod pg_copy;
mod plans;
mod postgres;
mod postgres_complaints;
mod postgres_transfer;
mod sqlite;
mod sqlite_complaints;
mod sqlite_open;
mod sqlite_transfer;
mod surveys;
mod table_copy;
mod tokens;
mod transfer;
mod work_orders;

pub use areas::{AreaRow, AreaStore};
pub use audit::{AUDITED_ENTITIES, AuditEntry, AuditFilter, AuditRecord, AuditStore};
pub use changes::{AssetChangeFeed, ChangeBatch, ChangeFeed, PgChangeFeed, WorkOrderChangeFeed};
pub use complaints::{Cell, ComplaintStore, RatesFilter, Step, Transition};
pub use error::{DATABASE_UNAVAILABLE, StoreError};
pub use geopackage::{
    ColumnType, Feature as GpkgFeature, Layer as GpkgLayer, read as read_geopackage,
    write as write_geopackage,
};
pub use plans::{PlanChange, PlanFilter, PlanRecord, PlanStore};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use surveys::SurveyStore;
pub use table_copy::{CopiedRow, CopiedTable, TableCopyStore};
pub use tokens::{TokenRecord, TokenSpec, TokenStore};
pub use transfer::{CallbackRow, EventRow, LinkRow, TableCounts, TokenRow, TransferStore};
pub use work_orders::{
    Actor, NewPhoto, Photo, WorkOrderChange, WorkOrderChanged, WorkOrderFilter, WorkOrderStore,
};

use crate::domain::{Asset, AssetDraft, AssetId, Version};
use async_trait::async_trait;
use std::sync::Arc;

/// Storage of assets.
#[async_trait]
pub trait AssetStore: Send + Sync {
    /// Inserts all drafts in one transaction: all are stored or none.
    async fn insert_assets(&self, drafts: &[AssetDraft]) -> Result<Vec<Asset>, StoreError>;

    async fn get_asset(&self, id: AssetId) -> Result<Option<Asset>, StoreError>;

    /// The assets with these ids that exist, in ascending id order.
    async fn get_assets(&self, ids: &[AssetId]) -> Result<Vec<Asset>, StoreError>;

    /// Up to `limit` assets with ids greater than `after`, by id: keyset
    /// paging for walking a whole table.
    async fn assets_after(&self, after: AssetId, limit: u32) -> Result<Vec<Asset>, StoreError>;

    /// Replaces an asset's geometry and attributes, bumping its version.
    /// With `expected`, fails with [`StoreError::VersionMismatch`] unless
    /// the stored version is that one.
    async fn update_asset(
        &self,
        id: AssetId,
        expected: Option<Version>,
        draft: &AssetDraft,
    ) -> Result<Asset, StoreError>;

    /// Deletes an asset, returning what it was.
    async fn delete_asset(
        &self,
        id: AssetId,
        expected: Option<Version>,
    ) -> Result<Asset, StoreError>;

    /// Every asset, whole, to build the in-memory registry at start-up.
    async fn all_assets(&self) -> Result<Vec<Asset>, StoreError>;
}

/// The time of a write, as it is stored: UTC, to the millisecond
/// (what clients and logs can use).
fn now() -> time::OffsetDateTime {
    crate::domain::to_millis(time::OffsetDateTime::now_utc())
}

/// Everything the services need from storage.
pub trait Store:
    AssetStore
    + TokenStore
    + ComplaintStore
    + TransferStore
    + AreaStore
    + WorkOrderStore
    + AuditStore
    + SurveyStore
    + TableCopyStore
    + PlanStore
{
}
impl<
    T: AssetStore
        + TokenStore
        + ComplaintStore
        + TransferStore
        + AreaStore
        + WorkOrderStore
        + AuditStore
        + SurveyStore
        + TableCopyStore
        + PlanStore,
> Store for T
{
}

/// An opened store, and the feeds of other instances' asset and
/// work-order writes when the database is shared (PostgreSQL).
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub feed: Option<Box<AssetChangeFeed>>,
    pub work_order_feed: Option<Box<WorkOrderChangeFeed>>,
}

/// Opens the store named by a database URL (`sqlite://FILE` or
/// `postgres://…`), creating and migrating it when needed. PostgreSQL is
/// waited for while it is not reachable.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if is_postgres(url) {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(
            url.split(':').next().unwrap_or_default().to_string(),
        ))
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// [`open`], with the change feed when the database is one several
/// instances share (PostgreSQL).
pub async fn open_shared(url: &str) -> Result<Opened, StoreError> {
    if is_postgres(url) {
        let store = PgStore::open(url).await?;
        let feed = PgChangeFeed::assets(&store).await?;
        let work_order_feed = PgChangeFeed::work_orders(&store).await?;
        Ok(Opened {
            store: Arc::new(store),
            feed: Some(Box::new(feed)),
            work_order_feed: Some(Box::new(work_order_feed)),
        })
    } else {
        Ok(Opened {
            store: open(url).await?,
            feed: None,
            work_order_feed: None,
        })
    }
}
