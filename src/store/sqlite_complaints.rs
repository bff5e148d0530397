//! [`ComplaintStore`] on SQLite. Locations are also kept as
//! Z-order cell keys (`spatial::cell_key`) in a B-tree for spatial filters.

use super::StoreError;
use super::complaint_sql::{self, Dialect, complaint_from_row, dialect_common};
use super::complaints::{
    ComplaintStore, RatesFilter, Step, Transition, intake_answers, open_filter, rounded_box,
};
use super::now;
use super::sqlite::{SqliteStore, parse_timestamp, timestamp};
use crate::domain::{
    CallbackRates, Category, Complaint, ComplaintDraft, ComplaintId, District, StatusChange,
};
use crate::domain::{ComplaintExtent, ComplaintFilter, ComplaintLink, ComplaintStats, Linking};
use crate::spatial::{LonLatBox, cell_key, cell_ranges};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Pool, Transaction};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Each connection's page cache: 64 MiB (negative: in KiB).
pub(super) const CACHE_SIZE: &str = "-65536";

/// Rows per multi-row INSERT of complaints (25 parameters a row; SQLite
/// takes at most 32,766).
const COMPLAINT_CHUNK_ROWS: usize = 1_000;
/// Batches at least this large are bulk imports.
const BULK_BATCH_ROWS: usize = 10_000;
/// Case numbers per look-up of the known ones.
const KNOWN_CHUNK_ROWS: usize = 10_000;

/// Rows per multi-row INSERT of links (4 parameters a row).
const LINK_CHUNK_ROWS: usize = 5_000;

const COLUMNS: &str = "c.id, c.case_number, c.channel, c.case_type, c.category, c.description, c.address, \
    c.district, c.street, c.community, c.lon, c.lat, c.raw_lon, c.raw_lat, c.located_by, c.coord_sys, c.reported_at, c.status, \
    c.resolution, c.satisfaction, c.caller_name, c.caller_phone, c.caller_phone_hash, c.duplicate_of, c.flags, \
    c.created_at, c.updated_at, c.unit, c.urgency, c.dispatched_at, c.response_due, c.resolution_due, \
    c.accepted_at, c.closed_at, c.not_assessable_reason, c.not_assessable_by, c.personal_data_erased_at";

fn utc(t: OffsetDateTime) -> String {
    timestamp(t)
}

/// SQLite's way with complaints: plain `lon`/`lat` columns with Z-order
/// cell keys for boxes, times as RFC 3339 text.
impl Dialect for Sqlite {
    const COMPLAINT_COLUMNS: &'static str = COLUMNS;
    const LOCK_ROWS: &'static str = "";
    const WORK_ORDER_WRITE_LOCK: &'static str = "";
    const LON_LAT: &'static str = "c.lon, c.lat";
    const DETAIL_TEXT: &'static str = "detail";
    const DETAIL_CAST: &'static str = "";

    dialect_common!(SqliteRow);

    fn push_time(q: &mut QueryBuilder<'_, Self>, value: OffsetDateTime) {
        q.push_bind(timestamp(value));
    }

    fn push_opt_time(q: &mut QueryBuilder<'_, Self>, value: Option<OffsetDateTime>) {
        q.push_bind(value.map(timestamp));
    }

    fn push_set_location(q: &mut QueryBuilder<'_, Self>, (lon, lat): (f64, f64)) {
        q.push("lon = ")
            .push_bind(lon)
            .push(", lat = ")
            .push_bind(lat)
            .push(", raw_lon = ")
            .push_bind(lon)
            .push(", raw_lat = ")
            .push_bind(lat)
            .push(", coord_sys = 'wgs84', cell = ")
            .push_bind(cell_key(lon, lat));
    }

