//! The scale-out store: PostgreSQL with PostGIS through sqlx, migrated
//! from `migrations/postgres` on open. Several instances share one
//! database; asset writes are logged in `asset_changes` and announced
//! with NOTIFY so that each instance's index can follow (see
//! [`super::PgChangeFeed`]).

use super::{AssetStore, StoreError, now};
use crate::domain::{
    Asset, AssetAttributes, AssetDraft, AssetId, AssetKind, Derived, District, Version,
};
use async_trait::async_trait;
use geo::Geometry;
use geozero::{CoordDimensions, ToGeo, ToWkb};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Rows per multi-row (array) INSERT of assets.
const INSERT_CHUNK_ROWS: usize = 10_000;

/// The advisory lock every asset write holds until it commits: asset
/// writes are rare next to reads, and serialising them makes the order of
/// `asset_changes.seq` the order of commits, which is what lets a
/// follower remember "everything up to seq N" safely.
const ASSET_WRITE_LOCK: i64 = 0x6875_746f_6e67; // "hutong"

/// The NOTIFY channel of asset changes.
pub(super) const ASSET_CHANNEL: &str = "hutong_assets";

const ASSET_COLUMNS: &str = "id, kind, ST_AsBinary(geom) AS wkb, attributes::text AS attributes, \
    area_m2, length_m, version, created_at, updated_at";

