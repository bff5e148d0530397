//! The SQL of complaints, written once for both backends: every read,
//! status changes and duplicate marks.
//!
//! The pattern every entity stored on both backends follows:
//! - what differs between SQLite and PostgreSQL is a [`Dialect`]: the
//!   columns of a row (PostGIS points versus plain `lon`/`lat`), the
//!   `WHERE` clause of a filter (cell keys versus a GiST box), how a time
//!   is stored (RFC 3339 text versus `timestamptz`), and running a query;
//! - everything else (the SQL around a filter, decoding a row into a
//!   domain value, assembling a history) is generic over the dialect and
//!   lives here, once;
//! - `QueryBuilder` writes each backend's placeholders, so the same query
//!   text serves both;
//! - a write that is the same statements on both runs in a transaction the
//!   dialect opens ([`Dialect::begin_write`]: SQLite's `BEGIN IMMEDIATE`
//!   takes the one write lock at once; PostgreSQL locks the rows it reads
//!   with [`Dialect::LOCK_ROWS`]);
//! - bulk writes, where the backends really differ (multi-row `INSERT`s
//!   on SQLite; `COPY` and `unnest` on PostgreSQL), stay in each
//!   backend's file.
//!
//! sqlx can be generic over a database only with a long list of trait
//! bounds on every function; asking the dialect for the few typed
//! operations needed keeps those bounds in two small impls instead.

use super::complaints::{
    Cell, ComplaintRow, EventColumns, RatesFilter, Step, Transition, check_duplicate_mark, corrupt,
    intake_events, status_change,
};
use super::{StoreError, now};
use crate::domain::{
    CallbackRates, Category, Complaint, ComplaintFilter, ComplaintId, ComplaintLink,
    ComplaintStats, StatsGroup, StatusChange,
};
use sqlx::{Database, Pool, QueryBuilder, Transaction};
use std::future::Future;
use time::OffsetDateTime;

/// What one SQL backend does its own way in reading complaints.
pub(super) trait Dialect: Database {
    /// Every column of a complaint, from the table aliased `c`.
    const COMPLAINT_COLUMNS: &'static str;
    /// The location as `lon` and `lat`, from the table aliased `c`.
    const LON_LAT: &'static str;
    /// What a `SELECT` in a write transaction ends with to lock the rows
    /// it reads (nothing where the transaction holds the whole database).
    const LOCK_ROWS: &'static str;
    /// The statement a work-order write runs first, so that such writes
    /// commit in the order they are logged for other instances (nothing
    /// where a write transaction holds the whole database).
    const WORK_ORDER_WRITE_LOCK: &'static str;
    /// An event's `detail` as text.
    const DETAIL_TEXT: &'static str;
    /// How a JSON text parameter is cast to a JSON column (`detail`,
    /// `flags`).
    const DETAIL_CAST: &'static str;

