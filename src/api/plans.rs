//! Repair plans over HTTP: making them (their quantities, cost and effects
//! worked out), reading them (everyone), changing them with `If-Match`,
//! moving them along their lifecycle, and the engineering rules they are
//! worked out with.

use super::auth::{Authenticated, Requester};
use super::extract::{IfMatch, JsonBody, QueryParams, comma_list, non_empty, positive_id};
use super::feature::geojson_response;
use super::hotline::body_as;
use super::{ApiError, ApiState};
use crate::domain::{
    ComplaintId, District, LonLatBox, Plan, PlanDraft, PlanId, PlanKind, PlanStatus,
    ValidationError,
};
use crate::services::planning::{PlanError, PlanFilter, plan_feature};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most plans in one list page.
pub const MAX_LIST_LIMIT: u32 = 200;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(one, edit))
        .routes(routes!(transition))
        .routes(routes!(engineering_rules))
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Invalid(v) => ApiError::Invalid(v),
            PlanError::NotFound(_) => ApiError::NotFound {
                detail: e.to_string(),
            },
            PlanError::Forbidden(detail) => ApiError::Forbidden { detail },
            PlanError::Conflict(detail) => ApiError::Rejected {
                status: StatusCode::CONFLICT,
                detail,
            },
            PlanError::Stale { .. } => ApiError::PreconditionFailed {
                detail: e.to_string(),
            },
            PlanError::Budget(b) => b.into(),
            PlanError::Store(s) => s.into(),
        }
    }
}

fn plan_response(status: StatusCode, plan: &Plan) -> Response {
    let mut response = geojson_response(status, plan_feature(plan));
    if let Ok(etag) = HeaderValue::from_str(&plan.version.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/plans/{}", plan.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

fn invalid(pointer: &str, detail: impl Into<String>) -> ApiError {
    ApiError::Invalid(ValidationError::single(pointer, detail))
}

fn bad(pointer: &str, detail: impl Into<String>) -> ValidationError {
    ValidationError::single(pointer, detail)
}

/// The fields a plan's author writes, each checked; `None` where absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    kind: Option<String>,
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    district: Option<Option<String>>,
    targets: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "present_value")]
    area: Option<Option<Value>>,
    complaint_ids: Option<Vec<i64>>,
    inputs: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    planned_start: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    planned_end: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    actual_start: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    actual_end: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_number")]
    actual_cost_cny: Option<Option<f64>>,
}

/// A field given (even as `null`, which clears it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn present_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Value>>, D::Error> {
    Option::<Value>::deserialize(d).map(|v| Some(v.filter(|v| !v.is_null())))
}

fn present_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

impl PlanBody {
    /// This body written over `draft`: what it names replaces what was.
    fn over(self, mut draft: PlanDraft) -> Result<PlanDraft, ValidationError> {
        if let Some(kind) = self.kind {
            draft.kind = kind.parse().map_err(|e: String| bad("/kind", e))?;
        }
        if let Some(title) = self.title {
            draft.title = title.trim().to_string();
        }
        if let Some(d) = self.description {
            draft.description = d.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
        }
        if let Some(d) = self.district {
            draft.district = d
                .map(|d| d.parse::<District>().map_err(|e| bad("/district", e)))
                .transpose()?;
        }
        if let Some(targets) = self.targets {
            if let Some(i) = targets.iter().position(|t| *t < 1) {
                return Err(bad(&format!("/targets/{i}"), "must be an asset id"));
            }
            draft.targets = targets;
        }
        if let Some(area) = self.area {
            draft.area = area;
        }
        if let Some(ids) = self.complaint_ids {
            if let Some(i) = ids.iter().position(|c| *c < 1) {
                return Err(bad(
                    &format!("/complaint_ids/{i}"),
                    "must be a complaint id",
                ));
            }
            draft.complaint_ids = ids.into_iter().map(ComplaintId).collect();
        }
        if let Some(inputs) = self.inputs {
            draft.inputs = inputs;
        }
        for (pointer, given, slot) in [
            (
                "/planned_start",
                self.planned_start,
                &mut draft.planned_start,
            ),
            ("/planned_end", self.planned_end, &mut draft.planned_end),
            ("/actual_start", self.actual_start, &mut draft.actual_start),
            ("/actual_end", self.actual_end, &mut draft.actual_end),
        ] {
            if let Some(given) = given {
                *slot = given
                    .map(|t| {
                        crate::domain::parse_utc(&t).ok_or_else(|| {
                            bad(pointer, "is not an RFC 3339 time of the years 1-9999")
                        })
                    })
                    .transpose()?;
            }
        }
        if let Some(cost) = self.actual_cost_cny {
            draft.actual_cost_cny = cost;
        }
        Ok(draft)
    }
}

