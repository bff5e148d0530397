//! Questions asked of the complaints: the filters of a listing, and the
//! extent and counts that answer for a whole set.

use super::{
    CaseNumber, CaseType, Category, Channel, ComplaintId, ComplaintStatus, District, LonLatBox,
    UnitCode,
};
use time::OffsetDateTime;

/// Filters of a complaint listing.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    pub bbox: Option<LonLatBox>,
    pub categories: Vec<Category>,
    pub statuses: Vec<ComplaintStatus>,
    pub reported_from: Option<OffsetDateTime>,
    pub reported_to: Option<OffsetDateTime>,
    pub district: Option<District>,
    /// Only the cases in this street (街道) or community (社区), by code.
    pub street: Option<String>,
    pub community: Option<String>,
    pub case_number: Option<CaseNumber>,
    /// Only these complaints (when not empty).
    pub ids: Vec<ComplaintId>,
    /// Leave out complaints marked as duplicates of another.
    pub exclude_duplicates: bool,
    pub case_types: Vec<CaseType>,
    pub channels: Vec<Channel>,
    /// Only the cases with this unit now.
    pub unit: Option<UnitCode>,
    /// Only located (`true`) or unlocated (`false`) cases.
    pub located: Option<bool>,
    /// Only the cases past a deadline of their dispatch at this time.
    pub overdue_at: Option<OffsetDateTime>,
    /// Only this caller's cases (the keyed hash of their phone).
    pub caller_phone_hash: Option<String>,
    /// Keyset paging: only complaints after this one in the listing
    /// order (newest report first, then highest id), so that walking many
    /// pages does not rescan the ones before (as `offset` does).
    pub before: Option<(OffsetDateTime, ComplaintId)>,
    pub limit: u32,
    pub offset: u64,
}

/// The spatial and temporal extent of all complaints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComplaintExtent {
    pub bbox: LonLatBox,
    pub first_reported: OffsetDateTime,
    pub last_reported: OffsetDateTime,
}

impl ComplaintExtent {
    /// The extent of both.
    pub fn merge(self, other: ComplaintExtent) -> ComplaintExtent {
        ComplaintExtent {
            bbox: self.bbox.union(other.bbox),
            first_reported: self.first_reported.min(other.first_reported),
            last_reported: self.last_reported.max(other.last_reported),
        }
    }
}

/// Counts of a filtered set of complaints, duplicates left out.
/// Citizens' cases and grid workers' are counted apart, and so are
/// inquiries answered on the call (closed without a dispatch).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ComplaintStats {
    pub total: u64,
    pub duplicates_excluded: u64,
    pub by_category: std::collections::BTreeMap<String, u64>,
    pub by_status: std::collections::BTreeMap<String, u64>,
    pub by_case_type: std::collections::BTreeMap<String, u64>,
    pub by_channel: std::collections::BTreeMap<String, u64>,
    /// Cases from citizens (every channel but `grid`).
    pub citizen_cases: u64,
    /// Cases grid workers found on patrol.
    pub grid_cases: u64,
    /// Inquiries closed without a dispatch: answered on the call.
    pub inquiries_answered: u64,
}

/// One group of [`ComplaintStats`] as the store counts it.
#[derive(Debug, Clone)]
pub struct StatsGroup {
    pub category: String,
    pub status: String,
    pub case_type: String,
    pub channel: String,
    pub duplicate: bool,
    /// An inquiry closed without ever being dispatched.
    pub answered: bool,
    pub count: i64,
}

impl ComplaintStats {
    /// Counts a group; duplicates are counted apart.
    pub fn add(&mut self, g: StatsGroup) {
        let n = u64::try_from(g.count).unwrap_or_default();
        if g.duplicate {
            self.duplicates_excluded += n;
            return;
        }
        self.total += n;
        if g.channel == "grid" {
            self.grid_cases += n;
        } else {
            self.citizen_cases += n;
        }
        if g.answered {
            self.inquiries_answered += n;
        }
        *self.by_category.entry(g.category).or_default() += n;
        *self.by_status.entry(g.status).or_default() += n;
        *self.by_case_type.entry(g.case_type).or_default() += n;
        *self.by_channel.entry(g.channel).or_default() += n;
    }
}