    /// An empty query to build on.
    fn query<'a>(sql: String) -> QueryBuilder<'a, Self>;
    /// Appends the `WHERE` clause of a filter (the table is aliased `c`).
    fn push_filter<'a>(q: &mut QueryBuilder<'a, Self>, f: &'a ComplaintFilter);
    /// Appends a bound integer.
    fn push_int(q: &mut QueryBuilder<'_, Self>, value: i64);
    fn push_opt_int(q: &mut QueryBuilder<'_, Self>, value: Option<i64>);
    fn push_text<'a>(q: &mut QueryBuilder<'a, Self>, value: &'a str);
    fn push_opt_text<'a>(q: &mut QueryBuilder<'a, Self>, value: Option<&'a str>);
    fn push_time(q: &mut QueryBuilder<'_, Self>, value: OffsetDateTime);
    fn push_opt_time(q: &mut QueryBuilder<'_, Self>, value: Option<OffsetDateTime>);
    fn push_bool(q: &mut QueryBuilder<'_, Self>, value: bool);
    fn push_opt_bool(q: &mut QueryBuilder<'_, Self>, value: Option<bool>);
    fn push_bytes(q: &mut QueryBuilder<'_, Self>, value: Vec<u8>);
    fn push_float(q: &mut QueryBuilder<'_, Self>, value: f64);
    fn push_string(q: &mut QueryBuilder<'_, Self>, value: String);
    /// Appends the assignments that set a case's location (WGS 84) and
    /// the raw location with it: `lon = …, lat = …, …` or a PostGIS point.
    fn push_set_location(q: &mut QueryBuilder<'_, Self>, location: (f64, f64));

    /// A transaction for a write that reads first.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, StoreError>> + Send + '_;
    /// Runs a statement in a transaction.
    fn execute_in<'a>(
        tx: &'a mut Transaction<'static, Self>,
        q: QueryBuilder<'a, Self>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a;
    /// Runs a query in a transaction for its rows.
    fn rows_in<'a>(
        tx: &'a mut Transaction<'static, Self>,
        q: QueryBuilder<'a, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send + 'a;
    fn commit(
        tx: Transaction<'static, Self>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Runs a query for its rows.
    fn rows<'a>(
        pool: &'a Pool<Self>,
        q: QueryBuilder<'a, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send + 'a;

    fn int(row: &Self::Row, column: &str) -> Result<i64, StoreError>;
    fn opt_int(row: &Self::Row, column: &str) -> Result<Option<i64>, StoreError>;
    fn float(row: &Self::Row, column: &str) -> Result<f64, StoreError>;
    fn opt_float(row: &Self::Row, column: &str) -> Result<Option<f64>, StoreError>;
    fn boolean(row: &Self::Row, column: &str) -> Result<bool, StoreError>;
    fn text(row: &Self::Row, column: &str) -> Result<String, StoreError>;
    fn opt_text(row: &Self::Row, column: &str) -> Result<Option<String>, StoreError>;
    fn bytes(row: &Self::Row, column: &str) -> Result<Vec<u8>, StoreError>;
    fn time(row: &Self::Row, column: &str) -> Result<OffsetDateTime, StoreError>;
    fn opt_time(row: &Self::Row, column: &str) -> Result<Option<OffsetDateTime>, StoreError>;
}

/// The part of a [`Dialect`] that is the same code on every sqlx backend
/// (binds, running queries, transactions, and the column readers of every
/// type but times), written once for each backend's row type. A macro,
/// because sqlx can be generic here only through a long list of trait
/// bounds on the database; in a concrete impl none are needed. The
/// invoking module supplies `push_filter`.
macro_rules! dialect_common {
    ($row:ty) => {
        fn query<'a>(sql: String) -> QueryBuilder<'a, Self> {
            QueryBuilder::new(sql)
        }

        fn push_filter<'a>(q: &mut QueryBuilder<'a, Self>, f: &'a ComplaintFilter) {
            push_filter(q, f);
        }

        fn push_int(q: &mut QueryBuilder<'_, Self>, value: i64) {
            q.push_bind(value);
        }

        fn push_opt_int(q: &mut QueryBuilder<'_, Self>, value: Option<i64>) {
            q.push_bind(value);
        }

        fn push_text<'a>(q: &mut QueryBuilder<'a, Self>, value: &'a str) {
            q.push_bind(value);
        }

        fn push_opt_text<'a>(q: &mut QueryBuilder<'a, Self>, value: Option<&'a str>) {
            q.push_bind(value);
        }

        fn push_bool(q: &mut QueryBuilder<'_, Self>, value: bool) {
            q.push_bind(value);
        }

        fn push_opt_bool(q: &mut QueryBuilder<'_, Self>, value: Option<bool>) {
            q.push_bind(value);
        }

        fn push_bytes(q: &mut QueryBuilder<'_, Self>, value: Vec<u8>) {
            q.push_bind(value);
        }

        fn push_float(q: &mut QueryBuilder<'_, Self>, value: f64) {
            q.push_bind(value);
        }

        fn push_string(q: &mut QueryBuilder<'_, Self>, value: String) {
            q.push_bind(value);
        }

        async fn execute_in<'a>(
            tx: &'a mut Transaction<'static, Self>,
            mut q: QueryBuilder<'a, Self>,
        ) -> Result<(), StoreError> {
            q.build().execute(&mut **tx).await?;
            Ok(())
        }

        async fn rows_in<'a>(
            tx: &'a mut Transaction<'static, Self>,
            mut q: QueryBuilder<'a, Self>,
        ) -> Result<Vec<$row>, StoreError> {
            Ok(q.build().fetch_all(&mut **tx).await?)
        }

        async fn commit(tx: Transaction<'static, Self>) -> Result<(), StoreError> {
            Ok(tx.commit().await?)
        }

        async fn rows<'a>(
            pool: &'a Pool<Self>,
            mut q: QueryBuilder<'a, Self>,
        ) -> Result<Vec<$row>, StoreError> {
            Ok(q.build().fetch_all(pool).await?)
        }

        fn int(row: &$row, column: &str) -> Result<i64, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn opt_int(row: &$row, column: &str) -> Result<Option<i64>, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn float(row: &$row, column: &str) -> Result<f64, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn opt_float(row: &$row, column: &str) -> Result<Option<f64>, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn bytes(row: &$row, column: &str) -> Result<Vec<u8>, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn boolean(row: &$row, column: &str) -> Result<bool, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn text(row: &$row, column: &str) -> Result<String, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
        fn opt_text(row: &$row, column: &str) -> Result<Option<String>, StoreError> {
            Ok(sqlx::Row::try_get(row, column)?)
        }
    };
}
pub(super) use dialect_common;

/// A complaint from a row of [`Dialect::COMPLAINT_COLUMNS`].
pub(super) fn complaint_from_row<D: Dialect>(row: &D::Row) -> Result<Complaint, StoreError> {
    ComplaintRow {
        id: D::int(row, "id")?,
        case_number: D::text(row, "case_number")?,
        channel: D::text(row, "channel")?,
        category: D::text(row, "category")?,
        description: D::text(row, "description")?,
        address: D::opt_text(row, "address")?,
        district: D::opt_text(row, "district")?,
        street: D::opt_text(row, "street")?,
        community: D::opt_text(row, "community")?,
        case_type: D::text(row, "case_type")?,
        location: D::opt_float(row, "lon")?.zip(D::opt_float(row, "lat")?),
        raw_location: D::opt_float(row, "raw_lon")?.zip(D::opt_float(row, "raw_lat")?),
        located_by: D::text(row, "located_by")?,
        coord_sys: D::text(row, "coord_sys")?,
        reported_at: D::time(row, "reported_at")?,
        status: D::text(row, "status")?,
        resolution: D::opt_text(row, "resolution")?,
        satisfaction: D::opt_int(row, "satisfaction")?,
        caller_name: D::opt_text(row, "caller_name")?,
        caller_phone: D::opt_text(row, "caller_phone")?,
        caller_phone_hash: D::opt_text(row, "caller_phone_hash")?,
        duplicate_of: D::opt_int(row, "duplicate_of")?,
        flags: D::text(row, "flags")?,
        created_at: D::time(row, "created_at")?,
        updated_at: D::time(row, "updated_at")?,
        unit: D::opt_text(row, "unit")?,
        urgency: D::opt_text(row, "urgency")?,
        dispatched_at: D::opt_time(row, "dispatched_at")?,
        response_due: D::opt_time(row, "response_due")?,
        resolution_due: D::opt_time(row, "resolution_due")?,
        accepted_at: D::opt_time(row, "accepted_at")?,
        closed_at: D::opt_time(row, "closed_at")?,
        not_assessable_reason: D::opt_text(row, "not_assessable_reason")?,
        not_assessable_by: D::opt_int(row, "not_assessable_by")?,
        personal_data_erased_at: D::opt_time(row, "personal_data_erased_at")?,
    }
    .into_complaint()
}

async fn complaints<'a, D: Dialect>(
    pool: &'a Pool<D>,
    q: QueryBuilder<'a, D>,
) -> Result<Vec<Complaint>, StoreError> {
    let rows = D::rows(pool, q).await?;
    rows.iter().map(complaint_from_row::<D>).collect()
}

pub(super) async fn get<D: Dialect>(
    pool: &Pool<D>,
    id: ComplaintId,
) -> Result<Option<Complaint>, StoreError> {
    let mut q = D::query(format!(
        "SELECT {} FROM complaints c WHERE c.id = ",
        D::COMPLAINT_COLUMNS
    ));
    D::push_int(&mut q, id.0);
    Ok(complaints(pool, q).await?.pop())
}

pub(super) async fn count<D: Dialect>(
    pool: &Pool<D>,
    filter: &ComplaintFilter,
) -> Result<u64, StoreError> {
    let mut q = D::query("SELECT count(*) AS n FROM complaints c".into());
    D::push_filter(&mut q, filter);
    let rows = D::rows(pool, q).await?;
    let n = rows.first().map(|r| D::int(r, "n")).transpose()?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or_default())
}

/// A page in listing order: newest report first, then highest id.
pub(super) async fn page<D: Dialect>(
    pool: &Pool<D>,
    filter: &ComplaintFilter,
) -> Result<Vec<Complaint>, StoreError> {
    let mut q = D::query(format!("SELECT {} FROM complaints c", D::COMPLAINT_COLUMNS));
    D::push_filter(&mut q, filter);
    q.push(" ORDER BY c.reported_at DESC, c.id DESC LIMIT ");
    D::push_int(&mut q, i64::from(filter.limit));
    q.push(" OFFSET ");
    D::push_int(&mut q, i64::try_from(filter.offset).unwrap_or(i64::MAX));
    complaints(pool, q).await
}

/// Complaints after an id, in id order.
pub(super) async fn after<D: Dialect>(
    pool: &Pool<D>,
    after: ComplaintId,
    limit: u32,
) -> Result<Vec<Complaint>, StoreError> {
    let mut q = D::query(format!(
        "SELECT {} FROM complaints c WHERE c.id > ",
        D::COMPLAINT_COLUMNS
    ));
    D::push_int(&mut q, after.0);
    q.push(" ORDER BY c.id LIMIT ");
    D::push_int(&mut q, i64::from(limit));
    complaints(pool, q).await
}

pub(super) async fn stats<D: Dialect>(
    pool: &Pool<D>,
    filter: &ComplaintFilter,
) -> Result<ComplaintStats, StoreError> {
    let mut q = D::query(
        "SELECT c.category, c.status, c.case_type, c.channel, c.duplicate_of IS NOT NULL AS dup, \
         (c.case_type = 'inquiry' AND c.status = 'closed' AND c.dispatched_at IS NULL) AS answered, \
         count(*) AS n FROM complaints c"
            .into(),
    );
    D::push_filter(&mut q, filter);
    q.push(" GROUP BY 1, 2, 3, 4, 5, 6");
    let mut stats = ComplaintStats::default();
    for row in D::rows(pool, q).await? {
        stats.add(StatsGroup {
            category: D::text(&row, "category")?,
            status: D::text(&row, "status")?,
            case_type: D::text(&row, "case_type")?,
            channel: D::text(&row, "channel")?,
            duplicate: D::boolean(&row, "dup")?,
            answered: D::boolean(&row, "answered")?,
            count: D::int(&row, "n")?,
        });
    }
    Ok(stats)
}

/// Intake, then every stored status change in order.
pub(super) async fn history<D: Dialect>(
    pool: &Pool<D>,
    id: ComplaintId,
) -> Result<Vec<StatusChange>, StoreError> {
    let Some(complaint) = get(pool, id).await? else {
        return Ok(Vec::new());
    };
    let mut q = D::query(format!(
        "SELECT from_status, to_status, action, unit, {} AS detail, note, actor_role, at \
         FROM complaint_events WHERE complaint_id = ",
        D::DETAIL_TEXT
    ));
    D::push_int(&mut q, id.0);
    q.push(" ORDER BY id");
    let mut history = intake_events(&complaint);
    for row in D::rows(pool, q).await? {
        history.push(status_change(EventColumns {
            from: D::opt_text(&row, "from_status")?,
            to: D::text(&row, "to_status")?,
            action: D::opt_text(&row, "action")?,
            unit: D::opt_text(&row, "unit")?,
            detail: D::opt_text(&row, "detail")?,
            note: D::opt_text(&row, "note")?,
            by: D::text(&row, "actor_role")?,
            at: D::time(&row, "at")?,
        })?);
    }
    Ok(history)
}

pub(super) async fn links<D: Dialect>(
    pool: &Pool<D>,
    id: ComplaintId,
) -> Result<Vec<ComplaintLink>, StoreError> {
    let mut q = D::query(
        "SELECT asset_id, rule, distance_m FROM complaint_links WHERE complaint_id = ".into(),
    );
    D::push_int(&mut q, id.0);
    q.push(" ORDER BY rule, distance_m, asset_id");
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            Ok(ComplaintLink {
                asset_id: D::int(row, "asset_id")?,
                rule: D::text(row, "rule")?,
                distance_m: D::float(row, "distance_m")?,
            })
        })
        .collect()
}

/// Id, category and location of the complaints a filter selects.
pub(super) async fn located<D: Dialect>(
    pool: &Pool<D>,
    filter: &ComplaintFilter,
) -> Result<Vec<(ComplaintId, Category, (f64, f64))>, StoreError> {
    let mut q = D::query(format!(
        "SELECT c.id, c.category, {} FROM complaints c",
        D::LON_LAT
    ));
    D::push_filter(&mut q, filter);
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            Ok((
                ComplaintId(D::int(row, "id")?),
                D::text(row, "category")?
                    .parse()
                    .map_err(corrupt("category"))?,
                (D::float(row, "lon")?, D::float(row, "lat")?),
            ))
        })
        .collect()
}

