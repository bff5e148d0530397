//! Administrative areas: Beijing's districts (区), streets and towns
//! (街道/乡镇), and communities and villages (社区/村). A case's district,
//! street and community are derived from where it is, never typed in.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The level of an area; each lies inside one of the level above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    District,
    Street,
    Community,
}

impl AreaLevel {
    pub const ALL: [AreaLevel; 3] = [AreaLevel::District, AreaLevel::Street, AreaLevel::Community];

    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
        }
    }

    /// The level an area of this level lies in.
    pub fn parent(self) -> Option<AreaLevel> {
        match self {
            AreaLevel::District => None,
            AreaLevel::Street => Some(AreaLevel::District),
            AreaLevel::Community => Some(AreaLevel::Street),
        }
    }
}

impl FromStr for AreaLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AreaLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown area level {s:?}; expected district, street or community")
            })
    }
}

impl fmt::Display for AreaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a text is an area code: 1 to 64 lower-case letters, digits
/// and `-`.
pub fn is_area_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// An area as imported: its code (for a district, the district's own
/// name, e.g. `dongcheng`; below, any code of lower-case letters, digits
/// and `-`), names, parent and boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminArea {
    pub code: String,
    pub level: AreaLevel,
    pub name: String,
    pub name_zh: Option<String>,
    pub parent: Option<String>,
    pub boundary: geo::MultiPolygon<f64>,
    /// Drawn by hand, not surveyed (the demo's areas are).
    pub approximate: bool,
}

/// The areas a point lies in, one code per level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AreaPath {
    pub district: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
}
