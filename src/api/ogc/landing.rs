//! The landing page and the conformance declaration.

use super::html;
use super::request::{OgcRequest, Representation};
use crate::api::ApiError;
use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The conformance classes this service passes, and only those.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
];

/// The media type of the OpenAPI document, as OGC API requires it.
pub const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json;version=3.0";

#[utoipa::path(get, path = "/", tag = "OGC API - Features", operation_id = "getLandingPage",
    params(("f" = Option<String>, Query, description = "json (default) or html; without it, Accept decides")),
    responses((status = 200, description = "The landing page: links to the API definition, conformance and collections", body = Object), (status = 400, description = "Unknown query parameter")))]
pub async fn landing(request: OgcRequest) -> Result<Response, ApiError> {
    request.only(&[])?;
    let links = json!([
        {"rel": "self", "type": "application/json", "title": "This document", "href": request.url("/", &[])},
        {"rel": "alternate", "type": "text/html", "title": "This document as HTML", "href": request.url("/", &[("f", "html".into())])},
        {"rel": "service-desc", "type": OPENAPI_JSON, "title": "The API definition (OpenAPI 3.0)", "href": request.url("/openapi.json", &[])},
        {"rel": "conformance", "type": "application/json", "title": "Conformance classes", "href": request.url("/conformance", &[])},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance", "type": "application/json", "title": "Conformance classes", "href": request.url("/conformance", &[])},
        {"rel": "data", "type": "application/json", "title": "Feature collections", "href": request.url("/collections", &[])},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/data", "type": "application/json", "title": "Feature collections", "href": request.url("/collections", &[])},
    ]);
    let title = "hutong: old-city renovation map";
    let description = "Courtyards, buildings, lanes, drainage, lights, e-bike chargers and citizen complaints of Beijing's old neighbourhoods, as OGC API – Features.";
    Ok(match request.format {
        Representation::Json => {
            Json(json!({"title": title, "description": description, "links": links}))
                .into_response()
        }
        Representation::Html => html::page(
            title,
            &format!(
                "<p>{}</p>{}",
                html::escape(description),
                html::links(&links)
            ),
        ),
    })
}

#[utoipa::path(get, path = "/conformance", tag = "OGC API - Features", operation_id = "getConformanceDeclaration",
    params(("f" = Option<String>, Query, description = "json (default) or html; without it, Accept decides")),
    responses((status = 200, description = "The conformance classes this service passes", body = Object), (status = 400, description = "Unknown query parameter")))]
pub async fn conformance(request: OgcRequest) -> Result<Response, ApiError> {
    request.only(&[])?;
    Ok(match request.format {
        Representation::Json => Json(json!({"conformsTo": CONFORMANCE})).into_response(),
        Representation::Html => {
            let items: String = CONFORMANCE
                .iter()
                .map(|c| format!("<li><code>{}</code></li>", html::escape(c)))
                .collect();
            html::page("Conformance", &format!("<ul>{items}</ul>"))
        }
    })
}
