//! [`ComplaintStore`] on PostgreSQL/PostGIS. Locations are
//! `geometry(Point, 4326)` under a GiST index; intake goes through `COPY`.

use super::StoreError;
use super::complaint_sql::{self, Dialect, complaint_from_row, dialect_common};
use super::complaints::{
    ComplaintStore, RatesFilter, Step, Transition, intake_answers, open_filter, rounded_box,
};
use super::now;
use super::pg_copy::CopyRows;
use super::postgres::PgStore;
use crate::domain::{
    CallbackRates, Category, Complaint, ComplaintDraft, ComplaintId, District, StatusChange,
    to_millis, utc_text,
};
use crate::domain::{ComplaintExtent, ComplaintFilter, ComplaintLink, ComplaintStats, Linking};
use crate::spatial::LonLatBox;
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Pool, Transaction};
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

const COLUMNS: &str = "c.id, c.case_number, c.channel, c.case_type, c.category, c.description, c.address, \
    c.district, c.street, c.community, ST_X(c.location) AS lon, ST_Y(c.location) AS lat, c.raw_lon, c.raw_lat, c.located_by, \
    c.coord_sys, c.reported_at, c.status, c.resolution, c.satisfaction::int8 AS satisfaction, c.caller_name, \
    c.caller_phone, c.caller_phone_hash, c.duplicate_of, c.flags::text AS flags, c.created_at, c.updated_at, \
    c.unit, c.urgency, c.dispatched_at, c.response_due, c.resolution_due, c.accepted_at, c.closed_at, \
    c.not_assessable_reason, c.not_assessable_by, c.personal_data_erased_at";

/// How long an inserted complaint may stay uncommitted: ids come from a
/// sequence, so with several writers a smaller id can commit after a
/// larger one. Extents are extended by ids only past complaints older
/// than this (see [`ComplaintStore::complaint_extent`]).
const SETTLED_AFTER: &str = "15 minutes";

/// PostgreSQL's way with complaints: a PostGIS point with a GiST index,
/// times as `timestamptz`.
impl Dialect for Postgres {
    const COMPLAINT_COLUMNS: &'static str = COLUMNS;
    const LOCK_ROWS: &'static str = " FOR UPDATE";
    /// Advisory lock 0x776f726b6f72 ("workor"), which the change-log
    /// trigger of migration 0009 takes too.
    const WORK_ORDER_WRITE_LOCK: &'static str = "SELECT pg_advisory_xact_lock(131320544718706)";
    const LON_LAT: &'static str = "ST_X(c.location) AS lon, ST_Y(c.location) AS lat";
    const DETAIL_TEXT: &'static str = "detail::text";
    const DETAIL_CAST: &'static str = "::jsonb";

    dialect_common!(PgRow);

    fn push_time(q: &mut QueryBuilder<'_, Self>, value: OffsetDateTime) {
        q.push_bind(value);
    }

    fn push_opt_time(q: &mut QueryBuilder<'_, Self>, value: Option<OffsetDateTime>) {
        q.push_bind(value);
    }

    fn push_set_location(q: &mut QueryBuilder<'_, Self>, (lon, lat): (f64, f64)) {
        q.push("location = ST_SetSRID(ST_MakePoint(")
            .push_bind(lon)
            .push(", ")
            .push_bind(lat)
            .push("), 4326), raw_lon = ")
            .push_bind(lon)
            .push(", raw_lat = ")
            .push_bind(lat)
            .push(", coord_sys = 'wgs84'");
    }

