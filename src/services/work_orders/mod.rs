//! Work orders (工单): made from a dispatched case, from a plan, or by
//! hand; assigned to a crew of the unit they belong to; moved only along
//! their legal moves, each kept with who and when; versioned (a stale
//! `If-Match` changes nothing); done with evidence; verified by a planner
//! or designer. A case follows its orders: the first started takes the
//! case on, the last done resolves it for its call-back.
//!
//! The open orders are held in memory ([`OpenOrders`]) for "what is near
//! me" and a crew's walking order along the lanes ([`LaneNetwork`], rebuilt
//! when a lane changes); the store keeps every order and its history.

pub mod feature;
mod open_orders;
pub mod photo_check;
mod replication;

pub use open_orders::{MAX_VISITED, OpenOrders};
pub use photo_check::{CheckedPhoto, MAX_PHOTO_BYTES, MAX_PHOTOS, PhotoProblem, check_photo};

use crate::domain::{
    AssetId, ComplaintId, ComplaintStatus, DeadlineTier, Evidence, FAR_FROM_SITE_M, Principal,
    Priority, Role, UnitCode, ValidationError, WorkOrder, WorkOrderDraft, WorkOrderEvent,
    WorkOrderId, WorkOrderKind, WorkOrderOrigin, WorkOrderStatus, may_move,
};
use crate::services::complaints::{ComplaintError, Complaints, check_text};
use crate::services::registry::{Precondition, Registry};
use crate::services::store_failure::StoreFailure;
use crate::spatial::{Attachment, LaneNetwork, Leg, WalkingDistance, distance_m};
pub use crate::store::WorkOrderFilter;
use crate::store::{Actor, NewPhoto, Photo, Store, StoreError, WorkOrderChange};
use geo::Point;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use time::OffsetDateTime;

/// Longest description, characters.
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
/// Longest note of a step, characters.
pub const NOTE_MAX_CHARS: usize = 1_000;
/// Most jobs one walking order takes (the nearest, when a crew has more).
pub const MAX_ROUTE_STOPS: usize = 60;
/// Nearby searches up to this radius work out walking distances on the
/// request's own worker (the search is bounded by three times the
/// farthest hit and 500 m more).
const INLINE_WALK_RADIUS_M: f64 = 2_000.0;
/// Open orders read from the store per page at start-up.
const LOAD_PAGE: u32 = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum WorkOrderError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("work order {0} does not exist")]
    NotFound(WorkOrderId),
    #[error("photo {0} does not exist")]
    PhotoNotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named another version.
    #[error("work order {id} is at version {current}; reload it and try again")]
    Stale { id: WorkOrderId, current: i64 },
    #[error("{0}")]
    PreconditionRequired(String),
    #[error(transparent)]
    Photo(#[from] PhotoProblem),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

impl From<ComplaintError> for WorkOrderError {
    fn from(e: ComplaintError) -> Self {
        match e {
            ComplaintError::Invalid(v) => WorkOrderError::Invalid(v),
            ComplaintError::NotFound(id) => WorkOrderError::Invalid(ValidationError::single(
                "/complaint_id",
                format!("complaint {id} does not exist"),
            )),
            ComplaintError::Forbidden(d) => WorkOrderError::Forbidden(d),
            ComplaintError::Conflict(d) | ComplaintError::TooDeep(d) => WorkOrderError::Conflict(d),
            ComplaintError::Store(s) => WorkOrderError::Store(s),
            ComplaintError::WriteFailed(d) | ComplaintError::Unavailable(d) => {
                WorkOrderError::Store(StoreFailure::Failed(d))
            }
        }
    }
}

fn store_error(id: WorkOrderId, e: StoreError) -> WorkOrderError {
    match e {
        StoreError::NotFound => WorkOrderError::NotFound(id),
        StoreError::VersionMismatch { current } => WorkOrderError::Stale {
            id,
            current: current.0,
        },
        StoreError::Conflict(d) => WorkOrderError::Conflict(d),
        other => WorkOrderError::Store(other.into()),
    }
}

fn forbidden(detail: impl Into<String>) -> WorkOrderError {
    WorkOrderError::Forbidden(detail.into())
}

fn invalid(pointer: &str, detail: impl Into<String>) -> WorkOrderError {
    WorkOrderError::Invalid(ValidationError::single(pointer, detail))
}

/// A work order as asked for. From a case, what is not given comes from
/// the case; by hand, the unit and a place (an asset or a point) are
/// required.
#[derive(Debug, Clone, Default)]
pub struct NewWorkOrder {
    pub complaint_id: Option<ComplaintId>,
    pub unit: Option<UnitCode>,
    pub crew: Option<UnitCode>,
    pub asset_id: Option<i64>,
    pub location: Option<(f64, f64)>,
    pub kind: Option<WorkOrderKind>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub due_at: Option<OffsetDateTime>,
    /// New positions riding along (a GeoJSON MultiPoint).
    pub positions: Option<serde_json::Value>,
    pub note: Option<String>,
    /// The survey whose finding this job answers.
    pub survey_id: Option<i64>,
    /// The approved plan this job carries out.
    pub plan_id: Option<i64>,
}

/// What follows the orders of plans: a plan starts with its first order
/// and completes with its last (the planning service).
#[async_trait::async_trait]
pub trait PlanObserver: Send + Sync {
    /// An order of plan `plan_id` moved to `to`.
    async fn plan_order_moved(&self, principal: &Principal, plan_id: i64, to: WorkOrderStatus);
}

/// A move along the lifecycle (all but `done`, which carries evidence).
#[derive(Debug, Clone)]
pub struct Move {
    pub to: WorkOrderStatus,
    /// The crew, when assigning.
    pub crew: Option<UnitCode>,
    pub note: Option<String>,
}

/// A change of what a job is, without moving it.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub crew: Option<UnitCode>,
    pub priority: Option<Priority>,
    pub description: Option<String>,
    pub due_at: Option<Option<OffsetDateTime>>,
}

