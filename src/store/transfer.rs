//! Copying a whole store into another, ids and all (`hutong
//! migrate-store`): the rows that have no domain type of their own, and
//! the writes that keep ids, versions and timestamps as they were.

use super::StoreError;
use crate::domain::{Asset, Complaint, ComplaintId};
use async_trait::async_trait;
use time::OffsetDateTime;

/// A stored API token (only its hash), as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    pub token_sha256: String,
    pub role: String,
    pub district: Option<String>,
    pub unit: Option<String>,
    pub label: Option<String>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub crew: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

/// A status change of a complaint, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub complaint_id: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub actor_token: Option<i64>,
    pub actor_role: String,
    pub at: OffsetDateTime,
    pub action: Option<String>,
    pub unit: Option<String>,
    /// A JSON object, as text.
    pub detail: Option<String>,
}

/// A call-back, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackRow {
    pub id: i64,
    pub complaint_id: i64,
    pub unit: Option<String>,
    pub answers: crate::domain::CallbackAnswers,
    pub actor_token: Option<i64>,
    pub actor_role: String,
    pub at: OffsetDateTime,
}

/// A link of a complaint to an asset, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub complaint_id: i64,
    pub asset_id: i64,
    pub rule: String,
    pub distance_m: f64,
}

/// Rows in each table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    pub assets: u64,
    pub tokens: u64,
    pub complaints: u64,
    pub events: u64,
    pub links: u64,
}

/// The query of [`TableCounts`], the same on both stores.
pub(super) const COUNT_TABLES: &str = "SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM api_tokens), \
     (SELECT count(*) FROM complaints), (SELECT count(*) FROM complaint_events), \
     (SELECT count(*) FROM complaint_links)";

impl TableCounts {
    pub fn is_empty(&self) -> bool {
        *self == TableCounts::default()
    }

    /// From the row of [`COUNT_TABLES`].
    pub(super) fn from_row(
        (assets, tokens, complaints, events, links): (i64, i64, i64, i64, i64),
    ) -> Self {
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        TableCounts {
            assets: n(assets),
            tokens: n(tokens),
            complaints: n(complaints),
            events: n(events),
            links: n(links),
        }
    }
}

#[async_trait]
pub trait TransferStore: Send + Sync {
    async fn table_counts(&self) -> Result<TableCounts, StoreError>;

    /// Up to `limit` tokens with ids above `after`, by id.
    async fn tokens_after(&self, after: i64, limit: u32) -> Result<Vec<TokenRow>, StoreError>;

    /// Up to `limit` events with ids above `after`, by id.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRow>, StoreError>;

    /// The links of the complaints with ids in `after < id <= upto`.
    async fn links_between(
        &self,
        after: ComplaintId,
        upto: ComplaintId,
    ) -> Result<Vec<LinkRow>, StoreError>;

    /// Stores assets as they are (ids, versions, timestamps), in one
    /// transaction. Other instances are not told: a store being filled is
    /// served by nobody yet.
    async fn restore_assets(&self, assets: &[Asset]) -> Result<(), StoreError>;

    async fn restore_tokens(&self, tokens: &[TokenRow]) -> Result<(), StoreError>;

    /// Stores complaints as they are, with their links, in one
    /// transaction; all but `duplicate_of`, which may point at a
    /// complaint not restored yet (see [`TransferStore::restore_duplicates`]).
    async fn restore_complaints(
        &self,
        complaints: &[Complaint],
        links: &[LinkRow],
    ) -> Result<(), StoreError>;

    /// Marks restored complaints as duplicates of others, as they were.
    async fn restore_duplicates(
        &self,
        pairs: &[(ComplaintId, ComplaintId)],
    ) -> Result<(), StoreError>;

    async fn restore_events(&self, events: &[EventRow]) -> Result<(), StoreError>;

    /// After restoring: new rows get ids above the restored ones.
    async fn finish_restore(&self) -> Result<(), StoreError>;
}

/// A JSON value with the keys of every object sorted.
pub(super) fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// A stored JSON object in one form on every store: PostgreSQL's `jsonb`
/// prints its own spacing and key order, SQLite gives back the text as
/// written, and digests must agree. Keys are sorted at every level
/// (serde_json keeps insertion order in this build).
pub(super) fn canonical_json(text: Option<String>) -> Result<Option<String>, StoreError> {
    text.map(|t| {
        serde_json::from_str::<serde_json::Value>(&t)
            .map(|v| sorted(v).to_string())
            .map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
    })
    .transpose()
}
