//! The coordinate reference systems the map API offers, and conversion of
//! coordinates between them and CRS84 (WGS 84 longitude/latitude, how
//! everything is stored). Projections are done by `proj4rs`, a pure-Rust
//! port of PROJ's formulas (UTM agrees with PROJ to 0.1 mm); axis order
//! and GCJ-02 are handled here.

use super::CoordSys;
use proj4rs::proj::Proj;
use serde_json::Value;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// WGS 84, longitude then latitude (the GeoJSON default).
    Crs84,
    /// WGS 84 as EPSG defines it: latitude first.
    Epsg4326,
    /// CGCS2000, China's geodetic datum: latitude first. It differs from
    /// WGS 84 by centimetres, below what the data can tell, so PROJ (and
    /// this service) convert it as the identity.
    Epsg4490,
    /// Web Mercator, metres.
    Epsg3857,
    /// UTM zone 50N on WGS 84, metres: Beijing in designers' CAD.
    Epsg32650,
    /// GCJ-02, the obfuscated longitude/latitude of AMap, Tencent and
    /// WeChat base maps: longitude first. Output only makes sense inside
    /// mainland China; elsewhere coordinates are not shifted.
    Gcj02,
}

fn utm50() -> Option<&'static Proj> {
    static PROJ: OnceLock<Option<Proj>> = OnceLock::new();
    PROJ.get_or_init(|| {
        Proj::from_proj_string("+proj=utm +zone=50 +datum=WGS84 +units=m +no_defs").ok()
    })
    .as_ref()
}

fn web_mercator() -> Option<&'static Proj> {
    static PROJ: OnceLock<Option<Proj>> = OnceLock::new();
    PROJ.get_or_init(|| {
        Proj::from_proj_string(
            "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +no_defs",
        )
        .ok()
    })
    .as_ref()
}

fn wgs84() -> Option<&'static Proj> {
    static PROJ: OnceLock<Option<Proj>> = OnceLock::new();
    PROJ.get_or_init(|| Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").ok())
        .as_ref()
}

/// Latitudes beyond which Web Mercator is undefined (it is square there).
const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_59;

impl Crs {
    pub const ALL: [Crs; 6] = [
        Crs::Crs84,
        Crs::Epsg4326,
        Crs::Epsg4490,
        Crs::Epsg3857,
        Crs::Epsg32650,
        Crs::Gcj02,
    ];

    pub const CRS84_URI: &'static str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

    /// The URI that names this CRS (OGC's, or for GCJ-02, which no
    /// registry names, this service's own).
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => Self::CRS84_URI,
            Crs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            Crs::Epsg4490 => "http://www.opengis.net/def/crs/EPSG/0/4490",
            Crs::Epsg3857 => "http://www.opengis.net/def/crs/EPSG/0/3857",
            Crs::Epsg32650 => "http://www.opengis.net/def/crs/EPSG/0/32650",
            Crs::Gcj02 => "urn:hutong:def:crs:GCJ-02",
        }
    }

    /// From a URI (also `EPSG:n`, `[EPSG:n]` and `<uri>`), or why not.
    pub fn parse(text: &str) -> Result<Crs, String> {
        let t = text.trim();
        let t = t
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .or_else(|| t.strip_prefix('[').and_then(|t| t.strip_suffix(']')))
            .unwrap_or(t);
        let normal = t.replace("https://", "http://");
        let found = Self::ALL.into_iter().find(|c| {
            c.uri() == normal
                || match c {
                    Crs::Crs84 => normal == "OGC:CRS84",
                    Crs::Epsg4326 => normal == "EPSG:4326",
                    Crs::Epsg4490 => normal == "EPSG:4490",
                    Crs::Epsg3857 => normal == "EPSG:3857",
                    Crs::Epsg32650 => normal == "EPSG:32650",
                    Crs::Gcj02 => false,
                }
        });
        found.ok_or_else(|| {
            format!(
                "CRS {text:?} is not offered; use one of {}",
                Self::ALL.map(Crs::uri).join(", ")
            )
        })
    }

    /// CRS84 longitude/latitude into this CRS, in its axis order.
    pub fn from_crs84(self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        match self {
            Crs::Crs84 => Ok((lon, lat)),
            Crs::Epsg4326 | Crs::Epsg4490 => Ok((lat, lon)),
            Crs::Gcj02 => Ok(CoordSys::Gcj02.from_wgs84(lon, lat)),
            Crs::Epsg3857 => {
                let lat = lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT);
                project(
                    wgs84(),
                    web_mercator(),
                    (lon.to_radians(), lat.to_radians()),
                )
            }
            Crs::Epsg32650 => project(wgs84(), utm50(), (lon.to_radians(), lat.to_radians())),
        }
    }

    /// Coordinates in this CRS (its axis order) back to CRS84, checked.
    pub fn to_crs84(self, x: f64, y: f64) -> Result<(f64, f64), String> {
        if !x.is_finite() || !y.is_finite() {
            return Err("coordinates must be finite numbers".into());
        }
        let (lon, lat) = match self {
            Crs::Crs84 => (x, y),
            Crs::Epsg4326 | Crs::Epsg4490 => (y, x),
            Crs::Gcj02 => CoordSys::Gcj02.to_wgs84(x, y)?,
            Crs::Epsg3857 => {
                if x.abs() > MERCATOR_MAX_XY || y.abs() > MERCATOR_MAX_XY {
                    return Err(self.outside(x, y));
                }
                let (lon, lat) = project(web_mercator(), wgs84(), (x, y))?;
                (lon.to_degrees(), lat.to_degrees())
            }
            Crs::Epsg32650 => {
                let (lon, lat) = project(utm50(), wgs84(), (x, y))?;
                let (lon, lat) = (lon.to_degrees(), lat.to_degrees());
                if !(UTM50_MIN_LON..=UTM50_MAX_LON).contains(&lon) || !(0.0..=84.0).contains(&lat) {
                    return Err(self.outside(x, y));
                }
                (lon, lat)
            }
        };
        // A projection's inverse wraps what lies beyond its domain back
        // onto the earth (x = 53,033 km in EPSG:3857 came out at 116.4°
        // E): the forward projection of the answer must give back what
        // was sent.
        if matches!(self, Crs::Epsg3857 | Crs::Epsg32650) {
            let (fx, fy) = self.from_crs84(lon, lat)?;
            if (fx - x).abs() > 0.01 || (fy - y).abs() > 0.01 {
                return Err(self.outside(x, y));
            }
        }
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(format!(
                "{x}, {y} in {} is outside the earth (longitude {lon}, latitude {lat})",
                self.uri()
            ));
        }
        Ok((lon, lat))
    }

    fn outside(self, x: f64, y: f64) -> String {
        format!("{x}, {y} lies outside the valid area of {}", self.uri())
    }

    /// Rewrites a GeoJSON geometry's coordinates from this CRS to CRS84.
    pub fn geometry_to_crs84(self, geometry: &mut Value) -> Result<(), String> {
        if self == Crs::Crs84 {
            return Ok(());
        }
        map_positions(geometry, &mut |x, y| self.to_crs84(x, y))
    }

    /// Rewrites a GeoJSON geometry's coordinates from CRS84 to this CRS.
    pub fn geometry_from_crs84(self, geometry: &mut Value) -> Result<(), String> {
        if self == Crs::Crs84 {
            return Ok(());
        }
        map_positions(geometry, &mut |lon, lat| self.from_crs84(lon, lat))
    }
}

