//! Designers' surveys: recorded one at a time or imported in a batch
//! (GeoJSON or CSV, each row checked, a report of the rows refused). The
//! surveyed asset takes the latest survey's condition (its worst element);
//! its surveys are the history. A grade C or D, or an element at 2 or
//! worse, opens a work order with the unit routing chooses for it.

use crate::domain::{
    AssetId, AssetKind, Category, Condition, DangerGrade, FieldError, Principal, Priority, Role,
    Survey, SurveyDraft, SurveyElement, ValidationError, WorkOrderKind,
};
use crate::services::audit::{self, Change};
use crate::services::complaints::check_text;
use crate::services::registry::{Precondition, Registry};
use crate::services::store_failure::StoreFailure;
use crate::services::work_orders::{NewWorkOrder, WorkOrderError, WorkOrders};
use crate::store::{NewPhoto, Store};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 2_000;
/// Longest notes, characters.
const NOTES_MAX_CHARS: usize = 4_000;
/// Longest surveyor's name, characters.
const SURVEYOR_MAX_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("survey {0} does not exist")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    WorkOrder(#[from] WorkOrderError),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// A survey recorded, with what followed from it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub survey: Survey,
    /// The asset's condition now (the latest survey's).
    pub asset_condition: Option<u8>,
    /// Why a finding that needs work opened no work order (the survey is
    /// recorded all the same).
    pub work_order_problem: Option<String>,
}

/// A row of an import: its survey properties, or why it could not be read.
pub type ImportRow = Result<Map<String, Value>, ValidationError>;

/// The report of an import.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub accepted: Vec<Value>,
    pub rejected: Vec<Value>,
}

pub struct Surveys {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    work_orders: Arc<WorkOrders>,
}

fn err(pointer: &str, detail: impl Into<String>) -> FieldError {
    FieldError::new(pointer, detail)
}

/// The category a finding is routed as.
fn category_of(element: Option<SurveyElement>) -> Category {
    match element {
        Some(SurveyElement::Drainage) => Category::WaterPooling,
        Some(SurveyElement::Lighting) => Category::DarkLane,
        Some(SurveyElement::Paving) => Category::ObstructedPassage,
        _ => Category::HousingLeak,
    }
}

