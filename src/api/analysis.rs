//! Analyses over HTTP: coverage by walking distance (what is not served,
//! as GeoJSON with totals), and the catchment of one facility (the
//! residents within 5, 10 and 15 minutes' walk).

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
    OpenApiRouter::new()
        .routes(routes!(coverage))
        .routes(routes!(catchment))
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
    params(("kind" = String, Query, description = "lights (dark stretches of lanes), chargers (courtyards beyond the walking reach of every working charger), drainage (drains due for repair), facilities (courtyards outside the life circle of a facility type, by walking distance)"),
        ("district" = Option<String>, Query, description = "Within a district"), ("street" = Option<String>, Query, description = "Within a street (its code)"),
        ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat"),
        ("f" = Option<String>, Query, description = "geojson (default) or csv (one row a feature; the totals in the Hutong-Totals header as JSON)")),
    responses((status = 200, description = "What is not served, as features, with totals (metres unlit and the share lit; households unserved, those a straight line would count as served, the share served; drains due; residents, and per facility type its circle, facilities and residents outside it); or the table (f=csv)", content((Object = "application/geo+json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter (problem+json)"), (status = 422, description = "No scope, a scope too large, or more work than the scan budget"),
        (status = 503, description = "Every scan slot stayed busy")))]
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
        return super::csv_export::features_with_totals(
            &answer.features,
            &answer.totals,
            &format!("coverage-{}.csv", answer.kind),
        );
    }
    Ok(geojson_response(StatusCode::OK, answer.to_geojson()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatchmentParams {
    f: Option<String>,
    facility: Option<String>,
}

#[utoipa::path(get, path = "/v1/analysis/catchment", tag = "Plans",
    params(("facility" = i64, Query, description = "The facility's asset id"),
        ("f" = Option<String>, Query, description = "geojson (default) or csv (one row a courtyard reached; the bands in the Hutong-Totals header as JSON)")),
    responses((status = 200, description = "The residents within 5, 10 and 15 minutes' walk along the lanes (bands, each holding the nearer), and the courtyards reached, nearest first, with their walk", content((Object = "application/geo+json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter (problem+json)"), (status = 422, description = "No such facility, an asset of another kind, or more work than the scan budget"),
        (status = 503, description = "Every scan slot stayed busy")))]
async fn catchment(
    State(state): State<ApiState>,
    QueryParams(params): QueryParams<CatchmentParams>,
) -> Result<Response, ApiError> {
    let id: i64 = non_empty(&params.facility)
        .ok_or_else(|| ApiError::bad_request("facility is required: the facility's asset id"))?
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::bad_request("facility must be an asset id (a whole number above 0)")
        })?;
    let csv = super::csv_export::wants_csv(&params.f)?;
    let answer = state.planning.catchment(id).await?;
    if csv {
        return super::csv_export::features_with_totals(
            &answer.features,
            &answer.bands,
            &format!("catchment-{id}.csv"),
        );
    }
    Ok(geojson_response(StatusCode::OK, answer.to_geojson()))
}
