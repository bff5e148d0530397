//! Open311 GeoReport v2 at `/open311/v2/`, in JSON and XML.
//!
//! Service codes are the complaint categories. Internal statuses map to
//! `open` (received, dispatched, in progress) and `closed` (resolved,
//! closed, rejected), with the detail in `status_notes`. Identifiers are
//! strings; datetimes are W3C with the Beijing offset; empty parameters
//! count as absent. Errors are `[{code, description}]` as the spec says.
//! Caller data (first_name, last_name, phone) is taken in but never
//! returned: GeoReport has no field for it.

use super::ApiState;
use crate::domain::ComplaintFilter;
use crate::domain::{CaseNumber, Category, Complaint, ComplaintId, ComplaintStatus, CoordSys};
use crate::services::complaints::{CaseNumbers, ComplaintError};
use crate::services::routing::ResponsibleUnits;
use crate::services::store_failure::StoreFailure;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const DEFAULT_PAGE_SIZE: u32 = 1_000;
/// Most requests one answer lists, by id or by page.
const MAX_PAGE_SIZE: u32 = 1_000;
const DEFAULT_WINDOW_DAYS: i64 = 90;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(collection, create))
        .routes(routes!(service_definition))
        .routes(routes!(request))
        .routes(routes!(token))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ReportFormat {
    Json,
    Xml,
}

/// Splits `name.json` / `name.xml`.
fn split_format(text: &str) -> Result<(&str, ReportFormat), Open311Error> {
    if let Some(name) = text.strip_suffix(".json") {
        Ok((name, ReportFormat::Json))
    } else if let Some(name) = text.strip_suffix(".xml") {
        Ok((name, ReportFormat::Xml))
    } else {
        Err(Open311Error::new(
            ReportFormat::Json,
            StatusCode::NOT_FOUND,
            format!("no resource {text:?}; add .json or .xml"),
        ))
    }
}

/// A GeoReport error: `[{code, description}]` (or `<errors>`).
#[derive(Debug)]
struct Open311Error {
    format: ReportFormat,
    status: StatusCode,
    description: String,
}

impl Open311Error {
    fn new(format: ReportFormat, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            format,
            status,
            description: description.into(),
        }
    }

    fn bad(format: ReportFormat, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::BAD_REQUEST, description)
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        let mut response = match self.format {
            ReportFormat::Json => {
                let body = json!([{"code": code, "description": self.description}]);
                (self.status, axum::Json(body)).into_response()
            }
            ReportFormat::Xml => {
                let mut x = Xml::new();
                x.open("errors")
                    .open("error")
                    .text("code", &code.to_string())
                    .text("description", &self.description);
                x.close("error").close("errors");
                xml_response(self.status, x.finish())
            }
        };
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn internal(format: ReportFormat, e: impl std::fmt::Display) -> Open311Error {
    tracing::error!(cause = %e, "open311 request failed");
    Open311Error::new(
        format,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server could not complete the request",
    )
}

