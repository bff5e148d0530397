//! Designers' surveys over HTTP: recording one, an asset's history, one
//! survey, its photos, and importing a batch from GeoJSON or CSV with a
//! report of the rows refused.

use super::auth::Authenticated;
use super::extract::{JsonBody, QueryParams, content_type, positive_id};
use super::photo_form::{MAX_PHOTO_FORM_BYTES, PhotoForm, checked_photos};
use super::{ApiError, ApiState};
use crate::domain::{FieldError, ValidationError};
use crate::services::surveys::{ImportRow, MAX_IMPORT_ROWS, SurveyError, Surveys};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most surveys one history page lists.
pub const MAX_SURVEY_LIMIT: u32 = 500;

/// The CSV columns of an import: the survey's fields, one column per
/// element.
pub const CSV_COLUMNS: [&str; 13] = [
    "asset_id",
    "surveyed_at",
    "surveyor",
    "roof",
    "walls",
    "structure",
    "paving",
    "drainage",
    "lighting",
    "danger_grade",
    "floor_height_m",
    "lane_height_m",
    "notes",
];

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(import))
        .routes(routes!(one))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(photos))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_PHOTO_FORM_BYTES)),
        )
}

impl From<SurveyError> for ApiError {
    fn from(e: SurveyError) -> Self {
        match e {
            SurveyError::Invalid(v) => ApiError::Invalid(v),
            SurveyError::NotFound(_) => ApiError::NotFound {
                detail: e.to_string(),
            },
            SurveyError::Forbidden(detail) => ApiError::Forbidden { detail },
            SurveyError::WorkOrder(w) => w.into(),
            SurveyError::Store(s) => s.into(),
        }
    }
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    positive_id(text, "survey")
}

#[utoipa::path(post, path = "/v1/surveys", tag = "Surveys", security(("bearer" = [])),
    request_body(content = Object, description = "{\"asset_id\": a courtyard or building, \"conditions\": {roof|walls|structure|paving|drainage|lighting: 1-5}, \"danger_grade\": A-D (buildings, JGJ 125), \"floor_height_m\" and \"lane_height_m\" (courtyards), \"surveyed_at\", \"surveyor\", \"notes\"}", content_type = "application/json"),
    responses((status = 201, description = "Recorded: the asset's condition is the latest survey's worst element; a grade C or D or an element at 2 or worse opens a work order (work_order_id)", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a designer, planner or admin, or outside the token's district"), (status = 422, description = "Invalid survey")))]
async fn create(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let Value::Object(properties) = body else {
        return Err(ValidationError::single("", "must be a JSON object").into());
    };
    let draft = Surveys::draft_from(&principal, &properties)?;
    let recorded = state.surveys.record(&principal, draft).await?;
    let mut answer = json!(recorded.survey);
    answer["asset_condition"] = json!(recorded.asset_condition);
    if let Some(problem) = recorded.work_order_problem {
        answer["work_order_problem"] = json!(problem);
    }
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    asset_id: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/surveys", tag = "Surveys", security(("bearer" = [])),
    params(("asset_id" = i64, Query, description = "The surveyed asset"), ("limit" = Option<u32>, Query, description = "Most surveys, 1-500 (default 50)")),
    responses((status = 200, description = "The asset's surveys, latest first: its condition history", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a designer, planner or admin")))]
async fn list(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let asset_id = params
        .asset_id
        .filter(|id| *id >= 1)
        .ok_or_else(|| ApiError::bad_request("asset_id is required (an asset id)"))?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_SURVEY_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_SURVEY_LIMIT}, got {limit}"
        )));
    }
    let surveys = state.surveys.of_asset(&principal, asset_id, limit).await?;
    Ok(
        Json(json!({"asset_id": asset_id, "numberReturned": surveys.len(), "surveys": surveys}))
            .into_response(),
    )
}

#[utoipa::path(get, path = "/v1/surveys/{id}", tag = "Surveys", security(("bearer" = [])), params(("id" = String, Path, description = "Survey id")),
    responses((status = 200, description = "The survey", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a designer, planner or admin"), (status = 404, description = "No such survey")))]
async fn one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let survey = state.surveys.get(&principal, parse_id(&id)?).await?;
    Ok(Json(json!(survey)).into_response())
}

#[utoipa::path(post, path = "/v1/surveys/{id}/photos", tag = "Surveys", security(("bearer" = [])), params(("id" = String, Path, description = "Survey id")),
    request_body(content = Object, description = "multipart/form-data with up to 4 photo parts (JPEG, PNG or WebP by their bytes, at most 8 MiB each)", content_type = "multipart/form-data"),
    responses((status = 201, description = "The new photos' ids", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a designer, planner or admin"), (status = 404, description = "No such survey"),
        (status = 413, description = "A photo is too large"), (status = 415, description = "A photo is not a JPEG, PNG or WebP by its bytes"), (status = 422, description = "No photo")))]