/// PostgreSQL-backed [`super::Store`].
#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
    /// This instance's name in `asset_changes.origin`: its own writes are
    /// in its index already, so its follower skips them.
    pub(super) origin: String,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), waiting while
    /// it is not yet reachable, and migrates it.
    #[tracing::instrument(skip_all)]
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("hutong");
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("postgres")
        );
        let pool_options = PgPoolOptions::new()
            .max_connections(16)
            // A request during an outage is answered 503 in seconds, not
            // held for sqlx's default 30 s.
            .acquire_timeout(Duration::from_secs(3))
            .test_before_acquire(true);
        let started = Instant::now();
        let mut waits = 0u32;
        let pool = loop {
            match pool_options.clone().connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(e) if super::error::is_transient(&e) => {
                    waits += 1;
                    if waits % 10 == 1 {
                        tracing::warn!(
                            database = %target,
                            error = %e,
                            waited_s = started.elapsed().as_secs(),
                            "PostgreSQL is not reachable yet; waiting for it (retrying every second)"
                        );
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        if waits > 0 {
            tracing::info!(database = %target, waited_s = started.elapsed().as_secs(), "PostgreSQL is reachable");
        }
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for an instance id: {e}")))?;
        let origin = crate::encoding::hex(&bytes);
        Ok(Self { pool, origin })
    }

    /// Closes the connections (waiting for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts an asset write: a transaction holding the asset write lock.
    async fn begin_asset_write(&self) -> Result<sqlx::Transaction<'_, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ASSET_WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Logs changed assets in the write's transaction and announces them
    /// (NOTIFY is delivered at commit, and not at all on rollback).
    async fn log_changes(
        &self,
        tx: &mut sqlx::Transaction<'_, Postgres>,
        ids: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO asset_changes (asset_id, origin) SELECT unnest($1::int8[]), $2")
            .bind(ids)
            .bind(&self.origin)
            .execute(&mut **tx)
            .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(ASSET_CHANNEL)
            .bind(&self.origin)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

pub(super) fn wkb_of(geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
    geometry
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| StoreError::Corrupt(format!("geometry to WKB: {e}")))
}

pub(super) fn geometry_of_wkb(wkb: &[u8]) -> Result<Geometry<f64>, StoreError> {
    geozero::wkb::Wkb(wkb)
        .to_geo()
        .map_err(|e| StoreError::Corrupt(format!("geometry from WKB: {e}")))
}

fn asset_from_row(row: &PgRow) -> Result<Asset, StoreError> {
    let kind_text: &str = row.try_get("kind")?;
    let kind = AssetKind::from_str(kind_text).map_err(StoreError::Corrupt)?;
    let attributes = AssetAttributes::from_stored(kind, row.try_get("attributes")?)
        .map_err(StoreError::Corrupt)?;
    Ok(Asset {
        id: AssetId(row.try_get("id")?),
        geometry: geometry_of_wkb(row.try_get("wkb")?)?,
        attributes,
        derived: Derived {
            area_m2: row.try_get("area_m2")?,
            length_m: row.try_get("length_m")?,
        },
        version: Version(row.try_get("version")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The stored asset `id`, locked for the rest of the transaction and
/// checked against the expected version.
async fn current_version_of(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    id: AssetId,
    expected: Option<Version>,
) -> Result<Asset, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1 FOR UPDATE"
    ))
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

fn attributes_text(attributes: &AssetAttributes) -> String {
    serde_json::Value::Object(attributes.to_json()).to_string()
}

/// Assets' stored values, one array per column, for `unnest($n::type[])`:
/// one statement writes a whole chunk.
#[derive(Default)]
pub(super) struct AssetColumns {
    pub kinds: Vec<&'static str>,
    pub wkbs: Vec<Vec<u8>>,
    pub attributes: Vec<String>,
    pub districts: Vec<Option<&'static str>>,
    pub areas: Vec<Option<f64>>,
    pub lengths: Vec<Option<f64>>,
}

impl AssetColumns {
    pub fn push(
        &mut self,
        kind: AssetKind,
        geometry: &Geometry<f64>,
        attributes: &AssetAttributes,
        derived: Derived,
    ) -> Result<(), StoreError> {
        self.kinds.push(kind.as_str());
        self.wkbs.push(wkb_of(geometry)?);
        self.attributes.push(attributes_text(attributes));
        self.districts
            .push(attributes.district().map(District::as_str));
        self.areas.push(derived.area_m2);
        self.lengths.push(derived.length_m);
        Ok(())
    }
}

#[async_trait]
impl AssetStore for PgStore {
    #[tracing::instrument(skip_all, fields(count = drafts.len()))]
    async fn insert_assets(&self, drafts: &[AssetDraft]) -> Result<Vec<Asset>, StoreError> {
        let mut tx = self.begin_asset_write().await?;
        let at = now();
        let mut stored = Vec::with_capacity(drafts.len());
        for chunk in drafts.chunks(INSERT_CHUNK_ROWS) {
            let mut columns = AssetColumns::default();
            for draft in chunk {
                columns.push(
                    draft.kind(),
                    &draft.geometry,
                    &draft.attributes,
                    draft.derived,
                )?;
            }
            // Array parameters, one statement per chunk; WITH ORDINALITY
            // and ORDER BY make the identity values follow input order.
            let mut ids: Vec<i64> = sqlx::query_scalar(
                "INSERT INTO assets (kind, geom, attributes, district, area_m2, length_m, version, created_at, updated_at) \
                 SELECT k, ST_SetSRID(ST_GeomFromWKB(g), 4326), a::jsonb, d, ar, l, 1, $7, $7 \
                 FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::float8[], $6::float8[]) \
                 WITH ORDINALITY AS u(k, g, a, d, ar, l, ord) ORDER BY ord RETURNING id",
            )
            .bind(&columns.kinds)
            .bind(&columns.wkbs)
            .bind(&columns.attributes)
            .bind(&columns.districts)
            .bind(&columns.areas)
            .bind(&columns.lengths)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?;
            ids.sort_unstable();
            if ids.len() != chunk.len() {
                return Err(StoreError::Corrupt(format!(
                    "inserted {} assets but got {} ids back",
                    chunk.len(),
                    ids.len()
                )));
            }
            self.log_changes(&mut tx, &ids).await?;
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
        let row = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1"))
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
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let rows = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE id = ANY($1) ORDER BY id"
        ))
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(asset_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn assets_after(&self, after: AssetId, limit: u32) -> Result<Vec<Asset>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE id > $1 ORDER BY id LIMIT $2"
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
        let mut tx = self.begin_asset_write().await?;
        let current = current_version_of(&mut tx, id, expected).await?;
        let at = now();
        let version = current.version.next();
        sqlx::query(
            "UPDATE assets SET geom = ST_SetSRID(ST_GeomFromWKB($1), 4326), attributes = $2::jsonb, \
             district = $3, area_m2 = $4, length_m = $5, version = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(wkb_of(&draft.geometry)?)
        .bind(attributes_text(&draft.attributes))
        .bind(draft.attributes.district().map(District::as_str))
        .bind(draft.derived.area_m2)
        .bind(draft.derived.length_m)
        .bind(version.0)
        .bind(at)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        self.log_changes(&mut tx, &[id.0]).await?;
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
        let mut tx = self.begin_asset_write().await?;
        let current = current_version_of(&mut tx, id, expected).await?;
        sqlx::query("DELETE FROM assets WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        self.log_changes(&mut tx, &[id.0]).await?;
        tx.commit().await?;
        Ok(current)
    }

    #[tracing::instrument(skip(self))]
    async fn all_assets(&self) -> Result<Vec<Asset>, StoreError> {
        // A page at a time, so that the rows as read never all sit in
        // memory at once (see the SQLite store).
        const PAGE_ROWS: u32 = 50_000;
        let mut assets = Vec::new();
        let mut after = AssetId(i64::MIN);
        loop {
            let page = self.assets_after(after, PAGE_ROWS).await?;
            let Some(last) = page.last() else {
                return Ok(assets);
            };
            after = last.id;
            let done = page.len() < PAGE_ROWS as usize;
            assets.extend(page);
            if done {
                return Ok(assets);
            }
        }
    }
}
