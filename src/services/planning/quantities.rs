//! What a plan needs and what it does, worked out from the assets'
//! geometry and attributes and the engineering rules: pure functions of
//! what the planning service gathered (the targets, the buildings in a
//! courtyard, the lights along a lane, the latest surveys, the pooling
//! complaints near a drain). A target the work cannot apply to is an
//! error naming it.

use super::rules::Rules;
use crate::domain::FieldError;
use crate::domain::{
    Asset, AssetAttributes, DangerGrade, LightStatus, Measure, Paving, PlanQuantities,
    ValidationError,
};
use geo::{BooleanOps, Geodesic, Geometry, Length, LineString, MultiPolygon};

/// Rounded to the centimetre (or cm², L/s to 0.01, m³ to 0.01).
fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn refused(errors: Vec<FieldError>) -> ValidationError {
    ValidationError { errors }
}

/// A paving target: a courtyard with the buildings standing in it, or a
/// lane; with the latest survey's floor and lane heights (courtyards).
pub struct PavingTarget<'a> {
    /// Where the target is in the request (`/targets/0`).
    pub pointer: String,
    pub asset: &'a Asset,
    pub buildings: Vec<&'a Asset>,
    pub heights: Option<(f64, f64)>,
}

/// The open area of a courtyard: its polygon minus the footprints of the
/// buildings in it, geodesic m².
pub fn open_area_m2(courtyard: &Geometry<f64>, buildings: &[&Asset]) -> f64 {
    let yard: MultiPolygon<f64> = match courtyard {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        _ => return 0.0,
    };
    let mut polygons: Vec<geo::Polygon<f64>> = Vec::new();
    for b in buildings {
        match &b.geometry {
            Geometry::Polygon(p) => polygons.push(p.clone()),
            Geometry::MultiPolygon(m) => polygons.extend(m.0.iter().cloned()),
            _ => {}
        }
    }
    // One union of them all (not one at a time, which grows with the
    // square of their number).
    let footprints = geo::unary_union(&polygons);
    crate::spatial::geodesic_area_m2(&Geometry::MultiPolygon(yard.difference(&footprints)))
        .unwrap_or(0.0)
}

