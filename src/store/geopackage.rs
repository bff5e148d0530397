//! GeoPackage files (OGC 12-128r18, version 1.3): writing feature layers
//! and reading them back. The file is SQLite, written through sqlx with the
//! tables the standard requires (`gpkg_spatial_ref_sys`, `gpkg_contents`,
//! `gpkg_geometry_columns`) and one feature table per layer; geometries
//! are GeoPackage binary blobs made and read by geozero. No crate writes
//! GeoPackage from Rust without GDAL, so the few tables are written here.
//!
//! A file read may come from anywhere: only layers named by the caller
//! are read, names must be plain identifiers, and types are checked.

use super::StoreError;
use geozero::{CoordDimensions, ToGeo, ToWkb};
use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;

/// `PRAGMA application_id` of a GeoPackage: "GPKG".
const APPLICATION_ID: i64 = 0x4750_4B47;
/// `PRAGMA user_version` of version 1.3.0.
const USER_VERSION: i64 = 10_300;

/// A column's type in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    Real,
    Text,
    Boolean,
}

impl ColumnType {
    fn sql(self) -> &'static str {
        match self {
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Text => "TEXT",
            ColumnType::Boolean => "BOOLEAN",
        }
    }

    fn of_declared(declared: &str) -> Option<Self> {
        let d = declared.to_ascii_uppercase();
        Some(match d.as_str() {
            "INTEGER" | "INT" | "MEDIUMINT" | "SMALLINT" | "TINYINT" => ColumnType::Integer,
            "REAL" | "DOUBLE" | "FLOAT" => ColumnType::Real,
            "BOOLEAN" => ColumnType::Boolean,
            _ if d.starts_with("TEXT") || d == "DATE" || d == "DATETIME" => ColumnType::Text,
            _ => return None,
        })
    }
}

/// A feature layer: its table name, the geometry type it declares, its
/// columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub description: String,
    /// `POINT`, `LINESTRING`, `POLYGON`, `GEOMETRY`, …
    pub geometry_type: &'static str,
    pub columns: Vec<(String, ColumnType)>,
    pub rows: Vec<Feature>,
}

/// One row: its geometry (WGS 84) and its values by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub fid: i64,
    pub geometry: Option<geo::Geometry<f64>>,
    pub values: Map<String, Value>,
}

fn plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn bad(detail: impl Into<String>) -> StoreError {
    StoreError::Conflict(detail.into())
}

async fn open(path: &Path, create: bool) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(StoreError::from)?
        .create_if_missing(create)
        .read_only(!create);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// The envelope of a geometry as GeoPackage wants it: min x, max x,
/// min y, max y.
fn envelope(g: &geo::Geometry<f64>) -> Vec<f64> {
    use geo::BoundingRect;
    match (g, g.bounding_rect()) {
        (geo::Geometry::Point(_), _) | (_, None) => Vec::new(),
        (_, Some(r)) => vec![r.min().x, r.max().x, r.min().y, r.max().y],
    }
}

/// Writes layers to a new GeoPackage file (refusing to overwrite one).
pub async fn write(path: &Path, layers: &[Layer]) -> Result<(), StoreError> {
    if path.exists() {
        return Err(bad(format!(
            "{} exists; write to a new file",
            path.display()
        )));
    }
    let pool = open(path, true).await?;
    let mut tx = pool.begin().await?;
    for statement in [
        format!("PRAGMA application_id = {APPLICATION_ID}"),
        format!("PRAGMA user_version = {USER_VERSION}"),
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, \
         organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, \
         description TEXT)"
            .into(),
        "INSERT INTO gpkg_spatial_ref_sys VALUES \
         ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'), \
         ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'), \
         ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')"
            .into(),
        "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, \
         identifier TEXT UNIQUE, description TEXT DEFAULT '', \
         last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), \
         min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, \
         CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))"
            .into(),
        "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, \
         geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, \
         CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), \
         CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), \
         CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))"
            .into(),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    for layer in layers {
        if !plain_identifier(&layer.name)
            || layer
                .columns
                .iter()
                .any(|(c, _)| !plain_identifier(c) || c == "fid" || c == "geom")
        {
            return Err(bad(format!(
                "layer {:?} has a name that is not plain",
                layer.name
            )));
        }
        let columns: Vec<String> = layer
            .columns
            .iter()
            .map(|(name, t)| format!("\"{name}\" {}", t.sql()))
            .collect();
        let mut create = format!(
            "CREATE TABLE \"{}\" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom {}",
            layer.name, layer.geometry_type
        );
        for c in &columns {
            create.push_str(", ");
            create.push_str(c);
        }
        create.push(')');
        sqlx::query(&create).execute(&mut *tx).await?;
        let extent = layer
            .rows
            .iter()
            .filter_map(|f| f.geometry.as_ref())
            .filter_map(geo::BoundingRect::bounding_rect)
            .reduce(|a, b| {
                geo::Rect::new(
                    geo::coord! {x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y)},
                    geo::coord! {x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y)},
                )
            });
        sqlx::query(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) \
             VALUES (?, 'features', ?, ?, ?, ?, ?, ?, 4326)",
        )
        .bind(&layer.name)
        .bind(&layer.name)
        .bind(&layer.description)
        .bind(extent.map(|r| r.min().x))
        .bind(extent.map(|r| r.min().y))
        .bind(extent.map(|r| r.max().x))
        .bind(extent.map(|r| r.max().y))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)")
            .bind(&layer.name)
            .bind(layer.geometry_type)
            .execute(&mut *tx)
            .await?;
        let placeholders = vec!["?"; layer.columns.len() + 1].join(", ");
        let names: Vec<String> = layer
            .columns
            .iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect();
        let insert = format!(
            "INSERT INTO \"{}\" (geom{}{}) VALUES ({placeholders})",
            layer.name,
            if names.is_empty() { "" } else { ", " },
            names.join(", ")
        );
        for feature in &layer.rows {
            let blob = feature
                .geometry
                .as_ref()
                .map(|g| {
                    g.to_gpkg_wkb(CoordDimensions::xy(), Some(4326), envelope(g))
                        .map_err(|e| bad(format!("geometry of row {}: {e}", feature.fid)))
                })
                .transpose()?;
            let mut q = sqlx::query(&insert).bind(blob);
            for (name, t) in &layer.columns {
                let v = feature.values.get(name).unwrap_or(&Value::Null);
                q = match (t, v) {
                    (_, Value::Null) => q.bind(None::<String>),
                    (ColumnType::Integer, v) => q.bind(v.as_i64()),
                    (ColumnType::Real, v) => q.bind(v.as_f64()),
                    (ColumnType::Boolean, v) => q.bind(v.as_bool()),
                    (ColumnType::Text, Value::String(s)) => q.bind(s.clone()),
                    (ColumnType::Text, other) => q.bind(other.to_string()),
                };
            }
            q.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    pool.close().await;
    Ok(())
}

