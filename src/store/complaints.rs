//! Storage of complaints, their history and their links to assets.

use super::StoreError;
use crate::domain::{
    CaseNumber, Category, Complaint, ComplaintDraft, ComplaintId, ComplaintStatus, District,
    Satisfaction, StatusChange,
};
use crate::spatial::LonLatBox;
use async_trait::async_trait;
use time::OffsetDateTime;

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
    /// Leave out complaints marked as duplicates of another.
    pub exclude_duplicates: bool,
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
            bbox: LonLatBox {
                min_lon: self.bbox.min_lon.min(other.bbox.min_lon),
                min_lat: self.bbox.min_lat.min(other.bbox.min_lat),
                max_lon: self.bbox.max_lon.max(other.bbox.max_lon),
                max_lat: self.bbox.max_lat.max(other.bbox.max_lat),
            },
            first_reported: self.first_reported.min(other.first_reported),
            last_reported: self.last_reported.max(other.last_reported),
        }
    }
}

/// A status change to make.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The status the complaint must still have (else a conflict).
    pub from: ComplaintStatus,
    pub to: ComplaintStatus,
    pub note: Option<String>,
    pub resolution: Option<String>,
    pub satisfaction: Option<Satisfaction>,
    pub actor_token: Option<i64>,
    pub actor_role: String,
}

/// Counts of a filtered set of complaints, duplicates left out.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ComplaintStats {
    pub total: u64,
    pub duplicates_excluded: u64,
    pub by_category: std::collections::BTreeMap<String, u64>,
    pub by_status: std::collections::BTreeMap<String, u64>,
}

#[async_trait]
pub trait ComplaintStore: Send + Sync {
    /// Stores the complaints whose case numbers are new, each with its
    /// links and a first history entry, in one transaction. Returns, in
    /// input order, the stored complaint and whether it was created now
    /// (false: the case number existed and nothing changed).
    async fn insert_complaints(
        &self,
        items: &[(ComplaintDraft, Linking)],
    ) -> Result<Vec<(Complaint, bool)>, StoreError>;

    async fn get_complaint(&self, id: ComplaintId) -> Result<Option<Complaint>, StoreError>;

    /// A page of complaints (newest report first) and how many match.
    async fn list_complaints(
        &self,
        filter: &ComplaintFilter,
    ) -> Result<(Vec<Complaint>, u64), StoreError>;

    /// Up to `limit` complaints with ids above `after`, by id: keyset
    /// paging for walking the whole table (exports).
    async fn complaints_after(
        &self,
        after: ComplaintId,
        limit: u32,
    ) -> Result<Vec<Complaint>, StoreError>;

    /// Where and when the complaints with ids above `after` are (the box
    /// around their locations, the first and last report) and the highest
    /// id among them; `None` when there are none. Locations and report
    /// times never change and complaints are never deleted, so extents of
    /// id ranges merge into the extent of all.
    async fn complaint_extent(
        &self,
        after: ComplaintId,
    ) -> Result<Option<(ComplaintExtent, ComplaintId)>, StoreError>;

    async fn complaint_stats(&self, filter: &ComplaintFilter)
    -> Result<ComplaintStats, StoreError>;

    async fn history(&self, id: ComplaintId) -> Result<Vec<StatusChange>, StoreError>;

    /// Moves a complaint to a new status if it still has `from`; records
    /// the change in its history. [`StoreError::VersionMismatch`] is not
    /// used here: a complaint that moved meanwhile is a `Conflict`.
    async fn transition(
        &self,
        id: ComplaintId,
        transition: &Transition,
    ) -> Result<Complaint, StoreError>;

    async fn set_duplicate_of(
        &self,
        id: ComplaintId,
        duplicate_of: Option<ComplaintId>,
    ) -> Result<Complaint, StoreError>;

    async fn links(&self, id: ComplaintId) -> Result<Vec<ComplaintLink>, StoreError>;

    /// Replaces the links and flags of these complaints, in one transaction.
    async fn replace_links(&self, updates: &[(ComplaintId, Linking)]) -> Result<(), StoreError>;

    /// Complaints of these categories located in the box: id, category and
    /// WGS 84 location.
    async fn complaints_in(
        &self,
        bbox: LonLatBox,
        categories: &[Category],
    ) -> Result<Vec<(ComplaintId, Category, (f64, f64))>, StoreError>;

    /// Open complaints of a category in the box, reported in the window,
    /// not themselves duplicates: candidates a new one may duplicate.
    async fn open_in(
        &self,
        category: Category,
        bbox: LonLatBox,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<(ComplaintId, (f64, f64))>, StoreError>;
}
