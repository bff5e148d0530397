//! An asset as a GeoJSON Feature: the one rendering every surface uses
//! (native API, OGC API, exports, vector tiles). It is written straight
//! from the asset in memory into the response text, with no JSON tree in
//! between, so that a page of a thousand features is cheap enough to
//! render on every read.

use crate::domain::{Asset, AssetId, AssetKind, AssetView, UtcText};
use crate::spatial::IndexedAsset;
use geo::{Coord, Geometry, LineString, Polygon};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

/// The asset as a GeoJSON Feature with its id at the top level, its kind,
/// attributes, derived measures and bookkeeping in `properties`.
pub fn feature(view: &AssetView, distance_m: Option<f64>) -> Value {
    serde_json::to_value(FeatureOut::of(view, distance_m)).unwrap_or(Value::Null)
}

/// [`feature`] as JSON text, written directly.
pub fn feature_text(view: &AssetView, distance_m: Option<f64>) -> String {
    feature_text_of(&view.asset, view.courtyard_id, distance_m)
}

/// [`feature_text`] of an asset and (for a building) its courtyard, as
/// the index holds them: no copy of the asset is made.
pub fn feature_text_of(
    asset: &Asset,
    courtyard_id: Option<AssetId>,
    distance_m: Option<f64>,
) -> String {
    let feature = FeatureOut {
        asset,
        courtyard_id,
        distance_m,
    };
    // Serializing plain numbers, strings and structs into a String cannot
    // fail; an empty object would be a bug, not a crash.
    serde_json::to_string(&feature).unwrap_or_else(|_| "{}".into())
}

/// A FeatureCollection of assets with their distances (nearest first, as
/// given), `{type, numberReturned, features}`, written as text in one
/// buffer.
pub fn nearby_collection_text(hits: &[(&Asset, Option<AssetId>, f64)]) -> String {
    struct Collection<'a>(&'a [(&'a Asset, Option<AssetId>, f64)]);
    impl Serialize for Collection<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(3))?;
            map.serialize_entry("type", "FeatureCollection")?;
            map.serialize_entry("numberReturned", &self.0.len())?;
            map.serialize_entry("features", &Features(self.0))?;
            map.end()
        }
    }
    struct Features<'a>(&'a [(&'a Asset, Option<AssetId>, f64)]);
    impl Serialize for Features<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for &(asset, courtyard_id, distance) in self.0 {
                seq.serialize_element(&FeatureOut {
                    asset,
                    courtyard_id,
                    distance_m: Some(distance),
                })?;
            }
            seq.end()
        }
    }
    let mut out = Vec::with_capacity(512 * hits.len() + 64);
    // As in `feature_text_of`: cannot fail, and written as UTF-8.
    match serde_json::to_writer(&mut out, &Collection(hits)) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => "{}".into(),
    }
}

/// The Feature's properties as a vector tile has them (written into the
/// tile's tags as they are serialized, bookkeeping left out by the tile).
pub fn tile_properties(asset: &Asset, courtyard_id: Option<AssetId>) -> impl Serialize + '_ {
    FeatureOut {
        asset,
        courtyard_id,
        distance_m: None,
    }
    .properties()
}

/// An asset as served: the asset as the index holds it (no copy) and,
/// for a building, its courtyard; its Feature text and its properties are
/// made when first asked for, so that a filter renders only what it keeps.
#[derive(Debug)]
pub struct ServedAsset {
    asset: Arc<IndexedAsset>,
    courtyard_id: Option<AssetId>,
    json: OnceLock<Box<str>>,
    properties: OnceLock<Map<String, Value>>,
}

/// Bookkeeping left out of vector tiles (a different value on every
/// feature, of no use for drawing): the items API has it.
pub const NOT_IN_TILES: &[&str] = &["created_at", "updated_at"];

impl ServedAsset {
    pub fn new(asset: Arc<IndexedAsset>, courtyard_id: Option<AssetId>) -> Self {
        ServedAsset {
            asset,
            courtyard_id,
            json: OnceLock::new(),
            properties: OnceLock::new(),
        }
    }

    pub fn asset(&self) -> &Asset {
        &self.asset.asset
    }

