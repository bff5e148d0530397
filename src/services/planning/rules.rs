//! The engineering rules of repair planning, as data
//! (`config/engineering-rules.json`): every coefficient with its unit and
//! source, and a district's overrides merged over the defaults. Checked
//! once at start-up: an unknown key, a missing unit or source, or a value
//! out of its range is an error naming where it is.

use crate::domain::{District, FacilityType, Paving};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The rules built into the binary.
pub const DEFAULT_RULES: &str = include_str!("../../../config/engineering-rules.json");

/// A number with its unit and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coefficient<T = f64> {
    pub value: T,
    pub unit: String,
    pub source: String,
}

/// Beijing's storm intensity: q = A(1 + C lg P) / (t + b)^n, L/(s·ha).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "UPPERCASE")]
pub struct StormFormula {
    #[serde(default, rename = "about", skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub a: Coefficient,
    pub c: Coefficient,
    #[serde(rename = "b")]
    pub b: Coefficient,
    #[serde(rename = "n")]
    pub n: Coefficient,
}

impl StormFormula {
    /// q in L/(s·ha) for return period `p` years and duration `t` minutes.
    pub fn intensity(&self, p: f64, t: f64) -> f64 {
        self.a.value * (1.0 + self.c.value * p.log10()) / (t + self.b.value).powf(self.n.value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneOfDistrict {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub default: String,
    #[serde(default)]
    pub districts: BTreeMap<District, String>,
}

/// A surface's two runoff coefficients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceCoefficients {
    /// ψ: the flow runoff coefficient of the rational method.
    pub peak: Coefficient,
    /// φ: the share of the design storm's volume that reaches the drains.
    pub volume: Coefficient,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunoffRules {
    pub storm_zones: BTreeMap<String, StormFormula>,
    pub zone_of_district: ZoneOfDistrict,
    pub return_period_years: Coefficient,
    pub duration_min: Coefficient,
    /// Keyed by paving (`brick`, `permeable`, …) and `green`.
    pub surfaces: Surfaces,
    pub default_surface: Coefficient<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Surfaces {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(flatten)]
    pub by_name: BTreeMap<String, SurfaceCoefficients>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightRules {
    pub spacing_m: Coefficient,
    pub default_reach_m: Coefficient,
    pub sensor_energy_saving: Coefficient,
    pub lamp_power_w: Coefficient,
    pub hours_per_year: Coefficient,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargerRules {
    pub ebikes_per_household: Coefficient,
    pub ebikes_per_port: Coefficient,
    pub walking_reach_m: Coefficient,
    pub min_distance_from_timber_m: Coefficient,
    pub max_ports_per_site: Coefficient,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElevatorRules {
    pub min_storeys: Coefficient,
    pub consent_threshold: Coefficient,
    pub households_per_stairwell: Coefficient,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircleOfFacility {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(flatten)]
    pub minutes: BTreeMap<String, Coefficient>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifeCircleRules {
    pub walk_5_min_m: Coefficient,
    pub walk_10_min_m: Coefficient,
    pub walk_15_min_m: Coefficient,
    pub circle_of_facility: CircleOfFacility,
}

impl LifeCircleRules {
    /// The circle a facility type should serve: its minutes and walking
    /// distance (the rules are checked at start to name one for each).
    pub fn circle_of(&self, facility: FacilityType) -> (u32, f64) {
        let minutes = self
            .circle_of_facility
            .minutes
            .get(facility.as_str())
            .map_or(15, |m| m.value as u32);
        (
            minutes,
            self.reach_m(minutes).unwrap_or(self.walk_15_min_m.value),
        )
    }

    /// The walking distance of a 5-, 10- or 15-minute circle.
    pub fn reach_m(&self, minutes: u32) -> Option<f64> {
        match minutes {
            5 => Some(self.walk_5_min_m.value),
            10 => Some(self.walk_10_min_m.value),
            15 => Some(self.walk_15_min_m.value),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub permeable_paving_per_m2: Coefficient,
    pub sensor_light_each: Coefficient,
    pub sensor_retrofit_each: Coefficient,
    pub charger_site: Coefficient,
    pub charger_port: Coefficient,
    pub drainage_repair_each: Coefficient,
    pub restoration_per_m2_grade_c: Coefficient,
    pub restoration_per_m2_grade_d: Coefficient,
    pub restoration_per_m2_poor_condition: Coefficient,
    pub elevator_each: Coefficient,
    pub facility_per_m2: Coefficient,
    pub facility_each: Coefficient,
}

/// The rules as they apply in one district (or the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub runoff: RunoffRules,
    pub lights: LightRules,
    pub chargers: ChargerRules,
    pub elevators: ElevatorRules,
    pub life_circle: LifeCircleRules,
    pub costs: CostRules,
}

impl Rules {
    /// The storm formula of a district's zone.
    pub fn storm_formula(&self, district: Option<District>) -> Option<&StormFormula> {
        let zones = &self.runoff.zone_of_district;
        let zone = district
            .and_then(|d| zones.districts.get(&d))
            .unwrap_or(&zones.default);
        self.runoff.storm_zones.get(zone)
    }

    /// The design storm's intensity q, L/(s·ha), in a district.
    pub fn design_intensity(&self, district: Option<District>) -> f64 {
        self.storm_formula(district)
            .map(|f| {
                f.intensity(
                    self.runoff.return_period_years.value,
                    self.runoff.duration_min.value,
                )
            })
            .unwrap_or(0.0)
    }

    /// A surface's runoff coefficients: a paving, or `green`; a surface
    /// not recorded is the default surface.
    pub fn surface(&self, name: Option<&str>) -> Option<&SurfaceCoefficients> {
        let name = name.unwrap_or(&self.runoff.default_surface.value);
        self.runoff.surfaces.by_name.get(name)
    }

    /// Every problem with the values (ranges, references), by path.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |path: &str, c: &Coefficient, min: f64, max: f64| {
            if !(c.value.is_finite() && c.value >= min && c.value <= max) {
                problems.push(format!("{path}: {} is outside {min}..{max}", c.value));
            }
            if c.unit.trim().is_empty() || c.source.trim().is_empty() {
                problems.push(format!("{path}: needs a unit and a source"));
            }
        };
        let r = &self.runoff;
        for (zone, f) in &r.storm_zones {
            check(&format!("runoff.storm_zones.{zone}.A"), &f.a, 1.0, 1e5);
            check(&format!("runoff.storm_zones.{zone}.C"), &f.c, 0.0, 10.0);
            check(&format!("runoff.storm_zones.{zone}.b"), &f.b, 0.0, 100.0);
            check(&format!("runoff.storm_zones.{zone}.n"), &f.n, 0.1, 2.0);
        }
        check(
            "runoff.return_period_years",
            &r.return_period_years,
            0.5,
            1000.0,
        );
        check("runoff.duration_min", &r.duration_min, 1.0, 1440.0);
        for (name, s) in &r.surfaces.by_name {
            check(&format!("runoff.surfaces.{name}.peak"), &s.peak, 0.0, 1.0);
            check(
                &format!("runoff.surfaces.{name}.volume"),
                &s.volume,
                0.0,
                1.0,
            );
        }
        let l = &self.lights;
        check("lights.spacing_m", &l.spacing_m, 1.0, 200.0);
        check("lights.default_reach_m", &l.default_reach_m, 1.0, 200.0);
        check(
            "lights.sensor_energy_saving",
            &l.sensor_energy_saving,
            0.0,
            1.0,
        );
        check("lights.lamp_power_w", &l.lamp_power_w, 0.0, 10_000.0);
        check("lights.hours_per_year", &l.hours_per_year, 0.0, 8_784.0);
        let c = &self.chargers;
        check(
            "chargers.ebikes_per_household",
            &c.ebikes_per_household,
            0.0,
            20.0,
        );
        check("chargers.ebikes_per_port", &c.ebikes_per_port, 0.1, 100.0);
        check(
            "chargers.walking_reach_m",
            &c.walking_reach_m,
            10.0,
            5_000.0,
        );
        check(
            "chargers.min_distance_from_timber_m",
            &c.min_distance_from_timber_m,
            0.0,
            500.0,
        );
        check(
            "chargers.max_ports_per_site",
            &c.max_ports_per_site,
            1.0,
            1_000.0,
        );
        let e = &self.elevators;
        check("elevators.min_storeys", &e.min_storeys, 2.0, 100.0);
        check(
            "elevators.consent_threshold",
            &e.consent_threshold,
            0.0,
            1.0,
        );
        check(
            "elevators.households_per_stairwell",
            &e.households_per_stairwell,
            1.0,
            200.0,
        );
        let lc = &self.life_circle;
        check("life_circle.walk_5_min_m", &lc.walk_5_min_m, 10.0, 5_000.0);
        check(
            "life_circle.walk_10_min_m",
            &lc.walk_10_min_m,
            10.0,
            5_000.0,
        );
        check(
            "life_circle.walk_15_min_m",
            &lc.walk_15_min_m,
            10.0,
            5_000.0,
        );
        for (kind, minutes) in &lc.circle_of_facility.minutes {
            check(
                &format!("life_circle.circle_of_facility.{kind}"),
                minutes,
                5.0,
                15.0,
            );
        }
        let costs = &self.costs;
        for (name, c) in [
            ("permeable_paving_per_m2", &costs.permeable_paving_per_m2),
            ("sensor_light_each", &costs.sensor_light_each),
            ("sensor_retrofit_each", &costs.sensor_retrofit_each),
            ("charger_site", &costs.charger_site),
            ("charger_port", &costs.charger_port),
            ("drainage_repair_each", &costs.drainage_repair_each),
            (
                "restoration_per_m2_grade_c",
                &costs.restoration_per_m2_grade_c,
            ),
            (
                "restoration_per_m2_grade_d",
                &costs.restoration_per_m2_grade_d,
            ),
            (
                "restoration_per_m2_poor_condition",
                &costs.restoration_per_m2_poor_condition,
            ),
            ("elevator_each", &costs.elevator_each),
            ("facility_per_m2", &costs.facility_per_m2),
            ("facility_each", &costs.facility_each),
        ] {
            check(&format!("costs.{name}"), c, 0.0, 1e10);
        }
        for kind in lc.circle_of_facility.minutes.keys() {
            if kind.parse::<FacilityType>().is_err() {
                problems.push(format!(
                    "life_circle.circle_of_facility.{kind}: not a facility type (park, sports_ground, elderly_care, community_centre, clinic)"
                ));
            }
        }
        for t in FacilityType::ALL {
            if !lc.circle_of_facility.minutes.contains_key(t.as_str()) {
                problems.push(format!(
                    "life_circle.circle_of_facility.{}: missing (every facility type names its circle)",
                    t.as_str()
                ));
            }
        }
        for m in lc.circle_of_facility.minutes.values() {
            if lc.reach_m(m.value as u32).is_none() || m.value.fract() != 0.0 {
                problems.push(format!(
                    "life_circle.circle_of_facility: {} is not 5, 10 or 15 minutes",
                    m.value
                ));
            }
        }
        let zones = &r.zone_of_district;
        for zone in std::iter::once(&zones.default).chain(zones.districts.values()) {
            if !r.storm_zones.contains_key(zone) {
                problems.push(format!(
                    "runoff.zone_of_district: no storm zone {zone:?} in runoff.storm_zones"
                ));
            }
        }
        let surfaces = &r.surfaces.by_name;
        for paving in Paving::ALL {
            if !surfaces.contains_key(paving.as_str()) {
                problems.push(format!(
                    "runoff.surfaces: no coefficients for {}",
                    paving.as_str()
                ));
            }
        }
        if !surfaces.contains_key("green") {
            problems.push("runoff.surfaces: no coefficients for green".into());
        }
        if !surfaces.contains_key(&r.default_surface.value) {
            problems.push(format!(
                "runoff.default_surface: {:?} is not in runoff.surfaces",
                r.default_surface.value
            ));
        }
        problems
    }
}

/// The rules of every district: the defaults, and each district's
/// overrides merged over them.
#[derive(Debug, Clone)]
pub struct EngineeringRules {
    defaults: Rules,
    by_district: BTreeMap<District, Rules>,
}

/// RFC 7386 merge patch of `patch` into `target`. By hand: a dozen lines
/// against a crate for one function.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (key, value) in p {
                if value.is_null() {
                    t.remove(key);
                } else {
                    merge(t.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn typed(value: Value, what: &str) -> Result<Rules, String> {
    let rules: Rules = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("{what}: {} at {}", e.inner(), e.path()))?;
    let problems = rules.problems();
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(format!("{what}: {}", problems.join("; ")))
    }
}

impl EngineeringRules {
    /// The rules of a JSON document like `config/engineering-rules.json`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut document: Value =
            serde_json::from_str(text).map_err(|e| format!("engineering rules: {e}"))?;
        let overrides = match document.as_object_mut().and_then(|o| o.remove("overrides")) {
            None => Map::new(),
            Some(Value::Object(o)) => o,
            Some(_) => return Err("engineering rules: overrides must be an object".into()),
        };
        let defaults = typed(document.clone(), "engineering rules")?;
        let mut by_district = BTreeMap::new();
        for (name, patch) in overrides {
            let district: District = name
                .parse()
                .map_err(|e| format!("engineering rules: overrides.{name}: {e}"))?;
            let mut merged = document.clone();
            merge(&mut merged, &patch);
            by_district.insert(
                district,
                typed(merged, &format!("engineering rules, overrides.{name}"))?,
            );
        }
        Ok(Self {
            defaults,
            by_district,
        })
    }

    /// The rules built into the binary.
    pub fn builtin() -> Result<Self, String> {
        Self::parse(DEFAULT_RULES)
    }

    /// The rules in a district (the defaults where it overrides nothing).
    pub fn of(&self, district: Option<District>) -> &Rules {
        district
            .and_then(|d| self.by_district.get(&d))
            .unwrap_or(&self.defaults)
    }

    /// The districts that override something.
    pub fn overridden(&self) -> impl Iterator<Item = District> + '_ {
        self.by_district.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rules_parse_and_carry_the_issue_defaults() {
        let rules = EngineeringRules::builtin().expect("the built-in rules are valid");
        let d = rules.of(None);
        assert_eq!(d.lights.spacing_m.value, 20.0);
        assert_eq!(d.chargers.walking_reach_m.value, 300.0);
        assert_eq!(d.chargers.ebikes_per_port.value, 3.0);
        assert_eq!(
            d.surface(Some("permeable")).map(|s| s.peak.value),
            Some(0.30)
        );
        assert_eq!(d.surface(None).map(|s| s.peak.value), Some(0.40));
        // q = 2001 (1 + 0.811 lg 3) / (10 + 8)^0.711, worked by hand:
        // lg 3 = 0.47712; 1 + 0.811 × 0.47712 = 1.38695; × 2001 = 2775.29;
        // 18^0.711 = e^(0.711 × 2.89037) = e^2.05505 = 7.80713; q = 355.48.
        let q = d.design_intensity(Some(District::Dongcheng));
        assert!((q - 355.48).abs() < 0.05, "{q}");
        // Changping's override changes one value and keeps the rest.
        let changping = rules.of(Some(District::Changping));
        assert_eq!(changping.chargers.ebikes_per_household.value, 0.8);
        assert_eq!(changping.lights, d.lights);
        assert_eq!(rules.of(Some(District::Xicheng)), d);
    }

    #[test]
    fn a_bad_override_is_refused_with_its_place() {
        let mut document: Value = serde_json::from_str(DEFAULT_RULES).expect("JSON");
        document["overrides"] =
            serde_json::json!({"xicheng": {"lights": {"spacing_m": {"value": -5}}}});
        let e = EngineeringRules::parse(&document.to_string()).expect_err("refused");
        assert!(
            e.contains("overrides.xicheng") && e.contains("lights.spacing_m"),
            "{e}"
        );
        document["overrides"] =
            serde_json::json!({"xicheng": {"lights": {"spacing": {"value": 16}}}});
        let e = EngineeringRules::parse(&document.to_string()).expect_err("refused");
        assert!(e.contains("spacing"), "{e}");
        document["overrides"] = serde_json::json!({"atlantis": {}});
        assert!(EngineeringRules::parse(&document.to_string()).is_err());
        document["overrides"] = serde_json::json!({});
        document["runoff"]["zone_of_district"]["districts"] =
            serde_json::json!({"yanqing": "hills"});
        let e = EngineeringRules::parse(&document.to_string()).expect_err("refused");
        assert!(e.contains("hills"), "{e}");
    }
}
