//! Validation of GeoJSON geometries submitted by clients.
//!
//! The JSON is walked by hand rather than through `geojson`'s
//! deserializer so that every error can name the exact coordinate
//! (`/coordinates/0/3`) and say what is wrong with it; the topology checks
//! (self-intersection, ring crossings) use geo's sweep-line
//! `Intersections`, which is O(n log n) where geo's `Validation` is
//! quadratic in the vertex count.

use super::LonLatBox;
use crate::domain::{GeometryShape, ValidationError};
use geo::algorithm::sweep::{Cross, Intersections};
use geo::line_intersection::LineIntersection;
use geo::orient::{Direction, Orient};
use geo::{Area, Contains, Coord, Geometry, Line, LineString, MultiPolygon, Point, Polygon};
use serde_json::Value;

/// Limits on submitted geometries.
#[derive(Debug, Clone, Copy)]
pub struct GeometryLimits {
    /// Most positions one geometry may have, across all its rings/parts.
    pub max_vertices: usize,
    /// Where the service works: every position must lie in it.
    pub service_area: LonLatBox,
}

impl Default for GeometryLimits {
    fn default() -> Self {
        Self {
            max_vertices: 10_000,
            service_area: LonLatBox::BEIJING,
        }
    }
}

/// The refusal of a position outside the service area.
pub fn outside_service_area(area: LonLatBox, lon: f64, lat: f64) -> String {
    format!(
        "position {lon}, {lat} lies outside the service area ({}..{} E, {}..{} N)",
        area.min_lon, area.max_lon, area.min_lat, area.max_lat
    )
}

/// Parses a GeoJSON geometry object into a validated geo geometry of the
/// given shape. Error pointers are relative to the geometry object.
/// Positions may carry an altitude, which is dropped; polygons come back
/// with RFC 7946 winding (exterior counter-clockwise).
pub fn parse_geometry(
    value: &Value,
    shape: GeometryShape,
    limits: GeometryLimits,
) -> Result<Geometry<f64>, ValidationError> {
    let object = value
        .as_object()
        .ok_or_else(|| ValidationError::single("", "geometry must be a GeoJSON geometry object"))?;
    let type_name = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ValidationError::single("/type", "geometry needs a string \"type\""))?;
    let allowed = shape.geojson_types();
    if !allowed.contains(&type_name) {
        return Err(ValidationError::single(
            "/type",
            format!(
                "this kind of asset needs a {} geometry, got {type_name:?}",
                allowed.join(" or ")
            ),
        ));
    }
    let coordinates = object
        .get("coordinates")
        .ok_or_else(|| ValidationError::single("/coordinates", "geometry has no coordinates"))?;
    let mut walker = Walker {
        limits,
        vertices: 0,
    };
    let geometry = match type_name {
        "Point" => Geometry::Point(Point::from(walker.position(coordinates, "/coordinates")?)),
        "LineString" => Geometry::LineString(walker.line_string(coordinates, "/coordinates")?),
        "Polygon" => Geometry::Polygon(walker.polygon(coordinates, "/coordinates")?),
        "MultiPolygon" => {
            let parts = walker.array(coordinates, "/coordinates", "an array of polygons")?;
            if parts.is_empty() {
                return Err(ValidationError::single(
                    "/coordinates",
                    "MultiPolygon has no polygons",
                ));
            }
            let mut polygons = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                polygons.push(walker.polygon(part, &format!("/coordinates/{i}"))?);
            }
            let multi = MultiPolygon(polygons);
            check_parts_disjoint(&multi)?;
            Geometry::MultiPolygon(multi)
        }
        other => {
            return Err(ValidationError::single(
                "/type",
                format!("unsupported geometry type {other:?}"),
            ));
        }
    };
    Ok(geometry)
}

struct Walker {
    limits: GeometryLimits,
    vertices: usize,
}