fn empty_draft(kind: PlanKind) -> PlanDraft {
    PlanDraft {
        kind,
        title: String::new(),
        description: None,
        district: None,
        targets: Vec::new(),
        area: None,
        complaint_ids: Vec::new(),
        inputs: Map::new(),
        planned_start: None,
        planned_end: None,
        actual_start: None,
        actual_end: None,
        actual_cost_cny: None,
    }
}

#[utoipa::path(post, path = "/v1/plans", tag = "Plans", security(("bearer" = [])),
    request_body(content = Object, description = "{\"kind\": permeable_paving|sensor_lights|ebike_chargers|drainage_repair|building_restoration|elevator_installation|facility, \"title\", \"description\", \"targets\": [asset ids] and/or \"area\": a GeoJSON Polygon or MultiPolygon (its assets of the kind's target kinds join the targets), \"complaint_ids\", \"inputs\" (elevators: {\"buildings\": {\"<id>\": {\"stairwells\": [{\"households\", \"consenting\"}, …]}}}; chargers: {\"sites\": [[lon, lat], …]}; facility: {\"facility_type\", \"capacity\", \"site\": [lon, lat]} or its outline as area), \"district\", \"planned_start\", \"planned_end\"}. Quantities, cost and effects are worked out, never sent.", content_type = "application/json"),
    responses((status = 201, description = "A draft, with its quantities, cost lines, effects, ETag and Location", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad body (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not"),
        (status = 422, description = "Invalid body, targets the work cannot apply to (each named), or a facility's reach more work than the scan budget"),
        (status = 503, description = "Every scan slot stayed busy (a facility plan's reach)")))]
async fn create(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body: PlanBody = body_as(body)?;
    let kind: PlanKind = body
        .kind
        .as_deref()
        .ok_or_else(|| invalid("/kind", "is required"))?
        .parse()
        .map_err(|e: String| invalid("/kind", e))?;
    let draft = body.over(empty_draft(kind)).map_err(ApiError::Invalid)?;
    let plan = state.planning.create(&principal, draft).await?;
    Ok(plan_response(StatusCode::CREATED, &plan))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    f: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    district: Option<String>,
    bbox: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/plans", tag = "Plans",
    params(("kind" = Option<String>, Query, description = "Kinds, comma-separated"), ("status" = Option<String>, Query, description = "Statuses, comma-separated"),
        ("district" = Option<String>, Query, description = "A district's plans"), ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat: plans whose extent meets it"),
        ("before" = Option<i64>, Query, description = "Plans with lower ids (the next page)"), ("limit" = Option<u32>, Query, description = "Most plans, 1-200 (default 100)"),
        ("f" = Option<String>, Query, description = "geojson (default) or csv (a table for a report: one row a plan, its quantities and effects as name=value unit lists: totals, or each asset's or site's where a measure has no total)")),
    responses((status = 200, description = "Newest first, with a next link when there may be more; or the table (f=csv)", content((Object = "application/geo+json"), (String = "text/csv"))), (status = 400, description = "Bad parameter (problem+json)")))]
