//! The seven kinds of physical asset and the geometry each must have.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The geometry types an asset kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryShape {
    /// `Polygon` or `MultiPolygon`.
    Area,
    /// `Polygon` only.
    SinglePolygon,
    /// `LineString`.
    Line,
    /// `Point`, `Polygon` or `MultiPolygon`: a place drawn as a point or
    /// by its outline.
    Site,
    /// `Point`.
    Point,
}

impl GeometryShape {
    /// The GeoJSON `type` names this shape accepts.
    pub fn geojson_types(self) -> &'static [&'static str] {
        match self {
            GeometryShape::Area => &["Polygon", "MultiPolygon"],
            GeometryShape::SinglePolygon => &["Polygon"],
            GeometryShape::Line => &["LineString"],
            GeometryShape::Point => &["Point"],
            GeometryShape::Site => &["Point", "Polygon", "MultiPolygon"],
        }
    }
}

/// Most separate parts a facility's outline may have: more are several
/// facilities (and walks to it start from at most this many parts).
pub const MAX_FACILITY_PARTS: usize = 40;

/// An asset kind, identified by the `kind` of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Courtyard,
    Building,
    Lane,
    Drainage,
    Light,
    Charger,
    Facility,
}

impl AssetKind {
    pub const ALL: [AssetKind; 7] = [
        AssetKind::Courtyard,
        AssetKind::Building,
        AssetKind::Lane,
        AssetKind::Drainage,
        AssetKind::Light,
        AssetKind::Charger,
        AssetKind::Facility,
    ];

    /// The identifier used as `properties.kind` and `?kind=`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Courtyard => "courtyard",
            AssetKind::Building => "building",
            AssetKind::Lane => "lane",
            AssetKind::Drainage => "drainage",
            AssetKind::Light => "light",
            AssetKind::Charger => "charger",
            AssetKind::Facility => "facility",
        }
    }

    /// The OGC API collection id of this kind.
    pub fn collection(self) -> &'static str {
        match self {
            AssetKind::Courtyard => "courtyards",
            AssetKind::Building => "buildings",
            AssetKind::Lane => "lanes",
            AssetKind::Drainage => "drainage",
            AssetKind::Light => "lights",
            AssetKind::Charger => "chargers",
            AssetKind::Facility => "facilities",
        }
    }

    pub fn shape(self) -> GeometryShape {
        match self {
            AssetKind::Courtyard => GeometryShape::Area,
            AssetKind::Building => GeometryShape::SinglePolygon,
            AssetKind::Lane => GeometryShape::Line,
            AssetKind::Drainage | AssetKind::Light | AssetKind::Charger => GeometryShape::Point,
            AssetKind::Facility => GeometryShape::Site,
        }
    }

    /// Dense index, for per-kind tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for AssetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AssetKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown asset kind {s:?}; expected one of: courtyard, building, lane, drainage, light, charger, facility"
                )
            })
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_identifiers_and_collections_of_the_design() {
        let table: Vec<(&str, &str)> = AssetKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.collection()))
            .collect();
        assert_eq!(
            table,
            vec![
                ("courtyard", "courtyards"),
                ("building", "buildings"),
                ("lane", "lanes"),
                ("drainage", "drainage"),
                ("light", "lights"),
                ("charger", "chargers"),
                ("facility", "facilities"),
            ]
        );
        for (i, kind) in AssetKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(kind.as_str().parse::<AssetKind>(), Ok(*kind));
        }
        assert!("tree".parse::<AssetKind>().is_err());
    }

    #[test]
    fn geometry_shapes_follow_the_design() {
        assert_eq!(
            AssetKind::Courtyard.shape().geojson_types(),
            &["Polygon", "MultiPolygon"]
        );
        assert_eq!(AssetKind::Building.shape().geojson_types(), &["Polygon"]);
        assert_eq!(AssetKind::Lane.shape().geojson_types(), &["LineString"]);
        for kind in [AssetKind::Drainage, AssetKind::Light, AssetKind::Charger] {
            assert_eq!(kind.shape().geojson_types(), &["Point"]);
        }
    }
}
