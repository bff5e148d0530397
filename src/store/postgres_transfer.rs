//! [`TransferStore`] on PostgreSQL: array parameters, and COPY for
//! complaints (the big table).

use super::StoreError;
use super::pg_copy::CopyRows;
use super::postgres::{AssetColumns, PgStore};
use super::transfer::{
    COUNT_TABLES, EventRow, LinkRow, TableCounts, TokenRow, TransferStore, canonical_json,
};
use crate::domain::{Asset, Complaint, ComplaintId, District, to_millis, utc_text};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Rows per statement.
const CHUNK_ROWS: usize = 10_000;

#[async_trait]
impl TransferStore for PgStore {
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
            OffsetDateTime,
            Option<OffsetDateTime>,
            Option<String>,
            Option<OffsetDateTime>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, token_sha256, role, district, unit, label, created_at, revoked_at, crew, expires_at FROM api_tokens \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    token_sha256,
                    role,
                    district,
                    unit,
                    label,
                    created_at,
                    revoked_at,
                    crew,
                    expires_at,
                )| {
                    TokenRow {
                        id,
                        token_sha256,
                        role,
                        district,
                        unit,
                        label,
                        created_at,
                        revoked_at,
                        crew,
                        expires_at,
                    }
                },
            )
            .collect())
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
            OffsetDateTime,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, complaint_id, from_status, to_status, note, actor_token, actor_role, at, \
             action, unit, detail::text FROM complaint_events WHERE id > $1 ORDER BY id LIMIT $2",
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
                        at,
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
             WHERE complaint_id > $1 AND complaint_id <= $2",
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
        let mut tx = self.pool.begin().await?;
        for chunk in assets.chunks(CHUNK_ROWS) {
            let mut columns = AssetColumns::default();
            let mut ids = Vec::with_capacity(chunk.len());
            let mut versions = Vec::with_capacity(chunk.len());
            let mut created = Vec::with_capacity(chunk.len());
            let mut updated = Vec::with_capacity(chunk.len());
            for asset in chunk {
                columns.push(
                    asset.kind(),
                    &asset.geometry,
                    &asset.attributes,
                    asset.derived,
                )?;
                ids.push(asset.id.0);
                versions.push(asset.version.0);
                created.push(to_millis(asset.created_at));
                updated.push(to_millis(asset.updated_at));
            }
            sqlx::query(
                "INSERT INTO assets (id, kind, geom, attributes, district, area_m2, length_m, version, created_at, updated_at) \
                 SELECT i, k, ST_SetSRID(ST_GeomFromWKB(g), 4326), a::jsonb, d, ar, l, v, c, u \
                 FROM unnest($1::int8[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::float8[], \
                 $7::float8[], $8::int8[], $9::timestamptz[], $10::timestamptz[]) AS t(i, k, g, a, d, ar, l, v, c, u)",
            )
            .bind(&ids)
            .bind(&columns.kinds)
            .bind(&columns.wkbs)
            .bind(&columns.attributes)
            .bind(&columns.districts)
            .bind(&columns.areas)
            .bind(&columns.lengths)
            .bind(&versions)
            .bind(&created)
            .bind(&updated)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn restore_tokens(&self, tokens: &[TokenRow]) -> Result<(), StoreError> {
        let column = |f: fn(&TokenRow) -> Option<String>| tokens.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO api_tokens (id, token_sha256, role, district, label, created_at, revoked_at, unit, crew, expires_at) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::timestamptz[])",
        )
        .bind(tokens.iter().map(|t| t.id).collect::<Vec<_>>())
        .bind(column(|t| Some(t.token_sha256.clone())))
        .bind(column(|t| Some(t.role.clone())))
        .bind(column(|t| t.district.clone()))
        .bind(column(|t| t.label.clone()))
        .bind(tokens.iter().map(|t| to_millis(t.created_at)).collect::<Vec<_>>())
        .bind(
            tokens
                .iter()
                .map(|t| t.revoked_at.map(to_millis))
                .collect::<Vec<_>>(),
        )
        .bind(column(|t| t.unit.clone()))
        .bind(column(|t| t.crew.clone()))
        .bind(
            tokens
                .iter()
                .map(|t| t.expires_at.map(to_millis))
                .collect::<Vec<_>>(),
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn restore_complaints(
        &self,
        complaints: &[Complaint],
        links: &[LinkRow],
    ) -> Result<(), StoreError> {
        let mut rows = CopyRows::with_capacity(complaints.len() * 320);
        for c in complaints {
            let d = &c.draft;
            let h = c.handling.as_ref();
            let time = |t: Option<time::OffsetDateTime>| t.map(utc_text);
            let number = |v: Option<f64>| v.map(|v| v.to_string());
            rows.number(c.id.0)
                .text(Some(d.case_number.as_str()))
                .text(Some(d.channel.as_str()))
                .text(Some(d.category.as_str()))
                .text(Some(&d.description))
                .text(d.address.as_deref())
                .text(d.district.map(District::as_str))
                .text(
                    d.location
                        .map(|(lon, lat)| format!("SRID=4326;POINT({lon} {lat})"))
                        .as_deref(),
                )
                .text(number(d.raw_location.map(|l| l.0)).as_deref())
                .text(number(d.raw_location.map(|l| l.1)).as_deref())
                .text(Some(d.coord_sys.as_str()))
                .text(Some(&utc_text(d.reported_at)))
                .text(Some(c.status.as_str()))
                .text(c.resolution.as_deref())
                .text(c.satisfaction.map(|s| s.score().to_string()).as_deref())
                .text(d.caller.name.as_deref())
                .text(d.caller.phone.as_deref())
                // duplicate_of: set after all complaints are in.
                .text(None)
                .text(Some(&serde_json::Value::from(c.flags.clone()).to_string()))
                .text(Some(&utc_text(c.created_at)))
                .text(Some(&utc_text(c.updated_at)))
                .text(Some(d.case_type.as_str()))
                .text(Some(d.located_by.as_str()))
                .text(d.caller_phone_hash.as_deref())
                .text(h.map(|h| h.unit.as_str()))
                .text(h.map(|h| h.tier.as_str()))
                .text(time(h.map(|h| h.dispatched_at)).as_deref())
                .text(time(h.map(|h| h.response_due)).as_deref())
                .text(time(h.map(|h| h.resolution_due)).as_deref())
                .text(time(h.and_then(|h| h.accepted_at)).as_deref())
                .text(time(c.closed_at).as_deref())
                .text(c.not_assessable.as_ref().map(|n| n.reason.as_str()))
                .text(
                    c.not_assessable
                        .as_ref()
                        .map(|n| n.approved_by.to_string())
                        .as_deref(),
                )
                .text(time(c.personal_data_erased_at).as_deref())
                .text(d.street.as_deref())
                .text(d.community.as_deref())
                .end_row();
        }
        let mut tx = self.pool.begin().await?;
        rows.send(
            &mut tx,
            "COPY complaints (id, case_number, channel, category, description, address, district, location, \
             raw_lon, raw_lat, coord_sys, reported_at, status, resolution, satisfaction, caller_name, \
             caller_phone, duplicate_of, flags, created_at, updated_at, case_type, located_by, \
             caller_phone_hash, unit, urgency, dispatched_at, response_due, resolution_due, accepted_at, \
             closed_at, not_assessable_reason, not_assessable_by, personal_data_erased_at, street, community) \
             FROM STDIN",
        )
        .await?;
        for chunk in links.chunks(CHUNK_ROWS) {
            sqlx::query(
                "INSERT INTO complaint_links (complaint_id, asset_id, rule, distance_m) \
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::float8[])",
            )
            .bind(chunk.iter().map(|l| l.complaint_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|l| l.asset_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|l| l.rule.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|l| l.distance_m).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn restore_duplicates(
        &self,
        pairs: &[(ComplaintId, ComplaintId)],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE complaints c SET duplicate_of = u.dup FROM unnest($1::int8[], $2::int8[]) AS u(id, dup) WHERE c.id = u.id",
        )
        .bind(pairs.iter().map(|(id, _)| id.0).collect::<Vec<_>>())
        .bind(pairs.iter().map(|(_, dup)| dup.0).collect::<Vec<_>>())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn restore_events(&self, events: &[EventRow]) -> Result<(), StoreError> {
        for chunk in events.chunks(CHUNK_ROWS) {
            sqlx::query(
                "INSERT INTO complaint_events (id, complaint_id, from_status, to_status, note, actor_token, actor_role, at, \
                 action, unit, detail) \
                 SELECT id, complaint_id, from_status, to_status, note, actor_token, actor_role, at, action, unit, detail::jsonb \
                 FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[], \
                 $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[]) \
                 AS e(id, complaint_id, from_status, to_status, note, actor_token, actor_role, at, action, unit, detail)",
            )
            .bind(chunk.iter().map(|e| e.id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.complaint_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.from_status.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.to_status.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.note.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.actor_token).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.actor_role.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| to_millis(e.at)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.action.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.unit.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.detail.clone()).collect::<Vec<_>>())
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn finish_restore(&self) -> Result<(), StoreError> {
        for table in [
            "assets",
            "api_tokens",
            "complaints",
            "complaint_events",
            "complaint_callbacks",
            "work_orders",
            "work_order_events",
            "surveys",
            "photos",
            "audit_log",
            "plans",
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            ))
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}