/// The crew's report of a job done.
#[derive(Debug, Clone, Default)]
pub struct DoneReport {
    pub note: Option<String>,
    /// The device's position, WGS 84.
    pub position: Option<(f64, f64)>,
    pub photos: Vec<CheckedPhoto>,
}

/// An open order near a point, with its straight-line and walking
/// distances.
#[derive(Debug, Clone)]
pub struct NearbyOrder {
    pub order: Arc<WorkOrder>,
    /// Metres in a straight line.
    pub straight_m: f64,
    /// Along the lanes, when asked for.
    pub walking: Option<WalkingDistance>,
}

/// What "near me" asks.
#[derive(Debug, Clone)]
pub struct NearbyRequest {
    pub at: (f64, f64),
    pub radius_m: f64,
    pub limit: usize,
    pub statuses: Vec<WorkOrderStatus>,
    pub crew: Option<UnitCode>,
    /// Order by walking distance instead of the straight line.
    pub by_walking: bool,
    /// Work out walking distances (a list for a quick look leaves them
    /// out).
    pub walking: bool,
}

/// A crew's jobs in walking order from where it stands.
#[derive(Debug, Clone)]
pub struct Route {
    pub start: (f64, f64),
    pub stops: Vec<Arc<WorkOrder>>,
    pub legs: Vec<Leg>,
    /// Jobs of the crew left out (beyond [`MAX_ROUTE_STOPS`]).
    pub left_out: usize,
}

impl Route {
    pub fn total_m(&self) -> f64 {
        self.legs.iter().map(|l| l.distance.distance_m).sum()
    }
}

/// Where open orders meet the lanes of one network.
#[derive(Default)]
struct Attachments {
    generation: u64,
    of: std::collections::HashMap<WorkOrderId, Option<Attachment>, foldhash::fast::RandomState>,
}

pub struct WorkOrders {
    store: Arc<dyn Store>,
    complaints: Arc<Complaints>,
    registry: Arc<Registry>,
    open: RwLock<OpenOrders>,
    /// The lane network and the lane generation it was built from.
    lanes: RwLock<(u64, Arc<LaneNetwork>)>,
    /// Held while the lane network is rebuilt (one rebuild at a time).
    rebuilding: tokio::sync::Mutex<()>,
    /// Where each open order meets the lanes, for the network of one lane
    /// generation: an order is attached once, not at every query.
    attachments: RwLock<Attachments>,
    /// Held from a write's commit to its index update, so the index
    /// follows the commit order.
    writes: tokio::sync::Mutex<()>,
    /// Plans follow their orders (set once the planning service exists;
    /// weak, as planning holds this service).
    plans: std::sync::OnceLock<std::sync::Weak<dyn PlanObserver>>,
}

fn actor(principal: &Principal) -> Actor {
    Actor {
        token: Some(principal.token_id),
        role: principal.role.as_str().to_string(),
    }
}

fn priority_of(tier: DeadlineTier) -> Priority {
    match tier {
        DeadlineTier::Emergency => Priority::Urgent,
        DeadlineTier::Utilities => Priority::High,
        DeadlineTier::General => Priority::Normal,
        DeadlineTier::Complex => Priority::Low,
    }
}

fn optional_text(
    pointer: &str,
    text: Option<String>,
    max: usize,
) -> Result<Option<String>, WorkOrderError> {
    match text.map(|t| t.trim().to_string()) {
        Some(t) if !t.is_empty() => {
            check_text(pointer, &t, max)?;
            Ok(Some(t))
        }
        _ => Ok(None),
    }
}

