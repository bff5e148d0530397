//! Checking a complaint as sent (a native Feature, an Open311 form, an
//! imported row) into a draft: known properties only, texts of bounded
//! length without invisible formatting characters, a phone number, a
//! time, and a location converted to WGS 84 inside the service area.

use super::Complaints;
use crate::domain::{
    Caller, CaseNumber, CaseType, Category, Channel, ComplaintDraft, CoordSys, District, LocatedBy,
    ValidationError, phone_digest,
};
use crate::spatial::{AddressPrecision, LonLatBox};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longest complaint text, characters. (12345 case texts are short; a
/// longer text is pasted rubbish or an attack.)
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
const TEXT_MAX_CHARS: usize = 300;

fn text_field(
    properties: &Map<String, Value>,
    key: &str,
    max_chars: usize,
    required: bool,
) -> Result<Option<String>, ValidationError> {
    let pointer = format!("/properties/{key}");
    match properties.get(key) {
        None | Some(Value::Null) if required => {
            Err(ValidationError::single(pointer, "is required"))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.trim().is_empty() && required {
                return Err(ValidationError::single(pointer, "must not be blank"));
            }
            check_text(&pointer, s, max_chars)?;
            Ok((!s.trim().is_empty()).then(|| s.trim().to_string()))
        }
        Some(_) => Err(ValidationError::single(pointer, "must be a string")),
    }
}

/// The length and characters of a text people typed.
pub(crate) fn check_text(
    pointer: &str,
    text: &str,
    max_chars: usize,
) -> Result<(), ValidationError> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ValidationError::single(
            pointer,
            format!("must be at most {max_chars} characters, got {chars}"),
        ));
    }
    match crate::domain::free_text_problem(text) {
        Some(problem) => Err(ValidationError::single(pointer, problem)),
        None => Ok(()),
    }
}

fn parsed<T: std::str::FromStr<Err = String>>(
    properties: &Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<T>, ValidationError> {
    text_field(properties, key, 100, required)?
        .map(|t| {
            t.parse::<T>()
                .map_err(|e| ValidationError::single(format!("/properties/{key}"), e))
        })
        .transpose()
}

/// Checks a phone number loosely: digits with optional +, spaces, dashes
/// and parentheses, 3 to 20 digits.
pub(super) fn check_phone(phone: &str) -> Result<(), ValidationError> {
    check_phone_at(phone, "/properties/caller_phone")
}

/// The same check, reported at `pointer`.
pub(super) fn check_phone_at(phone: &str, pointer: &str) -> Result<(), ValidationError> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if allowed && (3..=20).contains(&digits) {
        Ok(())
    } else {
        Err(ValidationError::single(
            pointer,
            "must be a phone number of 3 to 20 digits",
        ))
    }
}

/// Parses the location of a complaint, in `coord_sys`, to WGS 84.
pub(super) fn location_to_wgs84(
    lon: f64,
    lat: f64,
    coord_sys: CoordSys,
    service_area: LonLatBox,
) -> Result<(f64, f64), ValidationError> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(ValidationError::single(
            "/geometry/coordinates/0",
            format!("longitude {lon} is outside -180..180"),
        ));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(ValidationError::single(
            "/geometry/coordinates/1",
            format!("latitude {lat} is outside -90..90"),
        ));
    }
    let (lon, lat) = coord_sys
        .to_wgs84(lon, lat)
        .map_err(|e| ValidationError::single("/geometry/coordinates", e))?;
    if !service_area.contains(lon, lat) {
        return Err(ValidationError::single(
            "/geometry/coordinates",
            crate::spatial::outside_service_area(service_area, lon, lat),
        ));
    }
    Ok((lon, lat))
}

/// Reads an RFC 3339 time; at most a day in the future (clock skew).
pub fn parse_reported_at(text: &str, pointer: &str) -> Result<OffsetDateTime, ValidationError> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        ValidationError::single(
            pointer,
            format!("must be an RFC 3339 date-time with a time zone, got {text:?}"),
        )
    })?;
    if t > OffsetDateTime::now_utc() + time::Duration::days(1) {
        return Err(ValidationError::single(pointer, "lies in the future"));
    }
    Ok(t.to_offset(time::UtcOffset::UTC))
}

