//! The embedded store: SQLite through sqlx, in WAL mode, created and
//! migrated from `migrations/sqlite` on first open.

use super::{AssetStore, StoreError, now};
use crate::domain::LonLatBox;
use crate::domain::{
    Asset, AssetAttributes, AssetDraft, AssetId, AssetKind, Derived, District, Version,
};
use async_trait::async_trait;
use geo::{Geometry, Point};
use serde_json::value::RawValue;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::str::FromStr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Rows per multi-row INSERT.
const INSERT_CHUNK_ROWS: usize = 500;

const ASSET_COLUMNS: &str =
    "id, kind, geometry, attributes, area_m2, length_m, version, created_at, updated_at";

/// SQLite-backed [`super::Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

pub(super) fn timestamp(t: OffsetDateTime) -> String {
    crate::domain::utc_text(t)
}

pub(super) fn parse_timestamp(text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

fn kind_name(kind: AssetKind) -> &'static str {
    kind.as_str()
}

fn geometry_type(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "Point",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        // Validation admits no other type; stored as what it is anyway.
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Line(_) => "Line",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

fn geometry_json(geometry: &Geometry<f64>) -> String {
    geojson::Geometry::from(geojson::GeometryValue::from(geometry)).to_string()
}

fn parse_geometry_json(text: &str) -> Result<Geometry<f64>, StoreError> {
    let geometry = geojson::Geometry::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("geometry: {e}")))?;
    Geometry::<f64>::try_from(&geometry.value)
        .map_err(|e| StoreError::Corrupt(format!("geometry: {e}")))
}

fn asset_from_row(row: &SqliteRow) -> Result<Asset, StoreError> {
    let geometry_text: String = row.try_get("geometry")?;
    asset_of_row(row, parse_geometry_json(&geometry_text)?)
}

/// One asset of a start-up page, as SQLite's `json_array` writes it in
/// `assets_in_range`: id, kind, attributes (the stored JSON), area and
/// length, version, created and updated times, the point's longitude and
/// latitude, and the geometry (the stored JSON; null for a point). Reals
/// come as text written with 17 significant digits, which parse back to
/// the same doubles (`json_array` writes 15).
type PageRow<'a> = (
    i64,
    &'a str,
    &'a RawValue,
    Option<&'a str>,
    Option<&'a str>,
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a RawValue>,
);

/// A start-up page of assets from its JSON text, in id order. Bulk-imported
/// assets share their timestamps, so the last text parsed is remembered.
fn decode_page(text: &str) -> Result<Vec<Asset>, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("stored asset: {e}"));
    let real = |text: &str| {
        text.parse::<f64>()
            .map_err(|e| StoreError::Corrupt(format!("stored number {text:?}: {e}")))
    };
    let rows: Vec<PageRow> = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let mut times = TimestampMemo::default();
    let mut assets = rows
        .into_iter()
        .map(
            |(
                id,
                kind,
                attributes,
                area,
                length,
                version,
                created,
                updated,
                lon,
                lat,
                geometry,
            )| {
                let kind = AssetKind::from_str(kind).map_err(corrupt)?;
                let geometry = match geometry {
                    Some(g) => parse_geometry_json(g.get())?,
                    None => Geometry::Point(Point::new(real(lon)?, real(lat)?)),
                };
                Ok(Asset {
                    id: AssetId(id),
                    geometry,
                    attributes: AssetAttributes::from_stored(kind, attributes.get())
                        .map_err(corrupt)?,
                    derived: Derived {
                        area_m2: area.map(real).transpose()?,
                        length_m: length.map(real).transpose()?,
                    },
                    version: Version(version),
                    created_at: times.parse(created)?,
                    updated_at: times.parse(updated)?,
                })
            },
        )
        .collect::<Result<Vec<Asset>, StoreError>>()?;
    // `json_group_array` follows the subquery's order in practice; SQLite
    // does not promise it, so make sure (no work on a sorted page).
    assets.sort_by_key(|a| a.id);
    Ok(assets)
}

/// The last timestamp text parsed and what it parsed to.
#[derive(Default)]
struct TimestampMemo {
    last: Option<(String, OffsetDateTime)>,
}

impl TimestampMemo {
    fn parse(&mut self, text: &str) -> Result<OffsetDateTime, StoreError> {
        if let Some((seen, t)) = &self.last
            && seen == text
        {
            return Ok(*t);
        }
        let t = parse_timestamp(text)?;
        self.last = Some((text.to_string(), t));
        Ok(t)
    }
}

/// An asset from its row and its geometry (decoded by the caller).
fn asset_of_row(row: &SqliteRow, geometry: Geometry<f64>) -> Result<Asset, StoreError> {
    let kind_text: &str = row.try_get("kind")?;
    let kind = AssetKind::from_str(kind_text).map_err(StoreError::Corrupt)?;
    let attributes = AssetAttributes::from_stored(kind, row.try_get("attributes")?)
        .map_err(StoreError::Corrupt)?;
    Ok(Asset {
        id: AssetId(row.try_get("id")?),
        geometry,
        attributes,
        derived: Derived {
            area_m2: row.try_get("area_m2")?,
            length_m: row.try_get("length_m")?,
        },
        version: Version(row.try_get("version")?),
        created_at: parse_timestamp(row.try_get::<&str, _>("created_at")?)?,
        updated_at: parse_timestamp(row.try_get::<&str, _>("updated_at")?)?,
    })
}

