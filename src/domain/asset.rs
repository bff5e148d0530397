//! An asset: a physical thing in a neighbourhood with a geometry, typed
//! attributes, derived measures and a version for optimistic concurrency.

use super::{AssetAttributes, AssetKind};
use geo::Geometry;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// Identifier of an asset, assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(pub i64);

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for AssetId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(AssetId(n)),
            _ => Err(format!("asset id must be a positive integer, got {s:?}")),
        }
    }
}

/// Version of an asset: 1 when created, incremented by every change.
/// It is the asset's entity tag (ETag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub i64);

impl Version {
    pub const FIRST: Version = Version(1);

    pub fn next(self) -> Version {
        Version(self.0 + 1)
    }

    /// The strong entity tag of this version, quoted as HTTP wants it.
    pub fn etag(self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// Measures computed from the geometry, never taken from input.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Derived {
    /// Geodesic area of a courtyard or building, m².
    pub area_m2: Option<f64>,
    /// Geodesic length of a lane, m.
    pub length_m: Option<f64>,
}

/// A validated asset that is not stored yet (or the new state of one).
#[derive(Debug, Clone, PartialEq)]
pub struct AssetDraft {
    pub geometry: Geometry<f64>,
    pub attributes: AssetAttributes,
    pub derived: Derived,
}

impl AssetDraft {
    pub fn kind(&self) -> AssetKind {
        self.attributes.kind()
    }
}

/// A stored asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub id: AssetId,
    pub geometry: Geometry<f64>,
    pub attributes: AssetAttributes,
    pub derived: Derived,
    pub version: Version,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Asset {
    pub fn kind(&self) -> AssetKind {
        self.attributes.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!("42".parse::<AssetId>(), Ok(AssetId(42)));
        for bad in ["0", "-1", "abc", "", "1.5", "99999999999999999999"] {
            assert!(bad.parse::<AssetId>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn versions_count_up_and_quote_as_etags() {
        assert_eq!(Version::FIRST.next(), Version(2));
        assert_eq!(Version(7).etag(), "\"7\"");
    }
}

/// An asset as shown to clients: stored state plus values derived from
/// its surroundings at read time.
#[derive(Debug, Clone)]
pub struct AssetView {
    pub asset: Asset,
    /// For a building: the courtyard that contains it.
    pub courtyard_id: Option<AssetId>,
}