const KNOWN_PROPERTIES: &[&str] = &[
    "case_number",
    "channel",
    "case_type",
    "answered_on_call",
    "category",
    "description",
    "address",
    "district",
    "reported_at",
    "coord_sys",
    "caller_name",
    "caller_phone",
    // Read-only members of a complaint as the API shows it; ignored.
    "status",
    "links",
    "duplicate_of",
    "flags",
    "raw_coordinates",
    "created_at",
    "updated_at",
    "resolution",
    "satisfaction",
    "suggested_duplicates",
    "suggested_duplicates_total",
    "suggested_duplicates_total_exact",
    "history",
    "located_by",
    "unit",
    "deadline_tier",
    "dispatched_at",
    "response_due",
    "resolution_due",
    "accepted_at",
    "overdue",
    "closed_at",
    "not_assessable",
    "personal_data_erased_at",
    "suggested_unit",
    "address_match",
    "street",
    "community",
];

impl Complaints {
    /// Validates a complaint Feature of the native API.
    pub fn draft_from_feature(&self, feature: &Value) -> Result<ComplaintDraft, ValidationError> {
        if feature.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(ValidationError::single("/type", "must be \"Feature\""));
        }
        let properties = match feature.get("properties") {
            Some(Value::Object(map)) => map,
            _ => {
                return Err(ValidationError::single(
                    "/properties",
                    "must be a JSON object",
                ));
            }
        };
        // No geometry: the case is located by its address, or stored
        // unlocated for an operator to place.
        // RFC 7946: a Feature has a geometry member, null when unknown.
        let Some(geometry) = feature.get("geometry") else {
            return Err(ValidationError::single(
                "/geometry",
                "is required: a Point where the problem is, or null when only the address is known",
            ));
        };
        if geometry.is_null() {
            return self.draft_from_properties(properties, None);
        }
        if geometry.get("type").and_then(Value::as_str) != Some("Point") {
            return Err(ValidationError::single(
                "/geometry/type",
                "a complaint's location must be a Point",
            ));
        }
        let coordinates = geometry
            .get("coordinates")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ValidationError::single("/geometry/coordinates", "must be [longitude, latitude]")
            })?;
        let number = |i: usize| {
            coordinates.get(i).and_then(Value::as_f64).ok_or_else(|| {
                ValidationError::single(format!("/geometry/coordinates/{i}"), "must be a number")
            })
        };
        if !(2..=3).contains(&coordinates.len()) {
            return Err(ValidationError::single(
                "/geometry/coordinates",
                "must be [longitude, latitude]",
            ));
        }
        let raw = (number(0)?, number(1)?);
        self.draft_from_properties(properties, Some(raw))
    }

    /// A checked draft from a complaint's properties and its location as
    /// sent (in the properties' `coord_sys`). Without a location, the
    /// address is looked up in the gazetteer: a house or a way found
    /// locates the case there; nothing found leaves it unlocated. Error
    /// pointers are those of a Feature (`/properties/…`).
    pub fn draft_from_properties(
        &self,
        properties: &Map<String, Value>,
        raw: Option<(f64, f64)>,
    ) -> Result<ComplaintDraft, ValidationError> {
        for key in properties.keys() {
            if !KNOWN_PROPERTIES.contains(&key.as_str()) {
                return Err(ValidationError::single(
                    format!("/properties/{key}"),
                    "unknown property",
                ));
            }
        }
        let coord_sys = parsed::<CoordSys>(properties, "coord_sys", false)?.unwrap_or_default();
        let reported_at = match text_field(properties, "reported_at", 64, false)? {
            Some(t) => parse_reported_at(&t, "/properties/reported_at")?,
            None => OffsetDateTime::now_utc(),
        };
        let caller_phone = text_field(properties, "caller_phone", 32, false)?;
        if let Some(phone) = &caller_phone {
            check_phone(phone)?;
        }
        let case_type =
            parsed::<CaseType>(properties, "case_type", false)?.unwrap_or(CaseType::Complaint);
        let Some(type_rule) = self.hotline.config.case_type(case_type) else {
            return Err(ValidationError::single(
                "/properties/case_type",
                format!("case type {case_type} is not taken by this hotline"),
            ));
        };
        let answered_on_call = match properties.get("answered_on_call") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) if type_rule.answer_on_call => true,
            Some(Value::Bool(true)) => {
                return Err(ValidationError::single(
                    "/properties/answered_on_call",
                    format!("a {case_type} cannot be answered on the call; only an inquiry can"),
                ));
            }
            Some(_) => {
                return Err(ValidationError::single(
                    "/properties/answered_on_call",
                    "must be true or false",
                ));
            }
        };
        let address = text_field(properties, "address", TEXT_MAX_CHARS, false)?;
        let mut district = parsed::<District>(properties, "district", false)?;
        let (location, located_by) = match raw {
            Some(raw) => (
                Some(location_to_wgs84(
                    raw.0,
                    raw.1,
                    coord_sys,
                    self.registry.service_area(),
                )?),
                LocatedBy::Coordinates,
            ),
            None => {
                let Some(address) = &address else {
                    return Err(ValidationError::single(
                        "/geometry",
                        "is required when there is no address: a Point where the problem is",
                    ));
                };
                match self.registry.geocode(address) {
                    Some(place) => {
                        if district.is_none() {
                            district = place.district;
                        }
                        let by = match place.matched.precision {
                            AddressPrecision::House => LocatedBy::AddressHouse,
                            AddressPrecision::Way => LocatedBy::AddressWay,
                        };
                        (Some((place.point.x(), place.point.y())), by)
                    }
                    None => (None, LocatedBy::Unlocated),
                }
            }
        };
        // District, street and community come from the imported areas
        // the location lies in; a district typed in gives way to them.
        // Where no area covers the location, the district is the one
        // given, else that of the assets around it.
        let path = location
            .map(|at| self.hotline.areas.path_at(at))
            .unwrap_or_default();
        if let Some(derived) = path
            .district
            .as_deref()
            .and_then(|d| d.parse::<District>().ok())
        {
            district = Some(derived);
        }
        if district.is_none() {
            district = location.and_then(|at| self.registry.district_at(at));
        }
        let raw_location = match located_by {
            LocatedBy::Coordinates => raw,
            _ => location,
        };
        Ok(ComplaintDraft {
            case_number: parsed::<CaseNumber>(properties, "case_number", true)?
                .ok_or_else(|| ValidationError::single("/properties/case_number", "is required"))?,
            channel: parsed::<Channel>(properties, "channel", true)?
                .ok_or_else(|| ValidationError::single("/properties/channel", "is required"))?,
            case_type,
            category: parsed::<Category>(properties, "category", true)?
                .ok_or_else(|| ValidationError::single("/properties/category", "is required"))?,
            description: text_field(properties, "description", DESCRIPTION_MAX_CHARS, true)?
                .unwrap_or_default(),
            address,
            district,
            street: path.street,
            community: path.community,
            location,
            raw_location,
            located_by,
            coord_sys: if located_by == LocatedBy::Coordinates {
                coord_sys
            } else {
                CoordSys::default()
            },
            reported_at,
            caller_phone_hash: caller_phone
                .as_deref()
                .map(|p| phone_digest(&self.hotline.phone_key, p)),
            caller: Caller {
                name: text_field(properties, "caller_name", 100, false)?,
                phone: caller_phone,
            },
            answered_on_call,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_times_are_checked() {
        assert!(check_phone("+86 10 1234-5678").is_ok());
        assert!(check_phone("12").is_err());
        assert!(check_phone("call me").is_err());
        assert!(parse_reported_at("2024-10-18T09:12:00+08:00", "/x").is_ok());
        assert!(parse_reported_at("2024-10-18 09:12", "/x").is_err());
        assert!(parse_reported_at("2999-01-01T00:00:00Z", "/x").is_err());
    }
}
