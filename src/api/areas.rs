//! `/v1/areas`: the administrative areas (public, as the map is), and the
//! areas a point lies in.

use super::extract::{QueryParams, non_empty};
use super::feature::geojson_response;
use super::{ApiError, ApiState};
use crate::domain::AreaLevel;
use crate::services::areas::{area_page_features, area_properties};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(at))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    level: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// Most areas a page holds: boundaries are large (a district's runs to
/// tens of thousands of vertices), so an answer is kept bounded.
pub const MAX_AREA_LIMIT: u32 = 100;

#[utoipa::path(get, path = "/v1/areas", tag = "Areas",
    params(("level" = Option<String>, Query, description = "district, street or community (default: all)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1-100 (default 20)"), ("offset" = Option<u32>, Query, description = "Areas to skip")),
    responses((status = 200, description = "The areas as GeoJSON Features (MultiPolygon), with level, code, names, parent and whether the boundary is approximate", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter (problem+json)")))]
async fn list(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let level = non_empty(&params.level)
        .map(|l| l.parse::<AreaLevel>().map_err(ApiError::bad_request))
        .transpose()?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=MAX_AREA_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_AREA_LIMIT}, got {limit}"
        )));
    }
    // Boundaries are large: rendering a page takes a turn at the gate
    // of costly reads, as the OGC area collections do.
    let _turn = state.features.scans().enter().await?;
    let index = state.complaints.hotline().areas.snapshot();
    let matching = || {
        index
            .all()
            .iter()
            .filter(|a| level.is_none_or(|l| a.level == l))
    };
    let features: Vec<Value> = area_page_features(
        matching()
            .skip(params.offset.unwrap_or(0) as usize)
            .take(limit as usize)
            .map(|a| (a, area_properties(a))),
    );
    Ok(geojson_response(
        StatusCode::OK,
        json!({"type": "FeatureCollection", "numberMatched": matching().count(),
               "numberReturned": features.len(), "features": features}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtParams {
    lon: Option<f64>,
    lat: Option<f64>,
}

#[utoipa::path(get, path = "/v1/areas/at", tag = "Areas",
    params(("lon" = f64, Query, description = "WGS 84 longitude"), ("lat" = f64, Query, description = "WGS 84 latitude")),
    responses((status = 200, description = "The codes of the district, street and community the point lies in (null where none)", body = Object),
        (status = 400, description = "Missing or out-of-range coordinates (problem+json)")))]
async fn at(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<AtParams>,
) -> Result<Json<Value>, ApiError> {
    let (Some(lon), Some(lat)) = (params.lon, params.lat) else {
        return Err(ApiError::bad_request("lon and lat are required"));
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_request(
            "lon must be within -180..180 and lat within -90..90",
        ));
    }
    Ok(Json(json!(
        state.complaints.hotline().areas.path_at((lon, lat))
    )))
}
