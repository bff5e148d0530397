//! `/v1/complaints`: intake, listing, status changes, duplicates, links.

use super::auth::{Authenticated, ComplaintOperator, Requester as Viewer, personal_data};
use super::extract::{JsonBody, QueryParams, comma_list, non_empty};
use super::feature::geojson_response;
use super::{ApiError, ApiState};
use crate::domain::{
    CaseType, Category, Channel, ComplaintId, ComplaintStatus, District, Role, Satisfaction,
    UnitCode, ValidationError,
};
use crate::domain::{ComplaintFilter, ComplaintLink};
use crate::services::complaint_feature::{PersonalData, complaint_feature, history_for};
use crate::services::complaints::{CaseNumbers, ComplaintError, Intake, TransitionRequest};
use crate::spatial::LonLatBox;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const MAX_COMPLAINT_LIMIT: u32 = 1_000;
const DEFAULT_COMPLAINT_LIMIT: u32 = 100;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(stats))
        .routes(routes!(fetch, mark_duplicate))
        .routes(routes!(transition))
        .routes(routes!(links))
}

impl From<ComplaintError> for ApiError {
    fn from(e: ComplaintError) -> Self {
        match e {
            ComplaintError::Invalid(v) => ApiError::Invalid(v),
            ComplaintError::NotFound(id) => ApiError::NotFound {
                detail: format!("complaint {id} does not exist"),
            },
            ComplaintError::Forbidden(detail) => ApiError::Forbidden { detail },
            ComplaintError::Conflict(detail) => ApiError::Rejected {
                status: StatusCode::CONFLICT,
                detail,
            },
            ComplaintError::TooDeep(detail) => ApiError::BadRequest { detail },
            ComplaintError::Store(e) => e.into(),
            ComplaintError::WriteFailed(e) => ApiError::Internal(e),
            ComplaintError::Unavailable(detail) => ApiError::Unavailable { detail },
        }
    }
}

fn links_json(links: &[ComplaintLink]) -> Value {
    json!(links)
}

pub(super) fn parse_id(text: &str) -> Result<ComplaintId, ApiError> {
    text.parse::<ComplaintId>().map_err(ApiError::bad_request)
}

fn intake_response(intake: &Intake, personal: PersonalData) -> Response {
    let mut extra = Map::new();
    extra.insert("links".into(), links_json(&intake.links));
    let suggested = &intake.suggested_duplicates;
    extra.insert(
        "suggested_duplicates".into(),
        json!(suggested.ids.iter().map(|d| d.0).collect::<Vec<_>>()),
    );
    // "at least" when only the most recent candidates were read.
    extra.insert("suggested_duplicates_total".into(), json!(suggested.total));
    extra.insert(
        "suggested_duplicates_total_exact".into(),
        json!(suggested.exact),
    );
    // Where routing sends the case: a rule's unit (dispatched already),
    // or the street office as the fallback for an operator to confirm.
    if intake.complaint.status == ComplaintStatus::Received {
        extra.insert(
            "suggested_unit".into(),
            json!(
                intake
                    .route
                    .as_ref()
                    .map(|r| json!({"unit": r.unit.as_str(), "rule": r.rule}))
            ),
        );
    }
    let status = if intake.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = geojson_response(
        status,
        complaint_feature(&intake.complaint, personal, extra),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/complaints/{}", intake.complaint.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

#[utoipa::path(post, path = "/v1/complaints", tag = "Complaints", security(("bearer" = [])),
    request_body(content = Object, description = "A GeoJSON Point Feature with case_number, channel, category, description", content_type = "application/geo+json"),
    responses((status = 201, description = "Stored, with its links and suggested duplicates", body = Object, content_type = "application/geo+json"),
        (status = 200, description = "The case number was known: the stored complaint, unchanged", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 422, description = "Invalid complaint"), (status = 503, description = "Intake unavailable")))]
