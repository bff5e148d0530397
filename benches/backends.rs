//! The same workload on the embedded SQLite store and on PostgreSQL with
//! PostGIS, with one and with two instances on the database:
//! - nearby: the 10 nearest assets within 200 m of a random point;
//! - bbox items: up to 100 lights in a random 0.01° box, as GeoJSON
//!   (`/collections/lights/items`);
//! - complaint intake: POST /v1/complaints, each answered after commit;
//! - bulk import of hotline cases (SQLite: multi-row INSERTs; PostgreSQL:
//!   COPY), one instance;
//! - with two instances, how long a light created through one takes to
//!   be found by a nearby query on the other.
//!
//! Generated assets (all kinds) are stored in a SQLite file and in a
//! fresh PostgreSQL database (`hutong_bench_backends`). Instances run in
//! this process, each with its own index, pool and change follower; HTTP
//! load comes from wrk with 4 connections in all (2 per instance with
//! two), 8 s per figure.
//!
//! `bash scripts/install-bench-deps.sh && cargo bench --bench backends`
//! (sizes: HUTONG_BENCH_ASSETS, default 200,000; HUTONG_BENCH_CASES,
//! default 200,000; PostgreSQL: HUTONG_BENCH_POSTGRES, default
//! postgres://postgres@127.0.0.1:5432).

// A benchmark may fail loudly.
#![allow(clippy::panic)]

use hutong::app::{Application, Settings};
use hutong::domain::{AssetKind, Role};
use hutong::sample_data::generate::{ComplaintGenerator, store_city};
use hutong::services::complaint_import::{self, ImportFormat};
use hutong::services::complaints::Complaints;
use hutong::services::hotline_config::Hotline;
use hutong::services::linking::LinkingRules;
use hutong::services::registry::Registry;
use hutong::services::tokens::Tokens;
use hutong::spatial::{GeometryLimits, LonLatBox};
use hutong::store;
use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED: u64 = 5;
const DB: &str = "hutong_bench_backends";
const SECONDS: &str = "8";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A wrk Lua script: every request a new path (and body) from `request`.
fn wrk_script(body: &str) -> tempfile::NamedTempFile {
    let mut script = tempfile::NamedTempFile::new().expect("script");
    write!(script, "{body}").expect("written");
    script
}

