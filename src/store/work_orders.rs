//! Storage of work orders, their history and photos: the same SQL on both
//! backends (through `complaint_sql::Dialect`). A change is one
//! transaction that checks the order's version and status, sets what
//! changed, bumps the version, records the step and stores the photos.

use super::complaint_sql::Dialect;
use super::{StoreError, now};
use crate::domain::{
    ComplaintId, District, Evidence, Priority, UnitCode, Version, WorkOrder, WorkOrderDraft,
    WorkOrderEvent, WorkOrderId, WorkOrderKind, WorkOrderOrigin, WorkOrderStatus,
};
use async_trait::async_trait;
use sqlx::Pool;
use std::str::FromStr;
use time::OffsetDateTime;

/// A photo to store with a change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPhoto {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub exif_position: Option<(f64, f64)>,
    /// Its position's (EXIF, else none) distance from the site, metres.
    pub distance_m: Option<f64>,
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub id: i64,
    pub owner: String,
    pub owner_id: i64,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Who makes a change: a token's id and role (`None`: the service).
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub token: Option<i64>,
    pub role: String,
}

/// A change to a work order: what it must still be, what to set, and the
/// step for its history.
#[derive(Debug, Clone)]
pub struct WorkOrderChange {
    /// The version it must still have (`If-Match`); `None`: any.
    pub expect_version: Option<Version>,
    /// The status it must still have (as the service read it).
    pub expect_status: WorkOrderStatus,
    pub to: Option<WorkOrderStatus>,
    /// A new crew (`Some(None)`: none).
    pub crew: Option<Option<UnitCode>>,
    pub priority: Option<Priority>,
    pub description: Option<String>,
    pub due_at: Option<Option<OffsetDateTime>>,
    pub evidence: Option<Evidence>,
    pub photos: Vec<NewPhoto>,
    pub action: &'static str,
    pub note: Option<String>,
    pub actor: Actor,
}

impl WorkOrderChange {
    pub fn new(action: &'static str, expect_status: WorkOrderStatus, actor: Actor) -> Self {
        WorkOrderChange {
            expect_version: None,
            expect_status,
            to: None,
            crew: None,
            priority: None,
            description: None,
            due_at: None,
            evidence: None,
            photos: Vec::new(),
            action,
            note: None,
            actor,
        }
    }
}

/// A change made: the order as it is now, and for an order of a case,
/// how many of the case's other orders are still to be done (read under
/// the case's lock, so of two orders done at once exactly one sees none).
#[derive(Debug, Clone)]
pub struct WorkOrderChanged {
    pub order: WorkOrder,
    pub others_open: Option<u64>,
    pub others_done: Option<u64>,
}

/// Which work orders to list.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    pub unit: Option<UnitCode>,
    pub crew: Option<UnitCode>,
    pub statuses: Vec<WorkOrderStatus>,
    pub complaint: Option<ComplaintId>,
    /// A plan's orders.
    pub plan: Option<i64>,
    pub district: Option<District>,
    /// Keyset: ids below this one (newest first).
    pub before: Option<WorkOrderId>,
    pub limit: u32,
}

#[async_trait]
pub trait WorkOrderStore: Send + Sync {
    /// Stores a new work order with its first history step.
    async fn insert_work_order(
        &self,
        draft: &WorkOrderDraft,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<WorkOrder, StoreError>;

    async fn get_work_order(&self, id: WorkOrderId) -> Result<Option<WorkOrder>, StoreError>;

    /// Applies a change in one transaction: [`StoreError::VersionMismatch`]
    /// when the version moved, [`StoreError::Conflict`] when the status did.
    async fn change_work_order(
        &self,
        id: WorkOrderId,
        change: &WorkOrderChange,
    ) -> Result<WorkOrderChanged, StoreError>;

    /// Work orders by filter, newest first.
    async fn work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<WorkOrder>, StoreError>;

    /// Up to `limit` orders still to be done with ids above `after`, by id.
    async fn open_work_orders(
        &self,
        after: WorkOrderId,
        limit: u32,
    ) -> Result<Vec<WorkOrder>, StoreError>;

    /// The orders of these ids that exist, in no particular order.
    async fn work_orders_with_ids(&self, ids: &[WorkOrderId])
    -> Result<Vec<WorkOrder>, StoreError>;

    async fn work_order_history(&self, id: WorkOrderId) -> Result<Vec<WorkOrderEvent>, StoreError>;

    async fn photo(&self, id: i64) -> Result<Option<Photo>, StoreError>;
}

const COLUMNS: &str = "id, unit, crew, origin, complaint_id, plan_id, survey_id, asset_id, lon, lat, \
     district, kind, description, priority, due_at, positions, status, version, evidence, \
     created_at, updated_at, done_at, verified_at";

fn corrupt(what: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("work order {what}: {e}"))
}

