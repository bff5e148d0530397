//! Work orders over HTTP: making them, reading them (one with its ETag and
//! history), moving them along their lifecycle, changing them, reporting
//! a job done with photos, what is near me, a crew's walking order, and
//! the photos themselves.

use super::auth::Authenticated;
use super::extract::{
    IfMatch, JsonBody, QueryParams, comma_list, content_type, non_empty, positive_id,
};
use super::feature::{geojson_response, geojson_text_response};
use super::hotline::body_as;
use super::photo_form::{MAX_PHOTO_FORM_BYTES, PhotoForm, checked_photos};
use super::{ApiError, ApiState};
use crate::domain::{
    ComplaintId, CoordSys, Priority, UnitCode, ValidationError, WorkOrder, WorkOrderId,
    WorkOrderKind, WorkOrderStatus, utc_text,
};
use crate::services::work_orders::feature::{OrderFeature, history_json, work_order_feature};
use crate::services::work_orders::{
    DoneReport, Edit, Move, NearbyRequest, NewWorkOrder, WorkOrderError, WorkOrderFilter,
};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most orders in one list page.
pub const MAX_LIST_LIMIT: u32 = 1_000;
/// Most orders "near me" answers.
pub const MAX_NEARBY_LIMIT: u32 = 100;
/// Widest "near me", metres: a crew on foot; and it bounds the walking
/// search that follows (three times the farthest hit and 500 m more).
pub const MAX_NEARBY_RADIUS_M: f64 = 5_000.0;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(nearby))
        .routes(routes!(route))
        .routes(routes!(one, edit))
        .routes(routes!(transition))
        .merge(
            // A done report with its photos is larger than other bodies.
            OpenApiRouter::new()
                .routes(routes!(done))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_PHOTO_FORM_BYTES)),
        )
        .routes(routes!(photo))
}

impl From<WorkOrderError> for ApiError {
    fn from(e: WorkOrderError) -> Self {
        match e {
            WorkOrderError::Invalid(v) => ApiError::Invalid(v),
            WorkOrderError::NotFound(_) | WorkOrderError::PhotoNotFound(_) => ApiError::NotFound {
                detail: e.to_string(),
            },
            WorkOrderError::Forbidden(detail) => ApiError::Forbidden { detail },
            WorkOrderError::Conflict(detail) => ApiError::Rejected {
                status: StatusCode::CONFLICT,
                detail,
            },
            WorkOrderError::Stale { .. } => ApiError::PreconditionFailed {
                detail: e.to_string(),
            },
            WorkOrderError::PreconditionRequired(detail) => ApiError::Rejected {
                status: StatusCode::PRECONDITION_REQUIRED,
                detail,
            },
            WorkOrderError::Photo(p) => ApiError::Rejected {
                status: match p {
                    crate::services::work_orders::PhotoProblem::TooLarge { .. } => {
                        StatusCode::PAYLOAD_TOO_LARGE
                    }
                    crate::services::work_orders::PhotoProblem::NotAPhoto { .. } => {
                        StatusCode::UNSUPPORTED_MEDIA_TYPE
                    }
                },
                detail: p.to_string(),
            },
            WorkOrderError::Store(s) => s.into(),
        }
    }
}

fn parse_id(text: &str) -> Result<WorkOrderId, ApiError> {
    positive_id(text, "work order").map(WorkOrderId)
}

fn parse_field<T: std::str::FromStr<Err = String>>(
    pointer: &str,
    text: Option<String>,
) -> Result<Option<T>, ApiError> {
    text.map(|t| {
        t.parse::<T>()
            .map_err(|e| ApiError::Invalid(ValidationError::single(pointer, e)))
    })
    .transpose()
}

fn parse_time(
    pointer: &str,
    text: Option<String>,
) -> Result<Option<time::OffsetDateTime>, ApiError> {
    text.map(|t| {
        crate::domain::parse_utc(&t).ok_or_else(|| {
            ApiError::Invalid(ValidationError::single(
                pointer,
                "is not an RFC 3339 time of the years 1-9999",
            ))
        })
    })
    .transpose()
}

/// A longitude/latitude pair in range.
fn lon_lat(pointer: &str, lon: f64, lat: f64) -> Result<(f64, f64), ApiError> {
    if lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
    {
        Ok((lon, lat))
    } else {
        Err(ValidationError::single(pointer, "must be [longitude, latitude] in range").into())
    }
}