/// Requests per second of all the wrk processes run at once, one per
/// address, with `connections` each.
fn wrk_all(addrs: &[SocketAddr], connections: usize, script: &str) -> f64 {
    let file = wrk_script(script);
    let children: Vec<_> = addrs
        .iter()
        .map(|addr| {
            Command::new("wrk")
                .args([
                    "-t1",
                    &format!("-c{connections}"),
                    &format!("-d{SECONDS}s"),
                    "-s",
                ])
                .arg(file.path())
                .arg(format!("http://{addr}"))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("wrk runs (bash scripts/install-bench-deps.sh)")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wrk ends");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
            text.lines()
                .find_map(|l| l.strip_prefix("Requests/sec:"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no rate in wrk's output: {text}"))
        })
        .sum()
}

fn random_point_script(extent: LonLatBox, path: &str) -> String {
    format!(
        "math.randomseed(os.time())\n\
         request = function()\n\
           local lon = {} + math.random() * {}\n\
           local lat = {} + math.random() * {}\n\
           return wrk.format(\"GET\", string.format(\"{path}\", lon, lat, lon + 0.01, lat + 0.01))\n\
         end\n",
        extent.min_lon,
        extent.max_lon - extent.min_lon - 0.01,
        extent.min_lat,
        extent.max_lat - extent.min_lat - 0.01,
    )
}

fn intake_script(extent: LonLatBox, token: &str, label: &str) -> String {
    format!(
        "local n = 0\n\
         local tag = tostring(math.random(1, 1000000000))\n\
         math.randomseed(os.time())\n\
         request = function()\n\
           n = n + 1\n\
           local lon = {} + math.random() * {}\n\
           local lat = {} + math.random() * {}\n\
           local body = string.format('{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[%.7f,%.7f]}},\"properties\":{{\"case_number\":\"{label}-%s-%d\",\"channel\":\"phone\",\"category\":\"dark_lane\",\"description\":\"bench\"}}}}', lon, lat, tag, n)\n\
           return wrk.format(\"POST\", \"/v1/complaints\", {{[\"Content-Type\"] = \"application/json\", [\"Authorization\"] = \"Bearer {token}\"}}, body)\n\
         end\n",
        extent.min_lon,
        extent.max_lon - extent.min_lon,
        extent.min_lat,
        extent.max_lat - extent.min_lat,
    )
}

/// Stores the generated assets through a registry on `url`.
async fn load_assets(url: &str, assets: usize) -> f64 {
    let started = Instant::now();
    let store = store::open(url).await.expect("store");
    let registry = Registry::open(store, GeometryLimits::default())
        .await
        .expect("registry");
    store_city(&registry, SEED, false, assets)
        .await
        .expect("stored");
    started.elapsed().as_secs_f64()
}

/// Bulk import of generated cases into `url`: cases per second.
async fn bulk_import(url: &str, cases: usize, assets: usize) -> f64 {
    let store = store::open(url).await.expect("store");
    let registry = Arc::new(
        Registry::open(store.clone(), GeometryLimits::default())
            .await
            .expect("registry"),
    );
    let mut file = Vec::new();
    for case in ComplaintGenerator::new(SEED, assets).take(cases) {
        serde_json::to_writer(&mut file, &case).expect("serialized");
        file.push(b'\n');
    }
    let hotline = Hotline::builtin(&store, GeometryLimits::default())
        .await
        .expect("hotline");
    let complaints = Complaints::new(store, registry, LinkingRules::builtin(), hotline);
    let started = Instant::now();
    let report = complaint_import::import(
        &complaints,
        std::io::Cursor::new(file),
        ImportFormat::JsonLines,
        |_| {},
    )
    .await
    .expect("imported");
    assert_eq!(report.created as usize, cases, "every case is new");
    cases as f64 / started.elapsed().as_secs_f64()
}

async fn start(url: &str) -> SocketAddr {
    let app = Application::build(&Settings {
        database_url: url.to_string(),
        listen: "127.0.0.1:0".into(),
        demo: false,
        ..Settings::default()
    })
    .await
    .expect("app");
    let addr = app.local_addr().expect("bound");
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

async fn token(url: &str, role: Role) -> String {
    Tokens::new(store::open(url).await.expect("store"))
        .create(&hutong::store::TokenSpec::of(role).labelled("bench"))
        .await
        .expect("token")
        .0
}

/// Median time from a light created through `a` to `b` finding it.
async fn follow_latency(a: SocketAddr, b: SocketAddr, planner: &str, extent: LonLatBox) -> f64 {
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for i in 0..20 {
        let lon = extent.min_lon + 0.001 * f64::from(i);
        let lat = extent.max_lat + 0.01;
        let feature = serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"kind": "light", "light_type": "wall", "district": "dongcheng"}});
        let created: serde_json::Value = client
            .post(format!("http://{a}/v1/assets"))
            .bearer_auth(planner)
            .json(&feature)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("JSON");
        let started = Instant::now();
        let id = created["id"].as_i64().expect("id");
        loop {
            let near: serde_json::Value = client
                .get(format!(
                    "http://{b}/v1/assets/nearby?lon={lon}&lat={lat}&radius_m=1&kind=light"
                ))
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            if near["features"][0]["id"].as_i64() == Some(id) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "never seen");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let assets = env_count("HUTONG_BENCH_ASSETS", 200_000);
    let cases = env_count("HUTONG_BENCH_CASES", 200_000);
    let server = std::env::var("HUTONG_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let dir = tempfile::TempDir::new().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let postgres = format!("{server}/{DB}");
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
            .await
            .expect("PostgreSQL (bash scripts/install-postgres.sh)");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("dropped");
        sqlx::query(&format!("CREATE DATABASE {DB}"))
            .execute(&mut admin)
            .await
            .expect("created");
    }

    let seconds = load_assets(&sqlite, assets).await;
    println!("stored {assets} assets: SQLite {seconds:.1} s");
    let seconds = load_assets(&postgres, assets).await;
    println!("stored {assets} assets: PostgreSQL {seconds:.1} s");
    let sqlite_rate = bulk_import(&sqlite, cases, assets).await;
    let pg_rate = bulk_import(&postgres, cases, assets).await;
    println!(
        "bulk import of {cases} cases: SQLite {sqlite_rate:.0}/s, PostgreSQL (COPY) {pg_rate:.0}/s, ratio PG/SQLite {:.2}",
        pg_rate / sqlite_rate
    );

    let extent = {
        let store = store::open(&sqlite).await.expect("store");
        let registry = Registry::open(store, GeometryLimits::default())
            .await
            .expect("registry");
        registry
            .with_index(|index| index.extent(AssetKind::Light))
            .expect("lights")
    };
    let nearby = random_point_script(
        extent,
        "/v1/assets/nearby?lon=%.7f&lat=%.7f&radius_m=200&limit=10",
    );
    let items = random_point_script(
        extent,
        "/collections/lights/items?bbox=%.7f,%.7f,%.7f,%.7f&limit=100",
    );
    let sqlite_one = vec![start(&sqlite).await];
    let pg_one = vec![start(&postgres).await];
    let pg_two = vec![pg_one[0], start(&postgres).await];
    let sqlite_token = token(&sqlite, Role::Operator).await;
    let pg_token = token(&postgres, Role::Operator).await;
    let setups: [(&str, &Vec<SocketAddr>, &str); 3] = [
        ("SQLite, 1 instance", &sqlite_one, &sqlite_token),
        ("PostgreSQL, 1 instance", &pg_one, &pg_token),
        ("PostgreSQL, 2 instances", &pg_two, &pg_token),
    ];
    println!(
        "\n{:<26} {:>12} {:>12} {:>12}",
        "requests/s", "nearby", "bbox items", "intake"
    );
    let mut rows = Vec::new();
    for (label, addrs, token) in setups {
        let per = 4 / addrs.len();
        let near = wrk_all(addrs, per, &nearby);
        let bbox = wrk_all(addrs, per, &items);
        let tag: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
        let intake = wrk_all(addrs, per, &intake_script(extent, token, &tag));
        println!("{label:<26} {near:>12.0} {bbox:>12.0} {intake:>12.0}");
        rows.push((near, bbox, intake));
    }
    for (i, label) in [(1, "PostgreSQL 1 / SQLite"), (2, "PostgreSQL 2 / SQLite")] {
        println!(
            "{label:<26} {:>12.2} {:>12.2} {:>12.2}",
            rows[i].0 / rows[0].0,
            rows[i].1 / rows[0].1,
            rows[i].2 / rows[0].2
        );
    }
    let planner = token(&postgres, Role::Planner).await;
    let latency = follow_latency(pg_two[0], pg_two[1], &planner, extent).await;
    println!(
        "\na light created on instance A is found by a nearby query on instance B after {latency:.1} ms (median of 20)"
    );
}
