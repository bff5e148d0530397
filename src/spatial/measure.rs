//! Derived measures of an asset's geometry: geodesic area and length.

use crate::domain::Derived;
use geo::{Geodesic, GeodesicArea, Geometry, Length};

/// Area (m²) of polygons and length (m) of line strings, on the WGS 84
/// ellipsoid by Karney's method (geo's geodesic algorithms).
///
/// # Examples
/// ```
/// use geo::{Geometry, LineString};
/// use hutong::spatial::derive_measures;
/// let lane = LineString::from(vec![(116.3940, 39.9420), (116.3950, 39.9421)]);
/// let derived = derive_measures(&Geometry::LineString(lane));
/// assert!(derived.length_m.is_some() && derived.area_m2.is_none());
/// ```
pub fn derive_measures(geometry: &Geometry<f64>) -> Derived {
    match geometry {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => Derived {
            area_m2: geodesic_area_m2(geometry).map(round_cm),
            length_m: None,
        },
        Geometry::LineString(ls) => Derived {
            area_m2: None,
            length_m: Some(round_cm(Geodesic.length(ls))),
        },
        _ => Derived::default(),
    }
}

/// The surface of the WGS 84 ellipsoid, m² (4π times the authalic
/// radius squared).
const WGS84_SURFACE_M2: f64 = 510_065_621_724_088.5;

/// The geodesic area of a polygon or multipolygon, m². geo's unsigned
/// area turns a ring that rounding makes a hair "inside out" (a sliver
/// of a few square centimetres) into the whole Earth's surface less it;
/// no asset here covers half the Earth, so such an answer is taken back
/// to the small side, part by part.
pub fn geodesic_area_m2(geometry: &Geometry<f64>) -> Option<f64> {
    let part = |p: &geo::Polygon<f64>| {
        let a = p.geodesic_area_unsigned();
        if a > WGS84_SURFACE_M2 / 2.0 {
            (WGS84_SURFACE_M2 - a).max(0.0)
        } else {
            a
        }
    };
    match geometry {
        Geometry::Polygon(p) => Some(part(p)),
        Geometry::MultiPolygon(mp) => Some(mp.0.iter().map(part).sum()),
        _ => None,
    }
}

/// Measures are reported to the centimetre (or cm²): finer digits are
/// below what any survey of these assets resolves.
fn round_cm(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    #[test]
    fn a_sliver_is_a_sliver_not_the_earth() {
        // Reported: this triangle came out as 510,065,621,724,088 m².
        let sliver = Polygon::new(
            LineString::from(vec![
                (116.394, 39.943),
                (116.39400001, 39.943),
                (116.394, 39.94300001),
                (116.394, 39.943),
            ]),
            vec![],
        );
        for geometry in [
            Geometry::Polygon(sliver.clone()),
            Geometry::MultiPolygon(geo::MultiPolygon(vec![sliver])),
        ] {
            let area = derive_measures(&geometry).area_m2.unwrap_or(f64::NAN);
            assert!((0.0..1.0).contains(&area), "{area}");
        }
    }

    #[test]
    fn area_and_length_match_geographiclib() {
        // Reference values: GeographicLib 2.0 Geodesic.WGS84.Polygon.
        let courtyard = Polygon::new(
            LineString::from(vec![
                (116.3950, 39.9410),
                (116.3953, 39.9410),
                (116.3953, 39.94125),
                (116.3950, 39.94125),
                (116.3950, 39.9410),
            ]),
            vec![],
        );
        let area = derive_measures(&Geometry::Polygon(courtyard))
            .area_m2
            .unwrap_or_default();
        assert!(
            (area - 711.728_773_266_077).abs() / 711.73 < 0.005,
            "{area}"
        );

        let degree = Polygon::new(
            LineString::from(vec![
                (116.0, 39.0),
                (117.0, 39.0),
                (117.0, 40.0),
                (116.0, 40.0),
            ]),
            vec![],
        );
        let area = derive_measures(&Geometry::Polygon(degree))
            .area_m2
            .unwrap_or_default();
        assert!(
            (area - 9_549_468_853.921_387).abs() / 9.549e9 < 0.005,
            "{area}"
        );

        let lane = LineString::from(vec![
            (116.3940, 39.9420),
            (116.3950, 39.9421),
            (116.3960, 39.9420),
        ]);
        let length = derive_measures(&Geometry::LineString(lane))
            .length_m
            .unwrap_or_default();
        assert!(
            (length - 172.368_460_338_199_95).abs() / 172.37 < 0.005,
            "{length}"
        );
    }
}
