//! Rendering of assets as GeoJSON Features.

use crate::domain::utc_text;
use crate::registry::AssetView;
use serde_json::{Map, Value, json};

/// The asset as a GeoJSON Feature with its id at the top level, its kind,
/// attributes, derived measures and bookkeeping in `properties`.
pub fn feature(view: &AssetView, distance_m: Option<f64>) -> Value {
    let asset = &view.asset;
    let mut properties = Map::new();
    properties.insert("kind".into(), Value::from(asset.kind().as_str()));
    properties.extend(asset.attributes.to_json());
    if let Some(area) = asset.derived.area_m2 {
        properties.insert("area_m2".into(), Value::from(area));
    }
    if let Some(length) = asset.derived.length_m {
        properties.insert("length_m".into(), Value::from(length));
    }
    if asset.kind() == crate::domain::AssetKind::Building {
        properties.insert(
            "courtyard_id".into(),
            view.courtyard_id
                .map(|c| Value::from(c.0))
                .unwrap_or(Value::Null),
        );
    }
    if let Some(d) = distance_m {
        properties.insert(
            "distance_m".into(),
            Value::from((d * 100.0).round() / 100.0),
        );
    }
    properties.insert("version".into(), Value::from(asset.version.0));
    properties.insert("created_at".into(), Value::from(utc_text(asset.created_at)));
    properties.insert("updated_at".into(), Value::from(utc_text(asset.updated_at)));
    let geometry = serde_json::to_value(geojson::Geometry::from(geojson::GeometryValue::from(
        &asset.geometry,
    )))
    .unwrap_or(Value::Null);
    json!({
        "type": "Feature",
        "id": asset.id.0,
        "geometry": geometry,
        "properties": properties,
    })
}

/// A GeoJSON body (`application/geo+json`) with this status.
pub fn geojson_response(status: axum::http::StatusCode, body: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/geo+json"),
    );
    response
}
