//! Complaint use cases: intake (idempotent on case number, converted to
//! WGS 84, linked to assets, with suggested duplicates), status changes,
//! duplicate marking, and relinking when assets change.

use crate::domain::{
    CaseNumber, Complaint, ComplaintDraft, ComplaintId, ComplaintStatus, Principal, Satisfaction,
    StatusChange, ValidationError,
};
use crate::domain::{ComplaintExtent, ComplaintFilter, ComplaintLink, ComplaintStats, Linking};
use crate::services::hotline_config::Hotline;
use crate::services::linking::LinkingRules;
use crate::services::registry::Registry;
use crate::services::routing::Route;
use crate::services::store_failure::StoreFailure;
use crate::spatial::LonLatBox;
use crate::store::{Store, StoreError, Transition};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// Longest note or resolution on a status change, characters.
const NOTE_MAX_CHARS: usize = 2_000;
#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    #[error("invalid complaint: {0}")]
    Invalid(#[from] ValidationError),
    #[error("complaint {0} does not exist")]
    NotFound(ComplaintId),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// A page that starts too deep: asked for by date or place instead.
    #[error("{0}")]
    TooDeep(String),
    #[error(transparent)]
    Store(StoreFailure),
    /// The group commit that held this complaint failed (cause logged
    /// by the writer).
    #[error("storing the complaint failed: {0}")]
    WriteFailed(String),
    /// The service is shutting down.
    #[error("{0}")]
    Unavailable(String),
}

/// What a client hears while the database is away.
fn unavailable() -> ComplaintError {
    ComplaintError::Unavailable(format!(
        "{}; sending the same case number again is safe",
        crate::store::DATABASE_UNAVAILABLE
    ))
}

impl From<StoreError> for ComplaintError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                unavailable()
            }
            other => ComplaintError::Store(other.into()),
        }
    }
}

fn store_error(id: ComplaintId, e: StoreError) -> ComplaintError {
    match e {
        StoreError::NotFound => ComplaintError::NotFound(id),
        StoreError::Conflict(detail) => ComplaintError::Conflict(detail),
        other => other.into(),
    }
}

/// A complaint with what was found for it at intake.
#[derive(Debug, Clone)]
pub struct Intake {
    pub complaint: Complaint,
    /// False when the case number was already known: nothing changed.
    pub created: bool,
    /// Open complaints of the same category nearby and recent: the most
    /// likely few, and how many.
    pub suggested_duplicates: Suggested,
    pub links: Vec<ComplaintLink>,
    /// Where routing sends the case: dispatched there at intake when a
    /// rule decided, else a suggestion for the operator.
    pub route: Option<Route>,
}

/// Who numbers a case submitted online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseNumbers {
    /// The client sends the 12345 case number (the native API).
    Given,
    /// The service mints one with this prefix (Open311, whose clients
    /// have no case numbers).
    Mint(&'static str),
}

/// A fresh case number: the prefix, the Unix time and 48 random bits.
fn mint_case_number(prefix: &str) -> Result<CaseNumber, ComplaintError> {
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(|e| {
        ComplaintError::WriteFailed(format!("no randomness for a case number: {e}"))
    })?;
    let text = format!(
        "{prefix}-{}-{}",
        OffsetDateTime::now_utc().unix_timestamp(),
        crate::encoding::hex(&suffix)
    );
    CaseNumber::parse(&text).map_err(ComplaintError::WriteFailed)
}

/// Deepest page start when listing complaints.
pub const MAX_COMPLAINT_OFFSET: u64 = 100_000;

/// Most duplicates suggested at intake.
pub const DUPLICATES_SUGGESTED: usize = 5;
/// Most recent candidates read when looking for duplicates.
pub const DUPLICATE_CANDIDATES_READ: u32 = 500;

/// Duplicates suggested for a new complaint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suggested {
    /// At most [`DUPLICATES_SUGGESTED`], nearest first, then most recent.
    pub ids: Vec<ComplaintId>,
    /// How many candidates there are (among the most recent read).
    pub total: usize,
    /// False when [`DUPLICATE_CANDIDATES_READ`] were read and there may
    /// be more: `total` is then a lower bound.
    pub exact: bool,
}

/// A status change requested by a client.
#[derive(Debug, Clone)]
pub struct TransitionRequest {
    pub to: ComplaintStatus,
    pub note: Option<String>,
    pub resolution: Option<String>,
    pub satisfaction: Option<Satisfaction>,
}