#[tracing::instrument(skip_all, fields(token = operator.0.token_id))]
async fn create(
    State(state): State<ApiState>,
    operator: ComplaintOperator,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let intake = state
        .complaints
        .submit(&operator.0, &body, CaseNumbers::Given)
        .await?;
    let personal = personal_data(Some(&operator.0), intake.complaint.draft.district, true);
    Ok(intake_response(&intake, personal))
}

#[utoipa::path(get, path = "/v1/complaints/{id}", tag = "Complaints", security((), ("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    responses((status = 200, description = "The complaint with its history", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 404, description = "No such complaint")))]
async fn fetch(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let complaint = state.complaints.get_for(viewer.0.as_ref(), id).await?;
    let personal = viewer.personal_data(complaint.draft.district, true);
    with_history(&state, complaint, personal).await
}

/// One case with its history, as a viewer with `personal` sees it: every
/// answer about a single case (a read, a status change, a step of the
/// loop) is rendered here.
pub(super) async fn with_history(
    state: &ApiState,
    complaint: crate::domain::Complaint,
    personal: PersonalData,
) -> Result<Response, ApiError> {
    let mut extra = Map::new();
    extra.insert(
        "history".into(),
        json!(history_for(
            state.complaints.history(complaint.id).await?,
            personal
        )),
    );
    Ok(geojson_response(
        StatusCode::OK,
        complaint_feature(&complaint, personal, extra),
    ))
}

#[utoipa::path(get, path = "/v1/complaints/{id}/links", tag = "Complaints", params(("id" = String, Path, description = "Complaint id")),
    responses((status = 200, description = "The assets the complaint is linked to, by rule, with distances", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 404, description = "No such complaint")))]
async fn links(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let complaint = state.complaints.get(id).await?;
    let links = state.complaints.links(id).await?;
    let kinds: Vec<Value> = state.registry.with_index(|index| {
        links
            .iter()
            .map(|l| {
                let kind = index.get(crate::domain::AssetId(l.asset_id)).map(|a| a.kind().as_str());
                json!({"asset_id": l.asset_id, "kind": kind, "rule": l.rule, "distance_m": l.distance_m,
                       "href": format!("/v1/assets/{}", l.asset_id)})
            })
            .collect()
    });
    Ok(Json(
        json!({"complaint_id": id.0, "category": complaint.draft.category.as_str(), "links": kinds, "flags": complaint.flags}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    to: String,
    note: Option<String>,
    resolution: Option<String>,
    satisfaction: Option<i64>,
}

#[utoipa::path(post, path = "/v1/complaints/{id}/transitions", tag = "Complaints", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"to\": status, \"note\": text}", content_type = "application/json"),
    responses((status = 200, description = "Moved", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such complaint"),
        (status = 409, description = "Not a legal transition from the current status")))]
async fn transition(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: TransitionBody = serde_json::from_value(body)
        .map_err(|e| ApiError::Invalid(ValidationError::single("", e.to_string())))?;
    let to = body
        .to
        .parse::<ComplaintStatus>()
        .map_err(|e| ApiError::Invalid(ValidationError::single("/to", e)))?;
    let request = TransitionRequest {
        to,
        note: body.note,
        resolution: body.resolution,
        satisfaction: body
            .satisfaction
            .map(Satisfaction::try_from)
            .transpose()
            .map_err(|e| ApiError::Invalid(ValidationError::single("/satisfaction", e)))?,
    };
    let complaint = state.complaints.transition(&principal, id, request).await?;
    let personal = personal_data(Some(&principal), complaint.draft.district, true);
    with_history(&state, complaint, personal).await
}

#[utoipa::path(patch, path = "/v1/complaints/{id}", tag = "Complaints", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"duplicate_of\": id or null}", content_type = "application/json"),
    responses((status = 200, description = "Marked", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such complaint")))]
async fn mark_duplicate(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    operator: ComplaintOperator,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let Value::Object(map) = &body else {
        return Err(ValidationError::single("", "send {\"duplicate_of\": ID or null}").into());
    };
    if map.keys().any(|k| k != "duplicate_of") || !map.contains_key("duplicate_of") {
        return Err(ValidationError::single(
            "",
            "only duplicate_of may be changed: send {\"duplicate_of\": ID or null}",
        )
        .into());
    }
    let of = match &map["duplicate_of"] {
        Value::Null => None,
        v => Some(ComplaintId(v.as_i64().filter(|n| *n > 0).ok_or_else(
            || {
                ApiError::Invalid(ValidationError::single(
                    "/duplicate_of",
                    "must be a complaint id or null",
                ))
            },
        )?)),
    };
    let complaint = state.complaints.mark_duplicate(&operator.0, id, of).await?;
    Ok(geojson_response(
        StatusCode::OK,
        complaint_feature(
            &complaint,
            personal_data(Some(&operator.0), complaint.draft.district, true),
            Map::new(),
        ),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    bbox: Option<String>,
    category: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    district: Option<String>,
    street: Option<String>,
    community: Option<String>,
    case_type: Option<String>,
    channel: Option<String>,
    unit: Option<String>,
    located: Option<String>,
    overdue: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// A `true`/`false` parameter.
fn flag(value: &Option<String>, name: &str) -> Result<Option<bool>, ApiError> {
    match non_empty(value) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name} must be true or false, got {other:?}"
        ))),
    }
}

/// An optional area code parameter (400 when malformed).
fn area_code(value: &Option<String>, name: &str) -> Result<Option<String>, ApiError> {
    match non_empty(value) {
        None => Ok(None),
        Some(code) if crate::domain::is_area_code(code) => Ok(Some(code.to_string())),
        Some(_) => Err(ApiError::bad_request(format!(
            "{name} is an area code: 1 to 64 lower-case letters, digits and '-'"
        ))),
    }
}

/// An optional RFC 3339 time parameter (400 when malformed).
pub(super) fn time_param(
    value: &Option<String>,
    name: &str,
) -> Result<Option<time::OffsetDateTime>, ApiError> {
    // Any instant, past or future: a filter's bound, not a report time.
    non_empty(value)
        .map(|t| {
            crate::domain::parse_utc(t).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name} must be an RFC 3339 date-time with a time zone in the years 1-9999, got {t:?}"
                ))
            })
        })
        .transpose()
}

