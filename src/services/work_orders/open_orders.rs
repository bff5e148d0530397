//! The work orders still to be done, held in memory for "what is near
//! me": an R*-tree of their sites in ECEF metres (so the nearest in the
//! tree are the nearest on the ground, by chord), one of the same sites in
//! longitude and latitude (for the boxes of the map's collection and
//! tiles), and each crew's jobs.
//! Done, verified and cancelled orders leave it; the store keeps them.

use crate::domain::LonLatBox;
use crate::domain::{UnitCode, WorkOrder, WorkOrderId};
use crate::spatial::{Ecef, chord_m_for_distance_m, distance_m_from_chord_m};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

type Site = GeomWithData<[f64; 3], WorkOrderId>;
type MapSite = GeomWithData<[f64; 2], WorkOrderId>;

/// Most entries one nearby walk looks at before it stops (a filter that
/// matches almost nothing must not walk a whole city).
pub const MAX_VISITED: usize = 200_000;

#[derive(Default)]
pub struct OpenOrders {
    tree: RTree<Site>,
    map: RTree<MapSite>,
    orders: HashMap<WorkOrderId, Arc<WorkOrder>, foldhash::fast::RandomState>,
    by_crew: HashMap<UnitCode, BTreeSet<WorkOrderId>>,
}

fn site(order: &WorkOrder) -> Site {
    let (lon, lat) = order.draft.location;
    GeomWithData::new(Ecef::from_lon_lat(lon, lat), order.id)
}

fn map_site(order: &WorkOrder) -> MapSite {
    let (lon, lat) = order.draft.location;
    GeomWithData::new([lon, lat], order.id)
}