/// Web Mercator's extent, metres from the origin on either axis
/// (π × 6,378,137).
const MERCATOR_MAX_XY: f64 = 20_037_508.342_789_244;
/// UTM zone 50N is defined for 114° E to 120° E; positions up to one
/// zone beyond are still projected accurately enough to be accepted.
const UTM50_MIN_LON: f64 = 108.0;
const UTM50_MAX_LON: f64 = 126.0;

fn project(
    from: Option<&Proj>,
    to: Option<&Proj>,
    (x, y): (f64, f64),
) -> Result<(f64, f64), String> {
    let (Some(from), Some(to)) = (from, to) else {
        return Err("projection unavailable".into());
    };
    let mut point = (x, y, 0.0);
    proj4rs::transform::transform(from, to, &mut point)
        .map_err(|e| format!("cannot project {x}, {y}: {e}"))?;
    if point.0.is_finite() && point.1.is_finite() {
        Ok((point.0, point.1))
    } else {
        Err(format!("{x}, {y} cannot be projected"))
    }
}

/// Applies `f` to every position of a GeoJSON geometry (any type, nested
/// collections included). Malformed parts are left for validation to
/// report, except positions `f` refuses.
fn map_positions(
    geometry: &mut Value,
    f: &mut dyn FnMut(f64, f64) -> Result<(f64, f64), String>,
) -> Result<(), String> {
    if let Some(parts) = geometry.get_mut("geometries").and_then(Value::as_array_mut) {
        for part in parts {
            map_positions(part, f)?;
        }
        return Ok(());
    }
    match geometry.get_mut("coordinates") {
        Some(coordinates) => map_nested(coordinates, f),
        None => Ok(()),
    }
}

