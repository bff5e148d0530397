//! The map API at city scale against PostGIS on the same data, in one run:
//! - an items query: 1,000 features of a collection in a bounding box,
//!   as GeoJSON (`/collections/lights/items?bbox=…&limit=1000` over HTTP
//!   against `ST_AsGeoJSON` over a GiST bbox query);
//! - the densest zoom-14 vector tile (`/tiles/14/x/y.mvt` over HTTP
//!   against `ST_AsMVT` of every kind's layer).
//!
//! 1,000,000 generated assets (all kinds) are stored in SQLite through the
//! registry and copied into a fresh PostGIS database (`hutong_bench`) on
//! the local PostgreSQL. hutong is loaded with wrk, PostGIS with pgbench,
//! each with 4 connections for 10 s; hutong's figures include HTTP and
//! JSON/protobuf encoding, PostGIS's only the SQL.
//!
//! `bash scripts/install-bench-deps.sh && cargo bench --bench map_api`
//! (size: HUTONG_BENCH_ASSETS, default 1,000,000; PostgreSQL: PGHOST,
//! default 127.0.0.1, user postgres).

// A benchmark may fail loudly.
#![allow(clippy::panic)]

use geo::BoundingRect;
use hutong::app::{Application, Settings};
use hutong::sample_data::generate::store_city;
use hutong::services::registry::Registry;
use hutong::spatial::vector_tile::{TileId, to_mercator};
use hutong::spatial::{GeometryLimits, LonLatBox};
use hutong::store;
use std::collections::HashMap;
use std::io::Write;
use std::process::Command;

#[path = "common/measure.rs"]
mod measure;

use measure::{pghost, psql};
use std::sync::Arc;
use std::time::Instant;

const SEED: u64 = 77;
const DB: &str = "hutong_bench";
const SECONDS: &str = "10";
const CONNECTIONS: &str = "4";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests per second wrk measured.
fn wrk(url: &str) -> f64 {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            url,
        ])
        .output()
        .expect("wrk runs (bash scripts/install-bench-deps.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output: {text}"))
}