    fn opt_time(row: &PgRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(row.try_get(column)?)
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, StoreError> {
        Ok(pool.begin().await?)
    }

    fn time(row: &PgRow, column: &str) -> Result<OffsetDateTime, StoreError> {
        Ok(row.try_get(column)?)
    }
}

/// Appends the WHERE clause of a filter (the table is aliased `c`).
fn push_filter<'a>(q: &mut QueryBuilder<'a, Postgres>, f: &'a ComplaintFilter) {
    q.push(" WHERE true");
    if let Some(b) = f.bbox {
        // The GiST index finds the candidates by box (its boxes are
        // rounded outwards to single precision); the exact test follows.
        q.push(" AND c.location && ST_MakeEnvelope(")
            .push_bind(b.min_lon)
            .push(", ")
            .push_bind(b.min_lat)
            .push(", ")
            .push_bind(b.max_lon)
            .push(", ")
            .push_bind(b.max_lat)
            .push(", 4326) AND ST_X(c.location) BETWEEN ")
            .push_bind(b.min_lon)
            .push(" AND ")
            .push_bind(b.max_lon)
            .push(" AND ST_Y(c.location) BETWEEN ")
            .push_bind(b.min_lat)
            .push(" AND ")
            .push_bind(b.max_lat);
    }
    if !f.categories.is_empty() {
        let names: Vec<&str> = f.categories.iter().map(|c| c.as_str()).collect();
        q.push(" AND c.category = ANY(").push_bind(names).push(")");
    }
    if !f.statuses.is_empty() {
        let names: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        q.push(" AND c.status = ANY(").push_bind(names).push(")");
    }
    if let Some(from) = f.reported_from {
        q.push(" AND c.reported_at >= ").push_bind(to_millis(from));
    }
    if let Some(to) = f.reported_to {
        q.push(" AND c.reported_at <= ").push_bind(to_millis(to));
    }
    if let Some(d) = f.district {
        q.push(" AND c.district = ").push_bind(d.as_str());
    }
    if let Some(street) = &f.street {
        q.push(" AND c.street = ").push_bind(street.as_str());
    }
    if let Some(community) = &f.community {
        q.push(" AND c.community = ").push_bind(community.as_str());
    }
    if let Some(case) = &f.case_number {
        q.push(" AND c.case_number = ").push_bind(case.as_str());
    }
    if f.exclude_duplicates {
        q.push(" AND c.duplicate_of IS NULL");
    }
    if !f.case_types.is_empty() {
        let names: Vec<&str> = f.case_types.iter().map(|t| t.as_str()).collect();
        q.push(" AND c.case_type = ANY(").push_bind(names).push(")");
    }
    if !f.channels.is_empty() {
        let names: Vec<&str> = f.channels.iter().map(|c| c.as_str()).collect();
        q.push(" AND c.channel = ANY(").push_bind(names).push(")");
    }
    if let Some(unit) = &f.unit {
        q.push(" AND c.unit = ").push_bind(unit.as_str());
    }
    match f.located {
        Some(true) => {
            q.push(" AND c.location IS NOT NULL");
        }
        Some(false) => {
            q.push(" AND c.location IS NULL");
        }
        None => {}
    }
    if let Some(at) = f.overdue_at {
        q.push(" AND c.status IN ('dispatched', 'in_progress') AND (c.resolution_due < ")
            .push_bind(at)
            .push(" OR (c.status = 'dispatched' AND c.response_due < ")
            .push_bind(at)
            .push("))");
    }
    if let Some(hash) = &f.caller_phone_hash {
        q.push(" AND c.caller_phone_hash = ")
            .push_bind(hash.as_str());
    }
    if !f.ids.is_empty() {
        q.push(" AND c.id = ANY(")
            .push_bind(f.ids.iter().map(|id| id.0).collect::<Vec<i64>>())
            .push(")");
    }
    if let Some((at, id)) = f.before {
        q.push(" AND (c.reported_at, c.id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id.0)
            .push(")");
    }
}

/// The COPY rows of drafts for the `incoming` staging table.
fn incoming_rows(items: &[(ComplaintDraft, Linking)]) -> CopyRows {
    let mut rows = CopyRows::with_capacity(items.len() * 256);
    for (ord, (draft, linking)) in items.iter().enumerate() {
        let flags = serde_json::Value::from(linking.flags.clone()).to_string();
        let number = |v: Option<f64>| v.map(|v| v.to_string());
        rows.number(ord)
            .text(Some(draft.case_number.as_str()))
            .text(Some(draft.channel.as_str()))
            .text(Some(draft.case_type.as_str()))
            .text(Some(draft.category.as_str()))
            .text(Some(&draft.description))
            .text(draft.address.as_deref())
            .text(draft.district.map(District::as_str))
            .text(number(draft.location.map(|l| l.0)).as_deref())
            .text(number(draft.location.map(|l| l.1)).as_deref())
            .text(number(draft.raw_location.map(|l| l.0)).as_deref())
            .text(number(draft.raw_location.map(|l| l.1)).as_deref())
            .text(Some(draft.located_by.as_str()))
            .text(Some(draft.coord_sys.as_str()))
            .text(Some(&utc_text(draft.reported_at)))
            .text(Some(draft.initial_status().as_str()))
            .text(draft.caller.name.as_deref())
            .text(draft.caller.phone.as_deref())
            .text(draft.caller_phone_hash.as_deref())
            .text(Some(&flags))
            .text(draft.street.as_deref())
            .text(draft.community.as_deref())
            .end_row();
    }
    rows
}

/// Batches smaller than this (online intake's group commits) go in by
/// one INSERT from array parameters; larger ones (bulk import) by COPY
/// into a staging table, whose creation costs more than a few rows.
const SMALL_BATCH_ROWS: usize = 64;

/// The INSERT of new complaints from `incoming`: a relation of the
/// drafts' columns and their order `ord` ($1 is the time of intake).
macro_rules! insert_new_from {
    ($incoming:literal) => {
        concat!(
            "INSERT INTO complaints (case_number, channel, case_type, category, description, address, \
             district, location, raw_lon, raw_lat, located_by, coord_sys, reported_at, status, caller_name, \
             caller_phone, caller_phone_hash, flags, created_at, updated_at, closed_at, street, community) \
             SELECT case_number, channel, case_type, category, description, address, district, \
             CASE WHEN lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END, raw_lon, raw_lat, \
             located_by, coord_sys, reported_at, status, caller_name, caller_phone, caller_phone_hash, \
             flags::jsonb, $1, $1, CASE WHEN status IN ('closed', 'rejected') THEN $1 END, street, community FROM ",
            $incoming,
            " ORDER BY ord ON CONFLICT (case_number) DO NOTHING RETURNING id, case_number"
        )
    };
}

/// From the staging table COPY filled.
const INSERT_FROM_STAGING: &str = insert_new_from!("incoming");

/// From array parameters $2…$22, one per column.
const INSERT_FROM_ARRAYS: &str = insert_new_from!(
    "unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
     $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::text[], $14::text[], \
     $15::timestamptz[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], \
     $21::text[], $22::text[]) \
     WITH ORDINALITY AS incoming(case_number, channel, case_type, category, description, address, \
     district, lon, lat, raw_lon, raw_lat, located_by, coord_sys, reported_at, status, caller_name, \
     caller_phone, caller_phone_hash, flags, street, community, ord)"
);

