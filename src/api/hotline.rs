//! The hotline loop over HTTP: dispatch, a unit accepting or sending a
//! case back, call-backs and their rates, marking a case not assessable,
//! placing an unlocated case, a caller's earlier cases, and the units.

use super::auth::{Authenticated, ComplaintOperator, personal_data};
use super::complaints::parse_id;
use super::extract::{JsonBody, QueryParams, non_empty};
use super::feature::geojson_response;
use super::{ApiError, ApiState};
use crate::domain::{
    CallbackAnswers, Complaint, CoordSys, DeadlineTier, District, Principal, UnitCode,
    ValidationError, utc_text,
};
use crate::services::complaint_feature::{PersonalData, complaint_feature};
use crate::services::complaints::RatesFilter;
use crate::services::complaints::{CALLER_HISTORY_MAX, DispatchRequest};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(dispatch))
        .routes(routes!(accept))
        .routes(routes!(send_back))
        .routes(routes!(callback))
        .routes(routes!(not_assessable))
        .routes(routes!(place))
        .routes(routes!(caller_history))
        .routes(routes!(rates))
        .routes(routes!(units))
}

/// A JSON body as `T` (unknown members refused): 422 with the reason.
pub(super) fn body_as<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    if !body.is_object() {
        return Err(ValidationError::single("", "must be a JSON object").into());
    }
    serde_json::from_value(body).map_err(|e| ValidationError::single("", e.to_string()).into())
}

/// A case after a step, with its history, as the principal may see it.
async fn answered(
    state: &ApiState,
    principal: &Principal,
    complaint: Complaint,
) -> Result<Response, ApiError> {
    let personal = personal_data(Some(principal), complaint.draft.district, true);
    super::complaints::with_history(state, complaint, personal).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DispatchBody {
    unit: Option<String>,
    deadline_tier: Option<String>,
    note: Option<String>,
}

#[utoipa::path(post, path = "/v1/complaints/{id}/dispatch", tag = "Hotline loop", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"unit\": code (default: the one routing chooses), \"deadline_tier\": emergency|utilities|general|complex (default: the category's), \"note\": text}", content_type = "application/json"),
    responses((status = 200, description = "Dispatched, with its deadlines and history", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such complaint"),
        (status = 409, description = "The case is not waiting to be dispatched, or is unlocated"), (status = 422, description = "Unknown unit, or one that does not handle the category or district")))]
async fn dispatch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    operator: ComplaintOperator,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: DispatchBody = body_as(body)?;
    let request = DispatchRequest {
        unit: body
            .unit
            .map(|u| {
                u.parse::<UnitCode>()
                    .map_err(|e| ApiError::Invalid(ValidationError::single("/unit", e)))
            })
            .transpose()?,
        tier: body
            .deadline_tier
            .map(|t| {
                t.parse::<DeadlineTier>()
                    .map_err(|e| ApiError::Invalid(ValidationError::single("/deadline_tier", e)))
            })
            .transpose()?,
        note: body.note,
    };
    let complaint = state.complaints.dispatch(&operator.0, id, request).await?;
    answered(&state, &operator.0, complaint).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: Option<String>,
}

#[utoipa::path(post, path = "/v1/complaints/{id}/accept", tag = "Hotline loop", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"note\": text} (may be {})", content_type = "application/json"),
    responses((status = 200, description = "Accepted by the unit: in progress", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a token of the unit the case is with"), (status = 404, description = "No such complaint"),
        (status = 409, description = "The case is not dispatched"), (status = 422, description = "Invalid body")))]
async fn accept(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: NoteBody = body_as(body)?;
    let complaint = state.complaints.accept(&principal, id, body.note).await?;
    answered(&state, &principal, complaint).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/complaints/{id}/send-back", tag = "Hotline loop", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"reason\": why the unit does not answer for it} (required)", content_type = "application/json"),
    responses((status = 200, description = "Sent back: received again, for an operator to send on", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a token of the unit the case is with"), (status = 404, description = "No such complaint"),
        (status = 409, description = "The case is not dispatched"), (status = 422, description = "No reason")))]
async fn send_back(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: ReasonBody = body_as(body)?;
    let complaint = state
        .complaints
        .send_back(&principal, id, body.reason)
        .await?;
    answered(&state, &principal, complaint).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackBody {
    reached: bool,
    attempts: Option<i64>,
    unit_contacted: Option<bool>,
    solved: Option<bool>,
    satisfaction: Option<String>,
    comment: Option<String>,
}

#[utoipa::path(post, path = "/v1/complaints/{id}/callback", tag = "Hotline loop", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"reached\": bool, \"attempts\": 1-20 (default 1), \"unit_contacted\": bool, \"solved\": bool, \"satisfaction\": satisfied|basically_satisfied|unsatisfied, \"comment\": text}; the last four only, and all three answers, when the caller was reached", content_type = "application/json"),
    responses((status = 200, description = "Recorded: solved closes the case, not solved reopens it with its unit", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such complaint"),
        (status = 409, description = "The case is not resolved"), (status = 422, description = "Answers missing, or a satisfaction off the scale")))]
