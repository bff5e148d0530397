//! Typed, validated attributes of each asset kind.
//!
//! Input arrives as the JSON `properties` of a GeoJSON Feature. Unknown
//! attributes, wrong types and out-of-range values are rejected with the
//! name of the field; derived values (`area_m2`, `length_m`,
//! `courtyard_id`) and bookkeeping (`version`, timestamps) are read-only
//! and ignored on input, so a feature read from the API can be sent back.

use super::{
    AssetKind, ChargerAccess, ChargerStatus, Condition, District, DrainageType, ElevatorStatus,
    FacilityType, FieldError, HeritageGrade, LightSensor, LightStatus, LightType, Paving,
    PondingRisk, Structure, ValidationError,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Properties the service computes or keeps itself; ignored on input.
pub const READ_ONLY_PROPERTIES: &[&str] = &[
    "area_m2",
    "length_m",
    "courtyard_id",
    "distance_m",
    "version",
    "created_at",
    "updated_at",
];

// Each kind's struct lists its common fields (name, district, notes)
// itself: serde's `flatten` cannot be combined with `deny_unknown_fields`,
// and refusing unknown attributes matters more than the repetition.

const NAME_MAX_CHARS: usize = 200;
const ADDRESS_MAX_CHARS: usize = 300;
const NOTES_MAX_CHARS: usize = 4000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourtyardAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hutong: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heritage_grade: Option<HeritageGrade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub households: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residents: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paving: Option<Paving>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildingAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storeys: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<Structure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_built: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heritage_grade: Option<HeritageGrade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_construction: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevator: Option<ElevatorStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaneAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paving: Option<Paving>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrainageAttributes {
    pub drainage_type: DrainageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Date of the last clearing, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_cleared: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ponding_risk: Option<PondingRisk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LightAttributes {
    pub light_type: LightType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    #[serde(default = "default_sensor")]
    pub sensor: LightSensor,
    #[serde(default = "default_light_status")]
    pub status: LightStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn default_sensor() -> LightSensor {
    LightSensor::None
}

fn default_light_status() -> LightStatus {
    LightStatus::Working
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargerAttributes {
    pub ports: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_kw: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<ChargerAccess>,
    #[serde(default = "default_charger_status")]
    pub status: ChargerStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn default_charger_status() -> ChargerStatus {
    ChargerStatus::Working
}

/// A park, sports ground, elderly-care station, community centre or
/// clinic: what the 15-minute life circle counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityAttributes {
    pub facility_type: FacilityType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
    /// Derived from the administrative areas the asset lies in; a value
    /// sent is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub street: Option<String>,
    /// Derived like `street`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub community: Option<String>,
    /// How many people it takes at once (visitors, places or beds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// When it is open, in the common subset of OpenStreetMap's
    /// `opening_hours`: `24/7`, or rules separated by `; `, each an
    /// optional day range and times, e.g. `Mo-Fr 08:00-20:00; Sa,Su
    /// 09:00-17:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

const OPENING_HOURS_MAX_CHARS: usize = 200;
const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/// What is wrong with an `opening_hours` text, if anything. Written by
/// hand: the one crate that parses the whole OpenStreetMap grammar
/// (public holidays, sunrise, week numbers) is far more than the subset a
/// district records, and would let through what no clerk can read back.
pub fn opening_hours_problem(text: &str) -> Option<String> {
    if text.chars().count() > OPENING_HOURS_MAX_CHARS {
        return Some(format!("at most {OPENING_HOURS_MAX_CHARS} characters"));
    }
    if text == "24/7" {
        return None;
    }
    let example = "e.g. \"Mo-Fr 08:00-20:00; Sa,Su 09:00-17:00\" or \"24/7\"";
    if text.trim().is_empty() {
        return Some(format!("is empty; {example}"));
    }
    for rule in text.split(';').map(str::trim) {
        let (days, times) = match rule.split_once(' ') {
            Some((d, t)) if d.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => {
                (Some(d), t)
            }
            _ => (None, rule),
        };
        if let Some(days) = days {
            for part in days.split(',') {
                let ok = match part.split_once('-') {
                    Some((a, b)) => DAYS.contains(&a) && DAYS.contains(&b),
                    None => DAYS.contains(&part),
                };
                if !ok {
                    return Some(format!(
                        "{part:?} is not a day or day range (Mo-Su); {example}"
                    ));
                }
            }
        }
        let times = times.trim();
        if times == "off" && days.is_some() {
            continue;
        }
        for span in times.split(',').map(str::trim) {
            let minutes = span
                .split_once('-')
                .and_then(|(a, b)| Some((clock(a)?, clock(b)?)));
            match minutes {
                Some((from, to)) if from != to => {}
                _ => {
                    return Some(format!(
                        "{span:?} is not a time span HH:MM-HH:MM; {example}"
                    ));
                }
            }
        }
    }
    None
}

/// Minutes after midnight of `HH:MM` (24:00 allowed as the end of a day).
fn clock(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// The attributes of one asset, typed by its kind. Serialized as the
/// kind's own object (absent values left out), without a tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AssetAttributes {
    Courtyard(CourtyardAttributes),
    Building(BuildingAttributes),
    Lane(LaneAttributes),
    Drainage(DrainageAttributes),
    Light(LightAttributes),
    Charger(ChargerAttributes),
    Facility(FacilityAttributes),
}

impl AssetAttributes {
    /// The attributes of a `kind` with only what it requires, at their
    /// first values (for tests and benchmarks that need only geometry).
    pub fn minimal(kind: AssetKind) -> Self {
        match kind {
            AssetKind::Courtyard => Self::Courtyard(CourtyardAttributes::default()),
            AssetKind::Building => Self::Building(BuildingAttributes::default()),
            AssetKind::Lane => Self::Lane(LaneAttributes::default()),
            AssetKind::Drainage => Self::Drainage(DrainageAttributes {
                drainage_type: DrainageType::Inlet,
                name: None,
                district: None,
                street: None,
                community: None,
                condition: None,
                last_cleared: None,
                ponding_risk: None,
                notes: None,
            }),
            AssetKind::Light => Self::Light(LightAttributes {
                light_type: LightType::Street,
                name: None,
                district: None,
                street: None,
                community: None,
                sensor: default_sensor(),
                status: default_light_status(),
                power_w: None,
                reach_m: None,
                notes: None,
            }),
            AssetKind::Charger => Self::Charger(ChargerAttributes {
                ports: 1,
                name: None,
                district: None,
                street: None,
                community: None,
                power_kw: None,
                operator: None,
                access: None,
                status: default_charger_status(),
                notes: None,
            }),
            AssetKind::Facility => Self::Facility(FacilityAttributes {
                facility_type: FacilityType::Park,
                name: None,
                district: None,
                street: None,
                community: None,
                capacity: None,
                opening_hours: None,
                condition: None,
                notes: None,
            }),
        }
    }

    /// Parses and validates the `properties` of a feature of `kind`.
    /// `kind` itself and the read-only properties are skipped. Errors
    /// carry JSON pointers relative to the properties object.
    pub fn parse(
        kind: AssetKind,
        properties: &Map<String, Value>,
    ) -> Result<Self, ValidationError> {
        let mut input = properties.clone();
        input.remove("kind");
        for key in READ_ONLY_PROPERTIES {
            input.remove(*key);
        }
        // JSON null means "not given", as in a merge patch.
        input.retain(|_, v| !v.is_null());
        let attributes = Self::typed(kind, input)?;
        let errors = attributes.range_errors();
        if errors.is_empty() {
            Ok(attributes)
        } else {
            Err(ValidationError { errors })
        }
    }

    /// Reads attributes written by this service earlier, straight from
    /// their JSON text into the typed struct. Range checks are not
    /// repeated, so that tightening a rule never makes stored assets
    /// unreadable; the structure must still match.
    pub fn from_stored(kind: AssetKind, text: &str) -> Result<Self, String> {
        let typed = match kind {
            AssetKind::Courtyard => serde_json::from_str(text).map(AssetAttributes::Courtyard),
            AssetKind::Building => serde_json::from_str(text).map(AssetAttributes::Building),
            AssetKind::Lane => serde_json::from_str(text).map(AssetAttributes::Lane),
            AssetKind::Drainage => serde_json::from_str(text).map(AssetAttributes::Drainage),
            AssetKind::Light => serde_json::from_str(text).map(AssetAttributes::Light),
            AssetKind::Charger => serde_json::from_str(text).map(AssetAttributes::Charger),
            AssetKind::Facility => serde_json::from_str(text).map(AssetAttributes::Facility),
        };
        typed.map_err(|e| format!("{kind} attributes: {e}"))
    }

    /// The typed attributes of a properties map, with errors as JSON
    /// pointers (for input).
    fn typed(kind: AssetKind, stored: Map<String, Value>) -> Result<Self, ValidationError> {
        let value = Value::Object(stored);
        Ok(match kind {
            AssetKind::Courtyard => AssetAttributes::Courtyard(deserialize(value)?),
            AssetKind::Building => AssetAttributes::Building(deserialize(value)?),
            AssetKind::Lane => AssetAttributes::Lane(deserialize(value)?),
            AssetKind::Drainage => AssetAttributes::Drainage(deserialize(value)?),
            AssetKind::Light => AssetAttributes::Light(deserialize(value)?),
            AssetKind::Charger => AssetAttributes::Charger(deserialize(value)?),
            AssetKind::Facility => AssetAttributes::Facility(deserialize(value)?),
        })
    }

    pub fn kind(&self) -> AssetKind {
        match self {
            AssetAttributes::Courtyard(_) => AssetKind::Courtyard,
            AssetAttributes::Building(_) => AssetKind::Building,
            AssetAttributes::Lane(_) => AssetKind::Lane,
            AssetAttributes::Drainage(_) => AssetKind::Drainage,
            AssetAttributes::Light(_) => AssetKind::Light,
            AssetAttributes::Charger(_) => AssetKind::Charger,
            AssetAttributes::Facility(_) => AssetKind::Facility,
        }
    }

    pub fn district(&self) -> Option<District> {
        match self {
            AssetAttributes::Courtyard(a) => a.district,
            AssetAttributes::Building(a) => a.district,
            AssetAttributes::Lane(a) => a.district,
            AssetAttributes::Drainage(a) => a.district,
            AssetAttributes::Light(a) => a.district,
            AssetAttributes::Charger(a) => a.district,
            AssetAttributes::Facility(a) => a.district,
        }
    }

    /// The street (街道) it lies in, by code (derived from where it is).
    pub fn street(&self) -> Option<&str> {
        match self {
            AssetAttributes::Courtyard(a) => a.street.as_deref(),
            AssetAttributes::Building(a) => a.street.as_deref(),
            AssetAttributes::Lane(a) => a.street.as_deref(),
            AssetAttributes::Drainage(a) => a.street.as_deref(),
            AssetAttributes::Light(a) => a.street.as_deref(),
            AssetAttributes::Charger(a) => a.street.as_deref(),
            AssetAttributes::Facility(a) => a.street.as_deref(),
        }
    }

    /// Sets the district (derived from where the asset is).
    pub fn set_district(&mut self, district: Option<District>) {
        match self {
            AssetAttributes::Courtyard(a) => a.district = district,
            AssetAttributes::Building(a) => a.district = district,
            AssetAttributes::Lane(a) => a.district = district,
            AssetAttributes::Drainage(a) => a.district = district,
            AssetAttributes::Light(a) => a.district = district,
            AssetAttributes::Charger(a) => a.district = district,
            AssetAttributes::Facility(a) => a.district = district,
        }
    }

    /// Sets the street and community (derived from where the asset is).
    pub fn set_areas(&mut self, street: Option<String>, community: Option<String>) {
        let (s, c) = match self {
            AssetAttributes::Courtyard(a) => (&mut a.street, &mut a.community),
            AssetAttributes::Building(a) => (&mut a.street, &mut a.community),
            AssetAttributes::Lane(a) => (&mut a.street, &mut a.community),
            AssetAttributes::Drainage(a) => (&mut a.street, &mut a.community),
            AssetAttributes::Light(a) => (&mut a.street, &mut a.community),
            AssetAttributes::Charger(a) => (&mut a.street, &mut a.community),
            AssetAttributes::Facility(a) => (&mut a.street, &mut a.community),
        };
        *s = street;
        *c = community;
    }

    /// The attributes as a JSON object (absent values left out).
    pub fn to_json(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            // Plain structs of strings, numbers and enums always serialize
            // to an object; anything else would be a bug, rendered empty.
            _ => Map::new(),
        }
    }

    fn range_errors(&self) -> Vec<FieldError> {
        let mut c = Checks::default();
        match self {
            AssetAttributes::Courtyard(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("address", &a.address, ADDRESS_MAX_CHARS);
                c.text("hutong", &a.hutong, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                c.count("households", a.households, 0, 5_000);
                c.count("residents", a.residents, 0, 20_000);
            }
            AssetAttributes::Building(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                c.count("storeys", a.storeys, 1, 120);
                if let Some(year) = a.year_built {
                    if !(1000..=2100).contains(&year) {
                        c.push(
                            "year_built",
                            format!("must be between 1000 and 2100, got {year}"),
                        );
                    }
                }
            }
            AssetAttributes::Lane(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                c.measure("width_m", a.width_m, 0.3, 100.0);
            }
            AssetAttributes::Drainage(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                if let Some(date) = &a.last_cleared {
                    let format = time::macros::format_description!("[year]-[month]-[day]");
                    if time::Date::parse(date, format).is_err() {
                        c.push(
                            "last_cleared",
                            format!("must be a date YYYY-MM-DD, got {date:?}"),
                        );
                    }
                }
            }
            AssetAttributes::Light(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                c.measure("power_w", a.power_w, 0.5, 2_000.0);
                c.measure("reach_m", a.reach_m, 0.5, 100.0);
            }
            AssetAttributes::Charger(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                c.text("operator", &a.operator, NAME_MAX_CHARS);
                c.count("ports", Some(a.ports), 1, 500);
                c.measure("power_kw", a.power_kw, 0.1, 350.0);
            }
            AssetAttributes::Facility(a) => {
                c.text("name", &a.name, NAME_MAX_CHARS);
                c.text("notes", &a.notes, NOTES_MAX_CHARS);
                c.count("capacity", a.capacity, 1, 1_000_000);
                if let Some(problem) = a.opening_hours.as_deref().and_then(opening_hours_problem) {
                    c.push("opening_hours", problem);
                }
            }
        }
        c.errors
    }
}

fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let pointer = if path == "." {
            String::new()
        } else {
            format!("/{}", path.replace('.', "/"))
        };
        ValidationError::single(pointer, err.into_inner().to_string())
    })
}

/// Collects range errors, one per field.
#[derive(Default)]
struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    fn push(&mut self, field: &str, detail: String) {
        self.errors
            .push(FieldError::new(format!("/{field}"), detail));
    }

    fn text(&mut self, field: &str, value: &Option<String>, max_chars: usize) {
        let Some(text) = value else { return };
        let chars = text.chars().count();
        if text.trim().is_empty() {
            self.push(field, "must not be blank".into());
        } else if chars > max_chars {
            self.push(
                field,
                format!("must be at most {max_chars} characters, got {chars}"),
            );
        } else if let Some(problem) = super::free_text_problem(text) {
            self.push(field, problem);
        }
    }

    fn count(&mut self, field: &str, value: Option<u32>, min: u32, max: u32) {
        if let Some(n) = value {
            if !(min..=max).contains(&n) {
                self.push(field, format!("must be between {min} and {max}, got {n}"));
            }
        }
    }

    fn measure(&mut self, field: &str, value: Option<f64>, min: f64, max: f64) {
        if let Some(x) = value {
            if !x.is_finite() || x < min || x > max {
                self.push(field, format!("must be between {min} and {max}, got {x}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn opening_hours_take_the_common_subset_and_nothing_else() {
        for fine in [
            "24/7",
            "08:00-20:00",
            "Mo-Fr 08:00-20:00",
            "Mo-Fr 08:00-12:00,13:30-17:30; Sa,Su 09:00-17:00",
            "Mo-Sa 06:00-24:00; Su off",
            "Mo-Su 22:00-06:00",
        ] {
            assert_eq!(opening_hours_problem(fine), None, "{fine}");
        }
        for bad in [
            "",
            "always",
            "8am-5pm",
            "Mo-Fr 8:00-20:00",
            "Mo-Fr 08:00-25:00",
            "Mo-Fr 08:60-20:00",
            "Xy 08:00-20:00",
            "Mo-Fr 08:00-08:00",
            "off",
            "Mo-Fr 08:00",
            "Mo-Fr +8:00-20:00",
            "Mo-Fr 08:+0-20:00",
        ] {
            assert!(opening_hours_problem(bad).is_some(), "{bad:?} accepted");
        }
        assert!(opening_hours_problem(&"Mo 08:00-09:00; ".repeat(20)).is_some());
    }

    fn parse(kind: AssetKind, value: Value) -> Result<AssetAttributes, ValidationError> {
        AssetAttributes::parse(kind, &props(value))
    }

    #[test]
    fn a_full_courtyard_parses_and_round_trips() {
        let input = json!({"kind": "courtyard", "name": "No. 90", "address": "Zhonglouwan Hutong 90",
            "hutong": "Zhonglouwan Hutong", "district": "dongcheng", "heritage_grade": "registered",
            "households": 6, "residents": 14, "paving": "brick", "condition": 3});
        let parsed = parse(AssetKind::Courtyard, input.clone()).expect("valid");
        let mut expected = props(input);
        expected.remove("kind");
        assert_eq!(parsed.to_json(), expected);
        assert_eq!(parsed.district(), Some(District::Dongcheng));
    }

    #[test]
    fn derived_and_bookkeeping_properties_are_ignored() {
        let parsed = parse(
            AssetKind::Courtyard,
            json!({"area_m2": 1.0, "version": 9, "created_at": "x", "courtyard_id": 3}),
        )
        .expect("read-only properties are ignored");
        assert!(parsed.to_json().is_empty());
    }

    #[test]
    fn bad_attributes_are_named() {
        let cases = [
            (
                AssetKind::Courtyard,
                json!({"colour": "red"}),
                "/colour",
                "unknown field `colour`",
            ),
            (
                AssetKind::Courtyard,
                json!({"condition": 6}),
                "/condition",
                "from 1 to 5",
            ),
            (
                AssetKind::Courtyard,
                json!({"households": "six"}),
                "/households",
                "invalid type",
            ),
            (
                AssetKind::Courtyard,
                json!({"district": "gotham"}),
                "/district",
                "unknown variant",
            ),
            (
                AssetKind::Building,
                json!({"storeys": 0}),
                "/storeys",
                "between 1 and 120",
            ),
            (
                AssetKind::Building,
                json!({"year_built": 3000}),
                "/year_built",
                "between 1000",
            ),
            (
                AssetKind::Lane,
                json!({"width_m": -2}),
                "/width_m",
                "between 0.3",
            ),
            (
                AssetKind::Drainage,
                json!({}),
                "",
                "missing field `drainage_type`",
            ),
            (
                AssetKind::Drainage,
                json!({"drainage_type": "inlet", "last_cleared": "yesterday"}),
                "/last_cleared",
                "YYYY-MM-DD",
            ),
            (
                AssetKind::Light,
                json!({"light_type": "laser"}),
                "/light_type",
                "unknown variant",
            ),
            (
                AssetKind::Light,
                json!({"light_type": "wall", "sensor": "sonar"}),
                "/sensor",
                "unknown variant",
            ),
            (
                AssetKind::Charger,
                json!({"ports": 0}),
                "/ports",
                "between 1 and 500",
            ),
            (
                AssetKind::Charger,
                json!({"ports": 4, "name": " "}),
                "/name",
                "blank",
            ),
            (
                AssetKind::Charger,
                json!({"ports": 4, "name": "x".repeat(201)}),
                "/name",
                "at most 200",
            ),
        ];
        for (kind, input, pointer, needle) in cases {
            let err = parse(kind, input.clone()).expect_err(&format!("{input} accepted"));
            let first = &err.errors[0];
            assert_eq!(first.pointer, pointer, "{input}: {err}");
            assert!(first.detail.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn defaults_fill_light_and_charger_state() {
        let light = parse(AssetKind::Light, json!({"light_type": "street"})).expect("valid");
        assert_eq!(light.to_json()["sensor"], "none");
        assert_eq!(light.to_json()["status"], "working");
        let charger = parse(AssetKind::Charger, json!({"ports": 10})).expect("valid");
        assert_eq!(charger.to_json()["status"], "working");
    }

    #[test]
    fn null_means_absent() {
        let parsed = parse(AssetKind::Lane, json!({"name": null, "width_m": 3.5})).expect("valid");
        assert_eq!(parsed.to_json(), props(json!({"width_m": 3.5})));
    }
}