fn filter_of(params: &ListParams) -> Result<ComplaintFilter, ApiError> {
    let time = time_param;
    let filter = ComplaintFilter {
        bbox: non_empty(&params.bbox)
            .map(|b| LonLatBox::parse(b).map_err(ApiError::bad_request))
            .transpose()?,
        categories: comma_list::<Category>(non_empty(&params.category), "category")?,
        statuses: comma_list::<ComplaintStatus>(non_empty(&params.status), "status")?,
        reported_from: time(&params.from, "from")?,
        reported_to: time(&params.to, "to")?,
        district: non_empty(&params.district)
            .map(|d| d.parse::<District>().map_err(ApiError::bad_request))
            .transpose()?,
        street: area_code(&params.street, "street")?,
        community: area_code(&params.community, "community")?,
        case_types: comma_list::<CaseType>(non_empty(&params.case_type), "case_type")?,
        channels: comma_list::<Channel>(non_empty(&params.channel), "channel")?,
        unit: non_empty(&params.unit)
            .map(|u| u.parse::<UnitCode>().map_err(ApiError::bad_request))
            .transpose()?,
        located: flag(&params.located, "located")?,
        overdue_at: match flag(&params.overdue, "overdue")? {
            Some(true) => Some(time::OffsetDateTime::now_utc()),
            Some(false) => {
                return Err(ApiError::bad_request(
                    "overdue=false is not a filter; leave it out for every case",
                ));
            }
            None => None,
        },
        limit: params.limit.unwrap_or(DEFAULT_COMPLAINT_LIMIT),
        offset: params.offset.unwrap_or(0),
        ..ComplaintFilter::default()
    };
    if let (Some(a), Some(b)) = (filter.reported_from, filter.reported_to) {
        if a > b {
            return Err(ApiError::bad_request("from is later than to"));
        }
    }
    if !(1..=MAX_COMPLAINT_LIMIT).contains(&filter.limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_COMPLAINT_LIMIT}, got {}",
            filter.limit
        )));
    }
    Ok(filter)
}