/// Stores a large batch: COPY into a staging table, then one INSERT …
/// ON CONFLICT DO NOTHING from it. The ids and case numbers stored.
async fn insert_by_copy(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    items: &[(ComplaintDraft, Linking)],
    at: OffsetDateTime,
) -> Result<Vec<(i64, String)>, StoreError> {
    sqlx::query(
            "CREATE TEMP TABLE incoming (ord int8, case_number text, channel text, case_type text, \
             category text, description text, address text, district text, lon float8, lat float8, \
             raw_lon float8, raw_lat float8, located_by text, coord_sys text, reported_at timestamptz, \
             status text, caller_name text, caller_phone text, caller_phone_hash text, flags text, \
             street text, community text) ON COMMIT DROP",
        )
        .execute(&mut **tx)
        .await?;
    incoming_rows(items)
        .send(tx, "COPY incoming FROM STDIN")
        .await?;
    Ok(sqlx::query_as(INSERT_FROM_STAGING)
        .bind(at)
        .fetch_all(&mut **tx)
        .await?)
}

/// Stores a small batch: the same INSERT, from array parameters.
async fn insert_small(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    items: &[(ComplaintDraft, Linking)],
    at: OffsetDateTime,
) -> Result<Vec<(i64, String)>, StoreError> {
    let text = |f: fn(&ComplaintDraft) -> Option<&str>| -> Vec<Option<&str>> {
        items.iter().map(|(d, _)| f(d)).collect()
    };
    let number = |f: fn(&ComplaintDraft) -> Option<f64>| -> Vec<Option<f64>> {
        items.iter().map(|(d, _)| f(d)).collect()
    };
    let reported: Vec<OffsetDateTime> = items
        .iter()
        .map(|(d, _)| to_millis(d.reported_at))
        .collect();
    let flags: Vec<String> = items
        .iter()
        .map(|(_, l)| serde_json::Value::from(l.flags.clone()).to_string())
        .collect();
    Ok(sqlx::query_as(INSERT_FROM_ARRAYS)
        .bind(at)
        .bind(text(|d| Some(d.case_number.as_str())))
        .bind(text(|d| Some(d.channel.as_str())))
        .bind(text(|d| Some(d.case_type.as_str())))
        .bind(text(|d| Some(d.category.as_str())))
        .bind(text(|d| Some(d.description.as_str())))
        .bind(text(|d| d.address.as_deref()))
        .bind(text(|d| d.district.map(District::as_str)))
        .bind(number(|d| d.location.map(|l| l.0)))
        .bind(number(|d| d.location.map(|l| l.1)))
        .bind(number(|d| d.raw_location.map(|l| l.0)))
        .bind(number(|d| d.raw_location.map(|l| l.1)))
        .bind(text(|d| Some(d.located_by.as_str())))
        .bind(text(|d| Some(d.coord_sys.as_str())))
        .bind(reported)
        .bind(text(|d| Some(d.initial_status().as_str())))
        .bind(text(|d| d.caller.name.as_deref()))
        .bind(text(|d| d.caller.phone.as_deref()))
        .bind(text(|d| d.caller_phone_hash.as_deref()))
        .bind(flags)
        .bind(text(|d| d.street.as_deref()))
        .bind(text(|d| d.community.as_deref()))
        .fetch_all(&mut **tx)
        .await?)
}

