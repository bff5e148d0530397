//! What linking found for a complaint: the assets it concerns, by which
//! rule and how far away, and flags such as "no asset nearby".

/// A link of a complaint to an asset, as found by a linking rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComplaintLink {
    pub asset_id: i64,
    pub rule: String,
    pub distance_m: f64,
}

/// What the linking rules found for one complaint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Linking {
    pub links: Vec<ComplaintLink>,
    pub flags: Vec<String>,
}
