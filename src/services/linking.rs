//! Linking complaints to the assets they concern. The rules are data:
//! `config/linking-rules.json` (built in), one rule per category and
//! target, each naming the asset kinds, how to choose among them and a
//! search radius. See the README's "Linking rules".

use crate::domain::{AssetKind, Category};
use crate::domain::{ComplaintLink, Linking};
use crate::spatial::{AssetIndex, NearbyQuery};
use geo::Point;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in rules.
pub const DEFAULT_RULES: &str = include_str!("../../config/linking-rules.json");

/// How a rule chooses among the assets of its kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every asset within `radius_m`.
    AllWithin,
    /// The single nearest asset within `radius_m`.
    Nearest,
    /// The polygons that contain the point.
    Containing,
    /// The containing polygons; if none, the nearest within `radius_m`.
    ContainingElseNearest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub category: Category,
    /// Recorded on every link this rule makes.
    pub name: String,
    pub kinds: Vec<AssetKind>,
    pub select: Selection,
    #[serde(default)]
    pub radius_m: Option<f64>,
    /// A flag set on the complaint when the rule finds nothing.
    #[serde(default)]
    pub flag_if_none: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRule {
    pub default_radius_m: f64,
    pub window_days: u32,
    #[serde(default)]
    pub radius_m: BTreeMap<Category, f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkingRules {
    pub duplicates: DuplicateRule,
    pub rules: Vec<Rule>,
}

impl LinkingRules {
    /// Parses and checks a rules document.
    pub fn parse(json: &str) -> Result<Self, String> {
        let rules: LinkingRules =
            serde_json::from_str(json).map_err(|e| format!("linking rules: {e}"))?;
        for rule in &rules.rules {
            let needs_radius = rule.select != Selection::Containing;
            match rule.radius_m {
                Some(r) if !(r.is_finite() && r > 0.0 && r <= 5_000.0) => {
                    return Err(format!("rule {}: radius_m must be in (0, 5000]", rule.name));
                }
                None if needs_radius => {
                    return Err(format!("rule {}: radius_m is required", rule.name));
                }
                _ => {}
            }
            if rule.kinds.is_empty() {
                return Err(format!("rule {}: names no asset kinds", rule.name));
            }
        }
        Ok(rules)
    }

    pub fn builtin() -> Self {
        // The built-in document is checked by a unit test below.
        Self::parse(DEFAULT_RULES).unwrap_or(LinkingRules {
            duplicates: DuplicateRule {
                default_radius_m: 50.0,
                window_days: 30,
                radius_m: BTreeMap::new(),
            },
            rules: Vec::new(),
        })
    }

    /// Applies the category's rules at a WGS 84 point.
    pub fn link(&self, index: &AssetIndex, category: Category, point: (f64, f64)) -> Linking {
        let point = Point::new(point.0, point.1);
        let mut linking = Linking::default();
        for rule in self.rules.iter().filter(|r| r.category == category) {
            let containing = || -> Vec<ComplaintLink> {
                index
                    .containing(point, &rule.kinds)
                    .iter()
                    .map(|a| ComplaintLink {
                        asset_id: a.id().0,
                        rule: rule.name.clone(),
                        distance_m: 0.0,
                    })
                    .collect()
            };
            let nearby = |limit: usize| -> Vec<ComplaintLink> {
                index
                    .nearby(&NearbyQuery {
                        point,
                        kinds: rule.kinds.clone(),
                        radius_m: rule.radius_m,
                        limit,
                    })
                    .into_iter()
                    .map(|h| ComplaintLink {
                        asset_id: h.asset.id().0,
                        rule: rule.name.clone(),
                        distance_m: (h.distance_m * 100.0).round() / 100.0,
                    })
                    .collect()
            };
            let found = match rule.select {
                Selection::AllWithin => nearby(usize::MAX),
                Selection::Nearest => nearby(1),
                Selection::Containing => containing(),
                Selection::ContainingElseNearest => {
                    let inside = containing();
                    if inside.is_empty() { nearby(1) } else { inside }
                }
            };
            if found.is_empty() {
                if let Some(flag) = &rule.flag_if_none {
                    linking.flags.push(flag.clone());
                }
            }
            linking.links.extend(found);
        }
        linking
    }

    /// The categories whose links may change when an asset of `kind`
    /// changes, with the largest distance at which they look for it.
    pub fn reach_of(&self, kind: AssetKind) -> Vec<(Category, f64)> {
        let mut reach: BTreeMap<Category, f64> = BTreeMap::new();
        for rule in self.rules.iter().filter(|r| r.kinds.contains(&kind)) {
            let r = rule.radius_m.unwrap_or(0.0);
            let entry = reach.entry(rule.category).or_insert(0.0);
            *entry = entry.max(r);
        }
        reach.into_iter().collect()
    }

    /// Radius within which an open complaint of the category is a likely
    /// duplicate.
    pub fn duplicate_radius_m(&self, category: Category) -> f64 {
        self.duplicates
            .radius_m
            .get(&category)
            .copied()
            .unwrap_or(self.duplicates.default_radius_m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rules_parse_and_cover_the_design() {
        let rules = LinkingRules::parse(DEFAULT_RULES).expect("built-in rules are valid");
        let categories: Vec<Category> = rules.rules.iter().map(|r| r.category).collect();
        for c in [
            Category::WaterPooling,
            Category::BrokenLight,
            Category::DarkLane,
            Category::EbikeCharging,
            Category::ElevatorInstallation,
            Category::HousingLeak,
            Category::IllegalConstruction,
            Category::PropertyCertificate,
        ] {
            assert!(categories.contains(&c), "no rule for {c}");
        }
        assert_eq!(
            rules.reach_of(AssetKind::Charger),
            vec![(Category::EbikeCharging, 300.0)]
        );
        assert_eq!(rules.duplicate_radius_m(Category::WaterPooling), 50.0);
        assert_eq!(rules.duplicate_radius_m(Category::EbikeCharging), 100.0);
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            r#"{"duplicates": {"default_radius_m": 50, "window_days": 30}, "rules": [{"category": "dark_lane", "name": "x", "kinds": ["light"], "select": "all_within"}]}"#,
            r#"{"duplicates": {"default_radius_m": 50, "window_days": 30}, "rules": [{"category": "dark_lane", "name": "x", "kinds": [], "select": "containing"}]}"#,
            r#"{"duplicates": {"default_radius_m": 50, "window_days": 30}, "rules": [{"category": "nope", "name": "x", "kinds": ["light"], "select": "containing"}]}"#,
        ] {
            assert!(LinkingRules::parse(bad).is_err(), "{bad}");
        }
    }
}
