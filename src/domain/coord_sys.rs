//! The coordinate systems a location can arrive in. Conversions live in
//! `spatial::china_coords`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The coordinate system of incoming coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoordSys {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
}

impl CoordSys {
    pub fn as_str(self) -> &'static str {
        match self {
            CoordSys::Wgs84 => "wgs84",
            CoordSys::Gcj02 => "gcj02",
            CoordSys::Bd09 => "bd09",
        }
    }
}

impl FromStr for CoordSys {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "epsg:4326" => Ok(CoordSys::Wgs84),
            "gcj02" | "gcj-02" => Ok(CoordSys::Gcj02),
            "bd09" | "bd-09" => Ok(CoordSys::Bd09),
            _ => Err(format!(
                "unknown coord_sys {s:?}; expected wgs84, gcj02 or bd09"
            )),
        }
    }
}

impl fmt::Display for CoordSys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
