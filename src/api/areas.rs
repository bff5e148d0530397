//! `/v1/areas`: the administrative areas (public, as the map is), and the
//! areas a point lies in.

use super::extract::{QueryParams, non_empty};
use super::feature::geojson_response;
use super::{ApiError, ApiState};
use crate::domain::AreaLevel;
use crate::services::areas::area_feature;
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
}

#[utoipa::path(get, path = "/v1/areas", tag = "Areas",
    params(("level" = Option<String>, Query, description = "district, street or community (default: all)")),
    responses((status = 200, description = "The areas as GeoJSON Features (MultiPolygon), with level, code, names, parent and whether the boundary is approximate", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter (problem+json)")))]
async fn list(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let level = non_empty(&params.level)
        .map(|l| l.parse::<AreaLevel>().map_err(ApiError::bad_request))
        .transpose()?;
    let index = state.complaints.hotline().areas.snapshot();
    let features: Vec<Value> = index
        .all()
        .iter()
        .filter(|a| level.is_none_or(|l| a.level == l))
        .map(area_feature)
        .collect();
    Ok(geojson_response(
        StatusCode::OK,
        json!({"type": "FeatureCollection", "numberReturned": features.len(), "features": features}),
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
