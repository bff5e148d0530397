//! Storage of administrative areas, the same SQL on both backends
//! (through `complaint_sql::Dialect`). Boundaries are kept as GeoJSON
//! text: areas are few (Beijing has 16 districts, 343 streets and towns,
//! about 7,000 communities and villages) and all held in memory.

use super::complaint_sql::Dialect;
use super::{StoreError, now};
use crate::domain::{AdminArea, AreaLevel};
use async_trait::async_trait;
use sqlx::Pool;

/// An area as stored: its boundary still GeoJSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaRow {
    pub code: String,
    pub level: AreaLevel,
    pub name: String,
    pub name_zh: Option<String>,
    pub parent: Option<String>,
    pub geometry: String,
    pub approximate: bool,
}

#[async_trait]
pub trait AreaStore: Send + Sync {
    /// Stores these areas in one transaction (parents first), replacing
    /// those with the same codes.
    async fn upsert_areas(&self, areas: &[AreaRow]) -> Result<(), StoreError>;

    /// Every area, districts first.
    async fn all_areas(&self) -> Result<Vec<AreaRow>, StoreError>;
}

impl AreaRow {
    /// An area to store, its boundary as the GeoJSON text given.
    pub fn of(area: &AdminArea, geometry: String) -> Self {
        AreaRow {
            code: area.code.clone(),
            level: area.level,
            name: area.name.clone(),
            name_zh: area.name_zh.clone(),
            parent: area.parent.clone(),
            geometry,
            approximate: area.approximate,
        }
    }
}

pub(super) async fn upsert<D: Dialect>(
    pool: &Pool<D>,
    areas: &[AreaRow],
) -> Result<(), StoreError> {
    let mut tx = D::begin_write(pool).await?;
    let at = now();
    let mut ordered: Vec<&AreaRow> = areas.iter().collect();
    ordered.sort_by_key(|a| a.level);
    for area in ordered {
        let geometry = &area.geometry;
        let mut q = D::query(
            "INSERT INTO admin_areas (code, level, name, name_zh, parent_code, geometry, approximate, updated_at) VALUES ("
                .into(),
        );
        D::push_text(&mut q, &area.code);
        q.push(", ");
        D::push_text(&mut q, area.level.as_str());
        q.push(", ");
        D::push_text(&mut q, &area.name);
        q.push(", ");
        D::push_opt_text(&mut q, area.name_zh.as_deref());
        q.push(", ");
        D::push_opt_text(&mut q, area.parent.as_deref());
        q.push(", ");
        D::push_text(&mut q, geometry);
        q.push(", ");
        D::push_bool(&mut q, area.approximate);
        q.push(", ");
        D::push_time(&mut q, at);
        q.push(
            ") ON CONFLICT (code) DO UPDATE SET level = excluded.level, name = excluded.name, \
             name_zh = excluded.name_zh, parent_code = excluded.parent_code, geometry = excluded.geometry, \
             approximate = excluded.approximate, updated_at = excluded.updated_at",
        );
        D::execute_in(&mut tx, q).await?;
    }
    D::commit(tx).await
}

pub(super) async fn all<D: Dialect>(pool: &Pool<D>) -> Result<Vec<AreaRow>, StoreError> {
    let q = D::query(
        "SELECT code, level, name, name_zh, parent_code, geometry, \
         CAST(CASE WHEN approximate THEN 1 ELSE 0 END AS BIGINT) AS approximate \
         FROM admin_areas ORDER BY CASE level WHEN 'district' THEN 0 WHEN 'street' THEN 1 ELSE 2 END, code"
            .into(),
    );
    D::rows(pool, q)
        .await?
        .iter()
        .map(|row| {
            Ok(AreaRow {
                code: D::text(row, "code")?,
                level: D::text(row, "level")?
                    .parse()
                    .map_err(|e: String| StoreError::Corrupt(format!("area level: {e}")))?,
                name: D::text(row, "name")?,
                name_zh: D::opt_text(row, "name_zh")?,
                parent: D::opt_text(row, "parent_code")?,
                geometry: D::text(row, "geometry")?,
                approximate: D::int(row, "approximate")? != 0,
            })
        })
        .collect()
}

#[async_trait]
impl AreaStore for super::SqliteStore {
    async fn upsert_areas(&self, areas: &[AreaRow]) -> Result<(), StoreError> {
        upsert(&self.pool, areas).await
    }

    async fn all_areas(&self) -> Result<Vec<AreaRow>, StoreError> {
        all(&self.pool).await
    }
}

#[async_trait]
impl AreaStore for super::PgStore {
    async fn upsert_areas(&self, areas: &[AreaRow]) -> Result<(), StoreError> {
        upsert(&self.pool, areas).await
    }

    async fn all_areas(&self) -> Result<Vec<AreaRow>, StoreError> {
        all(&self.pool).await
    }
}
