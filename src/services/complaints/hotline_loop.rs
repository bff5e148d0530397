//! The hotline loop after intake (接诉即办): dispatch to the responsible
//! unit under deadlines, the unit accepting or sending back, the call-back
//! with its rates, marking a case not assessable, placing an unlocated
//! case, a caller's earlier cases, and erasure after retention.

use super::{ComplaintError, Complaints, check_text, store_error};
use crate::domain::{
    AssetId, AssetKind, CallbackAnswers, CallbackRates, CaseType, Complaint, ComplaintFilter,
    ComplaintId, ComplaintLink, ComplaintStatus, CoordSys, DeadlineTier, LocatedBy, Principal,
    Role, UnitCode, ValidationError, phone_digest,
};
use crate::services::routing::Route;
use crate::store::{Cell, RatesFilter, Step};
use serde_json::json;
use time::OffsetDateTime;

/// Longest reason or note of a step, characters.
const REASON_MAX_CHARS: usize = 1_000;
/// Cases erased per transaction.
const ERASURE_BATCH: u32 = 1_000;
/// Most earlier cases shown of one caller.
pub const CALLER_HISTORY_MAX: u32 = 200;

/// A dispatch asked for by an operator.
#[derive(Debug, Clone, Default)]
pub struct DispatchRequest {
    /// The unit; `None`: the one routing chooses.
    pub unit: Option<UnitCode>,
    /// The deadline tier; `None`: the category's.
    pub tier: Option<DeadlineTier>,
    pub note: Option<String>,
}

fn forbidden(detail: impl Into<String>) -> ComplaintError {
    ComplaintError::Forbidden(detail.into())
}

fn conflict(detail: impl Into<String>) -> ComplaintError {
    ComplaintError::Conflict(detail.into())
}

/// A reason that must be given: present, not blank, of bounded length.
fn required_reason(pointer: &str, text: Option<String>) -> Result<String, ComplaintError> {
    let text = text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ValidationError::single(pointer, "is required: say why").into());
    }
    check_text(pointer, &text, REASON_MAX_CHARS)?;
    Ok(text.trim().to_string())
}

fn optional_note(pointer: &str, text: Option<String>) -> Result<Option<String>, ComplaintError> {
    match text {
        Some(t) if !t.trim().is_empty() => {
            check_text(pointer, &t, REASON_MAX_CHARS)?;
            Ok(Some(t.trim().to_string()))
        }
        _ => Ok(None),
    }
}

fn time_text(t: OffsetDateTime) -> String {
    crate::domain::utc_text(t)
}

impl Complaints {
    pub fn hotline(&self) -> &crate::services::hotline_config::Hotline {
        &self.hotline
    }

    /// Whether a principal may see this case: a unit's staff only the
    /// cases with their unit; everyone else as before.
    pub fn may_see(&self, principal: Option<&Principal>, complaint: &Complaint) -> bool {
        match principal {
            Some(p) if p.role == Role::Unit => {
                p.unit.is_some() && complaint.handling.as_ref().map(|h| &h.unit) == p.unit.as_ref()
            }
            _ => true,
        }
    }

    /// A case as a principal may see it (a unit's staff: their unit's).
    pub async fn get_for(
        &self,
        principal: Option<&Principal>,
        id: ComplaintId,
    ) -> Result<Complaint, ComplaintError> {
        let complaint = self.get(id).await?;
        if !self.may_see(principal, &complaint) {
            return Err(forbidden(format!(
                "complaint {id} is not with this token's unit"
            )));
        }
        Ok(complaint)
    }

    /// The kinds of the assets a case is linked to (from the index).
    fn linked_kinds(&self, links: &[ComplaintLink]) -> Vec<AssetKind> {
        self.registry.with_index(|index| {
            links
                .iter()
                .filter_map(|l| index.get(AssetId(l.asset_id)).map(|a| a.kind()))
                .collect()
        })
    }

    /// Where routing sends a case with these links.
    pub fn route_of(&self, complaint: &Complaint, links: &[ComplaintLink]) -> Option<Route> {
        self.hotline.units.route(
            complaint.draft.category,
            &self.linked_kinds(links),
            complaint.draft.district,
            complaint.draft.street.as_deref(),
        )
    }