/// Id, location and report time of the `limit` newest complaints a
/// filter selects.
pub(super) async fn newest<D: Dialect>(
    pool: &Pool<D>,
    filter: &ComplaintFilter,
    limit: u32,
) -> Result<Vec<(ComplaintId, (f64, f64), OffsetDateTime)>, StoreError> {
    let mut q = D::query(format!(
        "SELECT c.id, {}, c.reported_at FROM complaints c",
        D::LON_LAT
    ));
    D::push_filter(&mut q, filter);
    q.push(" ORDER BY c.reported_at DESC, c.id DESC LIMIT ");
    D::push_int(&mut q, i64::from(limit));
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            Ok((
                ComplaintId(D::int(row, "id")?),
                (D::float(row, "lon")?, D::float(row, "lat")?),
                D::time(row, "reported_at")?,
            ))
        })
        .collect()
}

/// A complaint read in a write transaction, its row locked.
pub(super) async fn load<D: Dialect>(
    tx: &mut Transaction<'static, D>,
    id: ComplaintId,
) -> Result<Complaint, StoreError> {
    let mut q = D::query(format!(
        "SELECT {} FROM complaints c WHERE c.id = ",
        D::COMPLAINT_COLUMNS
    ));
    D::push_int(&mut q, id.0);
    q.push(D::LOCK_ROWS);
    let rows = D::rows_in(tx, q).await?;
    rows.first()
        .map(complaint_from_row::<D>)
        .ok_or(StoreError::NotFound)?
}

