//! Repair plans in the store, the same SQL on both backends (through
//! `complaint_sql::Dialect`). A change is one transaction that checks the
//! version (and the status it was decided on) under a row lock.

use super::StoreError;
use super::complaint_sql::Dialect;
use super::work_orders::push_opt_float;
use crate::domain::{
    ComplaintId, District, LonLatBox, Plan, PlanDraft, PlanId, PlanKind, PlanQuantities,
    PlanStatus, Version,
};
use async_trait::async_trait;
use sqlx::Pool;
use std::str::FromStr;
use time::OffsetDateTime;

/// A plan as it is written: the draft, what was worked out, and where it
/// is on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub draft: PlanDraft,
    pub quantities: PlanQuantities,
    pub geometry: serde_json::Value,
    pub bbox: LonLatBox,
}

/// What a change sets: a new record (targets, inputs and what follows
/// from them), a new status, or both; checked against the version and the
/// status it was decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanChange {
    pub expect_version: Option<Version>,
    pub expect_status: PlanStatus,
    pub record: Option<PlanRecord>,
    pub to: Option<PlanStatus>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanFilter {
    pub kinds: Vec<PlanKind>,
    pub statuses: Vec<PlanStatus>,
    pub district: Option<District>,
    pub bbox: Option<LonLatBox>,
    /// Keyset: ids below this one (newest first).
    pub before: Option<PlanId>,
    pub limit: u32,
}

#[async_trait]
pub trait PlanStore: Send + Sync {
    async fn insert_plan(
        &self,
        record: &PlanRecord,
        created_by: Option<i64>,
    ) -> Result<Plan, StoreError>;

    async fn get_plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError>;

    /// [`StoreError::VersionMismatch`] when the version moved,
    /// [`StoreError::Conflict`] when the status did.
    async fn change_plan(&self, id: PlanId, change: &PlanChange) -> Result<Plan, StoreError>;

    /// Plans by filter, newest first.
    async fn plans(&self, filter: &PlanFilter) -> Result<Vec<Plan>, StoreError>;
}

const COLUMNS: &str = "id, kind, title, description, district, targets, area, complaint_ids, inputs, \
     quantities, cost_cny, geometry, min_lon, min_lat, max_lon, max_lat, status, planned_start, planned_end, actual_start, actual_end, \
     actual_cost_cny, version, created_by, created_at, updated_at";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("a stored plan: {e}"))
}

fn json_of<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
}

fn text_of<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