fn parse<T: FromStr<Err = String>>(text: &str, what: &str) -> Result<T, StoreError> {
    text.parse().map_err(corrupt(what))
}

fn order_from_row<D: Dialect>(row: &D::Row) -> Result<WorkOrder, StoreError> {
    let positions = D::opt_text(row, "positions")?
        .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("positions")(e.to_string())))
        .transpose()?;
    let evidence = D::opt_text(row, "evidence")?
        .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("evidence")(e.to_string())))
        .transpose()?;
    Ok(WorkOrder {
        id: WorkOrderId(D::int(row, "id")?),
        draft: WorkOrderDraft {
            unit: parse(&D::text(row, "unit")?, "unit")?,
            crew: D::opt_text(row, "crew")?
                .map(|c| parse(&c, "crew"))
                .transpose()?,
            origin: parse::<WorkOrderOrigin>(&D::text(row, "origin")?, "origin")?,
            complaint_id: D::opt_int(row, "complaint_id")?.map(ComplaintId),
            plan_id: D::opt_int(row, "plan_id")?,
            survey_id: D::opt_int(row, "survey_id")?,
            asset_id: D::opt_int(row, "asset_id")?,
            location: (D::float(row, "lon")?, D::float(row, "lat")?),
            district: D::opt_text(row, "district")?
                .map(|d| parse::<District>(&d, "district"))
                .transpose()?,
            kind: parse::<WorkOrderKind>(&D::text(row, "kind")?, "kind")?,
            description: D::text(row, "description")?,
            priority: parse::<Priority>(&D::text(row, "priority")?, "priority")?,
            due_at: D::opt_time(row, "due_at")?,
            positions,
        },
        status: parse::<WorkOrderStatus>(&D::text(row, "status")?, "status")?,
        version: Version(D::int(row, "version")?),
        evidence,
        created_at: D::time(row, "created_at")?,
        updated_at: D::time(row, "updated_at")?,
        done_at: D::opt_time(row, "done_at")?,
        verified_at: D::opt_time(row, "verified_at")?,
    })
}

/// A work-order write's transaction, holding the work-order write lock
/// before any row lock (see [`Dialect::WORK_ORDER_WRITE_LOCK`]).
async fn begin_write<D: Dialect>(
    pool: &Pool<D>,
) -> Result<sqlx::Transaction<'static, D>, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    if !D::WORK_ORDER_WRITE_LOCK.is_empty() {
        D::execute_in(&mut tx, D::query(D::WORK_ORDER_WRITE_LOCK.into())).await?;
    }
    Ok(tx)
}

