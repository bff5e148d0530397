//! Repair planning (规划): plans of repair works with the quantities,
//! costs and effects worked out from the geometry and the engineering
//! rules, their lifecycle (each move in the audit trail), and coverage by
//! walking distance.
//!
//! A plan names its targets (asset ids), or draws an area whose assets of
//! the kind's target kinds become its targets. Whenever the targets, the
//! area or the inputs change (while the plan is a draft or proposed), the
//! quantities are worked out again: they are never typed in.

pub mod quantities;
pub mod rules;

pub use crate::store::PlanFilter;
pub use rules::{EngineeringRules, Rules};

use crate::domain::{
    Asset, AssetId, AssetKind, Category, ComplaintFilter, GeometryShape, LonLatBox, Plan,
    PlanDraft, PlanId, PlanKind, PlanQuantities, PlanStatus, Principal, ValidationError,
    may_move_plan, may_write_plans,
};
use crate::services::audit::{Change, record};
use crate::services::registry::{Precondition, Registry};
use crate::services::store_failure::StoreFailure;
use crate::spatial::{GeometryLimits, distance_m, parse_geometry};
use crate::store::{PlanChange, PlanRecord, Store, StoreError};
use geo::{Geometry, Intersects};
use quantities::{DrainTarget, ElevatorTarget, LightsTarget, PavingTarget, RestorationTarget};
use serde_json::{Value, json};
use std::sync::Arc;

/// Most targets one plan may have (its quantities are worked out in the
/// request).
pub const MAX_TARGETS: usize = 500;
/// Longest title and description, characters.
pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 4_000;
/// Most linked complaints.
pub const MAX_LINKED_COMPLAINTS: usize = 1_000;
/// How far from a lane its lights may stand, metres (looked up around
/// the lane; a light counts only within its reach of the lane).
const LIGHT_SEARCH_M: f64 = 60.0;
/// Pooling complaints are counted within this distance of a drain.
const POOLING_RADIUS_M: f64 = 50.0;

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
    /// A kind whose quantities are not worked out yet.
    #[error("{0}")]
    NotBuilt(String),
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
        PlanKind::EbikeChargers => &[AssetKind::Courtyard, AssetKind::Building],
        PlanKind::DrainageRepair => &[AssetKind::Drainage],
        PlanKind::BuildingRestoration | PlanKind::ElevatorInstallation => &[AssetKind::Building],
        PlanKind::Facility => &[],
    }
}

