//! Coverage by walking distance: what in an area is not served, as
//! GeoJSON with totals. Lights: the dark stretches of its lanes (metres
//! unlit, the share lit). Chargers: the courtyards whose households are
//! more than the walking reach from every working charger (with the
//! straight-line distance, which would often count them as served).
//! Drainage: the drains due for repair. Facilities: the residents outside
//! each facility type's life circle (in `life_circle`).

use super::ground::{Ground, in_box_at_most};
use super::quantities;
use super::{PlanError, Planning, Rules, invalid};
use crate::domain::{Asset, AssetAttributes, AssetKind, ChargerStatus, District, LonLatBox};
use crate::services::registry::Registry;
use crate::spatial::{IndexedAsset, distance_m};
use geo::{Centroid, Geometry};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// What a coverage answer counts, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CoverageTotals {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlit_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_lit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households_unserved: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households_unserved_but_near_in_a_straight_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_served: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residents: Option<u64>,
    /// Per facility type: its circle, facilities, residents outside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_facility_type: Option<std::collections::BTreeMap<String, FacilityTypeTotals>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drains: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drains_due: Option<u64>,
}

/// What coverage counts for one facility type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityTypeTotals {
    pub minutes: u32,
    pub walk_m: f64,
    pub facilities: u64,
    pub residents_outside: u64,
    pub share_served: f64,
}

/// A coverage answer: the unserved as features, and the totals.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageAnswer {
    pub kind: &'static str,
    pub features: Vec<Value>,
    pub totals: CoverageTotals,
}

impl CoverageAnswer {
    pub fn to_geojson(&self) -> Value {
        json!({
            "type": "FeatureCollection",
            "kind": self.kind,
            "totals": self.totals,
            "numberReturned": self.features.len(),
            "features": self.features,
        })
    }
}

/// A share to four decimals (1 when there is nothing to serve).
pub fn share(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        1.0
    } else {
        ((part / whole) * 10_000.0).round() / 10_000.0
    }
}

/// Most assets of one kind a coverage answer looks at: a larger area is
/// to be narrowed.
pub const MAX_COVERAGE_ASSETS: usize = 50_000;

/// What coverage is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageKind {
    Lights,
    Chargers,
    Drainage,
    Facilities,
}

impl std::str::FromStr for CoverageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lights" => Ok(CoverageKind::Lights),
            "chargers" => Ok(CoverageKind::Chargers),
            "drainage" => Ok(CoverageKind::Drainage),
            "facilities" => Ok(CoverageKind::Facilities),
            other => Err(format!(
                "unknown coverage kind {other:?}; expected lights, chargers, drainage or facilities"
            )),
        }
    }
}

/// Where coverage is asked about: a box, a district, a street (by its
/// code), or several (all must hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoverageScope {
    pub bbox: Option<LonLatBox>,
    pub district: Option<District>,
    pub street: Option<String>,
}

impl CoverageScope {
    pub(super) fn holds(&self, asset: &Asset) -> bool {
        self.district
            .is_none_or(|d| asset.attributes.district() == Some(d))
            && self
                .street
                .as_deref()
                .is_none_or(|s| asset.attributes.street() == Some(s))
    }
}

impl Planning {
    /// What is not served in a scope, as GeoJSON features with totals.
    pub async fn coverage(
        &self,
        kind: CoverageKind,
        scope: &CoverageScope,
    ) -> Result<CoverageAnswer, PlanError> {
        if scope.bbox.is_none() && scope.district.is_none() && scope.street.is_none() {
            return Err(invalid("/", "say where: bbox, district or street"));
        }
        let (rules, scope) = (self.rules.clone(), scope.clone());
        match kind {
            CoverageKind::Lights => {
                self.on_ground(move |g| g.light_coverage(rules.of(scope.district), &scope))
                    .await
            }
            CoverageKind::Chargers => {
                self.on_ground(move |g| g.charger_coverage(rules.of(scope.district), &scope))
                    .await
            }
            CoverageKind::Drainage => self.drainage_coverage(&scope).await,
            CoverageKind::Facilities => {
                self.on_ground(move |g| g.facility_coverage(rules.of(scope.district), &scope))
                    .await
            }
        }
    }
}

