//! Metric distance on the WGS 84 ellipsoid.
//!
//! Points are placed in Earth-centred, Earth-fixed (ECEF) coordinates, in
//! metres. The straight-line (chord) distance between two ECEF points is a
//! true metric, and the R*-tree answers nearest-neighbour queries exactly
//! in it. The surface distance reported to users is the chord turned into
//! an arc on a sphere of the Earth's mean radius: a monotone function of
//! the chord, so the nearest by chord is the nearest by reported distance.
//! It agrees with Karney's geodesic distance to better than 1e-5 relative
//! below 100 km and 0.1 % at continental range (tests below hold reference
//! values from GeographicLib).

use geo::Point;

const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;
const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// IUGG mean Earth radius R1 = (2a + b) / 3, metres.
const MEAN_RADIUS_M: f64 = 6_371_008.771_4;

/// A point in Earth-centred, Earth-fixed coordinates, metres.
pub type EcefPoint = [f64; 3];

/// Conversion of WGS 84 longitude/latitude (degrees, on the ellipsoid
/// surface) to ECEF.
pub struct Ecef;

impl Ecef {
    /// # Examples
    /// ```
    /// use hutong::spatial::Ecef;
    /// let [x, y, z] = Ecef::from_lon_lat(0.0, 0.0);
    /// assert_eq!((x, y, z), (6_378_137.0, 0.0, 0.0));
    /// ```
    pub fn from_lon_lat(lon: f64, lat: f64) -> EcefPoint {
        let (sin_lat, cos_lat) = lat.to_radians().sin_cos();
        let (sin_lon, cos_lon) = lon.to_radians().sin_cos();
        let n = WGS84_A / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt();
        [
            n * cos_lat * cos_lon,
            n * cos_lat * sin_lon,
            n * (1.0 - WGS84_E2) * sin_lat,
        ]
    }

    pub fn from_point(point: Point<f64>) -> EcefPoint {
        Self::from_lon_lat(point.x(), point.y())
    }
}

/// Surface distance in metres for a chord of `chord_m` metres.
pub fn distance_m_from_chord_m(chord_m: f64) -> f64 {
    let half = (chord_m / (2.0 * MEAN_RADIUS_M)).clamp(0.0, 1.0);
    2.0 * MEAN_RADIUS_M * half.asin()
}

/// The chord, in metres, of a surface distance of `distance_m` metres:
/// the inverse of [`distance_m_from_chord_m`], for radius searches.
pub fn chord_m_for_distance_m(distance_m: f64) -> f64 {
    let angle = (distance_m / MEAN_RADIUS_M).clamp(0.0, std::f64::consts::PI);
    2.0 * MEAN_RADIUS_M * (angle / 2.0).sin()
}

/// Surface distance between two WGS 84 points, metres.
///
/// # Examples
/// ```
/// use geo::Point;
/// use hutong::spatial::distance_m;
/// // Bell Tower to Drum Tower, Beijing: about 200 m.
/// let d = distance_m(Point::new(116.3937, 39.9416), Point::new(116.3937, 39.9398));
/// assert!((d - 199.86).abs() < 0.5);
/// ```
pub fn distance_m(a: Point<f64>, b: Point<f64>) -> f64 {
    let (pa, pb) = (Ecef::from_point(a), Ecef::from_point(b));
    distance_m_from_chord_m(chord(pa, pb))
}

pub(crate) fn chord(a: EcefPoint, b: EcefPoint) -> f64 {
    chord_2(a, b).sqrt()
}

pub(crate) fn chord_2(a: EcefPoint, b: EcefPoint) -> f64 {
    let (dx, dy, dz) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    dx * dx + dy * dy + dz * dz
}

/// Squared distance from `p` to the straight segment `a`–`b` in ECEF.
pub(crate) fn segment_distance_2(p: EcefPoint, a: EcefPoint, b: EcefPoint) -> f64 {
    let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
    let len_2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
    if len_2 == 0.0 {
        return chord_2(p, a);
    }
    let t = ((ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / len_2).clamp(0.0, 1.0);
    let closest = [a[0] + t * ab[0], a[1] + t * ab[1], a[2] + t * ab[2]];
    chord_2(p, closest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (from, to, geodesic distance in metres) from GeographicLib 2.0
    /// (`Geodesic.WGS84.Inverse`), computed once and written in here.
    type LonLat = (f64, f64);

    const KARNEY: &[(LonLat, LonLat, f64)] = &[
        (
            (116.3951, 39.9412),
            (116.3952, 39.9412),
            8.546_705_723_491_444,
        ),
        (
            (116.3951, 39.9412),
            (116.3951, 39.9413),
            11.103_350_377_116_316,
        ),
        (
            (116.3937, 39.9416),
            (116.3937, 39.9398),
            199.860_287_779_361_04,
        ),
        ((116.3951, 39.9412), (116.33, 40.07), 15_343.578_498_476_814),
        (
            (116.4074, 39.9042),
            (121.4737, 31.2304),
            1_065_846.489_453_214_2,
        ),
        ((0.0, 0.0), (90.0, 0.0), 10_018_754.171_394_622),
        ((0.0, 0.0), (0.0, 90.0), 10_001_965.729_312_724),
        ((116.39, 39.94), (-74.006, 40.7128), 11_010_767.658_404_365),
    ];

    #[test]
    fn distance_agrees_with_karney_within_half_a_percent() {
        for &((lon1, lat1), (lon2, lat2), expected) in KARNEY {
            let d = distance_m(Point::new(lon1, lat1), Point::new(lon2, lat2));
            let relative = (d - expected).abs() / expected;
            assert!(relative < 0.005, "{d} vs {expected}: {relative}");
            if expected < 100_000.0 {
                assert!(relative < 1e-5, "{d} vs {expected}: {relative}");
            }
        }
    }

    #[test]
    fn chord_and_distance_are_inverse() {
        for d in [0.0, 1.0, 50.0, 1_000.0, 100_000.0, 5_000_000.0] {
            let back = distance_m_from_chord_m(chord_m_for_distance_m(d));
            assert!((back - d).abs() < 1e-6 * d.max(1.0), "{d} -> {back}");
        }
    }

    #[test]
    fn segment_distance_is_zero_on_the_segment_and_grows_off_it() {
        let a = Ecef::from_lon_lat(116.394, 39.942);
        let b = Ecef::from_lon_lat(116.396, 39.942);
        let mid = [
            (a[0] + b[0]) / 2.0,
            (a[1] + b[1]) / 2.0,
            (a[2] + b[2]) / 2.0,
        ];
        assert!(segment_distance_2(mid, a, b) < 1e-12);
        let beyond = Ecef::from_lon_lat(116.397, 39.942);
        let expected = chord_2(beyond, b);
        assert!((segment_distance_2(beyond, a, b) - expected).abs() < 1e-6);
        assert_eq!(segment_distance_2(beyond, a, a), chord_2(beyond, a));
    }
}