impl Walker {
    fn array<'v>(
        &self,
        value: &'v Value,
        at: &str,
        what: &str,
    ) -> Result<&'v Vec<Value>, ValidationError> {
        value
            .as_array()
            .ok_or_else(|| ValidationError::single(at, format!("must be {what}")))
    }

    fn position(&mut self, value: &Value, at: &str) -> Result<Coord<f64>, ValidationError> {
        self.vertices += 1;
        if self.vertices > self.limits.max_vertices {
            return Err(ValidationError::single(
                "/coordinates",
                format!(
                    "geometry has more than {} vertices; simplify it or split the asset",
                    self.limits.max_vertices
                ),
            ));
        }
        let items = self.array(value, at, "a position [longitude, latitude]")?;
        if !(2..=3).contains(&items.len()) {
            return Err(ValidationError::single(
                at,
                format!("a position has 2 or 3 numbers, got {}", items.len()),
            ));
        }
        let mut numbers = [0.0f64; 3];
        for (i, item) in items.iter().enumerate() {
            numbers[i] = item.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                ValidationError::single(format!("{at}/{i}"), "must be a finite number")
            })?;
        }
        let (lon, lat) = (numbers[0], numbers[1]);
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ValidationError::single(
                format!("{at}/0"),
                format!("longitude {lon} is outside -180..180"),
            ));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ValidationError::single(
                format!("{at}/1"),
                format!("latitude {lat} is outside -90..90"),
            ));
        }
        if !self.limits.service_area.contains(lon, lat) {
            return Err(ValidationError::single(
                at,
                outside_service_area(self.limits.service_area, lon, lat),
            ));
        }
        Ok(Coord { x: lon, y: lat })
    }

    fn positions(&mut self, value: &Value, at: &str) -> Result<Vec<Coord<f64>>, ValidationError> {
        let items = self.array(value, at, "an array of positions")?;
        let mut coords = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            coords.push(self.position(item, &format!("{at}/{i}"))?);
        }
        Ok(coords)
    }

    fn line_string(&mut self, value: &Value, at: &str) -> Result<LineString<f64>, ValidationError> {
        let mut coords = self.positions(value, at)?;
        coords.dedup();
        if coords.len() < 2 {
            return Err(ValidationError::single(
                at,
                "a LineString needs at least two distinct positions",
            ));
        }
        Ok(LineString(coords))
    }

    fn ring(&mut self, value: &Value, at: &str) -> Result<LineString<f64>, ValidationError> {
        let coords = self.positions(value, at)?;
        if coords.len() < 4 {
            return Err(ValidationError::single(
                at,
                format!(
                    "a linear ring needs at least 4 positions, got {}",
                    coords.len()
                ),
            ));
        }
        if coords.first() != coords.last() {
            return Err(ValidationError::single(
                at,
                "linear ring is not closed: its last position must equal its first",
            ));
        }
        let mut deduped = coords;
        deduped.dedup();
        if deduped.len() < 4 {
            return Err(ValidationError::single(
                at,
                "a linear ring needs at least 3 distinct positions",
            ));
        }
        Ok(LineString(deduped))
    }

    fn polygon(&mut self, value: &Value, at: &str) -> Result<Polygon<f64>, ValidationError> {
        let rings_json = self.array(value, at, "an array of linear rings")?;
        if rings_json.is_empty() {
            return Err(ValidationError::single(
                at,
                "a Polygon needs an exterior ring",
            ));
        }
        let mut rings = Vec::with_capacity(rings_json.len());
        for (i, ring) in rings_json.iter().enumerate() {
            rings.push(self.ring(ring, &format!("{at}/{i}"))?);
        }
        check_rings_do_not_cross(&rings, at)?;
        for (i, ring) in rings.iter().enumerate() {
            if Polygon::new(ring.clone(), vec![]).unsigned_area() == 0.0 {
                return Err(ValidationError::single(
                    format!("{at}/{i}"),
                    "linear ring encloses no area",
                ));
            }
        }
        let exterior = Polygon::new(rings[0].clone(), vec![]);
        for (i, hole) in rings.iter().enumerate().skip(1) {
            if !exterior.contains(&hole.0[0]) {
                return Err(ValidationError::single(
                    format!("{at}/{i}"),
                    "interior ring (hole) lies outside the exterior ring",
                ));
            }
            for (j, other) in rings.iter().enumerate().skip(1) {
                if i != j && Polygon::new(other.clone(), vec![]).contains(&hole.0[0]) {
                    return Err(ValidationError::single(
                        format!("{at}/{i}"),
                        format!("interior ring lies inside interior ring {j}"),
                    ));
                }
            }
        }
        let mut rings = rings.into_iter();
        let exterior = rings.next().unwrap_or_else(|| LineString(vec![]));
        Ok(Polygon::new(exterior, rings.collect()).orient(Direction::Default))
    }
}