    fn out(&self) -> FeatureOut<'_> {
        FeatureOut {
            asset: &self.asset.asset,
            courtyard_id: self.courtyard_id,
            distance_m: None,
        }
    }

    /// The Feature as JSON text.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| {
            let out = self.out();
            feature_text_of(out.asset, out.courtyard_id, None).into_boxed_str()
        })
    }

    /// The Feature as a JSON value.
    pub fn feature(&self) -> Value {
        serde_json::to_value(self.out()).unwrap_or(Value::Null)
    }

    /// The Feature's properties, as filters and sorts see them.
    pub fn properties(&self) -> &Map<String, Value> {
        self.properties
            .get_or_init(|| match serde_json::to_value(self.out().properties()) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            })
    }
}

#[derive(Clone, Copy)]
struct FeatureOut<'a> {
    asset: &'a Asset,
    courtyard_id: Option<AssetId>,
    distance_m: Option<f64>,
}

impl<'a> FeatureOut<'a> {
    fn of(view: &'a AssetView, distance_m: Option<f64>) -> Self {
        Self {
            asset: &view.asset,
            courtyard_id: view.courtyard_id,
            distance_m,
        }
    }

    fn properties(self) -> PropertiesOut<'a> {
        PropertiesOut(self)
    }
}

impl Serialize for FeatureOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("type", "Feature")?;
        map.serialize_entry("id", &self.asset.id.0)?;
        map.serialize_entry("geometry", &GeometryOut(&self.asset.geometry))?;
        map.serialize_entry("properties", &self.properties())?;
        map.end()
    }
}

/// `properties`: the kind, the attributes, derived measures, the
/// building's courtyard, the distance asked about, and bookkeeping.
struct PropertiesOut<'a>(FeatureOut<'a>);

impl Serialize for PropertiesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Properties<'a> {
            kind: &'static str,
            #[serde(flatten)]
            attributes: &'a crate::domain::AssetAttributes,
            #[serde(skip_serializing_if = "Option::is_none")]
            area_m2: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            length_m: Option<f64>,
            /// Buildings only: their courtyard's id, or null.
            #[serde(skip_serializing_if = "Option::is_none")]
            courtyard_id: Option<Option<i64>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            distance_m: Option<f64>,
            version: i64,
            created_at: UtcText,
            updated_at: UtcText,
        }
        let asset = self.0.asset;
        Properties {
            kind: asset.kind().as_str(),
            attributes: &asset.attributes,
            area_m2: asset.derived.area_m2,
            length_m: asset.derived.length_m,
            courtyard_id: (asset.kind() == AssetKind::Building)
                .then(|| self.0.courtyard_id.map(|c| c.0)),
            distance_m: self.0.distance_m.map(|d| (d * 100.0).round() / 100.0),
            version: asset.version.0,
            created_at: UtcText(asset.created_at),
            updated_at: UtcText(asset.updated_at),
        }
        .serialize(s)
    }
}

/// A geometry as an RFC 7946 GeoJSON geometry object, written from the
/// `geo` types directly. (The geojson crate converts into its own tree of
/// vectors first, which costs an allocation per position.)
struct GeometryOut<'a>(&'a Geometry<f64>);

impl Serialize for GeometryOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        match self.0 {
            Geometry::Point(p) => {
                map.serialize_entry("type", "Point")?;
                map.serialize_entry("coordinates", &Position(p.0))?;
            }
            Geometry::MultiPoint(mp) => {
                map.serialize_entry("type", "MultiPoint")?;
                let positions: Vec<Position> = mp.iter().map(|p| Position(p.0)).collect();
                map.serialize_entry("coordinates", &positions)?;
            }
            Geometry::LineString(line) => {
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &Positions(line))?;
            }
            Geometry::MultiLineString(lines) => {
                map.serialize_entry("type", "MultiLineString")?;
                let lines: Vec<Positions> = lines.iter().map(Positions).collect();
                map.serialize_entry("coordinates", &lines)?;
            }
            Geometry::Polygon(polygon) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(polygon))?;
            }
            Geometry::MultiPolygon(polygons) => {
                map.serialize_entry("type", "MultiPolygon")?;
                let polygons: Vec<Rings> = polygons.iter().map(Rings).collect();
                map.serialize_entry("coordinates", &polygons)?;
            }
            Geometry::GeometryCollection(collection) => {
                map.serialize_entry("type", "GeometryCollection")?;
                let members: Vec<GeometryOut> = collection.iter().map(GeometryOut).collect();
                map.serialize_entry("geometries", &members)?;
            }
            // Never stored (input is GeoJSON), but written as GeoJSON has
            // them: a line as a LineString, the others as Polygons.
            Geometry::Line(line) => {
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &[Position(line.start), Position(line.end)])?;
            }
            Geometry::Rect(rect) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(&rect.to_polygon()))?;
            }
            Geometry::Triangle(triangle) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(&triangle.to_polygon()))?;
            }
        }
        map.end()
    }
}

