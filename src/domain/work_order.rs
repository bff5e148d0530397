//! Work orders (工单): a job for a unit's crew at a place, made from a
//! dispatched case, from an approved plan, or by hand; its lifecycle, who
//! may make each move, and the evidence of a job done.

use super::complaint::vocabulary;
use super::{ComplaintId, District, Role, UnitCode, Version};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// A work order's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkOrderId(pub i64);

impl fmt::Display for WorkOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

vocabulary! {
    /// Where a work order is: open (made, no crew) → assigned (to a crew)
    /// → in_progress (the crew started) → done (with evidence) → verified
    /// (by a planner or designer); or cancelled. A crew hands back a job it
    /// started (in_progress → assigned); its unit takes a job back from a
    /// crew (assigned → open); a verifier sends a job back to be redone
    /// (done → in_progress).
    WorkOrderStatus {
        Open => "open",
        Assigned => "assigned",
        InProgress => "in_progress",
        Done => "done",
        Verified => "verified",
        Cancelled => "cancelled",
    }
}

vocabulary! {
    /// What a job is.
    WorkOrderKind {
        Repair => "repair",
        Cleaning => "cleaning",
        Installation => "installation",
        Replacement => "replacement",
        Inspection => "inspection",
        Paving => "paving",
        Other => "other",
    }
}

vocabulary! {
    /// How soon a job is wanted.
    Priority {
        Urgent => "urgent",
        High => "high",
        Normal => "normal",
        Low => "low",
    }
}

vocabulary! {
    /// Where a work order came from.
    WorkOrderOrigin {
        Complaint => "complaint",
        Plan => "plan",
        Survey => "survey",
        Manual => "manual",
    }
}

impl WorkOrderStatus {
    /// Still to be done: held in memory for the nearby queries.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            WorkOrderStatus::Open | WorkOrderStatus::Assigned | WorkOrderStatus::InProgress
        )
    }

    /// The legal next statuses; `verified` and `cancelled` are final.
    pub fn next(self) -> &'static [WorkOrderStatus] {
        use WorkOrderStatus::*;
        match self {
            Open => &[Assigned, Cancelled],
            Assigned => &[InProgress, Open, Cancelled],
            InProgress => &[Done, Assigned, Cancelled],
            Done => &[Verified, InProgress],
            Verified | Cancelled => &[],
        }
    }

    pub fn may_become(self, to: WorkOrderStatus) -> bool {
        self.next().contains(&to)
    }
}

/// Who may make the move `from` → `to` of a work order: the crew's own
/// moves are a crew's (of the order's crew) and its unit's staff; a
/// verifier's are planners', designers' and admins'; assigning and
/// cancelling are its unit's staff's, planners' and admins'.
pub fn may_move(role: Role, from: WorkOrderStatus, to: WorkOrderStatus) -> bool {
    use WorkOrderStatus::*;
    match (from, to) {
        (Open, Assigned) | (Assigned, Open) | (_, Cancelled) => {
            matches!(role, Role::Admin | Role::Planner | Role::Unit)
        }
        (Assigned, InProgress) | (InProgress, Done) | (InProgress, Assigned) => {
            matches!(role, Role::Admin | Role::Crew | Role::Unit)
        }
        (Done, Verified) | (Done, InProgress) => {
            matches!(role, Role::Admin | Role::Planner | Role::Designer)
        }
        _ => false,
    }
}

/// Evidence of a job done: the crew's note and position, and what was
/// found comparing the photos' and the device's positions with the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where the crew's device was, WGS 84.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<(f64, f64)>,
    /// The device's distance from the site, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_distance_m: Option<f64>,
    /// Ids of the photos sent with it.
    #[serde(default)]
    pub photos: Vec<i64>,
    /// A photo's EXIF position, or without one the device's, lies more
    /// than [`FAR_FROM_SITE_M`] from the job.
    #[serde(default)]
    pub photo_far_from_site: bool,
}

/// Evidence taken this far from the job is flagged.
pub const FAR_FROM_SITE_M: f64 = 50.0;

/// A work order as it is made, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrderDraft {
    pub unit: UnitCode,
    pub crew: Option<UnitCode>,
    pub origin: WorkOrderOrigin,
    pub complaint_id: Option<ComplaintId>,
    pub plan_id: Option<i64>,
    pub survey_id: Option<i64>,
    pub asset_id: Option<i64>,
    /// WGS 84 longitude and latitude.
    pub location: (f64, f64),
    pub district: Option<District>,
    pub kind: WorkOrderKind,
    pub description: String,
    pub priority: Priority,
    pub due_at: Option<OffsetDateTime>,
    /// What rides along: a plan's new positions, as GeoJSON (a
    /// MultiPoint), for the crew to set out.
    pub positions: Option<serde_json::Value>,
}

/// A stored work order.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrder {
    pub id: WorkOrderId,
    pub draft: WorkOrderDraft,
    pub status: WorkOrderStatus,
    pub version: Version,
    pub evidence: Option<Evidence>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub done_at: Option<OffsetDateTime>,
    pub verified_at: Option<OffsetDateTime>,
}

/// One step in a work order's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrderEvent {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<WorkOrderStatus>,
    pub to: WorkOrderStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crew: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_token: Option<i64>,
    pub actor_role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_go_nowhere_and_every_move_has_a_mover() {
        for status in WorkOrderStatus::ALL {
            for to in status.next() {
                assert!(
                    Role::ALL.iter().any(|r| may_move(*r, *status, *to)),
                    "{status} → {to}"
                );
            }
        }
        assert!(WorkOrderStatus::Verified.next().is_empty());
        assert!(WorkOrderStatus::Cancelled.next().is_empty());
        assert!(!WorkOrderStatus::Open.may_become(WorkOrderStatus::Done));
    }

    #[test]
    fn crews_work_and_verifiers_verify() {
        use WorkOrderStatus::*;
        assert!(may_move(Role::Crew, Assigned, InProgress));
        assert!(may_move(Role::Crew, InProgress, Done));
        assert!(!may_move(Role::Crew, Done, Verified));
        assert!(!may_move(Role::Crew, Open, Cancelled));
        assert!(may_move(Role::Designer, Done, Verified));
        assert!(!may_move(Role::Operator, Open, Assigned));
    }
}
