//! Mapbox Vector Tiles on the Web Mercator quad grid: which tile is
//! which, and turning lon/lat geometries into a tile's layers (projected,
//! clipped to the tile and a small buffer, simplified to the tile's
//! resolution, encoded by geozero's MVT writer).

use super::tile_tag_serializer::{TagTables, tags_of};
use foldhash::HashMap;
use geo::{
    BooleanOps, BoundingRect, Coord, Geometry, LineString, MapCoords, MultiLineString,
    MultiPolygon, Orient, Polygon, Rect, Simplify, orient::Direction,
};
use geozero::ToMvt;
use geozero::mvt::{Message, Tile, TileValue as MvtValue, tile};

/// Tile coordinate space.
pub const EXTENT: u32 = 4096;
/// Buffer around each tile, in tile units, so lines and polygons that
/// cross tile edges join without seams.
const BUFFER: f64 = 64.0;
/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 22;
/// Half the side of the Web Mercator square, metres.
const HALF_WORLD: f64 = 20_037_508.342_789_244;
const MAX_LAT: f64 = 85.051_128_779_806_59;

/// One tile of the quad grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, String> {
        if z > u32::from(MAX_ZOOM) {
            return Err(format!("zoom {z} is beyond the deepest, {MAX_ZOOM}"));
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(format!(
                "tile {z}/{x}/{y} does not exist: at zoom {z}, x and y run from 0 to {}",
                n - 1
            ));
        }
        Ok(TileId { z: z as u8, x, y })
    }

    /// Side of the tile, metres of Web Mercator.
    pub fn size_m(self) -> f64 {
        2.0 * HALF_WORLD / f64::from(1u32 << self.z)
    }

    /// (left, bottom, right, top) in Web Mercator metres.
    pub fn bounds(self) -> (f64, f64, f64, f64) {
        let size = self.size_m();
        let left = -HALF_WORLD + f64::from(self.x) * size;
        let top = HALF_WORLD - f64::from(self.y) * size;
        (left, top - size, left + size, top)
    }

    /// The tile with its buffer as a lon/lat box: (west, south, east, north).
    pub fn lonlat_bounds(self) -> (f64, f64, f64, f64) {
        let (l, b, r, t) = self.bounds();
        let pad = self.size_m() * BUFFER / f64::from(EXTENT);
        let (west, south) = to_lonlat(l - pad, b - pad);
        let (east, north) = to_lonlat(r + pad, t + pad);
        (
            west.max(-180.0),
            south.max(-90.0),
            east.min(180.0),
            north.min(90.0),
        )
    }
}

/// Longitude/latitude to Web Mercator metres (spherical, EPSG:3857).
pub fn to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = lon.to_radians() * 6_378_137.0;
    let y = (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln() * 6_378_137.0;
    (x, y)
}

fn to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / 6_378_137.0).to_degrees();
    let lat = (2.0 * (y / 6_378_137.0).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

/// The hash a layer finds its keys and text values by.
fn tag_hash(text: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x68_75_74_6f_6e_67).hash_one(text)
}

impl TagTables for LayerBuilder {
    fn key(&mut self, key: &str) -> u32 {
        self.key_str(tag_hash(key), key)
    }
    fn text(&mut self, text: &str) -> u32 {
        self.text_str(tag_hash(text), text)
    }
    fn int(&mut self, i: i64) -> u32 {
        self.int_value(i)
    }
    fn double(&mut self, f: f64) -> u32 {
        self.double_value(f)
    }
    fn boolean(&mut self, b: bool) -> u32 {
        self.bool_value(b)
    }
}

/// One layer of a tile being built.
pub struct LayerBuilder {
    tile: TileId,
    layer: tile::Layer,
    keys: Vec<String>,
    /// Where each distinct key and value is, by its precomputed hash
    /// (checked against the text, so a collision only costs a duplicate).
    key_index: HashMap<u64, u32>,
    values: Vec<MvtValue>,
    text_index: HashMap<u64, u32>,
    number_index: HashMap<(bool, u64), u32>,
    bool_index: [Option<u32>; 2],
}

