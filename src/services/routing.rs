//! Which responsible unit a case goes to: the units and the routing rules
//! as data (`config/responsible-units.json`, built in). The first rule
//! whose categories, linked asset kinds and districts match decides; else
//! the street office of the case's district is the fallback, suggested
//! for an operator to dispatch by hand.

use crate::domain::{AssetKind, Category, District, Unit, UnitCode, UnitKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in units and rules (those of the demo fixtures).
pub const DEFAULT_UNITS: &str = include_str!("../../config/responsible-units.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    #[serde(default)]
    pub categories: Vec<Category>,
    /// The case must be linked to an asset of one of these kinds.
    #[serde(default)]
    pub asset_kinds: Vec<AssetKind>,
    #[serde(default)]
    pub districts: Vec<District>,
    pub unit: UnitCode,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsDocument {
    #[serde(default, rename = "_about")]
    _about: serde::de::IgnoredAny,
    units: Vec<Unit>,
    rules: Vec<RoutingRule>,
    fallback: BTreeMap<District, UnitCode>,
}

/// Where routing sends a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub unit: UnitCode,
    /// The rule that decided, or `None` for the street-office fallback.
    pub rule: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ResponsibleUnits {
    units: BTreeMap<UnitCode, Unit>,
    /// Each crew's unit.
    crews: BTreeMap<UnitCode, UnitCode>,
    rules: Vec<RoutingRule>,
    fallback: BTreeMap<District, UnitCode>,
}

impl ResponsibleUnits {
    /// Parses and checks a units document: codes unique, every rule and
    /// fallback naming a known unit that can take what it is sent.
    pub fn parse(json: &str) -> Result<Self, String> {
        let doc: UnitsDocument =
            serde_json::from_str(json).map_err(|e| format!("responsible units: {e}"))?;
        let mut units = BTreeMap::new();
        let mut crews = BTreeMap::new();
        for unit in doc.units {
            for crew in &unit.crews {
                if crews.insert(crew.code.clone(), unit.code.clone()).is_some() {
                    return Err(format!("crew {} is listed twice", crew.code));
                }
                if crew.name.trim().is_empty() {
                    return Err(format!("crew {} has no name", crew.code));
                }
            }
            if unit.districts.is_empty() {
                return Err(format!("unit {} lists no districts", unit.code));
            }
            if unit.name.trim().is_empty() {
                return Err(format!("unit {} has no name", unit.code));
            }
            let code = unit.code.clone();
            if units.insert(code.clone(), unit).is_some() {
                return Err(format!("unit {code} is listed twice"));
            }
        }
        for rule in &doc.rules {
            let unit = units
                .get(&rule.unit)
                .ok_or_else(|| format!("rule {} names unknown unit {}", rule.name, rule.unit))?;
            for category in &rule.categories {
                if !unit.categories.is_empty() && !unit.categories.contains(category) {
                    return Err(format!(
                        "rule {} sends {category} to unit {}, which does not handle it",
                        rule.name, rule.unit
                    ));
                }
            }
        }
        for (district, code) in &doc.fallback {
            let unit = units
                .get(code)
                .ok_or_else(|| format!("the fallback of {district} is unknown unit {code}"))?;
            if !unit.categories.is_empty() || !unit.districts.contains(district) {
                return Err(format!(
                    "the fallback of {district}, unit {code}, must take every category in {district}"
                ));
            }
        }
        Ok(Self {
            units,
            crews,
            rules: doc.rules,
            fallback: doc.fallback,
        })
    }

    /// The built-in units and rules (checked by a unit test).
    pub fn builtin() -> Result<Self, String> {
        Self::parse(DEFAULT_UNITS)
    }

    pub fn unit(&self, code: &UnitCode) -> Option<&Unit> {
        self.units.get(code)
    }

    /// The unit a crew belongs to.
    pub fn unit_of_crew(&self, crew: &UnitCode) -> Option<&Unit> {
        self.crews.get(crew).and_then(|unit| self.units.get(unit))
    }

    pub fn all(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    pub fn rules(&self) -> &[RoutingRule] {
        &self.rules
    }

    /// The unit for a case of `category` in `district` (and `street`, an
    /// area code), linked to assets of `linked` kinds. The fallback is the
    /// street office of the case's street, else of its district.
    pub fn route(
        &self,
        category: Category,
        linked: &[AssetKind],
        district: Option<District>,
        street: Option<&str>,
    ) -> Option<Route> {
        let decided = self.rules.iter().find(|rule| {
            (rule.categories.is_empty() || rule.categories.contains(&category))
                && (rule.asset_kinds.is_empty()
                    || rule.asset_kinds.iter().any(|k| linked.contains(k)))
                && (rule.districts.is_empty()
                    || district.is_some_and(|d| rule.districts.contains(&d)))
        });
        if let Some(rule) = decided {
            return Some(Route {
                unit: rule.unit.clone(),
                rule: Some(rule.name.clone()),
            });
        }
        let by_street = street.and_then(|street| {
            self.units.values().find(|u| {
                u.kind == UnitKind::StreetOffice
                    && u.streets.iter().any(|s| s == street)
                    && district.is_none_or(|d| u.districts.contains(&d))
            })
        });
        by_street
            .map(|u| &u.code)
            .or_else(|| district.and_then(|d| self.fallback.get(&d)))
            .map(|unit| Route {
                unit: unit.clone(),
                rule: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> UnitCode {
        UnitCode::parse(text).expect("code")
    }

    #[test]
    fn rules_decide_in_order_and_the_street_office_catches_the_rest() {
        let units = ResponsibleUnits::parse(DEFAULT_UNITS).expect("valid");
        let routed = |c, k: &[AssetKind], d| units.route(c, k, Some(d), None);
        let drain = routed(
            Category::WaterPooling,
            &[AssetKind::Drainage, AssetKind::Courtyard],
            District::Dongcheng,
        );
        assert_eq!(drain.map(|r| r.unit), Some(code("beijing-drainage")));
        let light = routed(Category::DarkLane, &[AssetKind::Light], District::Changping);
        assert_eq!(
            light.map(|r| r.unit),
            Some(code("changping-city-management"))
        );
        // No drain linked: the street office, as a fallback.
        let pooling = routed(
            Category::WaterPooling,
            &[AssetKind::Courtyard],
            District::Dongcheng,
        );
        assert_eq!(
            pooling,
            Some(Route {
                unit: code("dongcheng-jiaodaokou-street"),
                rule: None
            })
        );
        // The estate's own charger rule comes before the general one.
        let charger = routed(
            Category::EbikeCharging,
            &[AssetKind::Charger],
            District::Changping,
        );
        assert_eq!(charger.map(|r| r.unit), Some(code("huilongguan-property")));
        assert_eq!(units.route(Category::Other, &[], None, None), None);
        // By street, the street's own office.
        let by_street = units.route(
            Category::Other,
            &[],
            Some(District::Changping),
            Some("changping-huilongguan"),
        );
        assert_eq!(
            by_street.map(|r| r.unit),
            Some(code("changping-huilongguan-street"))
        );
    }

    #[test]
    fn broken_unit_documents_are_refused() {
        let good: serde_json::Value = serde_json::from_str(DEFAULT_UNITS).expect("json");
        let mut unknown_unit = good.clone();
        unknown_unit["rules"][0]["unit"] = "nobody".into();
        let mut twice = good.clone();
        if let Some(list) = twice["units"].as_array_mut() {
            let first = list[0].clone();
            list.push(first);
        }
        let mut wrong_category = good.clone();
        wrong_category["rules"][0]["categories"] = serde_json::json!(["dark_lane"]);
        let mut narrow_fallback = good.clone();
        narrow_fallback["fallback"]["dongcheng"] = "beijing-drainage".into();
        for bad in [unknown_unit, twice, wrong_category, narrow_fallback] {
            assert!(ResponsibleUnits::parse(&bad.to_string()).is_err(), "{bad}");
        }
    }
}
