//! Complaint use cases: intake (idempotent on case number, converted to
//! WGS 84, linked to assets, with suggested duplicates), status changes,
//! duplicate marking, and relinking when assets change.

use crate::domain::{
    Caller, CaseNumber, Category, Channel, Complaint, ComplaintDraft, ComplaintId, ComplaintStatus,
    CoordSys, District, Principal, Satisfaction, StatusChange, ValidationError,
};
use crate::linking::LinkingRules;
use crate::registry::{AssetChange, AssetObserver, Registry};
use crate::spatial::LonLatBox;
use crate::store::{
    ComplaintExtent, ComplaintFilter, ComplaintLink, ComplaintStats, Linking, Store, StoreError,
    Transition,
};
use serde_json::{Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

/// Longest complaint text, characters. (12345 case texts are short; a
/// longer text is pasted rubbish or an attack.)
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
const TEXT_MAX_CHARS: usize = 300;
/// Changes of more assets than this at once are relinked by area, not
/// one by one.
const RELINK_BY_AREA_ABOVE: usize = 200;

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
    Store(StoreError),
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
            other => ComplaintError::Store(other),
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
    writer: mpsc::Sender<Queued>,
    /// The extent of the complaints up to an id, extended by the newer
    /// ones at each ask (so the table is scanned once, not per request).
    extent: Arc<tokio::sync::Mutex<Option<(ComplaintExtent, ComplaintId)>>>,
}

/// A complaint waiting for the group-commit writer, and where its answer
/// goes.
type Queued = (
    ComplaintDraft,
    oneshot::Sender<Result<(Complaint, bool, Linking), ComplaintError>>,
);

/// Most complaints one group commit takes.
const GROUP_COMMIT_MAX: usize = 1_000;

/// Group commit: complaints that arrive while the previous transaction is
/// being written go into the next one together, so one fsync serves many
/// callers. Each caller is answered only after its transaction commits
/// (durable before the answer). An idle writer takes a lone complaint at
/// once, so nobody waits for a batch to fill.
async fn group_commit_writer(
    mut queue: mpsc::Receiver<Queued>,
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    rules: Arc<LinkingRules>,
) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_COMMIT_MAX {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (drafts, replies): (Vec<ComplaintDraft>, Vec<_>) = group.into_iter().unzip();
        let items = link_drafts(&registry, &rules, drafts);
        match store.insert_complaints(&items).await {
            Ok(stored) => {
                for ((reply, (complaint, created)), (_, linking)) in
                    replies.into_iter().zip(stored).zip(items)
                {
                    let _ = reply.send(Ok((complaint, created, linking)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, complaints = replies.len(), "group commit of complaints failed");
                let transient = matches!(e, StoreError::Unavailable(_));
                for reply in replies {
                    let _ = reply.send(Err(if transient {
                        unavailable()
                    } else {
                        ComplaintError::WriteFailed(e.to_string())
                    }));
                }
            }
        }
    }
}

/// The links of each draft, worked out under one read of the index.
fn link_drafts(
    registry: &Registry,
    rules: &LinkingRules,
    drafts: Vec<ComplaintDraft>,
) -> Vec<(ComplaintDraft, Linking)> {
    registry.with_index(|index| {
        drafts
            .into_iter()
            .map(|d| {
                let linking = rules.link(index, d.category, d.location);
                (d, linking)
            })
            .collect()
    })
}

fn text_field(
    properties: &Map<String, Value>,
    key: &str,
    max_chars: usize,
    required: bool,
) -> Result<Option<String>, ValidationError> {
    let pointer = format!("/properties/{key}");
    match properties.get(key) {
        None | Some(Value::Null) if required => {
            Err(ValidationError::single(pointer, "is required"))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.trim().is_empty() && required {
                return Err(ValidationError::single(pointer, "must not be blank"));
            }
            check_text(&pointer, s, max_chars)?;
            Ok((!s.trim().is_empty()).then(|| s.trim().to_string()))
        }
        Some(_) => Err(ValidationError::single(pointer, "must be a string")),
    }
}

/// The length and characters of a text people typed.
fn check_text(pointer: &str, text: &str, max_chars: usize) -> Result<(), ValidationError> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ValidationError::single(
            pointer,
            format!("must be at most {max_chars} characters, got {chars}"),
        ));
    }
    match crate::domain::free_text_problem(text) {
        Some(problem) => Err(ValidationError::single(pointer, problem)),
        None => Ok(()),
    }
}

