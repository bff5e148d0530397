//! The 15-minute life circle (GB 50180-2018): which residents a facility
//! reaches within a walk along the lanes. Coverage: the residents outside
//! the circle of every facility of each type. Catchment: the residents
//! within 5, 10 and 15 minutes' walk of one facility. The same walks
//! count the residents a planned facility would newly bring inside its
//! circle.
//!
//! Residents are those recorded on courtyards (the compounds of the
//! estates are courtyards too), counted at each courtyard's centroid.

use super::coverage::{
    CoverageAnswer, CoverageScope, CoverageTotals, FacilityTypeTotals, MAX_COVERAGE_ASSETS, share,
};
use super::ground::{Ground, in_box_at_most};
use super::quantities::NewlyServed;
use super::{EngineeringRules, PlanError, Planning, Rules, invalid};
use crate::domain::{Asset, AssetAttributes, AssetId, AssetKind, FacilityType, LonLatBox};
use crate::spatial::{Attachment, LaneNetwork};
use geo::{Centroid, Distance, Geometry, Haversine, InteriorPoint, Intersects, Length};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// A facility drawn by its outline is entered anywhere along it: walks
/// start at points this far apart on the outline...
const OUTLINE_STEP_M: f64 = 50.0;
/// ...and at most this many of them (each is a search along the lanes).
const MAX_ENTRANCES: usize = crate::domain::MAX_FACILITY_PARTS;
/// Most facilities of every type looked at around a planned one.
const MAX_FACILITIES_AROUND: usize = 100_000;
/// Most facilities one coverage answer walks from.
const MAX_COVERAGE_FACILITIES: usize = 2_000;

/// A courtyard with residents, where they are counted.
#[derive(Debug, Clone)]
pub(super) struct Dwelling {
    pub id: i64,
    pub name: Option<String>,
    pub households: u32,
    pub residents: u32,
    pub at: (f64, f64),
}

/// Where walks to a facility start: a point facility's point; else
/// points spread evenly along its outline, about every
/// [`OUTLINE_STEP_M`] and about [`MAX_ENTRANCES`] in all, each part of a
/// MultiPolygon getting its share by length and one at least (its
/// largest [`MAX_ENTRANCES`] parts only). The outline is walked by
/// distance, never densified: a long outline costs its vertices, not
/// its length.
pub(super) fn entrances(geometry: &Geometry<f64>) -> Vec<(f64, f64)> {
    let outlines: Vec<&geo::LineString<f64>> = match geometry {
        Geometry::Point(p) => return vec![(p.x(), p.y())],
        Geometry::Polygon(p) => vec![p.exterior()],
        Geometry::MultiPolygon(mp) => mp.0.iter().map(|p| p.exterior()).collect(),
        other => {
            return other
                .interior_point()
                .map(|c| vec![(c.x(), c.y())])
                .unwrap_or_default();
        }
    };
    let mut rings: Vec<(&geo::LineString<f64>, f64)> = outlines
        .into_iter()
        .map(|ring| (ring, Haversine.length(ring)))
        .collect();
    rings.sort_by(|a, b| b.1.total_cmp(&a.1));
    rings.truncate(MAX_ENTRANCES);
    let total: f64 = rings.iter().map(|r| r.1).sum();
    rings
        .iter()
        .flat_map(|(ring, length)| {
            let share = if total > 0.0 {
                (MAX_ENTRANCES as f64 * length / total).round()
            } else {
                1.0
            };
            let count = share.min((length / OUTLINE_STEP_M).ceil()).max(1.0) as usize;
            points_along(ring, *length, count)
        })
        .collect()
}