impl LayerBuilder {
    pub fn new(tile: TileId, name: &str) -> Self {
        LayerBuilder {
            tile,
            layer: tile::Layer {
                version: 2,
                name: name.to_string(),
                extent: Some(EXTENT),
                ..Default::default()
            },
            keys: Vec::new(),
            key_index: HashMap::default(),
            values: Vec::new(),
            text_index: HashMap::default(),
            number_index: HashMap::default(),
            bool_index: [None, None],
        }
    }

    /// Adds a feature (geometry in lon/lat) whose properties are a flat
    /// object as serde writes it (a struct, or a map), each property
    /// turned into a tag as it is written, with no copy of the properties
    /// made: nulls and keys in `skip` are left out, arrays and objects
    /// kept as JSON text. A feature that falls outside the buffered tile,
    /// or shrinks to nothing at this zoom, is skipped.
    pub fn add_properties(
        &mut self,
        id: u64,
        geometry: &Geometry<f64>,
        properties: &impl serde::Serialize,
        skip: &[&str],
    ) {
        let Some(mut feature) = self.feature(id, geometry) else {
            return;
        };
        feature.tags = tags_of(self, properties, skip);
        self.layer.features.push(feature);
    }

    /// The feature with its geometry in tile units, without tags; `None`
    /// when it falls outside the buffered tile or shrinks to nothing.
    fn feature(&self, id: u64, geometry: &Geometry<f64>) -> Option<tile::Feature> {
        let shape = self.tile_shape(geometry)?;
        let (l, b, r, t) = self.tile.bounds();
        let mut feature = shape.to_mvt(EXTENT, l, b, r, t).ok()?;
        feature.id = Some(id);
        feature.r#type = Some(match shape {
            Geometry::Point(_) | Geometry::MultiPoint(_) => tile::GeomType::Point,
            Geometry::LineString(_) | Geometry::MultiLineString(_) => tile::GeomType::Linestring,
            _ => tile::GeomType::Polygon,
        } as i32);
        Some(feature)
    }

    pub fn len(&self) -> usize {
        self.layer.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layer.features.is_empty()
    }

    /// The index of a key, its text hashed by [`tag_hash`].
    fn key_str(&mut self, hash: u64, key: &str) -> u32 {
        if let Some(&i) = self.key_index.get(&hash) {
            if *self.keys[i as usize] == *key {
                return i;
            }
        }
        let i = self.keys.len() as u32;
        self.keys.push(key.to_string());
        self.key_index.entry(hash).or_insert(i);
        i
    }

    fn push_value(&mut self, value: MvtValue) -> u32 {
        self.values.push(value);
        (self.values.len() - 1) as u32
    }

    /// The index of a text value, hashed by [`tag_hash`].
    fn text_str(&mut self, hash: u64, text: &str) -> u32 {
        if let Some(&i) = self.text_index.get(&hash) {
            if matches!(&self.values[i as usize], MvtValue::Str(s) if **s == *text) {
                return i;
            }
        }
        let i = self.push_value(MvtValue::Str(text.to_string()));
        self.text_index.entry(hash).or_insert(i);
        i
    }

    fn int_value(&mut self, i: i64) -> u32 {
        self.number_value(true, i as u64, MvtValue::Sint(i))
    }

    fn double_value(&mut self, f: f64) -> u32 {
        self.number_value(false, f.to_bits(), MvtValue::Double(f))
    }

    fn number_value(&mut self, integer: bool, bits: u64, value: MvtValue) -> u32 {
        if let Some(&i) = self.number_index.get(&(integer, bits)) {
            return i;
        }
        let i = self.push_value(value);
        self.number_index.insert((integer, bits), i);
        i
    }

    fn bool_value(&mut self, b: bool) -> u32 {
        if let Some(i) = self.bool_index[usize::from(b)] {
            return i;
        }
        let i = self.push_value(MvtValue::Bool(b));
        self.bool_index[usize::from(b)] = Some(i);
        i
    }

    /// The geometry in Web Mercator, clipped to the buffered tile and
    /// simplified to a quarter of a tile unit; `None` when nothing is left.
    fn tile_shape(&self, geometry: &Geometry<f64>) -> Option<Geometry<f64>> {
        let (l, b, r, t) = self.tile.bounds();
        let unit = self.tile.size_m() / f64::from(EXTENT);
        let pad = unit * BUFFER;
        let clip = Rect::new(
            Coord {
                x: l - pad,
                y: b - pad,
            },
            Coord {
                x: r + pad,
                y: t + pad,
            },
        );
        let projected = geometry.map_coords(|c| {
            let (x, y) = to_mercator(c.x, c.y);
            Coord { x, y }
        });
        let bounds = projected.bounding_rect()?;
        let inside = bounds.min().x >= clip.min().x
            && bounds.max().x <= clip.max().x
            && bounds.min().y >= clip.min().y
            && bounds.max().y <= clip.max().y;
        let disjoint = bounds.max().x < clip.min().x
            || bounds.min().x > clip.max().x
            || bounds.max().y < clip.min().y
            || bounds.min().y > clip.max().y;
        if disjoint {
            return None;
        }
        let epsilon = unit / 4.0;
        let shape = match projected {
            Geometry::Point(p) => Geometry::Point(p),
            Geometry::MultiPoint(mp) => Geometry::MultiPoint(mp),
            Geometry::LineString(line) => {
                let lines = if inside {
                    MultiLineString::new(vec![line])
                } else {
                    clip.to_polygon()
                        .clip(&MultiLineString::new(vec![line]), false)
                };
                let lines: Vec<LineString<f64>> = lines
                    .0
                    .into_iter()
                    .map(|l| l.simplify(epsilon))
                    .filter(|l| l.0.len() >= 2)
                    .collect();
                match lines.len() {
                    0 => return None,
                    1 => Geometry::LineString(lines.into_iter().next()?),
                    _ => Geometry::MultiLineString(MultiLineString::new(lines)),
                }
            }
            Geometry::Polygon(polygon) => {
                area_shape(MultiPolygon::new(vec![polygon]), &clip, inside, epsilon)?
            }
            Geometry::MultiPolygon(polygons) => area_shape(polygons, &clip, inside, epsilon)?,
            _ => return None,
        };
        Some(shape)
    }

    fn finish(self) -> tile::Layer {
        let mut layer = self.layer;
        layer.keys = self.keys;
        layer.values = self.values.into_iter().map(tile::Value::from).collect();
        layer
    }
}