pub struct Planning {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    rules: EngineeringRules,
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
    pub fn new(store: Arc<dyn Store>, registry: Arc<Registry>, rules: EngineeringRules) -> Self {
        Self {
            store,
            registry,
            rules,
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
        let record = self.work_out(&mut draft).await?;
        if !principal.may_act_in(record.draft.district) {
            return Err(PlanError::Forbidden(
                "this token may not plan outside its district".into(),
            ));
        }
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
        let mut draft = edit(&current.draft)?;
        if draft.kind != current.draft.kind {
            return Err(invalid(
                "/kind",
                "a plan's kind does not change; make a new plan",
            ));
        }
        let reworked = draft.targets != current.draft.targets
            || draft.area != current.draft.area
            || draft.inputs != current.draft.inputs;
        if reworked && !current.status.is_editable() {
            return Err(PlanError::Conflict(format!(
                "plan {id} is {}: its targets, area and inputs are fixed once approved",
                current.status
            )));
        }
        let record = if reworked {
            self.work_out(&mut draft).await?
        } else {
            PlanRecord {
                draft,
                quantities: current.quantities.clone(),
                geometry: current.geometry.clone(),
                bbox: bbox_of_feature_geometry(&current.geometry).unwrap_or(LonLatBox {
                    min_lon: 0.0,
                    min_lat: 0.0,
                    max_lon: 0.0,
                    max_lat: 0.0,
                }),
            }
        };
        if !principal.may_act_in(record.draft.district) {
            return Err(PlanError::Forbidden(
                "this token may not plan outside its district".into(),
            ));
        }
        let change = PlanChange {
            expect_version: Some(current.version),
            expect_status: current.status,
            record: Some(record),
            to: None,
        };
        self.apply(&current, change, precondition, "edited").await
    }

    /// Moves a plan along its lifecycle.
    pub async fn transition(
        &self,
        principal: &Principal,
        id: PlanId,
        precondition: &Precondition,
        to: PlanStatus,
    ) -> Result<Plan, PlanError> {
        let current = self.read_for_change(principal, id, precondition).await?;
        if !current.status.may_become(to) {
            let next: Vec<&str> = current.status.next().iter().map(|s| s.as_str()).collect();
            return Err(PlanError::Conflict(format!(
                "a {} plan cannot become {to}; it may become: {}",
                current.status,
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
        let change = PlanChange {
            expect_version: Some(current.version),
            expect_status: current.status,
            record: None,
            to: Some(to),
        };
        self.apply(&current, change, precondition, to.as_str())
            .await
    }

    /// The plan's targets (named, and those in its area), its district,
    /// its geometry and its quantities.
    async fn work_out(&self, draft: &mut PlanDraft) -> Result<PlanRecord, PlanError> {
        check_texts(draft)?;
        if draft.complaint_ids.len() > MAX_LINKED_COMPLAINTS {
            return Err(invalid(
                "/complaint_ids",
                format!("at most {MAX_LINKED_COMPLAINTS} linked complaints"),
            ));
        }
        for (i, c) in draft.complaint_ids.iter().enumerate() {
            self.store
                .get_complaint(*c)
                .await
                .map_err(StoreFailure::from)?
                .ok_or_else(|| {
                    invalid(
                        &format!("/complaint_ids/{i}"),
                        format!("complaint {c} does not exist"),
                    )
                })?;
        }
        let kinds = target_kinds(draft.kind);
        if kinds.is_empty() || draft.kind == PlanKind::EbikeChargers {
            return Err(PlanError::NotBuilt(format!(
                "the quantities of {} plans are not worked out yet",
                draft.kind
            )));
        }
        let area = match &draft.area {
            None => None,
            Some(value) => Some(
                parse_geometry(
                    value,
                    GeometryShape::Area,
                    GeometryLimits {
                        service_area: self.registry.service_area(),
                        ..GeometryLimits::default()
                    },
                )
                .map_err(|e| PlanError::Invalid(e.nested_under("/area")))?,
            ),
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut targets: Vec<(String, Asset)> = Vec::new();
        for (i, id) in draft.targets.iter().enumerate() {
            let pointer = format!("/targets/{i}");
            if !seen.insert(*id) {
                return Err(invalid(&pointer, format!("asset {id} is named twice")));
            }
            let asset = match self.registry.get(AssetId(*id)).await {
                Ok(view) => view.asset,
                Err(crate::services::registry::RegistryError::NotFound(_)) => {
                    return Err(invalid(&pointer, format!("asset {id} does not exist")));
                }
                Err(e) => return Err(PlanError::Store(StoreFailure::Failed(e.to_string()))),
            };
            if !kinds.contains(&asset.kind()) {
                return Err(invalid(
                    &pointer,
                    format!(
                        "asset {id} is a {}: a {} plan works on {}",
                        asset.kind().as_str(),
                        draft.kind,
                        kinds
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ));
            }
            targets.push((pointer, asset));
        }
        if let Some(area) = &area {
            let Some(bbox) = LonLatBox::of_geometry(area) else {
                return Err(invalid("/area", "the area is empty"));
            };
            for kind in kinds {
                for (found, _) in self.registry.in_box(*kind, bbox, MAX_TARGETS + 1) {
                    let a = &found.asset;
                    if a.geometry.intersects(area) && seen.insert(a.id.0) {
                        draft.targets.push(a.id.0);
                        targets.push((format!("/area (asset {})", a.id.0), a.clone()));
                    }
                }
            }
        }
        if targets.is_empty() {
            return Err(invalid(
                "/targets",
                "a plan needs targets: name assets, or draw an area with some in it",
            ));
        }
        if targets.len() > MAX_TARGETS {
            return Err(invalid(
                "/targets",
                format!("at most {MAX_TARGETS} targets in one plan; split it"),
            ));
        }
        if draft.district.is_none() {
            draft.district = targets.iter().find_map(|(_, a)| a.attributes.district());
        }
        let rules = self.rules.of(draft.district);
        let quantities = self.quantities(draft, rules, &targets).await?;
        let geometry = match &draft.area {
            Some(area) => area.clone(),
            None => json!({
                "type": "GeometryCollection",
                "geometries": targets.iter().map(|(_, a)| geometry_json(&a.geometry)).collect::<Vec<_>>(),
            }),
        };
        let mut bbox: Option<LonLatBox> = area.as_ref().and_then(LonLatBox::of_geometry);
        for (_, a) in &targets {
            if let Some(b) = LonLatBox::of_geometry(&a.geometry) {
                bbox = Some(bbox.map_or(b, |x| x.union(b)));
            }
        }
        let bbox = bbox.ok_or_else(|| invalid("/targets", "the targets have no extent"))?;
        Ok(PlanRecord {
            draft: draft.clone(),
            quantities,
            geometry,
            bbox,
        })
    }

    async fn quantities(
        &self,
        draft: &PlanDraft,
        rules: &Rules,
        targets: &[(String, Asset)],
    ) -> Result<PlanQuantities, PlanError> {
        let registry = &self.registry;
        Ok(match draft.kind {
            PlanKind::PermeablePaving => {
                let mut buildings: Vec<Vec<Asset>> = Vec::new();
                let mut heights = Vec::new();
                for (_, a) in targets {
                    let mut inside = Vec::new();
                    if a.kind() == AssetKind::Courtyard {
                        if let Some(b) = LonLatBox::of_geometry(&a.geometry) {
                            for (building, courtyard) in
                                registry.in_box(AssetKind::Building, b, 10_000)
                            {
                                if courtyard == Some(a.id) {
                                    inside.push(building.asset.clone());
                                }
                            }
                        }
                    }
                    buildings.push(inside);
                    heights.push(self.surveyed_heights(a.id.0).await?);
                }
                let paving_targets: Vec<PavingTarget<'_>> = targets
                    .iter()
                    .zip(&buildings)
                    .zip(heights)
                    .map(|(((pointer, asset), inside), heights)| PavingTarget {
                        pointer: pointer.clone(),
                        asset,
                        buildings: inside.iter().collect(),
                        heights,
                    })
                    .collect();
                quantities::paving(rules, draft.district, &paving_targets)?
            }
            PlanKind::SensorLights => {
                let lights: Vec<Vec<Asset>> = targets
                    .iter()
                    .map(|(_, lane)| {
                        LonLatBox::of_geometry(&lane.geometry)
                            .map(|b| {
                                registry
                                    .in_box(AssetKind::Light, b.grown_by_m(LIGHT_SEARCH_M), 10_000)
                                    .into_iter()
                                    .map(|(l, _)| l.asset.clone())
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect();
                let lanes: Vec<LightsTarget<'_>> = targets
                    .iter()
                    .zip(&lights)
                    .map(|((pointer, lane), near)| LightsTarget {
                        pointer: pointer.clone(),
                        lane,
                        lights: near.iter().collect(),
                    })
                    .collect();
                quantities::sensor_lights(rules, &lanes)?
            }
            PlanKind::DrainageRepair => {
                let mut drains = Vec::new();
                for (pointer, drain) in targets {
                    drains.push(DrainTarget {
                        pointer: pointer.clone(),
                        drain,
                        pooling_complaints: self.pooling_complaints_near(drain).await?,
                    });
                }
                quantities::drainage_repair(rules, &drains)?
            }
            PlanKind::BuildingRestoration => {
                let mut buildings = Vec::new();
                for (pointer, building) in targets {
                    let latest = self
                        .store
                        .surveys_of(building.id.0, 1)
                        .await
                        .map_err(StoreFailure::from)?
                        .into_iter()
                        .next();
                    let recorded = match &building.attributes {
                        crate::domain::AssetAttributes::Building(b) => {
                            b.condition.map(|c| c.score())
                        }
                        _ => None,
                    };
                    buildings.push(RestorationTarget {
                        pointer: pointer.clone(),
                        building,
                        grade: latest.as_ref().and_then(|s| s.draft.danger_grade),
                        condition: latest
                            .as_ref()
                            .and_then(|s| s.draft.overall().map(|c| c.score()))
                            .or(recorded),
                    });
                }
                quantities::building_restoration(rules, &buildings)?
            }
            PlanKind::ElevatorInstallation => {
                let facts = draft.inputs.get("buildings").and_then(Value::as_object);
                let mut buildings = Vec::new();
                for (pointer, building) in targets {
                    let id = building.id.0.to_string();
                    let at = format!("/inputs/buildings/{id}");
                    let fact = facts.and_then(|f| f.get(&id)).ok_or_else(|| {
                        invalid(
                            &at,
                            format!("give building {id}'s stairwells, households and consenting households"),
                        )
                    })?;
                    let count = |name: &str| -> Result<u32, PlanError> {
                        fact.get(name)
                            .and_then(Value::as_u64)
                            .and_then(|n| u32::try_from(n).ok())
                            .filter(|n| *n <= 10_000)
                            .ok_or_else(|| {
                                invalid(&format!("{at}/{name}"), "must be a whole number 0-10000")
                            })
                    };
                    let stairwells = count("stairwells")?;
                    if stairwells == 0 {
                        return Err(invalid(&format!("{at}/stairwells"), "must be at least 1"));
                    }
                    buildings.push(ElevatorTarget {
                        pointer: pointer.clone(),
                        building,
                        stairwells,
                        households: count("households")?,
                        consenting: count("consenting")?,
                    });
                }
                quantities::elevator_installation(rules, &buildings)?
            }
            PlanKind::EbikeChargers | PlanKind::Facility => {
                return Err(PlanError::NotBuilt(format!(
                    "the quantities of {} plans are not worked out yet",
                    draft.kind
                )));
            }
        })
    }

    /// The latest survey's courtyard floor and lane heights, if it has
    /// both.
    async fn surveyed_heights(&self, asset_id: i64) -> Result<Option<(f64, f64)>, PlanError> {
        let latest = self
            .store
            .surveys_of(asset_id, 1)
            .await
            .map_err(StoreFailure::from)?;
        Ok(latest
            .first()
            .and_then(|s| Some((s.draft.floor_height_m?, s.draft.lane_height_m?))))
    }

    /// Water-pooling complaints (not duplicates) within 50 m of a drain.
    async fn pooling_complaints_near(&self, drain: &Asset) -> Result<usize, PlanError> {
        let Geometry::Point(p) = &drain.geometry else {
            return Ok(0);
        };
        let filter = ComplaintFilter {
            bbox: Some(LonLatBox::around((p.x(), p.y()), POOLING_RADIUS_M)),
            categories: vec![Category::WaterPooling],
            exclude_duplicates: true,
            limit: 10_000,
            ..ComplaintFilter::default()
        };
        let found = self
            .store
            .complaints_page(&filter)
            .await
            .map_err(StoreFailure::from)?;
        Ok(found
            .iter()
            .filter(|c| {
                c.draft.location.is_some_and(|(lon, lat)| {
                    distance_m(*p, geo::Point::new(lon, lat)) <= POOLING_RADIUS_M
                })
            })
            .count())
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

fn geometry_json(geometry: &Geometry<f64>) -> Value {
    serde_json::to_value(geojson::Geometry::from(geometry)).unwrap_or(Value::Null)
}

fn bbox_of_feature_geometry(value: &Value) -> Option<LonLatBox> {
    let g: geojson::Geometry = serde_json::from_value(value.clone()).ok()?;
    let g: Geometry<f64> = g.try_into().ok()?;
    LonLatBox::of_geometry(&g)
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