async fn insert<D: Dialect>(
    pool: &Pool<D>,
    draft: &WorkOrderDraft,
    note: Option<&str>,
    actor: &Actor,
) -> Result<WorkOrder, StoreError> {
    let at = now();
    let status = if draft.crew.is_some() {
        WorkOrderStatus::Assigned
    } else {
        WorkOrderStatus::Open
    };
    let positions = draft.positions.as_ref().map(|p| p.to_string());
    let mut tx = begin_write::<D>(pool).await?;
    // A case's order: the case is locked and must still be with the
    // order's unit, taken on or waiting, so that an order cannot be made
    // for a case being resolved meanwhile.
    if let Some(case) = draft.complaint_id {
        let mut q = D::query("SELECT status, unit FROM complaints WHERE id = ".into());
        D::push_int(&mut q, case.0);
        q.push(D::LOCK_ROWS);
        let rows = D::rows_in(&mut tx, q).await?;
        let row = rows.first().ok_or(StoreError::NotFound)?;
        let status = D::text(row, "status")?;
        let unit = D::opt_text(row, "unit")?;
        if !matches!(status.as_str(), "dispatched" | "in_progress")
            || unit.as_deref() != Some(draft.unit.as_str())
        {
            return Err(StoreError::Conflict(format!(
                "complaint {case} changed meanwhile: it is {status}{}",
                unit.map(|u| format!(" with unit {u}")).unwrap_or_default()
            )));
        }
    }
    let mut q = D::query(
        "INSERT INTO work_orders (unit, crew, origin, complaint_id, plan_id, survey_id, asset_id, lon, lat, \
         district, kind, description, priority, due_at, positions, status, version, created_at, updated_at) VALUES ("
            .into(),
    );
    D::push_text(&mut q, draft.unit.as_str());
    q.push(", ");
    D::push_opt_text(&mut q, draft.crew.as_ref().map(UnitCode::as_str));
    q.push(", ");
    D::push_text(&mut q, draft.origin.as_str());
    q.push(", ");
    D::push_opt_int(&mut q, draft.complaint_id.map(|c| c.0));
    q.push(", ");
    D::push_opt_int(&mut q, draft.plan_id);
    q.push(", ");
    D::push_opt_int(&mut q, draft.survey_id);
    q.push(", ");
    D::push_opt_int(&mut q, draft.asset_id);
    q.push(", ");
    D::push_float(&mut q, draft.location.0);
    q.push(", ");
    D::push_float(&mut q, draft.location.1);
    q.push(", ");
    D::push_opt_text(&mut q, draft.district.map(District::as_str));
    q.push(", ");
    D::push_text(&mut q, draft.kind.as_str());
    q.push(", ");
    D::push_text(&mut q, &draft.description);
    q.push(", ");
    D::push_text(&mut q, draft.priority.as_str());
    q.push(", ");
    D::push_opt_time(&mut q, draft.due_at);
    q.push(", ");
    D::push_opt_text(&mut q, positions.as_deref());
    q.push(", ");
    D::push_text(&mut q, status.as_str());
    q.push(", 1, ");
    D::push_time(&mut q, at);
    q.push(", ");
    D::push_time(&mut q, at);
    q.push(") RETURNING id");
    let rows = D::rows_in(&mut tx, q).await?;
    let id = rows
        .first()
        .map(|row| D::int(row, "id"))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt("the insert returned no id".into()))?;
    let event = EventRow {
        order: id,
        action: "created",
        from: None,
        to: status,
        crew: draft.crew.as_ref().map(UnitCode::as_str),
        note,
        actor,
        at,
    };
    insert_event::<D>(&mut tx, &event).await?;
    // Read back before the commit: a committed write is never answered
    // with an error because a read after it failed.
    let order = get_in::<D>(&mut tx, WorkOrderId(id)).await?;
    D::commit(tx).await?;
    Ok(order)
}

async fn get_in<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    id: WorkOrderId,
) -> Result<WorkOrder, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM work_orders WHERE id = "));
    D::push_int(&mut q, id.0);
    D::rows_in(tx, q)
        .await?
        .first()
        .map(order_from_row::<D>)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

struct EventRow<'a> {
    order: i64,
    action: &'a str,
    from: Option<WorkOrderStatus>,
    to: WorkOrderStatus,
    crew: Option<&'a str>,
    note: Option<&'a str>,
    actor: &'a Actor,
    at: OffsetDateTime,
}

async fn insert_event<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    e: &EventRow<'_>,
) -> Result<(), StoreError> {
    let mut q = D::query(
        "INSERT INTO work_order_events (work_order_id, action, from_status, to_status, crew, note, actor_token, actor_role, at) VALUES ("
            .into(),
    );
    D::push_int(&mut q, e.order);
    q.push(", ");
    D::push_string(&mut q, e.action.to_string());
    q.push(", ");
    D::push_opt_text(&mut q, e.from.map(WorkOrderStatus::as_str));
    q.push(", ");
    D::push_text(&mut q, e.to.as_str());
    q.push(", ");
    D::push_string(&mut q, e.crew.unwrap_or_default().to_string());
    q.push(", ");
    D::push_string(&mut q, e.note.unwrap_or_default().to_string());
    q.push(", ");
    D::push_opt_int(&mut q, e.actor.token);
    q.push(", ");
    D::push_string(&mut q, e.actor.role.clone());
    q.push(", ");
    D::push_time(&mut q, e.at);
    q.push(")");
    D::execute_in(tx, q).await
}

