//! Relinking: when assets change, the complaints near them are linked
//! again by the same rules as at intake.

use super::Complaints;
use crate::domain::Category;
use crate::services::registry::{AssetChange, AssetObserver};
use crate::spatial::LonLatBox;
use crate::store::StoreError;

/// Changes of more assets than this at once are relinked by area, not
/// one by one.
const RELINK_BY_AREA_ABOVE: usize = 200;

impl Complaints {
    /// Recomputes the links of complaints that an asset change may affect.
    async fn relink(&self, changes: &[AssetChange]) -> Result<usize, StoreError> {
        let mut areas: Vec<(Vec<Category>, LonLatBox)> = Vec::new();
        for change in changes {
            let reach = self.rules.reach_of(change.kind);
            if reach.is_empty() {
                continue;
            }
            let radius = reach.iter().map(|(_, r)| *r).fold(0.0, f64::max);
            let categories: Vec<Category> = reach.iter().map(|(c, _)| *c).collect();
            for bbox in [change.before, change.after].into_iter().flatten() {
                areas.push((categories.clone(), bbox.grown_by_m(radius)));
            }
        }
        if areas.len() > RELINK_BY_AREA_ABOVE {
            // Many changes (an import): one pass over their joint extent.
            let mut categories: Vec<Category> = areas.iter().flat_map(|(c, _)| c.clone()).collect();
            categories.sort();
            categories.dedup();
            let joint = areas
                .iter()
                .map(|(_, b)| *b)
                .reduce(LonLatBox::union)
                .map(|b| vec![(categories, b)])
                .unwrap_or_default();
            areas = joint;
        }
        let mut updates = Vec::new();
        for (categories, bbox) in areas {
            for (id, category, location) in self.store.complaints_in(bbox, &categories).await? {
                if updates.iter().any(|(done, _)| *done == id) {
                    continue;
                }
                let linking = self
                    .registry
                    .with_index(|index| self.rules.link(index, category, location));
                updates.push((id, linking));
            }
        }
        self.store.replace_links(&updates).await?;
        Ok(updates.len())
    }
}

#[async_trait::async_trait]
impl AssetObserver for Complaints {
    async fn assets_changed(&self, changes: &[AssetChange]) {
        match self.relink(changes).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(complaints = n, "relinked complaints after an asset change"),
            Err(e) => tracing::error!(error = %e, "relinking complaints failed"),
        }
    }
}
