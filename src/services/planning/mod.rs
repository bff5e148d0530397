//! Repair planning (规划): plans of repair works with the quantities,
//! costs and effects worked out from the geometry and the engineering
//! rules, their lifecycle (each move in the audit trail), and coverage by
//! walking distance.
//!
//! A plan names its targets (asset ids), or draws an area whose assets of
//! the kind's target kinds become its targets. Whenever the targets, the
//! area or the inputs change (while the plan is a draft or proposed), the
//! quantities are worked out again: they are never typed in.

pub mod chargers;
pub mod coverage;
mod ground;
pub mod life_circle;
mod orders;
pub mod quantities;
pub mod rules;
mod work_out;

pub use crate::store::PlanFilter;
pub use coverage::{CoverageAnswer, CoverageKind, CoverageScope};
pub use life_circle::{Catchment, CatchmentBand};
pub use rules::{EngineeringRules, Rules};
pub use work_out::{MAX_CHARGER_SITES, MAX_TARGETS};

use crate::domain::{
    AssetKind, Plan, PlanDraft, PlanId, PlanKind, PlanStatus, Principal, ValidationError,
    may_move_plan, may_write_plans,
};
use crate::services::audit::{Change, record};
use crate::services::query_budget::ScanGate;
use crate::services::registry::{Precondition, Registry};
use crate::services::store_failure::StoreFailure;
use crate::services::work_orders::WorkOrders;
use crate::store::{PlanChange, PlanRecord, Store, StoreError};
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest title and description, characters.
pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 4_000;
/// Most linked complaints.
pub const MAX_LINKED_COMPLAINTS: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("plan {0} does not exist")]
    NotFound(PlanId),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("plan {id} is at version {current}; reload it and try again")]
    Stale { id: PlanId, current: i64 },
    /// The work ran past its budget, found the server busy, or its client
    /// went away.
    #[error(transparent)]
    Budget(crate::services::query_budget::BudgetError),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

fn store_error(id: PlanId, e: StoreError) -> PlanError {
    match e {
        StoreError::NotFound => PlanError::NotFound(id),
        StoreError::VersionMismatch { current } => PlanError::Stale {
            id,
            current: current.0,
        },
        StoreError::Conflict(d) => PlanError::Conflict(d),
        other => PlanError::Store(other.into()),
    }
}

fn invalid(pointer: &str, detail: impl Into<String>) -> PlanError {
    PlanError::Invalid(ValidationError::single(pointer, detail))
}

/// The asset kinds a plan of a kind works on.
pub fn target_kinds(kind: PlanKind) -> &'static [AssetKind] {
    match kind {
        PlanKind::PermeablePaving => &[AssetKind::Courtyard, AssetKind::Lane],
        PlanKind::SensorLights => &[AssetKind::Lane],
        // A charger plan names candidate sites (inputs.sites), not assets.
        PlanKind::EbikeChargers => &[],
        PlanKind::DrainageRepair => &[AssetKind::Drainage],
        PlanKind::BuildingRestoration | PlanKind::ElevatorInstallation => &[AssetKind::Building],
        PlanKind::Facility => &[],
    }
}

/// A plan moved, and for an approval the orders it made (and what could
/// not be made, the plan staying approved).
pub struct Transitioned {
    pub plan: Plan,
    pub work_orders: Vec<i64>,
    pub work_order_problems: Vec<String>,
}

pub struct Planning {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    /// For the lane network (walking distances).
    work_orders: Arc<WorkOrders>,
    /// Shared with the walking analyses' blocking threads (not copied
    /// per request).
    rules: Arc<EngineeringRules>,
    /// The gate and budget of walk-based analyses (shared with the
    /// filtered scans of the OGC API).
    scans: ScanGate,
}

/// A plan's map geometry as a shape (an empty collection if it cannot be
/// read back).
pub fn plan_shape(plan: &Plan) -> geo::Geometry<f64> {
    serde_json::from_value::<geojson::Geometry>(plan.geometry.clone())
        .ok()
        .and_then(|g| geo::Geometry::<f64>::try_from(g).ok())
        .unwrap_or(geo::Geometry::GeometryCollection(
            geo::GeometryCollection::default(),
        ))
}