/// Longest note or resolution on a status change, characters.
const NOTE_MAX_CHARS: usize = 2_000;

fn parsed<T: std::str::FromStr<Err = String>>(
    properties: &Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<T>, ValidationError> {
    text_field(properties, key, 100, required)?
        .map(|t| {
            t.parse::<T>()
                .map_err(|e| ValidationError::single(format!("/properties/{key}"), e))
        })
        .transpose()
}

/// Checks a phone number loosely: digits with optional +, spaces, dashes
/// and parentheses, 3 to 20 digits.
fn check_phone(phone: &str) -> Result<(), ValidationError> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if allowed && (3..=20).contains(&digits) {
        Ok(())
    } else {
        Err(ValidationError::single(
            "/properties/caller_phone",
            "must be a phone number of 3 to 20 digits",
        ))
    }
}

/// Parses the location of a complaint, in `coord_sys`, to WGS 84.
fn location_to_wgs84(
    lon: f64,
    lat: f64,
    coord_sys: CoordSys,
    service_area: LonLatBox,
) -> Result<(f64, f64), ValidationError> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(ValidationError::single(
            "/geometry/coordinates/0",
            format!("longitude {lon} is outside -180..180"),
        ));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(ValidationError::single(
            "/geometry/coordinates/1",
            format!("latitude {lat} is outside -90..90"),
        ));
    }
    let (lon, lat) = coord_sys
        .to_wgs84(lon, lat)
        .map_err(|e| ValidationError::single("/geometry/coordinates", e))?;
    if !service_area.contains(lon, lat) {
        return Err(ValidationError::single(
            "/geometry/coordinates",
            crate::spatial::outside_service_area(service_area, lon, lat),
        ));
    }
    Ok((lon, lat))
}

/// Reads an RFC 3339 time; at most a day in the future (clock skew).
pub fn parse_reported_at(text: &str, pointer: &str) -> Result<OffsetDateTime, ValidationError> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        ValidationError::single(
            pointer,
            format!("must be an RFC 3339 date-time with a time zone, got {text:?}"),
        )
    })?;
    if t > OffsetDateTime::now_utc() + time::Duration::days(1) {
        return Err(ValidationError::single(pointer, "lies in the future"));
    }
    Ok(t.to_offset(time::UtcOffset::UTC))
}

const KNOWN_PROPERTIES: &[&str] = &[
    "case_number",
    "channel",
    "category",
    "description",
    "address",
    "district",
    "reported_at",
    "coord_sys",
    "caller_name",
    "caller_phone",
    // Read-only members of a complaint as the API shows it; ignored.
    "status",
    "links",
    "duplicate_of",
    "flags",
    "raw_coordinates",
    "created_at",
    "updated_at",
    "resolution",
    "satisfaction",
    "suggested_duplicates",
    "suggested_duplicates_total",
    "suggested_duplicates_total_exact",
    "history",
];

