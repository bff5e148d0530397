//! Storage of surveys and their photos, the same SQL on both backends
//! (through `complaint_sql::Dialect`).

use super::complaint_sql::Dialect;
use super::work_orders::{NewPhoto, insert_photos, push_opt_float};
use super::{StoreError, now};
use crate::domain::{Condition, Survey, SurveyDraft, SurveyElement};
use async_trait::async_trait;
use sqlx::Pool;
use std::collections::BTreeMap;

#[async_trait]
pub trait SurveyStore: Send + Sync {
    async fn insert_survey(
        &self,
        draft: &SurveyDraft,
        surveyed_by: Option<i64>,
    ) -> Result<Survey, StoreError>;

    /// Notes the work order a survey opened.
    async fn set_survey_work_order(&self, id: i64, work_order: i64) -> Result<(), StoreError>;

    async fn get_survey(&self, id: i64) -> Result<Option<Survey>, StoreError>;

    /// An asset's surveys, latest first (at most `limit`).
    async fn surveys_of(&self, asset_id: i64, limit: u32) -> Result<Vec<Survey>, StoreError>;

    /// Up to `limit` surveys with ids above `after`, by id.
    async fn surveys_after(&self, after: i64, limit: u32) -> Result<Vec<Survey>, StoreError>;

    /// Stores photos of a survey; their ids.
    async fn add_survey_photos(
        &self,
        id: i64,
        photos: &[NewPhoto],
        actor_token: Option<i64>,
    ) -> Result<Vec<i64>, StoreError>;
}

const COLUMNS: &str = "id, asset_id, surveyed_at, surveyor, conditions, danger_grade, floor_height_m, \
     lane_height_m, notes, surveyed_by, work_order_id, created_at";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("survey: {e}"))
}

fn survey_from_row<D: Dialect>(row: &D::Row, photos: Vec<i64>) -> Result<Survey, StoreError> {
    let scores: BTreeMap<String, i64> =
        serde_json::from_str(&D::text(row, "conditions")?).map_err(corrupt)?;
    let conditions = scores
        .into_iter()
        .map(|(e, s)| {
            Ok((
                e.parse::<SurveyElement>().map_err(corrupt)?,
                Condition::new(s).map_err(corrupt)?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Survey {
        id: D::int(row, "id")?,
        draft: SurveyDraft {
            asset_id: D::int(row, "asset_id")?,
            surveyed_at: D::time(row, "surveyed_at")?,
            surveyor: D::text(row, "surveyor")?,
            conditions,
            danger_grade: D::opt_text(row, "danger_grade")?
                .map(|g| g.parse().map_err(corrupt))
                .transpose()?,
            floor_height_m: D::opt_float(row, "floor_height_m")?,
            lane_height_m: D::opt_float(row, "lane_height_m")?,
            notes: D::opt_text(row, "notes")?,
        },
        surveyed_by: D::opt_int(row, "surveyed_by")?,
        work_order_id: D::opt_int(row, "work_order_id")?,
        photos,
        created_at: D::time(row, "created_at")?,
    })
}

async fn with_photos<D: Dialect>(
    pool: &Pool<D>,
    rows: Vec<D::Row>,
) -> Result<Vec<Survey>, StoreError> {
    let mut surveys = Vec::with_capacity(rows.len());
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| D::int(r, "id"))
        .collect::<Result<_, _>>()?;
    let mut photos: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    if !ids.is_empty() {
        let mut q = D::query(
            "SELECT id, owner_id FROM photos WHERE owner = 'survey' AND owner_id IN (".into(),
        );
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            D::push_int(&mut q, *id);
        }
        q.push(") ORDER BY id");
        for row in D::rows(pool, q).await? {
            photos
                .entry(D::int(&row, "owner_id")?)
                .or_default()
                .push(D::int(&row, "id")?);
        }
    }
    for row in &rows {
        let id = D::int(row, "id")?;
        surveys.push(survey_from_row::<D>(
            row,
            photos.remove(&id).unwrap_or_default(),
        )?);
    }
    Ok(surveys)
}

async fn insert<D: Dialect>(
    pool: &Pool<D>,
    d: &SurveyDraft,
    surveyed_by: Option<i64>,
) -> Result<Survey, StoreError> {
    let scores: BTreeMap<&str, u8> = d
        .conditions
        .iter()
        .map(|(e, c)| (e.as_str(), c.score()))
        .collect();
    let conditions = serde_json::to_string(&scores).map_err(corrupt)?;
    let mut q = D::query(
        "INSERT INTO surveys (asset_id, surveyed_at, surveyor, conditions, danger_grade, floor_height_m, lane_height_m, notes, surveyed_by, created_at) VALUES ("
            .into(),
    );
    D::push_int(&mut q, d.asset_id);
    q.push(", ");
    D::push_time(&mut q, crate::domain::to_millis(d.surveyed_at));
    q.push(", ");
    D::push_text(&mut q, &d.surveyor);
    q.push(", ");
    D::push_string(&mut q, conditions);
    q.push(", ");
    D::push_opt_text(&mut q, d.danger_grade.map(|g| g.as_str()));
    q.push(", ");
    push_opt_float::<D>(&mut q, d.floor_height_m);
    q.push(", ");
    push_opt_float::<D>(&mut q, d.lane_height_m);
    q.push(", ");
    D::push_opt_text(&mut q, d.notes.as_deref());
    q.push(", ");
    D::push_opt_int(&mut q, surveyed_by);
    q.push(", ");
    D::push_time(&mut q, now());
    q.push(format!(") RETURNING {COLUMNS}"));
    let mut tx = D::begin_write(pool).await?;
    let rows = D::rows_in(&mut tx, q).await?;
    let survey = rows
        .first()
        .map(|r| survey_from_row::<D>(r, Vec::new()))
        .transpose()?
        .ok_or_else(|| corrupt("the insert returned nothing"))?;
    D::commit(tx).await?;
    Ok(survey)
}

async fn set_work_order<D: Dialect>(
    pool: &Pool<D>,
    id: i64,
    work_order: i64,
) -> Result<(), StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let mut q = D::query("UPDATE surveys SET work_order_id = ".into());
    D::push_int(&mut q, work_order);
    q.push(" WHERE id = ");
    D::push_int(&mut q, id);
    D::execute_in(&mut tx, q).await?;
    D::commit(tx).await
}