/// A plan's shape as a vector tile can draw it (one geometry type): its
/// areas, else its lines, else its points.
pub fn plan_tile_shape(plan: &Plan) -> geo::Geometry<f64> {
    use geo::Geometry as G;
    fn flatten(g: G<f64>, out: &mut Vec<G<f64>>) {
        match g {
            G::GeometryCollection(c) => c.0.into_iter().for_each(|g| flatten(g, out)),
            other => out.push(other),
        }
    }
    let mut parts = Vec::new();
    flatten(plan_shape(plan), &mut parts);
    let (mut polygons, mut lines, mut points) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        match part {
            G::Polygon(p) => polygons.push(p),
            G::MultiPolygon(m) => polygons.extend(m.0),
            G::LineString(l) => lines.push(l),
            G::MultiLineString(m) => lines.extend(m.0),
            G::Point(p) => points.push(p),
            G::MultiPoint(m) => points.extend(m.0),
            _ => {}
        }
    }
    if !polygons.is_empty() {
        G::MultiPolygon(geo::MultiPolygon(polygons))
    } else if !lines.is_empty() {
        G::MultiLineString(geo::MultiLineString(lines))
    } else {
        G::MultiPoint(geo::MultiPoint(points))
    }
}

/// A plan as a GeoJSON Feature.
pub fn plan_feature(plan: &Plan) -> Value {
    let d = &plan.draft;
    let time = |t: Option<time::OffsetDateTime>| t.map(crate::domain::utc_text);
    let mut properties = json!({
        "kind": d.kind,
        "title": d.title,
        "status": plan.status,
        "targets": d.targets,
        "worked_on": plan.quantities.targets,
        "complaint_ids": d.complaint_ids.iter().map(|c| c.0).collect::<Vec<_>>(),
        "inputs": d.inputs,
        "quantities": plan.quantities.quantities,
        "effects": plan.quantities.effects,
        "cost_lines": plan.quantities.cost_lines,
        "cost_cny": plan.quantities.cost_cny,
        "version": plan.version.0,
        "created_at": crate::domain::utc_text(plan.created_at),
        "updated_at": crate::domain::utc_text(plan.updated_at),
    });
    let extra = [
        ("description", d.description.clone().map(Value::from)),
        ("district", d.district.map(|x| Value::from(x.as_str()))),
        ("area", d.area.clone()),
        ("planned_start", time(d.planned_start).map(Value::from)),
        ("planned_end", time(d.planned_end).map(Value::from)),
        ("actual_start", time(d.actual_start).map(Value::from)),
        ("actual_end", time(d.actual_end).map(Value::from)),
        ("actual_cost_cny", d.actual_cost_cny.map(Value::from)),
        ("created_by", plan.created_by.map(Value::from)),
        (
            "positions",
            (!plan.quantities.positions.is_empty()).then(|| {
                json!({"type": "MultiPoint", "coordinates": plan.quantities.positions.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>()})
            }),
        ),
        (
            "flags",
            (!plan.quantities.flags.is_empty()).then(|| json!(plan.quantities.flags)),
        ),
    ];
    if let Some(p) = properties.as_object_mut() {
        for (name, value) in extra {
            if let Some(v) = value {
                p.insert(name.to_string(), v);
            }
        }
    }
    json!({"type": "Feature", "id": plan.id.0, "geometry": plan.geometry, "properties": properties})
}