/// Reads the orders still to be done from the store into an index.
async fn load_open(store: &dyn Store) -> Result<OpenOrders, StoreError> {
    let mut orders = Vec::new();
    let mut after = WorkOrderId(0);
    loop {
        let page = store.open_work_orders(after, LOAD_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let done = page.len() < LOAD_PAGE as usize;
        orders.extend(page);
        if done {
            break;
        }
    }
    tokio::task::spawn_blocking(move || OpenOrders::build(orders))
        .await
        .map_err(|e| StoreError::Corrupt(format!("building the open orders: {e}")))
}

impl WorkOrders {
    /// Reads the open orders into memory and builds the lane network.
    pub async fn open(
        store: Arc<dyn Store>,
        complaints: Arc<Complaints>,
        registry: Arc<Registry>,
    ) -> Result<Self, StoreError> {
        let started = Instant::now();
        let open = load_open(store.as_ref()).await?;
        let generation = registry.lane_generation();
        let lines = registry.lane_lines();
        let network = tokio::task::spawn_blocking(move || LaneNetwork::build(&lines))
            .await
            .map_err(|e| StoreError::Corrupt(format!("building the lane network: {e}")))?;
        tracing::info!(
            open_work_orders = open.len(),
            lane_nodes = network.node_count(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "work orders ready"
        );
        Ok(WorkOrders {
            store,
            complaints,
            registry,
            open: RwLock::new(open),
            lanes: RwLock::new((generation, Arc::new(network))),
            rebuilding: tokio::sync::Mutex::new(()),
            attachments: RwLock::new(Attachments::default()),
            writes: tokio::sync::Mutex::new(()),
            plans: std::sync::OnceLock::new(),
        })
    }

    /// Lets plans follow their orders.
    pub fn observe_plans(&self, observer: std::sync::Weak<dyn PlanObserver>) {
        let _ = self.plans.set(observer);
    }

    /// The lane network, rebuilt first when a lane changed since.
    pub async fn lanes(&self) -> Arc<LaneNetwork> {
        self.lanes_of_generation().await.1
    }

    /// The lane network with the lane generation it was built from.
    async fn lanes_of_generation(&self) -> (u64, Arc<LaneNetwork>) {
        let current = |this: &Self| {
            let lanes = this.lanes.read().unwrap_or_else(|p| p.into_inner());
            (lanes.0, lanes.1.clone())
        };
        let (built_from, network) = current(self);
        if built_from == self.registry.lane_generation() {
            return (built_from, network);
        }
        let _rebuilding = self.rebuilding.lock().await;
        // Another request may have rebuilt it while this one waited.
        let generation = self.registry.lane_generation();
        let (built_from, network) = current(self);
        if built_from == generation {
            return (built_from, network);
        }
        let lines = self.registry.lane_lines();
        match tokio::task::spawn_blocking(move || LaneNetwork::build(&lines)).await {
            Ok(rebuilt) => {
                let rebuilt = Arc::new(rebuilt);
                *self.lanes.write().unwrap_or_else(|p| p.into_inner()) =
                    (generation, rebuilt.clone());
                (generation, rebuilt)
            }
            Err(e) => {
                tracing::error!(error = %e, "rebuilding the lane network failed");
                (built_from, network)
            }
        }
    }

    fn read_open(&self) -> std::sync::RwLockReadGuard<'_, OpenOrders> {
        // A poisoned lock means a panic while writing the index, which its
        // code does not do; the data is still a valid tree.
        self.open.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_open(&self) -> std::sync::RwLockWriteGuard<'_, OpenOrders> {
        self.open.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The responsible units (and their crews).
    pub fn units(&self) -> &crate::services::routing::ResponsibleUnits {
        &self.complaints.hotline().units
    }

    pub fn open_count(&self) -> usize {
        self.read_open().len()
    }

    /// Whether a principal may see an order: a crew's or a unit's token
    /// its unit's orders; everyone else within their district.
    pub fn may_see(principal: &Principal, order: &WorkOrder) -> bool {
        match principal.role {
            Role::Crew | Role::Unit => principal.unit.as_ref() == Some(&order.draft.unit),
            _ => principal.may_act_in(order.draft.district),
        }
    }

    /// The orders still to be done inside a box (all without one) that
    /// the principal sees, by id: the map's collection and tile layer.
    pub fn open_seen_by(
        &self,
        principal: &Principal,
        bbox: Option<crate::domain::LonLatBox>,
    ) -> Vec<Arc<WorkOrder>> {
        self.read_open()
            .in_box(bbox, |order| Self::may_see(principal, order))
    }

    /// One order still to be done, if the principal sees it.
    pub fn open_seen_by_id(&self, principal: &Principal, id: i64) -> Option<Arc<WorkOrder>> {
        self.read_open()
            .get(WorkOrderId(id))
            .filter(|order| Self::may_see(principal, order))
    }

    fn check_sees(principal: &Principal, order: &WorkOrder) -> Result<(), WorkOrderError> {
        if Self::may_see(principal, order) {
            return Ok(());
        }
        Err(forbidden(match principal.role {
            Role::Crew | Role::Unit if principal.unit.is_none() => {
                "this token names no unit, so it sees no work orders".to_string()
            }
            Role::Crew | Role::Unit => format!(
                "work order {} belongs to unit {}, not this token's",
                order.id, order.draft.unit
            ),
            _ => "this token may not act outside its district".to_string(),
        }))
    }

    /// Checks that a principal may make this move on this order: its role
    /// may make the move, a crew only on its own crew's orders, a unit's
    /// staff only on their unit's.
    fn check_mover(
        principal: &Principal,
        order: &WorkOrder,
        to: WorkOrderStatus,
    ) -> Result<(), WorkOrderError> {
        Self::check_sees(principal, order)?;
        if principal.role == Role::Crew && principal.crew.as_ref() != order.draft.crew.as_ref() {
            return Err(forbidden(format!(
                "work order {} is not this crew's{}",
                order.id,
                order
                    .draft
                    .crew
                    .as_ref()
                    .map(|c| format!(" (it is crew {c}'s)"))
                    .unwrap_or_default()
            )));
        }
        if !order.status.may_become(to) {
            let next: Vec<&str> = order.status.next().iter().map(|s| s.as_str()).collect();
            return Err(WorkOrderError::Conflict(format!(
                "a {} work order cannot become {to}; it may become: {}",
                order.status,
                if next.is_empty() {
                    "nothing (it is final)".to_string()
                } else {
                    next.join(", ")
                }
            )));
        }
        if !may_move(principal.role, order.status, to) {
            return Err(forbidden(format!(
                "role {} may not move a work order from {} to {to}",
                principal.role, order.status
            )));
        }
        Ok(())
    }

    fn check_crew(&self, unit: &UnitCode, crew: &UnitCode) -> Result<(), WorkOrderError> {
        let units = &self.complaints.hotline().units;
        match units.unit(unit) {
            Some(u) if u.has_crew(crew) => Ok(()),
            Some(_) => Err(invalid(
                "/crew",
                format!("crew {crew} is not a crew of unit {unit}; GET /v1/units lists them"),
            )),
            None => Err(invalid("/unit", format!("unknown unit {unit}"))),
        }
    }

    /// Makes a work order.
    pub async fn create(
        &self,
        principal: &Principal,
        request: NewWorkOrder,
    ) -> Result<WorkOrder, WorkOrderError> {
        let from_case = request.complaint_id.is_some();
        let allowed = match principal.role {
            Role::Admin | Role::Planner | Role::Unit => true,
            Role::Designer => !from_case,
            Role::Operator => from_case,
            Role::Crew => false,
        };
        if !allowed {
            return Err(forbidden(format!(
                "role {} may not make {} work order",
                principal.role,
                if from_case { "a case's" } else { "a" }
            )));
        }
        let description =
            optional_text("/description", request.description, DESCRIPTION_MAX_CHARS)?;
        let note = optional_text("/note", request.note, NOTE_MAX_CHARS)?;
        if let Some(due) = request.due_at {
            if due < OffsetDateTime::now_utc() - time::Duration::days(1) {
                return Err(invalid("/due_at", "lies in the past"));
            }
        }
        let asset = match request.asset_id {
            Some(id) => Some(
                self.registry
                    .get(AssetId(id))
                    .await
                    .map_err(|_| invalid("/asset_id", format!("asset {id} does not exist")))?,
            ),
            None => None,
        };
        let asset_point = asset.as_ref().and_then(|a| {
            crate::spatial::IndexedAsset::new(a.asset.clone())
                .interior_point()
                .map(|p| (p.x(), p.y()))
        });
        let draft = if let Some(complaint_id) = request.complaint_id {
            let case = self.complaints.get(complaint_id).await?;
            let handling = case.handling.as_ref().ok_or_else(|| {
                WorkOrderError::Conflict(format!(
                    "complaint {complaint_id} is with no unit; dispatch it first"
                ))
            })?;
            if !matches!(
                case.status,
                ComplaintStatus::Dispatched | ComplaintStatus::InProgress
            ) {
                return Err(WorkOrderError::Conflict(format!(
                    "complaint {complaint_id} is {}; work orders are made for a dispatched or accepted case",
                    case.status
                )));
            }
            if request.unit.as_ref().is_some_and(|u| u != &handling.unit) {
                return Err(invalid(
                    "/unit",
                    format!("the case is with unit {}", handling.unit),
                ));
            }
            let location = request
                .location
                .or(asset_point)
                .or(case.draft.location)
                .ok_or_else(|| {
                    WorkOrderError::Conflict(format!(
                        "complaint {complaint_id} is unlocated; place it first"
                    ))
                })?;
            WorkOrderDraft {
                unit: handling.unit.clone(),
                crew: request.crew,
                origin: WorkOrderOrigin::Complaint,
                complaint_id: Some(complaint_id),
                plan_id: None,
                survey_id: None,
                asset_id: request.asset_id,
                location,
                district: case.draft.district,
                kind: request.kind.unwrap_or(WorkOrderKind::Repair),
                description: description.unwrap_or_else(|| {
                    format!(
                        "{}: {}",
                        case.draft.category.title(),
                        case.draft.description.chars().take(500).collect::<String>()
                    )
                }),
                priority: request
                    .priority
                    .unwrap_or_else(|| priority_of(handling.tier)),
                due_at: request.due_at.or(Some(handling.resolution_due)),
                positions: request.positions,
            }
        } else {
            let unit = request
                .unit
                .or_else(|| principal.unit.clone())
                .ok_or_else(|| invalid("/unit", "is required for a work order made by hand"))?;
            let location = request.location.or(asset_point).ok_or_else(|| {
                invalid(
                    "/geometry",
                    "a work order made by hand needs an asset_id or a Point",
                )
            })?;
            let district = asset
                .as_ref()
                .and_then(|a| a.asset.attributes.district())
                .or_else(|| self.registry.district_of_point(location));
            WorkOrderDraft {
                unit,
                crew: request.crew,
                origin: if request.plan_id.is_some() {
                    WorkOrderOrigin::Plan
                } else if request.survey_id.is_some() {
                    WorkOrderOrigin::Survey
                } else {
                    WorkOrderOrigin::Manual
                },
                complaint_id: None,
                plan_id: request.plan_id,
                survey_id: request.survey_id,
                asset_id: request.asset_id,
                location,
                district,
                kind: request.kind.unwrap_or(WorkOrderKind::Repair),
                description: description.ok_or_else(|| invalid("/description", "is required"))?,
                priority: request.priority.unwrap_or(Priority::Normal),
                due_at: request.due_at,
                positions: request.positions,
            }
        };
        let (lon, lat) = draft.location;
        if !self.registry.service_area().contains(lon, lat) {
            return Err(invalid("/geometry", "lies outside the service area"));
        }
        let units = &self.complaints.hotline().units;
        let unit = units
            .unit(&draft.unit)
            .ok_or_else(|| invalid("/unit", format!("unknown unit {}", draft.unit)))?;
        if let Some(d) = draft.district {
            if !unit.districts.contains(&d) {
                return Err(invalid(
                    "/unit",
                    format!("unit {} does not work in district {d}", draft.unit),
                ));
            }
        }
        if principal.role == Role::Unit && principal.unit.as_ref() != Some(&draft.unit) {
            return Err(forbidden(format!(
                "a unit's token makes work orders for its own unit, not {}",
                draft.unit
            )));
        }
        if !principal.may_act_in(draft.district) {
            return Err(forbidden("this token may not act outside its district"));
        }
        if let Some(crew) = &draft.crew {
            self.check_crew(&draft.unit, crew)?;
        }
        let _writes = self.writes.lock().await;
        let order = self
            .store
            .insert_work_order(&draft, note.as_deref(), &actor(principal))
            .await
            .map_err(|e| store_error(WorkOrderId(0), e))?;
        self.write_open().put(order.clone());
        drop(_writes);
        crate::services::audit::record(
            self.store.as_ref(),
            vec![crate::services::audit::Change::new(
                "work_order",
                order.id.0,
                "created",
                None,
                Some(feature::work_order_feature(&order)),
            )],
        )
        .await;
        Ok(order)
    }

    /// One order as a principal may see it.
    pub async fn get_for(
        &self,
        principal: &Principal,
        id: WorkOrderId,
    ) -> Result<WorkOrder, WorkOrderError> {
        let order = self
            .store
            .get_work_order(id)
            .await
            .map_err(|e| store_error(id, e))?
            .ok_or(WorkOrderError::NotFound(id))?;
        Self::check_sees(principal, &order)?;
        Ok(order)
    }

    pub async fn history(&self, id: WorkOrderId) -> Result<Vec<WorkOrderEvent>, WorkOrderError> {
        self.store
            .work_order_history(id)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// Orders by filter, newest first, within what the principal sees.
    pub async fn list(
        &self,
        principal: &Principal,
        mut filter: WorkOrderFilter,
    ) -> Result<Vec<WorkOrder>, WorkOrderError> {
        match principal.role {
            Role::Crew | Role::Unit => {
                let own = principal.unit.clone().ok_or_else(|| {
                    forbidden("this token names no unit, so it sees no work orders")
                })?;
                if filter.unit.as_ref().is_some_and(|u| u != &own) {
                    return Err(forbidden(format!(
                        "this token sees the work orders of unit {own} only"
                    )));
                }
                filter.unit = Some(own);
            }
            _ => {
                if let Some(d) = principal.district {
                    if filter.district.is_some_and(|f| f != d) {
                        return Err(forbidden("this token may not act outside its district"));
                    }
                    filter.district = Some(d);
                }
            }
        }
        self.store
            .work_orders(&filter)
            .await
            .map_err(|e| WorkOrderError::Store(e.into()))
    }

    /// The open orders near a point that the principal sees, with their
    /// walking distances along the lanes.
    pub async fn nearby(
        &self,
        principal: &Principal,
        request: &NearbyRequest,
    ) -> Result<Vec<NearbyOrder>, WorkOrderError> {
        if matches!(principal.role, Role::Crew | Role::Unit) && principal.unit.is_none() {
            return Err(forbidden(
                "this token names no unit, so it sees no work orders",
            ));
        }
        let hits = self
            .read_open()
            .nearby(request.at, request.radius_m, request.limit, |order| {
                Self::may_see(principal, order)
                    && (request.statuses.is_empty() || request.statuses.contains(&order.status))
                    && request
                        .crew
                        .as_ref()
                        .is_none_or(|c| order.draft.crew.as_ref() == Some(c))
            });
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        if !request.walking {
            return Ok(hits
                .into_iter()
                .map(|(order, straight_m)| NearbyOrder {
                    order,
                    straight_m,
                    walking: None,
                })
                .collect());
        }
        let (generation, lanes) = self.lanes_of_generation().await;
        let at = request.at;
        let targets = self.attached(generation, &lanes, &hits);
        // Within a few kilometres the search is short (tens of
        // microseconds on a city's lanes): done here, since handing it to a
        // blocking thread costs more. Wider, it goes to one.
        let walking = if request.radius_m <= INLINE_WALK_RADIUS_M {
            lanes.distances_from_attached(at, &targets)
        } else {
            tokio::task::spawn_blocking(move || lanes.distances_from_attached(at, &targets))
                .await
                .map_err(|e| WorkOrderError::Store(StoreFailure::Failed(e.to_string())))?
        };
        let mut found: Vec<NearbyOrder> = hits
            .into_iter()
            .zip(walking)
            .map(|((order, straight_m), mut walking)| {
                // The index's distance is the one the order was found by.
                walking.straight_m = straight_m;
                NearbyOrder {
                    order,
                    straight_m,
                    walking: Some(walking),
                }
            })
            .collect();
        if request.by_walking {
            let walked = |n: &NearbyOrder| n.walking.map_or(n.straight_m, |w| w.distance_m);
            found.sort_by(|a, b| {
                walked(a)
                    .total_cmp(&walked(b))
                    .then(a.order.id.cmp(&b.order.id))
            });
        }
        Ok(found)
    }

    /// The hits' sites with where they meet the lanes of `generation`'s
    /// network: from the cache, the missing ones attached now and kept.
    fn attached(
        &self,
        generation: u64,
        lanes: &LaneNetwork,
        hits: &[(Arc<WorkOrder>, f64)],
    ) -> Vec<((f64, f64), Option<Attachment>)> {
        let mut found: Vec<Option<Option<Attachment>>> = {
            let cache = self.attachments.read().unwrap_or_else(|p| p.into_inner());
            hits.iter()
                .map(|(o, _)| {
                    (cache.generation == generation)
                        .then(|| cache.of.get(&o.id).copied())
                        .flatten()
                })
                .collect()
        };
        let mut new = Vec::new();
        for ((order, _), slot) in hits.iter().zip(found.iter_mut()) {
            if slot.is_none() {
                let a = lanes.attach(order.draft.location);
                *slot = Some(a);
                new.push((order.id, a));
            }
        }
        if !new.is_empty() {
            let open = self.open_count();
            let mut cache = self.attachments.write().unwrap_or_else(|p| p.into_inner());
            // A new network, or orders long gone piling up: start over.
            if cache.generation != generation || cache.of.len() > 2 * open + 1_000 {
                cache.generation = generation;
                cache.of.clear();
            }
            cache.of.extend(new);
        }
        hits.iter()
            .zip(found)
            .map(|((o, _), a)| (o.draft.location, a.flatten()))
            .collect()
    }

    /// A crew's open jobs in walking order from `start`.
    pub async fn route(
        &self,
        principal: &Principal,
        crew: &UnitCode,
        start: (f64, f64),
    ) -> Result<Route, WorkOrderError> {
        let units = &self.complaints.hotline().units;
        let unit = units
            .unit_of_crew(crew)
            .ok_or_else(|| invalid("/crew", format!("unknown crew {crew}")))?;
        match principal.role {
            Role::Crew if principal.crew.as_ref() != Some(crew) => {
                return Err(forbidden(format!(
                    "a crew's token routes its own crew, not {crew}"
                )));
            }
            Role::Unit if principal.unit.as_ref() != Some(&unit.code) => {
                return Err(forbidden(format!(
                    "crew {crew} belongs to unit {}, not this token's",
                    unit.code
                )));
            }
            _ => {}
        }
        let mut jobs: Vec<Arc<WorkOrder>> = self
            .read_open()
            .of_crew(crew)
            .into_iter()
            .filter(|o| Self::may_see(principal, o))
            .collect();
        let start_point = Point::new(start.0, start.1);
        let from_start = |o: &WorkOrder| {
            distance_m(
                start_point,
                Point::new(o.draft.location.0, o.draft.location.1),
            )
        };
        jobs.sort_by(|a, b| {
            from_start(a)
                .total_cmp(&from_start(b))
                .then(a.id.cmp(&b.id))
        });
        let left_out = jobs.len().saturating_sub(MAX_ROUTE_STOPS);
        jobs.truncate(MAX_ROUTE_STOPS);
        let lanes = self.lanes().await;
        let stops: Vec<(f64, f64)> = jobs.iter().map(|o| o.draft.location).collect();
        let (order, legs) = tokio::task::spawn_blocking(move || lanes.route(start, &stops))
            .await
            .map_err(|e| WorkOrderError::Store(StoreFailure::Failed(e.to_string())))?;
        let stops = order.iter().filter_map(|i| jobs.get(*i).cloned()).collect();
        Ok(Route {
            start,
            stops,
            legs,
            left_out,
        })
    }

    /// An order read for a change. The change must find it at this
    /// version (the one its checks are made on), which `If-Match`, when
    /// sent, must name (else 412).
    async fn read_for_change(
        &self,
        principal: &Principal,
        id: WorkOrderId,
        precondition: &Precondition,
    ) -> Result<WorkOrder, WorkOrderError> {
        let order = self.get_for(principal, id).await?;
        if let Precondition::OneOf(versions) = precondition {
            if !versions.contains(&order.version) {
                return Err(WorkOrderError::Stale {
                    id: order.id,
                    current: order.version.0,
                });
            }
        }
        Ok(order)
    }

    /// Applies a change and keeps the open orders and the case in step.
    /// A change checked against a version that moved before it was stored
    /// is refused: 412 when the client named the version (`If-Match`),
    /// else 409.
    async fn apply(
        &self,
        principal: &Principal,
        current: &WorkOrder,
        change: WorkOrderChange,
        precondition: &Precondition,
    ) -> Result<WorkOrder, WorkOrderError> {
        let id = current.id;
        let if_match = matches!(precondition, Precondition::OneOf(_));
        let changed = {
            let _writes = self.writes.lock().await;
            let changed = self
                .store
                .change_work_order(id, &change)
                .await
                .map_err(|e| match store_error(id, e) {
                    WorkOrderError::Stale { id, .. } if !if_match => {
                        WorkOrderError::Conflict(format!(
                            "work order {id} changed while this request was checked; read it again"
                        ))
                    }
                    e => e,
                })?;
            self.write_open().put(changed.order.clone());
            changed
        };
        let order = changed.order;
        crate::services::audit::record(
            self.store.as_ref(),
            vec![crate::services::audit::Change::new(
                "work_order",
                id.0,
                change.action,
                Some(feature::work_order_feature(current)),
                Some(feature::work_order_feature(&order)),
            )],
        )
        .await;
        if let (Some(plan), Some(to)) = (order.draft.plan_id, change.to) {
            if matches!(
                to,
                WorkOrderStatus::InProgress
                    | WorkOrderStatus::Verified
                    | WorkOrderStatus::Cancelled
            ) {
                if let Some(observer) = self.plans.get().and_then(std::sync::Weak::upgrade) {
                    observer.plan_order_moved(principal, plan, to).await;
                }
            }
        }
        if let (Some(case), Some(to)) = (order.draft.complaint_id, change.to) {
            let started =
                to == WorkOrderStatus::InProgress && current.status == WorkOrderStatus::Assigned;
            let last = matches!(to, WorkOrderStatus::Done | WorkOrderStatus::Cancelled)
                && changed.others_open == Some(0)
                && (to == WorkOrderStatus::Done || changed.others_done.unwrap_or(0) > 0);
            if started || last {
                if let Err(e) = self
                    .complaints
                    .follow_work_orders(principal, case, last, (id.0, &order.draft.unit))
                    .await
                {
                    tracing::warn!(work_order = id.0, complaint = case.0, error = %e, "the case did not follow its work order");
                }
            }
        }
        Ok(order)
    }

    /// Moves an order along its lifecycle (all moves but `done`).
    pub async fn transition(
        &self,
        principal: &Principal,
        id: WorkOrderId,
        precondition: &Precondition,
        request: Move,
    ) -> Result<WorkOrder, WorkOrderError> {
        let note = optional_text("/note", request.note, NOTE_MAX_CHARS)?;
        let current = self.read_for_change(principal, id, precondition).await?;
        if request.to == WorkOrderStatus::Done {
            return Err(WorkOrderError::Conflict(format!(
                "a job is done through POST /v1/work-orders/{id}/done, with its evidence"
            )));
        }
        Self::check_mover(principal, &current, request.to)?;
        let mut change = WorkOrderChange::new(
            match request.to {
                WorkOrderStatus::Assigned if current.status == WorkOrderStatus::Open => "assigned",
                WorkOrderStatus::Assigned => "handed_back",
                WorkOrderStatus::Open => "unassigned",
                WorkOrderStatus::InProgress if current.status == WorkOrderStatus::Done => "redo",
                WorkOrderStatus::InProgress => "started",
                WorkOrderStatus::Verified => "verified",
                WorkOrderStatus::Cancelled => "cancelled",
                WorkOrderStatus::Done => "done",
            },
            current.status,
            actor(principal),
        );
        change.expect_version = Some(current.version);
        change.to = Some(request.to);
        change.note = note;
        match (current.status, request.to) {
            (WorkOrderStatus::Open, WorkOrderStatus::Assigned) => {
                let crew = request
                    .crew
                    .ok_or_else(|| invalid("/crew", "is required to assign a work order"))?;
                self.check_crew(&current.draft.unit, &crew)?;
                change.crew = Some(Some(crew));
            }
            (WorkOrderStatus::Assigned, WorkOrderStatus::Open) => {
                change.crew = Some(None);
            }
            _ if request.crew.is_some() => {
                return Err(invalid(
                    "/crew",
                    "is given only when assigning (PATCH changes the crew of an assigned order)",
                ));
            }
            _ => {}
        }
        if request.to == WorkOrderStatus::Cancelled && change.note.is_none() {
            return Err(invalid(
                "/note",
                "is required: say why the job is cancelled",
            ));
        }
        self.apply(principal, &current, change, precondition).await
    }

    /// Changes what a job is (crew, priority, description, due date);
    /// the order's unit's staff, planners and admins.
    pub async fn edit(
        &self,
        principal: &Principal,
        id: WorkOrderId,
        precondition: &Precondition,
        edit: Edit,
    ) -> Result<WorkOrder, WorkOrderError> {
        if matches!(precondition, Precondition::None) {
            return Err(WorkOrderError::PreconditionRequired(
                "send If-Match with the ETag of the work order you read".into(),
            ));
        }
        if !matches!(principal.role, Role::Admin | Role::Planner | Role::Unit) {
            return Err(forbidden(format!(
                "role {} may not change a work order; admin, planner or the unit's staff may",
                principal.role
            )));
        }
        let description = optional_text("/description", edit.description, DESCRIPTION_MAX_CHARS)?;
        let current = self.read_for_change(principal, id, precondition).await?;
        if !current.status.is_open() {
            return Err(WorkOrderError::Conflict(format!(
                "work order {id} is {}; only a job still to be done changes",
                current.status
            )));
        }
        let mut change = WorkOrderChange::new("changed", current.status, actor(principal));
        change.expect_version = Some(current.version);
        if let Some(crew) = edit.crew {
            if current.status == WorkOrderStatus::Open {
                return Err(WorkOrderError::Conflict(
                    "an open work order gets a crew by being assigned (POST …/transitions)".into(),
                ));
            }
            self.check_crew(&current.draft.unit, &crew)?;
            change.note = Some(format!("crew {crew}"));
            change.crew = Some(Some(crew));
        }
        change.priority = edit.priority;
        change.description = description;
        change.due_at = edit.due_at;
        self.apply(principal, &current, change, precondition).await
    }

    /// The crew reports a job done with its evidence: a note or photos
    /// (at least one), and the device's position. A photo's EXIF position,
    /// or without any the device's, more than 50 m from the site flags
    /// `photo_far_from_site`.
    pub async fn done(
        &self,
        principal: &Principal,
        id: WorkOrderId,
        precondition: &Precondition,
        report: DoneReport,
    ) -> Result<WorkOrder, WorkOrderError> {
        let note = optional_text("/note", report.note, NOTE_MAX_CHARS)?;
        if note.is_none() && report.photos.is_empty() {
            return Err(invalid(
                "/photos",
                "a job is done with evidence: a note, photos, or both",
            ));
        }
        if report.photos.len() > MAX_PHOTOS {
            return Err(invalid(
                "/photos",
                format!("at most {MAX_PHOTOS} photos go with one report"),
            ));
        }
        if let Some((lon, lat)) = report.position {
            if !self.registry.service_area().contains(lon, lat) {
                return Err(invalid("/position", "lies outside the service area"));
            }
        }
        let current = self.read_for_change(principal, id, precondition).await?;
        Self::check_mover(principal, &current, WorkOrderStatus::Done)?;
        let (site_lon, site_lat) = current.draft.location;
        let site = Point::new(site_lon, site_lat);
        let from_site = |(lon, lat): (f64, f64)| distance_m(site, Point::new(lon, lat));
        let photos: Vec<NewPhoto> = report
            .photos
            .into_iter()
            .map(|p| NewPhoto {
                media_type: p.media_type,
                distance_m: p.exif_position.map(from_site),
                exif_position: p.exif_position,
                sha256: p.sha256,
                bytes: p.bytes,
            })
            .collect();
        let position_distance_m = report.position.map(from_site);
        let photo_far = photos
            .iter()
            .any(|p| p.distance_m.is_some_and(|d| d > FAR_FROM_SITE_M));
        let any_exif = photos.iter().any(|p| p.distance_m.is_some());
        let device_far = !any_exif && position_distance_m.is_some_and(|d| d > FAR_FROM_SITE_M);
        let evidence = Evidence {
            note: note.clone(),
            position: report.position,
            position_distance_m: position_distance_m.map(|d| (d * 100.0).round() / 100.0),
            photos: Vec::new(),
            photo_far_from_site: photo_far || device_far,
        };
        let mut change = WorkOrderChange::new("done", current.status, actor(principal));
        change.expect_version = Some(current.version);
        change.to = Some(WorkOrderStatus::Done);
        change.note = note;
        change.evidence = Some(evidence);
        change.photos = photos;
        self.apply(principal, &current, change, precondition).await
    }

    /// A photo, to those who see what it belongs to.
    pub async fn photo(&self, principal: &Principal, id: i64) -> Result<Photo, WorkOrderError> {
        let photo = self
            .store
            .photo(id)
            .await
            .map_err(|e| WorkOrderError::Store(e.into()))?
            .ok_or(WorkOrderError::PhotoNotFound(id))?;
        match photo.owner.as_str() {
            "work_order" => {
                self.get_for(principal, WorkOrderId(photo.owner_id)).await?;
            }
            _ => {
                if !matches!(principal.role, Role::Admin | Role::Planner | Role::Designer) {
                    return Err(forbidden("survey photos are for planners and designers"));
                }
            }
        }
        Ok(photo)
    }
}
