//! `/v1/assets`: the native asset API.

use super::auth::AssetEditor;
use super::extract::{IfMatch, JsonBody, QueryParams, comma_list, non_empty};
use super::feature::{feature_collection, feature_text, geojson_text_response};
use super::{ApiError, ApiState};
use crate::domain::AssetView;
use crate::domain::{AssetId, AssetKind};
use crate::services::asset_feature::{ServedAsset, nearby_collection_text};
use crate::services::registry::AssetFilter;
use crate::spatial::{LonLatBox, NearbyQuery};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use geo::Point;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest page of `GET /v1/assets`.
pub const MAX_LIST_LIMIT: u32 = 10_000;
const DEFAULT_LIST_LIMIT: u32 = 100;
/// Largest `limit` of a nearby query.
pub const MAX_NEARBY_LIMIT: u32 = 1_000;
const DEFAULT_NEARBY_LIMIT: u32 = 10;
/// Largest search radius, metres: a district is smaller than this.
pub const MAX_RADIUS_M: f64 = 100_000.0;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(nearby))
        .routes(routes!(fetch, replace, patch, remove))
}

const GEOJSON: &str = "application/geo+json";

fn feature_response(status: StatusCode, view: &AssetView) -> Response {
    let mut response = geojson_text_response(status, feature_text(view, None));
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

#[utoipa::path(post, path = "/v1/assets", tag = "Assets", security(("bearer" = [])),
    request_body(content = Object, description = "A GeoJSON Feature with properties.kind", content_type = "application/geo+json"),
    responses((status = 201, description = "Created; Location and ETag headers", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"),
        (status = 413, description = "Body over 8 MiB"), (status = 415, description = "Not JSON"), (status = 422, description = "Invalid feature, with a JSON Pointer per error")))]
#[tracing::instrument(skip_all, fields(token = editor.0.token_id))]
async fn create(
    State(state): State<ApiState>,
    editor: AssetEditor,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let view = state.registry.create(&editor.0, &body).await?;
    Ok(feature_response(StatusCode::CREATED, &view))
}

#[utoipa::path(get, path = "/v1/assets/{id}", tag = "Assets", params(("id" = String, Path, description = "Asset id")),
    responses((status = 200, description = "The asset, with its ETag", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 404, description = "No such asset")))]
async fn fetch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = state.registry.get(parse_id(&id)?).await?;
    Ok(feature_response(StatusCode::OK, &view))
}

#[utoipa::path(put, path = "/v1/assets/{id}", tag = "Assets", security(("bearer" = [])), params(("id" = String, Path, description = "Asset id"), ("If-Match" = Option<String>, Header, description = "ETag the asset must still have; a stale one gets 412")),
    request_body(content = Object, description = "The whole new Feature", content_type = "application/geo+json"),
    responses((status = 200, description = "Replaced", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such asset"),
        (status = 412, description = "Stale If-Match"), (status = 422, description = "Invalid feature")))]
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

#[utoipa::path(patch, path = "/v1/assets/{id}", tag = "Assets", security(("bearer" = [])), params(("id" = String, Path, description = "Asset id"), ("If-Match" = Option<String>, Header, description = "ETag the asset must still have; a stale one gets 412")),
    request_body(content = Object, description = "RFC 7386 merge patch of properties and/or a new geometry", content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such asset"),
        (status = 412, description = "Stale If-Match"), (status = 422, description = "Invalid result")))]
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

#[utoipa::path(delete, path = "/v1/assets/{id}", tag = "Assets", security(("bearer" = [])), params(("id" = String, Path, description = "Asset id"), ("If-Match" = Option<String>, Header, description = "ETag the asset must still have; a stale one gets 412")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "The token's role or district may not do this"), (status = 404, description = "No such asset"), (status = 412, description = "Stale If-Match")))]
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

#[utoipa::path(get, path = "/v1/assets", tag = "Assets",
    params(("kind" = Option<String>, Query, description = "Asset kinds, comma-separated"), ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"),
        ("limit" = Option<u32>, Query, description = "Page size, 1-10000 (default 100)"), ("offset" = Option<u64>, Query, description = "Assets to skip")),
    responses((status = 200, description = "A page of assets with numberMatched and next/prev links", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)")))]
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
    let (assets, number_matched) = state.registry.list(&filter).await?;
    let returned = assets.len() as u64;

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
    if offset.saturating_add(returned) < number_matched {
        links.push(
            json!({"rel": "next", "type": GEOJSON, "href": link(offset.saturating_add(returned))}),
        );
    }
    if offset > 0 {
        links.push(json!({"rel": "prev", "type": GEOJSON, "href": link(offset.saturating_sub(u64::from(limit)))}));
    }
    let head = json!({
        "type": "FeatureCollection",
        "numberMatched": number_matched,
        "numberReturned": returned,
        "links": links,
    });
    let features: Vec<&str> = assets.iter().map(ServedAsset::json).collect();
    Ok(geojson_text_response(
        StatusCode::OK,
        feature_collection(head.as_object().cloned().unwrap_or_default(), &features),
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

#[utoipa::path(get, path = "/v1/assets/nearby", tag = "Assets",
    params(("lon" = f64, Query, description = "Longitude, WGS 84"), ("lat" = f64, Query, description = "Latitude, WGS 84"),
        ("kind" = Option<String>, Query, description = "Asset kinds, comma-separated"), ("radius_m" = Option<f64>, Query, description = "Search radius in metres"),
        ("limit" = Option<u32>, Query, description = "Most results, 1-1000 (default 10)")),
    responses((status = 200, description = "Nearest first, each with properties.distance_m", body = Object, content_type = "application/geo+json"), (status = 400, description = "Bad parameter (problem+json)")))]
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
    let hits: Vec<_> = hits
        .iter()
        .map(|h| (&h.asset.asset, h.courtyard_id, h.distance_m))
        .collect();
    Ok(geojson_text_response(
        StatusCode::OK,
        nearby_collection_text(&hits),
    ))
}
