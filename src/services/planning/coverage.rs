//! Coverage by walking distance: what in an area is not served, as
//! GeoJSON with totals. Lights: the dark stretches of its lanes (metres
//! unlit, the share lit). Chargers: the courtyards whose households are
//! more than the walking reach from every working charger (with the
//! straight-line distance, which would often count them as served).
//! Drainage: the drains due for repair.

use serde::Serialize;
use serde_json::{Value, json};

/// What a coverage answer counts, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CoverageTotals {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlit_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_lit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households_unserved: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub households_unserved_but_near_in_a_straight_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_served: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drains: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drains_due: Option<u64>,
}

/// A coverage answer: the unserved as features, and the totals.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageAnswer {
    pub kind: &'static str,
    pub features: Vec<Value>,
    pub totals: CoverageTotals,
}

impl CoverageAnswer {
    pub fn to_geojson(&self) -> Value {
        json!({
            "type": "FeatureCollection",
            "kind": self.kind,
            "totals": self.totals,
            "numberReturned": self.features.len(),
            "features": self.features,
        })
    }
}

/// A share to four decimals (1 when there is nothing to serve).
pub fn share(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        1.0
    } else {
        ((part / whole) * 10_000.0).round() / 10_000.0
    }
}