async fn photos(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let form = PhotoForm::read(multipart, &[], "a survey's photos").await?;
    let photos = checked_photos(form.photos)?;
    let ids = state.surveys.add_photos(&principal, id, photos).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"survey_id": id, "photos": ids})),
    )
        .into_response())
}

/// An import body: a GeoJSON FeatureCollection (each Feature's properties
/// a survey) or CSV with [`CSV_COLUMNS`] as its header.
struct ImportBody(Vec<ImportRow>);

impl FromRequest<ApiState> for ImportBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        if content_type(&request).starts_with("text/csv") {
            let bytes =
                Bytes::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::Rejected {
                        status: e.status(),
                        detail: e.body_text(),
                    })?;
            return csv_rows(&bytes).map(ImportBody);
        }
        let JsonBody(body) = JsonBody::from_request(request, state).await?;
        if body["type"] != "FeatureCollection" {
            return Err(ValidationError::single(
                "/type",
                "must be FeatureCollection (or send text/csv)",
            )
            .into());
        }
        let features = body["features"].as_array().ok_or_else(|| {
            ApiError::Invalid(ValidationError::single("/features", "must be an array"))
        })?;
        if features.len() > MAX_IMPORT_ROWS {
            return Err(ValidationError::single(
                "/features",
                format!("an import takes at most {MAX_IMPORT_ROWS} rows"),
            )
            .into());
        }
        Ok(ImportBody(
            features
                .iter()
                .map(|f| match &f["properties"] {
                    Value::Object(p) if f["type"] == "Feature" => Ok(p.clone()),
                    _ => Err(ValidationError::single(
                        "/properties",
                        "a Feature with properties",
                    )),
                })
                .collect(),
        ))
    }
}

/// CSV rows as survey properties: numbers as numbers, empty cells absent.
fn csv_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::bad_request(format!("the CSV header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if let Some(unknown) = header.iter().find(|h| !CSV_COLUMNS.contains(&h.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown CSV column {:?}; the columns are {}",
            unknown.chars().take(64).collect::<String>(),
            CSV_COLUMNS.join(", ")
        )));
    }
    let elements = [
        "roof",
        "walls",
        "structure",
        "paving",
        "drainage",
        "lighting",
    ];
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() >= MAX_IMPORT_ROWS {
            return Err(ApiError::Invalid(ValidationError::single(
                "",
                format!("an import takes at most {MAX_IMPORT_ROWS} rows"),
            )));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push(Err(ValidationError::single(
                    "",
                    format!("unreadable row: {e}"),
                )));
                continue;
            }
        };
        if record.len() != header.len() {
            rows.push(Err(ValidationError::single(
                "",
                format!(
                    "has {} cells; the header has {}",
                    record.len(),
                    header.len()
                ),
            )));
            continue;
        }
        let mut p = Map::new();
        let mut conditions = Map::new();
        let mut errors: Vec<FieldError> = Vec::new();
        for (name, cell) in header.iter().zip(record.iter()) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let number = || {
                cell.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            };
            let value = match name.as_str() {
                "asset_id" => cell.parse::<i64>().ok().map(Value::from),
                "floor_height_m" | "lane_height_m" => number(),
                n if elements.contains(&n) => cell.parse::<i64>().ok().map(Value::from),
                _ => Some(Value::from(cell)),
            };
            let Some(value) = value else {
                let pointer = if elements.contains(&name.as_str()) {
                    format!("/conditions/{name}")
                } else {
                    format!("/{name}")
                };
                errors.push(FieldError::new(pointer, "is not a number"));
                continue;
            };
            if elements.contains(&name.as_str()) {
                conditions.insert(name.clone(), value);
            } else {
                p.insert(name.clone(), value);
            }
        }
        if !conditions.is_empty() {
            p.insert("conditions".into(), Value::Object(conditions));
        }
        rows.push(if errors.is_empty() {
            Ok(p)
        } else {
            Err(ValidationError { errors })
        });
    }
    Ok(rows)
}

#[utoipa::path(post, path = "/v1/surveys/import", tag = "Surveys", security(("bearer" = [])),
    request_body(content = Object, description = "A GeoJSON FeatureCollection whose Features' properties are surveys, or text/csv with the columns asset_id, surveyed_at, surveyor, roof, walls, structure, paving, drainage, lighting, danger_grade, floor_height_m, lane_height_m, notes. At most 2,000 rows.", content_type = "application/geo+json"),
    responses((status = 200, description = "A report: the rows recorded (with their survey and work order ids) and the rows refused with why; a refused row stores nothing", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not a designer, planner or admin"), (status = 422, description = "Not a FeatureCollection, or too many rows")))]
async fn import(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    ImportBody(rows): ImportBody,
) -> Result<Response, ApiError> {
    let report = state.surveys.import(&principal, rows).await?;
    Ok(Json(json!({
        "accepted": report.accepted.len(),
        "rejected": report.rejected.len(),
        "recorded": report.accepted,
        "refused": report.rejected,
    }))
    .into_response())
}