    fn opt_time(row: &SqliteRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        row.try_get::<Option<&str>, _>(column)?
            .map(parse_timestamp)
            .transpose()
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, StoreError> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn time(row: &SqliteRow, column: &str) -> Result<OffsetDateTime, StoreError> {
        parse_timestamp(row.try_get::<&str, _>(column)?)
    }
}

/// Appends the WHERE clause of a filter (the table is aliased `c`).
fn push_filter<'a>(q: &mut QueryBuilder<'a, Sqlite>, f: &'a ComplaintFilter) {
    q.push(" WHERE 1 = 1");
    // With a box, the cell index picks the rows: the unary `+` keeps
    // SQLite from driving the query by a column index instead (a category
    // index can match millions of rows where the box holds a handful).
    let col = if f.bbox.is_some() {
        " AND +c."
    } else {
        " AND c."
    };
    if let Some(b) = f.bbox {
        // The box's cell key ranges, joined to the cell index in a
        // subquery: a plan SQLite keeps however many ranges there are (an
        // OR of ranges tempted it into scanning a time index instead).
        q.push(" AND c.id IN (SELECT x.id FROM (");
        q.push_values(cell_ranges(b), |mut row, (low, high)| {
            row.push_bind(low).push_bind(high);
        });
        q.push(") AS r JOIN complaints x ON x.cell BETWEEN r.column1 AND r.column2)")
            .push(" AND +c.lon BETWEEN ")
            .push_bind(b.min_lon)
            .push(" AND ")
            .push_bind(b.max_lon)
            .push(" AND +c.lat BETWEEN ")
            .push_bind(b.min_lat)
            .push(" AND ")
            .push_bind(b.max_lat);
    }
    if !f.categories.is_empty() {
        q.push(col).push("category IN (");
        let mut list = q.separated(", ");
        for c in &f.categories {
            list.push_bind(c.as_str());
        }
        q.push(")");
    }
    if !f.statuses.is_empty() {
        q.push(col).push("status IN (");
        let mut list = q.separated(", ");
        for s in &f.statuses {
            list.push_bind(s.as_str());
        }
        q.push(")");
    }
    if let Some(from) = f.reported_from {
        q.push(col).push("reported_at >= ").push_bind(utc(from));
    }
    if let Some(to) = f.reported_to {
        q.push(col).push("reported_at <= ").push_bind(utc(to));
    }
    if let Some(d) = f.district {
        q.push(col).push("district = ").push_bind(d.as_str());
    }
    if let Some(street) = &f.street {
        q.push(col).push("street = ").push_bind(street.as_str());
    }
    if let Some(community) = &f.community {
        q.push(col)
            .push("community = ")
            .push_bind(community.as_str());
    }
    if let Some(case) = &f.case_number {
        q.push(" AND c.case_number = ").push_bind(case.as_str());
    }
    if f.exclude_duplicates {
        q.push(" AND c.duplicate_of IS NULL");
    }
    if !f.case_types.is_empty() {
        q.push(col).push("case_type IN (");
        let mut list = q.separated(", ");
        for t in &f.case_types {
            list.push_bind(t.as_str());
        }
        q.push(")");
    }
    if !f.channels.is_empty() {
        q.push(col).push("channel IN (");
        let mut list = q.separated(", ");
        for c in &f.channels {
            list.push_bind(c.as_str());
        }
        q.push(")");
    }
    if let Some(unit) = &f.unit {
        q.push(col).push("unit = ").push_bind(unit.as_str());
    }
    match f.located {
        Some(true) => {
            q.push(" AND c.lon IS NOT NULL");
        }
        Some(false) => {
            q.push(" AND c.lon IS NULL");
        }
        None => {}
    }
    if let Some(at) = f.overdue_at {
        q.push(" AND c.status IN ('dispatched', 'in_progress') AND (c.resolution_due < ")
            .push_bind(utc(at))
            .push(" OR (c.status = 'dispatched' AND c.response_due < ")
            .push_bind(utc(at))
            .push("))");
    }
    if let Some(hash) = &f.caller_phone_hash {
        q.push(" AND c.caller_phone_hash = ")
            .push_bind(hash.as_str());
    }
    if !f.ids.is_empty() {
        q.push(" AND c.id IN (");
        let mut list = q.separated(", ");
        for id in &f.ids {
            list.push_bind(id.0);
        }
        q.push(")");
    }
    if let Some((at, id)) = f.before {
        // Column prefix as above: with a box, the cell index drives.
        let c = if f.bbox.is_some() { "+c." } else { "c." };
        q.push(format!(" AND ({c}reported_at < "))
            .push_bind(utc(at))
            .push(format!(" OR ({c}reported_at = "))
            .push_bind(utc(at))
            .push(" AND c.id < ")
            .push_bind(id.0)
            .push("))");
    }
}