/// Moves a complaint to a new status if it still has the one expected,
/// and records the change in its history.
pub(super) async fn transition<D: Dialect>(
    pool: &Pool<D>,
    id: ComplaintId,
    transition: &Transition,
) -> Result<Complaint, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let current = load(&mut tx, id).await?;
    if current.status != transition.from {
        return Err(StoreError::Conflict(format!(
            "complaint {id} is now {}, not {}",
            current.status, transition.from
        )));
    }
    let at = now();
    let mut update = D::query("UPDATE complaints SET status = ".into());
    D::push_text(&mut update, transition.to.as_str());
    update.push(", resolution = coalesce(");
    D::push_opt_text(&mut update, transition.resolution.as_deref());
    update.push(", resolution), satisfaction = coalesce(");
    D::push_opt_int(
        &mut update,
        transition.satisfaction.map(|s| i64::from(s.score())),
    );
    update.push(", satisfaction), updated_at = ");
    D::push_time(&mut update, at);
    if !transition.to.is_open() && transition.to != crate::domain::ComplaintStatus::Resolved {
        update.push(", closed_at = ");
        D::push_time(&mut update, at);
    }
    update.push(" WHERE id = ");
    D::push_int(&mut update, id.0);
    D::execute_in(&mut tx, update).await?;
    let mut event = D::query(
        "INSERT INTO complaint_events (complaint_id, from_status, to_status, note, actor_token, actor_role, at) VALUES ("
            .into(),
    );
    D::push_int(&mut event, id.0);
    event.push(", ");
    D::push_text(&mut event, transition.from.as_str());
    event.push(", ");
    D::push_text(&mut event, transition.to.as_str());
    event.push(", ");
    D::push_opt_text(&mut event, transition.note.as_deref());
    event.push(", ");
    D::push_opt_int(&mut event, transition.actor_token);
    event.push(", ");
    D::push_text(&mut event, &transition.actor_role);
    event.push(", ");
    D::push_time(&mut event, at);
    event.push(")");
    D::execute_in(&mut tx, event).await?;
    let updated = load(&mut tx, id).await?;
    D::commit(tx).await?;
    Ok(updated)
}

