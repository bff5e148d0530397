//! Working a plan out: its targets (named, and those its drawn area
//! holds), the district and the token's right to plan there, and what
//! each kind's quantities need (the buildings in a courtyard, the lights
//! near a lane, the latest surveys, the pooling complaints near a drain,
//! the households and chargers within walking reach of a charger site).
//! Every gathering is bounded: a plan that would need more is refused.

use super::chargers::{Households, Site};
use super::ground::Ground;
use super::quantities::{
    DrainTarget, ElevatorTarget, LightsTarget, PavingTarget, RestorationTarget,
};
use super::{PlanError, Planning, Rules, invalid, target_kinds};
use crate::domain::{
    Asset, AssetAttributes, AssetId, AssetKind, Category, ChargerStatus, ComplaintFilter,
    FacilityType, GeometryShape, LonLatBox, PlanDraft, PlanKind, PlanQuantities, Principal,
    Structure,
};
use crate::services::store_failure::StoreFailure;
use crate::spatial::{GeometryLimits, IndexedAsset, distance_m, parse_geometry};
use crate::store::PlanRecord;
use geo::{Centroid, ConvexHull, CoordsIter, Geometry, InteriorPoint, Intersects, MultiPoint};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Most targets one plan may have (its quantities are worked out in the
/// request).
pub const MAX_TARGETS: usize = 500;
/// Most assets a drawn area's box may hold before the exact test: a
/// larger area is to be split.
const MAX_AREA_CANDIDATES: usize = 20_000;
/// Most vertices of a drawn area.
const MAX_AREA_VERTICES: usize = 1_000;
/// Widest reach a light may record (its attribute's bound): lights are
/// looked for this far around a lane.
const MAX_LIGHT_REACH_M: f64 = 100.0;
/// Most lights, buildings or courtyards gathered for one plan in all.
const MAX_GATHERED: usize = 100_000;
/// Pooling complaints are counted within this distance of a drain, up to
/// this many (a repair needs two).
const POOLING_RADIUS_M: f64 = 50.0;
const POOLING_COUNT_LIMIT: u32 = 100;
/// Largest facility a plan draws, m² (Beijing's Olympic Forest Park is
/// 680 ha).
const MAX_FACILITY_M2: f64 = 10_000_000.0;
/// Most candidate charger sites in one plan.
pub const MAX_CHARGER_SITES: usize = 50;
/// A plan's map geometry keeps its targets' shapes up to this many
/// vertices, else their convex hull.
const MAX_GEOMETRY_VERTICES: usize = 5_000;

fn forbidden(detail: impl Into<String>) -> PlanError {
    PlanError::Forbidden(detail.into())
}

/// Counts what a plan gathers, refusing it past [`MAX_GATHERED`].
struct Gathered(usize);

impl Gathered {
    fn add(&mut self, n: usize) -> Result<(), PlanError> {
        self.0 += n;
        if self.0 > MAX_GATHERED {
            return Err(invalid(
                "/targets",
                format!("this plan would look at more than {MAX_GATHERED} assets; split it"),
            ));
        }
        Ok(())
    }
}

impl Planning {
    /// Checks what needs no lookup: the texts, dates and cost, and a
    /// district-scoped token naming another district. Before any work.
    pub(super) fn check_early(principal: &Principal, draft: &PlanDraft) -> Result<(), PlanError> {
        super::check_texts(draft)?;
        // Each kind reads its own inputs; any other is a mistake to say.
        let known: &[&str] = match draft.kind {
            PlanKind::EbikeChargers => &["sites"],
            PlanKind::ElevatorInstallation => &["buildings"],
            PlanKind::Facility => &["facility_type", "capacity", "site"],
            _ => &[],
        };
        if let Some(unknown) = draft.inputs.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(
                &format!("/inputs/{}", unknown.replace('~', "~0").replace('/', "~1")),
                format!(
                    "a {} plan takes {}",
                    draft.kind,
                    if known.is_empty() {
                        "no inputs".to_string()
                    } else {
                        format!("only these inputs: {}", known.join(", "))
                    }
                ),
            ));
        }
        if let (Some(own), Some(named)) = (principal.district, draft.district) {
            if own != named {
                return Err(forbidden(format!("this token plans in {own}, not {named}")));
            }
        }
        Ok(())
    }

    /// Checks the linked complaints exist, with one query.
    pub(super) async fn check_complaints(&self, draft: &PlanDraft) -> Result<(), PlanError> {
        if draft.complaint_ids.is_empty() {
            return Ok(());
        }
        let filter = ComplaintFilter {
            ids: draft.complaint_ids.clone(),
            limit: draft.complaint_ids.len() as u32,
            ..ComplaintFilter::default()
        };
        let found: BTreeSet<i64> = self
            .store
            .complaints_page(&filter)
            .await
            .map_err(StoreFailure::from)?
            .iter()
            .map(|c| c.id.0)
            .collect();
        for (i, c) in draft.complaint_ids.iter().enumerate() {
            if !found.contains(&c.0) {
                return Err(invalid(
                    &format!("/complaint_ids/{i}"),
                    format!("complaint {c} does not exist"),
                ));
            }
        }
        let unique: BTreeSet<i64> = draft.complaint_ids.iter().map(|c| c.0).collect();
        if unique.len() != draft.complaint_ids.len() {
            return Err(invalid("/complaint_ids", "names a complaint twice"));
        }
        Ok(())
    }

    /// The plan's targets, district, quantities and map geometry, for a
    /// principal allowed to plan where they are.
    pub(super) async fn work_out(
        &self,
        principal: &Principal,
        draft: &mut PlanDraft,
    ) -> Result<PlanRecord, PlanError> {
        Self::check_early(principal, draft)?;
        self.check_complaints(draft).await?;
        let area = match &draft.area {
            None => None,
            Some(value) => Some(
                parse_geometry(
                    value,
                    GeometryShape::Area,
                    GeometryLimits {
                        service_area: self.registry.service_area(),
                        max_vertices: MAX_AREA_VERTICES,
                    },
                )
                .map_err(|e| PlanError::Invalid(e.nested_under("/area")))?,
            ),
        };
        let targets = self.targets(draft, area.as_ref()).await?;
        let facility = if draft.kind == PlanKind::Facility {
            Some(self.facility_site(draft, area.as_ref())?)
        } else {
            None
        };
        let sites = match (&facility, draft.kind) {
            (_, PlanKind::EbikeChargers) => self.charger_sites(draft)?,
            (Some(site), _) => site
                .geometry
                .interior_point()
                .map(|c| vec![(c.x(), c.y())])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let site_pointer = |i: usize| match &facility {
            Some(site) => site.pointer.to_string(),
            None => format!("/inputs/sites/{i}"),
        };
        if targets.is_empty() && sites.is_empty() {
            return Err(invalid(
                "/targets",
                if draft.kind == PlanKind::EbikeChargers {
                    "a charger plan needs candidate sites: inputs.sites, [[lon, lat], …]"
                } else {
                    "a plan needs targets: name assets, or draw an area with some in it"
                },
            ));
        }
        // Where the targets (and sites) are decides the district and who
        // may plan it.
        let mut site_districts: Vec<_> = sites
            .iter()
            .map(|s| self.registry.district_of_point(*s))
            .collect();
        // A facility's outline is where it is: no vertex of it may lie in
        // another district than the token's (a vertex on empty land,
        // where no district is known, is no other district's).
        if let (Some(own), Some(site)) = (principal.district, &facility) {
            if let Some(other) = site
                .geometry
                .coords_iter()
                .map(|c| self.registry.district_of_point((c.x, c.y)))
                .find(|d| d.is_some_and(|d| d != own))
            {
                site_districts.push(other);
            }
        }
        // Where the district's boundary is imported, the whole outline
        // must lie inside it (an edge may cross a neighbour's bulge
        // between two vertices that do not).
        if let (Some(own), Some(site)) = (principal.district, &facility) {
            if self.registry.district_covers(own, &site.geometry) == Some(false) {
                return Err(forbidden(format!(
                    "{} reaches outside {own}, where this token plans",
                    site.pointer
                )));
            }
        }
        if let Some(own) = principal.district {
            if let Some(i) = site_districts.iter().position(|d| *d != Some(own)) {
                return Err(forbidden(format!(
                    "{} is not in {own}, where this token plans",
                    site_pointer(i)
                )));
            }
        }
        let districts: BTreeSet<_> = targets
            .iter()
            .map(|(_, a)| a.asset.attributes.district())
            .chain(site_districts)
            .collect();
        if let Some(own) = principal.district {
            if let Some((pointer, a)) = targets
                .iter()
                .find(|(_, a)| a.asset.attributes.district() != Some(own))
            {
                return Err(forbidden(format!(
                    "{pointer}: asset {} is not in {own}, where this token plans",
                    a.asset.id.0
                )));
            }
        }
        // Rules, costs and budgets are a district's: a plan lies in one.
        let known: BTreeSet<_> = districts.iter().flatten().collect();
        if known.len() > 1 {
            return Err(invalid(
                "/targets",
                format!(
                    "its targets and sites lie in {}; a plan lies in one district (its rules and budget are that district's): split it",
                    known
                        .iter()
                        .map(|d| d.as_str())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
        match draft.district {
            Some(named) => {
                if let Some(Some(other)) = districts.iter().find(|d| **d != Some(named)) {
                    return Err(invalid(
                        "/district",
                        format!("the plan says {named}, but a target is in {other}"),
                    ));
                }
            }
            None => draft.district = districts.iter().flatten().next().copied(),
        }
        let rules = self.rules.of(draft.district);
        let mut quantities = match &facility {
            Some(site) => self.facility_quantities(rules, site, &sites).await?,
            None => self.quantities(draft, rules, &targets, &sites).await?,
        };
        quantities.targets = targets.iter().map(|(_, a)| a.asset.id.0).collect();
        // A facility drawn by its outline shows as its area, not its
        // centroid besides.
        let map_sites = if area.is_some() && facility.is_some() {
            &[][..]
        } else {
            &sites[..]
        };
        let (geometry, bbox) = map_geometry(area.as_ref(), &draft.area, &targets, map_sites)?;
        Ok(PlanRecord {
            draft: draft.clone(),
            quantities,
            geometry,
            bbox,
        })
    }

    /// The named targets, then those of the kind's target kinds in the
    /// area (not named again).
    async fn targets(
        &self,
        draft: &PlanDraft,
        area: Option<&Geometry<f64>>,
    ) -> Result<Vec<(String, Arc<IndexedAsset>)>, PlanError> {
        let kinds = target_kinds(draft.kind);
        let mut seen = BTreeSet::new();
        let mut targets = Vec::new();
        for (i, id) in draft.targets.iter().enumerate() {
            let pointer = format!("/targets/{i}");
            if !seen.insert(*id) {
                return Err(invalid(&pointer, format!("asset {id} is named twice")));
            }
            let asset = self
                .registry
                .with_index(|index| index.get(AssetId(*id)).cloned())
                .ok_or_else(|| invalid(&pointer, format!("asset {id} does not exist")))?;
            if !kinds.contains(&asset.asset.kind()) {
                return Err(invalid(
                    &pointer,
                    format!(
                        "asset {id} is a {}: a {} plan works on {}",
                        asset.asset.kind().as_str(),
                        draft.kind,
                        if kinds.is_empty() {
                            "no assets (it names sites)".to_string()
                        } else {
                            kinds
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(" or ")
                        }
                    ),
                ));
            }
            targets.push((pointer, asset));
        }
        if let Some(area) = area {
            let Some(bbox) = LonLatBox::of_geometry(area) else {
                return Err(invalid("/area", "the area is empty"));
            };
            for kind in kinds {
                let candidates = self.registry.in_box(*kind, bbox, MAX_AREA_CANDIDATES + 1);
                if candidates.len() > MAX_AREA_CANDIDATES {
                    return Err(invalid(
                        "/area",
                        format!(
                            "the area's box holds more than {MAX_AREA_CANDIDATES} {}; draw a smaller one",
                            kind.collection()
                        ),
                    ));
                }
                for (found, _) in candidates {
                    if found.asset.geometry.intersects(area) && seen.insert(found.asset.id.0) {
                        targets.push((format!("/area (asset {})", found.asset.id.0), found));
                    }
                }
            }
        }
        if targets.len() > MAX_TARGETS {
            return Err(invalid(
                "/targets",
                format!(
                    "at most {MAX_TARGETS} targets in one plan ({} here); split it",
                    targets.len()
                ),
            ));
        }
        Ok(targets)
    }

    /// A charger plan's candidate sites: `inputs.sites`, [lon, lat] pairs
    /// in the service area.
    fn charger_sites(&self, draft: &PlanDraft) -> Result<Vec<(f64, f64)>, PlanError> {
        let Some(value) = draft.inputs.get("sites") else {
            return Ok(Vec::new());
        };
        let sites = value
            .as_array()
            .ok_or_else(|| invalid("/inputs/sites", "must be a list of [lon, lat]"))?;
        if sites.len() > MAX_CHARGER_SITES {
            return Err(invalid(
                "/inputs/sites",
                format!("at most {MAX_CHARGER_SITES} sites in one plan"),
            ));
        }
        let area = self.registry.service_area();
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(sites.len());
        for (i, site) in sites.iter().enumerate() {
            let pointer = format!("/inputs/sites/{i}");
            let pair = site.as_array().filter(|p| p.len() == 2);
            let at = match pair.map(|p| (p[0].as_f64(), p[1].as_f64())) {
                Some((Some(lon), Some(lat))) if area.contains(lon, lat) => (lon, lat),
                _ => {
                    return Err(invalid(
                        &pointer,
                        "must be [lon, lat] inside the service area",
                    ));
                }
            };
            // One site, one order: two within a metre are the same site.
            if let Some(j) = out
                .iter()
                .position(|p| distance_m(geo::Point::from(*p), geo::Point::from(at)) < 1.0)
            {
                return Err(invalid(
                    &pointer,
                    format!("is the same site as /inputs/sites/{j} (within 1 m)"),
                ));
            }
            out.push(at);
        }
        Ok(out)
    }

    async fn quantities(
        &self,
        draft: &PlanDraft,
        rules: &Rules,
        targets: &[(String, Arc<IndexedAsset>)],
        sites: &[(f64, f64)],
    ) -> Result<PlanQuantities, PlanError> {
        let registry = &self.registry;
        let mut gathered = Gathered(0);
        Ok(match draft.kind {
            PlanKind::PermeablePaving => {
                let mut buildings: Vec<Vec<Arc<IndexedAsset>>> = Vec::new();
                let mut heights = Vec::new();
                for (_, a) in targets {
                    let mut inside = Vec::new();
                    if a.asset.kind() == AssetKind::Courtyard {
                        if let Some(b) = LonLatBox::of_geometry(&a.asset.geometry) {
                            let found = registry.in_box(AssetKind::Building, b, MAX_GATHERED + 1);
                            gathered.add(found.len())?;
                            inside.extend(
                                found
                                    .into_iter()
                                    .filter(|(_, courtyard)| *courtyard == Some(a.asset.id))
                                    .map(|(building, _)| building),
                            );
                        }
                    }
                    buildings.push(inside);
                    heights.push(self.surveyed_heights(a.asset.id.0).await?);
                }
                let paving_targets: Vec<PavingTarget<'_>> = targets
                    .iter()
                    .zip(&buildings)
                    .zip(heights)
                    .map(|(((pointer, asset), inside), heights)| PavingTarget {
                        pointer: pointer.clone(),
                        asset: &asset.asset,
                        buildings: inside.iter().map(|b| &b.asset).collect(),
                        heights,
                    })
                    .collect();
                super::quantities::paving(rules, draft.district, &paving_targets)?
            }
            PlanKind::SensorLights => {
                let mut lights: Vec<Vec<Arc<IndexedAsset>>> = Vec::new();
                for (_, lane) in targets {
                    let near = match LonLatBox::of_geometry(&lane.asset.geometry) {
                        Some(b) => registry.in_box(
                            AssetKind::Light,
                            b.grown_by_m(MAX_LIGHT_REACH_M),
                            MAX_GATHERED + 1,
                        ),
                        None => Vec::new(),
                    };
                    gathered.add(near.len())?;
                    lights.push(near.into_iter().map(|(l, _)| l).collect());
                }
                let lanes: Vec<LightsTarget<'_>> = targets
                    .iter()
                    .zip(&lights)
                    .map(|((pointer, lane), near)| LightsTarget {
                        pointer: pointer.clone(),
                        lane: &lane.asset,
                        lights: near.iter().map(|l| &l.asset).collect(),
                    })
                    .collect();
                super::quantities::sensor_lights(rules, &lanes)?
            }
            PlanKind::DrainageRepair => {
                let mut drains = Vec::new();
                for (pointer, drain) in targets {
                    drains.push(DrainTarget {
                        pointer: pointer.clone(),
                        drain: &drain.asset,
                        pooling_complaints: self.pooling_complaints_near(&drain.asset).await?,
                    });
                }
                super::quantities::drainage_repair(rules, &drains)?
            }
            PlanKind::BuildingRestoration => {
                let mut buildings = Vec::new();
                for (pointer, building) in targets {
                    let latest = self
                        .store
                        .surveys_of(building.asset.id.0, 1)
                        .await
                        .map_err(StoreFailure::from)?
                        .into_iter()
                        .next();
                    let recorded = match &building.asset.attributes {
                        AssetAttributes::Building(b) => b.condition.map(|c| c.score()),
                        _ => None,
                    };
                    buildings.push(RestorationTarget {
                        pointer: pointer.clone(),
                        building: &building.asset,
                        grade: latest.as_ref().and_then(|s| s.draft.danger_grade),
                        condition: latest
                            .as_ref()
                            .and_then(|s| s.draft.overall().map(|c| c.score()))
                            .or(recorded),
                    });
                }
                super::quantities::building_restoration(rules, &buildings)?
            }
            PlanKind::ElevatorInstallation => {
                let facts = draft.inputs.get("buildings").and_then(Value::as_object);
                let mut buildings = Vec::new();
                for (pointer, building) in targets {
                    let id = building.asset.id.0.to_string();
                    let at = format!("/inputs/buildings/{id}/stairwells");
                    let wells = facts
                        .and_then(|f| f.get(&id))
                        .and_then(|f| f.get("stairwells"))
                        .and_then(Value::as_array)
                        .filter(|w| (1..=50).contains(&w.len()))
                        .ok_or_else(|| {
                            invalid(
                                &at,
                                format!("give building {id}'s stairwells (1-50), each {{\"households\", \"consenting\"}}"),
                            )
                        })?;
                    let mut stairwells = Vec::new();
                    for (i, well) in wells.iter().enumerate() {
                        let count = |name: &str| -> Result<u32, PlanError> {
                            well.get(name)
                                .and_then(Value::as_u64)
                                .and_then(|n| u32::try_from(n).ok())
                                .filter(|n| *n <= 10_000)
                                .ok_or_else(|| {
                                    invalid(
                                        &format!("{at}/{i}/{name}"),
                                        "must be a whole number 0-10000",
                                    )
                                })
                        };
                        stairwells.push((count("households")?, count("consenting")?));
                    }
                    buildings.push(ElevatorTarget {
                        pointer: pointer.clone(),
                        building: &building.asset,
                        stairwells,
                    });
                }
                if let Some(stray) = facts.and_then(|f| {
                    f.keys()
                        .find(|k| !targets.iter().any(|(_, b)| b.asset.id.0.to_string() == **k))
                }) {
                    return Err(invalid(
                        &format!(
                            "/inputs/buildings/{}",
                            stray.replace('~', "~0").replace('/', "~1")
                        ),
                        "names a building that is not one of the plan's targets",
                    ));
                }
                super::quantities::elevator_installation(rules, &buildings)?
            }
            PlanKind::EbikeChargers => {
                // Walks along the lanes: on the ground, in the scan gate.
                let (rules_here, sites) = (rules.clone(), sites.to_vec());
                self.on_ground(move |g| {
                    let mut gathered = Gathered(0);
                    let sites = g.sites_with_surroundings(&rules_here, &sites, &mut gathered)?;
                    let served = g.served_by_chargers(&rules_here, &sites, &mut gathered)?;
                    super::chargers::chargers(&rules_here, &sites, &served).map_err(PlanError::from)
                })
                .await?
            }
            PlanKind::Facility => {
                return Err(invalid("/inputs", "a facility plan needs its site"));
            }
        })
    }

    /// A facility plan's type, capacity and site: its drawn outline
    /// (`area`), or a point (`inputs.site`, [lon, lat]), one of the two.
    fn facility_site(
        &self,
        draft: &PlanDraft,
        area: Option<&Geometry<f64>>,
    ) -> Result<FacilitySite, PlanError> {
        let facility_type: FacilityType = draft
            .inputs
            .get("facility_type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid(
                    "/inputs/facility_type",
                    "a facility plan names its type: park, sports_ground, elderly_care, community_centre or clinic",
                )
            })?
            .parse()
            .map_err(|e: String| invalid("/inputs/facility_type", e))?;
        let capacity = match draft.inputs.get("capacity") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|c| (1..=1_000_000).contains(c))
                    .ok_or_else(|| {
                        invalid("/inputs/capacity", "must be a whole number 1-1000000")
                    })?,
            ),
        };
        let point = match draft.inputs.get("site") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let pair = value.as_array().filter(|p| p.len() == 2);
                match pair.map(|p| (p[0].as_f64(), p[1].as_f64())) {
                    Some((Some(lon), Some(lat)))
                        if self.registry.service_area().contains(lon, lat) =>
                    {
                        Some(geo::Point::new(lon, lat))
                    }
                    _ => {
                        return Err(invalid(
                            "/inputs/site",
                            "must be [lon, lat] inside the service area",
                        ));
                    }
                }
            }
        };
        let (geometry, pointer) = match (area, point) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "/inputs/site",
                    "give the facility's outline (area) or its point (inputs.site), not both",
                ));
            }
            (Some(a), None) => {
                crate::services::registry::facility_parts(
                    crate::domain::AssetKind::Facility,
                    a,
                    "/area",
                )
                .map_err(PlanError::Invalid)?;
                (a.clone(), "/area")
            }
            (None, Some(p)) => (Geometry::Point(p), "/inputs/site"),
            (None, None) => {
                return Err(invalid(
                    "/area",
                    "a facility plan needs its site: draw its outline as area, or give inputs.site [lon, lat]",
                ));
            }
        };
        if let Some(area_m2) = crate::spatial::derive_measures(&geometry).area_m2 {
            if area_m2 > MAX_FACILITY_M2 {
                return Err(invalid(
                    pointer,
                    format!(
                        "a facility of {:.0} ha is larger than any one planned here ({} ha at most)",
                        area_m2 / 10_000.0,
                        MAX_FACILITY_M2 / 10_000.0
                    ),
                ));
            }
        }
        Ok(FacilitySite {
            facility_type,
            capacity,
            geometry,
            pointer,
        })
    }

    /// A facility's size, cost and the residents it would newly bring
    /// inside its type's life circle.
    async fn facility_quantities(
        &self,
        rules: &Rules,
        site: &FacilitySite,
        positions: &[(f64, f64)],
    ) -> Result<PlanQuantities, PlanError> {
        let (rules_here, facility_type, geometry) =
            (rules.clone(), site.facility_type, site.geometry.clone());
        let newly = self
            .on_ground(move |g| g.newly_served(&rules_here, facility_type, &geometry))
            .await?;
        let area_m2 = match &site.geometry {
            Geometry::Point(_) => None,
            g => crate::spatial::derive_measures(g).area_m2,
        };
        Ok(super::quantities::facility(
            rules,
            site.facility_type,
            area_m2,
            site.capacity,
            &newly,
            positions,
        ))
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

    /// Water-pooling complaints (not duplicates) within 50 m of a drain,
    /// counted up to [`POOLING_COUNT_LIMIT`].
    pub(super) async fn pooling_complaints_near(&self, drain: &Asset) -> Result<usize, PlanError> {
        let Geometry::Point(p) = &drain.geometry else {
            return Ok(0);
        };
        let filter = ComplaintFilter {
            bbox: Some(LonLatBox::around((p.x(), p.y()), POOLING_RADIUS_M)),
            categories: vec![Category::WaterPooling],
            exclude_duplicates: true,
            limit: POOLING_COUNT_LIMIT,
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

impl Ground {
    /// Each candidate site with the courtyards within walking reach and
    /// the nearest timber building.
    fn sites_with_surroundings(
        &self,
        rules: &Rules,
        sites: &[(f64, f64)],
        gathered: &mut Gathered,
    ) -> Result<Vec<Site>, PlanError> {
        let reach = rules.chargers.walking_reach_m.value;
        let keep = rules.chargers.min_distance_from_timber_m.value;
        let lanes = &self.lanes;
        let mut out = Vec::new();
        for (i, at) in sites.iter().copied().enumerate() {
            self.check()?;
            let yards = self.registry.in_box(
                AssetKind::Courtyard,
                LonLatBox::around(at, reach),
                MAX_GATHERED + 1,
            );
            gathered.add(yards.len())?;
            let yards: Vec<(i64, u32, (f64, f64))> = yards
                .iter()
                .filter_map(|(y, _)| {
                    let households = match &y.asset.attributes {
                        AssetAttributes::Courtyard(c) => c.households.unwrap_or(0),
                        _ => 0,
                    };
                    let c = y.asset.geometry.centroid()?;
                    (households > 0).then_some((y.asset.id.0, households, (c.x(), c.y())))
                })
                .collect();
            let points: Vec<(f64, f64)> = yards.iter().map(|y| y.2).collect();
            let walks = lanes.distances_from(at, &points);
            let site_on_lanes = lanes.attach(at).is_some();
            let in_reach = yards
                .iter()
                .zip(walks)
                .filter(|((_, _, point), w)| {
                    w.distance_m <= reach && lanes.is_walk(w, site_on_lanes, *point)
                })
                .map(|((id, households, _), _)| Households {
                    courtyard_id: *id,
                    households: *households,
                })
                .collect();
            let timber = self.registry.in_box(
                AssetKind::Building,
                LonLatBox::around(at, keep + 1.0),
                MAX_GATHERED + 1,
            );
            gathered.add(timber.len())?;
            let nearest_timber = timber
                .iter()
                .filter(|(b, _)| {
                    matches!(
                        &b.asset.attributes,
                        AssetAttributes::Building(a)
                            if matches!(a.structure, Some(Structure::Timber | Structure::BrickWood))
                    )
                })
                .map(|(b, _)| {
                    (
                        b.asset.id.0,
                        super::chargers::distance_to_outline_m(at, &b.asset.geometry),
                    )
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            out.push(Site {
                pointer: format!("/inputs/sites/{i}"),
                at,
                in_reach,
                nearest_timber,
            });
        }
        Ok(out)
    }

    /// The courtyards (of those the sites reach) that a working charger
    /// already serves within walking reach.
    fn served_by_chargers(
        &self,
        rules: &Rules,
        sites: &[Site],
        gathered: &mut Gathered,
    ) -> Result<BTreeSet<i64>, PlanError> {
        let reach = rules.chargers.walking_reach_m.value;
        let lanes = &self.lanes;
        let yards: BTreeSet<i64> = sites
            .iter()
            .flat_map(|s| s.in_reach.iter().map(|h| h.courtyard_id))
            .collect();
        let mut served = BTreeSet::new();
        let mut chargers_seen = BTreeSet::new();
        for site in sites {
            self.check()?;
            // A charger that serves a yard within reach of the site stands
            // within twice the reach of the site.
            let chargers = self.registry.in_box(
                AssetKind::Charger,
                LonLatBox::around(site.at, 2.0 * reach),
                MAX_GATHERED + 1,
            );
            gathered.add(chargers.len())?;
            for (charger, _) in chargers {
                let working = matches!(
                    &charger.asset.attributes,
                    AssetAttributes::Charger(c) if c.status == ChargerStatus::Working
                );
                let Geometry::Point(p) = &charger.asset.geometry else {
                    continue;
                };
                if !working || !chargers_seen.insert(charger.asset.id.0) {
                    continue;
                }
                let mut ids = Vec::new();
                let mut points = Vec::new();
                for id in &yards {
                    if let Some(y) = self
                        .registry
                        .with_index(|index| index.get(AssetId(*id)).cloned())
                    {
                        if let Some(c) = y.asset.geometry.centroid() {
                            if distance_m(*p, c) <= reach {
                                ids.push(*id);
                                points.push((c.x(), c.y()));
                            }
                        }
                    }
                }
                let charger_on_lanes = lanes.attach((p.x(), p.y())).is_some();
                for ((id, point), walk) in ids
                    .iter()
                    .zip(&points)
                    .zip(lanes.distances_from((p.x(), p.y()), &points))
                {
                    if walk.distance_m <= reach && lanes.is_walk(&walk, charger_on_lanes, *point) {
                        served.insert(*id);
                    }
                }
            }
        }
        Ok(served)
    }
}

/// A facility plan's site.
pub(super) struct FacilitySite {
    pub facility_type: FacilityType,
    pub capacity: Option<u64>,
    pub geometry: Geometry<f64>,
    /// Where the request gave it.
    pub pointer: &'static str,
}

/// What a plan covers on the map and its box: the drawn area; else its
/// targets' shapes (their convex hull when they run to many vertices) and
/// its charger sites.
fn map_geometry(
    area: Option<&Geometry<f64>>,
    area_json: &Option<Value>,
    targets: &[(String, Arc<IndexedAsset>)],
    sites: &[(f64, f64)],
) -> Result<(Value, LonLatBox), PlanError> {
    let mut bbox: Option<LonLatBox> = area.and_then(LonLatBox::of_geometry);
    for (_, a) in targets {
        if let Some(b) = LonLatBox::of_geometry(&a.asset.geometry) {
            bbox = Some(bbox.map_or(b, |x| x.union(b)));
        }
    }
    for (lon, lat) in sites {
        let b = LonLatBox::point(*lon, *lat);
        bbox = Some(bbox.map_or(b, |x| x.union(b)));
    }
    let bbox = bbox.ok_or_else(|| invalid("/targets", "the targets have no extent"))?;
    if let Some(value) = area_json {
        return Ok((value.clone(), bbox));
    }
    let mut shapes: Vec<Geometry<f64>> = targets
        .iter()
        .map(|(_, a)| a.asset.geometry.clone())
        .collect();
    if !sites.is_empty() {
        shapes.push(Geometry::MultiPoint(MultiPoint::from(sites.to_vec())));
    }
    let vertices: usize = shapes.iter().map(|g| g.coords_count()).sum();
    let geometry = if vertices > MAX_GEOMETRY_VERTICES {
        let all: MultiPoint<f64> = shapes
            .iter()
            .flat_map(|g| g.coords_iter().collect::<Vec<_>>())
            .map(geo::Point::from)
            .collect();
        Geometry::Polygon(all.convex_hull())
    } else {
        Geometry::GeometryCollection(geo::GeometryCollection(shapes))
    };
    Ok((
        serde_json::to_value(geojson::Geometry::from(&geometry)).unwrap_or(json!(null)),
        bbox,
    ))
}