/// The database away is a 503 (with Retry-After), anything else a 500.
fn from_store_failure(format: ReportFormat, e: StoreFailure) -> Open311Error {
    match e {
        StoreFailure::Unavailable => {
            Open311Error::new(format, StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        StoreFailure::Failed(_) => internal(format, e),
    }
}

fn from_complaint_error(format: ReportFormat, e: ComplaintError) -> Open311Error {
    match e {
        ComplaintError::Invalid(v) => Open311Error::bad(format, v.to_string()),
        ComplaintError::NotFound(id) => Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("no service request {id}"),
        ),
        ComplaintError::Forbidden(d) => Open311Error::new(format, StatusCode::FORBIDDEN, d),
        ComplaintError::Conflict(d) | ComplaintError::TooDeep(d) => Open311Error::bad(format, d),
        ComplaintError::Store(e) => from_store_failure(format, e),
        ComplaintError::WriteFailed(e) => internal(format, e),
        ComplaintError::Unavailable(d) => {
            Open311Error::new(format, StatusCode::SERVICE_UNAVAILABLE, d)
        }
    }
}

/// A minimal XML writer: GeoReport documents are nests of text elements,
/// so escaping five characters is all the XML this needs.
struct Xml(String);

impl Xml {
    fn new() -> Self {
        Xml(String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
    }
    fn open(&mut self, tag: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }
    fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }
    fn text(&mut self, tag: &str, value: &str) -> &mut Self {
        self.open(tag);
        crate::encoding::push_escaped(&mut self.0, value);
        self.close(tag)
    }
    /// A JSON object's members as elements (null members as empty ones).
    fn members(&mut self, object: &Value) -> &mut Self {
        if let Value::Object(map) = object {
            for (key, value) in map {
                match value {
                    Value::Null => {
                        self.open(key).close(key);
                    }
                    Value::String(s) => {
                        self.text(key, s);
                    }
                    other => {
                        self.text(key, &other.to_string());
                    }
                }
            }
        }
        self
    }
    fn finish(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    response
}

/// A list of flat objects as JSON, or as `<root><item>…</item></root>`.
fn list_response(
    format: ReportFormat,
    status: StatusCode,
    root: &str,
    item: &str,
    items: &[Value],
) -> Response {
    match format {
        ReportFormat::Json => (status, axum::Json(Value::from(items.to_vec()))).into_response(),
        ReportFormat::Xml => {
            let mut x = Xml::new();
            x.open(root);
            for value in items {
                x.open(item).members(value).close(item);
            }
            x.close(root);
            xml_response(status, x.finish())
        }
    }
}

fn w3c(t: OffsetDateTime) -> String {
    let beijing = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    t.to_offset(beijing).format(&Rfc3339).unwrap_or_default()
}

fn service_json(category: Category) -> Value {
    json!({"service_code": category.as_str(), "service_name": category.title(),
        "description": format!("{} in the old neighbourhoods", category.title()),
        "metadata": true, "type": "realtime", "keywords": category.keywords(), "group": category.group()})
}

fn status_of(status: ComplaintStatus) -> &'static str {
    if status.is_open() { "open" } else { "closed" }
}

/// The state of a case in words, for `status_notes`: where it is in the
/// loop, with which unit, and by when.
fn status_notes(c: &Complaint, units: &ResponsibleUnits) -> String {
    let unit = c.handling.as_ref().map(|h| {
        units
            .unit(&h.unit)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| h.unit.to_string())
    });
    let due = |t: time::OffsetDateTime| w3c(t);
    let overdue = if c.is_overdue(time::OffsetDateTime::now_utc()) {
        "; overdue"
    } else {
        ""
    };
    let mut notes = match (c.status, &c.handling, unit) {
        (ComplaintStatus::Received, _, _) if c.draft.location.is_none() => {
            "received; waiting for an operator to place it".to_string()
        }
        (ComplaintStatus::Received, _, _) => "received; waiting to be dispatched".to_string(),
        (ComplaintStatus::Dispatched, Some(h), Some(unit)) => format!(
            "dispatched to {unit}; to be accepted by {} and resolved by {}{overdue}",
            due(h.response_due),
            due(h.resolution_due)
        ),
        (ComplaintStatus::InProgress, Some(h), Some(unit)) => format!(
            "accepted by {unit}; to be resolved by {}{overdue}",
            due(h.resolution_due)
        ),
        (ComplaintStatus::Resolved, _, Some(unit)) => {
            return match &c.resolution {
                Some(r) => format!("resolved by {unit}: {r}; waiting for the call-back"),
                None => format!("resolved by {unit}; waiting for the call-back"),
            };
        }
        (status, _, _) => status.as_str().replace('_', " "),
    };
    if let Some(r) = &c.resolution {
        notes.push_str(&format!(": {r}"));
    }
    notes
}

fn request_json(c: &Complaint, units: &ResponsibleUnits) -> Value {
    let d = &c.draft;
    let notes = status_notes(c, units);
    let agency = match &c.handling {
        Some(h) => Some(
            units
                .unit(&h.unit)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| h.unit.to_string()),
        ),
        None => d.district.map(|x| format!("{} district", x.as_str())),
    };
    json!({
        "service_request_id": c.id.0.to_string(),
        "status": status_of(c.status),
        "status_notes": notes,
        "service_name": d.category.title(),
        "service_code": d.category.as_str(),
        "description": d.description,
        "agency_responsible": agency,
        "service_notice": Value::Null,
        "requested_datetime": w3c(d.reported_at),
        "updated_datetime": w3c(c.updated_at),
        "expected_datetime": Value::Null,
        "address": d.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": d.location.map(|l| l.1),
        "long": d.location.map(|l| l.0),
        "media_url": Value::Null,
    })
}

