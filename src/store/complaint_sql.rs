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
    ComplaintRow, Transition, check_duplicate_mark, corrupt, intake_event, status_change,
};
use super::{StoreError, now};
use crate::domain::{
    Category, Complaint, ComplaintFilter, ComplaintId, ComplaintLink, ComplaintStats, StatusChange,
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
    fn boolean(row: &Self::Row, column: &str) -> Result<bool, StoreError>;
    fn text(row: &Self::Row, column: &str) -> Result<String, StoreError>;
    fn opt_text(row: &Self::Row, column: &str) -> Result<Option<String>, StoreError>;
    fn time(row: &Self::Row, column: &str) -> Result<OffsetDateTime, StoreError>;
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
        location: (D::float(row, "lon")?, D::float(row, "lat")?),
        raw_location: (D::float(row, "raw_lon")?, D::float(row, "raw_lat")?),
        coord_sys: D::text(row, "coord_sys")?,
        reported_at: D::time(row, "reported_at")?,
        status: D::text(row, "status")?,
        resolution: D::opt_text(row, "resolution")?,
        satisfaction: D::opt_int(row, "satisfaction")?,
        caller_name: D::opt_text(row, "caller_name")?,
        caller_phone: D::opt_text(row, "caller_phone")?,
        duplicate_of: D::opt_int(row, "duplicate_of")?,
        flags: D::text(row, "flags")?,
        created_at: D::time(row, "created_at")?,
        updated_at: D::time(row, "updated_at")?,
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
        "SELECT c.category, c.status, c.duplicate_of IS NOT NULL AS dup, count(*) AS n FROM complaints c"
            .into(),
    );
    D::push_filter(&mut q, filter);
    q.push(" GROUP BY 1, 2, 3");
    let mut stats = ComplaintStats::default();
    for row in D::rows(pool, q).await? {
        stats.add(
            D::text(&row, "category")?,
            D::text(&row, "status")?,
            D::boolean(&row, "dup")?,
            D::int(&row, "n")?,
        );
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
    let mut q = D::query(
        "SELECT from_status, to_status, note, actor_role, at FROM complaint_events WHERE complaint_id = "
            .into(),
    );
    D::push_int(&mut q, id.0);
    q.push(" ORDER BY id");
    let mut history = vec![intake_event(&complaint)];
    for row in D::rows(pool, q).await? {
        history.push(status_change(
            D::opt_text(&row, "from_status")?,
            &D::text(&row, "to_status")?,
            D::opt_text(&row, "note")?,
            D::text(&row, "actor_role")?,
            D::time(&row, "at")?,
        )?);
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
