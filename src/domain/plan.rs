//! Repair plans (改造方案): a kind of work on target assets or a drawn
//! area, with the quantities, cost and effects worked out from the
//! geometry and the engineering rules (never typed in), its lifecycle, and
//! who may make each move.

use super::complaint::vocabulary;
use super::{ComplaintId, District, Role, Version};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// A plan's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanId(pub i64);

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

vocabulary! {
    /// What a plan does.
    PlanKind {
        PermeablePaving => "permeable_paving",
        SensorLights => "sensor_lights",
        EbikeChargers => "ebike_chargers",
        DrainageRepair => "drainage_repair",
        BuildingRestoration => "building_restoration",
        ElevatorInstallation => "elevator_installation",
        Facility => "facility",
    }
}

vocabulary! {
    /// Where a plan is: draft → proposed → approved → in_progress →
    /// completed; or cancelled from any but completed.
    PlanStatus {
        Draft => "draft",
        Proposed => "proposed",
        Approved => "approved",
        InProgress => "in_progress",
        Completed => "completed",
        Cancelled => "cancelled",
    }
}

impl PlanStatus {
    /// The legal next statuses; `completed` and `cancelled` are final. A
    /// proposal may go back to draft to be reworked.
    pub fn next(self) -> &'static [PlanStatus] {
        use PlanStatus::*;
        match self {
            Draft => &[Proposed, Cancelled],
            Proposed => &[Approved, Draft, Cancelled],
            Approved => &[InProgress, Cancelled],
            InProgress => &[Completed, Cancelled],
            Completed | Cancelled => &[],
        }
    }

    pub fn may_become(self, to: PlanStatus) -> bool {
        self.next().contains(&to)
    }

    /// Whether its targets and inputs may still change (the quantities
    /// are worked out again).
    pub fn is_editable(self) -> bool {
        matches!(self, PlanStatus::Draft | PlanStatus::Proposed)
    }
}

/// Whether a role may write plans at all: planners and admins; designers
/// make drafts and propose them.
pub fn may_write_plans(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Planner | Role::Designer)
}

/// Who may make the move `from` → `to` of a plan: planners and admins
/// every legal move; designers only draft → proposed (and back).
pub fn may_move_plan(role: Role, from: PlanStatus, to: PlanStatus) -> bool {
    match role {
        Role::Admin | Role::Planner => true,
        Role::Designer => matches!(
            (from, to),
            (PlanStatus::Draft, PlanStatus::Proposed) | (PlanStatus::Proposed, PlanStatus::Draft)
        ),
        _ => false,
    }
}

/// A quantity or an effect with its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// The target asset it is of, when it is of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<i64>,
    /// The new site it is of (its place in `positions`), when it is of
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<usize>,
}

impl Measure {
    pub fn new(name: &str, value: f64, unit: &str) -> Self {
        Measure {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
            asset_id: None,
            site: None,
        }
    }

    pub fn of(mut self, asset_id: i64) -> Self {
        self.asset_id = Some(asset_id);
        self
    }

    pub fn site(mut self, site: usize) -> Self {
        self.site = Some(site);
        self
    }
}

/// One line of a plan's cost: quantity × unit cost, with the unit cost's
/// source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub unit_cost_cny: f64,
    pub cost_cny: f64,
    pub source: String,
}

/// What a plan needs and does, worked out from the geometry and the
/// rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PlanQuantities {
    /// Every asset the plan works on: those named and those found in its
    /// area.
    #[serde(default)]
    pub targets: Vec<i64>,
    /// What is to be built, per target and in all.
    pub quantities: Vec<Measure>,
    /// What it changes (runoff before and after, energy, households
    /// served).
    pub effects: Vec<Measure>,
    pub cost_lines: Vec<CostLine>,
    pub cost_cny: f64,
    /// New positions (lamps, charger sites) as [lon, lat], WGS 84.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<(f64, f64)>,
    /// Findings worth a look: a yard below its lane, a drain with repeated
    /// pooling complaints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl PlanQuantities {
    /// Adds a cost line and its cost to the total.
    pub fn cost(&mut self, item: &str, quantity: f64, unit: &str, unit_cost: f64, source: &str) {
        let cost = (quantity * unit_cost * 100.0).round() / 100.0;
        self.cost_lines.push(CostLine {
            item: item.to_string(),
            quantity,
            unit: unit.to_string(),
            unit_cost_cny: unit_cost,
            cost_cny: cost,
            source: source.to_string(),
        });
        self.cost_cny = ((self.cost_cny + cost) * 100.0).round() / 100.0;
    }
}

/// A plan as written: what the planner chose. Everything derived is in
/// [`PlanQuantities`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDraft {
    pub kind: PlanKind,
    pub title: String,
    pub description: Option<String>,
    pub district: Option<District>,
    /// The assets the work is on, named by id (those its area holds are
    /// found again at every rework: [`PlanQuantities::targets`]).
    pub targets: Vec<i64>,
    /// A drawn area (GeoJSON geometry, WGS 84) instead of or besides
    /// targets.
    pub area: Option<serde_json::Value>,
    pub complaint_ids: Vec<ComplaintId>,
    /// Kind-specific facts the geometry cannot give (an elevator's
    /// consenting households, a facility's type).
    pub inputs: serde_json::Map<String, serde_json::Value>,
    pub planned_start: Option<OffsetDateTime>,
    pub planned_end: Option<OffsetDateTime>,
    pub actual_start: Option<OffsetDateTime>,
    pub actual_end: Option<OffsetDateTime>,
    pub actual_cost_cny: Option<f64>,
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: PlanId,
    pub draft: PlanDraft,
    pub quantities: PlanQuantities,
    /// What the plan covers on the map (GeoJSON geometry, WGS 84): the
    /// drawn area, or the targets' geometries.
    pub geometry: serde_json::Value,
    /// The box of what it covers, for map queries.
    pub bbox: super::LonLatBox,
    pub status: PlanStatus,
    pub version: Version,
    pub created_by: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_legal_moves_and_only_by_their_roles() {
        use PlanStatus::*;
        assert!(Draft.may_become(Proposed));
        assert!(!Draft.may_become(Approved));
        assert!(!Completed.may_become(Cancelled));
        assert!(Completed.next().is_empty());
        assert!(may_move_plan(Role::Designer, Draft, Proposed));
        assert!(!may_move_plan(Role::Designer, Proposed, Approved));
        assert!(may_move_plan(Role::Planner, Proposed, Approved));
        assert!(!may_move_plan(Role::Crew, Draft, Proposed));
        assert!(!may_move_plan(Role::Operator, Draft, Cancelled));
    }

    #[test]
    fn costs_add_up_in_fen() {
        let mut q = PlanQuantities::default();
        q.cost("paving", 412.345, "m²", 350.0, "example");
        q.cost("lamp", 3.0, "each", 2500.0, "example");
        assert_eq!(q.cost_lines[0].cost_cny, 144_320.75);
        assert_eq!(q.cost_cny, 151_820.75);
    }
}