async fn get<D: Dialect>(pool: &Pool<D>, id: WorkOrderId) -> Result<Option<WorkOrder>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM work_orders WHERE id = "));
    D::push_int(&mut q, id.0);
    D::rows(pool, q)
        .await?
        .first()
        .map(order_from_row::<D>)
        .transpose()
}

async fn change<D: Dialect>(
    pool: &Pool<D>,
    id: WorkOrderId,
    c: &WorkOrderChange,
) -> Result<WorkOrderChanged, StoreError> {
    let at = now();
    let mut tx = begin_write::<D>(pool).await?;
    // An order of a case locks the case first, so that the orders of one
    // case change one after another and the last one done is seen as such.
    let mut q = D::query("SELECT complaint_id FROM work_orders WHERE id = ".into());
    D::push_int(&mut q, id.0);
    let complaint = match D::rows_in(&mut tx, q).await?.first() {
        Some(row) => D::opt_int(row, "complaint_id")?,
        None => return Err(StoreError::NotFound),
    };
    if let Some(complaint) = complaint {
        let mut q = D::query("SELECT id FROM complaints WHERE id = ".into());
        D::push_int(&mut q, complaint);
        q.push(D::LOCK_ROWS);
        D::rows_in(&mut tx, q).await?;
    }
    let mut q = D::query(format!("SELECT {COLUMNS} FROM work_orders WHERE id = "));
    D::push_int(&mut q, id.0);
    q.push(D::LOCK_ROWS);
    let current = match D::rows_in(&mut tx, q).await?.first() {
        Some(row) => order_from_row::<D>(row)?,
        None => return Err(StoreError::NotFound),
    };
    if let Some(expected) = c.expect_version {
        if current.version != expected {
            return Err(StoreError::VersionMismatch {
                current: current.version,
            });
        }
    }
    if current.status != c.expect_status {
        return Err(StoreError::Conflict(format!(
            "work order {id} became {} meanwhile",
            current.status
        )));
    }
    let photo_ids =
        insert_photos::<D>(&mut tx, "work_order", id.0, &c.photos, c.actor.token, at).await?;
    let to = c.to.unwrap_or(current.status);
    let mut q = D::query("UPDATE work_orders SET version = version + 1, updated_at = ".into());
    D::push_time(&mut q, at);
    q.push(", status = ");
    D::push_text(&mut q, to.as_str());
    if let Some(crew) = &c.crew {
        q.push(", crew = ");
        D::push_opt_text(&mut q, crew.as_ref().map(UnitCode::as_str));
    }
    if let Some(priority) = c.priority {
        q.push(", priority = ");
        D::push_text(&mut q, priority.as_str());
    }
    if let Some(description) = &c.description {
        q.push(", description = ");
        D::push_text(&mut q, description);
    }
    if let Some(due) = c.due_at {
        q.push(", due_at = ");
        D::push_opt_time(&mut q, due);
    }
    if let Some(evidence) = &c.evidence {
        let mut evidence = evidence.clone();
        evidence.photos = photo_ids;
        let text =
            serde_json::to_string(&evidence).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        q.push(", evidence = ");
        D::push_string(&mut q, text);
    }
    if to == WorkOrderStatus::Done && current.status != WorkOrderStatus::Done {
        q.push(", done_at = ");
        D::push_time(&mut q, at);
    }
    if to == WorkOrderStatus::Verified {
        q.push(", verified_at = ");
        D::push_time(&mut q, at);
    }
    q.push(" WHERE id = ");
    D::push_int(&mut q, id.0);
    D::execute_in(&mut tx, q).await?;
    let crew_now = match &c.crew {
        Some(crew) => crew.clone(),
        None => current.draft.crew.clone(),
    };
    let event = EventRow {
        order: id.0,
        action: c.action,
        from: Some(current.status),
        to,
        crew: crew_now.as_ref().map(UnitCode::as_str),
        note: c.note.as_deref(),
        actor: &c.actor,
        at,
    };
    insert_event::<D>(&mut tx, &event).await?;
    let (mut others_open, mut others_done) = (None, None);
    if let Some(complaint) = complaint {
        let mut q = D::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN status IN ('open', 'assigned', 'in_progress') THEN 1 ELSE 0 END), 0) AS BIGINT) AS open, \
             CAST(COALESCE(SUM(CASE WHEN status IN ('done', 'verified') THEN 1 ELSE 0 END), 0) AS BIGINT) AS done \
             FROM work_orders WHERE complaint_id = "
                .into(),
        );
        D::push_int(&mut q, complaint);
        q.push(" AND id <> ");
        D::push_int(&mut q, id.0);
        // Orders of a unit the case has since left do not hold it back.
        q.push(" AND unit = ");
        D::push_text(&mut q, current.draft.unit.as_str());
        if let Some(row) = D::rows_in(&mut tx, q).await?.first() {
            others_open = Some(D::int(row, "open")?.max(0) as u64);
            others_done = Some(D::int(row, "done")?.max(0) as u64);
        }
    }
    let order = get_in::<D>(&mut tx, id).await?;
    D::commit(tx).await?;
    Ok(WorkOrderChanged {
        order,
        others_open,
        others_done,
    })
}