/// An order with its ETag.
fn order_response(status: StatusCode, order: &WorkOrder, extra: Vec<(&str, Value)>) -> Response {
    let mut feature = work_order_feature(order);
    if let Some(props) = feature["properties"].as_object_mut() {
        for (key, value) in extra {
            props.insert(key.to_string(), value);
        }
    }
    let mut response = geojson_response(status, feature);
    if let Ok(etag) = HeaderValue::from_str(&order.version.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/work-orders/{}", order.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    complaint_id: Option<i64>,
    unit: Option<String>,
    crew: Option<String>,
    asset_id: Option<i64>,
    /// `[lon, lat]`, WGS 84.
    location: Option<Vec<f64>>,
    kind: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    due_at: Option<String>,
    positions: Option<Value>,
    note: Option<String>,
}

#[utoipa::path(post, path = "/v1/work-orders", tag = "Work orders", security(("bearer" = [])),
    request_body(content = Object, description = "From a case: {\"complaint_id\": id} (the unit, place, priority and due date come from the case). By hand: {\"unit\", \"asset_id\" or \"location\": [lon, lat], \"description\"}. Either may give crew, kind, priority (urgent|high|normal|low), due_at, positions (a GeoJSON MultiPoint riding along), note.", content_type = "application/json"),
    responses((status = 201, description = "Made: open, or assigned when a crew is given; Location and ETag headers", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role, unit or district may not"),
        (status = 409, description = "The case is not dispatched, or is unlocated"), (status = 422, description = "Invalid body")))]
async fn create(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body: CreateBody = body_as(body)?;
    let location = match body.location.as_deref() {
        None => None,
        Some([lon, lat]) => Some(lon_lat("/location", *lon, *lat)?),
        Some(_) => {
            return Err(
                ValidationError::single("/location", "must be [longitude, latitude]").into(),
            );
        }
    };
    if let Some(positions) = &body.positions {
        check_positions(positions)?;
    }
    let request = NewWorkOrder {
        complaint_id: body
            .complaint_id
            .map(|id| {
                if id >= 1 {
                    Ok(ComplaintId(id))
                } else {
                    Err(ApiError::Invalid(ValidationError::single(
                        "/complaint_id",
                        "must be a complaint id",
                    )))
                }
            })
            .transpose()?,
        unit: parse_field::<UnitCode>("/unit", body.unit)?,
        crew: parse_field::<UnitCode>("/crew", body.crew)?,
        asset_id: body.asset_id,
        location,
        kind: parse_field::<WorkOrderKind>("/kind", body.kind)?,
        description: body.description,
        priority: parse_field::<Priority>("/priority", body.priority)?,
        due_at: parse_time("/due_at", body.due_at)?,
        positions: body.positions,
        note: body.note,
        survey_id: None,
        plan_id: None,
    };
    let order = state.work_orders.create(&principal, request).await?;
    Ok(order_response(StatusCode::CREATED, &order, Vec::new()))
}