/// Marks a complaint as a duplicate of another (or clears the mark).
/// Both rows are read under the write's lock (in id order, so two marks
/// of the same pair cannot deadlock), so racing marks see each other's
/// result and cannot make a chain or a cycle.
pub(super) async fn set_duplicate_of<D: Dialect>(
    pool: &Pool<D>,
    id: ComplaintId,
    duplicate_of: Option<ComplaintId>,
) -> Result<Complaint, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let mut q = D::query("SELECT id, duplicate_of FROM complaints WHERE id IN (".into());
    D::push_int(&mut q, id.0);
    q.push(", ");
    D::push_int(&mut q, duplicate_of.unwrap_or(id).0);
    q.push(") ORDER BY id");
    q.push(D::LOCK_ROWS);
    let rows = D::rows_in(&mut tx, q)
        .await?
        .iter()
        .map(|row| Ok((D::int(row, "id")?, D::opt_int(row, "duplicate_of")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let pointing = match duplicate_of {
        None => None,
        Some(_) => {
            let mut q = D::query("SELECT id FROM complaints WHERE duplicate_of = ".into());
            D::push_int(&mut q, id.0);
            q.push(" ORDER BY id LIMIT 1");
            let rows = D::rows_in(&mut tx, q).await?;
            rows.first().map(|row| D::int(row, "id")).transpose()?
        }
    };
    check_duplicate_mark(id, duplicate_of, &rows, pointing)?;
    let mut update = D::query("UPDATE complaints SET duplicate_of = ".into());
    D::push_opt_int(&mut update, duplicate_of.map(|d| d.0));
    update.push(", updated_at = ");
    D::push_time(&mut update, now());
    update.push(" WHERE id = ");
    D::push_int(&mut update, id.0);
    D::execute_in(&mut tx, update).await?;
    let updated = load(&mut tx, id).await?;
    D::commit(tx).await?;
    Ok(updated)
}

/// Appends a column assignment.
fn push_cell<'a, D: Dialect>(q: &mut QueryBuilder<'a, D>, column: &str, cell: &'a Cell) {
    q.push(format!(", {column} = "));
    match cell {
        Cell::Text(v) => D::push_opt_text(q, v.as_deref()),
        Cell::Int(v) => D::push_opt_int(q, *v),
        Cell::Time(v) => D::push_opt_time(q, *v),
    }
}

/// Records a step in a case's history.
#[allow(clippy::too_many_arguments)]
async fn record_event<D: Dialect>(
    tx: &mut Transaction<'static, D>,
    id: ComplaintId,
    from: &str,
    to: &str,
    step: &Step,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    let detail = step.detail.as_ref().map(|d| d.to_string());
    let mut event = D::query(
        "INSERT INTO complaint_events (complaint_id, from_status, to_status, action, unit, detail, note, actor_token, actor_role, at) VALUES ("
            .into(),
    );
    D::push_int(&mut event, id.0);
    event.push(", ");
    D::push_text(&mut event, from);
    event.push(", ");
    D::push_text(&mut event, to);
    event.push(", ");
    D::push_text(&mut event, step.action);
    event.push(", ");
    D::push_opt_text(&mut event, step.unit.as_ref().map(|u| u.as_str()));
    event.push(", ");
    D::push_opt_text(&mut event, detail.as_deref());
    event.push(D::DETAIL_CAST);
    event.push(", ");
    D::push_opt_text(&mut event, step.note.as_deref());
    event.push(", ");
    D::push_opt_int(&mut event, step.actor_token);
    event.push(", ");
    D::push_text(&mut event, &step.actor_role);
    event.push(", ");
    D::push_time(&mut event, at);
    event.push(")");
    D::execute_in(tx, event).await
}

/// Applies a step of the loop: the case must still have the status and
/// unit the service saw, under the write's lock, so two operators or a
/// unit and an operator racing cannot both act on one state.
pub(super) async fn apply_step<D: Dialect>(
    pool: &Pool<D>,
    id: ComplaintId,
    step: &Step,
) -> Result<Complaint, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let current = load(&mut tx, id).await?;
    if let Some(expected) = step.expect_status {
        if current.status != expected {
            return Err(StoreError::Conflict(format!(
                "complaint {id} is now {}, not {expected}",
                current.status
            )));
        }
    }
    if let Some(seen) = step.expect_unchanged_since {
        if current.updated_at != seen {
            return Err(StoreError::Conflict(format!(
                "complaint {id} changed since it was read; read it again"
            )));
        }
    }
    if step.expect_assessable && current.not_assessable.is_some() {
        return Err(StoreError::Conflict(format!(
            "complaint {id} is already marked not assessable"
        )));
    }
    if let Some(unit) = &step.expect_unit {
        let with = current.handling.as_ref().map(|h| &h.unit);
        if with != Some(unit) {
            return Err(StoreError::Conflict(format!(
                "complaint {id} is no longer with unit {unit}"
            )));
        }
    }
    let at = now();
    let to = step.to.unwrap_or(current.status);
    let mut update = D::query("UPDATE complaints SET status = ".into());
    D::push_text(&mut update, to.as_str());
    update.push(", updated_at = ");
    D::push_time(&mut update, at);
    for (column, cell) in &step.set {
        push_cell(&mut update, column, cell);
    }
    if let Some((location, linking)) = &step.location {
        update.push(", ");
        D::push_set_location(&mut update, *location);
        update.push(", street = ");
        D::push_opt_text(&mut update, step.area.street.as_deref());
        update.push(", community = ");
        D::push_opt_text(&mut update, step.area.community.as_deref());
        update.push(", located_by = 'operator', flags = ");
        D::push_string(
            &mut update,
            serde_json::Value::from(linking.flags.clone()).to_string(),
        );
        update.push(D::DETAIL_CAST);
    }
    update.push(" WHERE id = ");
    D::push_int(&mut update, id.0);
    D::execute_in(&mut tx, update).await?;
    if let Some((_, linking)) = &step.location {
        let mut delete = D::query("DELETE FROM complaint_links WHERE complaint_id = ".into());
        D::push_int(&mut delete, id.0);
        D::execute_in(&mut tx, delete).await?;
        // In chunks: a rule that takes every asset within its radius has
        // no count limit, and a statement has one on bound values.
        for chunk in linking.links.chunks(1_000) {
            let mut insert = D::query(
                "INSERT INTO complaint_links (complaint_id, asset_id, rule, distance_m) VALUES "
                    .into(),
            );
            for (i, link) in chunk.iter().enumerate() {
                insert.push(if i == 0 { "(" } else { ", (" });
                D::push_int(&mut insert, id.0);
                insert.push(", ");
                D::push_int(&mut insert, link.asset_id);
                insert.push(", ");
                D::push_text(&mut insert, &link.rule);
                insert.push(", ");
                D::push_float(&mut insert, link.distance_m);
                insert.push(")");
            }
            D::execute_in(&mut tx, insert).await?;
        }
    }
    if let Some(answers) = &step.callback {
        let mut insert = D::query(
            "INSERT INTO complaint_callbacks (complaint_id, unit, reached, attempts, unit_contacted, solved, satisfaction, comment, actor_token, actor_role, at) VALUES ("
                .into(),
        );
        D::push_int(&mut insert, id.0);
        insert.push(", ");
        D::push_opt_text(
            &mut insert,
            current.handling.as_ref().map(|h| h.unit.as_str()),
        );
        insert.push(", ");
        D::push_bool(&mut insert, answers.reached);
        insert.push(", ");
        D::push_int(&mut insert, i64::from(answers.attempts));
        insert.push(", ");
        D::push_opt_bool(&mut insert, answers.unit_contacted);
        insert.push(", ");
        D::push_opt_bool(&mut insert, answers.solved);
        insert.push(", ");
        D::push_opt_text(&mut insert, answers.satisfaction.as_deref());
        insert.push(", ");
        D::push_opt_text(&mut insert, answers.comment.as_deref());
        insert.push(", ");
        D::push_opt_int(&mut insert, step.actor_token);
        insert.push(", ");
        D::push_text(&mut insert, &step.actor_role);
        insert.push(", ");
        D::push_time(&mut insert, at);
        insert.push(")");
        D::execute_in(&mut tx, insert).await?;
    }
    record_event(&mut tx, id, current.status.as_str(), to.as_str(), step, at).await?;
    let updated = load(&mut tx, id).await?;
    D::commit(tx).await?;
    Ok(updated)
}

