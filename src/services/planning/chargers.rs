//! E-bike chargers: the households within walking reach of candidate
//! sites that no working charger serves yet, the ports they need, and the
//! fire and circuit rules each site must keep. Pure: the planning service
//! gathers the courtyards, chargers and timber buildings near each site
//! and the walking distances along the lanes.

use super::rules::Rules;
use crate::domain::{FieldError, Measure, PlanQuantities, ValidationError};
use std::collections::BTreeSet;

/// A courtyard's households and its walking distances.
#[derive(Debug, Clone, PartialEq)]
pub struct Households {
    pub courtyard_id: i64,
    pub households: u32,
}

/// One candidate site and what is around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub pointer: String,
    pub at: (f64, f64),
    /// The courtyards within walking reach of the site.
    pub in_reach: Vec<Households>,
    /// The nearest timber or brick-timber building: its id and the
    /// distance to its outline, metres.
    pub nearest_timber: Option<(i64, f64)>,
}

/// Sites with the households they would serve (each household counted
/// once, at the first site that reaches it), the ports needed, and the
/// refusals of sites too near timber.
///
/// `served` are the courtyards a working charger already reaches: their
/// households need no new port.
pub fn chargers(
    rules: &Rules,
    sites: &[Site],
    served: &BTreeSet<i64>,
) -> Result<PlanQuantities, ValidationError> {
    let c = &rules.chargers;
    let mut out = PlanQuantities::default();
    let mut errors = Vec::new();
    for site in sites {
        if let Some((building, d)) = site.nearest_timber {
            if d < c.min_distance_from_timber_m.value {
                errors.push(FieldError::new(
                    &site.pointer,
                    format!(
                        "this site is {:.1} m from timber building {building}: chargers keep {} m from timber buildings ({})",
                        d, c.min_distance_from_timber_m.value, c.min_distance_from_timber_m.source
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ValidationError { errors });
    }
    let mut counted: BTreeSet<i64> = BTreeSet::new();
    let (mut households_total, mut ports_total, mut unmet_total) = (0u64, 0u64, 0u64);
    for (i, site) in sites.iter().enumerate() {
        let mut households = 0u64;
        for h in &site.in_reach {
            if served.contains(&h.courtyard_id) || !counted.insert(h.courtyard_id) {
                continue;
            }
            households += u64::from(h.households);
        }
        let ebikes = households as f64 * c.ebikes_per_household.value;
        let needed = (ebikes / c.ebikes_per_port.value).ceil() as u64;
        let max = c.max_ports_per_site.value.floor() as u64;
        let ports = needed.min(max);
        let unmet = needed - ports;
        if unmet > 0 {
            out.flags.push(format!(
                "circuit: site {i} needs {needed} ports, an old circuit takes {max} ({}); {unmet} more at another site",
                c.max_ports_per_site.source
            ));
        }
        out.quantities
            .push(Measure::new("households_in_reach", households as f64, "households").site(i));
        out.quantities
            .push(Measure::new("ports", ports as f64, "ports").site(i));
        out.positions.push(site.at);
        households_total += households;
        ports_total += ports;
        unmet_total += unmet;
    }
    out.quantities
        .push(Measure::new("sites", sites.len() as f64, "sites"));
    out.quantities
        .push(Measure::new("ports", ports_total as f64, "ports"));
    out.effects.push(Measure::new(
        "households_newly_served",
        households_total as f64,
        "households",
    ));
    out.effects.push(Measure::new(
        "already_served_courtyards_in_reach",
        sites
            .iter()
            .flat_map(|s| &s.in_reach)
            .filter(|h| served.contains(&h.courtyard_id))
            .map(|h| h.courtyard_id)
            .collect::<BTreeSet<_>>()
            .len() as f64,
        "courtyards",
    ));
    if unmet_total > 0 {
        out.effects.push(Measure::new(
            "ports_still_needed",
            unmet_total as f64,
            "ports",
        ));
    }
    let costs = &rules.costs;
    out.cost(
        "charger site",
        sites.len() as f64,
        "sites",
        costs.charger_site.value,
        &costs.charger_site.source,
    );
    out.cost(
        "charger port",
        ports_total as f64,
        "ports",
        costs.charger_port.value,
        &costs.charger_port.source,
    );
    Ok(out)
}

/// Metres from a point to a building's outline (0 inside it), in a local
/// east/north view of the point: exact enough over the few metres the
/// fire rule is about.
pub fn distance_to_outline_m(at: (f64, f64), geometry: &geo::Geometry<f64>) -> f64 {
    use geo::{Contains, Point};
    let local = |c: geo::Coord<f64>| super::quantities::local_m(at, (c.x, c.y));
    if geometry.contains(&Point::new(at.0, at.1)) {
        return 0.0;
    }
    let rings: Vec<&geo::LineString<f64>> = match geometry {
        geo::Geometry::Polygon(p) => std::iter::once(p.exterior()).chain(p.interiors()).collect(),
        geo::Geometry::MultiPolygon(m) => {
            m.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .collect()
        }
        _ => Vec::new(),
    };
    let mut best = f64::INFINITY;
    for ring in rings {
        for w in ring.0.windows(2) {
            let (ax, ay) = local(w[0]);
            let (bx, by) = local(w[1]);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (x, y) = (ax + t * dx, ay + t * dy);
            best = best.min((x * x + y * y).sqrt());
        }
    }
    best
}