/// `count` points evenly along a ring of `length` metres, the first at
/// its start (each placed between its segment's ends in degrees: the
/// segments of an outline are short).
fn points_along(ring: &geo::LineString<f64>, length: f64, count: usize) -> Vec<(f64, f64)> {
    let Some(first) = ring.0.first() else {
        return Vec::new();
    };
    if length <= 0.0 || count <= 1 {
        return vec![(first.x, first.y)];
    }
    let step = length / count as f64;
    let mut out = Vec::with_capacity(count);
    let (mut next, mut walked) = (0.0, 0.0);
    for line in ring.lines() {
        let piece = Haversine.distance(geo::Point::from(line.start), geo::Point::from(line.end));
        while next < walked + piece && out.len() < count {
            let r = (next - walked) / piece;
            out.push((
                line.start.x + r * (line.end.x - line.start.x),
                line.start.y + r * (line.end.y - line.start.y),
            ));
            next += step;
        }
        walked += piece;
    }
    out
}

/// Most walks (entrances × courtyards) from one facility: past it the
/// area is to be narrowed.
const MAX_WALK_PAIRS: usize = 2_000_000;
/// Most searches along the lanes (one per entrance) one answer makes.
const MAX_WALK_SEARCHES: usize = 20_000;

/// The shortest walk from any of `entrances` to each of `points` (None
/// where no walk is known: see [`LaneNetwork::counts_as_walk`]); zero for
/// a point inside the facility's outline. Entrances no lane reaches are
/// left out when a lane reaches another one: a straight line from the
/// far side of a park is no walk. Each point meets the lanes once, not
/// once per entrance.
pub(super) fn walks_from(
    lanes: &LaneNetwork,
    facility: &Geometry<f64>,
    entrances: &[(f64, f64)],
    points: &[(f64, f64)],
) -> Vec<Option<f64>> {
    let mut best: Vec<Option<f64>> = points
        .iter()
        .map(|p| facility.intersects(&geo::Point::from(*p)).then_some(0.0))
        .collect();
    let attached: Vec<((f64, f64), Option<Attachment>)> =
        points.iter().map(|p| (*p, lanes.attach(*p))).collect();
    let starts: Vec<((f64, f64), bool)> = entrances
        .iter()
        .map(|at| (*at, lanes.attach(*at).is_some()))
        .collect();
    let any_on_lanes = starts.iter().any(|(_, on)| *on);
    for (at, on_lanes) in starts {
        if any_on_lanes && !on_lanes {
            continue;
        }
        for (i, w) in lanes
            .distances_from_attached(at, &attached)
            .iter()
            .enumerate()
        {
            if LaneNetwork::counts_as_walk(w, on_lanes, attached[i].1.is_some()) {
                best[i] = Some(best[i].map_or(w.distance_m, |d| d.min(w.distance_m)));
            }
        }
    }
    best
}

/// Refuses one facility's walks past [`MAX_WALK_PAIRS`], pointing at
/// `pointer`.
fn check_walks(pointer: &str, entrances: usize, points: usize) -> Result<(), PlanError> {
    if entrances.saturating_mul(points) > MAX_WALK_PAIRS {
        return Err(invalid(
            pointer,
            format!(
                "{entrances} entrances × {points} courtyards is more walking than one answer does ({MAX_WALK_PAIRS}); narrow it"
            ),
        ));
    }
    Ok(())
}

/// Counts the searches of one answer, refusing it past
/// [`MAX_WALK_SEARCHES`].
struct Searches {
    made: usize,
    pointer: &'static str,
}

impl Searches {
    fn add(&mut self, entrances: usize) -> Result<(), PlanError> {
        self.made = self.made.saturating_add(entrances);
        if self.made > MAX_WALK_SEARCHES {
            return Err(invalid(
                self.pointer,
                format!(
                    "the facilities here have more than {MAX_WALK_SEARCHES} entrances to walk from; narrow it"
                ),
            ));
        }
        Ok(())
    }
}

/// One band of a catchment: the residents within a walk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatchmentBand {
    pub minutes: u32,
    pub walk_m: f64,
    pub courtyards: u64,
    pub households: u64,
    pub residents: u64,
}

/// The catchment of one facility: the residents within 5, 10 and 15
/// minutes' walk (each band holds the nearer ones too), and the
/// courtyards reached, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Catchment {
    pub facility: Value,
    pub facility_type: FacilityType,
    /// The circle its type should serve, minutes.
    pub serves_minutes: u32,
    pub bands: Vec<CatchmentBand>,
    pub features: Vec<Value>,
}

