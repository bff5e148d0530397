//! What a walk-based analysis reads — the assets' index and the lane
//! network — and the budget it runs under. Coverage, catchments and a
//! facility plan's reach are worked out on a blocking thread inside the
//! scan gate (about one per core), looking at their clock as they go: a
//! planner asking about a whole district neither holds an async worker
//! nor runs past the scan budget (then 422), and a client that goes away
//! stops the work.

use super::{PlanError, Planning, invalid};
use crate::domain::{AssetId, AssetKind, LonLatBox};
use crate::services::query_budget::Clock;
use crate::services::registry::Registry;
use crate::spatial::{IndexedAsset, LaneNetwork};
use std::sync::Arc;

pub(super) struct Ground {
    pub registry: Arc<Registry>,
    pub lanes: Arc<LaneNetwork>,
    clock: Clock,
}

impl Ground {
    /// Whether the work may go on: within its budget, its client there.
    pub fn check(&self) -> Result<(), PlanError> {
        self.clock.check().map_err(PlanError::Budget)
    }
}

impl Planning {
    /// Runs `work` on the ground, in the scan gate, off the async
    /// workers.
    pub(super) async fn on_ground<R, F>(&self, work: F) -> Result<R, PlanError>
    where
        R: Send + 'static,
        F: FnOnce(&Ground) -> Result<R, PlanError> + Send + 'static,
    {
        let budget = self.scans.enter().await.map_err(PlanError::Budget)?;
        let ground = Ground {
            registry: self.registry.clone(),
            lanes: self.work_orders.lanes().await,
            clock: budget.clock(),
        };
        budget
            .run(move |_| Ok(work(&ground)))
            .await
            .map_err(PlanError::Budget)?
    }
}

/// An asset found in a box, with its courtyard (a building's).
pub(super) type InBox = (Arc<IndexedAsset>, Option<AssetId>);

/// The assets of `kind` in `bbox` (each with its courtyard, as the index
/// gives them); more than `max` is refused at `pointer`, saying where
/// (`place`: "here", "near one lane") — every analysis looks at a
/// bounded number of assets.
pub(super) fn in_box_at_most(
    registry: &Registry,
    kind: AssetKind,
    bbox: LonLatBox,
    max: usize,
    pointer: &str,
    place: &str,
) -> Result<Vec<InBox>, PlanError> {
    let found = registry.in_box(kind, bbox, max.saturating_add(1));
    if found.len() > max {
        return Err(invalid(
            pointer,
            format!("more than {max} {} {place}; narrow it", kind.collection()),
        ));
    }
    Ok(found)
}