/// Permeable paving: the area paved, the peak runoff before and after
/// (rational method Q = ψ·q·F) and the design storm's volume kept out of
/// the drains (V = (φ before − φ after)·q·F·t); a yard whose floor sits
/// below its lane is flagged.
pub fn paving(
    rules: &Rules,
    district: Option<crate::domain::District>,
    targets: &[PavingTarget<'_>],
) -> Result<PlanQuantities, ValidationError> {
    let q = rules.design_intensity(district);
    let t_s = rules.runoff.duration_min.value * 60.0;
    let after = rules
        .surface(Some(Paving::Permeable.as_str()))
        .ok_or_else(|| ValidationError::single("", "the rules have no permeable surface"))?;
    let mut out = PlanQuantities::default();
    let mut errors = Vec::new();
    let (mut area_total, mut before_total, mut after_total, mut kept_total) = (0.0, 0.0, 0.0, 0.0);
    for target in targets {
        let a = target.asset;
        let (area, paving) = match &a.attributes {
            AssetAttributes::Courtyard(c) => {
                (open_area_m2(&a.geometry, &target.buildings), c.paving)
            }
            AssetAttributes::Lane(l) => {
                let Geometry::LineString(line) = &a.geometry else {
                    errors.push(FieldError::new(&target.pointer, "a lane must be a line"));
                    continue;
                };
                match l.width_m {
                    Some(w) if w > 0.0 => (Geodesic.length(line) * w, l.paving),
                    _ => {
                        errors.push(FieldError::new(
                            &target.pointer,
                            format!("lane {} has no width_m: its paved area cannot be worked out; record its width first", a.id.0),
                        ));
                        continue;
                    }
                }
            }
            _ => {
                errors.push(FieldError::new(
                    &target.pointer,
                    format!(
                        "asset {} is a {}: permeable paving is for courtyards and lanes",
                        a.id.0,
                        a.kind().as_str()
                    ),
                ));
                continue;
            }
        };
        if paving == Some(Paving::Permeable) {
            errors.push(FieldError::new(
                &target.pointer,
                format!("asset {} is paved permeably already", a.id.0),
            ));
            continue;
        }
        let before = rules.surface(paving.map(Paving::as_str)).ok_or_else(|| {
            ValidationError::single(&target.pointer, "no runoff coefficients for its surface")
        })?;
        let f_ha = area / 10_000.0;
        let peak_before = before.peak.value * q * f_ha;
        let peak_after = after.peak.value * q * f_ha;
        let kept_m3 = (before.volume.value - after.volume.value) * q * f_ha * t_s / 1000.0;
        let id = a.id.0;
        out.quantities
            .push(Measure::new("paved_area", r2(area), "m²").of(id));
        out.effects
            .push(Measure::new("peak_runoff_before", r2(peak_before), "L/s").of(id));
        out.effects
            .push(Measure::new("peak_runoff_after", r2(peak_after), "L/s").of(id));
        out.effects
            .push(Measure::new("storm_volume_kept_out", r2(kept_m3), "m³").of(id));
        if let Some((floor, lane)) = target.heights {
            if floor < lane {
                out.flags.push(format!(
                    "pooling_risk: courtyard {id}'s floor ({floor} m) is {} m below its lane ({lane} m)",
                    r2(lane - floor)
                ));
            }
        }
        area_total += area;
        before_total += peak_before;
        after_total += peak_after;
        kept_total += kept_m3;
    }
    if !errors.is_empty() {
        return Err(refused(errors));
    }
    out.quantities
        .push(Measure::new("paved_area", r2(area_total), "m²"));
    out.effects
        .push(Measure::new("design_storm_intensity", r2(q), "L/(s·ha)"));
    out.effects
        .push(Measure::new("peak_runoff_before", r2(before_total), "L/s"));
    out.effects
        .push(Measure::new("peak_runoff_after", r2(after_total), "L/s"));
    out.effects
        .push(Measure::new("storm_volume_kept_out", r2(kept_total), "m³"));
    let c = &rules.costs.permeable_paving_per_m2;
    out.cost("permeable paving", r2(area_total), "m²", c.value, &c.source);
    Ok(out)
}

/// A lane with the lights near it (any status).
pub struct LightsTarget<'a> {
    pub pointer: String,
    pub lane: &'a Asset,
    pub lights: Vec<&'a Asset>,
}

/// Metres from the start of a line to each vertex (geodesic).
pub(super) fn chainage(line: &LineString<f64>) -> Vec<f64> {
    let mut at = vec![0.0];
    for w in line.0.windows(2) {
        let step = Geodesic.length(&LineString::from(vec![w[0], w[1]]));
        at.push(at.last().copied().unwrap_or(0.0) + step);
    }
    at
}

/// Local metres east and north of `origin`: degrees scaled by the WGS 84
/// ellipsoid's radii of curvature at its latitude (N cos φ east, M
/// north), which agrees with geodesic lengths to well under a millimetre
/// over the tens of metres of a lane segment.
pub(super) fn local_m(origin: (f64, f64), p: (f64, f64)) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 0.006_694_379_990_14;
    let (sin, cos) = origin.1.to_radians().sin_cos();
    let w = (1.0 - E2 * sin * sin).sqrt();
    let per_radian_east = A / w * cos;
    let per_radian_north = A * (1.0 - E2) / (w * w * w);
    (
        (p.0 - origin.0).to_radians() * per_radian_east,
        (p.1 - origin.1).to_radians() * per_radian_north,
    )
}

/// The parts of a line within `reach` metres of `p`, as (from, to)
/// metres along it: each segment's chord through the circle around the
/// light (a light near a bend lights both arms; one beyond the line's end
/// lights only what is within its reach).
fn lit_intervals(line: &LineString<f64>, at: &[f64], p: (f64, f64), reach: f64) -> Vec<(f64, f64)> {
    let mut lit = Vec::new();
    for (i, w) in line.0.windows(2).enumerate() {
        let a = (w[0].x, w[0].y);
        let (bx, by) = local_m(a, (w[1].x, w[1].y));
        let (px, py) = local_m(a, p);
        let len2 = bx * bx + by * by;
        if len2 <= 0.0 {
            continue;
        }
        // |t·b − p|² ≤ r², a quadratic in t: t²|b|² − 2t(b·p) + |p|² − r².
        let bp = bx * px + by * py;
        let c = px * px + py * py - reach * reach;
        let disc = bp * bp - len2 * c;
        if disc < 0.0 {
            continue;
        }
        let root = disc.sqrt();
        let t1 = ((bp - root) / len2).max(0.0);
        let t2 = ((bp + root) / len2).min(1.0);
        if t1 < t2 {
            let span = at[i + 1] - at[i];
            lit.push((at[i] + t1 * span, at[i] + t2 * span));
        }
    }
    lit
}

