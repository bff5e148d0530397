//! Bounding boxes in WGS 84 degrees, and the few operations on them that
//! the services share: parsing, growing by metres, union, intersection.

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

    /// The box that holds no point and overlaps no box.
    pub const EMPTY: LonLatBox = LonLatBox {
        min_lon: f64::INFINITY,
        min_lat: f64::INFINITY,
        max_lon: f64::NEG_INFINITY,
        max_lat: f64::NEG_INFINITY,
    };

    /// Whether the box holds no point.
    pub fn is_empty(&self) -> bool {
        !(self.min_lon <= self.max_lon && self.min_lat <= self.max_lat)
    }

    /// Whether the point lies in the box (edges included).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }

    /// Parses `minlon,minlat,maxlon,maxlat`, checking ranges and order.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::from_corners(Self::parse_corners(text)?)
    }

    /// The four plane numbers of a `bbox` parameter: 4 numbers, or 6 with
    /// heights (which are dropped: the data is 2D), each finite. Their
    /// axis order and ranges are the caller's to check.
    pub fn parse_corners(text: &str) -> Result<[f64; 4], String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let plane = match parts.as_slice() {
            [a, b, c, d] => [*a, *b, *c, *d],
            [a, b, _, d, e, _] => [*a, *b, *d, *e],
            _ => {
                return Err(format!(
                    "bbox must be four numbers minlon,minlat,maxlon,maxlat (or six, with heights); got {} value(s)",
                    parts.len()
                ));
            }
        };
        let mut numbers = [0.0f64; 4];
        for (slot, part) in numbers.iter_mut().zip(plane) {
            *slot = part
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("bbox value {part:?} is not a finite number"))?;
        }
        Ok(numbers)
    }

    /// The box of WGS 84 corners west, south, east, north, checking
    /// ranges and order.
    pub fn from_corners(numbers: [f64; 4]) -> Result<Self, String> {
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

    /// The box of one point.
    pub fn point(lon: f64, lat: f64) -> Self {
        Self {
            min_lon: lon,
            min_lat: lat,
            max_lon: lon,
            max_lat: lat,
        }
    }

    /// The smallest box holding every point (none for no points).
    pub fn around_points(points: impl IntoIterator<Item = (f64, f64)>) -> Option<Self> {
        points
            .into_iter()
            .map(|(lon, lat)| Self::point(lon, lat))
            .reduce(Self::union)
    }

    /// The bounding box of a geometry (none when it is empty).
    pub fn of_geometry(geometry: &geo::Geometry<f64>) -> Option<Self> {
        use geo::BoundingRect;
        geometry.bounding_rect().map(|r| Self {
            min_lon: r.min().x,
            min_lat: r.min().y,
            max_lon: r.max().x,
            max_lat: r.max().y,
        })
    }

    /// A box holding every point within `radius_m` of `(lon, lat)`.
    pub fn around(point: (f64, f64), radius_m: f64) -> Self {
        Self::point(point.0, point.1).grown_by_m(radius_m)
    }

    /// The box grown by `radius_m` on every side (generously: 1 % extra,
    /// and longitude degrees taken at the box's pole-most latitude), kept
    /// within the globe's range.
    pub fn grown_by_m(self, radius_m: f64) -> Self {
        let dlat = radius_m * 1.01 / 110_574.0;
        let lat = self.min_lat.abs().max(self.max_lat.abs()).min(89.0) + dlat;
        let dlon = (radius_m * 1.01 / (111_320.0 * lat.min(89.9).to_radians().cos())).min(360.0);
        Self {
            min_lon: (self.min_lon - dlon).max(-180.0),
            min_lat: (self.min_lat - dlat).max(-90.0),
            max_lon: (self.max_lon + dlon).min(180.0),
            max_lat: (self.max_lat + dlat).min(90.0),
        }
    }

    /// The smallest box holding both.
    pub fn union(self, other: Self) -> Self {
        Self {
            min_lon: self.min_lon.min(other.min_lon),
            min_lat: self.min_lat.min(other.min_lat),
            max_lon: self.max_lon.max(other.max_lon),
            max_lat: self.max_lat.max(other.max_lat),
        }
    }

    /// Where both boxes overlap (edges count), if they do.
    pub fn intersection(self, other: Self) -> Option<Self> {
        let o = Self {
            min_lon: self.min_lon.max(other.min_lon),
            min_lat: self.min_lat.max(other.min_lat),
            max_lon: self.max_lon.min(other.max_lon),
            max_lat: self.max_lat.min(other.max_lat),
        };
        (o.min_lon <= o.max_lon && o.min_lat <= o.max_lat).then_some(o)
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

    #[test]
    fn a_grown_box_holds_every_point_within_the_radius() {
        let b = LonLatBox::around((116.3951, 39.9412), 300.0);
        for bearing in 0..36 {
            let a = f64::from(bearing) * 10f64.to_radians();
            let p = (
                116.3951 + 300.0 * a.sin() / 85_300.0,
                39.9412 + 300.0 * a.cos() / 111_035.0,
            );
            assert!(
                crate::spatial::distance_m(
                    geo::Point::new(116.3951, 39.9412),
                    geo::Point::new(p.0, p.1)
                ) > 295.0
            );
            assert!(b.contains(p.0, p.1), "{p:?}");
        }
    }

    #[test]
    fn union_and_intersection_of_boxes() {
        let a = LonLatBox::from_corners([0.0, 0.0, 2.0, 2.0]).expect("box");
        let b = LonLatBox::from_corners([1.0, 1.0, 3.0, 3.0]).expect("box");
        let c = LonLatBox::from_corners([5.0, 5.0, 6.0, 6.0]).expect("box");
        assert_eq!(
            a.union(b),
            LonLatBox::from_corners([0.0, 0.0, 3.0, 3.0]).expect("box")
        );
        assert_eq!(
            a.intersection(b),
            LonLatBox::from_corners([1.0, 1.0, 2.0, 2.0]).ok()
        );
        assert_eq!(a.intersection(c), None);
        assert_eq!(
            LonLatBox::around_points([(1.0, 2.0), (-1.0, 3.0)]),
            LonLatBox::from_corners([-1.0, 2.0, 1.0, 3.0]).ok()
        );
        assert_eq!(
            LonLatBox::parse_corners("1,2,9,3,4,9"),
            Ok([1.0, 2.0, 3.0, 4.0])
        );
    }
}