async fn callback(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    operator: ComplaintOperator,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: CallbackBody = body_as(body)?;
    let attempts = body.attempts.unwrap_or(1);
    let attempts = u8::try_from(attempts)
        .ok()
        .filter(|a| (1..=20).contains(a))
        .ok_or_else(|| {
            ApiError::Invalid(ValidationError::single(
                "/attempts",
                format!("must be 1 to 20, got {attempts}"),
            ))
        })?;
    let answers = CallbackAnswers {
        reached: body.reached,
        attempts,
        unit_contacted: body.unit_contacted,
        solved: body.solved,
        satisfaction: body.satisfaction,
        comment: body.comment.filter(|c| !c.trim().is_empty()),
    };
    let complaint = state.complaints.callback(&operator.0, id, answers).await?;
    answered(&state, &operator.0, complaint).await
}

#[utoipa::path(post, path = "/v1/complaints/{id}/not-assessable", tag = "Hotline loop", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "{\"reason\": text} (required); the admin sending it is recorded as the approver", content_type = "application/json"),
    responses((status = 200, description = "Kept out of the rates, counted apart; never deleted", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not an admin"), (status = 404, description = "No such complaint"),
        (status = 409, description = "Already marked"), (status = 422, description = "No reason")))]
async fn not_assessable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: ReasonBody = body_as(body)?;
    let complaint = state
        .complaints
        .mark_not_assessable(&principal, id, body.reason)
        .await?;
    answered(&state, &principal, complaint).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceBody {
    #[serde(rename = "type")]
    kind: String,
    coordinates: Vec<f64>,
    coord_sys: Option<String>,
}

#[utoipa::path(post, path = "/v1/complaints/{id}/location", tag = "Hotline loop", security(("bearer" = [])), params(("id" = String, Path, description = "Complaint id")),
    request_body(content = Object, description = "A GeoJSON Point {\"type\": \"Point\", \"coordinates\": [lon, lat]}, with \"coord_sys\": wgs84|gcj02|bd09 (default wgs84)", content_type = "application/json"),
    responses((status = 200, description = "Placed and linked", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such complaint"),
        (status = 409, description = "The case came with coordinates, or is closed"), (status = 422, description = "Not a Point, or outside the service area")))]
