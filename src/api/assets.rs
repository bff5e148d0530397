//! `/v1/assets`: the native asset API.

use super::auth::AssetEditor;
use super::extract::{IfMatch, JsonBody, QueryParams, comma_list, non_empty};
use super::feature::{feature, geojson_response};
use super::{ApiError, ApiState};
use crate::domain::{AssetId, AssetKind};
use crate::registry::{AssetFilter, AssetView};
use crate::spatial::{LonLatBox, NearbyQuery};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use geo::Point;
use serde::Deserialize;
use serde_json::{Value, json};

/// Largest page of `GET /v1/assets`.
pub const MAX_LIST_LIMIT: u32 = 10_000;
const DEFAULT_LIST_LIMIT: u32 = 100;
/// Largest `limit` of a nearby query.
pub const MAX_NEARBY_LIMIT: u32 = 1_000;
const DEFAULT_NEARBY_LIMIT: u32 = 10;
/// Largest search radius, metres: a district is smaller than this.
pub const MAX_RADIUS_M: f64 = 100_000.0;

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/assets", get(list).post(create))
        .route("/v1/assets/nearby", get(nearby))
        .route(
            "/v1/assets/{id}",
            get(fetch).put(replace).patch(patch).delete(remove),
        )
}

const GEOJSON: &str = "application/geo+json";

fn feature_response(status: StatusCode, view: &AssetView) -> Response {
    let mut response = geojson_response(status, feature(view, None));
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&view.asset.version.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/assets/{}", view.asset.id)) {
            headers.insert(header::LOCATION, location);
        }
    }
    response
}

fn parse_id(text: &str) -> Result<AssetId, ApiError> {
    text.parse::<AssetId>().map_err(ApiError::bad_request)
}

#[tracing::instrument(skip_all, fields(token = editor.0.token_id))]
async fn create(
    State(state): State<ApiState>,
    editor: AssetEditor,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let view = state.registry.create(&editor.0, &body).await?;
    Ok(feature_response(StatusCode::CREATED, &view))
}

async fn fetch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = state.registry.get(parse_id(&id)?).await?;
    Ok(feature_response(StatusCode::OK, &view))
}

#[tracing::instrument(skip_all, fields(token = editor.0.token_id, id = %id))]
async fn replace(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    editor: AssetEditor,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let view = state
        .registry
        .replace(&editor.0, parse_id(&id)?, &precondition, &body)
        .await?;
    Ok(feature_response(StatusCode::OK, &view))
}

#[tracing::instrument(skip_all, fields(token = editor.0.token_id, id = %id))]
async fn patch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    editor: AssetEditor,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let view = state
        .registry
        .patch(&editor.0, parse_id(&id)?, &precondition, &body)
        .await?;
    Ok(feature_response(StatusCode::OK, &view))
}

#[tracing::instrument(skip_all, fields(token = editor.0.token_id, id = %id))]
async fn remove(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    editor: AssetEditor,
    IfMatch(precondition): IfMatch,
) -> Result<StatusCode, ApiError> {
    state
        .registry
        .delete(&editor.0, parse_id(&id)?, &precondition)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    kind: Option<String>,
    bbox: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let kinds = comma_list::<AssetKind>(non_empty(&params.kind), "kind")?;
    let bbox = non_empty(&params.bbox)
        .map(|b| LonLatBox::parse(b).map_err(ApiError::bad_request))
        .transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}"
        )));
    }
    let offset = params.offset.unwrap_or(0);
    let filter = AssetFilter {
        kinds,
        bbox,
        limit,
        offset,
    };
    let page = state.registry.list(&filter).await?;
    let features: Vec<Value> = page.assets.iter().map(|v| feature(v, None)).collect();
    let returned = features.len() as u64;

    let link = |offset: u64| {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(kind) = non_empty(&params.kind) {
            pairs.push(("kind", kind.to_string()));
        }
        if let Some(bbox) = non_empty(&params.bbox) {
            pairs.push(("bbox", bbox.to_string()));
        }
        pairs.push(("limit", limit.to_string()));
        pairs.push(("offset", offset.to_string()));
        format!(
            "/v1/assets?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let mut links = vec![json!({"rel": "self", "type": GEOJSON, "href": link(offset)})];
    if offset + returned < page.number_matched {
        links.push(json!({"rel": "next", "type": GEOJSON, "href": link(offset + returned)}));
    }
    if offset > 0 {
        links.push(json!({"rel": "prev", "type": GEOJSON, "href": link(offset.saturating_sub(u64::from(limit)))}));
    }
    Ok(geojson_response(
        StatusCode::OK,
        json!({
            "type": "FeatureCollection",
            "numberMatched": page.number_matched,
            "numberReturned": returned,
            "features": features,
            "links": links,
        }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NearbyParams {
    lon: Option<f64>,
    lat: Option<f64>,
    radius_m: Option<f64>,
    kind: Option<String>,
    limit: Option<u32>,
}

async fn nearby(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<NearbyParams>,
) -> Result<Response, ApiError> {
    let lon = params
        .lon
        .ok_or_else(|| ApiError::bad_request("lon is required"))?;
    let lat = params
        .lat
        .ok_or_else(|| ApiError::bad_request("lat is required"))?;
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
    if let Some(r) = params.radius_m {
        if !r.is_finite() || r <= 0.0 || r > MAX_RADIUS_M {
            return Err(ApiError::bad_request(format!(
                "radius_m must be greater than 0 and at most {MAX_RADIUS_M}, got {r}"
            )));
        }
    }
    let limit = params.limit.unwrap_or(DEFAULT_NEARBY_LIMIT);
    if !(1..=MAX_NEARBY_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_NEARBY_LIMIT}, got {limit}"
        )));
    }
    let query = NearbyQuery {
        point: Point::new(lon, lat),
        kinds: comma_list::<AssetKind>(non_empty(&params.kind), "kind")?,
        radius_m: params.radius_m,
        limit: limit as usize,
    };
    let hits = state.registry.nearby(&query).await?;
    let features: Vec<Value> = hits
        .iter()
        .map(|(view, d)| feature(view, Some(*d)))
        .collect();
    Ok(geojson_response(
        StatusCode::OK,
        json!({
            "type": "FeatureCollection",
            "numberReturned": features.len(),
            "features": features,
        }),
    ))
}
