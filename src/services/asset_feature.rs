//! An asset as a GeoJSON Feature: the one rendering every surface uses
//! (native API, OGC API, exports, vector tiles), and the rendered form the
//! registry keeps of each asset it has served, so that reads of many
//! features cost no database round trip and no re-rendering.

use crate::domain::AssetView;
use crate::domain::utc_text;
use crate::spatial::vector_tile::{Tag, tags};
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

/// An asset as served: the view, its Feature as JSON text, and its
/// properties (for filters and vector tile tags).
#[derive(Debug)]
pub struct RenderedAsset {
    pub view: AssetView,
    pub json: Box<str>,
    pub properties: Map<String, Value>,
    /// The properties as vector tile tags, bookkeeping left out.
    pub tile_tags: Vec<Tag>,
}

/// Bookkeeping left out of vector tiles (a different value on every
/// feature, of no use for drawing): the items API has it.
pub const NOT_IN_TILES: &[&str] = &["created_at", "updated_at"];

impl RenderedAsset {
    pub fn new(view: AssetView) -> Self {
        let mut feature = feature(&view, None);
        let json = feature.to_string().into_boxed_str();
        let properties = match feature.get_mut("properties").map(Value::take) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let tile_tags = tags(
            properties
                .iter()
                .filter(|(k, _)| !NOT_IN_TILES.contains(&k.as_str())),
        );
        RenderedAsset {
            view,
            json,
            properties,
            tile_tags,
        }
    }
}