/// A segment of a ring, remembering where it came from so that the two
/// segments meeting at a vertex are not taken for a crossing.
#[derive(Clone, Copy)]
struct RingSegment {
    ring: usize,
    index: usize,
    ring_segments: usize,
    line: Line<f64>,
}

impl Cross for RingSegment {
    type Scalar = f64;
    fn line(&self) -> Line<f64> {
        self.line
    }
}

impl RingSegment {
    fn adjacent(&self, other: &RingSegment) -> bool {
        if self.ring != other.ring {
            return false;
        }
        let n = self.ring_segments;
        let (a, b) = (self.index, other.index);
        (a + 1) % n == b || (b + 1) % n == a
    }
}

fn segments(rings: &[LineString<f64>]) -> Vec<RingSegment> {
    let mut out = Vec::new();
    for (ring, ls) in rings.iter().enumerate() {
        let ring_segments = ls.0.len().saturating_sub(1);
        for (index, line) in ls.lines().enumerate() {
            out.push(RingSegment {
                ring,
                index,
                ring_segments,
                line,
            });
        }
    }
    out
}

fn check_rings_do_not_cross(rings: &[LineString<f64>], at: &str) -> Result<(), ValidationError> {
    for (a, b, intersection) in Intersections::from_iter(segments(rings)) {
        let (a, b) = if a.ring <= b.ring { (a, b) } else { (b, a) };
        let touches_only_at_shared_vertex =
            a.adjacent(&b) && matches!(intersection, LineIntersection::SinglePoint { .. });
        if touches_only_at_shared_vertex {
            continue;
        }
        let near = match intersection {
            LineIntersection::SinglePoint { intersection, .. } => intersection,
            LineIntersection::Collinear { intersection } => intersection.start,
        };
        let detail = if a.ring == b.ring {
            format!(
                "ring {} intersects itself near {:.7}, {:.7}",
                a.ring, near.x, near.y
            )
        } else {
            format!(
                "rings {} and {} intersect near {:.7}, {:.7}",
                a.ring, b.ring, near.x, near.y
            )
        };
        return Err(ValidationError::single(format!("{at}/{}", a.ring), detail));
    }
    Ok(())
}