/// The assets of a kind in a scope, bounded.
fn in_scope(
    registry: &Registry,
    kind: AssetKind,
    scope: &CoverageScope,
) -> Result<Vec<Arc<IndexedAsset>>, PlanError> {
    let bbox = scope.bbox.unwrap_or_else(|| registry.service_area());
    let found = in_box_at_most(registry, kind, bbox, MAX_COVERAGE_ASSETS, "/bbox", "here")?;
    Ok(found
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| scope.holds(&a.asset))
        .collect())
}

impl Ground {
    /// The assets of a kind in a scope, bounded.
    pub(super) fn in_scope(
        &self,
        kind: AssetKind,
        scope: &CoverageScope,
    ) -> Result<Vec<Arc<IndexedAsset>>, PlanError> {
        in_scope(&self.registry, kind, scope)
    }

    pub(super) fn light_coverage(
        &self,
        rules: &Rules,
        scope: &CoverageScope,
    ) -> Result<CoverageAnswer, PlanError> {
        let lanes = self.in_scope(AssetKind::Lane, scope)?;
        let mut features = Vec::new();
        let (mut lane_m, mut unlit_m) = (0.0, 0.0);
        for lane in &lanes {
            self.check()?;
            let Geometry::LineString(line) = &lane.asset.geometry else {
                continue;
            };
            let near = match LonLatBox::of_geometry(&lane.asset.geometry) {
                Some(b) => in_box_at_most(
                    &self.registry,
                    AssetKind::Light,
                    b.grown_by_m(100.0),
                    MAX_COVERAGE_ASSETS,
                    "/bbox",
                    "near one lane",
                )?,
                None => Vec::new(),
            };
            let lights: Vec<&Asset> = near.iter().map(|(l, _)| &l.asset).collect();
            let at = quantities::chainage(line);
            lane_m += at.last().copied().unwrap_or(0.0);
            for (from, to) in quantities::dark_stretches(rules, line, &lights) {
                unlit_m += to - from;
                let path = quantities::sub_line(line, &at, from, to);
                features.push(json!({
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": path.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>()},
                    "properties": {
                        "lane_id": lane.asset.id.0,
                        "lane_name": lane_name(&lane.asset),
                        "from_m": r2(from),
                        "to_m": r2(to),
                        "length_m": r2(to - from),
                    },
                }));
            }
        }
        Ok(CoverageAnswer {
            kind: "lights",
            features,
            totals: CoverageTotals {
                lane_m: Some(r2(lane_m)),
                unlit_m: Some(r2(unlit_m)),
                share_lit: Some(share(lane_m - unlit_m, lane_m)),
                ..CoverageTotals::default()
            },
        })
    }