/// Positions riding along: a GeoJSON MultiPoint of at most 10,000 points
/// in range.
fn check_positions(positions: &Value) -> Result<(), ApiError> {
    let bad = |detail: &str| ApiError::Invalid(ValidationError::single("/positions", detail));
    if positions["type"] != "MultiPoint" {
        return Err(bad("must be a GeoJSON MultiPoint"));
    }
    let points = positions["coordinates"]
        .as_array()
        .ok_or_else(|| bad("must have coordinates"))?;
    if points.len() > 10_000 {
        return Err(bad("has more than 10,000 points"));
    }
    for p in points {
        match p
            .as_array()
            .map(|c| c.iter().map(Value::as_f64).collect::<Vec<_>>())
            .as_deref()
        {
            Some([Some(lon), Some(lat)]) => {
                lon_lat("/positions", *lon, *lat)?;
            }
            _ => return Err(bad("each position is [longitude, latitude]")),
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    unit: Option<String>,
    crew: Option<String>,
    status: Option<String>,
    complaint_id: Option<i64>,
    plan_id: Option<i64>,
    district: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/work-orders", tag = "Work orders", security(("bearer" = [])),
    params(("unit" = Option<String>, Query, description = "A unit's orders"), ("crew" = Option<String>, Query, description = "A crew's orders"),
        ("status" = Option<String>, Query, description = "Statuses, comma-separated"), ("complaint_id" = Option<i64>, Query, description = "A case's orders"), ("plan_id" = Option<i64>, Query, description = "A plan's orders"),
        ("district" = Option<String>, Query, description = "A district's orders"), ("before" = Option<i64>, Query, description = "Orders with lower ids (the next page)"),
        ("limit" = Option<u32>, Query, description = "Most orders, 1-1000 (default 100)")),
    responses((status = 200, description = "Newest first, with a next link when there may be more", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Another unit's or district's orders")))]
async fn list(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}"
        )));
    }
    let code = |name: &str, text: &Option<String>| {
        non_empty(text)
            .map(|t| UnitCode::parse(t).map_err(|e| ApiError::bad_request(format!("{name}: {e}"))))
            .transpose()
    };
    let positive = |name: &str, n: Option<i64>| match n {
        Some(n) if n < 1 => Err(ApiError::bad_request(format!("{name} must be at least 1"))),
        other => Ok(other),
    };
    let filter = WorkOrderFilter {
        unit: code("unit", &params.unit)?,
        crew: code("crew", &params.crew)?,
        statuses: comma_list::<WorkOrderStatus>(non_empty(&params.status), "status")?,
        complaint: positive("complaint_id", params.complaint_id)?.map(ComplaintId),
        plan: positive("plan_id", params.plan_id)?,
        district: non_empty(&params.district)
            .map(|d| d.parse().map_err(ApiError::bad_request))
            .transpose()?,
        before: positive("before", params.before)?.map(WorkOrderId),
        limit,
    };
    let orders = state.work_orders.list(&principal, filter.clone()).await?;
    let mut links = Vec::new();
    if orders.len() as u32 == limit {
        if let Some(last) = orders.last() {
            let mut pairs: Vec<(&str, String)> = Vec::new();
            for (name, value) in [
                ("unit", &params.unit),
                ("crew", &params.crew),
                ("status", &params.status),
                ("district", &params.district),
            ] {
                if let Some(v) = non_empty(value) {
                    pairs.push((name, v.to_string()));
                }
            }
            if let Some(c) = params.complaint_id {
                pairs.push(("complaint_id", c.to_string()));
            }
            if let Some(p) = params.plan_id {
                pairs.push(("plan_id", p.to_string()));
            }
            pairs.push(("before", last.id.0.to_string()));
            pairs.push(("limit", limit.to_string()));
            links.push(json!({"rel": "next", "type": "application/geo+json",
                "href": format!("/v1/work-orders?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())}));
        }
    }
    let features: Vec<Value> = orders.iter().map(work_order_feature).collect();
    Ok(geojson_response(
        StatusCode::OK,
        json!({"type": "FeatureCollection", "numberReturned": features.len(), "links": links, "features": features}),
    ))
}

#[utoipa::path(get, path = "/v1/work-orders/{id}", tag = "Work orders", security(("bearer" = [])), params(("id" = String, Path, description = "Work order id")),
    responses((status = 200, description = "The order with its ETag, history and, for a case's order, what the case is about (never who called)", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Another unit's or district's order"), (status = 404, description = "No such order")))]
async fn one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let order = state.work_orders.get_for(&principal, id).await?;
    with_history(&state, &order, StatusCode::OK).await
}

/// An order with its history and its case's text and place.
async fn with_history(
    state: &ApiState,
    order: &WorkOrder,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let history = state.work_orders.history(order.id).await?;
    let mut extra = vec![("history", history_json(&history))];
    if let Some(case_id) = order.draft.complaint_id {
        if let Ok(case) = state.complaints.get(case_id).await {
            extra.push((
                "complaint",
                json!({
                    "id": case.id.0,
                    "case_number": case.draft.case_number.as_str(),
                    "category": case.draft.category,
                    "description": case.draft.description,
                    "address": case.draft.address,
                    "location": case.draft.location.map(|(lon, lat)| json!([lon, lat])),
                    "status": case.status,
                    "reported_at": utc_text(case.draft.reported_at),
                }),
            ));
        }
    }
    Ok(order_response(status, order, extra))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    crew: Option<String>,
    priority: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    due_at: Option<Option<String>>,
}

/// A member that may be `null` (to clear it) as well as absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/v1/work-orders/{id}", tag = "Work orders", security(("bearer" = [])), params(("id" = String, Path, description = "Work order id"), ("If-Match" = String, Header, description = "The ETag read; required, and a stale one gets 412")),
    request_body(content = Object, description = "{\"crew\", \"priority\", \"description\", \"due_at\" (null clears it)}", content_type = "application/json"),
    responses((status = 200, description = "Changed, with its new ETag", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role, unit or district may not"), (status = 404, description = "No such order"),
        (status = 409, description = "The order is no longer to be done"), (status = 412, description = "The order changed since it was read"), (status = 422, description = "Invalid body"), (status = 428, description = "No If-Match")))]
async fn edit(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: EditBody = body_as(body)?;
    let edit = Edit {
        crew: parse_field::<UnitCode>("/crew", body.crew)?,
        priority: parse_field::<Priority>("/priority", body.priority)?,
        description: body.description,
        due_at: match body.due_at {
            None => None,
            Some(None) => Some(None),
            Some(text) => Some(parse_time("/due_at", text)?),
        },
    };
    let order = state
        .work_orders
        .edit(&principal, id, &precondition, edit)
        .await?;
    with_history(&state, &order, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    to: String,
    crew: Option<String>,
    note: Option<String>,
}

#[utoipa::path(post, path = "/v1/work-orders/{id}/transitions", tag = "Work orders", security(("bearer" = [])), params(("id" = String, Path, description = "Work order id"), ("If-Match" = Option<String>, Header, description = "The ETag read; a stale one gets 412")),
    request_body(content = Object, description = "{\"to\": assigned (with crew)|open|in_progress|verified|cancelled (with a note), \"crew\", \"note\"}; done goes through …/done", content_type = "application/json"),
    responses((status = 200, description = "Moved, with its history and new ETag", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role, unit, crew or district may not make this move"), (status = 404, description = "No such order"),
        (status = 409, description = "Not a legal move from the order's status"), (status = 412, description = "The order changed since it was read"), (status = 422, description = "Invalid body")))]
async fn transition(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: TransitionBody = body_as(body)?;
    let request = Move {
        to: body
            .to
            .parse()
            .map_err(|e: String| ApiError::Invalid(ValidationError::single("/to", e)))?,
        crew: parse_field::<UnitCode>("/crew", body.crew)?,
        note: body.note,
    };
    let order = state
        .work_orders
        .transition(&principal, id, &precondition, request)
        .await?;
    with_history(&state, &order, StatusCode::OK).await
}

/// A done report: JSON (no photos) or multipart/form-data with `note`,
/// `lon`, `lat`, `coord_sys` and up to four `photo` parts.
struct DoneForm(DoneFields);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneFields {
    note: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    coord_sys: Option<String>,
    #[serde(skip)]
    photos: Vec<(Vec<u8>, Option<String>)>,
}

impl FromRequest<ApiState> for DoneForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        if content_type(&request).starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(request, state)
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
            let mut form = PhotoForm::read(
                multipart,
                &["note", "lon", "lat", "coord_sys"],
                "a done report",
            )
            .await?;
            Ok(DoneForm(DoneFields {
                lon: form.number("lon")?,
                lat: form.number("lat")?,
                note: form.texts.remove("note"),
                coord_sys: form.texts.remove("coord_sys"),
                photos: form.photos,
            }))
        } else {
            let JsonBody(body) = JsonBody::from_request(request, state).await?;
            Ok(DoneForm(body_as(body)?))
        }
    }
}

#[utoipa::path(post, path = "/v1/work-orders/{id}/done", tag = "Work orders", security(("bearer" = [])), params(("id" = String, Path, description = "Work order id"), ("If-Match" = Option<String>, Header, description = "The ETag read; a stale one gets 412")),
    request_body(content = Object, description = "multipart/form-data (or JSON without photos): note, lon, lat (the device), coord_sys (wgs84|gcj02|bd09), and up to 4 photo parts (JPEG, PNG or WebP, by their bytes; at most 8 MiB each). A note or a photo is required.", content_type = "multipart/form-data"),
    responses((status = 200, description = "Done, with its evidence (photo_far_from_site when a photo's EXIF position, or without one the device's, is over 50 m from the job)", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not this crew's order"), (status = 404, description = "No such order"),
        (status = 409, description = "The order is not in progress"), (status = 412, description = "The order changed since it was read"), (status = 413, description = "A photo is too large"), (status = 415, description = "A photo is not a JPEG, PNG or WebP by its bytes"), (status = 422, description = "No evidence, or an invalid field")))]