/// The columns written from an [`AssetDraft`], in [`bind_draft`]'s order.
pub(super) const DRAFT_COLUMNS: &str = "kind, geometry, geometry_type, min_lon, min_lat, max_lon, max_lat, attributes, district, area_m2, length_m";

/// Binds a draft's values for [`DRAFT_COLUMNS`].
pub(super) fn bind_draft<'q>(
    row: &mut sqlx::query_builder::Separated<'_, 'q, Sqlite, &'static str>,
    draft: &'q AssetDraft,
) {
    let b = bounds(&draft.geometry);
    row.push_bind(kind_name(draft.kind()))
        .push_bind(geometry_json(&draft.geometry))
        .push_bind(geometry_type(&draft.geometry))
        .push_bind(b.min_lon)
        .push_bind(b.min_lat)
        .push_bind(b.max_lon)
        .push_bind(b.max_lat)
        .push_bind(serde_json::Value::Object(draft.attributes.to_json()).to_string())
        .push_bind(draft.attributes.district().map(District::as_str))
        .push_bind(draft.derived.area_m2)
        .push_bind(draft.derived.length_m);
}

/// An asset's bounding box as stored in its row (an empty geometry, which
/// validation refuses, would be stored at 0, 0).
fn bounds(geometry: &Geometry<f64>) -> LonLatBox {
    LonLatBox::of_geometry(geometry).unwrap_or(LonLatBox::point(0.0, 0.0))
}

