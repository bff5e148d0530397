//! Geometry: validation of input, metric distance, area and length on the
//! WGS 84 ellipsoid, and the in-memory R*-tree of every asset. Knows
//! nothing of HTTP or SQL.

mod asset_index;
mod cell_key;
mod china_coords;
mod crs;
mod geodesy;
mod geometry_input;
mod measure;
pub mod vector_tile;

pub use asset_index::{AssetIndex, IndexedAsset, NearbyHit, NearbyQuery};
pub use cell_key::{cell_key, cell_ranges};
pub use china_coords::CoordSys;
pub use crs::Crs;
pub use geodesy::{Ecef, EcefPoint, chord_m_for_distance_m, distance_m, distance_m_from_chord_m};
pub use geometry_input::{GeometryLimits, outside_service_area, parse_geometry};
pub use measure::derive_measures;

/// A bounding box in WGS 84 degrees: west, south, east, north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl LonLatBox {
    /// Beijing municipality's extent, with a margin: the default service
    /// area.
    pub const BEIJING: LonLatBox = LonLatBox {
        min_lon: 115.3,
        min_lat: 39.3,
        max_lon: 117.6,
        max_lat: 41.1,
    };

    /// Whether the point lies in the box (edges included).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }

    /// Parses `minlon,minlat,maxlon,maxlat`, checking ranges and order.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(format!(
                "bbox must be four numbers minlon,minlat,maxlon,maxlat; got {} value(s)",
                parts.len()
            ));
        }
        let mut numbers = [0.0f64; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            *slot = part
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("bbox value {part:?} is not a finite number"))?;
        }
        let [min_lon, min_lat, max_lon, max_lat] = numbers;
        for (name, lon) in [("minlon", min_lon), ("maxlon", max_lon)] {
            if !(-180.0..=180.0).contains(&lon) {
                return Err(format!("bbox {name} {lon} is outside -180..180"));
            }
        }
        for (name, lat) in [("minlat", min_lat), ("maxlat", max_lat)] {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(format!("bbox {name} {lat} is outside -90..90"));
            }
        }
        if min_lon > max_lon {
            return Err(format!(
                "bbox minlon {min_lon} is greater than maxlon {max_lon}"
            ));
        }
        if min_lat > max_lat {
            return Err(format!(
                "bbox minlat {min_lat} is greater than maxlat {max_lat}"
            ));
        }
        Ok(Self {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_parses_and_rejects_bad_boxes() {
        let b = LonLatBox::parse("116.39,39.93,116.40,39.95").expect("valid");
        assert_eq!(b.min_lon, 116.39);
        assert_eq!(b.max_lat, 39.95);
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "a,2,3,4",
            "NaN,2,3,4",
            "inf,2,3,4",
            "10,2,3,4",
            "1,50,3,4",
            "1,2,181,4",
            "1,-91,3,4",
        ] {
            assert!(LonLatBox::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