    pub(super) fn charger_coverage(
        &self,
        rules: &Rules,
        scope: &CoverageScope,
    ) -> Result<CoverageAnswer, PlanError> {
        let reach = rules.chargers.walking_reach_m.value;
        let yards: Vec<(Arc<IndexedAsset>, u32, (f64, f64))> = self
            .in_scope(AssetKind::Courtyard, scope)?
            .into_iter()
            .filter_map(|y| {
                let households = match &y.asset.attributes {
                    AssetAttributes::Courtyard(c) => c.households.unwrap_or(0),
                    _ => 0,
                };
                let c = y.asset.geometry.centroid()?;
                (households > 0).then_some((y, households, (c.x(), c.y())))
            })
            .collect();
        let bbox = yards.iter().fold(None, |b: Option<LonLatBox>, (_, _, p)| {
            let p = LonLatBox::point(p.0, p.1);
            Some(b.map_or(p, |b| b.union(p)))
        });
        let near_chargers = match bbox {
            None => Vec::new(),
            Some(b) => in_box_at_most(
                &self.registry,
                AssetKind::Charger,
                b.grown_by_m(reach),
                MAX_COVERAGE_CHARGERS,
                "/bbox",
                "here",
            )?,
        };
        let chargers: Vec<(f64, f64)> = near_chargers
                .iter()
                .filter(|(c, _)| {
                    matches!(&c.asset.attributes, AssetAttributes::Charger(a) if a.status == ChargerStatus::Working)
                })
                .filter_map(|(c, _)| match &c.asset.geometry {
                    Geometry::Point(p) => Some((p.x(), p.y())),
                    _ => None,
                })
                .collect();
        // Each charger looks only at the yards within its reach, found in
        // the index, not at every yard in scope.
        let position: std::collections::HashMap<i64, usize> = yards
            .iter()
            .enumerate()
            .map(|(i, (y, _, _))| (y.asset.id.0, i))
            .collect();
        let lanes = &self.lanes;
        let mut walk: Vec<Option<f64>> = vec![None; yards.len()];
        let mut straight: Vec<Option<f64>> = vec![None; yards.len()];
        for charger in &chargers {
            self.check()?;
            let near: Vec<usize> = self
                .registry
                .in_box(
                    AssetKind::Courtyard,
                    LonLatBox::around(*charger, reach),
                    MAX_COVERAGE_ASSETS,
                )
                .iter()
                .filter_map(|(y, _)| position.get(&y.asset.id.0).copied())
                .filter(|i| {
                    distance_m(geo::Point::from(*charger), geo::Point::from(yards[*i].2)) <= reach
                })
                .collect();
            let points: Vec<(f64, f64)> = near.iter().map(|i| yards[*i].2).collect();
            let charger_on_lanes = lanes.attach(*charger).is_some();
            for (i, w) in near.iter().zip(lanes.distances_from(*charger, &points)) {
                straight[*i] = Some(straight[*i].map_or(w.straight_m, |d| d.min(w.straight_m)));
                // A straight line stands for a walk only where no lane
                // reaches one end; between two lanes it means the lanes do
                // not join them within the search: not served.
                if lanes.is_walk(&w, charger_on_lanes, yards[*i].2) {
                    walk[*i] = Some(walk[*i].map_or(w.distance_m, |d| d.min(w.distance_m)));
                }
            }
        }
        let mut features = Vec::new();
        let (mut households, mut unserved, mut near_straight) = (0u64, 0u64, 0u64);
        for (i, (yard, h, (lon, lat))) in yards.iter().enumerate() {
            households += u64::from(*h);
            if walk[i].is_some_and(|d| d <= reach) {
                continue;
            }
            unserved += u64::from(*h);
            let straight_serves = straight[i].is_some_and(|d| d <= reach);
            if straight_serves {
                near_straight += u64::from(*h);
            }
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "courtyard_id": yard.asset.id.0,
                    "name": lane_name(&yard.asset),
                    "households": h,
                    "walk_to_nearest_charger_m": walk[i].map(r2),
                    "straight_to_nearest_charger_m": straight[i].map(r2),
                    "straight_line_would_count_it_served": straight_serves,
                },
            }));
        }
        Ok(CoverageAnswer {
            kind: "chargers",
            features,
            totals: CoverageTotals {
                households: Some(households),
                households_unserved: Some(unserved),
                households_unserved_but_near_in_a_straight_line: Some(near_straight),
                share_served: Some(share((households - unserved) as f64, households as f64)),
                ..CoverageTotals::default()
            },
        })
    }
}

impl Planning {
    async fn drainage_coverage(&self, scope: &CoverageScope) -> Result<CoverageAnswer, PlanError> {
        let drains = in_scope(&self.registry, AssetKind::Drainage, scope)?;
        if drains.len() > MAX_DRAINS_CHECKED {
            return Err(invalid(
                "/bbox",
                format!("more than {MAX_DRAINS_CHECKED} drains here; narrow it"),
            ));
        }
        let mut features = Vec::new();
        for drain in &drains {
            let AssetAttributes::Drainage(d) = &drain.asset.attributes else {
                continue;
            };
            let condition = d.condition.map(|c| c.score());
            let complaints = self.pooling_complaints_near(&drain.asset).await?;
            let poor = condition.is_some_and(|c| c <= 2);
            if !poor && complaints < quantities::REPEATED_POOLING {
                continue;
            }
            let Geometry::Point(p) = &drain.asset.geometry else {
                continue;
            };
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.x(), p.y()]},
                "properties": {
                    "drain_id": drain.asset.id.0,
                    "condition": condition,
                    "pooling_complaints_within_50m": complaints,
                },
            }));
        }
        Ok(CoverageAnswer {
            kind: "drainage",
            totals: CoverageTotals {
                drains: Some(drains.len() as u64),
                drains_due: Some(features.len() as u64),
                ..CoverageTotals::default()
            },
            features,
        })
    }
}

/// Most working chargers one charger answer walks from (each is a
/// search along the lanes).
const MAX_COVERAGE_CHARGERS: usize = 2_000;

/// Most drains one drainage answer checks (each is a query).
const MAX_DRAINS_CHECKED: usize = 2_000;

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn lane_name(asset: &Asset) -> Option<String> {
    match &asset.attributes {
        AssetAttributes::Lane(l) => l.name.clone(),
        AssetAttributes::Courtyard(c) => c.name.clone(),
        _ => None,
    }
}
