//! A complaint as a GeoJSON Feature: the one rendering every surface uses
//! (native API, OGC API, filters, vector tiles).

use crate::domain::{Complaint, District, Satisfaction};
use serde_json::{Map, Value, json};

fn time_text(t: time::OffsetDateTime) -> String {
    crate::domain::utc_text(t)
}

/// How much of the caller a rendering shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalData {
    /// Nothing: everyone but operators and admins.
    Hidden,
    /// The phone as `138****0000`, the name's first character: every
    /// list an operator sees.
    Masked,
    /// Name and phone whole: an operator looking at a single case.
    Full,
}

/// A complaint as a GeoJSON Feature (WGS 84; `null` geometry while it
/// is unlocated). Caller data as `personal` allows. `overdue` is judged
/// at the time of rendering.
pub fn complaint_feature(
    c: &Complaint,
    personal: PersonalData,
    extra: Map<String, Value>,
) -> Value {
    let d = &c.draft;
    let now = time::OffsetDateTime::now_utc();
    let mut p = Map::new();
    p.insert("case_number".into(), json!(d.case_number.as_str()));
    p.insert("channel".into(), json!(d.channel.as_str()));
    p.insert("case_type".into(), json!(d.case_type.as_str()));
    p.insert("category".into(), json!(d.category.as_str()));
    p.insert("description".into(), json!(d.description));
    p.insert("address".into(), json!(d.address));
    p.insert("district".into(), json!(d.district.map(District::as_str)));
    p.insert("street".into(), json!(d.street));
    p.insert("community".into(), json!(d.community));
    p.insert("reported_at".into(), json!(time_text(d.reported_at)));
    p.insert("coord_sys".into(), json!(d.coord_sys.as_str()));
    p.insert(
        "raw_coordinates".into(),
        json!(d.raw_location.map(|r| [r.0, r.1])),
    );
    p.insert("located_by".into(), json!(d.located_by.as_str()));
    p.insert("status".into(), json!(c.status.as_str()));
    let h = c.handling.as_ref();
    p.insert("unit".into(), json!(h.map(|h| h.unit.as_str())));
    p.insert("deadline_tier".into(), json!(h.map(|h| h.tier.as_str())));
    p.insert(
        "dispatched_at".into(),
        json!(h.map(|h| time_text(h.dispatched_at))),
    );
    p.insert(
        "response_due".into(),
        json!(h.map(|h| time_text(h.response_due))),
    );
    p.insert(
        "resolution_due".into(),
        json!(h.map(|h| time_text(h.resolution_due))),
    );
    p.insert(
        "accepted_at".into(),
        json!(h.and_then(|h| h.accepted_at).map(time_text)),
    );
    p.insert("overdue".into(), json!(c.is_overdue(now)));
    p.insert("resolution".into(), json!(c.resolution));
    p.insert(
        "satisfaction".into(),
        json!(c.satisfaction.map(Satisfaction::score)),
    );
    p.insert("duplicate_of".into(), json!(c.duplicate_of.map(|d| d.0)));
    p.insert("flags".into(), json!(c.flags));
    p.insert("closed_at".into(), json!(c.closed_at.map(time_text)));
    // Why a case is kept out of the rates, and who approved it, is for
    // those who see personal data (as the history's note is); everyone
    // else sees that it is.
    p.insert(
        "not_assessable".into(),
        match (&c.not_assessable, personal) {
            (None, _) => Value::Null,
            (Some(_), PersonalData::Hidden) => Value::Bool(true),
            (Some(n), _) => json!({"reason": n.reason, "approved_by_token": n.approved_by}),
        },
    );
    p.insert(
        "personal_data_erased_at".into(),
        json!(c.personal_data_erased_at.map(time_text)),
    );
    p.insert("created_at".into(), json!(time_text(c.created_at)));
    p.insert("updated_at".into(), json!(time_text(c.updated_at)));
    let caller = match personal {
        PersonalData::Hidden => None,
        PersonalData::Masked => Some(d.caller.masked()),
        PersonalData::Full => Some(d.caller.clone()),
    };
    if let Some(caller) = caller {
        p.insert("caller_name".into(), json!(caller.name));
        p.insert("caller_phone".into(), json!(caller.phone));
    }
    p.extend(extra);
    let geometry = match d.location {
        Some((lon, lat)) => json!({"type": "Point", "coordinates": [lon, lat]}),
        None => Value::Null,
    };
    json!({
        "type": "Feature",
        "id": c.id.0,
        "geometry": geometry,
        "properties": p,
        "links": [
            {"rel": "self", "type": "application/geo+json", "href": format!("/v1/complaints/{}", c.id)},
            {"rel": "related", "title": "linked assets", "type": "application/json", "href": format!("/v1/complaints/{}/links", c.id)},
        ],
    })
}

/// A case's history as `personal` allows: what the caller said (a
/// call-back's answers and comment) and why a case was kept out of the
/// rates are for operators and admins; everyone else sees that the step
/// happened, by whom and when.
pub fn history_for(
    mut history: Vec<crate::domain::StatusChange>,
    personal: PersonalData,
) -> Vec<crate::domain::StatusChange> {
    if personal == PersonalData::Hidden {
        for step in &mut history {
            if matches!(
                step.action.as_deref(),
                Some("called_back" | "reopened" | "not_assessable")
            ) {
                step.note = None;
                step.detail = None;
            }
        }
    }
    history
}