/// The stored asset `id`, checked against the expected version, read
/// inside a write transaction (`BEGIN IMMEDIATE`, so that no other writer
/// can slip in between the check and the write).
async fn current_version_of(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    id: AssetId,
    expected: Option<Version>,
) -> Result<Asset, StoreError> {
    let row = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?"))
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?;
    let current = row
        .as_ref()
        .map(asset_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    match expected {
        Some(expected) if expected != current.version => Err(StoreError::VersionMismatch {
            current: current.version,
        }),
        _ => Ok(current),
    }
}

#[async_trait]
impl AssetStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(count = drafts.len()))]
    async fn insert_assets(&self, drafts: &[AssetDraft]) -> Result<Vec<Asset>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut stored = Vec::with_capacity(drafts.len());
        let at = now();
        let at_text = timestamp(at);
        // Multi-row INSERTs: one statement per chunk instead of one per
        // row (14 parameters a row, well under SQLite's 32,766).
        for chunk in drafts.chunks(INSERT_CHUNK_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO assets ({DRAFT_COLUMNS}, version, created_at, updated_at) "
            ));
            insert.push_values(chunk, |mut row, draft| {
                bind_draft(&mut row, draft);
                row.push_bind(1i64)
                    .push_bind(at_text.clone())
                    .push_bind(at_text.clone());
            });
            insert.push(" RETURNING id");
            let mut ids: Vec<i64> = insert.build_query_scalar().fetch_all(&mut *tx).await?;
            // RETURNING promises no order, but AUTOINCREMENT ids grow in
            // insertion order, so sorted ids line up with the chunk.
            ids.sort_unstable();
            if ids.len() != chunk.len() {
                return Err(StoreError::Corrupt(format!(
                    "inserted {} rows but got {} ids back",
                    chunk.len(),
                    ids.len()
                )));
            }
            for (id, draft) in ids.into_iter().zip(chunk) {
                stored.push(Asset {
                    id: AssetId(id),
                    geometry: draft.geometry.clone(),
                    attributes: draft.attributes.clone(),
                    derived: draft.derived,
                    version: Version::FIRST,
                    created_at: at,
                    updated_at: at,
                });
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    #[tracing::instrument(skip(self))]
    async fn get_asset(&self, id: AssetId) -> Result<Option<Asset>, StoreError> {
        let row = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(asset_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    async fn get_assets(&self, ids: &[AssetId]) -> Result<Vec<Asset>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_json =
            serde_json::Value::from(ids.iter().map(|id| id.0).collect::<Vec<i64>>()).to_string();
        let rows = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
        ))
        .bind(ids_json)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(asset_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn assets_after(&self, after: AssetId, limit: u32) -> Result<Vec<Asset>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(asset_from_row).collect()
    }

    #[tracing::instrument(skip(self, draft))]
    async fn update_asset(
        &self,
        id: AssetId,
        expected: Option<Version>,
        draft: &AssetDraft,
    ) -> Result<Asset, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = current_version_of(&mut tx, id, expected).await?;
        let at = now();
        let version = current.version.next();
        // One row-value assignment, with the same columns as INSERT.
        let mut update =
            QueryBuilder::<Sqlite>::new(format!("UPDATE assets SET ({DRAFT_COLUMNS}) = ("));
        bind_draft(&mut update.separated(", "), draft);
        update
            .push("), version = ")
            .push_bind(version.0)
            .push(", updated_at = ")
            .push_bind(timestamp(at))
            .push(" WHERE id = ")
            .push_bind(id.0)
            .push(" AND version = ")
            .push_bind(current.version.0);
        update.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Asset {
            id,
            geometry: draft.geometry.clone(),
            attributes: draft.attributes.clone(),
            derived: draft.derived,
            version,
            created_at: current.created_at,
            updated_at: at,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn delete_asset(
        &self,
        id: AssetId,
        expected: Option<Version>,
    ) -> Result<Asset, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = current_version_of(&mut tx, id, expected).await?;
        sqlx::query("DELETE FROM assets WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(current)
    }

    #[tracing::instrument(skip(self))]
    async fn all_assets(&self) -> Result<Vec<Asset>, StoreError> {
        // The ids are cut into ranges read at once on their own
        // connections (SQLite's readers do not block each other in WAL
        // mode), so that stepping rows and decoding them keep every core
        // busy. Each range is read a page at a time, so that the rows as
        // read (about a kilobyte each) never all sit in memory: the
        // allocator keeps such a peak as resident memory.
        //
        // The reads go through connections of their own, closed when
        // done: without mmap (a connection's map of the file stays
        // resident for as long as it lives) and with a small page cache.
        const RANGES: i64 = 2;
        let options = (*self.pool.connect_options())
            .clone()
            .pragma("mmap_size", "0")
            .pragma("cache_size", "-4096");
        let loading = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(RANGES as u32)
            .connect_with(options)
            .await?;
        let (low, high): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT min(id), max(id) FROM assets")
                .fetch_one(&loading)
                .await?;
        let (Some(low), Some(high)) = (low, high) else {
            return Ok(Vec::new());
        };
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM assets")
            .fetch_one(&loading)
            .await?;
        // Worked out in i128: ids may be anywhere in i64 (a store copied
        // with `migrate-store` keeps them), and the bounds must not wrap.
        let step = (i128::from(high) - i128::from(low)) / i128::from(RANGES) + 1;
        let mut reads = Vec::new();
        for k in 0..i128::from(RANGES) {
            let from = i128::from(low) + k * step;
            let to = (from + step - 1).min(i128::from(high));
            let (Ok(from), Ok(to)) = (i64::try_from(from), i64::try_from(to)) else {
                continue;
            };
            if from > to {
                continue;
            }
            let pool = loading.clone();
            reads.push(tokio::spawn(async move {
                assets_in_range(&pool, from, to).await
            }));
        }
        let mut assets = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for read in reads {
            let part = read
                .await
                .map_err(|e| StoreError::Corrupt(format!("reading assets: {e}")))??;
            assets.extend(part);
        }
        loading.close().await;
        Ok(assets)
    }
}

/// The assets with `from <= id <= to`, in id order, read a page at a time
/// and decoded off the async workers. Each page comes as one row holding
/// the page as JSON (built by SQLite), not as a row per asset: sqlx hands
/// each row from SQLite's thread to the reading task on its own, and at a
/// million rows that hand-over cost more than all the decoding. Points
/// are rebuilt from their bounding-box columns without parsing geometry
/// JSON: they are most of the assets of a city.
async fn assets_in_range(
    pool: &sqlx::SqlitePool,
    from: i64,
    to: i64,
) -> Result<Vec<Asset>, StoreError> {
    const PAGE_ROWS: i64 = 20_000;
    let mut assets = Vec::new();
    let mut lowest = from;
    loop {
        let (page, last, rows): (String, Option<i64>, i64) = sqlx::query_as(
            "SELECT json_group_array(json_array(id, kind, json(attributes), \
               CASE WHEN area_m2 IS NULL THEN NULL ELSE printf('%!.17g', area_m2) END, \
               CASE WHEN length_m IS NULL THEN NULL ELSE printf('%!.17g', length_m) END, \
               version, created_at, updated_at, printf('%!.17g', min_lon), printf('%!.17g', min_lat), \
               CASE WHEN geometry_type = 'Point' THEN NULL ELSE json(geometry) END)), max(id), count(*) \
             FROM (SELECT id, kind, attributes, area_m2, length_m, version, created_at, updated_at, \
                     min_lon, min_lat, geometry_type, geometry \
                   FROM assets WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?)",
        )
        .bind(lowest)
        .bind(to)
        .bind(PAGE_ROWS)
        .fetch_one(pool)
        .await?;
        let Some(last) = last else {
            return Ok(assets);
        };
        let decoded = tokio::task::spawn_blocking(move || decode_page(&page))
            .await
            .map_err(|e| StoreError::Corrupt(format!("decoding assets: {e}")))??;
        assets.extend(decoded);
        if rows < PAGE_ROWS || last >= to {
            return Ok(assets);
        }
        lowest = last + 1;
    }
}