struct Position(Coord<f64>);

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.0.x, self.0.y].serialize(s)
    }
}

struct Positions<'a>(&'a LineString<f64>);

impl Serialize for Positions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.0.len()))?;
        for c in &self.0.0 {
            seq.serialize_element(&Position(*c))?;
        }
        seq.end()
    }
}

struct Rings<'a>(&'a Polygon<f64>);

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(1 + self.0.interiors().len()))?;
        seq.serialize_element(&Positions(self.0.exterior()))?;
        for ring in self.0.interiors() {
            seq.serialize_element(&Positions(ring))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AssetAttributes, Derived, Version};
    use geo::{Point, polygon};

    fn view(geometry: Geometry<f64>, kind: AssetKind) -> AssetView {
        AssetView {
            asset: Asset {
                id: AssetId(7),
                geometry,
                attributes: AssetAttributes::minimal(kind),
                derived: Derived {
                    area_m2: Some(12.5),
                    length_m: None,
                },
                version: Version(3),
                created_at: time::OffsetDateTime::UNIX_EPOCH,
                updated_at: time::OffsetDateTime::UNIX_EPOCH,
            },
            courtyard_id: None,
        }
    }

    /// The geometry as written is what the geojson crate makes of it.
    #[test]
    fn geometries_are_written_as_geojson_has_them() {
        let shapes: Vec<Geometry<f64>> = vec![
            Point::new(116.3951, 39.9412).into(),
            LineString::from(vec![(116.39, 39.94), (116.40, 39.95)]).into(),
            polygon![(x: 116.39, y: 39.94), (x: 116.40, y: 39.94), (x: 116.40, y: 39.95)].into(),
            geo::MultiPolygon::new(vec![
                polygon![(x: 1.0, y: 2.0), (x: 3.0, y: 2.0), (x: 3.0, y: 4.0)],
            ])
            .into(),
        ];
        for shape in shapes {
            let ours = serde_json::to_value(GeometryOut(&shape)).expect("serializes");
            let theirs = serde_json::to_value(geojson::Geometry::from(
                geojson::GeometryValue::from(&shape),
            ))
            .expect("serializes");
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn a_feature_has_its_kind_attributes_and_bookkeeping() {
        let v = view(Point::new(116.3951, 39.9412).into(), AssetKind::Building);
        let f = feature(&v, Some(12.3456));
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["id"], 7);
        assert_eq!(f["properties"]["kind"], "building");
        assert_eq!(f["properties"]["area_m2"], 12.5);
        assert_eq!(f["properties"]["distance_m"], 12.35);
        assert_eq!(f["properties"]["version"], 3);
        assert_eq!(f["properties"]["created_at"], "1970-01-01T00:00:00.000Z");
        // A building without a courtyard says so.
        assert!(f["properties"]["courtyard_id"].is_null());
        assert!(f["properties"].get("length_m").is_none());
        let text: Value = serde_json::from_str(&feature_text(&v, Some(12.3456))).expect("JSON");
        assert_eq!(text, f);
        let served = ServedAsset::new(Arc::new(IndexedAsset::new(v.asset.clone())), None);
        assert_eq!(served.properties()["kind"], "building");
        // What a filter reads renders nothing: only the page is rendered.
        assert!(served.json.get().is_none());
        assert!(served.properties().get("distance_m").is_none());
        assert_eq!(
            served.feature()["properties"],
            f["properties"]
                .as_object()
                .map(|p| {
                    let mut p = p.clone();
                    p.remove("distance_m");
                    Value::Object(p)
                })
                .unwrap_or_default()
        );
        let text: Value = serde_json::from_str(served.json()).expect("JSON");
        assert_eq!(text, served.feature());
    }
}