/// Parameters with empty values dropped, as the spec asks; a name given
/// twice is refused.
fn present(
    format: ReportFormat,
    params: Vec<(String, String)>,
) -> Result<BTreeMap<String, String>, Open311Error> {
    super::extract::distinct_params(params).map_err(|e| Open311Error::bad(format, e))
}

#[utoipa::path(get, path = "/open311/v2/{resource}", tag = "Open311 GeoReport v2",
    params(("resource" = String, Path, description = "discovery, services or requests, with .json or .xml"),
        ("service_request_id" = Option<String>, Query, description = "requests: ids, comma-separated"), ("service_code" = Option<String>, Query, description = "requests: service codes"),
        ("start_date" = Option<String>, Query, description = "requests: W3C datetime"), ("end_date" = Option<String>, Query, description = "requests: W3C datetime"),
        ("status" = Option<String>, Query, description = "requests: open or closed"), ("page" = Option<u32>, Query, description = "requests: page"), ("page_size" = Option<u32>, Query, description = "requests: page size")),
    responses((status = 200, description = "The document, in JSON or XML"), (status = 400, description = "Bad request: [{code, description}]"), (status = 404, description = "Unknown resource")))]
async fn collection(
    State(state): State<ApiState>,
    Path(resource): Path<String>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Open311Error> {
    let (name, format) = split_format(&resource)?;
    let Query(params) = params.map_err(|e| Open311Error::bad(format, e.body_text()))?;
    let params = present(format, params)?;
    match name {
        "discovery" => Ok(discovery(format)),
        "services" => {
            let items: Vec<Value> = Category::ALL.iter().map(|c| service_json(*c)).collect();
            Ok(list_response(
                format,
                StatusCode::OK,
                "services",
                "service",
                &items,
            ))
        }
        "requests" => requests(&state, format, &params).await,
        other => Err(Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("no resource {other:?}"),
        )),
    }
}

fn discovery(format: ReportFormat) -> Response {
    let changeset = "2026-11-28T00:00:00Z";
    match format {
        ReportFormat::Json => axum::Json(json!({
            "changeset": changeset,
            "contact": "Beijing 12345 citizen service hotline",
            "key_service": "API keys are operator tokens, from `hutong token create --role operator`",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": "/open311/v2",
                "changeset": changeset, "type": "production", "formats": ["application/json", "text/xml"]}],
        }))
        .into_response(),
        ReportFormat::Xml => {
            let mut x = Xml::new();
            x.open("discovery")
                .text("changeset", changeset)
                .text("contact", "Beijing 12345 citizen service hotline")
                .text("key_service", "API keys are operator tokens, from `hutong token create --role operator`")
                .open("endpoints")
                .open("endpoint")
                .text("specification", "http://wiki.open311.org/GeoReport_v2")
                .text("url", "/open311/v2")
                .text("changeset", changeset)
                .text("type", "production")
                .open("formats")
                .text("format", "application/json")
                .text("format", "text/xml")
                .close("formats")
                .close("endpoint")
                .close("endpoints")
                .close("discovery");
            xml_response(StatusCode::OK, x.finish())
        }
    }
}

#[utoipa::path(get, path = "/open311/v2/services/{code}", tag = "Open311 GeoReport v2",
    params(("code" = String, Path, description = "Service code with .json or .xml")),
    responses((status = 200, description = "The service's attribute definitions"), (status = 400, description = "Bad request: [{code, description}]"), (status = 404, description = "Unknown resource")))]