async fn select<D: Dialect>(
    pool: &Pool<D>,
    clause: &str,
    value: i64,
    limit: u32,
) -> Result<Vec<Survey>, StoreError> {
    let mut q = D::query(format!("SELECT {COLUMNS} FROM surveys WHERE {clause}"));
    D::push_int(&mut q, value);
    q.push(if clause.starts_with("asset_id") {
        " ORDER BY surveyed_at DESC, id DESC LIMIT "
    } else {
        " ORDER BY id LIMIT "
    });
    D::push_int(&mut q, i64::from(limit));
    let rows = D::rows(pool, q).await?;
    with_photos::<D>(pool, rows).await
}

async fn add_photos<D: Dialect>(
    pool: &Pool<D>,
    id: i64,
    photos: &[NewPhoto],
    actor_token: Option<i64>,
) -> Result<Vec<i64>, StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let ids = insert_photos::<D>(&mut tx, "survey", id, photos, actor_token, now()).await?;
    D::commit(tx).await?;
    Ok(ids)
}

macro_rules! survey_store {
    ($store:ty) => {
        #[async_trait]
        impl SurveyStore for $store {
            async fn insert_survey(
                &self,
                draft: &SurveyDraft,
                surveyed_by: Option<i64>,
            ) -> Result<Survey, StoreError> {
                insert(&self.pool, draft, surveyed_by).await
            }

            async fn set_survey_work_order(
                &self,
                id: i64,
                work_order: i64,
            ) -> Result<(), StoreError> {
                set_work_order(&self.pool, id, work_order).await
            }

            async fn get_survey(&self, id: i64) -> Result<Option<Survey>, StoreError> {
                Ok(select(&self.pool, "id = ", id, 1).await?.pop())
            }

            async fn surveys_of(
                &self,
                asset_id: i64,
                limit: u32,
            ) -> Result<Vec<Survey>, StoreError> {
                select(&self.pool, "asset_id = ", asset_id, limit).await
            }

            async fn surveys_after(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<Survey>, StoreError> {
                select(&self.pool, "id > ", after, limit).await
            }

            async fn add_survey_photos(
                &self,
                id: i64,
                photos: &[NewPhoto],
                actor_token: Option<i64>,
            ) -> Result<Vec<i64>, StoreError> {
                add_photos(&self.pool, id, photos, actor_token).await
            }
        }
    };
}

survey_store!(super::SqliteStore);
survey_store!(super::PgStore);