/// The rates over the latest valid call-back of each case, cases marked
/// not assessable left out (and counted).
pub(super) async fn callback_rates<D: Dialect>(
    pool: &Pool<D>,
    filter: &RatesFilter,
    weights: &[(String, f64)],
) -> Result<CallbackRates, StoreError> {
    let push_where = |q: &mut QueryBuilder<'_, D>| {
        if let Some(from) = filter.from {
            q.push(" AND b.at >= ");
            D::push_time(q, from);
        }
        if let Some(to) = filter.to {
            q.push(" AND b.at <= ");
            D::push_time(q, to);
        }
        if let Some(d) = filter.district {
            q.push(" AND c.district = ");
            D::push_string(q, d.as_str().to_string());
        }
        if let Some(unit) = &filter.unit {
            q.push(" AND b.unit = ");
            D::push_string(q, unit.as_str().to_string());
        }
    };
    let mut q = D::query(
        "SELECT b.satisfaction, CAST(CASE WHEN b.unit_contacted THEN 1 ELSE 0 END AS BIGINT) AS contacted, \
         CAST(CASE WHEN b.solved THEN 1 ELSE 0 END AS BIGINT) AS solved, \
         CAST(CASE WHEN c.not_assessable_reason IS NULL THEN 0 ELSE 1 END AS BIGINT) AS excluded, count(*) AS n \
         FROM complaint_callbacks b JOIN complaints c ON c.id = b.complaint_id \
         WHERE b.reached AND b.id = (SELECT max(l.id) FROM complaint_callbacks l \
         WHERE l.complaint_id = b.complaint_id AND l.reached"
            .into(),
    );
    // The latest valid call-back within the window: a later one must not
    // take a case out of a past month's grade.
    if let Some(from) = filter.from {
        q.push(" AND l.at >= ");
        D::push_time(&mut q, from);
    }
    if let Some(to) = filter.to {
        q.push(" AND l.at <= ");
        D::push_time(&mut q, to);
    }
    q.push(")");
    push_where(&mut q);
    q.push(" GROUP BY 1, 2, 3, 4");
    let mut rates = CallbackRates::default();
    let mut weighted = 0.0;
    for row in D::rows(pool, q).await? {
        let n = u64::try_from(D::int(&row, "n")?).unwrap_or_default();
        if D::int(&row, "excluded")? == 1 {
            rates.not_assessable += n;
            continue;
        }
        rates.valid_callbacks += n;
        if D::int(&row, "contacted")? == 1 {
            rates.contacted += n;
        }
        if D::int(&row, "solved")? == 1 {
            rates.solved += n;
        }
        let level = D::opt_text(&row, "satisfaction")?.unwrap_or_default();
        weighted += weights
            .iter()
            .find(|(code, _)| *code == level)
            .map(|(_, w)| *w)
            .unwrap_or(0.0)
            * n as f64;
        *rates.satisfaction.entry(level).or_default() += n;
    }
    let mut q = D::query(
        "SELECT count(*) AS n FROM complaint_callbacks b JOIN complaints c ON c.id = b.complaint_id \
         WHERE NOT b.reached"
            .into(),
    );
    push_where(&mut q);
    let rows = D::rows(pool, q).await?;
    rates.unreached_callbacks = rows
        .first()
        .map(|r| D::int(r, "n"))
        .transpose()?
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or_default();
    if rates.valid_callbacks > 0 {
        let valid = rates.valid_callbacks as f64;
        rates.response_rate = Some(rates.contacted as f64 / valid);
        rates.resolution_rate = Some(rates.solved as f64 / valid);
        rates.satisfaction_rate = Some(weighted / valid);
    }
    Ok(rates)
}