async fn place(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    operator: ComplaintOperator,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: PlaceBody = body_as(body)?;
    if body.kind != "Point" {
        return Err(ValidationError::single("/type", "must be \"Point\"").into());
    }
    let [lon, lat] = body.coordinates[..] else {
        return Err(
            ValidationError::single("/coordinates", "must be [longitude, latitude]").into(),
        );
    };
    let coord_sys = body
        .coord_sys
        .map(|c| {
            c.parse::<CoordSys>()
                .map_err(|e| ApiError::Invalid(ValidationError::single("/coord_sys", e)))
        })
        .transpose()?
        .unwrap_or_default();
    let complaint = state
        .complaints
        .place(&operator.0, id, (lon, lat), coord_sys)
        .await?;
    answered(&state, &operator.0, complaint).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerHistoryBody {
    phone: String,
    limit: Option<u32>,
}

/// The phone travels in the body, not the query string, so that it never
/// reaches an access log or a proxy's.
#[utoipa::path(post, path = "/v1/caller-history", tag = "Hotline loop", security(("bearer" = [])),
    request_body(content = Object, description = "{\"phone\": the caller's number, \"limit\": 1-200 (default 50)}", content_type = "application/json"),
    responses((status = 200, description = "The caller's earlier cases, newest first, matched by a keyed hash of the phone; phones masked", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not an operator or admin"), (status = 422, description = "Not a phone number")))]
async fn caller_history(
    State(state): State<ApiState>,
    operator: ComplaintOperator,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body: CallerHistoryBody = body_as(body)?;
    let limit = body.limit.unwrap_or(50);
    if !(1..=CALLER_HISTORY_MAX).contains(&limit) {
        return Err(ValidationError::single(
            "/limit",
            format!("must be 1 to {CALLER_HISTORY_MAX}, got {limit}"),
        )
        .into());
    }
    let cases = state
        .complaints
        .caller_history(&operator.0, &body.phone, limit)
        .await?;
    let features: Vec<Value> = cases
        .iter()
        .map(|c| {
            let personal = match personal_data(Some(&operator.0), c.draft.district, false) {
                PersonalData::Full => PersonalData::Masked,
                other => other,
            };
            complaint_feature(c, personal, Map::new())
        })
        .collect();
    Ok(geojson_response(
        StatusCode::OK,
        json!({"type": "FeatureCollection", "numberReturned": features.len(), "features": features}),
    ))
}

/// The call-backs the rates are over when no `from` is given: 31 days
/// up to `to`.
const DEFAULT_RATES_WINDOW: time::Duration = time::Duration::days(31);
/// The longest window of call-backs one request may aggregate.
const MAX_RATES_WINDOW: time::Duration = time::Duration::days(366);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesParams {
    from: Option<String>,
    to: Option<String>,
    district: Option<String>,
    unit: Option<String>,
}

#[utoipa::path(get, path = "/v1/complaints/rates", tag = "Hotline loop",
    params(("from" = Option<String>, Query, description = "Call-backs at or after (RFC 3339; default 31 days before to; at most 366 days before to)"), ("to" = Option<String>, Query, description = "Call-backs at or before (RFC 3339; default now)"),
        ("district" = Option<String>, Query, description = "District"), ("unit" = Option<String>, Query, description = "The unit whose work was assessed")),
    responses((status = 200, description = "Response, resolution and satisfaction rates over valid call-backs (the latest of each case), with their counts", body = Object), (status = 400, description = "Bad parameter (problem+json)")))]
async fn rates(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<RatesParams>,
) -> Result<Json<Value>, ApiError> {
    let time = super::complaints::time_param;
    // A bounded window: the city grades by month; without one, a public
    // request would aggregate every call-back ever made.
    let to = time(&params.to, "to")?.unwrap_or_else(OffsetDateTime::now_utc);
    let from = time(&params.from, "from")?.unwrap_or(to - DEFAULT_RATES_WINDOW);
    if from > to {
        return Err(ApiError::bad_request("from is later than to"));
    }
    if to - from > MAX_RATES_WINDOW {
        return Err(ApiError::bad_request(format!(
            "the window from {} to {} is longer than {} days; ask for a shorter one",
            utc_text(from),
            utc_text(to),
            MAX_RATES_WINDOW.whole_days()
        )));
    }
    let filter = RatesFilter {
        from: Some(from),
        to: Some(to),
        district: non_empty(&params.district)
            .map(|d| d.parse::<District>().map_err(ApiError::bad_request))
            .transpose()?,
        unit: non_empty(&params.unit)
            .map(|u| u.parse::<UnitCode>().map_err(ApiError::bad_request))
            .transpose()?,
    };
    if let Some(unit) = &filter.unit {
        if state.complaints.hotline().units.unit(unit).is_none() {
            return Err(ApiError::bad_request(format!(
                "unknown unit {unit}; GET /v1/units lists them"
            )));
        }
    }
    // An aggregate over up to a year of call-backs: a few at a time, as
    // filtered reads are, so that many cannot crowd out other requests.
    let _turn = state.features.scans().enter().await?;
    let rates = state.complaints.rates(&filter).await?;
    let scale: Vec<Value> = state
        .complaints
        .hotline()
        .config
        .satisfaction_scale
        .iter()
        .map(|l| json!({"code": l.code, "title_zh": l.title_zh, "weight": l.weight}))
        .collect();
    let mut body = json!(rates);
    body["satisfaction_scale"] = json!(scale);
    body["from"] = json!(utc_text(from));
    body["to"] = json!(utc_text(to));
    Ok(Json(body))
}

#[utoipa::path(get, path = "/v1/units", tag = "Hotline loop",
    responses((status = 200, description = "The responsible units, the routing rules in the order they are tried, the deadline tiers and the case types", body = Object)))]
async fn units(State(state): State<ApiState>) -> Json<Value> {
    let hotline = state.complaints.hotline();
    let units: Vec<Value> = hotline.units.all().map(|u| json!(u)).collect();
    let rules: Vec<Value> = hotline
        .units
        .rules()
        .iter()
        .map(|r| {
            json!({"name": r.name, "categories": r.categories, "asset_kinds": r.asset_kinds,
                   "districts": r.districts, "unit": r.unit.as_str()})
        })
        .collect();
    let tiers: Map<String, Value> = hotline
        .config
        .deadline_tiers
        .iter()
        .map(|(tier, t)| {
            (
                tier.as_str().to_string(),
                json!({"response_hours": t.response_hours, "resolution_hours": t.resolution_hours}),
            )
        })
        .collect();
    let case_types: Map<String, Value> = hotline
        .config
        .case_types
        .iter()
        .map(|(t, rule)| {
            (
                t.as_str().to_string(),
                json!({"title": rule.title, "title_zh": rule.title_zh,
                       "answer_on_call": rule.answer_on_call, "auto_dispatch": rule.auto_dispatch}),
            )
        })
        .collect();
    Json(json!({"units": units, "rules": rules, "deadline_tiers": tiers, "case_types": case_types}))
}
