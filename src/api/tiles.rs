//! Live vector tiles: `/tiles/{z}/{x}/{y}.mvt` (Mapbox Vector Tiles, Web
//! Mercator quad grid) with one layer per collection, made from the
//! current data on every request, so an edit shows in the next tile. A
//! content hash is the ETag, and `Cache-Control: no-cache` makes caches
//! revalidate, so an unchanged tile costs a 304 and a changed one is
//! never served stale. `/tiles.json` is the TileJSON 3.0.0 description.

use super::auth::Requester;
use super::ogc::{Collection, OgcRequest};
use super::{ApiError, ApiState};
use crate::services::features::not_in_tiles;
use crate::spatial::LonLatBox;
use crate::spatial::vector_tile::{MAX_ZOOM, TileId};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::io::Write;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(tile))
        .routes(routes!(tilejson))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts.next() == Some("gzip") && !parts.any(|p| p == "q=0" || p == "q=0.0")
        })
}

#[utoipa::path(get, path = "/tiles/{z}/{x}/{y}", tag = "Vector tiles", operation_id = "getTile",
    params(("z" = u8, Path, description = "Zoom, 0-22"), ("x" = u32, Path, description = "Column"),
        ("y" = String, Path, description = "Row, followed by .mvt")),
    responses((status = 200, description = "A Mapbox Vector Tile: one layer per collection, gzip when accepted", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 401, description = "An unknown bearer token"), (status = 404, description = "No such tile")))]
pub async fn tile(
    State(state): State<ApiState>,
    Path((z, x, y)): Path<(String, String, String)>,
    Requester(viewer): Requester,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let missing = |detail: String| ApiError::NotFound { detail };
    let y = y.strip_suffix(".mvt").ok_or_else(|| {
        missing(format!(
            "tiles are at /tiles/{{z}}/{{x}}/{{y}}.mvt, not .../{y}"
        ))
    })?;
    let number = |text: &str, name: &str| {
        text.parse::<u32>()
            .map_err(|_| missing(format!("tile {name} {text:?} is not a whole number")))
    };
    let tile = TileId::new(number(&z, "z")?, number(&x, "x")?, number(y, "y")?).map_err(missing)?;
    let built = state.features.tile(tile, viewer.as_ref()).await?;
    let etag = format!("\"{}\"", crate::encoding::hex(&built.digest[..12]));
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let body = if fresh {
        TileBody::NotModified
    } else if accepts_gzip(&headers) {
        // Compressing a large tile takes milliseconds: off the async
        // workers, as the tile was built.
        let bytes = built.bytes;
        tokio::task::spawn_blocking(move || -> Result<TileBody, ApiError> {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder
                .write_all(&bytes)
                .map_err(|e| ApiError::Internal(format!("gzip: {e}")))?;
            let gzipped = encoder
                .finish()
                .map_err(|e| ApiError::Internal(format!("gzip: {e}")))?;
            Ok(TileBody::Gzipped(gzipped))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("gzip: {e}")))??
    } else {
        TileBody::Plain(built.bytes)
    };
    let mut response = match body {
        TileBody::NotModified => StatusCode::NOT_MODIFIED.into_response(),
        TileBody::Gzipped(gzipped) => {
            let mut response = gzipped.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        TileBody::Plain(bytes) => bytes.into_response(),
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
    );
    // A token's tile has its work orders: for it alone, never a shared
    // cache's.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if viewer.is_some() {
            "private, no-cache"
        } else {
            "no-cache"
        }),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Authorization"),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    Ok(response)
}

/// A tile's answer: unchanged (304), gzipped, or as built.
enum TileBody {
    NotModified,
    Gzipped(Vec<u8>),
    Plain(Vec<u8>),
}

#[utoipa::path(get, path = "/tiles.json", tag = "Vector tiles", operation_id = "getTileJson",
    responses((status = 200, description = "TileJSON 3.0.0 describing the tiles and their layers; the work-orders layer only to a token", body = Object), (status = 401, description = "An unknown bearer token")))]
pub async fn tilejson(
    State(state): State<ApiState>,
    Requester(viewer): Requester,
    request: OgcRequest,
) -> Result<Json<Value>, ApiError> {
    request.only(&[])?;
    let mut layers = Vec::new();
    let mut bounds: Option<LonLatBox> = None;
    for collection in Collection::ALL {
        if collection.needs_token() && viewer.is_none() {
            continue;
        }
        let fields: Map<String, Value> = super::ogc::queryable_properties(collection)
            .iter()
            .filter(|(name, _)| {
                *name != "geometry"
                    && *name != "id"
                    && !not_in_tiles(collection).contains(&name.as_str())
            })
            .map(|(name, schema)| {
                let kind = match schema["type"].as_str() {
                    Some("integer" | "number") => "Number",
                    Some("boolean") => "Boolean",
                    _ => "String",
                };
                (name.clone(), Value::from(kind))
            })
            .collect();
        layers.push(json!({
            "id": collection.id(),
            "description": collection.description(),
            "minzoom": collection.min_zoom(),
            "maxzoom": MAX_ZOOM,
            "fields": fields,
        }));
        if let Collection::Assets(kind) = collection {
            if let Some(extent) = state.registry.with_index(|index| index.extent(kind)) {
                bounds = Some(bounds.map_or(extent, |b: LonLatBox| b.union(extent)));
            }
        }
    }
    // Nothing yet: where the service works.
    let b = bounds.unwrap_or_else(|| state.registry.service_area());
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": "hutong",
        "description": "Assets and complaints of Beijing's old neighbourhoods, live.",
        "scheme": "xyz",
        "tiles": [request.url("/tiles/{z}/{x}/{y}.mvt", &[])],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [b.min_lon, b.min_lat, b.max_lon, b.max_lat],
        "center": [(b.min_lon + b.max_lon) / 2.0, (b.min_lat + b.max_lat) / 2.0, 15],
        "vector_layers": layers,
    })))
}