impl Planning {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        work_orders: Arc<WorkOrders>,
        rules: EngineeringRules,
        scans: ScanGate,
    ) -> Self {
        Self {
            store,
            registry,
            work_orders,
            rules: Arc::new(rules),
            scans,
        }
    }

    pub fn rules(&self) -> &EngineeringRules {
        &self.rules
    }

    fn check_writer(principal: &Principal) -> Result<(), PlanError> {
        if may_write_plans(principal.role) {
            Ok(())
        } else {
            Err(PlanError::Forbidden(format!(
                "role {} may not write plans (planners and admins do; designers make drafts and propose them)",
                principal.role
            )))
        }
    }

    /// Makes a draft plan, its quantities worked out.
    pub async fn create(
        &self,
        principal: &Principal,
        mut draft: PlanDraft,
    ) -> Result<Plan, PlanError> {
        Self::check_writer(principal)?;
        let record = self.work_out(principal, &mut draft).await?;
        let plan = self
            .store
            .insert_plan(&record, Some(principal.token_id))
            .await
            .map_err(|e| store_error(PlanId(0), e))?;
        record_change(self.store.as_ref(), &plan, "created", None).await;
        Ok(plan)
    }

    pub async fn get(&self, id: PlanId) -> Result<Plan, PlanError> {
        self.store
            .get_plan(id)
            .await
            .map_err(|e| store_error(id, e))?
            .ok_or(PlanError::NotFound(id))
    }

    pub async fn list(&self, filter: &PlanFilter) -> Result<Vec<Plan>, PlanError> {
        Ok(self.store.plans(filter).await.map_err(StoreFailure::from)?)
    }

    async fn read_for_change(
        &self,
        principal: &Principal,
        id: PlanId,
        precondition: &Precondition,
    ) -> Result<Plan, PlanError> {
        Self::check_writer(principal)?;
        let plan = self.get(id).await?;
        if !principal.may_act_in(plan.draft.district) {
            return Err(PlanError::Forbidden(
                "this token may not act outside its district".into(),
            ));
        }
        if let Precondition::OneOf(versions) = precondition {
            if !versions.contains(&plan.version) {
                return Err(PlanError::Stale {
                    id,
                    current: plan.version.0,
                });
            }
        }
        Ok(plan)
    }

    async fn apply(
        &self,
        current: &Plan,
        change: PlanChange,
        precondition: &Precondition,
        action: &str,
    ) -> Result<Plan, PlanError> {
        let if_match = matches!(precondition, Precondition::OneOf(_));
        let plan =
            self.store
                .change_plan(current.id, &change)
                .await
                .map_err(|e| match store_error(current.id, e) {
                    PlanError::Stale { id, .. } if !if_match => PlanError::Conflict(format!(
                        "plan {id} changed while this request was checked; read it again"
                    )),
                    e => e,
                })?;
        record_change(self.store.as_ref(), &plan, action, Some(current)).await;
        Ok(plan)
    }

    /// Changes a plan's draft: `edit` gets the current draft and returns
    /// the new one. Targets, area and inputs change only while the plan is
    /// a draft or proposed (its quantities are worked out again); dates,
    /// actual cost, title and description at any time before it is final.
    pub async fn edit(
        &self,
        principal: &Principal,
        id: PlanId,
        precondition: &Precondition,
        edit: impl FnOnce(&PlanDraft) -> Result<PlanDraft, PlanError>,
    ) -> Result<Plan, PlanError> {
        let current = self.read_for_change(principal, id, precondition).await?;
        if current.status.next().is_empty() {
            return Err(PlanError::Conflict(format!(
                "plan {id} is {}: it changes no more",
                current.status
            )));
        }
        if principal.role == crate::domain::Role::Designer && !current.status.is_editable() {
            return Err(PlanError::Forbidden(format!(
                "designers change drafts and proposals; plan {id} is {}",
                current.status
            )));
        }
        let mut draft = edit(&current.draft)?;
        if draft.kind != current.draft.kind {
            return Err(invalid(
                "/kind",
                "a plan's kind does not change; make a new plan",
            ));
        }
        let reworked = draft.targets != current.draft.targets
            || draft.area != current.draft.area
            || draft.inputs != current.draft.inputs
            || draft.district != current.draft.district;
        if reworked && !current.status.is_editable() {
            return Err(PlanError::Conflict(format!(
                "plan {id} is {}: its targets, area, inputs and district are fixed once approved",
                current.status
            )));
        }
        let record = if reworked {
            self.work_out(principal, &mut draft).await?
        } else {
            // Only texts, dates, costs or linked cases: checked as when
            // made, the quantities and the map unchanged.
            Self::check_early(principal, &draft)?;
            self.check_complaints(&draft).await?;
            PlanRecord {
                draft,
                quantities: current.quantities.clone(),
                geometry: current.geometry.clone(),
                bbox: current.bbox,
            }
        };
        let change = PlanChange {
            expect_version: Some(current.version),
            expect_status: current.status,
            record: Some(record),
            to: None,
        };
        self.apply(&current, change, precondition, "edited").await
    }

    /// A move that follows the plan's orders (no precondition: it is
    /// checked against the version just read); the status it left.
    pub(super) async fn follow(
        &self,
        current: &Plan,
        to: PlanStatus,
    ) -> Result<PlanStatus, PlanError> {
        if !current.status.may_become(to) {
            return Ok(current.status);
        }
        let change = PlanChange {
            expect_version: Some(current.version),
            expect_status: current.status,
            record: None,
            to: Some(to),
        };
        self.apply(current, change, &Precondition::None, to.as_str())
            .await
            .map(|p| p.status)
    }

    /// Moves a plan along its lifecycle; approving it makes its work
    /// orders.
    pub async fn transition(
        &self,
        principal: &Principal,
        id: PlanId,
        precondition: &Precondition,
        to: PlanStatus,
    ) -> Result<Transitioned, PlanError> {
        let current = self.read_for_change(principal, id, precondition).await?;
        if !current.status.may_become(to) {
            let next: Vec<&str> = current.status.next().iter().map(|s| s.as_str()).collect();
            let status = current.status.as_str();
            let article = if status.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            return Err(PlanError::Conflict(format!(
                "{article} {status} plan cannot become {to}; it may become: {}",
                if next.is_empty() {
                    "nothing (it is final)".to_string()
                } else {
                    next.join(", ")
                }
            )));
        }
        if !may_move_plan(principal.role, current.status, to) {
            return Err(PlanError::Forbidden(format!(
                "role {} may not move a plan from {} to {to}",
                principal.role, current.status
            )));
        }
        // The orders are worked out first: a plan no unit can carry out
        // is not approved.
        let orders = if to == PlanStatus::Approved {
            Some(self.orders_of(&current)?)
        } else {
            None
        };
        let change = PlanChange {
            expect_version: Some(current.version),
            expect_status: current.status,
            record: None,
            to: Some(to),
        };
        let plan = self
            .apply(&current, change, precondition, to.as_str())
            .await?;
        let (work_orders, work_order_problems) = match orders {
            Some(orders) => self.make_orders(principal, &plan, orders).await,
            None if to == PlanStatus::Cancelled => self.cancel_orders(principal, &plan).await,
            None => (Vec::new(), Vec::new()),
        };
        Ok(Transitioned {
            plan,
            work_orders,
            work_order_problems,
        })
    }
}