    /// Dispatches at intake when a rule decides (not the fallback), the
    /// case type is dispatched automatically, and the case is located and
    /// still waiting. Returns the case as it is now.
    pub(super) async fn dispatch_at_intake(
        &self,
        complaint: Complaint,
        route: Option<&Route>,
    ) -> Result<Complaint, ComplaintError> {
        let auto = self
            .hotline
            .config
            .case_type(complaint.draft.case_type)
            .is_some_and(|t| t.auto_dispatch);
        let Some(Route {
            unit,
            rule: Some(rule),
        }) = route
        else {
            return Ok(complaint);
        };
        if !auto
            || complaint.status != ComplaintStatus::Received
            || complaint.draft.location.is_none()
        {
            return Ok(complaint);
        }
        let Some(step) = self.dispatch_step(
            &complaint,
            unit,
            None,
            Some(format!("dispatched at intake by rule {rule}")),
            None,
        )?
        else {
            return Ok(complaint);
        };
        let id = complaint.id;
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// The step of dispatching a case to a unit (`None` when the unit
    /// cannot take it: at intake that leaves the case for an operator).
    fn dispatch_step(
        &self,
        complaint: &Complaint,
        unit: &UnitCode,
        tier: Option<DeadlineTier>,
        note: Option<String>,
        actor: Option<&Principal>,
    ) -> Result<Option<Step>, ComplaintError> {
        let Some(known) = self.hotline.units.unit(unit) else {
            return Ok(None);
        };
        if known
            .refuses(complaint.draft.category, complaint.draft.district)
            .is_some()
        {
            return Ok(None);
        }
        let tier = tier.unwrap_or_else(|| self.hotline.config.tier_of(complaint.draft.category));
        let at = crate::domain::to_millis(OffsetDateTime::now_utc());
        let due = self.hotline.config.deadlines(tier, at);
        Ok(Some(Step {
            expect_status: Some(complaint.status),
            to: Some(ComplaintStatus::Dispatched),
            unit: Some(unit.clone()),
            set: vec![
                ("unit", Cell::Text(Some(unit.as_str().to_string()))),
                ("urgency", Cell::Text(Some(tier.as_str().to_string()))),
                ("dispatched_at", Cell::Time(Some(at))),
                ("response_due", Cell::Time(Some(due.response_due))),
                ("resolution_due", Cell::Time(Some(due.resolution_due))),
                ("accepted_at", Cell::Time(None)),
            ],
            note,
            detail: Some(json!({
                "deadline_tier": tier.as_str(),
                "response_due": time_text(due.response_due),
                "resolution_due": time_text(due.resolution_due),
            })),
            ..Step::new("dispatched", actor)
        }))
    }

    /// Sends a waiting case to a unit, by hand: the unit named, or the
    /// one routing chooses. The unit must handle the category in the
    /// case's district.
    pub async fn dispatch(
        &self,
        principal: &Principal,
        id: ComplaintId,
        request: DispatchRequest,
    ) -> Result<Complaint, ComplaintError> {
        if !principal.role.takes_complaints() {
            return Err(forbidden(format!(
                "role {} may not dispatch cases; operator or admin may",
                principal.role
            )));
        }
        let note = optional_note("/note", request.note)?;
        let current = self.get(id).await?;
        if !principal.may_act_in(current.draft.district) {
            return Err(forbidden("this token may not act outside its district"));
        }
        if current.status != ComplaintStatus::Received {
            return Err(conflict(match &current.handling {
                Some(h) if current.status.is_open() => format!(
                    "complaint {id} is {} with unit {}; only a received case is dispatched",
                    current.status, h.unit
                ),
                _ => format!(
                    "complaint {id} is {}; only a received case is dispatched",
                    current.status
                ),
            }));
        }
        if current.draft.location.is_none() {
            return Err(conflict(format!(
                "complaint {id} is unlocated; place it (POST /v1/complaints/{id}/location) before dispatching"
            )));
        }
        let unit = match request.unit {
            Some(unit) => unit,
            None => {
                let links = self.store.links(id).await?;
                self.route_of(&current, &links)
                    .map(|r| r.unit)
                    .ok_or_else(|| {
                        ValidationError::single(
                            "/unit",
                            "no routing rule or street office answers for this case; name the unit",
                        )
                    })?
            }
        };
        let Some(known) = self.hotline.units.unit(&unit) else {
            return Err(ValidationError::single("/unit", format!("unknown unit {unit}")).into());
        };
        if let Some(why) = known.refuses(current.draft.category, current.draft.district) {
            return Err(ValidationError::single("/unit", why).into());
        }
        let step = self
            .dispatch_step(&current, &unit, request.tier, note, Some(principal))?
            .ok_or_else(|| {
                ValidationError::single("/unit", format!("unit {unit} cannot take it"))
            })?;
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// The case as a unit's staff act on it: it must be with their unit.
    async fn with_own_unit(
        &self,
        principal: &Principal,
        id: ComplaintId,
        what: &str,
    ) -> Result<(Complaint, UnitCode), ComplaintError> {
        let Some(own) = principal
            .unit
            .clone()
            .filter(|_| principal.role == Role::Unit)
        else {
            return Err(forbidden(format!(
                "only the staff of the responsible unit may {what} a case (a unit token)"
            )));
        };
        let current = self.get(id).await?;
        if !principal.may_act_in(current.draft.district) {
            return Err(forbidden("this token may not act outside its district"));
        }
        if current.handling.as_ref().map(|h| &h.unit) != Some(&own) {
            return Err(forbidden(format!("complaint {id} is not with unit {own}")));
        }
        Ok((current, own))
    }

    /// The unit takes the case on: dispatched → in_progress.
    pub async fn accept(
        &self,
        principal: &Principal,
        id: ComplaintId,
        note: Option<String>,
    ) -> Result<Complaint, ComplaintError> {
        let note = optional_note("/note", note)?;
        let (current, unit) = self.with_own_unit(principal, id, "accept").await?;
        if current.status != ComplaintStatus::Dispatched {
            return Err(conflict(format!(
                "complaint {id} is {}; only a dispatched case is accepted",
                current.status
            )));
        }
        let at = crate::domain::to_millis(OffsetDateTime::now_utc());
        let step = Step {
            expect_status: Some(ComplaintStatus::Dispatched),
            expect_unit: Some(unit.clone()),
            to: Some(ComplaintStatus::InProgress),
            unit: Some(unit),
            set: vec![("accepted_at", Cell::Time(Some(at)))],
            note,
            ..Step::new("accepted", Some(principal))
        };
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// A case follows its work orders: when a crew starts the first one,
    /// a dispatched case is taken on (accepted by its unit); when the
    /// last one is done, the case is resolved and waits for its call-back.
    /// `order` names the work order in the history. A case that is not
    /// where the step expects (already accepted, resolved by hand,
    /// closed) is left as it is: `Ok(None)`.
    pub async fn follow_work_orders(
        &self,
        principal: &Principal,
        id: ComplaintId,
        done: bool,
        order: (i64, &UnitCode),
    ) -> Result<Option<Complaint>, ComplaintError> {
        let (order, order_unit) = order;
        let current = self.get(id).await?;
        let Some(handling) = current.handling.clone() else {
            return Ok(None);
        };
        // An order of a unit the case has since left moves nothing.
        if &handling.unit != order_unit {
            return Ok(None);
        }
        let at = crate::domain::to_millis(OffsetDateTime::now_utc());
        let step = match (done, current.status) {
            (false, ComplaintStatus::Dispatched) => Step {
                expect_status: Some(ComplaintStatus::Dispatched),
                expect_unit: Some(handling.unit.clone()),
                to: Some(ComplaintStatus::InProgress),
                unit: Some(handling.unit),
                set: vec![("accepted_at", Cell::Time(Some(at)))],
                note: Some(format!("work order {order} started")),
                ..Step::new("accepted", Some(principal))
            },
            (true, from @ (ComplaintStatus::Dispatched | ComplaintStatus::InProgress)) => Step {
                expect_status: Some(from),
                expect_unit: Some(handling.unit.clone()),
                to: Some(ComplaintStatus::Resolved),
                unit: Some(handling.unit),
                set: vec![(
                    "resolution",
                    Cell::Text(Some(format!("work order {order} done"))),
                )],
                note: Some(format!("the last work order ({order}) is done")),
                detail: Some(json!({"work_order": order})),
                ..Step::new("resolved", Some(principal))
            },
            _ => return Ok(None),
        };
        match self.apply_audited(id, &step).await {
            Ok(complaint) => Ok(Some(complaint)),
            // Moved meanwhile (an operator acted on it): leave it.
            Err(crate::store::StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(store_error(id, e)),
        }
    }

    /// The unit returns a case it does not answer for, with a reason:
    /// dispatched → received, for an operator to send on.
    pub async fn send_back(
        &self,
        principal: &Principal,
        id: ComplaintId,
        reason: Option<String>,
    ) -> Result<Complaint, ComplaintError> {
        let reason = required_reason("/reason", reason)?;
        let (current, unit) = self.with_own_unit(principal, id, "send back").await?;
        if current.status != ComplaintStatus::Dispatched {
            return Err(conflict(format!(
                "complaint {id} is {}; only a dispatched case (not yet accepted) is sent back",
                current.status
            )));
        }
        let step = Step {
            expect_status: Some(ComplaintStatus::Dispatched),
            expect_unit: Some(unit.clone()),
            to: Some(ComplaintStatus::Received),
            unit: Some(unit),
            set: vec![
                ("unit", Cell::Text(None)),
                ("urgency", Cell::Text(None)),
                ("dispatched_at", Cell::Time(None)),
                ("response_due", Cell::Time(None)),
                ("resolution_due", Cell::Time(None)),
                ("accepted_at", Cell::Time(None)),
            ],
            detail: Some(json!({"reason": reason})),
            ..Step::new("sent_back", Some(principal))
        };
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// Checks a call-back's answers against the scale.
    fn check_answers(&self, answers: &CallbackAnswers) -> Result<(), ValidationError> {
        if !(1..=20).contains(&answers.attempts) {
            return Err(ValidationError::single(
                "/attempts",
                format!("must be 1 to 20, got {}", answers.attempts),
            ));
        }
        if let Some(comment) = &answers.comment {
            check_text("/comment", comment, REASON_MAX_CHARS)?;
        }
        if !answers.reached {
            for (pointer, given) in [
                ("/unit_contacted", answers.unit_contacted.is_some()),
                ("/solved", answers.solved.is_some()),
                ("/satisfaction", answers.satisfaction.is_some()),
            ] {
                if given {
                    return Err(ValidationError::single(
                        pointer,
                        "is answered only by a caller who was reached",
                    ));
                }
            }
            return Ok(());
        }
        for (pointer, given) in [
            ("/unit_contacted", answers.unit_contacted.is_some()),
            ("/solved", answers.solved.is_some()),
            ("/satisfaction", answers.satisfaction.is_some()),
        ] {
            if !given {
                return Err(ValidationError::single(
                    pointer,
                    "is required when the caller was reached",
                ));
            }
        }
        let level = answers.satisfaction.as_deref().unwrap_or_default();
        if !self
            .hotline
            .config
            .satisfaction_scale
            .iter()
            .any(|l| l.code == level)
        {
            return Err(ValidationError::single(
                "/satisfaction",
                format!(
                    "{level:?} is not on the scale; expected one of: {}",
                    self.hotline.config.satisfaction_codes()
                ),
            ));
        }
        Ok(())
    }

    /// Records a call-back on a resolved case. Solved: the case closes.
    /// Not solved: it reopens and goes back to its unit with fresh
    /// deadlines. Not reached: only the attempts are recorded.
    pub async fn callback(
        &self,
        principal: &Principal,
        id: ComplaintId,
        answers: CallbackAnswers,
    ) -> Result<Complaint, ComplaintError> {
        if !principal.role.takes_complaints() {
            return Err(forbidden(format!(
                "role {} may not record call-backs; operator or admin may",
                principal.role
            )));
        }
        self.check_answers(&answers)?;
        let current = self.get(id).await?;
        if !principal.may_act_in(current.draft.district) {
            return Err(forbidden("this token may not act outside its district"));
        }
        if current.status != ComplaintStatus::Resolved {
            return Err(conflict(format!(
                "complaint {id} is {}; a call-back follows a resolved case",
                current.status
            )));
        }
        let mut detail = json!({
            "reached": answers.reached,
            "attempts": answers.attempts,
            "unit_contacted": answers.unit_contacted,
            "solved": answers.solved,
            "satisfaction": answers.satisfaction,
        });
        let at = crate::domain::to_millis(OffsetDateTime::now_utc());
        let (to, action, set, unit) = match (answers.reached, answers.solved) {
            (true, Some(true)) => (
                Some(ComplaintStatus::Closed),
                "called_back",
                vec![("closed_at", Cell::Time(Some(at)))],
                current.handling.as_ref().map(|h| h.unit.clone()),
            ),
            (true, _) => match &current.handling {
                Some(h) => {
                    let due = self.hotline.config.deadlines(h.tier, at);
                    detail["response_due"] = json!(time_text(due.response_due));
                    detail["resolution_due"] = json!(time_text(due.resolution_due));
                    (
                        Some(ComplaintStatus::Dispatched),
                        "reopened",
                        vec![
                            ("dispatched_at", Cell::Time(Some(at))),
                            ("response_due", Cell::Time(Some(due.response_due))),
                            ("resolution_due", Cell::Time(Some(due.resolution_due))),
                            ("accepted_at", Cell::Time(None)),
                        ],
                        Some(h.unit.clone()),
                    )
                }
                // Resolved without ever being dispatched (before the
                // loop existed): back to an operator.
                None => (
                    Some(ComplaintStatus::Received),
                    "reopened",
                    Vec::new(),
                    None,
                ),
            },
            (false, _) => (None, "called_back", Vec::new(), None),
        };
        let step = Step {
            expect_status: Some(ComplaintStatus::Resolved),
            to,
            unit,
            set,
            note: answers.comment.clone(),
            detail: Some(detail),
            callback: Some(answers),
            ..Step::new(action, Some(principal))
        };
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// Keeps a case out of the rates (an unreasonable demand, say), with
    /// the reason and the approving admin. The case stays, counted apart.
    pub async fn mark_not_assessable(
        &self,
        principal: &Principal,
        id: ComplaintId,
        reason: Option<String>,
    ) -> Result<Complaint, ComplaintError> {
        if principal.role != Role::Admin {
            return Err(forbidden(
                "only an admin approves keeping a case out of the rates",
            ));
        }
        let reason = required_reason("/reason", reason)?;
        let current = self.get(id).await?;
        if !principal.may_act_in(current.draft.district) {
            return Err(forbidden("this token may not act outside its district"));
        }
        if current.not_assessable.is_some() {
            return Err(conflict(format!(
                "complaint {id} is already marked not assessable"
            )));
        }
        let step = Step {
            expect_status: Some(current.status),
            expect_assessable: true,
            unit: current.handling.as_ref().map(|h| h.unit.clone()),
            set: vec![
                ("not_assessable_reason", Cell::Text(Some(reason.clone()))),
                ("not_assessable_by", Cell::Int(Some(principal.token_id))),
            ],
            detail: Some(json!({"reason": reason})),
            ..Step::new("not_assessable", Some(principal))
        };
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// An operator places a case the address did not locate (or located
    /// only to its way): the location is converted and checked like at
    /// intake, and the case is linked there.
    pub async fn place(
        &self,
        principal: &Principal,
        id: ComplaintId,
        raw: (f64, f64),
        coord_sys: CoordSys,
    ) -> Result<Complaint, ComplaintError> {
        if !principal.role.takes_complaints() {
            return Err(forbidden(format!(
                "role {} may not place cases; operator or admin may",
                principal.role
            )));
        }
        let at =
            super::draft::location_to_wgs84(raw.0, raw.1, coord_sys, self.registry.service_area())?;
        let current = self.get(id).await?;
        if !principal.may_act_in(current.draft.district) {
            return Err(forbidden("this token may not act outside its district"));
        }
        if !matches!(
            current.draft.located_by,
            LocatedBy::Unlocated | LocatedBy::AddressWay | LocatedBy::AddressHouse
        ) {
            return Err(conflict(format!(
                "complaint {id} was located by {}; only a case located from its address, or not at all, is placed by hand",
                current.draft.located_by
            )));
        }
        if !current.status.is_open() {
            return Err(conflict(format!(
                "complaint {id} is {}; only an open case is placed",
                current.status
            )));
        }
        let linking = self
            .registry
            .with_index(|index| self.rules.link(index, current.draft.category, at));
        // The district, street and community of the new place (from the
        // areas; else a district given stays, or the assets' around it).
        let area = self.hotline.areas.path_at(at);
        let district = area
            .district
            .as_deref()
            .and_then(|d| d.parse::<crate::domain::District>().ok())
            .or(current.draft.district)
            .or_else(|| self.registry.district_at(at));
        if !principal.may_act_in(district) {
            return Err(forbidden(
                "this token may not place a case outside its district",
            ));
        }
        // A unit that has the case must still answer for it where it is
        // placed; else the case is sent back first.
        if let Some(h) = &current.handling {
            let refusal = self
                .hotline
                .units
                .unit(&h.unit)
                .and_then(|u| u.refuses(current.draft.category, district));
            if let Some(why) = refusal {
                return Err(conflict(format!(
                    "complaint {id} is with unit {}: {why}; send it back before placing it there",
                    h.unit
                )));
            }
        }
        let step = Step {
            expect_status: Some(current.status),
            // Placed once per state seen: two operators placing the same
            // case at once do not both succeed.
            expect_unchanged_since: Some(current.updated_at),
            set: vec![(
                "district",
                Cell::Text(district.map(|d| d.as_str().to_string())),
            )],
            location: Some((at, linking)),
            area,
            detail: Some(json!({
                "from": current.draft.located_by.as_str(),
                "coordinates": [at.0, at.1],
            })),
            ..Step::new("located", Some(principal))
        };
        self.apply_audited(id, &step)
            .await
            .map_err(|e| store_error(id, e))
    }

    /// The call-back rates.
    pub async fn rates(&self, filter: &RatesFilter) -> Result<CallbackRates, ComplaintError> {
        Ok(self
            .store
            .callback_rates(filter, &self.hotline.config.satisfaction_weights())
            .await?)
    }

    /// A caller's cases, newest first, found by their phone's keyed hash:
    /// for operators and admins only (a district-scoped one sees those in
    /// their district).
    pub async fn caller_history(
        &self,
        principal: &Principal,
        phone: &str,
        limit: u32,
    ) -> Result<Vec<Complaint>, ComplaintError> {
        if !principal.role.takes_complaints() {
            return Err(forbidden(
                "only operators and admins see a caller's earlier cases",
            ));
        }
        if phone.chars().count() > 32 {
            return Err(ValidationError::single("/phone", "must be at most 32 characters").into());
        }
        super::draft::check_phone_at(phone, "/phone")?;
        let filter = ComplaintFilter {
            caller_phone_hash: Some(phone_digest(&self.hotline.phone_key, phone)),
            district: principal.district,
            limit: limit.clamp(1, CALLER_HISTORY_MAX),
            ..ComplaintFilter::default()
        };
        Ok(self.store.complaints_page(&filter).await?)
    }

    /// Erases the caller's name and phone of every case closed longer ago
    /// than the retention period, a batch per transaction. Returns how
    /// many were erased.
    pub async fn erase_expired(&self) -> Result<u64, ComplaintError> {
        let before = OffsetDateTime::now_utc() - self.hotline.config.retention();
        let mut erased = 0;
        loop {
            let n = self
                .store
                .erase_personal_data(before, ERASURE_BATCH)
                .await?;
            erased += n;
            if n < u64::from(ERASURE_BATCH) {
                return Ok(erased);
            }
        }
    }

    /// Whether a case of this type may be closed straight from received
    /// (it is not one a unit must act on).
    pub(super) fn closes_without_dispatch(&self, case_type: CaseType) -> bool {
        self.hotline
            .config
            .case_type(case_type)
            .is_some_and(|t| !t.auto_dispatch || t.answer_on_call)
    }
}
