//! A complaint as a GeoJSON Feature: the one rendering every surface uses
//! (native API, OGC API, filters, vector tiles).

use crate::domain::{Complaint, District, Satisfaction};
use serde_json::{Map, Value, json};

fn time_text(t: time::OffsetDateTime) -> String {
    crate::domain::utc_text(t)
}

/// A complaint as a GeoJSON Feature (WGS 84). Caller name and phone only
/// when `personal` (operators and admins).
pub fn complaint_feature(c: &Complaint, personal: bool, extra: Map<String, Value>) -> Value {
    let d = &c.draft;
    let mut p = Map::new();
    p.insert("case_number".into(), json!(d.case_number.as_str()));
    p.insert("channel".into(), json!(d.channel.as_str()));
    p.insert("category".into(), json!(d.category.as_str()));
    p.insert("description".into(), json!(d.description));
    p.insert("address".into(), json!(d.address));
    p.insert("district".into(), json!(d.district.map(District::as_str)));
    p.insert("reported_at".into(), json!(time_text(d.reported_at)));
    p.insert("coord_sys".into(), json!(d.coord_sys.as_str()));
    p.insert(
        "raw_coordinates".into(),
        json!([d.raw_location.0, d.raw_location.1]),
    );
    p.insert("status".into(), json!(c.status.as_str()));
    p.insert("resolution".into(), json!(c.resolution));
    p.insert(
        "satisfaction".into(),
        json!(c.satisfaction.map(Satisfaction::score)),
    );
    p.insert("duplicate_of".into(), json!(c.duplicate_of.map(|d| d.0)));
    p.insert("flags".into(), json!(c.flags));
    p.insert("created_at".into(), json!(time_text(c.created_at)));
    p.insert("updated_at".into(), json!(time_text(c.updated_at)));
    if personal {
        p.insert("caller_name".into(), json!(d.caller.name));
        p.insert("caller_phone".into(), json!(d.caller.phone));
    }
    p.extend(extra);
    json!({
        "type": "Feature",
        "id": c.id.0,
        "geometry": {"type": "Point", "coordinates": [d.location.0, d.location.1]},
        "properties": p,
        "links": [
            {"rel": "self", "type": "application/geo+json", "href": format!("/v1/complaints/{}", c.id)},
            {"rel": "related", "title": "linked assets", "type": "application/json", "href": format!("/v1/complaints/{}/links", c.id)},
        ],
    })
}