impl OpenOrders {
    /// The index of these orders (those still to be done).
    pub fn build(orders: Vec<WorkOrder>) -> Self {
        let open: Vec<WorkOrder> = orders.into_iter().filter(|o| o.status.is_open()).collect();
        let tree = RTree::bulk_load(open.iter().map(site).collect());
        let map = RTree::bulk_load(open.iter().map(map_site).collect());
        let mut index = OpenOrders {
            tree,
            map,
            ..OpenOrders::default()
        };
        for order in open {
            if let Some(crew) = &order.draft.crew {
                index
                    .by_crew
                    .entry(crew.clone())
                    .or_default()
                    .insert(order.id);
            }
            index.orders.insert(order.id, Arc::new(order));
        }
        index
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Puts an order as it now is: in (or replaced) while still to be
    /// done, out once done or cancelled.
    pub fn put(&mut self, order: WorkOrder) {
        if let Some(old) = self.orders.remove(&order.id) {
            self.tree.remove(&site(&old));
            self.map.remove(&map_site(&old));
            if let Some(crew) = &old.draft.crew {
                if let Some(jobs) = self.by_crew.get_mut(crew) {
                    jobs.remove(&old.id);
                    if jobs.is_empty() {
                        self.by_crew.remove(crew);
                    }
                }
            }
        }
        if order.status.is_open() {
            self.tree.insert(site(&order));
            self.map.insert(map_site(&order));
            if let Some(crew) = &order.draft.crew {
                self.by_crew
                    .entry(crew.clone())
                    .or_default()
                    .insert(order.id);
            }
            self.orders.insert(order.id, Arc::new(order));
        }
    }

    /// The open orders nearest `(lon, lat)` within `radius_m` that
    /// `accept` takes, nearest first (ties by id), at most `limit`, with
    /// their straight-line distances.
    pub fn nearby(
        &self,
        (lon, lat): (f64, f64),
        radius_m: f64,
        limit: usize,
        accept: impl Fn(&WorkOrder) -> bool,
    ) -> Vec<(Arc<WorkOrder>, f64)> {
        let origin = Ecef::from_lon_lat(lon, lat);
        let max_chord = chord_m_for_distance_m(radius_m);
        let max_chord_2 = max_chord * max_chord;
        let mut found = Vec::new();
        for (entry, chord_2) in self
            .tree
            .nearest_neighbor_iter_with_distance_2(&origin)
            .take(MAX_VISITED)
        {
            if chord_2 > max_chord_2 {
                break;
            }
            let Some(order) = self.orders.get(&entry.data) else {
                continue;
            };
            if accept(order) {
                found.push((order.clone(), distance_m_from_chord_m(chord_2.sqrt())));
                if found.len() >= limit {
                    break;
                }
            }
        }
        found
    }

    /// The open orders inside a longitude/latitude box (all of them
    /// without one) that `accept` takes, by id.
    pub fn in_box(
        &self,
        bbox: Option<LonLatBox>,
        accept: impl Fn(&WorkOrder) -> bool,
    ) -> Vec<Arc<WorkOrder>> {
        let mut found: Vec<Arc<WorkOrder>> = match bbox {
            Some(b) => self
                .map
                .locate_in_envelope(&AABB::from_corners(
                    [b.min_lon, b.min_lat],
                    [b.max_lon, b.max_lat],
                ))
                .filter_map(|entry| self.orders.get(&entry.data))
                .filter(|o| accept(o))
                .cloned()
                .collect(),
            None => self
                .orders
                .values()
                .filter(|o| accept(o))
                .cloned()
                .collect(),
        };
        found.sort_unstable_by_key(|o| o.id);
        found
    }

    /// One open order.
    pub fn get(&self, id: WorkOrderId) -> Option<Arc<WorkOrder>> {
        self.orders.get(&id).cloned()
    }

    /// A crew's open orders, by id.
    pub fn of_crew(&self, crew: &UnitCode) -> Vec<Arc<WorkOrder>> {
        self.by_crew
            .get(crew)
            .into_iter()
            .flatten()
            .filter_map(|id| self.orders.get(id).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Priority, Version, WorkOrderDraft, WorkOrderKind, WorkOrderOrigin, WorkOrderStatus,
    };

    fn order(id: i64, lon: f64, lat: f64, crew: Option<&str>) -> WorkOrder {
        let at = time::OffsetDateTime::UNIX_EPOCH;
        WorkOrder {
            id: WorkOrderId(id),
            draft: WorkOrderDraft {
                unit: UnitCode::parse("u").expect("code"),
                crew: crew.map(|c| UnitCode::parse(c).expect("code")),
                origin: WorkOrderOrigin::Manual,
                complaint_id: None,
                plan_id: None,
                survey_id: None,
                asset_id: None,
                location: (lon, lat),
                district: None,
                kind: WorkOrderKind::Repair,
                description: "x".into(),
                priority: Priority::Normal,
                due_at: None,
                positions: None,
            },
            status: if crew.is_some() {
                WorkOrderStatus::Assigned
            } else {
                WorkOrderStatus::Open
            },
            version: Version::FIRST,
            evidence: None,
            created_at: at,
            updated_at: at,
            done_at: None,
            verified_at: None,
        }
    }

    #[test]
    fn nearest_first_within_the_radius_and_done_orders_leave() {
        let mut index = OpenOrders::build(vec![
            order(1, 116.4000, 39.9400, Some("a")),
            order(2, 116.4010, 39.9400, None),
            order(3, 116.4100, 39.9400, Some("a")),
        ]);
        let hits = index.nearby((116.4001, 39.94), 200.0, 10, |_| true);
        let ids: Vec<i64> = hits.iter().map(|(o, _)| o.id.0).collect();
        assert_eq!(ids, vec![1, 2]);
        // 0.0001° of longitude at 39.94° N is about 8.54 m.
        assert!((hits[0].1 - 8.54).abs() < 0.05, "{}", hits[0].1);
        assert_eq!(index.of_crew(&UnitCode::parse("a").expect("code")).len(), 2);
        let mut done = order(1, 116.4000, 39.9400, Some("a"));
        done.status = WorkOrderStatus::Done;
        index.put(done);
        assert_eq!(index.len(), 2);
        assert_eq!(index.of_crew(&UnitCode::parse("a").expect("code")).len(), 1);
        let only_open = index.nearby((116.4001, 39.94), 200.0, 10, |o| o.draft.crew.is_none());
        assert_eq!(only_open.len(), 1);
        // The map's box: order 1 left it when done, 3 is east of it.
        let in_box = |index: &OpenOrders, b: Option<LonLatBox>| -> Vec<i64> {
            index.in_box(b, |_| true).iter().map(|o| o.id.0).collect()
        };
        let west = LonLatBox {
            min_lon: 116.39,
            min_lat: 39.93,
            max_lon: 116.405,
            max_lat: 39.95,
        };
        assert_eq!(in_box(&index, Some(west)), vec![2]);
        assert_eq!(in_box(&index, None), vec![2, 3]);
        // Moved (put again elsewhere): the box follows.
        index.put(order(2, 116.4100, 39.9401, None));
        assert!(in_box(&index, Some(west)).is_empty());
    }
}
