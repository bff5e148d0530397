//! "What is near me" for crews: 100,000 open work orders among 10,000,000
//! in history, over a lane network of 10,000 lanes (the 8 km × 8 km grid
//! of hutong blocks of `walking_order`, a fifth of the block sides
//! missing), every request at a different random point in that square.
//!
//! 1. The store: the lanes through the registry, then 10,000,000 work
//!    orders by SQL (one in a hundred still open, assigned), in SQLite;
//!    the same orders in PostGIS (`hutong_bench_wo`), a partial GiST index
//!    on the open ones.
//! 2. In-process, in this process: the open orders read from the store
//!    and indexed (timed), then `OpenOrders::nearby` (radius 500 m, 10
//!    nearest): the first 1,000 queries apart from 100,000 after; and the
//!    walking distances to the 10 found (`LaneNetwork::distances_from`).
//! 3. Over HTTP, from a fresh `hutong serve` (the release binary): its
//!    start-up and RSS; 1,000 requests one at a time (first touch); then
//!    wrk with 64 connections for 10 s on `/v1/work-orders/nearby` (each
//!    request a new random point; straight-line and walking distances in
//!    every answer) and on `/health` (the HTTP ceiling); RSS after.
//! 4. PostGIS KNN on the open orders with pgbench, 64 clients, 10 s, each
//!    transaction a new random point: the 10 nearest by `<->` with their
//!    geodesic distances.
//!
//! `bash scripts/install-bench-deps.sh && cargo bench --bench work_orders`
//! (HUTONG_BENCH_ORDERS, default 10,000,000; PGHOST default 127.0.0.1)

// A benchmark may fail loudly.
#![allow(clippy::panic)]

use hutong::domain::Role;
use hutong::services::registry::Registry;
use hutong::services::tokens::Tokens;
use hutong::services::work_orders::OpenOrders;
use hutong::spatial::{GeometryLimits, LaneNetwork};
use hutong::store::{self, TokenSpec};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::json;
use std::io::Write;
use std::process::Command;
use std::time::Instant;

#[path = "common/lane_grid.rs"]
mod lane_grid;
#[path = "common/measure.rs"]
mod measure;

use lane_grid::{BLOCK_M, SIDE, SOUTH, WEST, at};
use measure::{pghost, psql, rss_kib, serve_fresh, summary};

const RADIUS_M: f64 = 500.0;
const LIMIT: usize = 10;
const PG_DB: &str = "hutong_bench_wo";
const CONNECTIONS: usize = 64;
const SECONDS: u64 = 10;

/// The square's size in degrees.
fn span() -> (f64, f64) {
    let (e, n) = at(SIDE as f64 * BLOCK_M, SIDE as f64 * BLOCK_M);
    (e - WEST, n - SOUTH)
}

fn lanes() -> Vec<(i64, Vec<(f64, f64)>)> {
    lane_grid::lanes(&mut Pcg64Mcg::seed_from_u64(13))
}

fn wrk(url: &str, script: &str) -> (f64, String) {
    let mut file = tempfile::NamedTempFile::new().expect("script");
    write!(file, "{script}").expect("written");
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            "--latency",
            "-s",
        ])
        .arg(file.path())
        .arg(url)
        .output()
        .expect("wrk runs (bash scripts/install-bench-deps.sh)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output: {text}"));
    let latency = text
        .lines()
        .filter(|l| l.trim_start().starts_with("50%") || l.trim_start().starts_with("99%"))
        .map(|l| l.trim().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    (rate, latency)
}