/// Stores photos of a work order or survey in a transaction; their ids.
pub(super) async fn insert_photos<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    owner: &'static str,
    owner_id: i64,
    photos: &[NewPhoto],
    actor_token: Option<i64>,
    at: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(photos.len());
    for photo in photos {
        let mut q = D::query(
            "INSERT INTO photos (owner, owner_id, media_type, bytes, sha256, exif_lon, exif_lat, distance_m, actor_token, created_at) VALUES ("
                .into(),
        );
        D::push_text(&mut q, owner);
        q.push(", ");
        D::push_int(&mut q, owner_id);
        q.push(", ");
        D::push_text(&mut q, photo.media_type);
        q.push(", ");
        D::push_bytes(&mut q, photo.bytes.clone());
        q.push(", ");
        D::push_text(&mut q, &photo.sha256);
        q.push(", ");
        push_opt_float::<D>(&mut q, photo.exif_position.map(|p| p.0));
        q.push(", ");
        push_opt_float::<D>(&mut q, photo.exif_position.map(|p| p.1));
        q.push(", ");
        push_opt_float::<D>(&mut q, photo.distance_m);
        q.push(", ");
        D::push_opt_int(&mut q, actor_token);
        q.push(", ");
        D::push_time(&mut q, at);
        q.push(") RETURNING id");
        if let Some(row) = D::rows_in(tx, q).await?.first() {
            ids.push(D::int(row, "id")?);
        }
    }
    Ok(ids)
}

pub(super) fn push_opt_float<D: Dialect>(q: &mut sqlx::QueryBuilder<'_, D>, value: Option<f64>) {
    match value {
        Some(v) => D::push_float(q, v),
        None => {
            q.push("NULL");
        }
    }
}

async fn list<D: Dialect>(
    pool: &Pool<D>,
    f: &WorkOrderFilter,
) -> Result<Vec<WorkOrder>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM work_orders WHERE 1 = 1"));
    if let Some(unit) = &f.unit {
        q.push(" AND unit = ");
        D::push_text(&mut q, unit.as_str());
    }
    if let Some(crew) = &f.crew {
        q.push(" AND crew = ");
        D::push_text(&mut q, crew.as_str());
    }
    if !f.statuses.is_empty() {
        q.push(" AND status IN (");
        for (i, s) in f.statuses.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            D::push_text(&mut q, s.as_str());
        }
        q.push(")");
    }
    if let Some(plan) = f.plan {
        q.push(" AND plan_id = ");
        D::push_int(&mut q, plan);
    }
    if let Some(complaint) = f.complaint {
        q.push(" AND complaint_id = ");
        D::push_int(&mut q, complaint.0);
    }
    if let Some(district) = f.district {
        q.push(" AND district = ");
        D::push_text(&mut q, district.as_str());
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
        .map(order_from_row::<D>)
        .collect()
}

async fn open_after<D: Dialect>(
    pool: &Pool<D>,
    after: WorkOrderId,
    limit: u32,
) -> Result<Vec<WorkOrder>, StoreError> {
    let mut q = D::query(format!(
        "SELECT {COLUMNS} FROM work_orders WHERE status IN ('open', 'assigned', 'in_progress') AND id > "
    ));
    D::push_int(&mut q, after.0);
    q.push(" ORDER BY id LIMIT ");
    D::push_int(&mut q, i64::from(limit));
    D::rows(pool, q)
        .await?
        .iter()
        .map(order_from_row::<D>)
        .collect()
}