/// Erases the caller data of cases closed before a time, a batch at a
/// time, each erasure recorded in the case's history.
pub(super) async fn erase_personal_data<D: Dialect>(
    pool: &Pool<D>,
    closed_before: OffsetDateTime,
    limit: u32,
) -> Result<u64, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let mut q = D::query(
        "SELECT id FROM complaints WHERE closed_at IS NOT NULL AND personal_data_erased_at IS NULL AND closed_at < "
            .into(),
    );
    D::push_time(&mut q, closed_before);
    q.push(" ORDER BY closed_at LIMIT ");
    D::push_int(&mut q, i64::from(limit));
    q.push(D::LOCK_ROWS);
    let ids: Vec<i64> = D::rows_in(&mut tx, q)
        .await?
        .iter()
        .map(|r| D::int(r, "id"))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    let at = now();
    let push_ids = |q: &mut QueryBuilder<'_, D>, column: &str| {
        q.push(format!(" WHERE {column} IN ("));
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            D::push_int(q, *id);
        }
        q.push(")");
    };
    let mut update = D::query(
        "UPDATE complaints SET caller_name = NULL, caller_phone = NULL, caller_phone_hash = NULL, personal_data_erased_at = "
            .into(),
    );
    D::push_time(&mut update, at);
    push_ids(&mut update, "id");
    D::execute_in(&mut tx, update).await?;
    // What the caller said on call-backs: kept on the call-back and as
    // the note of its step in the history.
    let mut comments = D::query("UPDATE complaint_callbacks SET comment = NULL".into());
    push_ids(&mut comments, "complaint_id");
    D::execute_in(&mut tx, comments).await?;
    let mut notes = D::query("UPDATE complaint_events SET note = NULL".into());
    push_ids(&mut notes, "complaint_id");
    notes.push(" AND action IN ('called_back', 'reopened')");
    D::execute_in(&mut tx, notes).await?;
    let mut events = D::query(
        "INSERT INTO complaint_events (complaint_id, from_status, to_status, action, note, actor_role, at) \
         SELECT id, status, status, 'personal_data_erased', 'caller name, phone and call-back comments erased after the retention period', 'system', "
            .into(),
    );
    D::push_time(&mut events, at);
    events.push(" FROM complaints");
    push_ids(&mut events, "id");
    D::execute_in(&mut tx, events).await?;
    // The personal data the audit trail holds of these cases (the one
    // update its triggers allow).
    let mut audit = D::query(
        "UPDATE audit_log SET personal = NULL WHERE personal IS NOT NULL AND entity = 'complaint' AND entity_id IN ("
            .into(),
    );
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            audit.push(", ");
        }
        D::push_string(&mut audit, id.to_string());
    }
    audit.push(")");
    D::execute_in(&mut tx, audit).await?;
    D::commit(tx).await?;
    Ok(ids.len() as u64)
}

/// The named key, stored the first time from `fresh`.
pub(super) async fn service_key<D: Dialect>(
    pool: &Pool<D>,
    name: &str,
    fresh: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let mut insert = D::query("INSERT INTO service_secrets (name, value) VALUES (".into());
    D::push_text(&mut insert, name);
    insert.push(", ");
    D::push_bytes(&mut insert, fresh.to_vec());
    insert.push(") ON CONFLICT (name) DO NOTHING");
    D::execute_in(&mut tx, insert).await?;
    let mut q = D::query("SELECT value FROM service_secrets WHERE name = ".into());
    D::push_text(&mut q, name);
    let rows = D::rows_in(&mut tx, q).await?;
    let key = rows
        .first()
        .map(|r| D::bytes(r, "value"))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt(format!("service key {name} not stored")))?;
    D::commit(tx).await?;
    Ok(key)
}

