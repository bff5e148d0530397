//! Storage of complaints, their history and their links to assets.

use super::StoreError;
use crate::domain::{
    CallbackAnswers, CallbackRates, Caller, CaseNumber, Category, Complaint, ComplaintDraft,
    ComplaintExtent, ComplaintFilter, ComplaintId, ComplaintLink, ComplaintStats, ComplaintStatus,
    CoordSys, District, Handling, Linking, NotAssessable, Satisfaction, StatusChange, UnitCode,
};
use crate::spatial::LonLatBox;
use async_trait::async_trait;
use std::collections::HashMap;
use std::str::FromStr;
use time::OffsetDateTime;

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

/// A value to set a column to in a [`Step`].
#[derive(Debug, Clone)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Time(Option<OffsetDateTime>),
}

/// A step of the hotline loop (dispatch, acceptance, sending back, a
/// call-back, placing, marking not assessable), applied in one
/// transaction: the case is checked to still be as the service saw it,
/// its columns set, and the step recorded in its history.
#[derive(Debug, Clone)]
pub struct Step {
    /// The status the case must still have (`None`: any).
    pub expect_status: Option<ComplaintStatus>,
    /// The unit the case must still be with (a unit acting on it).
    pub expect_unit: Option<UnitCode>,
    /// Refuse (conflict) a case already marked not assessable.
    pub expect_assessable: bool,
    /// The case must not have changed at all since this time (its
    /// `updated_at` as the service read it): for a step whose check looks
    /// at more than the status and unit (placing a case).
    pub expect_unchanged_since: Option<OffsetDateTime>,
    /// The new status (`None`: unchanged).
    pub to: Option<ComplaintStatus>,
    /// What the history calls the step.
    pub action: &'static str,
    /// The unit the step concerns, recorded in the history.
    pub unit: Option<UnitCode>,
    /// Columns to set. Names come from the service's code, never from a
    /// request.
    pub set: Vec<(&'static str, Cell)>,
    /// A new location (WGS 84) with its links and flags: placing a case.
    pub location: Option<((f64, f64), Linking)>,
    /// The street and community of the new location.
    pub area: crate::domain::AreaPath,
    pub note: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub callback: Option<CallbackAnswers>,
    pub actor_token: Option<i64>,
    pub actor_role: String,
}

impl Step {
    /// A step that checks and changes nothing yet, taken by `actor` (the
    /// service itself when `None`).
    pub fn new(action: &'static str, actor: Option<&crate::domain::Principal>) -> Self {
        Step {
            expect_status: None,
            expect_unit: None,
            expect_assessable: false,
            expect_unchanged_since: None,
            to: None,
            action,
            unit: None,
            set: Vec::new(),
            location: None,
            area: crate::domain::AreaPath::default(),
            note: None,
            detail: None,
            callback: None,
            actor_token: actor.map(|p| p.token_id),
            actor_role: actor.map_or("system", |p| p.role.as_str()).to_string(),
        }
    }
}

/// Which call-backs the rates are computed over.
#[derive(Debug, Clone, Default)]
pub struct RatesFilter {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub district: Option<District>,
    pub unit: Option<UnitCode>,
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

    /// How many complaints match (`limit` and `offset` ignored).
    async fn count_complaints(&self, filter: &ComplaintFilter) -> Result<u64, StoreError>;

    /// A page of complaints, newest report first (then highest id).
    async fn complaints_page(&self, filter: &ComplaintFilter)
    -> Result<Vec<Complaint>, StoreError>;

    /// A page of complaints and how many match.
    async fn list_complaints(
        &self,
        filter: &ComplaintFilter,
    ) -> Result<(Vec<Complaint>, u64), StoreError> {
        let matched = self.count_complaints(filter).await?;
        Ok((self.complaints_page(filter).await?, matched))
    }

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

    /// Applies a step of the loop if the case is still as expected (else
    /// a `Conflict`), recording it in the history.
    async fn apply_step(&self, id: ComplaintId, step: &Step) -> Result<Complaint, StoreError>;

    /// The call-back rates over the latest valid call-back of each case.
    async fn callback_rates(
        &self,
        filter: &RatesFilter,
        weights: &[(String, f64)],
    ) -> Result<CallbackRates, StoreError>;

