//! Questions asked of the complaints: the filters of a listing, and the
//! extent and counts that answer for a whole set.

use super::{CaseNumber, Category, ComplaintId, ComplaintStatus, District, LonLatBox};
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
    pub case_number: Option<CaseNumber>,
    /// Only these complaints (when not empty).
    pub ids: Vec<ComplaintId>,
    /// Leave out complaints marked as duplicates of another.
    pub exclude_duplicates: bool,
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
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ComplaintStats {
    pub total: u64,
    pub duplicates_excluded: u64,
    pub by_category: std::collections::BTreeMap<String, u64>,
    pub by_status: std::collections::BTreeMap<String, u64>,
}

impl ComplaintStats {
    /// Counts `n` complaints of a category and status; duplicates are
    /// counted apart.
    pub fn add(&mut self, category: String, status: String, duplicate: bool, n: i64) {
        let n = u64::try_from(n).unwrap_or_default();
        if duplicate {
            self.duplicates_excluded += n;
            return;
        }
        self.total += n;
        *self.by_category.entry(category).or_default() += n;
        *self.by_status.entry(status).or_default() += n;
    }
}
