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
        Geometry::Polygon(p) => Derived {
            area_m2: Some(round_cm(p.geodesic_area_unsigned())),
            length_m: None,
        },
        Geometry::MultiPolygon(mp) => Derived {
            area_m2: Some(round_cm(mp.geodesic_area_unsigned())),
            length_m: None,
        },
        Geometry::LineString(ls) => Derived {
            area_m2: None,
            length_m: Some(round_cm(Geodesic.length(ls))),
        },
        _ => Derived::default(),
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