async fn list(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}"
        )));
    }
    if params.before.is_some_and(|b| b < 1) {
        return Err(ApiError::bad_request("before must be at least 1"));
    }
    let filter = PlanFilter {
        kinds: comma_list::<PlanKind>(non_empty(&params.kind), "kind")?,
        statuses: comma_list::<PlanStatus>(non_empty(&params.status), "status")?,
        district: non_empty(&params.district)
            .map(|d| d.parse().map_err(ApiError::bad_request))
            .transpose()?,
        bbox: non_empty(&params.bbox)
            .map(|b| LonLatBox::parse(b).map_err(|e| ApiError::bad_request(format!("bbox: {e}"))))
            .transpose()?,
        before: params.before.map(PlanId),
        limit,
    };
    let csv = super::csv_export::wants_csv(&params.f)?;
    let plans = state.planning.list(&filter).await?;
    if csv {
        return super::csv_export::csv_response(plan_rows(&plans), "plans.csv");
    }
    let mut links = Vec::new();
    if plans.len() as u32 == limit {
        if let Some(last) = plans.last() {
            let mut pairs: Vec<(&str, String)> = Vec::new();
            for (name, value) in [
                ("kind", &params.kind),
                ("status", &params.status),
                ("district", &params.district),
                ("bbox", &params.bbox),
            ] {
                if let Some(v) = non_empty(value) {
                    pairs.push((name, v.to_string()));
                }
            }
            pairs.push(("before", last.id.0.to_string()));
            pairs.push(("limit", limit.to_string()));
            links.push(json!({"rel": "next", "type": "application/geo+json",
                "href": format!("/v1/plans?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())}));
        }
    }
    let features: Vec<Value> = plans.iter().map(plan_feature).collect();
    Ok(geojson_response(
        StatusCode::OK,
        json!({"type": "FeatureCollection", "numberReturned": features.len(), "links": links, "features": features}),
    ))
}

/// Plans as table rows: one a plan.
fn plan_rows(plans: &[Plan]) -> Vec<Vec<String>> {
    // The totals; a measure with no total (a facility's, all of its
    // site; a restoration's, per building) each with what it is of.
    let measures = |list: &[crate::domain::Measure]| {
        let total = |m: &&crate::domain::Measure| m.asset_id.is_none() && m.site.is_none();
        list.iter()
            .filter(|m| total(m) || !list.iter().any(|t| total(&t) && t.name == m.name))
            .map(|m| {
                let of = match (m.asset_id, m.site) {
                    (Some(a), _) => format!(" (asset {a})"),
                    (None, Some(s)) => format!(" (site {s})"),
                    (None, None) => String::new(),
                };
                format!("{}={} {}{of}", m.name, m.value, m.unit)
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let time = |t: Option<time::OffsetDateTime>| t.map(crate::domain::utc_text).unwrap_or_default();
    let mut rows = vec![
        [
            "id",
            "kind",
            "title",
            "status",
            "district",
            "targets",
            "cost_cny",
            "quantities",
            "effects",
            "flags",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            "actual_cost_cny",
            "complaint_ids",
            "created_at",
            "updated_at",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in plans {
        let d = &p.draft;
        rows.push(vec![
            p.id.0.to_string(),
            d.kind.as_str().to_string(),
            super::csv_export::text_cell(&d.title),
            p.status.as_str().to_string(),
            d.district
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            p.quantities.targets.len().to_string(),
            p.quantities.cost_cny.to_string(),
            measures(&p.quantities.quantities),
            measures(&p.quantities.effects),
            p.quantities.flags.join("; "),
            time(d.planned_start),
            time(d.planned_end),
            time(d.actual_start),
            time(d.actual_end),
            d.actual_cost_cny.map(|c| c.to_string()).unwrap_or_default(),
            d.complaint_ids
                .iter()
                .map(|c| c.0.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            crate::domain::utc_text(p.created_at),
            crate::domain::utc_text(p.updated_at),
        ]);
    }
    rows
}

fn parse_id(text: &str) -> Result<PlanId, ApiError> {
    positive_id(text, "plan").map(PlanId)
}

#[utoipa::path(get, path = "/v1/plans/{id}", tag = "Plans", params(("id" = String, Path, description = "Plan id")),
    responses((status = 200, description = "The plan with its ETag; its work orders by status (`work_orders_by_status`), and to a bearer token each order's id and status (`work_orders`)", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad id"), (status = 401, description = "A token that is not valid"), (status = 404, description = "No such plan")))]
async fn one(
    State(state): State<ApiState>,
    requester: Requester,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let plan = state.planning.get(parse_id(&id)?).await?;
    let orders = state.planning.orders(&plan).await?;
    let mut response = plan_response(StatusCode::OK, &plan);
    let mut by_status = serde_json::Map::new();
    for (_, status) in &orders {
        let key = status.as_str().to_string();
        let n = by_status.get(&key).and_then(Value::as_u64).unwrap_or(0);
        by_status.insert(key, json!(n + 1));
    }
    let mut extra = vec![("work_orders_by_status", Value::Object(by_status))];
    // Work orders are for tokens only (as their collection is): the
    // public sees how far the plan has got, not the orders themselves.
    if requester.0.is_some() {
        let listed: Vec<Value> = orders
            .iter()
            .map(|(id, status)| json!({"id": id, "status": status}))
            .collect();
        extra.push(("work_orders", json!(listed)));
    }
    with_properties(&mut response, &plan, extra);
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Authorization"),
    );
    Ok(response)
}

/// The plan's Feature with more properties, keeping the response's
/// headers.
fn with_properties(response: &mut Response, plan: &Plan, extra: Vec<(&str, Value)>) {
    let mut feature = plan_feature(plan);
    if let Some(p) = feature["properties"].as_object_mut() {
        for (k, v) in extra {
            p.insert(k.to_string(), v);
        }
    }
    let replaced = geojson_response(response.status(), feature);
    *response.body_mut() = replaced.into_body();
}

#[utoipa::path(patch, path = "/v1/plans/{id}", tag = "Plans", security(("bearer" = [])), params(("id" = String, Path, description = "Plan id"), ("If-Match" = String, Header, description = "The ETag read; required, and a stale one gets 412")),
    request_body(content = Object, description = "Any of the fields of a new plan but kind (null clears an optional one), and actual_start, actual_end, actual_cost_cny. Targets, area and inputs change only while the plan is a draft or proposed; its quantities are then worked out again.", content_type = "application/json"),
    responses((status = 200, description = "Changed, with its new ETag", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad body (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not"), (status = 404, description = "No such plan"),
        (status = 409, description = "The plan is final, or approved and its targets may not change"), (status = 412, description = "The plan changed since it was read"), (status = 422, description = "Invalid body"), (status = 428, description = "No If-Match")))]
async fn edit(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if !matches!(
        precondition,
        crate::services::registry::Precondition::OneOf(_)
    ) {
        return Err(ApiError::Rejected {
            status: StatusCode::PRECONDITION_REQUIRED,
            detail: "changing a plan needs If-Match with the ETag read".into(),
        });
    }
    let body: PlanBody = body_as(body)?;
    if body.kind.is_some() {
        return Err(invalid(
            "/kind",
            "a plan's kind does not change; make a new plan",
        ));
    }
    let plan = state
        .planning
        .edit(&principal, id, &precondition, |current| {
            body.over(current.clone()).map_err(PlanError::Invalid)
        })
        .await?;
    Ok(plan_response(StatusCode::OK, &plan))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    to: String,
}

#[utoipa::path(post, path = "/v1/plans/{id}/transitions", tag = "Plans", security(("bearer" = [])), params(("id" = String, Path, description = "Plan id"), ("If-Match" = Option<String>, Header, description = "The ETag read; a stale one gets 412")),
    request_body(content = Object, description = "{\"to\": proposed|draft|approved|in_progress|completed|cancelled}: designers propose (and take back); planners and admins make every legal move", content_type = "application/json"),
    responses((status = 200, description = "Moved, with its new ETag (the move is in the audit trail); approved: the orders made (work_orders, work_order_problems); cancelled: its orders cancelled", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad body (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not make this move"), (status = 404, description = "No such plan"),
        (status = 409, description = "Not a legal move from the plan's status"), (status = 412, description = "The plan changed since it was read"), (status = 422, description = "Invalid body")))]
async fn transition(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: TransitionBody = body_as(body)?;
    let to: PlanStatus = body.to.parse().map_err(|e: String| invalid("/to", e))?;
    let moved = state
        .planning
        .transition(&principal, id, &precondition, to)
        .await?;
    let mut response = plan_response(StatusCode::OK, &moved.plan);
    // Approving lists the orders made; cancelling those cancelled.
    if matches!(to, PlanStatus::Approved | PlanStatus::Cancelled) {
        with_properties(
            &mut response,
            &moved.plan,
            vec![
                ("work_orders", json!(moved.work_orders)),
                ("work_order_problems", json!(moved.work_order_problems)),
            ],
        );
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesParams {
    district: Option<String>,
}

#[utoipa::path(get, path = "/v1/engineering-rules", tag = "Plans",
    params(("district" = Option<String>, Query, description = "The rules as they apply in this district (its overrides merged)")),
    responses((status = 200, description = "Every coefficient with its value, unit and source", body = Object), (status = 400, description = "Bad parameter (problem+json)")))]
async fn engineering_rules(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<RulesParams>,
) -> Result<Json<Value>, ApiError> {
    let district: Option<District> = non_empty(&params.district)
        .map(|d| d.parse().map_err(ApiError::bad_request))
        .transpose()?;
    let rules = state.planning.rules();
    let mut document = serde_json::to_value(rules.of(district))
        .map_err(|e| ApiError::Internal(format!("rules: {e}")))?;
    document["district"] = json!(district.map(District::as_str));
    document["overridden_in"] = json!(rules.overridden().map(District::as_str).collect::<Vec<_>>());
    document["design_storm_intensity"] = json!({
        "value": (rules.of(district).design_intensity(district) * 100.0).round() / 100.0,
        "unit": "L/(s·ha)",
        "source": "the district's storm formula at the return period and duration above",
    });
    Ok(Json(document))
}