/// Transactions per second pgbench measured for one SQL statement.
fn pgbench(sql: &str) -> f64 {
    let mut script = tempfile::NamedTempFile::new().expect("script");
    writeln!(script, "{sql}").expect("written");
    let out = Command::new("pgbench")
        .args([
            "-h",
            &pghost(),
            "-U",
            "postgres",
            "-n",
            "-c",
            CONNECTIONS,
            "-j",
            "2",
            "-T",
            SECONDS,
            "-f",
        ])
        .arg(script.path())
        .arg(DB)
        .output()
        .expect("pgbench runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
}

#[tokio::main]
async fn main() {
    let assets = env_count("HUTONG_BENCH_ASSETS", 1_000_000);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());

    // 1. The same assets in SQLite (through the registry) and in PostGIS.
    let started = Instant::now();
    let store = store::open(&url).await.expect("store");
    let registry = Arc::new(
        Registry::open(store, GeometryLimits::default())
            .await
            .expect("registry"),
    );
    store_city(&registry, SEED, false, assets)
        .await
        .expect("stored");
    println!(
        "stored {assets} assets in SQLite in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let csv_path = dir.path().join("assets.csv");
    let mut csv = csv::Writer::from_path(&csv_path).expect("csv");
    let mut per_tile: HashMap<(u32, u32), usize> = HashMap::new();
    registry
        .for_each_page(10_000, |views| {
            for v in views {
                let a = &v.asset;
                let geometry = geojson::Geometry::from(geojson::GeometryValue::from(&a.geometry));
                let attributes = serde_json::Value::Object(a.attributes.to_json());
                csv.write_record([
                    a.id.0.to_string(),
                    a.kind().as_str().to_string(),
                    attributes.to_string(),
                    geometry.to_string(),
                ])?;
                if let Some(r) = a.geometry.bounding_rect() {
                    let (x, y) = to_mercator(r.center().x, r.center().y);
                    let size = 2.0 * 20_037_508.342_789_244 / 16384.0;
                    let key = (
                        ((x + 20_037_508.342_789_244) / size) as u32,
                        ((20_037_508.342_789_244 - y) / size) as u32,
                    );
                    *per_tile.entry(key).or_default() += 1;
                }
            }
            Ok(())
        })
        .await
        .expect("exported");
    csv.flush().expect("flushed");
    drop(csv);

    let started = Instant::now();
    psql("postgres", &format!("DROP DATABASE IF EXISTS {DB}"));
    psql("postgres", &format!("CREATE DATABASE {DB}"));
    psql(DB, "CREATE EXTENSION postgis");
    psql(
        DB,
        "CREATE UNLOGGED TABLE staging (id bigint, kind text, attributes text, geometry text)",
    );
    psql(
        DB,
        &format!(
            "\\copy staging FROM '{}' WITH (FORMAT csv)",
            csv_path.display()
        ),
    );
    psql(
        DB,
        "CREATE TABLE assets AS SELECT id, kind, attributes::jsonb AS attributes, ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326)::geometry(Geometry, 4326) AS geom FROM staging",
    );
    psql(DB, "DROP TABLE staging");
    psql(DB, "ALTER TABLE assets ADD PRIMARY KEY (id)");
    psql(DB, "CREATE INDEX assets_geom ON assets USING gist (geom)");
    psql(DB, "CREATE INDEX assets_kind ON assets (kind)");
    psql(DB, "VACUUM ANALYZE assets");
    let count = psql(DB, "SELECT count(*) FROM assets");
    println!(
        "copied {count} assets into PostGIS in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. hutong on the SQLite database.
    let app = Application::build(&Settings {
        database_url: url.clone(),
        listen: "127.0.0.1:0".into(),
        demo: false,
        ..Settings::default()
    })
    .await
    .expect("app");
    let addr = app.local_addr().expect("bound");
    tokio::spawn(app.run_until(std::future::pending()));

    // 3. A box holding at least 1,000 lights, grown around the densest tile.
    let (&(tx, ty), &densest) = per_tile.iter().max_by_key(|(_, n)| **n).expect("a tile");
    let tile = TileId::new(14, tx, ty).expect("tile");
    let (w, s, e, n) = tile.lonlat_bounds();
    let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
    let mut half = 0.002;
    let bbox = loop {
        let b = LonLatBox {
            min_lon: cx - half,
            min_lat: cy - half,
            max_lon: cx + half,
            max_lat: cy + half,
        };
        let lights =
            registry.with_index(|i| i.intersecting(b, &[hutong::domain::AssetKind::Light]).len());
        if lights >= 1_000 || half > 1.0 {
            println!(
                "bbox {:.4},{:.4},{:.4},{:.4} holds {lights} lights",
                b.min_lon, b.min_lat, b.max_lon, b.max_lat
            );
            break b;
        }
        half *= 1.25;
    };

    // 4. Items: hutong vs ST_AsGeoJSON.
    let items_url = format!(
        "http://{addr}/collections/lights/items?bbox={},{},{},{}&limit=1000",
        bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat
    );
    let ours = wrk(&items_url);
    let theirs = pgbench(&format!(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(ST_AsGeoJSON(t.*)::json)) \
         FROM (SELECT id, kind, attributes, geom FROM assets WHERE kind = 'light' AND geom && ST_MakeEnvelope({}, {}, {}, {}, 4326) ORDER BY id LIMIT 1000) t;",
        bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat
    ));
    println!(
        "items, 1000 features in a bbox at {assets} assets: hutong {ours:.0} req/s, PostGIS {theirs:.0} q/s: {:.2}x",
        ours / theirs
    );

    // 5. The densest zoom-14 tile: hutong vs ST_AsMVT, every kind a layer.
    let tile_url = format!("http://{addr}/tiles/14/{tx}/{ty}.mvt");
    let ours_tile = wrk(&tile_url);
    let layers: Vec<String> = [("courtyards", "courtyard"), ("buildings", "building"), ("lanes", "lane"), ("drainage", "drainage"), ("lights", "light"), ("chargers", "charger")]
        .iter()
        .map(|(layer, kind)| format!(
            "COALESCE((SELECT ST_AsMVT(q, '{layer}', 4096, 'geom', 'id') FROM (SELECT id, attributes, ST_AsMVTGeom(ST_Transform(geom, 3857), e.env, 4096, 64, true) AS geom \
             FROM assets, e WHERE kind = '{kind}' AND geom && e.box) q), ''::bytea)"
        ))
        .collect();
    let theirs_tile = pgbench(&format!(
        "WITH e AS (SELECT ST_TileEnvelope(14, {tx}, {ty}) AS env, ST_Transform(ST_TileEnvelope(14, {tx}, {ty}, margin => 64.0 / 4096), 4326) AS box) SELECT {};",
        layers.join(" || ")
    ));
    println!(
        "densest zoom-14 tile ({tx}/{ty}, {densest} assets): hutong {ours_tile:.0} tiles/s, PostGIS {theirs_tile:.0} tiles/s: {:.2}x",
        ours_tile / theirs_tile
    );
}
