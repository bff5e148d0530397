//! Complaint intake at city scale, on SQLite:
//! - bulk import with linking of generated hotline cases over 100,000
//!   generated assets (`hutong import-complaints` as a library call);
//! - online intake over HTTP, each complaint durable before its answer,
//!   from 64 concurrent clients on this machine.
//!
//! `cargo bench --bench complaint_intake` (sizes: HUTONG_BENCH_CASES,
//! default 1,000,000; HUTONG_BENCH_ONLINE, default 30,000). Of every 100
//! bulk cases, HUTONG_BENCH_ADDRESS_ONLY (default 50) come with an
//! address in a messy form and no coordinates, located by the gazetteer
//! of the generated courtyards' addresses (or left unlocated).

use hutong::app::{Application, Settings};
use hutong::domain::Role;
use hutong::sample_data::generate::{ComplaintGenerator, store_city};
use hutong::services::complaint_import::{self, ImportFormat};
use hutong::services::complaints::Complaints;
use hutong::services::hotline_config::Hotline;
use hutong::services::linking::LinkingRules;
use hutong::services::registry::Registry;
use hutong::services::tokens::Tokens;
use hutong::spatial::GeometryLimits;
use hutong::store;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const ASSETS: usize = 100_000;
const SEED: u64 = 3;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    // RUST_LOG=hutong=debug shows each batch's read and store phases.
    hutong::telemetry::init();
    let cases = env_count("HUTONG_BENCH_CASES", 1_000_000);
    let online = env_count("HUTONG_BENCH_ONLINE", 30_000);
    let address_only = env_count("HUTONG_BENCH_ADDRESS_ONLY", 50);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());

    let store = store::open(&url).await.expect("store");
    let registry = Arc::new(
        Registry::open(store.clone(), GeometryLimits::default())
            .await
            .expect("registry"),
    );
    store_city(&registry, SEED, false, ASSETS)
        .await
        .expect("assets stored");

    // Bulk: the JSON Lines file is made in memory first, so only the import is timed.
    let mut file = Vec::new();
    for case in ComplaintGenerator::with_addresses(SEED, ASSETS, address_only).take(cases as usize)
    {
        serde_json::to_writer(&mut file, &case).expect("serialized");
        file.push(b'\n');
    }
    let hotline = Hotline::builtin(&store, GeometryLimits::default())
        .await
        .expect("hotline");
    let complaints = Complaints::new(
        store.clone(),
        registry.clone(),
        LinkingRules::builtin(),
        hotline,
    );
    let started = Instant::now();
    let report = complaint_import::import(
        &complaints,
        std::io::Cursor::new(file),
        ImportFormat::JsonLines,
        |_| {},
    )
    .await
    .expect("imported");
    let seconds = started.elapsed().as_secs_f64();
    let links: i64 = sqlx_count(&url).await;
    println!(
        "bulk import: {} cases ({} new, {} rejected; {address_only} in 100 by address only) over {ASSETS} assets in {seconds:.1} s = {:.0} cases/s; {links} links",
        report.rows,
        report.created,
        report.rejected.len(),
        report.rows as f64 / seconds
    );
    let pool = sqlx::SqlitePool::connect(&url).await.expect("pool");
    let located: Vec<(String, i64)> =
        sqlx::query_as("SELECT located_by, count(*) FROM complaints GROUP BY 1 ORDER BY 1")
            .fetch_all(&pool)
            .await
            .expect("located");
    println!("located by: {located:?}");
    pool.close().await;
    drop((complaints, registry, store));

    // Online: the real server, 64 clients, each POST answered after commit.
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
    let token_store = store::open(&url).await.expect("store");
    let (token, _) = Tokens::new(token_store)
        .create(&hutong::store::TokenSpec::of(Role::Operator).labelled("bench"))
        .await
        .expect("token");
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..64 {
        let (client, token, next) = (client.clone(), token.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut ok = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= online {
                    return ok;
                }
                let lon = 116.2 + (n % 997) as f64 * 0.0004;
                let lat = 39.8 + (n % 991) as f64 * 0.0003;
                let body = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"case_number": format!("ONLINE-{n}"), "channel": "phone", "category": "water_pooling",
                        "description": "online intake bench", "caller_phone": "13800000000"}});
                let response = client
                    .post(format!("http://{addr}/v1/complaints"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                if matches!(response, Ok(r) if r.status() == 201) {
                    ok += 1;
                }
            }
        }));
    }
    let mut ok = 0;
    for w in workers {
        ok += w.await.expect("worker");
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "online intake over HTTP: {ok} of {online} complaints created in {seconds:.1} s = {:.0} complaints/s (64 clients, durable before the answer)",
        ok as f64 / seconds
    );
}

/// Number of complaint links stored.
async fn sqlx_count(url: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(url).await.expect("pool");
    sqlx::query_scalar("SELECT count(*) FROM complaint_links")
        .fetch_one(&pool)
        .await
        .expect("count")
}