async fn service_definition(Path(code): Path<String>) -> Result<Response, Open311Error> {
    let (code, format) = split_format(&code)?;
    let category = code.parse::<Category>().map_err(|_| {
        Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("no service {code:?}"),
        )
    })?;
    let values = [
        ("wgs84", "WGS 84 (GPS)"),
        ("gcj02", "GCJ-02 (AMap, Tencent, WeChat)"),
        ("bd09", "BD-09 (Baidu)"),
    ];
    let description = "Coordinate system of lat and long; WeChat and AMap send gcj02";
    match format {
        ReportFormat::Json => Ok(axum::Json(json!({
            "service_code": category.as_str(),
            "attributes": [{"variable": true, "code": "coord_sys", "datatype": "singlevaluelist", "required": false,
                "datatype_description": "wgs84 unless given", "order": 1, "description": description,
                "values": values.iter().map(|(k, n)| json!({"key": k, "name": n})).collect::<Vec<_>>()}],
        }))
        .into_response()),
        ReportFormat::Xml => {
            let mut x = Xml::new();
            x.open("service_definition").text("service_code", category.as_str()).open("attributes").open("attribute");
            x.text("variable", "true").text("code", "coord_sys").text("datatype", "singlevaluelist");
            x.text("required", "false").text("datatype_description", "wgs84 unless given").text("order", "1");
            x.text("description", description).open("values");
            for (key, name) in values {
                x.open("value").text("key", key).text("name", name).close("value");
            }
            x.close("values").close("attribute").close("attributes").close("service_definition");
            Ok(xml_response(StatusCode::OK, x.finish()))
        }
    }
}

fn parse_time(
    format: ReportFormat,
    params: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<OffsetDateTime>, Open311Error> {
    params
        .get(key)
        .map(|t| {
            crate::domain::parse_utc(t.trim()).ok_or_else(|| {
                Open311Error::bad(
                    format,
                    format!(
                        "{key} must be a W3C datetime with a time zone in the years 1-9999, got {t:?}"
                    ),
                )
            })
        })
        .transpose()
}

fn parse_count(
    format: ReportFormat,
    params: &BTreeMap<String, String>,
    key: &str,
    default: u32,
    max: u32,
) -> Result<u32, Open311Error> {
    match params.get(key) {
        None => Ok(default),
        Some(t) => match t.trim().parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(Open311Error::bad(
                format,
                format!("{key} must be a whole number from 1 to {max}, got {t:?}"),
            )),
        },
    }
}