/// Reads the named feature layers present in a GeoPackage (others are
/// left alone); a layer's rows with their geometry and values.
pub async fn read(path: &Path, wanted: &[&str]) -> Result<Vec<Layer>, StoreError> {
    let pool = open(path, false).await?;
    let application: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&pool)
        .await?;
    if application != APPLICATION_ID {
        return Err(bad(format!("{} is not a GeoPackage", path.display())));
    }
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name, g.column_name FROM gpkg_contents c \
         JOIN gpkg_geometry_columns g ON g.table_name = c.table_name WHERE c.data_type = 'features'",
    )
    .fetch_all(&pool)
    .await?;
    let mut layers = Vec::new();
    for (table, geometry_column) in tables {
        let Some(name) = wanted.iter().find(|w| **w == table) else {
            continue;
        };
        if !plain_identifier(&geometry_column) {
            return Err(bad(format!(
                "layer {table}: geometry column {geometry_column:?} is not plain"
            )));
        }
        let info = sqlx::query(&format!("PRAGMA table_info(\"{table}\")"))
            .fetch_all(&pool)
            .await?;
        let mut columns = Vec::new();
        let mut key = None;
        for row in &info {
            let column: String = row.try_get("name")?;
            let declared: String = row.try_get("type")?;
            let pk: i64 = row.try_get("pk")?;
            if column == geometry_column {
                continue;
            }
            if pk > 0 {
                key = Some(column);
                continue;
            }
            if !plain_identifier(&column) {
                return Err(bad(format!(
                    "layer {table}: column {column:?} is not plain"
                )));
            }
            if let Some(t) = ColumnType::of_declared(&declared) {
                columns.push((column, t));
            }
        }
        let key = key.ok_or_else(|| bad(format!("layer {table} has no integer primary key")))?;
        if !plain_identifier(&key) {
            return Err(bad(format!("layer {table}: key {key:?} is not plain")));
        }
        let select: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let sql = format!(
            "SELECT \"{key}\" AS fid, \"{geometry_column}\" AS geom{}{} FROM \"{table}\" ORDER BY \"{key}\"",
            if select.is_empty() { "" } else { ", " },
            select.join(", ")
        );
        let mut rows = Vec::new();
        for row in sqlx::query(&sql).fetch_all(&pool).await? {
            let fid: i64 = row.try_get("fid")?;
            let blob: Option<Vec<u8>> = row.try_get("geom")?;
            let geometry = blob
                .map(|b| {
                    geozero::wkb::GpkgWkb(b).to_geo().map_err(|e| {
                        bad(format!(
                            "layer {table} row {fid}: its geometry cannot be read: {e}"
                        ))
                    })
                })
                .transpose()?;
            let mut values = Map::new();
            for (column, t) in &columns {
                let v = match t {
                    ColumnType::Integer => row
                        .try_get::<Option<i64>, _>(column.as_str())
                        .ok()
                        .flatten()
                        .map(Value::from),
                    ColumnType::Real => row
                        .try_get::<Option<f64>, _>(column.as_str())
                        .ok()
                        .flatten()
                        .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)),
                    ColumnType::Boolean => row
                        .try_get::<Option<bool>, _>(column.as_str())
                        .ok()
                        .flatten()
                        .map(Value::from),
                    ColumnType::Text => row
                        .try_get::<Option<String>, _>(column.as_str())
                        .ok()
                        .flatten()
                        .map(Value::from),
                };
                if let Some(v) = v {
                    values.insert(column.clone(), v);
                }
            }
            rows.push(Feature {
                fid,
                geometry,
                values,
            });
        }
        layers.push(Layer {
            name: name.to_string(),
            description: String::new(),
            geometry_type: "GEOMETRY",
            columns,
            rows,
        });
    }
    pool.close().await;
    Ok(layers)
}
