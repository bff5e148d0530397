//! [`TransferStore`] on SQLite.

use super::StoreError;
use super::sqlite::{DRAFT_COLUMNS, SqliteStore, bind_draft, parse_timestamp, timestamp};
use super::transfer::{
    COUNT_TABLES, EventRow, LinkRow, TableCounts, TokenRow, TransferStore, canonical_json,
};
use crate::domain::{Asset, AssetDraft, Complaint, ComplaintId, District};
use crate::spatial::cell_key;
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};

/// Rows per multi-row INSERT (at most 22 parameters a row).
const CHUNK_ROWS: usize = 1_000;

fn time_opt(text: Option<String>) -> Result<Option<time::OffsetDateTime>, StoreError> {
    text.as_deref().map(parse_timestamp).transpose()
}

#[async_trait]
impl TransferStore for SqliteStore {
    async fn table_counts(&self) -> Result<TableCounts, StoreError> {
        let row = sqlx::query_as(COUNT_TABLES).fetch_one(&self.pool).await?;
        Ok(TableCounts::from_row(row))
    }

    async fn tokens_after(&self, after: i64, limit: u32) -> Result<Vec<TokenRow>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, token_sha256, role, district, unit, label, created_at, revoked_at, crew, expires_at FROM api_tokens \
             WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    token_sha256,
                    role,
                    district,
                    unit,
                    label,
                    created,
                    revoked,
                    crew,
                    expires,
                )| {
                    Ok(TokenRow {
                        id,
                        token_sha256,
                        role,
                        district,
                        unit,
                        label,
                        created_at: parse_timestamp(&created)?,
                        revoked_at: time_opt(revoked)?,
                        crew,
                        expires_at: time_opt(expires)?,
                    })
                },
            )
            .collect()
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRow>, StoreError> {
        type Row = (
            i64,
            i64,
            Option<String>,
            String,
            Option<String>,
            Option<i64>,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, complaint_id, from_status, to_status, note, actor_token, actor_role, at, \
             action, unit, detail FROM complaint_events WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    complaint_id,
                    from_status,
                    to_status,
                    note,
                    actor_token,
                    actor_role,
                    at,
                    action,
                    unit,
                    detail,
                )| {
                    Ok(EventRow {
                        id,
                        complaint_id,
                        from_status,
                        to_status,
                        note,
                        actor_token,
                        actor_role,
                        at: parse_timestamp(&at)?,
                        action,
                        unit,
                        detail: canonical_json(detail)?,
                    })
                },
            )
            .collect()
    }

    async fn links_between(
        &self,
        after: ComplaintId,
        upto: ComplaintId,
    ) -> Result<Vec<LinkRow>, StoreError> {
        let rows: Vec<(i64, i64, String, f64)> = sqlx::query_as(
            "SELECT complaint_id, asset_id, rule, distance_m FROM complaint_links \
             WHERE complaint_id > ? AND complaint_id <= ?",
        )
        .bind(after.0)
        .bind(upto.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(complaint_id, asset_id, rule, distance_m)| LinkRow {
                complaint_id,
                asset_id,
                rule,
                distance_m,
            })
            .collect())
    }

    async fn restore_assets(&self, assets: &[Asset]) -> Result<(), StoreError> {
        let drafts: Vec<(&Asset, AssetDraft)> = assets
            .iter()
            .map(|a| {
                (
                    a,
                    AssetDraft {
                        geometry: a.geometry.clone(),
                        attributes: a.attributes.clone(),
                        derived: a.derived,
                    },
                )
            })
            .collect();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in drafts.chunks(CHUNK_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO assets (id, {DRAFT_COLUMNS}, version, created_at, updated_at) "
            ));
            insert.push_values(chunk, |mut row, (asset, draft)| {
                row.push_bind(asset.id.0);
                bind_draft(&mut row, draft);
                row.push_bind(asset.version.0)
                    .push_bind(timestamp(asset.created_at))
                    .push_bind(timestamp(asset.updated_at));
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn restore_tokens(&self, tokens: &[TokenRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in tokens.chunks(CHUNK_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO api_tokens (id, token_sha256, role, district, unit, label, created_at, revoked_at, crew, expires_at) ",
            );
            insert.push_values(chunk, |mut row, t| {
                row.push_bind(t.id)
                    .push_bind(&t.token_sha256)
                    .push_bind(&t.role)
                    .push_bind(&t.district)
                    .push_bind(&t.unit)
                    .push_bind(&t.label)
                    .push_bind(timestamp(t.created_at))
                    .push_bind(t.revoked_at.map(timestamp))
                    .push_bind(&t.crew)
                    .push_bind(t.expires_at.map(timestamp));
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn restore_complaints(
        &self,
        complaints: &[Complaint],
        links: &[LinkRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // 38 parameters a row: SQLite takes at most 32,766 a statement.
        for chunk in complaints.chunks(CHUNK_ROWS / 2) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO complaints (id, case_number, channel, category, description, address, district, \
                 lon, lat, raw_lon, raw_lat, coord_sys, reported_at, status, resolution, satisfaction, \
                 caller_name, caller_phone, duplicate_of, flags, created_at, updated_at, cell, \
                 case_type, located_by, caller_phone_hash, unit, urgency, dispatched_at, response_due, \
                 resolution_due, accepted_at, closed_at, not_assessable_reason, not_assessable_by, \
                 personal_data_erased_at, street, community) ",
            );
            insert.push_values(chunk, |mut row, c| {
                let d = &c.draft;
                let h = c.handling.as_ref();
                row.push_bind(c.id.0)
                    .push_bind(d.case_number.as_str())
                    .push_bind(d.channel.as_str())
                    .push_bind(d.category.as_str())
                    .push_bind(d.description.as_str())
                    .push_bind(d.address.as_deref())
                    .push_bind(d.district.map(District::as_str))
                    .push_bind(d.location.map(|l| l.0))
                    .push_bind(d.location.map(|l| l.1))
                    .push_bind(d.raw_location.map(|l| l.0))
                    .push_bind(d.raw_location.map(|l| l.1))
                    .push_bind(d.coord_sys.as_str())
                    .push_bind(timestamp(d.reported_at))
                    .push_bind(c.status.as_str())
                    .push_bind(c.resolution.as_deref())
                    .push_bind(c.satisfaction.map(|s| i64::from(s.score())))
                    .push_bind(d.caller.name.as_deref())
                    .push_bind(d.caller.phone.as_deref())
                    .push_bind(None::<i64>)
                    .push_bind(serde_json::Value::from(c.flags.clone()).to_string())
                    .push_bind(timestamp(c.created_at))
                    .push_bind(timestamp(c.updated_at))
                    .push_bind(d.location.map(|(lon, lat)| cell_key(lon, lat)))
                    .push_bind(d.case_type.as_str())
                    .push_bind(d.located_by.as_str())
                    .push_bind(d.caller_phone_hash.as_deref())
                    .push_bind(h.map(|h| h.unit.as_str()))
                    .push_bind(h.map(|h| h.tier.as_str()))
                    .push_bind(h.map(|h| timestamp(h.dispatched_at)))
                    .push_bind(h.map(|h| timestamp(h.response_due)))
                    .push_bind(h.map(|h| timestamp(h.resolution_due)))
                    .push_bind(h.and_then(|h| h.accepted_at).map(timestamp))
                    .push_bind(c.closed_at.map(timestamp))
                    .push_bind(c.not_assessable.as_ref().map(|n| n.reason.clone()))
                    .push_bind(c.not_assessable.as_ref().map(|n| n.approved_by))
                    .push_bind(c.personal_data_erased_at.map(timestamp))
                    .push_bind(d.street.as_deref())
                    .push_bind(d.community.as_deref());
            });
            insert.build().execute(&mut *tx).await?;
        }
        for chunk in links.chunks(CHUNK_ROWS * 5) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO complaint_links (complaint_id, asset_id, rule, distance_m) ",
            );
            insert.push_values(chunk, |mut row, l| {
                row.push_bind(l.complaint_id)
                    .push_bind(l.asset_id)
                    .push_bind(&l.rule)
                    .push_bind(l.distance_m);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn restore_duplicates(
        &self,
        pairs: &[(ComplaintId, ComplaintId)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (id, dup) in pairs {
            sqlx::query("UPDATE complaints SET duplicate_of = ? WHERE id = ?")
                .bind(dup.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn restore_events(&self, events: &[EventRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in events.chunks(CHUNK_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO complaint_events (id, complaint_id, from_status, to_status, note, actor_token, actor_role, at, action, unit, detail) ",
            );
            insert.push_values(chunk, |mut row, e| {
                row.push_bind(e.id)
                    .push_bind(e.complaint_id)
                    .push_bind(&e.from_status)
                    .push_bind(&e.to_status)
                    .push_bind(&e.note)
                    .push_bind(e.actor_token)
                    .push_bind(&e.actor_role)
                    .push_bind(timestamp(e.at))
                    .push_bind(&e.action)
                    .push_bind(&e.unit)
                    .push_bind(&e.detail);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn finish_restore(&self) -> Result<(), StoreError> {
        // AUTOINCREMENT keeps the largest id ever inserted, explicit ones
        // included: nothing to move on.
        Ok(())
    }
}