async fn with_ids<D: Dialect>(
    pool: &Pool<D>,
    ids: &[WorkOrderId],
) -> Result<Vec<WorkOrder>, StoreError> {
    let mut orders = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let mut q = D::query(format!("SELECT {COLUMNS} FROM work_orders WHERE id IN ("));
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            D::push_int(&mut q, id.0);
        }
        q.push(")");
        for row in D::rows(pool, q).await? {
            orders.push(order_from_row::<D>(&row)?);
        }
    }
    Ok(orders)
}

async fn history<D: Dialect>(
    pool: &Pool<D>,
    id: WorkOrderId,
) -> Result<Vec<WorkOrderEvent>, StoreError> {
    let mut q = D::query(
        "SELECT action, from_status, to_status, crew, note, actor_token, actor_role, at \
         FROM work_order_events WHERE work_order_id = "
            .into(),
    );
    D::push_int(&mut q, id.0);
    q.push(" ORDER BY id");
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            let empty_none = |t: Option<String>| t.filter(|t| !t.is_empty());
            Ok(WorkOrderEvent {
                action: D::text(row, "action")?,
                from: D::opt_text(row, "from_status")?
                    .map(|s| parse::<WorkOrderStatus>(&s, "event status"))
                    .transpose()?,
                to: parse::<WorkOrderStatus>(&D::text(row, "to_status")?, "event status")?,
                crew: empty_none(D::opt_text(row, "crew")?),
                note: empty_none(D::opt_text(row, "note")?),
                actor_token: D::opt_int(row, "actor_token")?,
                actor_role: D::text(row, "actor_role")?,
                at: D::time(row, "at")?,
            })
        })
        .collect()
}

async fn photo<D: Dialect>(pool: &Pool<D>, id: i64) -> Result<Option<Photo>, StoreError> {
    let mut q =
        D::query("SELECT id, owner, owner_id, media_type, bytes FROM photos WHERE id = ".into());
    D::push_int(&mut q, id);
    D::rows(pool, q)
        .await?
        .first()
        .map(|row| {
            Ok(Photo {
                id: D::int(row, "id")?,
                owner: D::text(row, "owner")?,
                owner_id: D::int(row, "owner_id")?,
                media_type: D::text(row, "media_type")?,
                bytes: D::bytes(row, "bytes")?,
            })
        })
        .transpose()
}

macro_rules! work_order_store {
    ($store:ty) => {
        #[async_trait]
        impl WorkOrderStore for $store {
            async fn insert_work_order(
                &self,
                draft: &WorkOrderDraft,
                note: Option<&str>,
                actor: &Actor,
            ) -> Result<WorkOrder, StoreError> {
                insert(&self.pool, draft, note, actor).await
            }

            async fn get_work_order(
                &self,
                id: WorkOrderId,
            ) -> Result<Option<WorkOrder>, StoreError> {
                get(&self.pool, id).await
            }

            async fn change_work_order(
                &self,
                id: WorkOrderId,
                change: &WorkOrderChange,
            ) -> Result<WorkOrderChanged, StoreError> {
                self::change(&self.pool, id, change).await
            }

            async fn work_orders(
                &self,
                filter: &WorkOrderFilter,
            ) -> Result<Vec<WorkOrder>, StoreError> {
                list(&self.pool, filter).await
            }

            async fn open_work_orders(
                &self,
                after: WorkOrderId,
                limit: u32,
            ) -> Result<Vec<WorkOrder>, StoreError> {
                open_after(&self.pool, after, limit).await
            }

            async fn work_orders_with_ids(
                &self,
                ids: &[WorkOrderId],
            ) -> Result<Vec<WorkOrder>, StoreError> {
                with_ids(&self.pool, ids).await
            }

            async fn work_order_history(
                &self,
                id: WorkOrderId,
            ) -> Result<Vec<WorkOrderEvent>, StoreError> {
                history(&self.pool, id).await
            }

            async fn photo(&self, id: i64) -> Result<Option<Photo>, StoreError> {
                self::photo(&self.pool, id).await
            }
        }
    };
}

work_order_store!(super::SqliteStore);
work_order_store!(super::PgStore);
