//! `GET /v1/geocode?q=`: the asset an address names, for operators
//! placing a phone case and crews finding a courtyard. Public, as every
//! asset read is.

use super::extract::QueryParams;
use super::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest address looked up, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(geocode))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeocodeParams {
    q: Option<String>,
}

#[utoipa::path(get, path = "/v1/geocode", tag = "Assets",
    params(("q" = String, Query, description = "An address as written or heard, in Chinese or English: 钟楼湾胡同90号, Zhonglouwan Hutong No. 90")),
    responses((status = 200, description = "What the address names: `found`, the `precision` reached (`house`: the courtyard; `way`: the lane), the asset's id and kind, a point on it, the way as matched and the edits forgiven; `found: false` and nulls when nothing matches", body = Object),
        (status = 400, description = "Missing, empty or too long q (problem+json)")))]
async fn geocode(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<GeocodeParams>,
) -> Result<Json<Value>, ApiError> {
    let q = params
        .q
        .ok_or_else(|| ApiError::bad_request("q is required: the address to look up"))?;
    let chars = q.chars().count();
    if q.trim().is_empty() || chars > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "q must hold an address of 1 to {MAX_QUERY_CHARS} characters, got {chars}"
        )));
    }
    let found = state.registry.geocode(&q);
    Ok(Json(match found {
        Some(place) => json!({
            "query": q,
            "found": true,
            "precision": place.matched.precision.as_str(),
            "asset_id": place.matched.asset_id.0,
            "kind": place.kind.as_str(),
            "point": {"type": "Point", "coordinates": [place.point.x(), place.point.y()]},
            "way": place.matched.way,
            "edits": place.matched.edits,
        }),
        None => json!({
            "query": q,
            "found": false,
            "precision": null,
            "asset_id": null,
            "kind": null,
            "point": null,
            "way": null,
            "edits": null,
        }),
    }))
}