async fn write_links(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    id: ComplaintId,
    linking: &Linking,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM complaint_links WHERE complaint_id = ?")
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    for link in &linking.links {
        sqlx::query("INSERT OR REPLACE INTO complaint_links (complaint_id, asset_id, rule, distance_m) VALUES (?, ?, ?, ?)")
            .bind(id.0)
            .bind(link.asset_id)
            .bind(&link.rule)
            .bind(link.distance_m)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE complaints SET flags = ? WHERE id = ?")
        .bind(serde_json::Value::from(linking.flags.clone()).to_string())
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The multi-row INSERT of a chunk of new complaints, returning the ids
/// of those whose case numbers were new.
fn complaint_insert<'a>(
    chunk: &[&'a (ComplaintDraft, Linking)],
    at_text: &str,
) -> QueryBuilder<'a, Sqlite> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO complaints (case_number, channel, case_type, category, description, address, district, lon, lat, \
             raw_lon, raw_lat, located_by, coord_sys, reported_at, status, caller_name, caller_phone, caller_phone_hash, \
             flags, created_at, updated_at, closed_at, cell, street, community) ",
    );
    // In arrival order: the other indexes then take appends.
    insert.push_values(chunk, |mut row, (draft, linking)| {
        let status = draft.initial_status();
        row.push_bind(draft.case_number.as_str())
            .push_bind(draft.channel.as_str())
            .push_bind(draft.case_type.as_str())
            .push_bind(draft.category.as_str())
            .push_bind(draft.description.as_str())
            .push_bind(draft.address.as_deref())
            .push_bind(draft.district.map(District::as_str))
            .push_bind(draft.location.map(|l| l.0))
            .push_bind(draft.location.map(|l| l.1))
            .push_bind(draft.raw_location.map(|l| l.0))
            .push_bind(draft.raw_location.map(|l| l.1))
            .push_bind(draft.located_by.as_str())
            .push_bind(draft.coord_sys.as_str())
            .push_bind(utc(draft.reported_at))
            .push_bind(status.as_str())
            .push_bind(draft.caller.name.as_deref())
            .push_bind(draft.caller.phone.as_deref())
            .push_bind(draft.caller_phone_hash.as_deref())
            .push_bind(serde_json::Value::from(linking.flags.clone()).to_string())
            .push_bind(at_text.to_string())
            .push_bind(at_text.to_string())
            .push_bind((!status.is_open()).then(|| at_text.to_string()))
            .push_bind(draft.location.map(|(lon, lat)| cell_key(lon, lat)))
            .push_bind(draft.street.as_deref())
            .push_bind(draft.community.as_deref());
    });
    insert
}

/// The multi-row INSERT of a chunk of links of new complaints.
fn link_insert<'a>(chunk: &'a [(i64, &'a ComplaintLink)]) -> QueryBuilder<'a, Sqlite> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT OR REPLACE INTO complaint_links (complaint_id, asset_id, rule, distance_m) ",
    );
    insert.push_values(chunk, |mut row, (id, link)| {
        row.push_bind(*id)
            .push_bind(link.asset_id)
            .push_bind(link.rule.as_str())
            .push_bind(link.distance_m);
    });
    insert
}