#[derive(Clone)]
pub struct Complaints {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    rules: Arc<LinkingRules>,
    hotline: Arc<Hotline>,
    writer: mpsc::Sender<Queued>,
    /// The extent of the complaints up to an id, extended by the newer
    /// ones at each ask (so the table is scanned once, not per request).
    extent: Arc<tokio::sync::Mutex<Option<(ComplaintExtent, ComplaintId)>>>,
}

impl Complaints {
    /// Must be called inside a tokio runtime: it starts the group-commit
    /// writer of online intake.
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        rules: LinkingRules,
        hotline: Hotline,
    ) -> Self {
        let rules = Arc::new(rules);
        let (writer, queue) = mpsc::channel(4 * GROUP_COMMIT_MAX);
        tokio::spawn(group_commit_writer(
            queue,
            store.clone(),
            registry.clone(),
            rules.clone(),
        ));
        Self {
            writer,
            store,
            registry,
            rules,
            hotline: Arc::new(hotline),
            extent: Arc::default(),
        }
    }

    /// The links of each draft, worked out under one read of the index.
    pub fn link_all(&self, drafts: Vec<ComplaintDraft>) -> Vec<(ComplaintDraft, Linking)> {
        link_drafts(&self.registry, &self.rules, drafts)
    }

    /// Takes in one complaint from a client (the native API or Open311):
    /// the principal must take complaints, the Feature is checked as
    /// [`Complaints::draft_from_feature`] does, and a district-scoped
    /// token files only in its district (a case without a district gets
    /// the token's). With [`CaseNumbers::Mint`] the service gives the
    /// case its number.
    pub async fn submit(
        &self,
        principal: &Principal,
        feature: &Value,
        numbers: CaseNumbers,
    ) -> Result<Intake, ComplaintError> {
        if !principal.role.takes_complaints() {
            return Err(ComplaintError::Forbidden(format!(
                "role {} may not take in complaints; operator or admin may",
                principal.role
            )));
        }
        let minted;
        let feature = match (numbers, feature.get("properties")) {
            (CaseNumbers::Mint(_), Some(Value::Object(p))) if p.contains_key("case_number") => {
                return Err(ValidationError::single(
                    "/properties/case_number",
                    "is given by the service on this route",
                )
                .into());
            }
            (CaseNumbers::Mint(prefix), Some(Value::Object(_))) => {
                let mut numbered = feature.clone();
                numbered["properties"]["case_number"] =
                    Value::String(mint_case_number(prefix)?.as_str().to_string());
                minted = numbered;
                &minted
            }
            _ => feature,
        };
        let mut draft = self.draft_from_feature(feature)?;
        match (principal.district, draft.district) {
            (Some(own), None) => draft.district = Some(own),
            (Some(own), Some(other)) if own != other => {
                return Err(ComplaintError::Forbidden(format!(
                    "this token may only file complaints in district {own}"
                )));
            }
            _ => {}
        }
        self.intake_one(draft).await
    }

    /// Takes in one complaint, online: a new case number is stored with its
    /// links (through the group-commit writer) and comes back with the
    /// open complaints it may duplicate; a known one comes back unchanged.
    pub async fn intake_one(&self, draft: ComplaintDraft) -> Result<Intake, ComplaintError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ComplaintError::Unavailable("the complaint writer has stopped".into());
        self.writer.send((draft, reply)).await.map_err(|_| gone())?;
        let (complaint, created, linking) = answer.await.map_err(|_| gone())??;
        let (suggested_duplicates, links) = if created {
            (self.similar_open(&complaint).await?, linking.links)
        } else {
            (Suggested::default(), self.store.links(complaint.id).await?)
        };
        let route = (complaint.status == ComplaintStatus::Received
            && complaint.draft.location.is_some())
        .then(|| self.route_of(&complaint, &links))
        .flatten();
        if created {
            crate::services::audit::record(
                self.store.as_ref(),
                vec![audited("created", None, &complaint)],
            )
            .await;
        }
        let complaint = if created {
            self.dispatch_at_intake(complaint, route.as_ref()).await?
        } else {
            complaint
        };
        Ok(Intake {
            complaint,
            created,
            suggested_duplicates,
            links,
            route,
        })
    }

    /// Intake of a batch from a bulk import, linked beforehand by
    /// [`Complaints::link_all`]: the same as online intake, without looking
    /// for duplicates to suggest (that is for an operator at the phone).
    pub async fn intake_batch(
        &self,
        items: Vec<(ComplaintDraft, Linking)>,
    ) -> Result<Vec<Intake>, ComplaintError> {
        let stored = self.store.insert_complaints(&items).await?;
        let new: Vec<&Complaint> = stored
            .iter()
            .filter(|(_, created)| *created)
            .map(|(c, _)| c)
            .collect();
        // A batch is one entry naming its cases (a row each would double
        // the import's writes).
        if let (Some(first), Some(last)) = (new.first(), new.last()) {
            crate::services::audit::record(
                self.store.as_ref(),
                vec![crate::services::audit::Change::new(
                    "complaint",
                    format!("{}-{}", first.id.0, last.id.0),
                    "imported",
                    None,
                    Some(serde_json::json!({"count": new.len(), "first_id": first.id.0, "last_id": last.id.0})),
                )],
            )
            .await;
        }
        let mut out = Vec::with_capacity(stored.len());
        for ((complaint, created), (_, linking)) in stored.into_iter().zip(items) {
            out.push(Intake {
                complaint,
                created,
                suggested_duplicates: Suggested::default(),
                links: linking.links,
                route: None,
            });
        }
        Ok(out)
    }

    /// Open complaints of the same category within the duplicate radius,
    /// reported in the window before this one: the few most likely
    /// (nearest, then most recent) and how many there are. Only the
    /// [`DUPLICATE_CANDIDATES_READ`] most recent candidates are read, so
    /// the check costs the same however long the history.
    async fn similar_open(&self, complaint: &Complaint) -> Result<Suggested, ComplaintError> {
        let d = &complaint.draft;
        let Some(location) = d.location else {
            return Ok(Suggested {
                exact: true,
                ..Suggested::default()
            });
        };
        let radius = self.rules.duplicate_radius_m(d.category);
        let window = time::Duration::days(i64::from(self.rules.duplicates.window_days));
        let candidates = self
            .store
            .open_in(
                d.category,
                LonLatBox::around(location, radius),
                d.reported_at - window,
                d.reported_at,
                DUPLICATE_CANDIDATES_READ,
            )
            .await?;
        let read_all = candidates.len() < DUPLICATE_CANDIDATES_READ as usize;
        let here = geo::Point::new(location.0, location.1);
        let mut near: Vec<(f64, std::cmp::Reverse<OffsetDateTime>, ComplaintId)> = candidates
            .into_iter()
            .filter(|(id, _, _)| *id != complaint.id)
            .map(|(id, at, reported)| {
                let distance = crate::spatial::distance_m(here, geo::Point::new(at.0, at.1));
                (distance, std::cmp::Reverse(reported), id)
            })
            .filter(|(distance, _, _)| *distance <= radius)
            .collect();
        let total = near.len();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        Ok(Suggested {
            ids: near
                .into_iter()
                .take(DUPLICATES_SUGGESTED)
                .map(|(_, _, id)| id)
                .collect(),
            total,
            exact: read_all,
        })
    }

    pub async fn get(&self, id: ComplaintId) -> Result<Complaint, ComplaintError> {
        self.store
            .get_complaint(id)
            .await?
            .ok_or(ComplaintError::NotFound(id))
    }

    pub async fn history(&self, id: ComplaintId) -> Result<Vec<StatusChange>, ComplaintError> {
        self.store.history(id).await.map_err(ComplaintError::from)
    }

    pub async fn links(&self, id: ComplaintId) -> Result<Vec<ComplaintLink>, ComplaintError> {
        self.get(id).await?;
        self.store.links(id).await.map_err(ComplaintError::from)
    }

    /// Refuses pages that start past [`MAX_COMPLAINT_OFFSET`]: the store
    /// skips rows one by one to reach them.
    fn check_offset(filter: &ComplaintFilter) -> Result<(), ComplaintError> {
        if filter.offset > MAX_COMPLAINT_OFFSET {
            return Err(ComplaintError::TooDeep(format!(
                "pages start at most {MAX_COMPLAINT_OFFSET} complaints in (asked {}); narrow the dates, place or categories instead",
                filter.offset
            )));
        }
        Ok(())
    }

    /// How many complaints match.
    pub async fn count(&self, filter: &ComplaintFilter) -> Result<u64, ComplaintError> {
        Ok(self.store.count_complaints(filter).await?)
    }

    /// A page of complaints, without counting them all.
    pub async fn page(&self, filter: &ComplaintFilter) -> Result<Vec<Complaint>, ComplaintError> {
        Self::check_offset(filter)?;
        Ok(self.store.complaints_page(filter).await?)
    }

    pub async fn list(
        &self,
        filter: &ComplaintFilter,
    ) -> Result<(Vec<Complaint>, u64), ComplaintError> {
        Self::check_offset(filter)?;
        self.store
            .list_complaints(filter)
            .await
            .map_err(ComplaintError::from)
    }

    /// Where and when all complaints are (those stored by other processes
    /// on the same database included).
    pub async fn extent(&self) -> Result<Option<ComplaintExtent>, ComplaintError> {
        let mut known = self.extent.lock().await;
        let after = known.map(|(_, id)| id).unwrap_or(ComplaintId(0));
        let newer = self.store.complaint_extent(after).await?;
        *known = match (*known, newer) {
            (Some((old, _)), Some((new, last))) => Some((old.merge(new), last)),
            (old, None) => old,
            (None, new) => new,
        };
        Ok(known.map(|(extent, _)| extent))
    }

    pub async fn stats(&self, filter: &ComplaintFilter) -> Result<ComplaintStats, ComplaintError> {
        self.store
            .complaint_stats(filter)
            .await
            .map_err(ComplaintError::from)
    }

    /// Moves a complaint along its lifecycle, if the move is legal and the
    /// principal's role may make it.
    pub async fn transition(
        &self,
        principal: &Principal,
        id: ComplaintId,
        request: TransitionRequest,
    ) -> Result<Complaint, ComplaintError> {
        let current = self.get(id).await?;
        if !principal.may_act_in(current.draft.district) {
            return Err(ComplaintError::Forbidden(
                "this token may not act outside its district".into(),
            ));
        }
        if principal.role == crate::domain::Role::Unit && !self.may_see(Some(principal), &current) {
            return Err(ComplaintError::Forbidden(format!(
                "complaint {id} is not with this token's unit"
            )));
        }
        if !request.to.may_be_set_by(principal.role) {
            return Err(ComplaintError::Forbidden(format!(
                "role {} may not move a complaint to {}",
                principal.role, request.to
            )));
        }
        if !current.status.may_become(request.to) {
            let next: Vec<&str> = current.status.next().iter().map(|s| s.as_str()).collect();
            return Err(ComplaintError::Conflict(format!(
                "a {} complaint cannot become {}; it may become: {}",
                current.status,
                request.to,
                if next.is_empty() {
                    "nothing (it is final)".to_string()
                } else {
                    next.join(", ")
                }
            )));
        }
        for (pointer, text) in [
            ("/note", &request.note),
            ("/resolution", &request.resolution),
        ] {
            if let Some(text) = text {
                check_text(pointer, text, NOTE_MAX_CHARS)?;
            }
        }
        // Moves with a step of their own, which records more than a status.
        use ComplaintStatus::{Closed, Dispatched, InProgress, Received, Resolved};
        let dispatched = current.handling.is_some();
        let admin = principal.role == crate::domain::Role::Admin;
        let own_step = match (current.status, request.to) {
            (_, Dispatched) => Some("POST /v1/complaints/{id}/dispatch (a dispatch names a unit)"),
            (Dispatched, Received) => {
                Some("POST /v1/complaints/{id}/send-back (by the unit, with a reason)")
            }
            (Dispatched, InProgress) => {
                Some("POST /v1/complaints/{id}/accept (by the unit it is with)")
            }
            (Resolved, Closed) if dispatched && !admin => Some(
                "POST /v1/complaints/{id}/callback: a dispatched case is closed by its call-back (an admin may close it without one)",
            ),
            (Received, Closed) if !self.closes_without_dispatch(current.draft.case_type) => Some(
                "POST /v1/complaints/{id}/dispatch: a case of this type is closed after its call-back",
            ),
            _ => None,
        };
        if let Some(route) = own_step {
            return Err(ComplaintError::Conflict(format!(
                "a {} complaint becomes {} through {route}",
                current.status, request.to
            )));
        }
        // A dispatched case is resolved by the staff of its unit.
        if request.to == Resolved
            && dispatched
            && !admin
            && principal.role != crate::domain::Role::Unit
        {
            return Err(ComplaintError::Forbidden(format!(
                "complaint {id} is with a unit: its staff resolve it (a unit token)"
            )));
        }
        if request.satisfaction.is_some() && request.to != ComplaintStatus::Closed {
            return Err(ValidationError::single(
                "/satisfaction",
                "is given when a complaint is closed",
            )
            .into());
        }
        let transition = Transition {
            from: current.status,
            to: request.to,
            note: request.note,
            resolution: request.resolution,
            satisfaction: request.satisfaction,
            actor_token: Some(principal.token_id),
            actor_role: principal.role.as_str().to_string(),
        };
        let after = self
            .store
            .transition(id, &transition)
            .await
            .map_err(|e| store_error(id, e))?;
        crate::services::audit::record(
            self.store.as_ref(),
            vec![audited(request.to.as_str(), Some(&current), &after)],
        )
        .await;
        Ok(after)
    }

    /// Marks (or, with `None`, unmarks) a complaint as a duplicate.
    pub async fn mark_duplicate(
        &self,
        principal: &Principal,
        id: ComplaintId,
        of: Option<ComplaintId>,
    ) -> Result<Complaint, ComplaintError> {
        if !principal.role.takes_complaints() {
            return Err(ComplaintError::Forbidden(
                "only operators and admins mark duplicates".into(),
            ));
        }
        let complaint = self.get(id).await?;
        let outside =
            || ComplaintError::Forbidden("this token may not act outside its district".into());
        if !principal.may_act_in(complaint.draft.district) {
            return Err(outside());
        }
        if let Some(original) = of {
            if original == id {
                return Err(ValidationError::single(
                    "/duplicate_of",
                    "a complaint cannot duplicate itself",
                )
                .into());
            }
            let target = self.store.get_complaint(original).await?.ok_or_else(|| {
                ValidationError::single(
                    "/duplicate_of",
                    format!("complaint {original} does not exist"),
                )
            })?;
            if !principal.may_act_in(target.draft.district) {
                return Err(outside());
            }
            if target.draft.category != complaint.draft.category {
                return Err(ValidationError::single(
                    "/duplicate_of",
                    "a duplicate must have the same category",
                )
                .into());
            }
        }
        // Whether the original is itself a duplicate, or something points
        // at this one, is decided by the store with both rows locked, so
        // that racing marks cannot make a chain or a cycle.
        let before = self.get(id).await.ok();
        let after = self
            .store
            .set_duplicate_of(id, of)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(detail) => {
                    ValidationError::single("/duplicate_of", detail).into()
                }
                e => store_error(id, e),
            })?;
        let action = if of.is_some() {
            "marked_duplicate"
        } else {
            "unmarked_duplicate"
        };
        crate::services::audit::record(
            self.store.as_ref(),
            vec![audited(action, before.as_ref(), &after)],
        )
        .await;
        Ok(after)
    }

    /// Applies a step of the loop and records it in the audit trail.
    pub(super) async fn apply_audited(
        &self,
        id: ComplaintId,
        step: &crate::store::Step,
    ) -> Result<Complaint, StoreError> {
        let before = self.get(id).await.ok();
        let after = self.store.apply_step(id, step).await?;
        crate::services::audit::record(
            self.store.as_ref(),
            vec![audited(step.action, before.as_ref(), &after)],
        )
        .await;
        Ok(after)
    }
}