#[utoipa::path(get, path = "/v1/complaints", tag = "Complaints", security((), ("bearer" = [])),
    params(("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"), ("category" = Option<String>, Query, description = "Categories, comma-separated"),
        ("status" = Option<String>, Query, description = "Statuses, comma-separated"), ("from" = Option<String>, Query, description = "Reported at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "Reported at or before (RFC 3339)"), ("district" = Option<String>, Query, description = "District"), ("street" = Option<String>, Query, description = "The street (街道) by area code"), ("community" = Option<String>, Query, description = "The community (社区) by area code"), ("case_type" = Option<String>, Query, description = "Case types, comma-separated"), ("channel" = Option<String>, Query, description = "Channels, comma-separated (grid: grid workers' cases)"), ("unit" = Option<String>, Query, description = "The responsible unit the case is with"), ("located" = Option<String>, Query, description = "true: located cases; false: unlocated cases waiting to be placed"), ("overdue" = Option<String>, Query, description = "true: only cases past a deadline of their dispatch"), ("limit" = Option<u32>, Query, description = "Page size, 1-1000 (default 100)"), ("offset" = Option<u64>, Query, description = "Complaints to skip")),
    responses((status = 200, description = "Newest report first; caller name and phone only for operator and admin tokens, and for a district-scoped token only in its district", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)")))]
async fn list(
    State(state): State<ApiState>,
    viewer: Viewer,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let filter = scoped(filter_of(&params)?, viewer.0.as_ref())?;
    let (complaints, matched) = state.complaints.list(&filter).await?;
    let features: Vec<Value> = complaints
        .iter()
        .map(|c| complaint_feature(c, viewer.personal_data(c.draft.district, false), Map::new()))
        .collect();
    Ok(geojson_response(
        StatusCode::OK,
        json!({"type": "FeatureCollection", "numberMatched": matched, "numberReturned": features.len(), "features": features}),
    ))
}

/// A unit's staff list only their unit's cases.
fn scoped(
    mut filter: ComplaintFilter,
    principal: Option<&crate::domain::Principal>,
) -> Result<ComplaintFilter, ApiError> {
    if let Some(p) = principal.filter(|p| p.role == Role::Unit) {
        match (&filter.unit, &p.unit) {
            (Some(asked), Some(own)) if asked != own => {
                return Err(ApiError::Forbidden {
                    detail: format!("this token sees only the cases of unit {own}"),
                });
            }
            _ => filter.unit = p.unit.clone(),
        }
    }
    Ok(filter)
}

#[utoipa::path(get, path = "/v1/complaints/stats", tag = "Complaints", params(("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"), ("category" = Option<String>, Query, description = "Categories, comma-separated"),
        ("status" = Option<String>, Query, description = "Statuses, comma-separated"), ("from" = Option<String>, Query, description = "Reported at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "Reported at or before (RFC 3339)"), ("district" = Option<String>, Query, description = "District"), ("street" = Option<String>, Query, description = "The street (街道) by area code"), ("community" = Option<String>, Query, description = "The community (社区) by area code"), ("case_type" = Option<String>, Query, description = "Case types, comma-separated"), ("channel" = Option<String>, Query, description = "Channels, comma-separated (grid: grid workers' cases)"), ("unit" = Option<String>, Query, description = "The responsible unit the case is with"), ("located" = Option<String>, Query, description = "true: located cases; false: unlocated cases waiting to be placed"), ("overdue" = Option<String>, Query, description = "true: only cases past a deadline of their dispatch")),
    responses((status = 200, description = "Counts by category and status, duplicates not counted", body = Object), (status = 400, description = "Bad parameter (problem+json)")))]
async fn stats(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<Value>, ApiError> {
    if params.limit.is_some() || params.offset.is_some() {
        return Err(ApiError::bad_request("stats take no limit or offset"));
    }
    let filter = filter_of(&params)?;
    Ok(Json(json!(state.complaints.stats(&filter).await?)))
}