#[async_trait]
impl ComplaintStore for PgStore {
    /// COPY into a staging table, then one INSERT … ON CONFLICT DO NOTHING
    /// from it: new case numbers are stored, known ones (also those
    /// another instance stores at the same moment) are left alone.
    #[tracing::instrument(skip_all, fields(count = items.len()))]
    async fn insert_complaints(
        &self,
        items: &[(ComplaintDraft, Linking)],
    ) -> Result<Vec<(Complaint, bool)>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        let at = now();
        let mut tx = self.pool.begin().await?;
        let stored = if items.len() < SMALL_BATCH_ROWS {
            insert_small(&mut tx, items, at).await?
        } else {
            insert_by_copy(&mut tx, items, at).await?
        };
        let stored: HashMap<String, i64> = stored.into_iter().map(|(id, c)| (c, id)).collect();
        let mut created: HashMap<&str, i64> = HashMap::with_capacity(stored.len());
        for (draft, _) in items {
            let case = draft.case_number.as_str();
            if let Some(id) = stored.get(case) {
                created.insert(case, *id);
            }
        }
        let rows_done = started.elapsed();
        // Links of the complaints created now, by their first row; a link
        // found twice is stored once (the last, as the SQLite store's
        // INSERT OR REPLACE keeps).
        let mut links: HashMap<(i64, i64, &str), f64> = HashMap::new();
        let mut first_rows: HashSet<&str> = HashSet::with_capacity(created.len());
        for (draft, linking) in items {
            let case = draft.case_number.as_str();
            let Some(&id) = created.get(case) else {
                continue;
            };
            if !first_rows.insert(case) {
                continue;
            }
            for link in &linking.links {
                links.insert((id, link.asset_id, link.rule.as_str()), link.distance_m);
            }
        }
        if !links.is_empty() && items.len() < SMALL_BATCH_ROWS {
            let rows: Vec<(&(i64, i64, &str), &f64)> = links.iter().collect();
            sqlx::query(
                "INSERT INTO complaint_links (complaint_id, asset_id, rule, distance_m) \
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::float8[])",
            )
            .bind(rows.iter().map(|((c, _, _), _)| *c).collect::<Vec<i64>>())
            .bind(rows.iter().map(|((_, a, _), _)| *a).collect::<Vec<i64>>())
            .bind(rows.iter().map(|((_, _, r), _)| *r).collect::<Vec<&str>>())
            .bind(rows.iter().map(|(_, d)| **d).collect::<Vec<f64>>())
            .execute(&mut *tx)
            .await?;
        } else if !links.is_empty() {
            let mut rows = CopyRows::with_capacity(links.len() * 40);
            for ((id, asset, rule), distance) in &links {
                rows.number(id)
                    .number(asset)
                    .text(Some(rule))
                    .number(distance)
                    .end_row();
            }
            rows.send(
                &mut tx,
                "COPY complaint_links (complaint_id, asset_id, rule, distance_m) FROM STDIN",
            )
            .await?;
        }
        let links_done = started.elapsed();
        let known: Vec<&str> = items
            .iter()
            .map(|(d, _)| d.case_number.as_str())
            .filter(|c| !created.contains_key(c))
            .collect();
        let mut existing: HashMap<String, Complaint> = HashMap::with_capacity(known.len());
        if !known.is_empty() {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM complaints c WHERE c.case_number = ANY($1)"
            ))
            .bind(&known)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let complaint = complaint_from_row::<Postgres>(&row)?;
                existing.insert(complaint.draft.case_number.as_str().to_string(), complaint);
            }
        }
        tx.commit().await?;
        tracing::debug!(
            rows = items.len(),
            rows_ms = rows_done.as_millis() as u64,
            links_ms = (links_done - rows_done).as_millis() as u64,
            commit_ms = (started.elapsed() - links_done).as_millis() as u64,
            "complaints stored"
        );
        intake_answers(items, &created, &existing, at)
    }

    #[tracing::instrument(skip(self))]
    async fn get_complaint(&self, id: ComplaintId) -> Result<Option<Complaint>, StoreError> {
        complaint_sql::get(&self.pool, id).await
    }

    #[tracing::instrument(skip_all)]
    async fn count_complaints(&self, filter: &ComplaintFilter) -> Result<u64, StoreError> {
        complaint_sql::count(&self.pool, filter).await
    }

    #[tracing::instrument(skip_all)]
    async fn complaints_page(
        &self,
        filter: &ComplaintFilter,
    ) -> Result<Vec<Complaint>, StoreError> {
        complaint_sql::page(&self.pool, filter).await
    }

    #[tracing::instrument(skip(self))]
    async fn complaints_after(
        &self,
        after: ComplaintId,
        limit: u32,
    ) -> Result<Vec<Complaint>, StoreError> {
        complaint_sql::after(&self.pool, after, limit).await
    }

    #[tracing::instrument(skip(self))]
    async fn complaint_extent(
        &self,
        after: ComplaintId,
    ) -> Result<Option<(ComplaintExtent, ComplaintId)>, StoreError> {
        type ExtentRow = (
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<OffsetDateTime>,
            Option<OffsetDateTime>,
            Option<i64>,
        );
        let row: ExtentRow = sqlx::query_as(&format!(
            "SELECT min(ST_X(location)), min(ST_Y(location)), max(ST_X(location)), max(ST_Y(location)), \
             min(reported_at), max(reported_at), \
             max(id) FILTER (WHERE created_at < now() - interval '{SETTLED_AFTER}') \
             FROM complaints WHERE id > $1"
        ))
        .bind(after.0)
        .fetch_one(&self.pool)
        .await?;
        let (
            Some(min_lon),
            Some(min_lat),
            Some(max_lon),
            Some(max_lat),
            Some(first_reported),
            Some(last_reported),
            settled,
        ) = row
        else {
            return Ok(None);
        };
        let extent = ComplaintExtent {
            bbox: rounded_box(min_lon, min_lat, max_lon, max_lat),
            first_reported,
            last_reported,
        };
        // Only ids below which nothing can still commit move the mark on;
        // the newer ones are looked at again next time.
        Ok(Some((extent, ComplaintId(settled.unwrap_or(after.0)))))
    }

    #[tracing::instrument(skip_all)]
    async fn complaint_stats(
        &self,
        filter: &ComplaintFilter,
    ) -> Result<ComplaintStats, StoreError> {
        complaint_sql::stats(&self.pool, filter).await
    }

    #[tracing::instrument(skip(self))]
    async fn history(&self, id: ComplaintId) -> Result<Vec<StatusChange>, StoreError> {
        complaint_sql::history(&self.pool, id).await
    }

    #[tracing::instrument(skip(self, transition))]
    async fn transition(
        &self,
        id: ComplaintId,
        transition: &Transition,
    ) -> Result<Complaint, StoreError> {
        complaint_sql::transition(&self.pool, id, transition).await
    }

    #[tracing::instrument(skip(self))]
    async fn set_duplicate_of(
        &self,
        id: ComplaintId,
        duplicate_of: Option<ComplaintId>,
    ) -> Result<Complaint, StoreError> {
        complaint_sql::set_duplicate_of(&self.pool, id, duplicate_of).await
    }

    #[tracing::instrument(skip(self))]
    async fn links(&self, id: ComplaintId) -> Result<Vec<ComplaintLink>, StoreError> {
        complaint_sql::links(&self.pool, id).await
    }

    #[tracing::instrument(skip(self, step), fields(action = step.action))]
    async fn apply_step(&self, id: ComplaintId, step: &Step) -> Result<Complaint, StoreError> {
        complaint_sql::apply_step(&self.pool, id, step).await
    }

    #[tracing::instrument(skip_all)]
    async fn callback_rates(
        &self,
        filter: &RatesFilter,
        weights: &[(String, f64)],
    ) -> Result<CallbackRates, StoreError> {
        complaint_sql::callback_rates(&self.pool, filter, weights).await
    }

    #[tracing::instrument(skip(self))]
    async fn erase_personal_data(
        &self,
        closed_before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        complaint_sql::erase_personal_data(&self.pool, closed_before, limit).await
    }

    #[tracing::instrument(skip(self))]
    async fn callbacks_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<super::CallbackRow>, StoreError> {
        complaint_sql::callbacks_after(&self.pool, after, limit).await
    }

    #[tracing::instrument(skip_all, fields(count = rows.len()))]
    async fn restore_callbacks(&self, rows: &[super::CallbackRow]) -> Result<(), StoreError> {
        complaint_sql::restore_callbacks(&self.pool, rows).await
    }

    #[tracing::instrument(skip(self, fresh))]
    async fn service_key(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        complaint_sql::service_key(&self.pool, name, fresh).await
    }

    #[tracing::instrument(skip(self))]
    async fn unhashed_phones(&self, limit: u32) -> Result<Vec<(i64, String)>, StoreError> {
        complaint_sql::unhashed_phones(&self.pool, limit).await
    }

    #[tracing::instrument(skip_all, fields(count = hashes.len()))]
    async fn set_caller_hashes(&self, hashes: &[(i64, String)]) -> Result<(), StoreError> {
        complaint_sql::set_caller_hashes(&self.pool, hashes).await
    }

    #[tracing::instrument(skip_all, fields(count = updates.len()))]
    async fn replace_links(&self, updates: &[(ComplaintId, Linking)]) -> Result<(), StoreError> {
        if updates.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = updates.iter().map(|(id, _)| id.0).collect();
        // Each link once (the last found), as the SQLite store keeps.
        let mut unique: std::collections::BTreeMap<(i64, i64, &str), f64> = Default::default();
        let mut flags = Vec::with_capacity(updates.len());
        for (id, linking) in updates {
            for link in &linking.links {
                unique.insert((id.0, link.asset_id, link.rule.as_str()), link.distance_m);
            }
            flags.push(serde_json::Value::from(linking.flags.clone()).to_string());
        }
        let mut link_complaints = Vec::with_capacity(unique.len());
        let mut link_assets = Vec::with_capacity(unique.len());
        let mut link_rules = Vec::with_capacity(unique.len());
        let mut link_distances = Vec::with_capacity(unique.len());
        for ((complaint, asset, rule), distance) in unique {
            link_complaints.push(complaint);
            link_assets.push(asset);
            link_rules.push(rule);
            link_distances.push(distance);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM complaint_links WHERE complaint_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO complaint_links (complaint_id, asset_id, rule, distance_m) \
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::float8[])",
        )
        .bind(&link_complaints)
        .bind(&link_assets)
        .bind(&link_rules)
        .bind(&link_distances)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE complaints c SET flags = u.flags::jsonb FROM unnest($1::int8[], $2::text[]) AS u(id, flags) WHERE c.id = u.id",
        )
        .bind(&ids)
        .bind(&flags)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn complaints_in(
        &self,
        bbox: LonLatBox,
        categories: &[Category],
    ) -> Result<Vec<(ComplaintId, Category, (f64, f64))>, StoreError> {
        let filter = ComplaintFilter {
            bbox: Some(bbox),
            categories: categories.to_vec(),
            ..ComplaintFilter::default()
        };
        complaint_sql::located(&self.pool, &filter).await
    }

    #[tracing::instrument(skip(self))]
    async fn open_in(
        &self,
        category: Category,
        bbox: LonLatBox,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(ComplaintId, (f64, f64), OffsetDateTime)>, StoreError> {
        let filter = open_filter(category, bbox, since, until);
        complaint_sql::newest(&self.pool, &filter, limit).await
    }
}