/// Gives the complaints stored before cell keys existed their key, in
/// batches (nothing to do, one indexed look, on a database made since).
pub(super) async fn backfill_cells(pool: &sqlx::SqlitePool) -> Result<(), StoreError> {
    loop {
        let rows: Vec<(i64, f64, f64)> =
            sqlx::query_as("SELECT id, lon, lat FROM complaints WHERE cell IS NULL AND lon IS NOT NULL LIMIT 20000")
                .fetch_all(pool)
                .await?;
        if rows.is_empty() {
            return Ok(());
        }
        tracing::info!(
            complaints = rows.len(),
            "giving stored complaints their cell keys"
        );
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in rows.chunks(5_000) {
            let mut q = QueryBuilder::<Sqlite>::new("WITH v(id, cell) AS (");
            q.push_values(chunk, |mut row, (id, lon, lat)| {
                row.push_bind(*id).push_bind(cell_key(*lon, *lat));
            });
            q.push(") UPDATE complaints SET cell = (SELECT v.cell FROM v WHERE v.id = complaints.id) WHERE id IN (SELECT id FROM v)");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
}

#[async_trait]
impl ComplaintStore for SqliteStore {
    /// Multi-row statements throughout: at bulk-import rates, one
    /// statement per row costs more than all the rest of the work.
    #[tracing::instrument(skip_all, fields(count = items.len()))]
    async fn insert_complaints(
        &self,
        items: &[(ComplaintDraft, Linking)],
    ) -> Result<Vec<(Complaint, bool)>, StoreError> {
        let bulk = items.len() >= BULK_BATCH_ROWS;
        let mut connection = self.pool.acquire().await?;
        let mut tx = sqlx::Connection::begin_with(&mut *connection, "BEGIN IMMEDIATE").await?;
        if bulk {
            // A bulk batch touches pages all over the indexes (a hash of
            // the caller's phone is in random order): the connection that
            // takes it keeps 256 MiB of them rather than 64 MiB, for this
            // batch only (set back after the commit).
            sqlx::query("PRAGMA cache_size = -262144")
                .execute(&mut *tx)
                .await?;
        }
        let started = std::time::Instant::now();
        let at = now();
        let at_text = timestamp(at);
        // Case number → id of the complaints created now.
        let mut created: HashMap<&str, i64> = HashMap::with_capacity(items.len());
        // The case numbers already stored (one indexed look each, in
        // order), so that only new cases are inserted, without ON CONFLICT
        // and without RETURNING (which makes SQLite keep every inserted row
        // aside to hand back).
        let mut known: HashMap<String, ()> = HashMap::new();
        for chunk in items.chunks(KNOWN_CHUNK_ROWS) {
            let numbers: Vec<&str> = chunk.iter().map(|(d, _)| d.case_number.as_str()).collect();
            let found: Vec<String> = sqlx::query_scalar(
                "SELECT case_number FROM complaints WHERE case_number IN (SELECT value FROM json_each(?))",
            )
            .bind(serde_json::Value::from(numbers).to_string())
            .fetch_all(&mut *tx)
            .await?;
            known.extend(found.into_iter().map(|c| (c, ())));
        }
        let mut first: HashMap<&str, ()> = HashMap::with_capacity(items.len());
        let fresh_refs: Vec<&(ComplaintDraft, Linking)> = items
            .iter()
            .filter(|(d, _)| {
                let case = d.case_number.as_str();
                !known.contains_key(case) && first.insert(case, ()).is_none()
            })
            .collect();
        // The next statement is bound while SQLite runs this one (on its
        // own thread), so it never waits for the binding. In one write
        // transaction, the rows of a multi-row INSERT get consecutive ids
        // ending at the last inserted rowid (checked below).
        let mut chunks = fresh_refs.chunks(COMPLAINT_CHUNK_ROWS);
        let mut next = chunks.next().map(|c| (c, complaint_insert(c, &at_text)));
        let mut first_id: Option<i64> = None;
        while let Some((chunk, mut insert)) = next.take() {
            let (done, following) = tokio::join!(insert.build().execute(&mut *tx), async {
                chunks.next().map(|c| (c, complaint_insert(c, &at_text)))
            });
            next = following;
            let last = done?.last_insert_rowid();
            let n = chunk.len() as i64;
            first_id.get_or_insert(last - n + 1);
            for (i, (d, _)) in chunk.iter().enumerate() {
                created.insert(d.case_number.as_str(), last - n + 1 + i as i64);
            }
        }
        // The ids worked out above hold if the rows from the first to the
        // last are exactly as many as were inserted: no other writer can
        // be in this transaction, and older rows have smaller ids.
        if let (Some(first_id), Some(last_id)) = (first_id, created.values().max().copied()) {
            let in_range: i64 =
                sqlx::query_scalar("SELECT count(*) FROM complaints WHERE id BETWEEN ? AND ?")
                    .bind(first_id)
                    .bind(last_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let inserted = created.len() as i64;
            if in_range != inserted || last_id - first_id + 1 != inserted {
                return Err(StoreError::Corrupt(format!(
                    "{inserted} complaints inserted, but ids {first_id}..={last_id} hold {in_range}"
                )));
            }
        }
        // A case sent twice in one batch is created once, by its first row.
        let mut first_rows: HashMap<&str, ()> = HashMap::with_capacity(created.len());
        let new_items: Vec<(i64, &ComplaintDraft, &Linking)> = items
            .iter()
            .filter_map(|(d, l)| {
                let case = d.case_number.as_str();
                let id = created.get(case)?;
                first_rows.insert(case, ()).is_none().then_some((*id, d, l))
            })
            .collect();
        let rows_done = started.elapsed();
        let mut links: Vec<(i64, &ComplaintLink)> = new_items
            .iter()
            .flat_map(|(id, _, linking)| linking.links.iter().map(move |l| (*id, l)))
            .collect();
        // By asset: the (asset_id) index then takes them as a sorted run.
        links.sort_unstable_by_key(|(id, link)| (link.asset_id, *id));
        let mut chunks = links.chunks(LINK_CHUNK_ROWS);
        let mut next = chunks.next().map(link_insert);
        while let Some(mut insert) = next.take() {
            let (done, following) = tokio::join!(insert.build().execute(&mut *tx), async {
                chunks.next().map(link_insert)
            });
            done?;
            next = following;
        }
        let links_done = started.elapsed();
        // The complaints that were known already, as stored.
        let known: Vec<&str> = items
            .iter()
            .map(|(d, _)| d.case_number.as_str())
            .filter(|c| !created.contains_key(c))
            .collect();
        let mut existing: HashMap<String, Complaint> = HashMap::with_capacity(known.len());
        for chunk in known.chunks(COMPLAINT_CHUNK_ROWS) {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM complaints c WHERE c.case_number IN (SELECT value FROM json_each(?))"
            ))
            .bind(serde_json::Value::from(chunk.to_vec()).to_string())
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let complaint = complaint_from_row::<Sqlite>(&row)?;
                existing.insert(complaint.draft.case_number.as_str().to_string(), complaint);
            }
        }
        tx.commit().await?;
        if bulk {
            sqlx::query(&format!("PRAGMA cache_size = {}", CACHE_SIZE))
                .execute(&mut *connection)
                .await?;
        }
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
    async fn complaint_extent(
        &self,
        after: ComplaintId,
    ) -> Result<Option<(ComplaintExtent, ComplaintId)>, StoreError> {
        // One pass over the id range (the whole table only the first time).
        let row: (Option<f64>, Option<f64>, Option<f64>, Option<f64>, Option<String>, Option<String>, Option<i64>) =
            sqlx::query_as(
                "SELECT min(lon), min(lat), max(lon), max(lat), min(reported_at), max(reported_at), max(id) \
                 FROM complaints WHERE id > ?",
            )
            .bind(after.0)
            .fetch_one(&self.pool)
            .await?;
        let (
            Some(min_lon),
            Some(min_lat),
            Some(max_lon),
            Some(max_lat),
            Some(first),
            Some(last),
            Some(max_id),
        ) = row
        else {
            return Ok(None);
        };
        let extent = ComplaintExtent {
            bbox: rounded_box(min_lon, min_lat, max_lon, max_lat),
            first_reported: parse_timestamp(&first)?,
            last_reported: parse_timestamp(&last)?,
        };
        Ok(Some((extent, ComplaintId(max_id))))
    }

    #[tracing::instrument(skip(self))]
    async fn complaints_after(
        &self,
        after: ComplaintId,
        limit: u32,
    ) -> Result<Vec<Complaint>, StoreError> {
        complaint_sql::after(&self.pool, after, limit).await
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (id, linking) in updates {
            write_links(&mut tx, *id, linking).await?;
        }
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