    /// Erases the caller's name and phone of up to `limit` cases closed
    /// before `closed_before`, recording each erasure in the case's
    /// history. Returns how many were erased.
    async fn erase_personal_data(
        &self,
        closed_before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Up to `limit` call-backs with ids above `after`, by id (for
    /// `migrate-store`).
    async fn callbacks_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<super::CallbackRow>, StoreError>;

    /// Stores call-backs as they were, ids and all (for `migrate-store`).
    async fn restore_callbacks(&self, rows: &[super::CallbackRow]) -> Result<(), StoreError>;

    /// The key of this name the service keeps in the database, made from
    /// `fresh` the first time (every instance then reads the same one).
    async fn service_key(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Up to `limit` cases with a caller's phone and no hash of it, as
    /// (id, phone), in id order.
    async fn unhashed_phones(&self, limit: u32) -> Result<Vec<(i64, String)>, StoreError>;

    /// Stores the hashes of these cases' phones.
    async fn set_caller_hashes(&self, hashes: &[(i64, String)]) -> Result<(), StoreError>;

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
    /// not themselves duplicates: candidates a new one may duplicate. The
    /// `limit` most recent, newest first, with locations and report times.
    async fn open_in(
        &self,
        category: Category,
        bbox: LonLatBox,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(ComplaintId, (f64, f64), OffsetDateTime)>, StoreError>;
}

/// A stored complaint's columns as read, before they are checked.
pub(super) struct ComplaintRow {
    pub id: i64,
    pub case_number: String,
    pub channel: String,
    pub category: String,
    pub description: String,
    pub address: Option<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub case_type: String,
    pub location: Option<(f64, f64)>,
    pub raw_location: Option<(f64, f64)>,
    pub located_by: String,
    pub coord_sys: String,
    pub reported_at: OffsetDateTime,
    pub status: String,
    pub resolution: Option<String>,
    pub satisfaction: Option<i64>,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub caller_phone_hash: Option<String>,
    pub duplicate_of: Option<i64>,
    pub flags: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub unit: Option<String>,
    pub urgency: Option<String>,
    pub dispatched_at: Option<OffsetDateTime>,
    pub response_due: Option<OffsetDateTime>,
    pub resolution_due: Option<OffsetDateTime>,
    pub accepted_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub not_assessable_reason: Option<String>,
    pub not_assessable_by: Option<i64>,
    pub personal_data_erased_at: Option<OffsetDateTime>,
}

pub(super) fn corrupt(what: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

impl ComplaintRow {
    /// The complaint, with every coded column checked.
    pub fn into_complaint(self) -> Result<Complaint, StoreError> {
        let flags: Vec<String> =
            serde_json::from_str(&self.flags).map_err(|e| corrupt("flags")(e.to_string()))?;
        let handling = match (
            self.unit,
            self.urgency,
            self.dispatched_at,
            self.response_due,
            self.resolution_due,
        ) {
            (
                Some(unit),
                Some(tier),
                Some(dispatched_at),
                Some(response_due),
                Some(resolution_due),
            ) => Some(Handling {
                unit: UnitCode::parse(&unit).map_err(corrupt("unit"))?,
                tier: tier.parse().map_err(corrupt("urgency"))?,
                dispatched_at,
                response_due,
                resolution_due,
                accepted_at: self.accepted_at,
            }),
            _ => None,
        };
        Ok(Complaint {
            id: ComplaintId(self.id),
            draft: ComplaintDraft {
                case_number: CaseNumber::parse(&self.case_number)
                    .map_err(corrupt("case number"))?,
                channel: self.channel.parse().map_err(corrupt("channel"))?,
                case_type: self.case_type.parse().map_err(corrupt("case_type"))?,
                category: self.category.parse().map_err(corrupt("category"))?,
                description: self.description,
                address: self.address,
                district: self
                    .district
                    .map(|d| District::from_str(&d))
                    .transpose()
                    .map_err(corrupt("district"))?,
                street: self.street,
                community: self.community,
                location: self.location,
                raw_location: self.raw_location,
                located_by: self.located_by.parse().map_err(corrupt("located_by"))?,
                coord_sys: self
                    .coord_sys
                    .parse::<CoordSys>()
                    .map_err(corrupt("coord_sys"))?,
                reported_at: self.reported_at,
                caller: Caller {
                    name: self.caller_name,
                    phone: self.caller_phone,
                },
                caller_phone_hash: self.caller_phone_hash,
                answered_on_call: false,
            },
            status: self.status.parse().map_err(corrupt("status"))?,
            resolution: self.resolution,
            satisfaction: self
                .satisfaction
                .map(Satisfaction::try_from)
                .transpose()
                .map_err(corrupt("satisfaction"))?,
            duplicate_of: self.duplicate_of.map(ComplaintId),
            flags,
            created_at: self.created_at,
            updated_at: self.updated_at,
            handling,
            closed_at: self.closed_at,
            not_assessable: match (self.not_assessable_reason, self.not_assessable_by) {
                (Some(reason), Some(approved_by)) => Some(NotAssessable {
                    reason,
                    approved_by,
                }),
                _ => None,
            },
            personal_data_erased_at: self.personal_data_erased_at,
        })
    }
}

/// The first entries of every history: intake, which is not stored as an
/// event (at bulk rates that row would cost 13 % of an import) but is the
/// complaint's creation, and, for an inquiry answered on the call, its
/// closing at the same moment.
pub(super) fn intake_events(complaint: &Complaint) -> Vec<StatusChange> {
    let mut events = vec![StatusChange {
        from: None,
        to: ComplaintStatus::Received,
        action: None,
        unit: None,
        detail: None,
        note: Some(format!("received by {}", complaint.draft.channel)),
        by: "system".into(),
        at: complaint.created_at,
    }];
    if complaint.handling.is_none() && complaint.closed_at == Some(complaint.created_at) {
        events.push(StatusChange {
            from: Some(ComplaintStatus::Received),
            to: ComplaintStatus::Closed,
            action: Some("answered_on_call".into()),
            unit: None,
            detail: None,
            note: Some("answered on the call".into()),
            by: "system".into(),
            at: complaint.created_at,
        });
    }
    events
}

/// A stored event's columns, as read.
pub(super) struct EventColumns {
    pub from: Option<String>,
    pub to: String,
    pub action: Option<String>,
    pub unit: Option<String>,
    pub detail: Option<String>,
    pub note: Option<String>,
    pub by: String,
    pub at: OffsetDateTime,
}

/// A stored event's columns, checked.
pub(super) fn status_change(e: EventColumns) -> Result<StatusChange, StoreError> {
    let EventColumns {
        from,
        to,
        action,
        unit,
        detail,
        note,
        by,
        at,
    } = e;
    Ok(StatusChange {
        from: from
            .map(|f| f.parse())
            .transpose()
            .map_err(corrupt("status"))?,
        to: to.parse().map_err(corrupt("status"))?,
        action,
        unit,
        // Keys sorted: PostgreSQL's jsonb orders them its own way.
        detail: detail
            .map(|d| serde_json::from_str(&d).map(super::transfer::sorted))
            .transpose()
            .map_err(|e| corrupt("detail")(e.to_string()))?,
        note,
        by,
        at,
    })
}

/// The filter of [`ComplaintStore::open_in`].
pub(super) fn open_filter(
    category: Category,
    bbox: LonLatBox,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> ComplaintFilter {
    ComplaintFilter {
        bbox: Some(bbox),
        categories: vec![category],
        statuses: ComplaintStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect(),
        reported_from: Some(since),
        reported_to: Some(until),
        exclude_duplicates: true,
        ..ComplaintFilter::default()
    }
}

/// The answer of [`ComplaintStore::insert_complaints`], in input order:
/// `created` maps the case numbers stored now to their ids, `existing`
/// holds the complaints whose case numbers were known.
pub(super) fn intake_answers(
    items: &[(ComplaintDraft, Linking)],
    created: &HashMap<&str, i64>,
    existing: &HashMap<String, Complaint>,
    at: OffsetDateTime,
) -> Result<Vec<(Complaint, bool)>, StoreError> {
    let mut out: Vec<(Complaint, bool)> = Vec::with_capacity(items.len());
    let mut answered: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (draft, linking) in items {
        let case = draft.case_number.as_str();
        if let Some(&earlier) = answered.get(case) {
            // The same case again in this batch: nothing new.
            let again = out[earlier].0.clone();
            out.push((again, false));
            continue;
        }
        answered.insert(case, out.len());
        match created.get(case) {
            Some(id) => out.push((
                Complaint {
                    id: ComplaintId(*id),
                    draft: draft.clone(),
                    status: draft.initial_status(),
                    resolution: None,
                    satisfaction: None,
                    duplicate_of: None,
                    flags: linking.flags.clone(),
                    created_at: at,
                    updated_at: at,
                    handling: None,
                    closed_at: draft.answered_on_call.then_some(at),
                    not_assessable: None,
                    personal_data_erased_at: None,
                },
                true,
            )),
            None => {
                let stored = existing.get(case).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!("case {case} neither inserted nor found"))
                })?;
                out.push((stored, false));
            }
        }
    }
    Ok(out)
}

/// Rounds an extent's box outwards to 1e-7 degrees (1 cm).
pub(super) fn rounded_box(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> LonLatBox {
    let (down, up) = (
        |x: f64| (x * 1e7).floor() / 1e7,
        |x: f64| (x * 1e7).ceil() / 1e7,
    );
    LonLatBox {
        min_lon: down(min_lon),
        min_lat: down(min_lat),
        max_lon: up(max_lon),
        max_lat: up(max_lat),
    }
}

/// Whether `id` may be marked a duplicate of `of` (or unmarked, with
/// `None`), from what the marking transaction read with both rows
/// locked: `rows` holds each existing one's id and own mark, `pointing`
/// a complaint already marked a duplicate of `id`. A duplicate points at
/// an original, and nothing points at a duplicate, so marks never chain
/// or cycle.
pub(super) fn check_duplicate_mark(
    id: ComplaintId,
    of: Option<ComplaintId>,
    rows: &[(i64, Option<i64>)],
    pointing: Option<i64>,
) -> Result<(), StoreError> {
    let mark = |wanted: ComplaintId| rows.iter().find(|(r, _)| *r == wanted.0).map(|(_, m)| *m);
    if mark(id).is_none() {
        return Err(StoreError::NotFound);
    }
    let Some(of) = of else { return Ok(()) };
    match mark(of) {
        None => Err(StoreError::Conflict(format!(
            "complaint {of} does not exist"
        ))),
        Some(Some(original)) => Err(StoreError::Conflict(format!(
            "complaint {of} is itself a duplicate of {original}; point at the original"
        ))),
        Some(None) => match pointing {
            Some(other) => Err(StoreError::Conflict(format!(
                "complaint {other} is marked a duplicate of complaint {id}, so {id} is an original; unmark {other} first"
            ))),
            None => Ok(()),
        },
    }
}