fn plan_from_row<D: Dialect>(row: &D::Row) -> Result<Plan, StoreError> {
    let complaint_ids: Vec<i64> = json_of(&D::text(row, "complaint_ids")?)?;
    Ok(Plan {
        id: PlanId(D::int(row, "id")?),
        draft: PlanDraft {
            kind: PlanKind::from_str(&D::text(row, "kind")?).map_err(corrupt)?,
            title: D::text(row, "title")?,
            description: D::opt_text(row, "description")?,
            district: D::opt_text(row, "district")?
                .map(|d| District::from_str(&d).map_err(corrupt))
                .transpose()?,
            targets: json_of(&D::text(row, "targets")?)?,
            area: D::opt_text(row, "area")?.map(|a| json_of(&a)).transpose()?,
            complaint_ids: complaint_ids.into_iter().map(ComplaintId).collect(),
            inputs: json_of(&D::text(row, "inputs")?)?,
            planned_start: D::opt_time(row, "planned_start")?,
            planned_end: D::opt_time(row, "planned_end")?,
            actual_start: D::opt_time(row, "actual_start")?,
            actual_end: D::opt_time(row, "actual_end")?,
            actual_cost_cny: D::opt_float(row, "actual_cost_cny")?,
        },
        quantities: json_of(&D::text(row, "quantities")?)?,
        geometry: json_of(&D::text(row, "geometry")?)?,
        bbox: LonLatBox {
            min_lon: D::float(row, "min_lon")?,
            min_lat: D::float(row, "min_lat")?,
            max_lon: D::float(row, "max_lon")?,
            max_lat: D::float(row, "max_lat")?,
        },
        status: PlanStatus::from_str(&D::text(row, "status")?).map_err(corrupt)?,
        version: Version(D::int(row, "version")?),
        created_by: D::opt_int(row, "created_by")?,
        created_at: D::time(row, "created_at")?,
        updated_at: D::time(row, "updated_at")?,
    })
}

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    // Microseconds: what PostgreSQL keeps.
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// The record's columns as `name = value` pairs, for an insert (names and
/// values) or an update.
fn push_record<'a, D: Dialect>(
    q: &mut sqlx::QueryBuilder<'a, D>,
    r: &'a PlanRecord,
    assign: bool,
) -> Result<(), StoreError> {
    let d = &r.draft;
    let complaint_ids: Vec<i64> = d.complaint_ids.iter().map(|c| c.0).collect();
    let mut first = true;
    let mut column = |q: &mut sqlx::QueryBuilder<'a, D>, name: &str| {
        if !first {
            q.push(", ");
        }
        first = false;
        if assign {
            q.push(format!("{name} = "));
        }
    };
    column(q, "kind");
    D::push_text(q, d.kind.as_str());
    column(q, "title");
    D::push_string(q, d.title.clone());
    column(q, "description");
    D::push_opt_text(q, d.description.as_deref());
    column(q, "district");
    D::push_opt_text(q, d.district.map(District::as_str));
    column(q, "targets");
    D::push_string(q, text_of(&d.targets)?);
    column(q, "area");
    match &d.area {
        Some(a) => D::push_string(q, text_of(a)?),
        None => D::push_opt_text(q, None),
    }
    column(q, "complaint_ids");
    D::push_string(q, text_of(&complaint_ids)?);
    column(q, "inputs");
    D::push_string(q, text_of(&d.inputs)?);
    column(q, "quantities");
    D::push_string(q, text_of(&r.quantities)?);
    column(q, "cost_cny");
    D::push_float(q, r.quantities.cost_cny);
    column(q, "geometry");
    D::push_string(q, text_of(&r.geometry)?);
    column(q, "min_lon");
    D::push_float(q, r.bbox.min_lon);
    column(q, "min_lat");
    D::push_float(q, r.bbox.min_lat);
    column(q, "max_lon");
    D::push_float(q, r.bbox.max_lon);
    column(q, "max_lat");
    D::push_float(q, r.bbox.max_lat);
    column(q, "planned_start");
    D::push_opt_time(q, d.planned_start);
    column(q, "planned_end");
    D::push_opt_time(q, d.planned_end);
    column(q, "actual_start");
    D::push_opt_time(q, d.actual_start);
    column(q, "actual_end");
    D::push_opt_time(q, d.actual_end);
    column(q, "actual_cost_cny");
    push_opt_float::<D>(q, d.actual_cost_cny);
    Ok(())
}

const RECORD_COLUMNS: &str = "kind, title, description, district, targets, area, complaint_ids, inputs, \
     quantities, cost_cny, geometry, min_lon, min_lat, max_lon, max_lat, planned_start, planned_end, \
     actual_start, actual_end, actual_cost_cny";

async fn insert<D: Dialect>(
    pool: &Pool<D>,
    r: &PlanRecord,
    created_by: Option<i64>,
) -> Result<Plan, StoreError> {
    let at = now();
    let mut tx = D::begin_write(pool).await?;
    let mut q = D::query(format!(
        "INSERT INTO plans ({RECORD_COLUMNS}, status, version, created_by, created_at, updated_at) VALUES ("
    ));
    push_record::<D>(&mut q, r, false)?;
    q.push(", ");
    D::push_text(&mut q, PlanStatus::Draft.as_str());
    q.push(", 1, ");
    D::push_opt_int(&mut q, created_by);
    q.push(", ");
    D::push_time(&mut q, at);
    q.push(", ");
    D::push_time(&mut q, at);
    q.push(") RETURNING id");
    let id = D::rows_in(&mut tx, q)
        .await?
        .first()
        .map(|row| D::int(row, "id"))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt("the insert returned no id".into()))?;
    let plan = get_in::<D>(&mut tx, PlanId(id)).await?;
    D::commit(tx).await?;
    Ok(plan)
}

async fn get_in<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    id: PlanId,
) -> Result<Plan, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM plans WHERE id = "));
    D::push_int(&mut q, id.0);
    D::rows_in(tx, q)
        .await?
        .first()
        .map(plan_from_row::<D>)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

