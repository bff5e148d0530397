//! A plan and its work orders: approving a plan makes one order per
//! target asset (a lane for lights, with that lane's new lamp positions
//! riding along), per charger site or for the new facility, for the unit
//! that routing names (a facility: its street office); a
//! plan starts with its first order started and completes when its last
//! is verified (cancelled ones aside). Cancelling a plan cancels its
//! orders not yet done.

use super::{PlanError, Planning, invalid};
use crate::domain::{
    AssetId, Category, Plan, PlanKind, PlanStatus, Principal, UnitCode, WorkOrderKind,
    WorkOrderStatus,
};
use crate::services::store_failure::StoreFailure;
use crate::services::work_orders::{NewWorkOrder, PlanObserver, WorkOrderFilter};
use serde_json::json;

/// Most orders one plan makes (its targets, or sites).
const MAX_PLAN_ORDERS: u32 = 1_000;

/// The case category whose routing picks a plan's unit.
fn category_of(kind: PlanKind) -> Category {
    match kind {
        PlanKind::PermeablePaving => Category::WaterPooling,
        PlanKind::SensorLights => Category::DarkLane,
        PlanKind::EbikeChargers => Category::EbikeCharging,
        PlanKind::DrainageRepair => Category::DrainageBlockage,
        PlanKind::BuildingRestoration => Category::HousingLeak,
        PlanKind::ElevatorInstallation => Category::ElevatorInstallation,
        PlanKind::Facility => Category::GreenSpace,
    }
}

fn order_kind(kind: PlanKind) -> WorkOrderKind {
    match kind {
        PlanKind::PermeablePaving => WorkOrderKind::Paving,
        PlanKind::DrainageRepair | PlanKind::BuildingRestoration => WorkOrderKind::Repair,
        _ => WorkOrderKind::Installation,
    }
}

/// One order to make: at an asset, or at a site.
pub(super) struct OrderPlan {
    asset_id: Option<i64>,
    location: Option<(f64, f64)>,
    unit: UnitCode,
    positions: Vec<(f64, f64)>,
    what: String,
}

impl Planning {
    /// The orders approving `plan` would make, each with its unit; an
    /// error naming the first target no unit answers for.
    pub(super) fn orders_of(&self, plan: &Plan) -> Result<Vec<OrderPlan>, PlanError> {
        let units = self.work_orders.units();
        let category = category_of(plan.draft.kind);
        let q = &plan.quantities;
        let mut out = Vec::new();
        if plan.draft.kind == PlanKind::EbikeChargers {
            for (i, site) in q.positions.iter().enumerate() {
                // A site that needs no port gets no job.
                let ports = q
                    .quantities
                    .iter()
                    .find(|m| m.name == "ports" && m.site == Some(i))
                    .map(|m| m.value)
                    .unwrap_or(0.0);
                if ports <= 0.0 {
                    continue;
                }
                let route = units
                    .route(
                        category,
                        &[crate::domain::AssetKind::Charger],
                        plan.draft.district,
                        None,
                    )
                    .ok_or_else(|| {
                        invalid(
                            &format!("/inputs/sites/{i}"),
                            "no unit answers for chargers here",
                        )
                    })?;
                out.push(OrderPlan {
                    asset_id: None,
                    location: Some(*site),
                    unit: route.unit,
                    positions: vec![*site],
                    what: format!("charger site {i}"),
                });
            }
            return Ok(out);
        }
        if plan.draft.kind == PlanKind::Facility {
            let site = q.positions.first().copied().ok_or_else(|| {
                PlanError::Conflict(format!("plan {} has no site to build at", plan.id))
            })?;
            let street = self.registry.street_at(site);
            let route = units
                .route(
                    category,
                    &[crate::domain::AssetKind::Facility],
                    plan.draft.district,
                    street.as_deref(),
                )
                .ok_or_else(|| invalid("/area", "no unit answers for a facility here"))?;
            out.push(OrderPlan {
                asset_id: None,
                location: Some(site),
                unit: route.unit,
                positions: vec![site],
                what: "the facility's site".to_string(),
            });
            return Ok(out);
        }
        // Lamp positions are in target order; each lane's count says
        // which are its.
        let mut next = 0usize;
        for id in &q.targets {
            let asset = self
                .registry
                .with_index(|index| index.get(AssetId(*id)).cloned())
                .ok_or_else(|| invalid("/targets", format!("asset {id} no longer exists")))?;
            let a = &asset.asset;
            let route = units
                .route(
                    category,
                    // New lights, for a lane's lamps: as routing rules name
                    // the assets a job is on.
                    &[match plan.draft.kind {
                        PlanKind::SensorLights => crate::domain::AssetKind::Light,
                        _ => a.kind(),
                    }],
                    a.attributes.district(),
                    a.attributes.street(),
                )
                .ok_or_else(|| invalid("/targets", format!("no unit answers for asset {id}")))?;
            let positions = if plan.draft.kind == PlanKind::SensorLights {
                let count = q
                    .quantities
                    .iter()
                    .find(|m| m.name == "new_lights" && m.asset_id == Some(*id))
                    .map(|m| m.value as usize)
                    .unwrap_or(0);
                let mine: Vec<(f64, f64)> =
                    q.positions.iter().skip(next).take(count).copied().collect();
                next += count;
                mine
            } else {
                Vec::new()
            };
            if plan.draft.kind == PlanKind::SensorLights && positions.is_empty() {
                continue;
            }
            out.push(OrderPlan {
                asset_id: Some(*id),
                location: None,
                unit: route.unit,
                positions,
                what: format!("{} {id}", a.kind().as_str()),
            });
        }
        if out.is_empty() {
            return Err(PlanError::Conflict(format!(
                "plan {} has nothing to build (no dark stretch, no port needed): cancel it rather than approve it",
                plan.id
            )));
        }
        Ok(out)
    }

