//! Storage of the audit trail, the same SQL on both backends (through
//! `complaint_sql::Dialect`). Only appends and reads; the one update is
//! erasing the personal data of erased cases, done by the complaints'
//! erasure (`complaint_sql::erase_personal_data`); the table's triggers
//! refuse anything else.

use super::StoreError;
use super::complaint_sql::Dialect;
use async_trait::async_trait;
use sqlx::Pool;
use time::OffsetDateTime;

/// One entry: who changed what, when, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub entity: &'static str,
    pub entity_id: String,
    pub action: String,
    pub actor_token: Option<i64>,
    pub actor_label: Option<String>,
    pub actor_role: String,
    pub request_id: Option<String>,
    /// JSON merge patch (RFC 7386) from before to after, as text.
    pub changes: String,
    /// The values the patch replaced (merge-patch shaped), as text.
    pub previous: Option<String>,
    /// Personal data changed (`{"before": …, "after": …}`), as text.
    pub personal: Option<String>,
}

/// A stored entry with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: AuditEntry,
}

/// Which entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_token: Option<i64>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Keyset: entries with lower ids.
    pub before: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;

    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError>;
}

/// The entity names the trail knows, as stored.
pub const AUDITED_ENTITIES: [&str; 7] = [
    "asset",
    "complaint",
    "work_order",
    "survey",
    "area",
    "token",
    "plan",
];

async fn append<D: Dialect>(pool: &Pool<D>, entries: &[AuditEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut tx = D::begin_write(pool).await?;
    for chunk in entries.chunks(500) {
        let mut q = D::query(
            "INSERT INTO audit_log (at, entity, entity_id, action, actor_token, actor_label, actor_role, request_id, changes, previous, personal) VALUES "
                .into(),
        );
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(");
            D::push_time(&mut q, e.at);
            q.push(", ");
            D::push_text(&mut q, e.entity);
            q.push(", ");
            D::push_text(&mut q, &e.entity_id);
            q.push(", ");
            D::push_text(&mut q, &e.action);
            q.push(", ");
            D::push_opt_int(&mut q, e.actor_token);
            q.push(", ");
            D::push_opt_text(&mut q, e.actor_label.as_deref());
            q.push(", ");
            D::push_text(&mut q, &e.actor_role);
            q.push(", ");
            D::push_opt_text(&mut q, e.request_id.as_deref());
            q.push(", ");
            D::push_text(&mut q, &e.changes);
            q.push(", ");
            D::push_opt_text(&mut q, e.previous.as_deref());
            q.push(", ");
            D::push_opt_text(&mut q, e.personal.as_deref());
            q.push(")");
        }
        D::execute_in(&mut tx, q).await?;
    }
    D::commit(tx).await
}

async fn read<D: Dialect>(pool: &Pool<D>, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
    let mut q = D::query(
        "SELECT id, at, entity, entity_id, action, actor_token, actor_label, actor_role, request_id, changes, previous, personal \
         FROM audit_log WHERE 1 = 1"
            .into(),
    );
    if let Some(entity) = &f.entity {
        q.push(" AND entity = ");
        D::push_text(&mut q, entity);
    }
    if let Some(id) = &f.entity_id {
        q.push(" AND entity_id = ");
        D::push_text(&mut q, id);
    }
    if let Some(actor) = f.actor_token {
        q.push(" AND actor_token = ");
        D::push_int(&mut q, actor);
    }
    if let Some(from) = f.from {
        q.push(" AND at >= ");
        D::push_time(&mut q, from);
    }
    if let Some(to) = f.to {
        q.push(" AND at < ");
        D::push_time(&mut q, to);
    }
    if let Some(before) = f.before {
        q.push(" AND id < ");
        D::push_int(&mut q, before);
    }
    q.push(" ORDER BY id DESC LIMIT ");
    D::push_int(&mut q, i64::from(f.limit));
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            let entity = D::text(row, "entity")?;
            let entity = AUDITED_ENTITIES
                .into_iter()
                .find(|e| *e == entity)
                .ok_or_else(|| StoreError::Corrupt(format!("audit entity {entity:?}")))?;
            Ok(AuditRecord {
                id: D::int(row, "id")?,
                entry: AuditEntry {
                    at: D::time(row, "at")?,
                    entity,
                    entity_id: D::text(row, "entity_id")?,
                    action: D::text(row, "action")?,
                    actor_token: D::opt_int(row, "actor_token")?,
                    actor_label: D::opt_text(row, "actor_label")?,
                    actor_role: D::text(row, "actor_role")?,
                    request_id: D::opt_text(row, "request_id")?,
                    changes: D::text(row, "changes")?,
                    previous: D::opt_text(row, "previous")?,
                    personal: D::opt_text(row, "personal")?,
                },
            })
        })
        .collect()
}

macro_rules! audit_store {
    ($store:ty) => {
        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
                append(&self.pool, entries).await
            }

            async fn audit_entries(
                &self,
                filter: &AuditFilter,
            ) -> Result<Vec<AuditRecord>, StoreError> {
                read(&self.pool, filter).await
            }
        }
    };
}

audit_store!(super::SqliteStore);
audit_store!(super::PgStore);