/// The polygons of a MultiPolygon must not overlap or touch along edges.
fn check_parts_disjoint(multi: &MultiPolygon<f64>) -> Result<(), ValidationError> {
    let mut exteriors = Vec::with_capacity(multi.0.len());
    for polygon in &multi.0 {
        exteriors.push(polygon.exterior().clone());
    }
    if let Some((a, b, _)) =
        Intersections::from_iter(segments(&exteriors)).find(|(a, b, _)| a.ring != b.ring)
    {
        return Err(ValidationError::single(
            format!("/coordinates/{}", a.ring.max(b.ring)),
            format!(
                "polygons {} and {} of the MultiPolygon intersect",
                a.ring.min(b.ring),
                a.ring.max(b.ring)
            ),
        ));
    }
    for (i, p) in multi.0.iter().enumerate() {
        for (j, q) in multi.0.iter().enumerate() {
            if i != j && p.contains(&q.exterior().0[0]) {
                return Err(ValidationError::single(
                    format!("/coordinates/{j}"),
                    format!("polygon {j} of the MultiPolygon lies inside polygon {i}"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value, shape: GeometryShape) -> Result<Geometry<f64>, ValidationError> {
        parse_geometry(&value, shape, GeometryLimits::default())
    }

    fn square(lon: f64, lat: f64, d: f64) -> Value {
        json!([
            [lon, lat],
            [lon + d, lat],
            [lon + d, lat + d],
            [lon, lat + d],
            [lon, lat]
        ])
    }

    #[test]
    fn valid_geometries_parse() {
        let point = parse(
            json!({"type": "Point", "coordinates": [116.3951, 39.9412, 44.0]}),
            GeometryShape::Point,
        );
        assert_eq!(
            point.ok(),
            Some(Geometry::Point(Point::new(116.3951, 39.9412)))
        );
        let line = json!({"type": "LineString", "coordinates": [[116.39, 39.94], [116.40, 39.94]]});
        assert!(parse(line, GeometryShape::Line).is_ok());
        let poly = json!({"type": "Polygon", "coordinates": [square(116.39, 39.94, 0.001)]});
        assert!(parse(poly.clone(), GeometryShape::Area).is_ok());
        assert!(parse(poly, GeometryShape::SinglePolygon).is_ok());
        let with_hole = json!({"type": "Polygon", "coordinates": [square(116.39, 39.94, 0.001), square(116.3902, 39.9402, 0.0002)]});
        assert!(parse(with_hole, GeometryShape::Area).is_ok());
        let multi = json!({"type": "MultiPolygon", "coordinates": [[square(116.39, 39.94, 0.001)], [square(116.392, 39.94, 0.001)]]});
        assert!(parse(multi, GeometryShape::Area).is_ok());
    }

    #[test]
    fn positions_outside_the_service_area_are_refused() {
        let null_island = json!({"type": "Point", "coordinates": [0.0, 0.0]});
        let err = parse(null_island, GeometryShape::Point).expect_err("refused");
        assert!(err.errors[0].detail.contains("service area"), "{err}");
        let huilongguan = json!({"type": "Point", "coordinates": [116.33, 40.07]});
        assert!(parse(huilongguan, GeometryShape::Point).is_ok());
    }

    #[test]
    fn polygons_come_back_counter_clockwise() {
        let clockwise = json!({"type": "Polygon", "coordinates": [[[116.0, 40.0], [116.0, 40.1], [116.1, 40.1], [116.1, 40.0], [116.0, 40.0]]]});
        let Ok(Geometry::Polygon(p)) = parse(clockwise, GeometryShape::Area) else {
            unreachable!("valid polygon rejected")
        };
        assert!(p.signed_area() > 0.0);
    }

    #[test]
    fn bad_geometries_are_rejected_with_a_pointer() {
        let bow_tie = json!([
            [116.39, 39.94],
            [116.40, 39.95],
            [116.40, 39.94],
            [116.39, 39.95],
            [116.39, 39.94]
        ]);
        let cases = [
            (
                json!({"type": "Point", "coordinates": [116.39, 91.0]}),
                GeometryShape::Point,
                "/coordinates/1",
                "latitude 91",
            ),
            (
                json!({"type": "Point", "coordinates": [181.0, 39.0]}),
                GeometryShape::Point,
                "/coordinates/0",
                "longitude 181",
            ),
            (
                json!({"type": "Point", "coordinates": ["116", 39.0]}),
                GeometryShape::Point,
                "/coordinates/0",
                "finite number",
            ),
            (
                json!({"type": "Point", "coordinates": [116.0]}),
                GeometryShape::Point,
                "/coordinates",
                "2 or 3 numbers",
            ),
            (
                json!({"type": "Point", "coordinates": [116.39, 39.94]}),
                GeometryShape::Area,
                "/type",
                "Polygon or MultiPolygon",
            ),
            (
                json!({"type": "Polygon", "coordinates": [square(116.39, 39.94, 0.001)]}),
                GeometryShape::Point,
                "/type",
                "needs a Point",
            ),
            (
                json!({"type": "Pointy", "coordinates": [1, 2]}),
                GeometryShape::Point,
                "/type",
                "needs a Point",
            ),
            (
                json!({"coordinates": [1, 2]}),
                GeometryShape::Point,
                "/type",
                "\"type\"",
            ),
            (
                json!({"type": "Point"}),
                GeometryShape::Point,
                "/coordinates",
                "no coordinates",
            ),
            (json!([1, 2]), GeometryShape::Point, "", "geometry object"),
            (
                json!({"type": "LineString", "coordinates": [[116.39, 39.94], [116.39, 39.94]]}),
                GeometryShape::Line,
                "/coordinates",
                "two distinct",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[116.39, 39.94], [116.40, 39.94], [116.40, 39.95], [116.39, 39.95]]]}),
                GeometryShape::Area,
                "/coordinates/0",
                "not closed",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[116.39, 39.94], [116.40, 39.94], [116.39, 39.94]]]}),
                GeometryShape::Area,
                "/coordinates/0",
                "at least 4",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[116.39, 39.94], [116.40, 39.94], [116.41, 39.94], [116.39, 39.94]]]}),
                GeometryShape::Area,
                "/coordinates/0",
                "intersects itself",
            ),
            (
                json!({"type": "Polygon", "coordinates": [bow_tie]}),
                GeometryShape::Area,
                "/coordinates/0",
                "intersects itself",
            ),
            (
                json!({"type": "Polygon", "coordinates": []}),
                GeometryShape::Area,
                "/coordinates",
                "exterior ring",
            ),
            (
                json!({"type": "Polygon", "coordinates": [square(116.39, 39.94, 0.001), square(116.50, 39.94, 0.0002)]}),
                GeometryShape::Area,
                "/coordinates/1",
                "outside the exterior",
            ),
            (
                json!({"type": "Polygon", "coordinates": [square(116.39, 39.94, 0.001), square(116.3905, 39.9405, 0.001)]}),
                GeometryShape::Area,
                "/coordinates/0",
                "rings 0 and 1 intersect",
            ),
            (
                json!({"type": "MultiPolygon", "coordinates": [[square(116.39, 39.94, 0.001)], [square(116.3905, 39.9405, 0.001)]]}),
                GeometryShape::Area,
                "/coordinates/1",
                "intersect",
            ),
            (
                json!({"type": "MultiPolygon", "coordinates": [[square(116.39, 39.94, 0.001)], [square(116.3902, 39.9402, 0.0001)]]}),
                GeometryShape::Area,
                "/coordinates/1",
                "inside polygon 0",
            ),
        ];
        for (input, shape, pointer, needle) in cases {
            let err = parse(input.clone(), shape).expect_err(&format!("{input} accepted"));
            assert_eq!(err.errors[0].pointer, pointer, "{input}: {err}");
            assert!(err.errors[0].detail.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn vertex_limit_holds_and_stays_fast() {
        let n = 50_000;
        let ring: Vec<Value> = (0..=n)
            .map(|i| {
                let a = std::f64::consts::TAU * f64::from(i % n) / f64::from(n);
                json!([116.39 + 0.01 * a.cos(), 39.94 + 0.01 * a.sin()])
            })
            .collect();
        let input = json!({"type": "Polygon", "coordinates": [ring]});
        let err = parse(input.clone(), GeometryShape::Area).expect_err("too many vertices");
        assert!(
            err.errors[0].detail.contains("more than 10000 vertices"),
            "{err}"
        );
        let generous = GeometryLimits {
            max_vertices: 100_000,
            ..GeometryLimits::default()
        };
        assert!(parse_geometry(&input, GeometryShape::Area, generous).is_ok());
    }
}