/// Polygons clipped (when they cross the buffered tile), simplified, and
/// oriented as MVT wants (exterior rings clockwise once y points down).
fn area_shape(
    polygons: MultiPolygon<f64>,
    clip: &Rect<f64>,
    inside: bool,
    epsilon: f64,
) -> Option<Geometry<f64>> {
    let clipped = if inside {
        polygons
    } else {
        polygons.intersection(&clip.to_polygon())
    };
    let kept: Vec<Polygon<f64>> = clipped
        .0
        .into_iter()
        .map(|p| p.simplify(epsilon))
        .filter(|p| p.exterior().0.len() >= 4)
        .map(|p| {
            let (exterior, interiors) = p.into_inner();
            let interiors = interiors.into_iter().filter(|r| r.0.len() >= 4).collect();
            Polygon::new(exterior, interiors).orient(Direction::Default)
        })
        .collect();
    match kept.len() {
        0 => None,
        1 => kept.into_iter().next().map(Geometry::Polygon),
        _ => Some(Geometry::MultiPolygon(MultiPolygon::new(kept))),
    }
}

/// A tile's layers, encoded as protobuf (empty layers left out).
pub fn encode(layers: Vec<LayerBuilder>) -> Vec<u8> {
    let tile = Tile {
        layers: layers
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(LayerBuilder::finish)
            .collect(),
    };
    tile.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Point, polygon};
    use serde_json::{Map, Value, json};

    #[test]
    fn tile_ids_and_bounds() {
        assert!(TileId::new(23, 0, 0).is_err());
        assert!(TileId::new(2, 4, 0).is_err());
        let world = TileId::new(0, 0, 0).expect("tile");
        let (l, b, r, t) = world.bounds();
        assert!(
            (l + HALF_WORLD).abs() < 1e-6
                && (t - HALF_WORLD).abs() < 1e-6
                && (r - HALF_WORLD).abs() < 1e-6
                && (b + HALF_WORLD).abs() < 1e-6
        );
        // The Bell Tower at zoom 16 (standard XYZ scheme).
        let (x, y) = to_mercator(116.3951, 39.9412);
        let tile = TileId::new(16, 53957, 24824).expect("tile");
        let (l, b, r, t) = tile.bounds();
        assert!(
            x >= l && x < r && y >= b && y < t,
            "{x} {y} in {:?}",
            tile.bounds()
        );
        // Against PROJ (pyproj 3.7, EPSG:3857): 12957043.262832155, 4857401.299165809.
        assert!(
            (x - 12_957_043.262_832_155).abs() < 1e-6 && (y - 4_857_401.299_165_809).abs() < 1e-6
        );
    }

    #[test]
    fn features_are_clipped_encoded_and_tagged() {
        let tile = TileId::new(16, 53957, 24824).expect("tile");
        let mut layer = LayerBuilder::new(tile, "lights");
        let mut props = Map::new();
        props.insert("status".into(), Value::from("working"));
        props.insert("power_w".into(), Value::from(24.5));
        props.insert("sensor".into(), Value::Null);
        props.insert("updated_at".into(), Value::from("2026-12-02T09:00:00.000Z"));
        props.insert("ports".into(), json!([1, 2]));
        let skip = &["updated_at"];
        layer.add_properties(7, &Point::new(116.3951, 39.9412).into(), &props, skip);
        layer.add_properties(8, &Point::new(116.5, 39.9).into(), &props, skip);
        assert_eq!(layer.len(), 1, "the far point is outside the tile");
        // A polygon much larger than the tile is clipped to it.
        let big: Geometry<f64> = polygon![(x: 116.3, y: 39.9), (x: 116.5, y: 39.9), (x: 116.5, y: 40.0), (x: 116.3, y: 40.0), (x: 116.3, y: 39.9)].into();
        let mut areas = LayerBuilder::new(tile, "courtyards");
        areas.add_properties(9, &big, &Value::Null, &[]);
        assert_eq!(areas.len(), 1);
        let bytes = encode(vec![layer, areas, LayerBuilder::new(tile, "empty")]);
        let decoded = Tile::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded.layers.len(), 2);
        let lights = &decoded.layers[0];
        assert_eq!(lights.name, "lights");
        assert_eq!(lights.features[0].id, Some(7));
        // Nulls and skipped keys are left out; an array is its JSON text.
        let tags: std::collections::BTreeMap<&str, &tile::Value> = lights.features[0]
            .tags
            .chunks(2)
            .map(|kv| {
                (
                    lights.keys[kv[0] as usize].as_str(),
                    &lights.values[kv[1] as usize],
                )
            })
            .collect();
        assert_eq!(
            tags.keys().copied().collect::<Vec<_>>(),
            ["ports", "power_w", "status"]
        );
        assert_eq!(tags["status"].string_value.as_deref(), Some("working"));
        assert_eq!(tags["power_w"].double_value, Some(24.5));
        assert_eq!(tags["ports"].string_value.as_deref(), Some("[1,2]"));
        let clipped = &decoded.layers[1].features[0].geometry;
        assert!(
            clipped.len() <= 12,
            "a clipped square stays a few commands: {clipped:?}"
        );
    }
}
