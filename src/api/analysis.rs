//! Analyses over HTTP: coverage by walking distance (what is not served,
//! as GeoJSON with totals).

use super::extract::{QueryParams, non_empty};
use super::feature::geojson_response;
use super::{ApiError, ApiState};
use crate::domain::{District, LonLatBox};
use crate::services::planning::{CoverageKind, CoverageScope};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(coverage))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageParams {
    f: Option<String>,
    kind: Option<String>,
    district: Option<String>,
    street: Option<String>,
    bbox: Option<String>,
}

#[utoipa::path(get, path = "/v1/analysis/coverage", tag = "Plans",
    params(("kind" = String, Query, description = "lights (dark stretches of lanes), chargers (courtyards beyond the walking reach of every working charger), drainage (drains due for repair); facilities: 422, not built yet"),
        ("district" = Option<String>, Query, description = "Within a district"), ("street" = Option<String>, Query, description = "Within a street (its code)"),
        ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"),
        ("f" = Option<String>, Query, description = "geojson (default) or csv (one row a feature; the totals in the Hutong-Totals header as JSON)")),
    responses((status = 200, description = "What is not served, as features, with totals (metres unlit and the share lit; households unserved, those a straight line would count as served, the share served; drains due); or the table (f=csv)", content((Object = "application/geo+json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter (problem+json)"), (status = 422, description = "No scope, a scope too large, or facilities (not built yet)")))]
async fn coverage(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<CoverageParams>,
) -> Result<Response, ApiError> {
    let kind: CoverageKind = non_empty(&params.kind)
        .ok_or_else(|| {
            ApiError::bad_request("kind is required: lights, chargers, drainage or facilities")
        })?
        .parse()
        .map_err(ApiError::bad_request)?;
    let scope = CoverageScope {
        bbox: non_empty(&params.bbox)
            .map(|b| LonLatBox::parse(b).map_err(|e| ApiError::bad_request(format!("bbox: {e}"))))
            .transpose()?,
        district: non_empty(&params.district)
            .map(|d| d.parse::<District>().map_err(ApiError::bad_request))
            .transpose()?,
        street: non_empty(&params.street)
            .map(|s| {
                if s.len() <= 64
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    Ok(s.to_string())
                } else {
                    Err(ApiError::bad_request("street must be a street's code"))
                }
            })
            .transpose()?,
    };
    let csv = super::csv_export::wants_csv(&params.f)?;
    let answer = state.planning.coverage(kind, &scope).await?;
    if csv {
        let mut response = super::csv_export::csv_response(
            super::csv_export::feature_rows(&answer.features),
            &format!("coverage-{}.csv", answer.kind),
        )?;
        if let Ok(totals) = serde_json::to_string(&answer.totals)
            .map_err(|e| e.to_string())
            .and_then(|t| axum::http::HeaderValue::from_str(&t).map_err(|e| e.to_string()))
        {
            response.headers_mut().insert("hutong-totals", totals);
        }
        return Ok(response);
    }
    Ok(geojson_response(StatusCode::OK, answer.to_geojson()))
}