fn check_texts(draft: &PlanDraft) -> Result<(), PlanError> {
    use crate::services::complaints::check_text;
    if draft.title.trim().is_empty() {
        return Err(invalid("/title", "is required"));
    }
    check_text("/title", &draft.title, TITLE_MAX_CHARS).map_err(PlanError::Invalid)?;
    if let Some(d) = &draft.description {
        check_text("/description", d, DESCRIPTION_MAX_CHARS).map_err(PlanError::Invalid)?;
    }
    if draft.targets.len() > MAX_TARGETS {
        return Err(invalid(
            "/targets",
            format!("at most {MAX_TARGETS} targets in one plan; split it"),
        ));
    }
    if let (Some(a), Some(b)) = (draft.planned_start, draft.planned_end) {
        if b < a {
            return Err(invalid("/planned_end", "is before planned_start"));
        }
    }
    if let (Some(a), Some(b)) = (draft.actual_start, draft.actual_end) {
        if b < a {
            return Err(invalid("/actual_end", "is before actual_start"));
        }
    }
    if let Some(c) = draft.actual_cost_cny {
        if !(c.is_finite() && (0.0..=1e12).contains(&c)) {
            return Err(invalid("/actual_cost_cny", "must be between 0 and 10^12"));
        }
    }
    let inputs = Value::Object(draft.inputs.clone()).to_string();
    if inputs.len() > 64 * 1024 {
        return Err(invalid("/inputs", "at most 64 KiB"));
    }
    Ok(())
}

/// The audit entry of a plan's change: the feature before and after.
async fn record_change(store: &dyn Store, plan: &Plan, action: &str, before: Option<&Plan>) {
    record(
        store,
        vec![Change::new(
            "plan",
            plan.id.0,
            action,
            before.map(plan_feature),
            Some(plan_feature(plan)),
        )],
    )
    .await;
}