fn pgbench(script: &str) -> f64 {
    let mut file = tempfile::NamedTempFile::new().expect("script");
    write!(file, "{script}").expect("written");
    let out = Command::new("pgbench")
        .args([
            "-h",
            &pghost(),
            "-U",
            "postgres",
            "-n",
            "-c",
            &CONNECTIONS.to_string(),
            "-j",
            "2",
            "-T",
            &SECONDS.to_string(),
            "-f",
        ])
        .arg(file.path())
        .arg(PG_DB)
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

/// The SQL expressions of order `i`'s place, status and crew: the same on
/// SQLite and PostgreSQL (integer arithmetic on 64 bits).
fn order_columns(dlon: f64, dlat: f64) -> (String, String, String) {
    (
        format!("{WEST} + ((i * 7919) % 1000003) * {dlon} / 1000003.0"),
        format!("{SOUTH} + ((i * 104729) % 999983) * {dlat} / 999983.0"),
        "CASE WHEN i % 100 = 0 THEN 'assigned' ELSE 'verified' END".into(),
    )
}

#[tokio::main]
async fn main() {
    let orders: i64 = std::env::var("HUTONG_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("orders.db").display());
    let (dlon, dlat) = span();
    let (lon_sql, lat_sql, status_sql) = order_columns(dlon, dlat);

    // 1. The store.
    let started = Instant::now();
    let store = store::open(&url).await.expect("store");
    let registry = Registry::open(store.clone(), GeometryLimits::default())
        .await
        .expect("registry");
    let lanes = lanes();
    let drafts: Vec<_> = lanes
        .iter()
        .map(|(_, line)| {
            let coords: Vec<_> = line.iter().map(|(x, y)| json!([x, y])).collect();
            registry
                .draft_from_feature(&json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                    "properties": {"kind": "lane", "district": "dongcheng"}}))
                .expect("a lane")
        })
        .collect();
    registry.insert_all(&drafts).await.expect("lanes stored");
    drop(registry);
    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
    let chunk = 1_000_000i64;
    let mut from = 1i64;
    while from <= orders {
        let to = (from + chunk - 1).min(orders);
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {to}) \
             INSERT INTO work_orders (unit, crew, origin, lon, lat, district, kind, description, priority, status, version, created_at, updated_at) \
             SELECT 'beijing-drainage', CASE WHEN i % 100 = 0 THEN 'drainage-dongcheng-1' END, 'manual', {lon_sql}, {lat_sql}, 'dongcheng', 'repair', \
             'clear the gully', 'normal', {status_sql}, 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n"
        );
        sqlx::query(&sql)
            .execute(&pool)
            .await
            .expect("orders stored");
        from = to + 1;
    }
    pool.close().await;
    let (token, _) = Tokens::new(store.clone())
        .create(&TokenSpec::of(Role::Planner).labelled("bench"))
        .await
        .expect("token");
    println!(
        "store: {} lanes and {orders} work orders ({} open) in SQLite in {:.0} s",
        lanes.len(),
        orders / 100,
        started.elapsed().as_secs_f64()
    );

    psql("postgres", &format!("DROP DATABASE IF EXISTS {PG_DB}"));
    psql("postgres", &format!("CREATE DATABASE {PG_DB}"));
    psql(PG_DB, "CREATE EXTENSION IF NOT EXISTS postgis");
    let started = Instant::now();
    psql(
        PG_DB,
        "CREATE TABLE wo (id bigint PRIMARY KEY, status text NOT NULL, lon double precision NOT NULL, lat double precision NOT NULL, geom geometry(Point, 4326) NOT NULL)",
    );
    psql(
        PG_DB,
        &format!(
            "INSERT INTO wo SELECT i, {status_sql}, {lon_sql}, {lat_sql}, ST_SetSRID(ST_MakePoint({lon_sql}, {lat_sql}), 4326) \
             FROM generate_series(1::bigint, {orders}::bigint) AS i"
        ),
    );
    psql(
        PG_DB,
        "CREATE INDEX wo_open_geom ON wo USING gist (geom) WHERE status IN ('open', 'assigned', 'in_progress')",
    );
    psql(PG_DB, "VACUUM ANALYZE wo");
    println!(
        "PostGIS: the same orders, partial GiST index, in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    // 2. In-process.
    let rss_before = rss_kib(std::process::id());
    let started = Instant::now();
    let mut open = Vec::new();
    let mut after = hutong::domain::WorkOrderId(0);
    loop {
        let page = store
            .open_work_orders(after, 20_000)
            .await
            .expect("open orders");
        let Some(last) = page.last() else { break };
        after = last.id;
        open.extend(page);
    }
    let count = open.len();
    let index = OpenOrders::build(open);
    println!(
        "in-process: {count} open orders read and indexed in {:.0} ms, RSS +{} MiB",
        started.elapsed().as_secs_f64() * 1e3,
        rss_kib(std::process::id()).saturating_sub(rss_before) / 1024
    );
    let network = LaneNetwork::build(&lanes);
    let rng = std::cell::RefCell::new(Pcg64Mcg::seed_from_u64(29));
    let point = || {
        let mut rng = rng.borrow_mut();
        (
            WEST + rng.random::<f64>() * dlon,
            SOUTH + rng.random::<f64>() * dlat,
        )
    };
    let time_nearby = |n: usize| {
        (0..n)
            .map(|_| {
                let p = point();
                let t = Instant::now();
                let hits = index.nearby(p, RADIUS_M, LIMIT, |_| true);
                let us = t.elapsed().as_secs_f64() * 1e6;
                assert!(hits.len() <= LIMIT);
                us
            })
            .collect::<Vec<f64>>()
    };
    summary("nearby in-process, first 1,000", "µs", time_nearby(1_000));
    let steady = summary(
        "nearby in-process, next 100,000",
        "µs",
        time_nearby(100_000),
    );
    let mut walk = Vec::new();
    for _ in 0..2_000 {
        let p = point();
        let hits = index.nearby(p, RADIUS_M, LIMIT, |_| true);
        let targets: Vec<(f64, f64)> = hits.iter().map(|(o, _)| o.draft.location).collect();
        let t = Instant::now();
        let d = network.distances_from(p, &targets);
        walk.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(d.len(), targets.len());
    }
    summary("walking distances to the 10 found, in-process", "µs", walk);
    drop(index);
    drop(store);

    // 3. Over HTTP, from a fresh process.
    let client = reqwest::Client::new();
    let (mut server, base, up) = serve_fresh(&url, &client).await;
    println!(
        "HTTP: hutong serve up in {:.1} s, RSS {} MiB",
        up.as_secs_f64(),
        rss_kib(server.id()) / 1024
    );
    let mut first = Vec::new();
    for _ in 0..1_000 {
        let (lon, lat) = point();
        let t = Instant::now();
        let r = client
            .get(format!("{base}/v1/work-orders/nearby?lon={lon:.6}&lat={lat:.6}&radius_m={RADIUS_M}&limit={LIMIT}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent");
        assert!(r.status().is_success());
        let body: serde_json::Value = r.json().await.expect("JSON");
        first.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(
            body["numberReturned"]
                .as_u64()
                .is_some_and(|n| n <= LIMIT as u64)
        );
    }
    summary("HTTP nearby, first 1,000 one at a time", "µs", first);
    let script = |extra: &str| {
        format!(
            "math.randomseed(os.time())\n\
             request = function()\n\
               local lon = {WEST} + math.random() * {dlon}\n\
               local lat = {SOUTH} + math.random() * {dlat}\n\
               return wrk.format(\"GET\", string.format(\"/v1/work-orders/nearby?lon=%.6f&lat=%.6f&radius_m={RADIUS_M}&limit={LIMIT}{extra}\", lon, lat), {{[\"Authorization\"] = \"Bearer {token}\"}})\n\
             end\n"
        )
    };
    let (near_rate, near_latency) = wrk(&base, &script(""));
    println!(
        "HTTP nearby with walking distances, wrk {CONNECTIONS} connections: {near_rate:.0} requests/s ({near_latency})"
    );
    let (straight_rate, straight_latency) = wrk(&base, &script("&walking=false"));
    println!(
        "HTTP nearby, straight line only (walking=false), wrk {CONNECTIONS} connections: {straight_rate:.0} requests/s ({straight_latency})"
    );
    let (health_rate, health_latency) = wrk(&format!("{base}/health"), "");
    println!(
        "HTTP /health, wrk {CONNECTIONS} connections: {health_rate:.0} requests/s ({health_latency})"
    );
    println!(
        "HTTP: RSS after the load {} MiB",
        rss_kib(server.id()) / 1024
    );
    let _ = server.kill();
    let _ = server.wait();

    // 4. PostGIS KNN.
    let scale = 1_000_000.0;
    let knn = format!(
        "\\set x random(0, {})\n\\set y random(0, {})\n\
         SELECT id, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint({WEST} + :x / {scale}, {SOUTH} + :y / {scale}), 4326)::geography) \
         FROM wo WHERE status IN ('open', 'assigned', 'in_progress') \
         ORDER BY geom <-> ST_SetSRID(ST_MakePoint({WEST} + :x / {scale}, {SOUTH} + :y / {scale}), 4326) LIMIT {LIMIT};\n",
        (dlon * scale) as i64,
        (dlat * scale) as i64
    );
    let pg_rate = pgbench(&knn);
    println!("PostGIS KNN, pgbench {CONNECTIONS} clients: {pg_rate:.0} transactions/s");
    println!(
        "ratios: nearby with walking / /health = {:.2}, / PostGIS KNN = {:.1}×; straight line only / /health = {:.2}, / PostGIS KNN = {:.1}×; in-process p50 {steady:.1} µs",
        near_rate / health_rate,
        near_rate / pg_rate,
        straight_rate / health_rate,
        straight_rate / pg_rate
    );
    psql("postgres", &format!("DROP DATABASE IF EXISTS {PG_DB}"));
}