async fn get<D: Dialect>(pool: &Pool<D>, id: PlanId) -> Result<Option<Plan>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM plans WHERE id = "));
    D::push_int(&mut q, id.0);
    D::rows(pool, q)
        .await?
        .first()
        .map(plan_from_row::<D>)
        .transpose()
}

async fn change<D: Dialect>(
    pool: &Pool<D>,
    id: PlanId,
    c: &PlanChange,
) -> Result<Plan, StoreError> {
    let at = now();
    let mut tx = D::begin_write(pool).await?;
    let mut q = D::query("SELECT version, status FROM plans WHERE id = ".into());
    D::push_int(&mut q, id.0);
    q.push(D::LOCK_ROWS);
    let (version, status) = match D::rows_in(&mut tx, q).await?.first() {
        Some(row) => (Version(D::int(row, "version")?), D::text(row, "status")?),
        None => return Err(StoreError::NotFound),
    };
    if let Some(expected) = c.expect_version {
        if version != expected {
            return Err(StoreError::VersionMismatch { current: version });
        }
    }
    if status != c.expect_status.as_str() {
        return Err(StoreError::Conflict(format!(
            "plan {id} became {status} meanwhile"
        )));
    }
    let mut q = D::query("UPDATE plans SET version = version + 1, updated_at = ".into());
    D::push_time(&mut q, at);
    if let Some(to) = c.to {
        q.push(", status = ");
        D::push_text(&mut q, to.as_str());
    }
    if let Some(record) = &c.record {
        q.push(", ");
        push_record::<D>(&mut q, record, true)?;
    }
    q.push(" WHERE id = ");
    D::push_int(&mut q, id.0);
    D::execute_in(&mut tx, q).await?;
    let plan = get_in::<D>(&mut tx, id).await?;
    D::commit(tx).await?;
    Ok(plan)
}

async fn list<D: Dialect>(pool: &Pool<D>, f: &PlanFilter) -> Result<Vec<Plan>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM plans WHERE 1 = 1"));
    let one_of = |q: &mut sqlx::QueryBuilder<'_, D>, column: &str, values: Vec<&'static str>| {
        if values.is_empty() {
            return;
        }
        q.push(format!(" AND {column} IN ("));
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            D::push_text(q, v);
        }
        q.push(")");
    };
    one_of(&mut q, "kind", f.kinds.iter().map(|k| k.as_str()).collect());
    one_of(
        &mut q,
        "status",
        f.statuses.iter().map(|s| s.as_str()).collect(),
    );
    if let Some(d) = f.district {
        q.push(" AND district = ");
        D::push_text(&mut q, d.as_str());
    }
    if let Some(b) = f.bbox {
        q.push(" AND max_lon >= ");
        D::push_float(&mut q, b.min_lon);
        q.push(" AND min_lon <= ");
        D::push_float(&mut q, b.max_lon);
        q.push(" AND max_lat >= ");
        D::push_float(&mut q, b.min_lat);
        q.push(" AND min_lat <= ");
        D::push_float(&mut q, b.max_lat);
    }
    if let Some(before) = f.before {
        q.push(" AND id < ");
        D::push_int(&mut q, before.0);
    }
    q.push(" ORDER BY id DESC LIMIT ");
    D::push_int(&mut q, i64::from(f.limit));
    D::rows(pool, q)
        .await?
        .iter()
        .map(plan_from_row::<D>)
        .collect()
}

macro_rules! plan_store {
    ($store:ty) => {
        #[async_trait]
        impl PlanStore for $store {
            async fn insert_plan(
                &self,
                record: &PlanRecord,
                created_by: Option<i64>,
            ) -> Result<Plan, StoreError> {
                insert(&self.pool, record, created_by).await
            }

            async fn get_plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
                get(&self.pool, id).await
            }

            async fn change_plan(
                &self,
                id: PlanId,
                change: &PlanChange,
            ) -> Result<Plan, StoreError> {
                self::change(&self.pool, id, change).await
            }

            async fn plans(&self, filter: &PlanFilter) -> Result<Vec<Plan>, StoreError> {
                list(&self.pool, filter).await
            }
        }
    };
}

plan_store!(super::SqliteStore);
plan_store!(super::PgStore);