fn map_nested(
    value: &mut Value,
    f: &mut dyn FnMut(f64, f64) -> Result<(f64, f64), String>,
) -> Result<(), String> {
    let Some(items) = value.as_array_mut() else {
        return Ok(());
    };
    if items.first().is_some_and(Value::is_number) {
        if let (Some(x), Some(y)) = (items[0].as_f64(), items.get(1).and_then(Value::as_f64)) {
            let (a, b) = f(x, y)?;
            items[0] = Value::from(a);
            items[1] = Value::from(b);
        }
        return Ok(());
    }
    for item in items {
        map_nested(item, f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values computed once with PROJ 9 (pyproj 3.7,
    /// `Transformer.from_crs("OGC:CRS84", code)`), written in here.
    type XY = (f64, f64);

    const REFERENCE: &[(Crs, XY, XY)] = &[
        (
            Crs::Epsg3857,
            (116.3951, 39.9412),
            (12_957_043.262_832_155, 4_857_401.299_165_809),
        ),
        (
            Crs::Epsg3857,
            (116.2, 40.05),
            (12_935_324.830_178_39, 4_873_210.805_685_579),
        ),
        (
            Crs::Epsg32650,
            (116.3951, 39.9412),
            (448_321.485_821_663_2, 4_421_406.167_183_972),
        ),
        (
            Crs::Epsg32650,
            (116.2, 40.05),
            (431_761.687_200_723_86, 4_433_613.302_645_578),
        ),
        (Crs::Epsg4490, (116.3951, 39.9412), (39.9412, 116.3951)),
        (Crs::Epsg4326, (116.2, 40.05), (40.05, 116.2)),
    ];

    #[test]
    fn projections_agree_with_proj_within_a_centimetre() {
        for &(crs, (lon, lat), (x, y)) in REFERENCE {
            let (px, py) = crs.from_crs84(lon, lat).expect("projects");
            let tolerance = if matches!(crs, Crs::Epsg4326 | Crs::Epsg4490) {
                1e-9
            } else {
                0.01
            };
            assert!(
                (px - x).abs() < tolerance && (py - y).abs() < tolerance,
                "{crs:?}: {px} {py} vs {x} {y}"
            );
            let (blon, blat) = crs.to_crs84(x, y).expect("inverts");
            assert!(
                (blon - lon).abs() < 1e-9 && (blat - lat).abs() < 1e-9,
                "{crs:?} back: {blon} {blat}"
            );
        }
        // Inverse references, also from PROJ.
        let (lon, lat) = Crs::Epsg32650
            .to_crs84(448_000.0, 4_421_000.0)
            .expect("inverts");
        assert!(
            (lon - 116.391_369_610_099_9).abs() < 1e-9
                && (lat - 39.937_520_988_948_016).abs() < 1e-9
        );
        let (lon, lat) = Crs::Epsg3857
            .to_crs84(12_957_000.0, 4_857_000.0)
            .expect("inverts");
        assert!(
            (lon - 116.394_711_363_366_38).abs() < 1e-9
                && (lat - 39.938_436_029_664_19).abs() < 1e-9
        );
    }

    #[test]
    fn uris_and_short_forms_parse_and_others_do_not() {
        for crs in Crs::ALL {
            assert_eq!(Crs::parse(crs.uri()), Ok(crs));
            assert_eq!(Crs::parse(&format!("<{}>", crs.uri())), Ok(crs));
        }
        assert_eq!(Crs::parse("EPSG:32650"), Ok(Crs::Epsg32650));
        assert_eq!(Crs::parse("[EPSG:4490]"), Ok(Crs::Epsg4490));
        assert!(Crs::parse("http://www.opengis.net/def/crs/EPSG/0/2000").is_err());
        assert!(Crs::parse("").is_err());
    }

    #[test]
    fn positions_beyond_a_projections_domain_are_refused_not_wrapped() {
        // 53,033 km east wrapped round the earth to 116.4° E.
        assert!(Crs::Epsg3857.to_crs84(53_033_000.0, 4_856_000.0).is_err());
        assert!(Crs::Epsg3857.to_crs84(1e300, 1e300).is_err());
        assert!(Crs::Epsg3857.to_crs84(0.0, 30_000_000.0).is_err());
        assert!(Crs::Epsg32650.to_crs84(1e300, 1e300).is_err());
        assert!(Crs::Epsg32650.to_crs84(-9_000_000.0, 4_400_000.0).is_err());
        assert!(Crs::Crs84.to_crs84(1e300, 1e300).is_err());
        // Beijing still goes through both.
        let (x, y) = Crs::Epsg3857
            .from_crs84(116.3951, 39.9412)
            .expect("forward");
        let (lon, lat) = Crs::Epsg3857.to_crs84(x, y).expect("inverse");
        assert!((lon - 116.3951).abs() < 1e-9 && (lat - 39.9412).abs() < 1e-9);
        let (x, y) = Crs::Epsg32650
            .from_crs84(116.3951, 39.9412)
            .expect("forward");
        assert!(Crs::Epsg32650.to_crs84(x, y).is_ok());
    }

    #[test]
    fn geometries_are_rewritten_and_bad_positions_refused() {
        let mut g = serde_json::json!({"type": "LineString", "coordinates": [[448321.4858216632, 4421406.167183972], [431761.68720072386, 4433613.302645578]]});
        Crs::Epsg32650.geometry_to_crs84(&mut g).expect("converts");
        let first = &g["coordinates"][0];
        assert!((first[0].as_f64().unwrap_or(0.0) - 116.3951).abs() < 1e-9);
        let mut bad = serde_json::json!({"type": "Point", "coordinates": [1e30, 0.0]});
        assert!(Crs::Epsg32650.geometry_to_crs84(&mut bad).is_err());
        let mut outside = serde_json::json!({"type": "Point", "coordinates": [2.35, 48.85]});
        assert!(
            Crs::Gcj02.geometry_to_crs84(&mut outside).is_err(),
            "GCJ-02 exists only in China"
        );
    }
}