async fn requests(
    state: &ApiState,
    format: ReportFormat,
    params: &BTreeMap<String, String>,
) -> Result<Response, Open311Error> {
    let page_size = parse_count(
        format,
        params,
        "page_size",
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
    )?;
    let page = parse_count(format, params, "page", 1, u32::MAX)?;
    if let Some(ids) = params.get("service_request_id") {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.len() > MAX_PAGE_SIZE as usize {
            return Err(Open311Error::bad(
                format,
                format!(
                    "at most {MAX_PAGE_SIZE} service_request_ids may be asked at once, got {}",
                    ids.len()
                ),
            ));
        }
        let skip =
            usize::try_from(u64::from(page - 1) * u64::from(page_size)).unwrap_or(usize::MAX);
        let wanted = ids
            .into_iter()
            .skip(skip)
            .take(page_size as usize)
            .map(|id| {
                id.parse::<ComplaintId>().map_err(|_| {
                    Open311Error::bad(
                        format,
                        format!("service_request_id {id:?} is not a request id"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // One read for all of them, answered in the order asked.
        let found = state
            .complaints
            .page(&ComplaintFilter {
                limit: page_size,
                ids: wanted.clone(),
                ..ComplaintFilter::default()
            })
            .await
            .map_err(|e| from_complaint_error(format, e))?;
        let found: HashMap<ComplaintId, &Complaint> = found.iter().map(|c| (c.id, c)).collect();
        let items: Vec<Value> = wanted
            .iter()
            .filter_map(|id| found.get(id))
            .map(|c| request_json(c, &state.complaints.hotline().units))
            .collect();
        return Ok(list_response(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            &items,
        ));
    }
    let categories = params
        .get("service_code")
        .map(|codes| {
            codes
                .split(',')
                .map(|c| {
                    c.trim().parse::<Category>().map_err(|_| {
                        Open311Error::bad(format, format!("unknown service_code {c:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let mut statuses = Vec::new();
    if let Some(list) = params.get("status") {
        for s in list.split(',').map(str::trim) {
            let open = match s {
                "open" => true,
                "closed" => false,
                other => {
                    return Err(Open311Error::bad(
                        format,
                        format!("status must be open or closed, got {other:?}"),
                    ));
                }
            };
            statuses.extend(
                ComplaintStatus::ALL
                    .iter()
                    .copied()
                    .filter(|x| x.is_open() == open),
            );
        }
    }
    let mut from = parse_time(format, params, "start_date")?;
    let to = parse_time(format, params, "end_date")?;
    if from.is_none() && to.is_none() {
        from = Some(OffsetDateTime::now_utc() - time::Duration::days(DEFAULT_WINDOW_DAYS));
    }
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Open311Error::bad(
                format,
                "start_date is later than end_date",
            ));
        }
    }
    let offset = u64::from(page - 1) * u64::from(page_size);
    let filter = ComplaintFilter {
        categories,
        statuses,
        reported_from: from,
        reported_to: to,
        limit: page_size,
        offset,
        ..ComplaintFilter::default()
    };
    let complaints = state
        .complaints
        .page(&filter)
        .await
        .map_err(|e| from_complaint_error(format, e))?;
    let units = &state.complaints.hotline().units;
    let items: Vec<Value> = complaints.iter().map(|c| request_json(c, units)).collect();
    Ok(list_response(
        format,
        StatusCode::OK,
        "service_requests",
        "request",
        &items,
    ))
}

#[utoipa::path(get, path = "/open311/v2/requests/{id}", tag = "Open311 GeoReport v2",
    params(("id" = String, Path, description = "Request id with .json or .xml")),
    responses((status = 200, description = "The request"), (status = 400, description = "Bad request: [{code, description}]"), (status = 404, description = "Unknown resource")))]
async fn request(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, Open311Error> {
    let (id, format) = split_format(&id)?;
    let id = id.parse::<ComplaintId>().map_err(|_| {
        Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("no service request {id:?}"),
        )
    })?;
    let complaint = state
        .complaints
        .get(id)
        .await
        .map_err(|e| from_complaint_error(format, e))?;
    Ok(list_response(
        format,
        StatusCode::OK,
        "service_requests",
        "request",
        &[request_json(&complaint, &state.complaints.hotline().units)],
    ))
}

#[utoipa::path(get, path = "/open311/v2/tokens/{token}", tag = "Open311 GeoReport v2",
    params(("token" = String, Path, description = "Token with .json or .xml")),
    responses((status = 200, description = "The request id for the token"), (status = 400, description = "Bad request: [{code, description}]"), (status = 404, description = "Unknown resource")))]
async fn token(
    State(state): State<ApiState>,
    Path(token): Path<String>,
) -> Result<Response, Open311Error> {
    let (token, format) = split_format(&token)?;
    let not_found = || {
        Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("no request for token {token:?}"),
        )
    };
    let case = CaseNumber::parse(token).map_err(|_| not_found())?;
    let filter = ComplaintFilter {
        case_number: Some(case),
        limit: 1,
        ..ComplaintFilter::default()
    };
    let (found, _) = state
        .complaints
        .list(&filter)
        .await
        .map_err(|e| from_complaint_error(format, e))?;
    let complaint = found.first().ok_or_else(not_found)?;
    let item = json!({"service_request_id": complaint.id.0.to_string(), "token": token});
    Ok(list_response(
        format,
        StatusCode::OK,
        "service_requests",
        "request",
        &[item],
    ))
}

/// The form fields GeoReport v2 defines for POST requests.
const KNOWN_FIELDS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

#[utoipa::path(post, path = "/open311/v2/{resource}", tag = "Open311 GeoReport v2",
    params(("resource" = String, Path, description = "requests.json or requests.xml")),
    request_body(content = Object, description = "Form fields: api_key (an operator token), service_code, lat/long or address_string, description, ...", content_type = "application/x-www-form-urlencoded"),
    responses((status = 201, description = "[{service_request_id}, token]: stored; every POST is a new case"), (status = 400, description = "Bad request: [{code, description}]"), (status = 404, description = "Unknown resource"), (status = 403, description = "Bad api_key")))]
async fn create(
    State(state): State<ApiState>,
    Path(resource): Path<String>,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, Open311Error> {
    let (name, format) = split_format(&resource)?;
    let Form(fields) = fields.map_err(|e| {
        let status = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        Open311Error::new(
            format,
            status,
            format!(
                "send application/x-www-form-urlencoded fields: {}",
                e.body_text()
            ),
        )
    })?;
    if name != "requests" {
        return Err(Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("cannot POST to {name:?}"),
        ));
    }
    let mut form: HashMap<String, String> = HashMap::new();
    let mut attributes: HashMap<String, String> = HashMap::new();
    for (key, value) in present(format, fields)? {
        if let Some(code) = key
            .strip_prefix("attribute[")
            .and_then(|k| k.strip_suffix(']'))
        {
            attributes.insert(code.to_string(), value);
        } else if KNOWN_FIELDS.contains(&key.as_str()) {
            form.insert(key, value);
        } else {
            return Err(Open311Error::bad(format, format!("unknown field {key:?}")));
        }
    }
    // The key first: a bad key is a 403 whatever else is wrong.
    let key = form
        .get("api_key")
        .ok_or_else(|| Open311Error::new(format, StatusCode::FORBIDDEN, "api_key is required"))?;
    let principal = state
        .tokens
        .authenticate(key)
        .await
        .map_err(|e| from_store_failure(format, e))?
        .ok_or_else(|| Open311Error::new(format, StatusCode::FORBIDDEN, "api_key is not valid"))?;
    let category = form
        .get("service_code")
        .ok_or_else(|| Open311Error::bad(format, "service_code is required"))?
        .parse::<Category>()
        .map_err(|_| Open311Error::new(format, StatusCode::NOT_FOUND, "unknown service_code"))?;
    // GeoReport v2: lat and long, or an address_string (located by the
    // gazetteer, else stored unlocated for an operator to place).
    let number = |k: &str| -> Result<Option<f64>, Open311Error> {
        form.get(k)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| Open311Error::bad(format, format!("{k} is not a number")))
            })
            .transpose()
    };
    let geometry = match (number("lat")?, number("long")?) {
        (Some(lat), Some(lon)) => json!({"type": "Point", "coordinates": [lon, lat]}),
        (None, None) if form.contains_key("address_string") => Value::Null,
        (None, None) => {
            return Err(Open311Error::bad(
                format,
                "lat and long, or address_string, are required",
            ));
        }
        _ => return Err(Open311Error::bad(format, "lat and long go together")),
    };
    for code in attributes.keys() {
        if code != "coord_sys" {
            return Err(Open311Error::bad(
                format,
                format!("unknown attribute {code:?}"),
            ));
        }
    }
    let coord_sys = attributes
        .get("coord_sys")
        .map(|s| s.parse::<CoordSys>())
        .transpose()
        .map_err(|e| Open311Error::bad(format, e))?
        .unwrap_or_default();
    let description = form
        .get("description")
        .cloned()
        .unwrap_or_else(|| category.title().to_string());
    let name = [form.get("first_name"), form.get("last_name")]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // The same service as the native API: it checks the role, the
    // district, every text (lengths, characters, phone), and numbers the
    // case.
    let feature = json!({"type": "Feature", "geometry": geometry,
        "properties": {"channel": "open311", "category": category.as_str(),
            "description": description, "address": form.get("address_string"), "coord_sys": coord_sys.as_str(),
            "caller_name": (!name.is_empty()).then_some(name), "caller_phone": form.get("phone")}});
    let intake = state
        .complaints
        .submit(&principal, &feature, CaseNumbers::Mint("OPEN311"))
        .await
        .map_err(|e| from_complaint_error(format, e))?;
    let case = intake.complaint.draft.case_number.as_str().to_string();
    let complaint = &intake.complaint;
    let item = json!({"service_request_id": complaint.id.0.to_string(), "token": case,
        "service_notice": "Received by the 12345 hotline", "account_id": Value::Null});
    Ok(list_response(
        format,
        StatusCode::CREATED,
        "service_requests",
        "request",
        &[item],
    ))
}