impl Catchment {
    pub fn to_geojson(&self) -> Value {
        json!({
            "type": "FeatureCollection",
            "facility": self.facility,
            "facility_type": self.facility_type,
            "serves_minutes": self.serves_minutes,
            "bands": self.bands,
            "numberReturned": self.features.len(),
            "features": self.features,
        })
    }
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Ground {
    /// The courtyards with residents in a box, bounded.
    pub(super) fn dwellings_in(
        &self,
        bbox: LonLatBox,
        pointer: &str,
    ) -> Result<Vec<Dwelling>, PlanError> {
        let found = in_box_at_most(
            &self.registry,
            AssetKind::Courtyard,
            bbox,
            MAX_COVERAGE_ASSETS,
            pointer,
            "within the walk of it",
        )?;
        Ok(found
            .iter()
            .filter_map(|(y, _)| dwelling(&y.asset))
            .collect())
    }

    /// The residents within 5, 10 and 15 minutes' walk of a facility.
    pub(super) fn catchment(
        &self,
        engineering: &EngineeringRules,
        id: i64,
    ) -> Result<Catchment, PlanError> {
        let facility = self
            .registry
            .with_index(|index| index.get(AssetId(id)).cloned())
            .ok_or_else(|| invalid("/facility", format!("asset {id} does not exist")))?;
        let AssetAttributes::Facility(attributes) = &facility.asset.attributes else {
            return Err(invalid(
                "/facility",
                format!(
                    "asset {id} is a {}, not a facility",
                    facility.asset.kind().as_str()
                ),
            ));
        };
        let rules = engineering.of(attributes.district);
        let lc = &rules.life_circle;
        let bands_m = [
            (5, lc.walk_5_min_m.value),
            (10, lc.walk_10_min_m.value),
            (15, lc.walk_15_min_m.value),
        ];
        let farthest = bands_m.iter().map(|b| b.1).fold(0.0, f64::max);
        let geometry = &facility.asset.geometry;
        let bbox = LonLatBox::of_geometry(geometry)
            .ok_or_else(|| invalid("/facility", "the facility has no extent"))?
            .grown_by_m(farthest);
        let dwellings = self.dwellings_in(bbox, "/facility")?;
        let lanes = &self.lanes;
        let points: Vec<(f64, f64)> = dwellings.iter().map(|d| d.at).collect();
        let starts = entrances(geometry);
        check_walks("/facility", starts.len(), points.len())?;
        let walks = walks_from(lanes, geometry, &starts, &points);
        let mut reached: Vec<(f64, &Dwelling)> = walks
            .iter()
            .zip(&dwellings)
            .filter_map(|(w, d)| w.filter(|w| *w <= farthest).map(|w| (w, d)))
            .collect();
        reached.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        let bands = bands_m
            .iter()
            .map(|(minutes, walk_m)| {
                let within = reached.iter().filter(|(w, _)| w <= walk_m);
                let (mut courtyards, mut households, mut residents) = (0, 0, 0);
                for (_, d) in within {
                    courtyards += 1;
                    households += u64::from(d.households);
                    residents += u64::from(d.residents);
                }
                CatchmentBand {
                    minutes: *minutes,
                    walk_m: *walk_m,
                    courtyards,
                    households,
                    residents,
                }
            })
            .collect();
        let features = reached
            .iter()
            .map(|(walk, d)| {
                let band = bands_m
                    .iter()
                    .find(|(_, m)| walk <= m)
                    .map(|(minutes, _)| *minutes);
                json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [d.at.0, d.at.1]},
                    "properties": {
                        "courtyard_id": d.id,
                        "name": d.name,
                        "households": d.households,
                        "residents": d.residents,
                        "walk_m": r2(*walk),
                        "within_minutes": band,
                    },
                })
            })
            .collect();
        Ok(Catchment {
            facility: json!({
                "id": id,
                "name": attributes.name,
                "facility_type": attributes.facility_type,
                "capacity": attributes.capacity,
            }),
            facility_type: attributes.facility_type,
            serves_minutes: lc.circle_of(attributes.facility_type).0,
            bands,
            features,
        })
    }

    /// The residents in a scope outside the circle of every facility of
    /// each type, by type.
    pub(super) fn facility_coverage(
        &self,
        rules: &Rules,
        scope: &CoverageScope,
    ) -> Result<CoverageAnswer, PlanError> {
        let dwellings: Vec<Dwelling> = self
            .in_scope(AssetKind::Courtyard, scope)?
            .iter()
            .filter_map(|y| dwelling(&y.asset))
            .collect();
        let lc = &rules.life_circle;
        let farthest = FacilityType::ALL
            .iter()
            .map(|t| lc.circle_of(*t).1)
            .fold(0.0, f64::max);
        let bbox = LonLatBox::around_points(dwellings.iter().map(|d| d.at));
        let facilities = match bbox {
            None => Vec::new(),
            Some(b) => in_box_at_most(
                &self.registry,
                AssetKind::Facility,
                b.grown_by_m(farthest),
                MAX_COVERAGE_FACILITIES,
                "/bbox",
                "here",
            )?,
        };
        let position: HashMap<i64, usize> = dwellings
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        let lanes = &self.lanes;
        // Per type, each dwelling's shortest walk to a facility of it
        // (within the type's circle).
        let mut nearest: BTreeMap<FacilityType, Vec<Option<f64>>> = FacilityType::ALL
            .iter()
            .map(|t| (*t, vec![None; dwellings.len()]))
            .collect();
        let mut counted: BTreeMap<FacilityType, u64> = BTreeMap::new();
        let mut searches = Searches {
            made: 0,
            pointer: if scope.bbox.is_some() { "/bbox" } else { "/" },
        };
        for (facility, _) in &facilities {
            let AssetAttributes::Facility(f) = &facility.asset.attributes else {
                continue;
            };
            // Facilities outside the scope serve residents inside it, but
            // only those inside are counted as its facilities.
            if scope.holds(&facility.asset)
                && scope.bbox.is_none_or(|b| {
                    LonLatBox::of_geometry(&facility.asset.geometry)
                        .is_some_and(|g| g.intersection(b).is_some())
                })
            {
                *counted.entry(f.facility_type).or_default() += 1;
            }
            let reach = lc.circle_of(f.facility_type).1;
            let geometry = &facility.asset.geometry;
            let Some(b) = LonLatBox::of_geometry(geometry) else {
                continue;
            };
            let around = in_box_at_most(
                &self.registry,
                AssetKind::Courtyard,
                b.grown_by_m(reach),
                MAX_COVERAGE_ASSETS,
                "/bbox",
                &format!("around facility {}", facility.asset.id.0),
            )?;
            let near: Vec<usize> = around
                .iter()
                .filter_map(|(y, _)| position.get(&y.asset.id.0).copied())
                .collect();
            let points: Vec<(f64, f64)> = near.iter().map(|i| dwellings[*i].at).collect();
            let starts = entrances(geometry);
            searches.add(starts.len())?;
            check_walks(searches.pointer, starts.len(), points.len())?;
            let walks = walks_from(lanes, geometry, &starts, &points);
            self.check()?;
            if let Some(best) = nearest.get_mut(&f.facility_type) {
                for (i, w) in near.iter().zip(walks) {
                    if let Some(w) = w.filter(|w| *w <= reach) {
                        best[*i] = Some(best[*i].map_or(w, |d: f64| d.min(w)));
                    }
                }
            }
        }
        let residents: u64 = dwellings.iter().map(|d| u64::from(d.residents)).sum();
        let households: u64 = dwellings.iter().map(|d| u64::from(d.households)).sum();
        let mut by_type = BTreeMap::new();
        for (t, walks) in &nearest {
            let (minutes, walk_m) = lc.circle_of(*t);
            let outside: u64 = dwellings
                .iter()
                .zip(walks)
                .filter(|(_, w)| w.is_none())
                .map(|(d, _)| u64::from(d.residents))
                .sum();
            by_type.insert(
                t.as_str().to_string(),
                FacilityTypeTotals {
                    minutes,
                    walk_m,
                    facilities: counted.get(t).copied().unwrap_or(0),
                    residents_outside: outside,
                    share_served: share((residents - outside) as f64, residents as f64),
                },
            );
        }
        let mut features = Vec::new();
        for (i, d) in dwellings.iter().enumerate() {
            let outside: Vec<&str> = nearest
                .iter()
                .filter(|(_, w)| w[i].is_none())
                .map(|(t, _)| t.as_str())
                .collect();
            if outside.is_empty() || d.residents == 0 {
                continue;
            }
            let walks: serde_json::Map<String, Value> = nearest
                .iter()
                .map(|(t, w)| (format!("walk_to_{}_m", t.as_str()), json!(w[i].map(r2))))
                .collect();
            let mut properties = json!({
                "courtyard_id": d.id,
                "name": d.name,
                "households": d.households,
                "residents": d.residents,
                "outside_circle_of": outside,
            });
            if let Some(p) = properties.as_object_mut() {
                p.extend(walks);
            }
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [d.at.0, d.at.1]},
                "properties": properties,
            }));
        }
        Ok(CoverageAnswer {
            kind: "facilities",
            features,
            totals: CoverageTotals {
                households: Some(households),
                residents: Some(residents),
                by_facility_type: Some(by_type),
                ..CoverageTotals::default()
            },
        })
    }

    /// The residents a new facility of `facility_type` at `geometry`
    /// would bring inside its circle: those within its walk that no
    /// facility of the type serves now. With the dwellings reached.
    pub(super) fn newly_served(
        &self,
        rules: &Rules,
        facility_type: FacilityType,
        geometry: &Geometry<f64>,
    ) -> Result<NewlyServed, PlanError> {
        let (minutes, reach) = rules.life_circle.circle_of(facility_type);
        let bbox = LonLatBox::of_geometry(geometry)
            .ok_or_else(|| invalid("/area", "the site has no extent"))?;
        let dwellings = self.dwellings_in(bbox.grown_by_m(reach), "/area")?;
        let lanes = &self.lanes;
        let points: Vec<(f64, f64)> = dwellings.iter().map(|d| d.at).collect();
        let starts = entrances(geometry);
        check_walks("/area", starts.len(), points.len())?;
        let walks = walks_from(lanes, geometry, &starts, &points);
        let reached: Vec<usize> = walks
            .iter()
            .enumerate()
            .filter(|(_, w)| w.is_some_and(|w| w <= reach))
            .map(|(i, _)| i)
            .collect();
        // Those reached that an existing facility of the type already
        // serves: facilities within twice the reach.
        // (A walk is never shorter than the straight line: a facility that
        // reaches a yard within the reach lies within twice the reach.)
        let around = in_box_at_most(
            &self.registry,
            AssetKind::Facility,
            bbox.grown_by_m(2.0 * reach),
            MAX_FACILITIES_AROUND,
            "/area",
            "around the site",
        )?;
        let existing: Vec<_> = around
            .into_iter()
            .filter(|(f, _)| {
                matches!(&f.asset.attributes, AssetAttributes::Facility(a) if a.facility_type == facility_type)
            })
            .collect();
        if existing.len() > MAX_COVERAGE_FACILITIES {
            return Err(invalid(
                "/area",
                format!("more than {MAX_COVERAGE_FACILITIES} facilities around the site"),
            ));
        }
        let mut served = vec![false; reached.len()];
        let reached_points: Vec<(f64, f64)> = reached.iter().map(|i| dwellings[*i].at).collect();
        let mut searches = Searches {
            made: 0,
            pointer: "/area",
        };
        for (facility, _) in &existing {
            let g = &facility.asset.geometry;
            self.check()?;
            let starts = entrances(g);
            searches.add(starts.len())?;
            check_walks("/area", starts.len(), reached_points.len())?;
            for (k, w) in walks_from(lanes, g, &starts, &reached_points)
                .into_iter()
                .enumerate()
            {
                if w.is_some_and(|w| w <= reach) {
                    served[k] = true;
                }
            }
        }
        let mut out = NewlyServed {
            minutes,
            reach_m: reach,
            ..NewlyServed::default()
        };
        for (k, i) in reached.iter().enumerate() {
            let d = &dwellings[*i];
            out.residents_reached += u64::from(d.residents);
            if !served[k] {
                out.residents_new += u64::from(d.residents);
                out.households_new += u64::from(d.households);
                out.courtyards_new.push(d.id);
            }
        }
        Ok(out)
    }
}