async fn done(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    IfMatch(precondition): IfMatch,
    DoneForm(fields): DoneForm,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let coord_sys = non_empty(&fields.coord_sys)
        .map(|c| {
            c.parse::<CoordSys>()
                .map_err(|e| ApiError::Invalid(ValidationError::single("/coord_sys", e)))
        })
        .transpose()?
        .unwrap_or_default();
    let position = match (fields.lon, fields.lat) {
        (Some(lon), Some(lat)) => {
            let (lon, lat) = lon_lat("/lon", lon, lat)?;
            Some(
                coord_sys
                    .to_wgs84(lon, lat)
                    .map_err(|e| ApiError::Invalid(ValidationError::single("/coord_sys", e)))?,
            )
        }
        (None, None) => None,
        _ => return Err(ValidationError::single("/lat", "lon and lat go together").into()),
    };
    let photos = checked_photos(fields.photos)?;
    let report = DoneReport {
        note: fields.note,
        position,
        photos,
    };
    let order = state
        .work_orders
        .done(&principal, id, &precondition, report)
        .await?;
    with_history(&state, &order, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NearbyParams {
    lon: Option<f64>,
    lat: Option<f64>,
    radius_m: Option<f64>,
    status: Option<String>,
    crew: Option<String>,
    limit: Option<u32>,
    coord_sys: Option<String>,
    sort: Option<String>,
    walking: Option<String>,
}

/// Where the requester stands, in WGS 84.
fn standing(
    lon: Option<f64>,
    lat: Option<f64>,
    coord_sys: &Option<String>,
) -> Result<(f64, f64), ApiError> {
    let lon = lon.ok_or_else(|| ApiError::bad_request("lon is required"))?;
    let lat = lat.ok_or_else(|| ApiError::bad_request("lat is required"))?;
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::bad_request(format!(
            "lon must be a number in -180..180, got {lon}"
        )));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_request(format!(
            "lat must be a number in -90..90, got {lat}"
        )));
    }
    let coord_sys = non_empty(coord_sys)
        .map(|c| c.parse::<CoordSys>().map_err(ApiError::bad_request))
        .transpose()?
        .unwrap_or_default();
    coord_sys.to_wgs84(lon, lat).map_err(ApiError::bad_request)
}

