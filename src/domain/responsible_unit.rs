//! Responsible units (承办单位): the organisations a case is dispatched
//! to, and what a dispatch gives them to answer by.

use super::{AssetKind, Category, DeadlineTier, District};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// A unit's code, e.g. `dongcheng-jiaodaokou-street`: 1 to 64 lower-case
/// ASCII letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(format!(
                "a unit code is 1 to 64 lower-case letters, digits and '-', got {:?}",
                text.chars().take(80).collect::<String>()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UnitCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for UnitCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UnitCode> for String {
    fn from(value: UnitCode) -> Self {
        value.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of organisation a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 街道办事处 / 乡镇: answers for everything in its area no one else
    /// does (the routing fallback).
    StreetOffice,
    /// The district city-management committee (城管委): lights, lanes,
    /// public space.
    CityManagement,
    DrainageCompany,
    PropertyCompany,
    ChargerOperator,
    HousingAuthority,
    Other,
}

/// A responsible unit and what it answers for. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub code: UnitCode,
    pub name: String,
    #[serde(default)]
    pub name_zh: Option<String>,
    pub kind: UnitKind,
    /// The districts it works in (at least one).
    pub districts: Vec<District>,
    /// A street office: the streets (街道/乡镇) it is, by area code; the
    /// routing fallback for cases in them.
    #[serde(default)]
    pub streets: Vec<String>,
    #[serde(default)]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub asset_kinds: Vec<AssetKind>,
    /// Its maintenance crews (施工队), who do its work orders.
    #[serde(default)]
    pub crews: Vec<Crew>,
}

/// A maintenance crew of a unit. Its code is written like a unit's and is
/// unique across all units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crew {
    pub code: UnitCode,
    pub name: String,
    #[serde(default)]
    pub name_zh: Option<String>,
}

impl Unit {
    /// Whether `crew` is one of this unit's crews.
    pub fn has_crew(&self, crew: &UnitCode) -> bool {
        self.crews.iter().any(|c| &c.code == crew)
    }

    /// Why this unit cannot take a case of `category` in `district`, if
    /// it cannot.
    pub fn refuses(&self, category: Category, district: Option<District>) -> Option<String> {
        if !self.categories.is_empty() && !self.categories.contains(&category) {
            return Some(format!(
                "unit {} does not handle {category} cases",
                self.code
            ));
        }
        match district {
            Some(d) if !self.districts.contains(&d) => {
                Some(format!("unit {} does not work in district {d}", self.code))
            }
            None => Some(
                "the case has no district, so no unit can be held to it; place it first"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// The unit a case is with, and its deadlines.
#[derive(Debug, Clone, PartialEq)]
pub struct Handling {
    pub unit: UnitCode,
    pub tier: DeadlineTier,
    pub dispatched_at: OffsetDateTime,
    /// By when the unit must accept the case (or send it back).
    pub response_due: OffsetDateTime,
    /// By when it must be resolved.
    pub resolution_due: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
}