/// The part of a line from `from` to `to` metres along it.
pub(super) fn sub_line(line: &LineString<f64>, at: &[f64], from: f64, to: f64) -> Vec<(f64, f64)> {
    let mut path = vec![point_at(line, at, from)];
    for (i, c) in line.0.iter().enumerate() {
        if at[i] > from && at[i] < to {
            path.push((c.x, c.y));
        }
    }
    path.push(point_at(line, at, to));
    path
}

/// The point `s` metres along a line.
fn point_at(line: &LineString<f64>, at: &[f64], s: f64) -> (f64, f64) {
    for (i, w) in line.0.windows(2).enumerate() {
        if s <= at[i + 1] || i + 2 == line.0.len() {
            let span = at[i + 1] - at[i];
            let f = if span > 0.0 {
                ((s - at[i]) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            return (
                w[0].x + f * (w[1].x - w[0].x),
                w[0].y + f * (w[1].y - w[0].y),
            );
        }
    }
    line.0.first().map(|c| (c.x, c.y)).unwrap_or_default()
}

/// The dark stretches of a lane, as (from, to) metres along it: the parts
/// farther than any working light's reach. A light `d` metres off a
/// straight lane with reach `r` lights √(r² − d²) either way of where it
/// falls on the lane.
pub fn dark_stretches(rules: &Rules, lane: &LineString<f64>, lights: &[&Asset]) -> Vec<(f64, f64)> {
    let at = chainage(lane);
    let length = at.last().copied().unwrap_or(0.0);
    let mut lit: Vec<(f64, f64)> = Vec::new();
    for light in lights {
        let AssetAttributes::Light(l) = &light.attributes else {
            continue;
        };
        if l.status != LightStatus::Working {
            continue;
        }
        let Geometry::Point(p) = &light.geometry else {
            continue;
        };
        let reach = l.reach_m.unwrap_or(rules.lights.default_reach_m.value);
        lit.extend(lit_intervals(lane, &at, (p.x(), p.y()), reach));
    }
    lit.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut dark = Vec::new();
    let mut from = 0.0;
    for (a, b) in lit {
        if a > from {
            dark.push((from, a));
        }
        from = f64::max(from, b);
    }
    if from < length {
        dark.push((from, length));
    }
    // Slivers under a decimetre are rounding, not darkness.
    dark.retain(|(a, b)| b - a >= 0.1);
    dark
}

/// Sensor lights: along each target lane's dark stretches, new lamps
/// evenly spaced at no more than the rule's spacing (a stretch of length
/// ℓ gets ⌈ℓ / spacing⌉ lamps at its (i + ½)·ℓ/n), with their count,
/// cost and yearly energy (sensors saving their share).
pub fn sensor_lights(
    rules: &Rules,
    targets: &[LightsTarget<'_>],
) -> Result<PlanQuantities, ValidationError> {
    let spacing = rules.lights.spacing_m.value;
    let mut out = PlanQuantities::default();
    let mut errors = Vec::new();
    let (mut dark_total, mut count_total) = (0.0, 0usize);
    for target in targets {
        let lane = target.lane;
        let Geometry::LineString(line) = &lane.geometry else {
            errors.push(FieldError::new(
                &target.pointer,
                format!(
                    "asset {} is a {}: sensor lights are planned along lanes",
                    lane.id.0,
                    lane.kind().as_str()
                ),
            ));
            continue;
        };
        if !matches!(lane.attributes, AssetAttributes::Lane(_)) {
            errors.push(FieldError::new(
                &target.pointer,
                format!("asset {} is not a lane", lane.id.0),
            ));
            continue;
        }
        let at = chainage(line);
        let stretches = dark_stretches(rules, line, &target.lights);
        let mut dark = 0.0;
        let mut count = 0usize;
        for (a, b) in &stretches {
            let len = b - a;
            let n = (len / spacing).ceil().max(1.0) as usize;
            for i in 0..n {
                let (lon, lat) = point_at(line, &at, a + (i as f64 + 0.5) * len / n as f64);
                out.positions
                    .push(((lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7));
            }
            dark += len;
            count += n;
        }
        for light in &target.lights {
            if let AssetAttributes::Light(l) = &light.attributes {
                if l.status != LightStatus::Working {
                    out.flags.push(format!(
                        "light {} near lane {} is {}: mending it may light part of a dark stretch",
                        light.id.0,
                        lane.id.0,
                        match l.status {
                            LightStatus::Faulty => "faulty",
                            _ => "off",
                        }
                    ));
                }
            }
        }
        let length = at.last().copied().unwrap_or(0.0);
        out.quantities
            .push(Measure::new("lane_length", r2(length), "m").of(lane.id.0));
        out.quantities
            .push(Measure::new("dark_length", r2(dark), "m").of(lane.id.0));
        out.quantities.push(
            Measure::new("dark_stretches", stretches.len() as f64, "stretches").of(lane.id.0),
        );
        out.quantities
            .push(Measure::new("new_lights", count as f64, "lights").of(lane.id.0));
        dark_total += dark;
        count_total += count;
    }
    if !errors.is_empty() {
        return Err(refused(errors));
    }
    let l = &rules.lights;
    let full_kwh = count_total as f64 * l.lamp_power_w.value * l.hours_per_year.value / 1000.0;
    let sensed_kwh = full_kwh * (1.0 - l.sensor_energy_saving.value);
    out.quantities
        .push(Measure::new("dark_length", r2(dark_total), "m"));
    out.quantities
        .push(Measure::new("new_lights", count_total as f64, "lights"));
    out.effects
        .push(Measure::new("lit_length_added", r2(dark_total), "m"));
    out.effects
        .push(Measure::new("energy_with_sensors", r2(sensed_kwh), "kWh/a"));
    out.effects.push(Measure::new(
        "energy_saved_by_sensors",
        r2(full_kwh - sensed_kwh),
        "kWh/a",
    ));
    let c = &rules.costs.sensor_light_each;
    out.cost(
        "sensor light",
        count_total as f64,
        "lights",
        c.value,
        &c.source,
    );
    Ok(out)
}

/// A drain with the water-pooling complaints within 50 m of it.
pub struct DrainTarget<'a> {
    pub pointer: String,
    pub drain: &'a Asset,
    pub pooling_complaints: usize,
}

/// Complaints within 50 m that make a drain's repair due ("repeated").
pub const REPEATED_POOLING: usize = 2;

/// Drainage repair: the drains in condition 2 or worse, or with repeated
/// pooling complaints within 50 m; others are refused with why.
pub fn drainage_repair(
    rules: &Rules,
    targets: &[DrainTarget<'_>],
) -> Result<PlanQuantities, ValidationError> {
    let mut out = PlanQuantities::default();
    let mut errors = Vec::new();
    let mut count = 0usize;
    for t in targets {
        let AssetAttributes::Drainage(d) = &t.drain.attributes else {
            errors.push(FieldError::new(
                &t.pointer,
                format!(
                    "asset {} is a {}, not a drain",
                    t.drain.id.0,
                    t.drain.kind().as_str()
                ),
            ));
            continue;
        };
        let poor = d.condition.is_some_and(|c| c.score() <= 2);
        if !poor && t.pooling_complaints < REPEATED_POOLING {
            errors.push(FieldError::new(
                &t.pointer,
                format!(
                    "drain {} is in condition {} with {} water-pooling complaint(s) within 50 m: a repair needs condition 2 or worse, or {REPEATED_POOLING} complaints",
                    t.drain.id.0,
                    d.condition.map(|c| c.score().to_string()).unwrap_or_else(|| "unknown".into()),
                    t.pooling_complaints
                ),
            ));
            continue;
        }
        out.quantities.push(
            Measure::new(
                "pooling_complaints_within_50m",
                t.pooling_complaints as f64,
                "complaints",
            )
            .of(t.drain.id.0),
        );
        count += 1;
    }
    if !errors.is_empty() {
        return Err(refused(errors));
    }
    out.quantities
        .push(Measure::new("drains", count as f64, "drains"));
    let c = &rules.costs.drainage_repair_each;
    out.cost("drain repair", count as f64, "drains", c.value, &c.source);
    Ok(out)
}

/// A building with its latest survey's danger grade and condition.
pub struct RestorationTarget<'a> {
    pub pointer: String,
    pub building: &'a Asset,
    pub grade: Option<DangerGrade>,
    pub condition: Option<u8>,
}

/// Building restoration: buildings of danger grade C or D, or in
/// condition 2 or worse, by floor area (footprint × storeys).
pub fn building_restoration(
    rules: &Rules,
    targets: &[RestorationTarget<'_>],
) -> Result<PlanQuantities, ValidationError> {
    let mut out = PlanQuantities::default();
    let mut errors = Vec::new();
    let costs = &rules.costs;
    for t in targets {
        let AssetAttributes::Building(b) = &t.building.attributes else {
            errors.push(FieldError::new(
                &t.pointer,
                format!(
                    "asset {} is a {}, not a building",
                    t.building.id.0,
                    t.building.kind().as_str()
                ),
            ));
            continue;
        };
        let footprint = crate::spatial::geodesic_area_m2(&t.building.geometry).unwrap_or(0.0);
        let floor_area = footprint * f64::from(b.storeys.unwrap_or(1).max(1));
        let id = t.building.id.0;
        let (item, rate) = match (t.grade, t.condition) {
            (Some(DangerGrade::D), _) => (
                "restoration, danger grade D",
                &costs.restoration_per_m2_grade_d,
            ),
            (Some(DangerGrade::C), _) => (
                "restoration, danger grade C",
                &costs.restoration_per_m2_grade_c,
            ),
            (_, Some(c)) if c <= 2 => (
                "restoration, condition 2 or worse",
                &costs.restoration_per_m2_poor_condition,
            ),
            _ => {
                errors.push(FieldError::new(
                    &t.pointer,
                    format!(
                        "building {id} has no survey finding danger grade C or D or condition 2 or worse (grade {}, condition {}): survey it first",
                        t.grade.map(|g| g.as_str().to_string()).unwrap_or_else(|| "none".into()),
                        t.condition.map(|c| c.to_string()).unwrap_or_else(|| "none".into())
                    ),
                ));
                continue;
            }
        };
        out.quantities
            .push(Measure::new("floor_area", r2(floor_area), "m²").of(id));
        out.cost(
            &format!("{item} (building {id})"),
            r2(floor_area),
            "m²",
            rate.value,
            &rate.source,
        );
    }
    if !errors.is_empty() {
        return Err(refused(errors));
    }
    Ok(out)
}

/// A walk-up building's stairwells, each with its households and those
/// consenting, as the plan gives them.
pub struct ElevatorTarget<'a> {
    pub pointer: String,
    pub building: &'a Asset,
    /// (households, consenting) of each stairwell.
    pub stairwells: Vec<(u32, u32)>,
}

/// Elevator installation: one elevator per stairwell of walk-up buildings
/// of the rule's storeys or more, each stairwell with the recorded share
/// of its households consenting at or above the rule's threshold.
pub fn elevator_installation(
    rules: &Rules,
    targets: &[ElevatorTarget<'_>],
) -> Result<PlanQuantities, ValidationError> {
    let e = &rules.elevators;
    let mut out = PlanQuantities::default();
    let mut errors = Vec::new();
    let (mut stairwells, mut households) = (0u32, 0u32);
    for t in targets {
        let id = t.building.id.0;
        let AssetAttributes::Building(b) = &t.building.attributes else {
            errors.push(FieldError::new(
                &t.pointer,
                format!("asset {id} is not a building"),
            ));
            continue;
        };
        let storeys = b.storeys.unwrap_or(0);
        if f64::from(storeys) < e.min_storeys.value {
            errors.push(FieldError::new(
                &t.pointer,
                format!(
                    "building {id} has {storeys} storeys: elevators are for walk-ups of {} or more",
                    e.min_storeys.value
                ),
            ));
            continue;
        }
        if b.elevator == Some(crate::domain::ElevatorStatus::Installed) {
            errors.push(FieldError::new(
                &t.pointer,
                format!("building {id} has an elevator already"),
            ));
            continue;
        }
        let mut fine = true;
        let mut served = 0u32;
        for (i, (households, consenting)) in t.stairwells.iter().copied().enumerate() {
            let at = format!("/inputs/buildings/{id}/stairwells/{i}");
            if households == 0 || consenting > households {
                errors.push(FieldError::new(
                    &at,
                    format!(
                        "building {id}, stairwell {i}: consenting households ({consenting}) must be between 0 and its households ({households}, at least 1)"
                    ),
                ));
                fine = false;
                continue;
            }
            let share = f64::from(consenting) / f64::from(households);
            // Thresholds are written to six decimals (two thirds: 0.666667).
            if share + 1e-6 < e.consent_threshold.value {
                errors.push(FieldError::new(
                    &at,
                    format!(
                        "building {id}, stairwell {i}: {consenting} of {households} households consent ({:.1} %); the rule needs {:.1} % ({})",
                        share * 100.0,
                        e.consent_threshold.value * 100.0,
                        e.consent_threshold.source
                    ),
                ));
                fine = false;
                continue;
            }
            out.quantities.push(
                Measure::new(
                    "consent_share",
                    (share * 10_000.0).round() / 10_000.0,
                    "share",
                )
                .of(id),
            );
            served += households;
        }
        if !fine {
            continue;
        }
        let count = t.stairwells.len() as u32;
        out.quantities
            .push(Measure::new("stairwells", f64::from(count), "stairwells").of(id));
        out.quantities
            .push(Measure::new("households_served", f64::from(served), "households").of(id));
        stairwells += count;
        households += served;
    }
    if !errors.is_empty() {
        return Err(refused(errors));
    }
    out.quantities.push(Measure::new(
        "elevators",
        f64::from(stairwells),
        "elevators",
    ));
    out.effects.push(Measure::new(
        "households_served",
        f64::from(households),
        "households",
    ));
    let c = &rules.costs.elevator_each;
    out.cost(
        "elevator",
        f64::from(stairwells),
        "elevators",
        c.value,
        &c.source,
    );
    Ok(out)
}

/// What a planned facility would bring inside its circle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewlyServed {
    pub minutes: u32,
    pub reach_m: f64,
    pub residents_reached: u64,
    pub residents_new: u64,
    pub households_new: u64,
    pub courtyards_new: Vec<i64>,
}

/// A new facility: its size (the outline's geodesic area, when drawn by
/// one), its cost (per m² of outline, or one sum for a point), and the
/// residents it would newly bring inside its type's life circle (within
/// the circle's walk, and no facility of the type serving them now).
pub fn facility(
    rules: &Rules,
    facility_type: crate::domain::FacilityType,
    area_m2: Option<f64>,
    capacity: Option<u64>,
    newly: &NewlyServed,
    positions: &[(f64, f64)],
) -> PlanQuantities {
    let c = &rules.costs;
    let mut out = PlanQuantities {
        positions: positions.to_vec(),
        ..PlanQuantities::default()
    };
    out.quantities
        .push(Measure::new(facility_type.as_str(), 1.0, "facilities").site(0));
    match area_m2 {
        Some(area) => {
            out.quantities
                .push(Measure::new("area_m2", r2(area), "m²").site(0));
            out.cost(
                "facility",
                r2(area),
                "m²",
                c.facility_per_m2.value,
                &c.facility_per_m2.source,
            );
        }
        None => out.cost(
            "facility",
            1.0,
            "facilities",
            c.facility_each.value,
            &c.facility_each.source,
        ),
    }
    if let Some(capacity) = capacity {
        out.quantities
            .push(Measure::new("capacity", capacity as f64, "people").site(0));
    }
    for (name, value, unit) in [
        ("life_circle_minutes", f64::from(newly.minutes), "min"),
        ("life_circle_walk_m", newly.reach_m, "m"),
        (
            "residents_in_circle",
            newly.residents_reached as f64,
            "residents",
        ),
        (
            "residents_newly_in_circle",
            newly.residents_new as f64,
            "residents",
        ),
        (
            "households_newly_in_circle",
            newly.households_new as f64,
            "households",
        ),
        (
            "courtyards_newly_in_circle",
            newly.courtyards_new.len() as f64,
            "courtyards",
        ),
    ] {
        out.effects.push(Measure::new(name, value, unit));
    }
    if newly.residents_new == 0 {
        out.flags.push(format!(
            "no resident comes newly inside the {}-minute circle: every one within {} m walk is served by another {} already, or none lives there",
            newly.minutes,
            newly.reach_m,
            facility_type.as_str()
        ));
    }
    if let Some(capacity) = capacity {
        if newly.residents_reached > 0 && capacity < newly.residents_reached / 100 {
            out.flags.push(format!(
                "a capacity of {capacity} for {} residents in its circle is under 1 place per 100",
                newly.residents_reached
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AssetId, AssetKind, Derived, Version};
    use crate::services::planning::EngineeringRules;
    use geo::{LineString, Point, Polygon};

    const A: f64 = 6_378_137.0;
    const E2: f64 = 0.006_694_379_990_14;

    /// Metres per degree of longitude and of latitude at a latitude, on
    /// the WGS 84 ellipsoid (N cos φ and M, by their formulas): the test's
    /// own geodesy.
    fn m_per_degree(lat: f64) -> (f64, f64) {
        let (s, c) = lat.to_radians().sin_cos();
        let w = (1.0 - E2 * s * s).sqrt();
        let n = A / w;
        let m = A * (1.0 - E2) / (w * w * w);
        (
            n * c * std::f64::consts::PI / 180.0,
            m * std::f64::consts::PI / 180.0,
        )
    }

    fn asset(id: i64, kind: AssetKind, geometry: Geometry<f64>) -> Asset {
        Asset {
            id: AssetId(id),
            geometry,
            attributes: AssetAttributes::minimal(kind),
            derived: Derived::default(),
            version: Version::FIRST,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn rect(lon: f64, lat: f64, dlon: f64, dlat: f64) -> Polygon<f64> {
        Polygon::new(
            LineString::from(vec![
                (lon, lat),
                (lon + dlon, lat),
                (lon + dlon, lat + dlat),
                (lon, lat + dlat),
                (lon, lat),
            ]),
            vec![],
        )
    }

    #[test]
    fn a_courtyard_open_area_and_its_runoff_by_hand() {
        let rules = EngineeringRules::builtin().expect("rules");
        let rules = rules.of(None);
        // A yard 0.0005° × 0.0003° at 39.94° N with a building
        // 0.0001° × 0.0001° in it.
        let yard = asset(
            1,
            AssetKind::Courtyard,
            rect(116.39, 39.94, 0.0005, 0.0003).into(),
        );
        let house = asset(
            2,
            AssetKind::Building,
            rect(116.3901, 39.9401, 0.0001, 0.0001).into(),
        );
        let (x, y) = m_per_degree(39.94015);
        let expected = 0.0005 * x * 0.0003 * y - 0.0001 * x * 0.0001 * y;
        let area = open_area_m2(&yard.geometry, &[&house]);
        assert!((area - expected).abs() < 0.01, "{area} vs {expected}");
        let q = paving(
            rules,
            None,
            &[PavingTarget {
                pointer: "/targets/0".into(),
                asset: &yard,
                buildings: vec![&house],
                heights: Some((43.10, 43.25)),
            }],
        )
        .expect("a plan");
        // Dry-laid brick (no paving recorded): ψ 0.40 before, 0.30 after;
        // q = 355.48 L/(s·ha); F in hectares; φ 0.40 → 0.25 over 600 s.
        let f = expected / 10_000.0;
        let effect = |name: &str| {
            q.effects
                .iter()
                .find(|m| m.name == name && m.asset_id == Some(1))
                .map(|m| m.value)
                .unwrap_or(f64::NAN)
        };
        assert!((effect("peak_runoff_before") - 0.40 * 355.48 * f).abs() < 0.01);
        assert!((effect("peak_runoff_after") - 0.30 * 355.48 * f).abs() < 0.01);
        let kept = (0.40 - 0.25) * 355.48 * f * 600.0 / 1000.0;
        assert!((effect("storm_volume_kept_out") - kept).abs() < 0.01);
        assert!((q.cost_cny - (expected * 100.0).round() / 100.0 * 350.0).abs() < 0.02);
        assert!(
            q.flags
                .iter()
                .any(|f| f.starts_with("pooling_risk: courtyard 1")),
            "{:?}",
            q.flags
        );
        // A light is not paved.
        let lamp = asset(3, AssetKind::Light, Point::new(116.39, 39.94).into());
        let e = paving(
            rules,
            None,
            &[PavingTarget {
                pointer: "/targets/0".into(),
                asset: &lamp,
                buildings: vec![],
                heights: None,
            }],
        )
        .expect_err("refused");
        assert_eq!(e.errors[0].pointer, "/targets/0");
    }

    #[test]
    fn dark_stretches_get_lamps_at_the_spacing() {
        let rules = EngineeringRules::builtin().expect("rules");
        let rules = rules.of(None);
        let lane = LineString::from(vec![(116.39, 39.94), (116.392, 39.94)]);
        let lane_asset = asset(10, AssetKind::Lane, lane.clone().into());
        let mut light = asset(11, AssetKind::Light, Point::new(116.391, 39.94).into());
        if let AssetAttributes::Light(l) = &mut light.attributes {
            l.reach_m = Some(10.0);
        }
        let length = 0.002 * m_per_degree(39.94).0;
        let half = length / 2.0;
        let dark = dark_stretches(rules, &lane, &[&light]);
        assert_eq!(dark.len(), 2, "{dark:?}");
        assert!((dark[0].1 - (half - 10.0)).abs() < 0.01, "{dark:?}");
        assert!((dark[1].0 - (half + 10.0)).abs() < 0.01, "{dark:?}");
        let q = sensor_lights(
            rules,
            &[LightsTarget {
                pointer: "/targets/0".into(),
                lane: &lane_asset,
                lights: vec![&light],
            }],
        )
        .expect("a plan");
        // Each stretch is (L/2 − 10) ≈ 75.5 m: ⌈75.5 / 20⌉ = 4 lamps at
        // (i + ½)·ℓ/4 along it.
        assert_eq!(q.positions.len(), 8);
        let stretch = half - 10.0;
        for (i, (lon, lat)) in q.positions.iter().take(4).enumerate() {
            let s = (i as f64 + 0.5) * stretch / 4.0;
            assert!(
                (lon - (116.39 + 0.002 * s / length)).abs() < 2e-7,
                "{i}: {lon}"
            );
            assert_eq!(*lat, 39.94);
        }
        assert_eq!(q.cost_cny, 8.0 * 2500.0);
        // The light switched off: the whole lane is dark.
        if let AssetAttributes::Light(l) = &mut light.attributes {
            l.status = LightStatus::Faulty;
        }
        let dark = dark_stretches(rules, &lane, &[&light]);
        assert_eq!(dark.len(), 1);
        assert!((dark[0].1 - length).abs() < 0.01);
    }

    #[test]
    fn a_light_beyond_the_lanes_end_lights_only_what_it_reaches() {
        let rules = EngineeringRules::builtin().expect("rules");
        let rules = rules.of(None);
        let lane = LineString::from(vec![(116.39, 39.94), (116.392, 39.94)]);
        let (x, _) = m_per_degree(39.94);
        let length = 0.002 * x;
        // 5 m east of the end, on the lane's line, reaching 10 m: it
        // lights the last 5 m, not √(10² − 0²) = 10 m of it.
        let mut light = asset(
            1,
            AssetKind::Light,
            Point::new(116.392 + 5.0 / x, 39.94).into(),
        );
        if let AssetAttributes::Light(l) = &mut light.attributes {
            l.reach_m = Some(10.0);
        }
        let dark = dark_stretches(rules, &lane, &[&light]);
        assert_eq!(dark.len(), 1);
        assert!(
            (dark[0].1 - (length - 5.0)).abs() < 0.02,
            "{dark:?} of {length}"
        );
        // At a bend, one lamp lights both arms.
        let bent = LineString::from(vec![(116.39, 39.94), (116.391, 39.94), (116.391, 39.941)]);
        let mut corner = asset(2, AssetKind::Light, Point::new(116.391, 39.94).into());
        if let AssetAttributes::Light(l) = &mut corner.attributes {
            l.reach_m = Some(10.0);
        }
        let dark = dark_stretches(rules, &bent, &[&corner]);
        assert_eq!(dark.len(), 2, "{dark:?}");
        let first_arm = 0.001 * x;
        assert!((dark[0].1 - (first_arm - 10.0)).abs() < 0.05, "{dark:?}");
        assert!((dark[1].0 - (first_arm + 10.0)).abs() < 0.1, "{dark:?}");
    }
}