#[utoipa::path(get, path = "/v1/work-orders/nearby", tag = "Work orders", security(("bearer" = [])),
    params(("lon" = f64, Query, description = "Longitude where the requester stands"), ("lat" = f64, Query, description = "Latitude"),
        ("coord_sys" = Option<String>, Query, description = "wgs84 (default, a browser's location), gcj02 (WeChat, AMap, Tencent) or bd09 (Baidu)"),
        ("radius_m" = Option<f64>, Query, description = "Search radius in metres, at most 5,000 (default 1,000)"),
        ("status" = Option<String>, Query, description = "open, assigned, in_progress (comma-separated; default all three)"), ("crew" = Option<String>, Query, description = "One crew's jobs"),
        ("limit" = Option<u32>, Query, description = "Most orders, 1-100 (default 10)"), ("sort" = Option<String>, Query, description = "straight (default) or walking"),
        ("walking" = Option<String>, Query, description = "true (default): walking distances along the lanes; false: the straight line only")),
    responses((status = 200, description = "Open orders nearest first, each with distance_m (straight line) and, unless walking=false, walking_distance_m and walking_method (lanes or straight_line)", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "A crew or unit token that names no unit")))]
async fn nearby(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    QueryParams(params): QueryParams<NearbyParams>,
) -> Result<Response, ApiError> {
    let at = standing(params.lon, params.lat, &params.coord_sys)?;
    let radius_m = params.radius_m.unwrap_or(1_000.0);
    if !radius_m.is_finite() || radius_m <= 0.0 || radius_m > MAX_NEARBY_RADIUS_M {
        return Err(ApiError::bad_request(format!(
            "radius_m must be greater than 0 and at most {MAX_NEARBY_RADIUS_M}, got {radius_m}"
        )));
    }
    let limit = params.limit.unwrap_or(10);
    if !(1..=MAX_NEARBY_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_NEARBY_LIMIT}, got {limit}"
        )));
    }
    let statuses = comma_list::<WorkOrderStatus>(non_empty(&params.status), "status")?;
    if let Some(s) = statuses.iter().find(|s| !s.is_open()) {
        return Err(ApiError::bad_request(format!(
            "status {s} is not held for nearby queries; it lists open, assigned and in_progress orders"
        )));
    }
    let by_walking = match non_empty(&params.sort) {
        None | Some("straight") => false,
        Some("walking") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sort is straight or walking, got {:?}",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let crew = non_empty(&params.crew)
        .map(|c| UnitCode::parse(c).map_err(ApiError::bad_request))
        .transpose()?;
    let walking = match non_empty(&params.walking) {
        None | Some("true") => true,
        Some("false") if by_walking => {
            return Err(ApiError::bad_request(
                "sort=walking needs the walking distances (walking=true)",
            ));
        }
        Some("false") => false,
        Some(_) => return Err(ApiError::bad_request("walking is true or false")),
    };
    let request = NearbyRequest {
        walking,
        at,
        radius_m,
        limit: limit as usize,
        statuses,
        crew,
        by_walking,
    };
    let found = state.work_orders.nearby(&principal, &request).await?;
    let features: Vec<OrderFeature> = found
        .iter()
        .map(|hit| OrderFeature {
            order: &hit.order,
            distance_m: Some(hit.straight_m),
            walking: hit.walking.as_ref(),
        })
        .collect();
    #[derive(serde::Serialize)]
    struct Found<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(rename = "numberReturned")]
        number_returned: usize,
        features: &'a [OrderFeature<'a>],
    }
    let body = serde_json::to_string(&Found {
        kind: "FeatureCollection",
        number_returned: features.len(),
        features: &features,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(geojson_text_response(StatusCode::OK, body))
}

fn round_cm(m: f64) -> f64 {
    (m * 100.0).round() / 100.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteParams {
    crew: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    coord_sys: Option<String>,
}

#[utoipa::path(get, path = "/v1/work-orders/route", tag = "Work orders", security(("bearer" = [])),
    params(("crew" = String, Query, description = "The crew (a crew token: its own)"), ("lon" = f64, Query, description = "Longitude where the crew stands"), ("lat" = f64, Query, description = "Latitude"),
        ("coord_sys" = Option<String>, Query, description = "wgs84 (default), gcj02 or bd09")),
    responses((status = 200, description = "The crew's open jobs in walking order along the lanes (nearest neighbour, then 2-opt; every order tried up to 8): each leg with its distance, method and path, the total, and the whole walk as a GeoJSON FeatureCollection", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Another crew or unit"), (status = 422, description = "Unknown crew")))]
async fn route(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    QueryParams(params): QueryParams<RouteParams>,
) -> Result<Response, ApiError> {
    let start = standing(params.lon, params.lat, &params.coord_sys)?;
    let crew = non_empty(&params.crew)
        .ok_or_else(|| ApiError::bad_request("crew is required"))
        .and_then(|c| UnitCode::parse(c).map_err(ApiError::bad_request))?;
    let route = state.work_orders.route(&principal, &crew, start).await?;
    let mut features = Vec::new();
    for (i, (stop, leg)) in route.stops.iter().zip(&route.legs).enumerate() {
        let path: Vec<Value> = leg
            .path
            .iter()
            .map(|(lon, lat)| json!([lon, lat]))
            .collect();
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": path},
            "properties": {
                "leg": i + 1,
                "to_work_order": stop.id.0,
                "distance_m": round_cm(leg.distance.distance_m),
                "straight_m": round_cm(leg.distance.straight_m),
                "method": leg.distance.method,
            }
        }));
        let mut job = work_order_feature(stop);
        if let Some(props) = job["properties"].as_object_mut() {
            props.insert("stop".into(), json!(i + 1));
        }
        features.push(job);
    }
    Ok(geojson_response(
        StatusCode::OK,
        json!({
            "type": "FeatureCollection",
            "crew": crew.as_str(),
            "start": [route.start.0, route.start.1],
            "total_m": round_cm(route.total_m()),
            "stops": route.stops.iter().map(|o| o.id.0).collect::<Vec<_>>(),
            "left_out": route.left_out,
            "features": features,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/photos/{id}", tag = "Work orders", security(("bearer" = [])), params(("id" = String, Path, description = "Photo id")),
    responses((status = 200, description = "The photo's bytes, with their type", content_type = "image/jpeg"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a token that sees what it belongs to"), (status = 404, description = "No such photo")))]
async fn photo(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let id = positive_id(&id, "photo")?;
    let photo = state.work_orders.photo(&principal, id).await?;
    let mut response = (StatusCode::OK, photo.bytes).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&photo.media_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(response)
}