/// A change of a case for the audit trail: the case as the public sees it
/// before and after, its caller apart.
fn audited(
    action: &str,
    before: Option<&Complaint>,
    after: &Complaint,
) -> crate::services::audit::Change {
    use crate::services::complaint_feature::{PersonalData, complaint_feature};
    let public = |c: &Complaint| {
        let mut feature = complaint_feature(c, PersonalData::Hidden, serde_json::Map::new());
        // Worked out at each read, not a change.
        if let Some(p) = feature["properties"].as_object_mut() {
            p.remove("overdue");
        }
        feature
    };
    let personal = |c: &Complaint| serde_json::json!({"caller_name": c.draft.caller.name, "caller_phone": c.draft.caller.phone});
    crate::services::audit::Change {
        // A case whose caller has been erased keeps nothing of them here.
        personal: after.personal_data_erased_at.is_none().then(|| {
            (
                before.map(personal).unwrap_or(serde_json::json!({})),
                personal(after),
            )
        }),
        ..crate::services::audit::Change::new(
            "complaint",
            after.id.0,
            action,
            before.map(public),
            Some(public(after)),
        )
    }
}

mod draft;
mod group_commit;
mod hotline_loop;
mod relinking;

pub use crate::store::RatesFilter;
pub use draft::DESCRIPTION_MAX_CHARS;
pub(crate) use draft::check_text;
use group_commit::{GROUP_COMMIT_MAX, Queued, group_commit_writer, link_drafts};
pub use hotline_loop::{CALLER_HISTORY_MAX, DispatchRequest};