impl Surveys {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        work_orders: Arc<WorkOrders>,
    ) -> Self {
        Surveys {
            store,
            registry,
            work_orders,
        }
    }

    fn check_role(principal: &Principal) -> Result<(), SurveyError> {
        if matches!(principal.role, Role::Designer | Role::Planner | Role::Admin) {
            Ok(())
        } else {
            Err(SurveyError::Forbidden(format!(
                "role {} may not record or read surveys; designer, planner or admin may",
                principal.role
            )))
        }
    }

    /// A survey from its JSON properties (every field error at once).
    pub fn draft_from(
        principal: &Principal,
        p: &Map<String, Value>,
    ) -> Result<SurveyDraft, ValidationError> {
        const KNOWN: [&str; 8] = [
            "asset_id",
            "surveyed_at",
            "surveyor",
            "conditions",
            "danger_grade",
            "floor_height_m",
            "lane_height_m",
            "notes",
        ];
        let mut errors = Vec::new();
        for key in p.keys() {
            if !KNOWN.contains(&key.as_str()) {
                errors.push(err(
                    &format!("/{}", key.chars().take(64).collect::<String>()),
                    "is not a survey field",
                ));
            }
        }
        let asset_id = match p.get("asset_id").and_then(Value::as_i64) {
            Some(id) if id >= 1 => id,
            _ => {
                errors.push(err(
                    "/asset_id",
                    "is required: the surveyed courtyard or building",
                ));
                0
            }
        };
        let now = OffsetDateTime::now_utc();
        let surveyed_at = match p.get("surveyed_at") {
            None | Some(Value::Null) => now,
            Some(Value::String(t)) => match crate::domain::parse_utc(t) {
                Some(at) if at <= now + time::Duration::hours(1) && at.year() >= 1950 => at,
                Some(_) => {
                    errors.push(err("/surveyed_at", "lies in the future or before 1950"));
                    now
                }
                None => {
                    errors.push(err("/surveyed_at", "is not an RFC 3339 time"));
                    now
                }
            },
            Some(_) => {
                errors.push(err("/surveyed_at", "is not an RFC 3339 time"));
                now
            }
        };
        let text = |key: &str, max: usize, errors: &mut Vec<FieldError>| -> Option<String> {
            match p.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) if t.trim().is_empty() => None,
                Some(Value::String(t)) => match check_text(&format!("/{key}"), t.trim(), max) {
                    Ok(()) => Some(t.trim().to_string()),
                    Err(e) => {
                        errors.extend(e.errors);
                        None
                    }
                },
                Some(_) => {
                    errors.push(err(&format!("/{key}"), "must be text"));
                    None
                }
            }
        };
        let surveyor = text("surveyor", SURVEYOR_MAX_CHARS, &mut errors)
            .or_else(|| principal.label.clone())
            .unwrap_or_else(|| format!("token {}", principal.token_id));
        let notes = text("notes", NOTES_MAX_CHARS, &mut errors);
        let mut conditions = BTreeMap::new();
        match p.get("conditions") {
            Some(Value::Object(scores)) => {
                for (name, score) in scores {
                    let pointer =
                        format!("/conditions/{}", name.chars().take(32).collect::<String>());
                    match (
                        name.parse::<SurveyElement>(),
                        score.as_i64().map(Condition::new),
                    ) {
                        (Ok(element), Some(Ok(c))) => {
                            conditions.insert(element, c);
                        }
                        (Err(e), _) => errors.push(err(&pointer, e)),
                        (_, Some(Err(e))) => errors.push(err(&pointer, e)),
                        (_, None) => errors.push(err(&pointer, "must be an integer from 1 to 5")),
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => errors.push(err("/conditions", "must be an object of element: 1-5")),
        }
        let danger_grade = match p.get("danger_grade") {
            None | Some(Value::Null) => None,
            Some(Value::String(g)) => match g.trim().to_ascii_uppercase().parse::<DangerGrade>() {
                Ok(g) => Some(g),
                Err(e) => {
                    errors.push(err("/danger_grade", e));
                    None
                }
            },
            Some(_) => {
                errors.push(err("/danger_grade", "is A, B, C or D"));
                None
            }
        };
        let mut height = |key: &str| match p.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(h) => Some(h),
                None => {
                    errors.push(err(&format!("/{key}"), "must be a number of metres"));
                    None
                }
            },
        };
        let floor_height_m = height("floor_height_m");
        let lane_height_m = height("lane_height_m");
        if !errors.is_empty() {
            return Err(ValidationError { errors });
        }
        Ok(SurveyDraft {
            asset_id,
            surveyed_at: crate::domain::to_millis(surveyed_at),
            surveyor,
            conditions,
            danger_grade,
            floor_height_m,
            lane_height_m,
            notes,
        })
    }

    /// Records a survey: checks it against its asset, stores it, sets the
    /// asset's condition when it is the latest, and opens a work order
    /// for a dangerous or poor finding.
    pub async fn record(
        &self,
        principal: &Principal,
        draft: SurveyDraft,
    ) -> Result<Recorded, SurveyError> {
        Self::check_role(principal)?;
        let view = self
            .registry
            .get(AssetId(draft.asset_id))
            .await
            .map_err(|_| {
                ValidationError::single(
                    "/asset_id",
                    format!("asset {} does not exist", draft.asset_id),
                )
            })?;
        let kind = view.asset.kind();
        if !matches!(kind, AssetKind::Courtyard | AssetKind::Building) {
            return Err(ValidationError::single(
                "/asset_id",
                format!(
                    "asset {} is a {kind}; surveys cover courtyards and buildings",
                    draft.asset_id
                ),
            )
            .into());
        }
        let district = view.asset.attributes.district();
        if !principal.may_act_in(district) {
            return Err(SurveyError::Forbidden(
                "this token may not act outside its district".into(),
            ));
        }
        draft.check(kind == AssetKind::Building)?;
        let mut survey = self
            .store
            .insert_survey(&draft, Some(principal.token_id))
            .await
            .map_err(StoreFailure::from)?;
        // The latest survey sets the asset's condition.
        let latest = self
            .store
            .surveys_of(draft.asset_id, 1)
            .await
            .map_err(StoreFailure::from)?;
        let mut asset_condition = view
            .asset
            .attributes
            .to_json()
            .get("condition")
            .and_then(Value::as_u64)
            .map(|c| c as u8);
        if latest.first().map(|s| s.id) == Some(survey.id) {
            if let Some(overall) = draft.overall() {
                if asset_condition != Some(overall.score()) {
                    let patch = json!({"properties": {"condition": overall.score()}});
                    match self
                        .registry
                        .patch(
                            principal,
                            AssetId(draft.asset_id),
                            &Precondition::None,
                            &patch,
                        )
                        .await
                    {
                        Ok(_) => asset_condition = Some(overall.score()),
                        Err(e) => {
                            tracing::warn!(survey = survey.id, error = %e, "the asset's condition was not updated")
                        }
                    }
                }
            }
        }
        let mut work_order_problem = None;
        // A dangerous building or a poor element opens a job.
        let poor = draft.poor_elements();
        let dangerous = draft.danger_grade.filter(|g| g.needs_work());
        if dangerous.is_some() || !poor.is_empty() {
            let worst = poor.first().map(|(e, _)| *e);
            let category = if dangerous.is_some() {
                Category::HousingLeak
            } else {
                category_of(worst)
            };
            let street = view
                .asset
                .attributes
                .to_json()
                .get("street")
                .and_then(Value::as_str)
                .map(str::to_string);
            let route =
                self.work_orders
                    .units()
                    .route(category, &[kind], district, street.as_deref());
            if let Some(route) = route {
                let mut findings: Vec<String> = poor
                    .iter()
                    .map(|(e, c)| format!("{e} {}/5", c.score()))
                    .collect();
                if let Some(g) = dangerous {
                    findings.insert(0, format!("danger grade {g} (JGJ 125)"));
                }
                let priority = match (dangerous, poor.first()) {
                    (Some(DangerGrade::D), _) => Priority::Urgent,
                    (Some(_), _) => Priority::High,
                    (None, Some((_, c))) if c.score() == 1 => Priority::High,
                    _ => Priority::Normal,
                };
                let request = NewWorkOrder {
                    unit: Some(route.unit),
                    asset_id: Some(draft.asset_id),
                    kind: Some(WorkOrderKind::Repair),
                    description: Some(format!(
                        "Survey {} of {kind} {}: {}",
                        survey.id,
                        draft.asset_id,
                        findings.join(", ")
                    )),
                    priority: Some(priority),
                    survey_id: Some(survey.id),
                    ..NewWorkOrder::default()
                };
                // The survey is stored: a job that cannot be opened is
                // reported with it, not as a failure of the whole request
                // (a retry would record the survey twice).
                match self.work_orders.create(principal, request).await {
                    Ok(order) => match self
                        .store
                        .set_survey_work_order(survey.id, order.id.0)
                        .await
                    {
                        Ok(()) => survey.work_order_id = Some(order.id.0),
                        Err(e) => {
                            work_order_problem = Some(format!(
                                "work order {} was opened but not noted on the survey: {e}",
                                order.id
                            ))
                        }
                    },
                    Err(e) => work_order_problem = Some(e.to_string()),
                }
            } else {
                work_order_problem = Some(format!(
                    "no unit answers for {category} at this asset, so no work order was opened"
                ));
            }
        }
        audit::record(
            self.store.as_ref(),
            vec![Change::new(
                "survey",
                survey.id,
                "created",
                None,
                Some(json!(survey)),
            )],
        )
        .await;
        if let Some(problem) = &work_order_problem {
            tracing::warn!(
                survey = survey.id,
                problem,
                "a survey's finding opened no work order"
            );
        }
        Ok(Recorded {
            survey,
            asset_condition,
            work_order_problem,
        })
    }

    /// Imports rows (numbered from 1): each checked and recorded on its
    /// own; the report lists what was recorded and what was refused, why.
    pub async fn import(
        &self,
        principal: &Principal,
        rows: Vec<ImportRow>,
    ) -> Result<ImportReport, SurveyError> {
        Self::check_role(principal)?;
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(ValidationError::single(
                "",
                format!(
                    "an import takes at most {MAX_IMPORT_ROWS} rows, got {}",
                    rows.len()
                ),
            )
            .into());
        }
        let mut report = ImportReport::default();
        for (i, row) in rows.into_iter().enumerate() {
            let number = i + 1;
            let refused = |errors: Vec<FieldError>| json!({"row": number, "errors": errors});
            let draft = match row.and_then(|p| Self::draft_from(principal, &p)) {
                Ok(d) => d,
                Err(e) => {
                    report.rejected.push(refused(e.errors));
                    continue;
                }
            };
            match self.record(principal, draft).await {
                Ok(r) => report.accepted.push(json!({
                    "row": number,
                    "survey_id": r.survey.id,
                    "work_order_id": r.survey.work_order_id,
                    "work_order_problem": r.work_order_problem,
                })),
                Err(SurveyError::Invalid(e)) => report.rejected.push(refused(e.errors)),
                Err(SurveyError::Forbidden(d)) => report.rejected.push(refused(vec![err("", d)])),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    pub async fn get(&self, principal: &Principal, id: i64) -> Result<Survey, SurveyError> {
        Self::check_role(principal)?;
        let survey = self
            .store
            .get_survey(id)
            .await
            .map_err(StoreFailure::from)?
            .ok_or(SurveyError::NotFound(id))?;
        self.check_district(principal, survey.draft.asset_id)
            .await?;
        Ok(survey)
    }

    /// A district-scoped token reads the surveys of its district's assets
    /// only (an asset since deleted: only unscoped tokens).
    async fn check_district(
        &self,
        principal: &Principal,
        asset_id: i64,
    ) -> Result<(), SurveyError> {
        if principal.district.is_none() {
            return Ok(());
        }
        let district = self
            .registry
            .get(AssetId(asset_id))
            .await
            .ok()
            .and_then(|v| v.asset.attributes.district());
        if principal.may_act_in(district) {
            Ok(())
        } else {
            Err(SurveyError::Forbidden(
                "this token may not act outside its district".into(),
            ))
        }
    }

    /// An asset's surveys, latest first: its condition history.
    pub async fn of_asset(
        &self,
        principal: &Principal,
        asset_id: i64,
        limit: u32,
    ) -> Result<Vec<Survey>, SurveyError> {
        Self::check_role(principal)?;
        self.check_district(principal, asset_id).await?;
        Ok(self
            .store
            .surveys_of(asset_id, limit)
            .await
            .map_err(StoreFailure::from)?)
    }

    /// Adds checked photos to a survey; their ids.
    pub async fn add_photos(
        &self,
        principal: &Principal,
        id: i64,
        photos: Vec<crate::services::work_orders::CheckedPhoto>,
    ) -> Result<Vec<i64>, SurveyError> {
        let survey = self.get(principal, id).await?;
        if photos.is_empty() {
            return Err(ValidationError::single("/photos", "send at least one photo").into());
        }
        let view = self.registry.get(AssetId(survey.draft.asset_id)).await.ok();
        if !principal.may_act_in(view.and_then(|v| v.asset.attributes.district())) {
            return Err(SurveyError::Forbidden(
                "this token may not act outside its district".into(),
            ));
        }
        let photos: Vec<NewPhoto> = photos
            .into_iter()
            .map(|p| NewPhoto {
                media_type: p.media_type,
                distance_m: None,
                exif_position: p.exif_position,
                sha256: p.sha256,
                bytes: p.bytes,
            })
            .collect();
        let ids = self
            .store
            .add_survey_photos(id, &photos, Some(principal.token_id))
            .await
            .map_err(StoreFailure::from)?;
        audit::record(
            self.store.as_ref(),
            vec![Change::new(
                "survey",
                id,
                "photos_added",
                Some(json!({"photos": survey.photos})),
                Some(json!({"photos": survey.photos.iter().chain(&ids).collect::<Vec<_>>()})),
            )],
        )
        .await;
        Ok(ids)
    }
}