    /// Makes the orders of a plan just approved; the ids made, and what
    /// could not be made.
    pub(super) async fn make_orders(
        &self,
        principal: &Principal,
        plan: &Plan,
        orders: Vec<OrderPlan>,
    ) -> (Vec<i64>, Vec<String>) {
        let (mut made, mut problems) = (Vec::new(), Vec::new());
        let due = plan
            .draft
            .planned_end
            .filter(|t| *t > time::OffsetDateTime::now_utc());
        for order in orders {
            let request = NewWorkOrder {
                unit: Some(order.unit),
                asset_id: order.asset_id,
                location: order.location,
                kind: Some(order_kind(plan.draft.kind)),
                description: Some(format!(
                    "Plan {} ({}): {} at {}",
                    plan.id, plan.draft.title, plan.draft.kind, order.what
                )),
                due_at: due,
                positions: (!order.positions.is_empty()).then(|| {
                    json!({"type": "MultiPoint", "coordinates": order.positions.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>()})
                }),
                plan_id: Some(plan.id.0),
                ..NewWorkOrder::default()
            };
            match self.work_orders.create(principal, request).await {
                Ok(o) => made.push(o.id.0),
                Err(e) => problems.push(format!("{}: {e}", order.what)),
            }
        }
        (made, problems)
    }

    /// Cancels the orders of a plan just cancelled that are not done
    /// (open, assigned or in progress): the ids cancelled, and what could
    /// not be (a done order waits for its verification; a move another
    /// request made first).
    pub(super) async fn cancel_orders(
        &self,
        principal: &Principal,
        plan: &Plan,
    ) -> (Vec<i64>, Vec<String>) {
        let (mut cancelled, mut problems) = (Vec::new(), Vec::new());
        let orders = match self.orders(plan).await {
            Ok(orders) => orders,
            Err(e) => {
                return (
                    cancelled,
                    vec![format!("its orders could not be read: {e}")],
                );
            }
        };
        for (id, status) in orders {
            if !status.next().contains(&WorkOrderStatus::Cancelled) {
                if status == WorkOrderStatus::Done {
                    problems.push(format!(
                        "work order {id} is done and waits for its verification; it stays"
                    ));
                }
                continue;
            }
            let request = crate::services::work_orders::Move {
                to: WorkOrderStatus::Cancelled,
                crew: None,
                note: Some(format!("plan {} was cancelled", plan.id)),
            };
            match self
                .work_orders
                .transition(
                    principal,
                    crate::domain::WorkOrderId(id),
                    &crate::services::registry::Precondition::None,
                    request,
                )
                .await
            {
                Ok(_) => cancelled.push(id),
                Err(e) => problems.push(format!("work order {id}: {e}")),
            }
        }
        (cancelled, problems)
    }

    /// A plan's orders, with their statuses.
    pub async fn orders(&self, plan: &Plan) -> Result<Vec<(i64, WorkOrderStatus)>, PlanError> {
        let orders = self
            .store
            .work_orders(&WorkOrderFilter {
                plan: Some(plan.id.0),
                limit: MAX_PLAN_ORDERS,
                ..WorkOrderFilter::default()
            })
            .await
            .map_err(StoreFailure::from)?;
        Ok(orders.iter().map(|o| (o.id.0, o.status)).collect())
    }
}

#[async_trait::async_trait]
impl PlanObserver for Planning {
    /// The first order started moves an approved plan to in_progress;
    /// when every order is verified or cancelled (one at least verified),
    /// the plan is completed. The audit trail names whoever moved the
    /// order.
    async fn plan_order_moved(&self, _principal: &Principal, plan_id: i64, to: WorkOrderStatus) {
        let id = crate::domain::PlanId(plan_id);
        let follow = async {
            let plan = self.get(id).await?;
            let mut status = plan.status;
            if to == WorkOrderStatus::InProgress && status == PlanStatus::Approved {
                status = self.follow(&plan, PlanStatus::InProgress).await?;
            }
            if matches!(to, WorkOrderStatus::Verified | WorkOrderStatus::Cancelled) {
                let orders = self.orders(&plan).await?;
                let closed = orders.iter().all(|(_, s)| {
                    matches!(s, WorkOrderStatus::Verified | WorkOrderStatus::Cancelled)
                });
                let verified = orders.iter().any(|(_, s)| *s == WorkOrderStatus::Verified);
                if closed && verified {
                    if status == PlanStatus::Approved {
                        status = self.follow(&plan, PlanStatus::InProgress).await?;
                    }
                    if status == PlanStatus::InProgress {
                        let plan = self.get(id).await?;
                        self.follow(&plan, PlanStatus::Completed).await?;
                    }
                }
            }
            Ok::<(), PlanError>(())
        };
        if let Err(e) = follow.await {
            tracing::warn!(plan = plan_id, error = %e, "the plan did not follow its work order");
        }
    }
}