/// Cases that keep a caller's phone but no hash of it (stored before
/// hashes were kept), in id order.
pub(super) async fn unhashed_phones<D: Dialect>(
    pool: &Pool<D>,
    limit: u32,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut q = D::query(
        "SELECT id, caller_phone FROM complaints WHERE caller_phone IS NOT NULL AND caller_phone_hash IS NULL ORDER BY id LIMIT "
            .into(),
    );
    D::push_int(&mut q, i64::from(limit));
    D::rows(pool, q)
        .await?
        .iter()
        .map(|r| {
            Ok((
                D::int(r, "id")?,
                D::opt_text(r, "caller_phone")?.unwrap_or_default(),
            ))
        })
        .collect()
}

/// Sets the hashes of callers' phones, in one transaction; a case whose
/// phone was erased meanwhile keeps none.
pub(super) async fn set_caller_hashes<D: Dialect>(
    pool: &Pool<D>,
    hashes: &[(i64, String)],
) -> Result<(), StoreError> {
    let mut tx = D::begin_write(pool).await?;
    for (id, hash) in hashes {
        let mut update = D::query("UPDATE complaints SET caller_phone_hash = ".into());
        D::push_text(&mut update, hash);
        update.push(" WHERE caller_phone IS NOT NULL AND id = ");
        D::push_int(&mut update, *id);
        D::execute_in(&mut tx, update).await?;
    }
    D::commit(tx).await
}

/// Call-backs after an id, in id order.
pub(super) async fn callbacks_after<D: Dialect>(
    pool: &Pool<D>,
    after: i64,
    limit: u32,
) -> Result<Vec<super::CallbackRow>, StoreError> {
    let mut q = D::query(
        "SELECT id, complaint_id, unit, satisfaction, comment, actor_token, actor_role, at, \
         CAST(attempts AS BIGINT) AS attempts, \
         CAST(CASE WHEN reached THEN 1 ELSE 0 END AS BIGINT) AS reached, \
         CAST(CASE WHEN unit_contacted IS NULL THEN NULL WHEN unit_contacted THEN 1 ELSE 0 END AS BIGINT) AS unit_contacted, \
         CAST(CASE WHEN solved IS NULL THEN NULL WHEN solved THEN 1 ELSE 0 END AS BIGINT) AS solved \
         FROM complaint_callbacks WHERE id > "
            .into(),
    );
    D::push_int(&mut q, after);
    q.push(" ORDER BY id LIMIT ");
    D::push_int(&mut q, i64::from(limit));
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            let flag = |column: &str| -> Result<Option<bool>, StoreError> {
                Ok(D::opt_int(row, column)?.map(|v| v != 0))
            };
            Ok(super::CallbackRow {
                id: D::int(row, "id")?,
                complaint_id: D::int(row, "complaint_id")?,
                unit: D::opt_text(row, "unit")?,
                answers: crate::domain::CallbackAnswers {
                    reached: D::int(row, "reached")? != 0,
                    attempts: u8::try_from(D::int(row, "attempts")?)
                        .map_err(|e| corrupt("attempts")(e.to_string()))?,
                    unit_contacted: flag("unit_contacted")?,
                    solved: flag("solved")?,
                    satisfaction: D::opt_text(row, "satisfaction")?,
                    comment: D::opt_text(row, "comment")?,
                },
                actor_token: D::opt_int(row, "actor_token")?,
                actor_role: D::text(row, "actor_role")?,
                at: D::time(row, "at")?,
            })
        })
        .collect()
}

/// Stores call-backs with their ids.
pub(super) async fn restore_callbacks<D: Dialect>(
    pool: &Pool<D>,
    rows: &[super::CallbackRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = D::begin_write(pool).await?;
    for chunk in rows.chunks(1_000) {
        let mut insert = D::query(
            "INSERT INTO complaint_callbacks (id, complaint_id, unit, reached, attempts, unit_contacted, solved, \
             satisfaction, comment, actor_token, actor_role, at) VALUES "
                .into(),
        );
        for (i, r) in chunk.iter().enumerate() {
            let a = &r.answers;
            insert.push(if i == 0 { "(" } else { ", (" });
            D::push_int(&mut insert, r.id);
            insert.push(", ");
            D::push_int(&mut insert, r.complaint_id);
            insert.push(", ");
            D::push_opt_text(&mut insert, r.unit.as_deref());
            insert.push(", ");
            D::push_bool(&mut insert, a.reached);
            insert.push(", ");
            D::push_int(&mut insert, i64::from(a.attempts));
            insert.push(", ");
            D::push_opt_bool(&mut insert, a.unit_contacted);
            insert.push(", ");
            D::push_opt_bool(&mut insert, a.solved);
            insert.push(", ");
            D::push_opt_text(&mut insert, a.satisfaction.as_deref());
            insert.push(", ");
            D::push_opt_text(&mut insert, a.comment.as_deref());
            insert.push(", ");
            D::push_opt_int(&mut insert, r.actor_token);
            insert.push(", ");
            D::push_text(&mut insert, &r.actor_role);
            insert.push(", ");
            D::push_time(&mut insert, r.at);
            insert.push(")");
        }
        D::execute_in(&mut tx, insert).await?;
    }
    D::commit(tx).await
}