impl Planning {
    /// The residents within 5, 10 and 15 minutes' walk of a facility,
    /// worked out on the ground (in the scan gate, within its budget).
    pub async fn catchment(&self, id: i64) -> Result<Catchment, PlanError> {
        let rules = self.rules.clone();
        self.on_ground(move |g| g.catchment(&rules, id)).await
    }
}

/// A courtyard as a dwelling, if it records residents or households.
fn dwelling(asset: &Asset) -> Option<Dwelling> {
    let AssetAttributes::Courtyard(c) = &asset.attributes else {
        return None;
    };
    let (households, residents) = (c.households.unwrap_or(0), c.residents.unwrap_or(0));
    if households == 0 && residents == 0 {
        return None;
    }
    let at = asset.geometry.centroid()?;
    Some(Dwelling {
        id: asset.id.0,
        name: c.name.clone(),
        households,
        residents,
        at: (at.x(), at.y()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon, polygon};

    #[test]
    fn entrances_spread_along_the_outline_and_every_part_gets_one() {
        // A square of about 850 m × 1,110 m: about 40 entrances, evenly.
        let park: Polygon<f64> = polygon![
            (x: 116.40, y: 39.90), (x: 116.41, y: 39.90), (x: 116.41, y: 39.91), (x: 116.40, y: 39.91), (x: 116.40, y: 39.90)
        ];
        let starts = entrances(&Geometry::Polygon(park.clone()));
        assert_eq!(starts.len(), MAX_ENTRANCES);
        let ring = Haversine.length(park.exterior());
        let step = ring / MAX_ENTRANCES as f64;
        for pair in starts.windows(2) {
            let d = Haversine.distance(geo::Point::from(pair[0]), geo::Point::from(pair[1]));
            // Along one side the chord is the step; round a corner shorter.
            assert!(d <= step + 0.5 && d > step * 0.7, "{d} vs {step}");
        }
        // A small pocket park far away gets an entrance of its own.
        let pocket: Polygon<f64> = polygon![
            (x: 116.43, y: 39.90), (x: 116.4301, y: 39.90), (x: 116.4301, y: 39.9001), (x: 116.43, y: 39.9001), (x: 116.43, y: 39.90)
        ];
        let both = Geometry::MultiPolygon(geo::MultiPolygon(vec![park, pocket]));
        let starts = entrances(&both);
        assert!(starts.iter().any(|(x, _)| *x >= 116.43), "{starts:?}");
        assert!(starts.len() <= 2 * MAX_ENTRANCES);
        // A short outline: one entrance every 50 m at most, never none.
        let small: Polygon<f64> = Polygon::new(
            LineString::from(vec![
                (116.40, 39.90),
                (116.4001, 39.90),
                (116.4001, 39.9001),
                (116.40, 39.90),
            ]),
            vec![],
        );
        let starts = entrances(&Geometry::Polygon(small));
        assert!((1..=2).contains(&starts.len()), "{starts:?}");
        assert_eq!(
            entrances(&Geometry::Point(geo::Point::new(116.4, 39.9))),
            vec![(116.4, 39.9)]
        );
    }

    #[test]
    fn a_ring_with_repeated_points_gives_its_count_and_no_nan() {
        let ring = LineString::from(vec![
            (116.40, 39.90),
            (116.40, 39.90),
            (116.41, 39.90),
            (116.41, 39.90),
            (116.40, 39.90),
        ]);
        let length = Haversine.length(&ring);
        let points = points_along(&ring, length, 10);
        assert_eq!(points.len(), 10);
        assert!(points.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
    }
}