impl Complaints {
    /// Must be called inside a tokio runtime: it starts the group-commit
    /// writer of online intake.
    pub fn new(store: Arc<dyn Store>, registry: Arc<Registry>, rules: LinkingRules) -> Self {
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
            extent: Arc::default(),
        }
    }

    /// Validates a complaint Feature of the native API.
    pub fn draft_from_feature(&self, feature: &Value) -> Result<ComplaintDraft, ValidationError> {
        if feature.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(ValidationError::single("/type", "must be \"Feature\""));
        }
        let properties = match feature.get("properties") {
            Some(Value::Object(map)) => map,
            _ => {
                return Err(ValidationError::single(
                    "/properties",
                    "must be a JSON object",
                ));
            }
        };
        let geometry = feature
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| {
                ValidationError::single("/geometry", "is required: a Point where the problem is")
            })?;
        if geometry.get("type").and_then(Value::as_str) != Some("Point") {
            return Err(ValidationError::single(
                "/geometry/type",
                "a complaint's location must be a Point",
            ));
        }
        let coordinates = geometry
            .get("coordinates")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ValidationError::single("/geometry/coordinates", "must be [longitude, latitude]")
            })?;
        let number = |i: usize| {
            coordinates.get(i).and_then(Value::as_f64).ok_or_else(|| {
                ValidationError::single(format!("/geometry/coordinates/{i}"), "must be a number")
            })
        };
        if !(2..=3).contains(&coordinates.len()) {
            return Err(ValidationError::single(
                "/geometry/coordinates",
                "must be [longitude, latitude]",
            ));
        }
        let raw = (number(0)?, number(1)?);
        self.draft_from_properties(properties, raw)
    }

    /// A checked draft from a complaint's properties and its location as
    /// sent (in the properties' `coord_sys`). Error pointers are those of
    /// a Feature (`/properties/…`).
    pub fn draft_from_properties(
        &self,
        properties: &Map<String, Value>,
        raw: (f64, f64),
    ) -> Result<ComplaintDraft, ValidationError> {
        for key in properties.keys() {
            if !KNOWN_PROPERTIES.contains(&key.as_str()) {
                return Err(ValidationError::single(
                    format!("/properties/{key}"),
                    "unknown property",
                ));
            }
        }
        let coord_sys = parsed::<CoordSys>(properties, "coord_sys", false)?.unwrap_or_default();
        let reported_at = match text_field(properties, "reported_at", 64, false)? {
            Some(t) => parse_reported_at(&t, "/properties/reported_at")?,
            None => OffsetDateTime::now_utc(),
        };
        let caller_phone = text_field(properties, "caller_phone", 32, false)?;
        if let Some(phone) = &caller_phone {
            check_phone(phone)?;
        }
        Ok(ComplaintDraft {
            case_number: parsed::<CaseNumber>(properties, "case_number", true)?
                .ok_or_else(|| ValidationError::single("/properties/case_number", "is required"))?,
            channel: parsed::<Channel>(properties, "channel", true)?
                .ok_or_else(|| ValidationError::single("/properties/channel", "is required"))?,
            category: parsed::<Category>(properties, "category", true)?
                .ok_or_else(|| ValidationError::single("/properties/category", "is required"))?,
            description: text_field(properties, "description", DESCRIPTION_MAX_CHARS, true)?
                .unwrap_or_default(),
            address: text_field(properties, "address", TEXT_MAX_CHARS, false)?,
            district: parsed::<District>(properties, "district", false)?,
            location: location_to_wgs84(raw.0, raw.1, coord_sys, self.registry.service_area())?,
            raw_location: raw,
            coord_sys,
            reported_at,
            caller: Caller {
                name: text_field(properties, "caller_name", 100, false)?,
                phone: caller_phone,
            },
        })
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
        Ok(Intake {
            complaint,
            created,
            suggested_duplicates,
            links,
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
        let mut out = Vec::with_capacity(stored.len());
        for ((complaint, created), (_, linking)) in stored.into_iter().zip(items) {
            out.push(Intake {
                complaint,
                created,
                suggested_duplicates: Suggested::default(),
                links: linking.links,
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
        let radius = self.rules.duplicate_radius_m(d.category);
        let window = time::Duration::days(i64::from(self.rules.duplicates.window_days));
        let candidates = self
            .store
            .open_in(
                d.category,
                around(d.location, radius),
                d.reported_at - window,
                d.reported_at,
                DUPLICATE_CANDIDATES_READ,
            )
            .await?;
        let read_all = candidates.len() < DUPLICATE_CANDIDATES_READ as usize;
        let here = geo::Point::new(d.location.0, d.location.1);
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
        self.store
            .transition(id, &transition)
            .await
            .map_err(|e| store_error(id, e))
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
        self.store
            .set_duplicate_of(id, of)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(detail) => {
                    ValidationError::single("/duplicate_of", detail).into()
                }
                e => store_error(id, e),
            })
    }

    /// Recomputes the links of complaints that an asset change may affect.
    async fn relink(&self, changes: &[AssetChange]) -> Result<usize, StoreError> {
        let mut areas: Vec<(Vec<Category>, LonLatBox)> = Vec::new();
        for change in changes {
            let reach = self.rules.reach_of(change.kind);
            if reach.is_empty() {
                continue;
            }
            let radius = reach.iter().map(|(_, r)| *r).fold(0.0, f64::max);
            let categories: Vec<Category> = reach.iter().map(|(c, _)| *c).collect();
            for bbox in [change.before, change.after].into_iter().flatten() {
                areas.push((categories.clone(), grow(bbox, radius)));
            }
        }
        if areas.len() > RELINK_BY_AREA_ABOVE {
            // Many changes (an import): one pass over their joint extent.
            let mut categories: Vec<Category> = areas.iter().flat_map(|(c, _)| c.clone()).collect();
            categories.sort();
            categories.dedup();
            let joint = areas
                .iter()
                .map(|(_, b)| *b)
                .reduce(union)
                .map(|b| vec![(categories, b)])
                .unwrap_or_default();
            areas = joint;
        }
        let mut updates = Vec::new();
        for (categories, bbox) in areas {
            for (id, category, location) in self.store.complaints_in(bbox, &categories).await? {
                if updates.iter().any(|(done, _)| *done == id) {
                    continue;
                }
                let linking = self
                    .registry
                    .with_index(|index| self.rules.link(index, category, location));
                updates.push((id, linking));
            }
        }
        self.store.replace_links(&updates).await?;
        Ok(updates.len())
    }
}

#[async_trait::async_trait]
impl AssetObserver for Complaints {
    async fn assets_changed(&self, changes: &[AssetChange]) {
        match self.relink(changes).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(complaints = n, "relinked complaints after an asset change"),
            Err(e) => tracing::error!(error = %e, "relinking complaints failed"),
        }
    }
}

/// A box of `radius_m` around a WGS 84 point.
fn around(point: (f64, f64), radius_m: f64) -> LonLatBox {
    grow(
        LonLatBox {
            min_lon: point.0,
            min_lat: point.1,
            max_lon: point.0,
            max_lat: point.1,
        },
        radius_m,
    )
}

/// The box grown by `radius_m` on every side (generously: 1 % extra, and
/// longitude degrees taken at the box's pole-most latitude).
fn grow(b: LonLatBox, radius_m: f64) -> LonLatBox {
    let dlat = radius_m * 1.01 / 110_574.0;
    let lat = b.min_lat.abs().max(b.max_lat.abs()).min(89.0) + dlat;
    let dlon = (radius_m * 1.01 / (111_320.0 * lat.min(89.9).to_radians().cos())).min(360.0);
    LonLatBox {
        min_lon: (b.min_lon - dlon).max(-180.0),
        min_lat: (b.min_lat - dlat).max(-90.0),
        max_lon: (b.max_lon + dlon).min(180.0),
        max_lat: (b.max_lat + dlat).min(90.0),
    }
}

fn union(a: LonLatBox, b: LonLatBox) -> LonLatBox {
    LonLatBox {
        min_lon: a.min_lon.min(b.min_lon),
        min_lat: a.min_lat.min(b.min_lat),
        max_lon: a.max_lon.max(b.max_lon),
        max_lat: a.max_lat.max(b.max_lat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::distance_m;
    use geo::Point;

    #[test]
    fn a_grown_box_holds_every_point_within_the_radius() {
        let b = around((116.3951, 39.9412), 300.0);
        for bearing in 0..36 {
            let a = f64::from(bearing) * 10f64.to_radians();
            let p = (
                116.3951 + 300.0 * a.sin() / 85_300.0,
                39.9412 + 300.0 * a.cos() / 111_035.0,
            );
            assert!(distance_m(Point::new(116.3951, 39.9412), Point::new(p.0, p.1)) > 295.0);
            assert!(
                p.0 > b.min_lon && p.0 < b.max_lon && p.1 > b.min_lat && p.1 < b.max_lat,
                "{p:?}"
            );
        }
    }

    #[test]
    fn phones_and_times_are_checked() {
        assert!(check_phone("+86 10 1234-5678").is_ok());
        assert!(check_phone("12").is_err());
        assert!(check_phone("call me").is_err());
        assert!(parse_reported_at("2024-10-18T09:12:00+08:00", "/x").is_ok());
        assert!(parse_reported_at("2024-10-18 09:12", "/x").is_err());
        assert!(parse_reported_at("2999-01-01T00:00:00Z", "/x").is_err());
    }
}
