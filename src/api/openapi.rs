//! `/openapi.json`: the OpenAPI 3.0 definition of every route, generated
//! from the handlers' `#[utoipa::path]` attributes (routes are registered
//! through `utoipa_axum::routes!`, which takes the path from the same
//! attribute, so the document cannot drift from the router).

use super::ogc::OPENAPI_JSON;
use crate::domain::LonLatBox;
use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hutong",
        description = "Geospatial service for the renovation of old city neighbourhoods: assets, citizen complaints and their links, as OGC API – Features, a native API and Open311 GeoReport v2."
    ),
    tags(
        (name = "OGC API - Features", description = "Collections of assets and complaints (Parts 1-4)"),
        (name = "Assets", description = "The native asset API"),
        (name = "Complaints", description = "12345 hotline intake, listing and lifecycle"),
        (name = "Open311 GeoReport v2", description = "Open311 for third-party clients"),
        (name = "Vector tiles", description = "Live Mapbox Vector Tiles and their TileJSON"),
        (name = "Service", description = "Health")
    )
)]
pub struct ApiDoc;

/// The definition as served. utoipa has no reusable parameter components,
/// so the `limit` of the items operations is moved into
/// `components.parameters.limit` (with `default` and `maximum`, which GDAL
/// and QGIS read to size their pages) and referenced from there; the
/// bearer security scheme is added the same way.
pub fn document(openapi: utoipa::openapi::OpenApi, service_area: LonLatBox) -> Value {
    let mut doc = serde_json::to_value(&openapi).unwrap_or_else(|_| json!({}));
    doc["openapi"] = json!("3.0.3");
    // OpenAPI 3.0's License Object has a name and a URL (utoipa writes
    // 3.1's SPDX `identifier`, which 3.0 validators refuse).
    doc["info"]["license"] = json!({
        "name": env!("CARGO_PKG_LICENSE"),
        "url": "https://www.apache.org/licenses/LICENSE-2.0",
    });
    let limit = json!({
        "name": "limit",
        "in": "query",
        "description": "Features per page. Larger values are clamped to the maximum.",
        "required": false,
        "style": "form",
        "explode": false,
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": super::ogc::MAX_LIMIT,
            "default": super::ogc::DEFAULT_LIMIT,
        },
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            if !path.starts_with("/collections/") || !path.ends_with("/items") {
                continue;
            }
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                for parameter in operation["parameters"].as_array_mut().into_iter().flatten() {
                    if parameter["name"] == "limit" && parameter["in"] == "query" {
                        *parameter = json!({"$ref": "#/components/parameters/limit"});
                    }
                }
            }
        }
    }
    if !doc["components"].is_object() {
        doc["components"] = json!({});
    }
    doc["components"]["parameters"] = json!({"limit": limit});
    if !doc["components"]["schemas"].is_object() {
        doc["components"]["schemas"] = json!({});
    }
    doc["components"]["schemas"]["Problem"] = super::openapi_rules::problem_schema();
    super::openapi_rules::refine(&mut doc, service_area);
    doc["components"]["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer", "description": "A hutong token (hut_…), from `hutong token create`"}
    });
    doc
}

/// The served document, made once at start-up.
#[derive(Clone)]
pub struct Definition(pub Arc<Value>);

#[utoipa::path(get, path = "/openapi.json", tag = "Service",
    responses((status = 200, description = "This OpenAPI 3.0 definition", body = Object, content_type = "application/vnd.oai.openapi+json;version=3.0")))]
pub async fn definition(Extension(definition): Extension<Definition>) -> Response {
    let mut response = axum::Json(definition.0.as_ref().clone()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENAPI_JSON));
    response
}
