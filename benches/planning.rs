//! Planning over a generated district of 100,000 assets with 10,000
//! lanes (the 8 km × 8 km hutong grid of `walking_order`, a fifth of the
//! block sides missing): wall lights every 25 m on four lanes in five
//! (one in ten faulty), 16,000 courtyards with households and two houses
//! each, 1,000 chargers at lane corners (one in ten faulty), and drains
//! up to 100,000.
//!
//! 1. The store: every asset through the registry into SQLite (the
//!    checks of every write); lanes and lights also into PostGIS
//!    (`hutong_bench_plan`, GiST indexes).
//! 2. In-process: the quantities of 10,000 plans, each on a different
//!    target over the whole district (5,000 `sensor_lights` on a lane with
//!    the lights gathered near it, 5,000 `permeable_paving` on a
//!    courtyard with its houses), gathering timed apart from working out.
//! 3. Over HTTP, from a fresh `hutong serve` (the release binary): its
//!    start-up and RSS; light coverage and charger coverage of the whole
//!    district (first touch apart from the next five), then of 200 random
//!    1 km boxes each; 300 `POST /v1/plans` one at a time, each on a
//!    random lane or courtyard (quantities, the store write and the audit
//!    entry); `/health` for the HTTP ceiling; RSS after.
//! 4. PostGIS: the same light coverage (`ST_Buffer` of each working
//!    light's reach, `ST_Union` per lane, `ST_Difference` from the lane,
//!    geodesic length of what is left; the lights found through the GiST
//!    index by a box 0.0005° around the lane, then `ST_DWithin` on the
//!    spheroid), first run apart from the next three; the metres unlit
//!    compared with hutong's.
//!
//! `bash scripts/install-bench-deps.sh && cargo bench --bench planning`
//! (PGHOST default 127.0.0.1)

// A benchmark may fail loudly.
#![allow(clippy::panic)]

use hutong::domain::{AssetKind, LonLatBox, Role};
use hutong::services::planning::EngineeringRules;
use hutong::services::planning::quantities::{self, LightsTarget, PavingTarget};
use hutong::services::registry::Registry;
use hutong::services::tokens::Tokens;
use hutong::spatial::GeometryLimits;
use hutong::store::{self, TokenSpec};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[path = "common/lane_grid.rs"]
mod lane_grid;
#[path = "common/measure.rs"]
mod measure;

use lane_grid::{BLOCK_M, SIDE, SOUTH, WEST, at};
use measure::{psql, psql_command, rss_kib, serve_fresh, summary};

const ASSETS: usize = 100_000;
const COURTYARDS: usize = 16_000;
const CHARGERS: usize = 1_000;
const PLANS: usize = 10_000;
const PG_DB: &str = "hutong_bench_plan";
const LIGHT_REACH_M: f64 = 15.0;

fn feature(geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    let ring: Vec<Value> = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        .iter()
        .map(|(x, y)| {
            let (lon, lat) = at(*x, *y);
            json!([lon, lat])
        })
        .collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}

fn point(x: f64, y: f64) -> Value {
    let (lon, lat) = at(x, y);
    json!({"type": "Point", "coordinates": [lon, lat]})
}

/// The district's assets as Features, lanes first.
fn district(rng: &mut Pcg64Mcg) -> Vec<Value> {
    let lanes = lane_grid::lanes(rng);
    let mut features: Vec<Value> = lanes
        .iter()
        .map(|(_, line)| {
            let coords: Vec<Value> = line.iter().map(|(x, y)| json!([x, y])).collect();
            feature(
                json!({"type": "LineString", "coordinates": coords}),
                json!({"kind": "lane", "district": "dongcheng", "width_m": 4.0, "paving": "asphalt"}),
            )
        })
        .collect();
    // Wall lights every 25 m on four lanes in five, 2 m off the lane,
    // one in ten faulty (the lanes' points in local metres).
    let to_m = |(lon, lat): (f64, f64)| {
        (
            (lon - WEST) * 111_320.0 * SOUTH.to_radians().cos(),
            (lat - SOUTH) * 111_320.0,
        )
    };
    for (_, line) in &lanes {
        if rng.random_range(0..5) == 0 {
            continue;
        }
        let (a, b) = (to_m(line[0]), to_m(line[2]));
        let (dx, dy) = ((b.0 - a.0) / BLOCK_M, (b.1 - a.1) / BLOCK_M);
        for k in 0..4 {
            let t = 12.5 + 25.0 * f64::from(k);
            let status = if rng.random_range(0..10) == 0 {
                "faulty"
            } else {
                "working"
            };
            features.push(feature(
                point(a.0 + dx * t - dy * 2.0, a.1 + dy * t + dx * 2.0),
                json!({"kind": "light", "light_type": "wall", "district": "dongcheng", "status": status, "reach_m": LIGHT_REACH_M, "power_w": 24.0}),
            ));
        }
    }
    // Courtyards of 40 m × 40 m at block corners, two houses each.
    let mut slots: Vec<(usize, usize, usize)> = (0..SIDE)
        .flat_map(|r| (0..SIDE).flat_map(move |c| (0..4).map(move |s| (r, c, s))))
        .collect();
    for i in 0..COURTYARDS {
        let j = rng.random_range(i..slots.len());
        slots.swap(i, j);
        let (r, c, s) = slots[i];
        let x0 = c as f64 * BLOCK_M + if s % 2 == 0 { 6.0 } else { 54.0 };
        let y0 = r as f64 * BLOCK_M + if s < 2 { 6.0 } else { 54.0 };
        let households: u32 = rng.random_range(1..40);
        features.push(feature(
            rect(x0, y0, x0 + 40.0, y0 + 40.0),
            json!({"kind": "courtyard", "district": "dongcheng", "households": households, "residents": households * 2, "paving": "concrete"}),
        ));
        features.push(feature(
            rect(x0 + 2.0, y0 + 30.0, x0 + 38.0, y0 + 38.0),
            json!({"kind": "building", "district": "dongcheng", "storeys": 1, "structure": "brick_wood"}),
        ));
        features.push(feature(
            rect(x0 + 2.0, y0 + 2.0, x0 + 38.0, y0 + 9.0),
            json!({"kind": "building", "district": "dongcheng", "storeys": 1, "structure": "brick_wood"}),
        ));
    }
    for _ in 0..CHARGERS {
        let (x, y) = (
            rng.random_range(0..SIDE) as f64 * BLOCK_M + 2.0,
            rng.random_range(0..SIDE) as f64 * BLOCK_M + 2.0,
        );
        let status = if rng.random_range(0..10) == 0 {
            "faulty"
        } else {
            "working"
        };
        features.push(feature(
            point(x, y),
            json!({"kind": "charger", "district": "dongcheng", "ports": 10, "status": status}),
        ));
    }
    while features.len() < ASSETS {
        let (x, y) = (
            rng.random_range(0..SIDE) as f64 * BLOCK_M + 50.0,
            rng.random_range(0..SIDE) as f64 * BLOCK_M + 0.5,
        );
        features.push(feature(
            point(x, y),
            json!({"kind": "drainage", "drainage_type": "inlet", "district": "dongcheng", "condition": rng.random_range(1..=5)}),
        ));
    }
    features
}

#[tokio::main]
async fn main() {
    let mut rng = Pcg64Mcg::seed_from_u64(41);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let features = district(&mut rng);
    let kinds = |k: &str| {
        features
            .iter()
            .filter(|f| f["properties"]["kind"] == k)
            .count()
    };
    println!(
        "district: {} assets: {} lanes, {} lights, {} courtyards, {} buildings, {} chargers, {} drains",
        features.len(),
        kinds("lane"),
        kinds("light"),
        kinds("courtyard"),
        kinds("building"),
        kinds("charger"),
        kinds("drainage")
    );

    // 1. The store.
    let started = Instant::now();
    let store = store::open(&url).await.expect("store");
    let registry = Registry::open(store.clone(), GeometryLimits::default())
        .await
        .expect("registry");
    let drafts: Vec<_> = features
        .iter()
        .map(|f| registry.draft_from_feature(f).expect("an asset"))
        .collect();
    for chunk in drafts.chunks(10_000) {
        registry.insert_all(chunk).await.expect("stored");
    }
    let (token, _) = Tokens::new(store.clone())
        .create(&TokenSpec::of(Role::Planner).labelled("bench"))
        .await
        .expect("token");
    println!(
        "store: {} assets in SQLite through the registry in {:.0} s",
        features.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    psql("postgres", &format!("DROP DATABASE IF EXISTS {PG_DB}"));
    psql("postgres", &format!("CREATE DATABASE {PG_DB}"));
    psql(PG_DB, "CREATE EXTENSION IF NOT EXISTS postgis");
    psql(
        PG_DB,
        "CREATE TABLE lanes (id bigint PRIMARY KEY, geom geometry(LineString, 4326) NOT NULL); \
         CREATE TABLE lights (id bigserial PRIMARY KEY, working boolean NOT NULL, reach_m double precision NOT NULL, geom geometry(Point, 4326) NOT NULL)",
    );
    let mut lane_rows = String::new();
    let mut light_rows = String::new();
    for (i, f) in features.iter().enumerate() {
        let p = &f["properties"];
        let g = f["geometry"].to_string();
        if p["kind"] == "lane" {
            lane_rows.push_str(&format!("{}\t{g}\n", i + 1));
        } else if p["kind"] == "light" {
            light_rows.push_str(&format!(
                "{}\t{}\t{g}\n",
                p["status"] == "working",
                LIGHT_REACH_M
            ));
        }
    }
    for (table, columns, rows) in [
        ("lanes", "id, geom", &lane_rows),
        ("lights", "working, reach_m, geom", &light_rows),
    ] {
        let mut child = psql_command(PG_DB)
            .arg("-c")
            .arg(format!(
                "CREATE TEMP TABLE raw (a text, b text, c text); \
                 COPY raw FROM STDIN; INSERT INTO {table} ({columns}) SELECT {} FROM raw",
                if table == "lanes" {
                    "a::bigint, ST_SetSRID(ST_GeomFromGeoJSON(b), 4326)"
                } else {
                    "a::boolean, b::double precision, ST_SetSRID(ST_GeomFromGeoJSON(c), 4326)"
                }
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("psql runs");
        use std::io::Write;
        let text = if table == "lanes" {
            rows.lines().map(|l| format!("{l}\t\n")).collect::<String>()
        } else {
            rows.clone()
        };
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("rows sent");
        assert!(child.wait().expect("psql ends").success(), "COPY {table}");
    }
    for sql in [
        "CREATE INDEX ON lanes USING gist (geom)",
        "CREATE INDEX ON lights USING gist (geom)",
        "VACUUM ANALYZE lanes",
        "VACUUM ANALYZE lights",
    ] {
        psql(PG_DB, sql);
    }
    println!(
        "PostGIS: {} lanes and {} lights loaded and indexed in {:.0} s",
        psql(PG_DB, "SELECT count(*) FROM lanes"),
        psql(PG_DB, "SELECT count(*) FROM lights"),
        started.elapsed().as_secs_f64()
    );

    // 2. In-process: the quantities of 10,000 plans over the district.
    let rules = EngineeringRules::builtin().expect("rules");
    let rules = rules.of(None);
    let area = registry.service_area();
    let lane_ids = registry.in_box(AssetKind::Lane, area, 20_000);
    let yard_ids = registry.in_box(AssetKind::Courtyard, area, 20_000);
    let mut gather = Vec::new();
    let mut work = Vec::new();
    let started_all = Instant::now();
    for i in 0..PLANS / 2 {
        let (lane, _) = &lane_ids[rng.random_range(0..lane_ids.len())];
        let t = Instant::now();
        let near: Vec<_> = LonLatBox::of_geometry(&lane.asset.geometry)
            .map(|b| registry.in_box(AssetKind::Light, b.grown_by_m(100.0), 100_000))
            .unwrap_or_default();
        let lights: Vec<_> = near.iter().map(|(l, _)| &l.asset).collect();
        gather.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let q = quantities::sensor_lights(
            rules,
            &[LightsTarget {
                pointer: format!("/targets/{i}"),
                lane: &lane.asset,
                lights,
            }],
        )
        .expect("lights plan");
        work.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(q.cost_cny >= 0.0);
    }
    for i in 0..PLANS / 2 {
        let (yard, _) = &yard_ids[rng.random_range(0..yard_ids.len())];
        let t = Instant::now();
        let inside: Vec<_> = LonLatBox::of_geometry(&yard.asset.geometry)
            .map(|b| registry.in_box(AssetKind::Building, b, 100_000))
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, c)| *c == Some(yard.asset.id))
            .collect();
        let buildings: Vec<_> = inside.iter().map(|(b, _)| &b.asset).collect();
        gather.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let q = quantities::paving(
            rules,
            None,
            &[PavingTarget {
                pointer: format!("/targets/{i}"),
                asset: &yard.asset,
                buildings,
                heights: None,
            }],
        )
        .expect("paving plan");
        work.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(q.cost_cny > 0.0);
    }
    let all_ms = started_all.elapsed().as_secs_f64() * 1e3;
    let gather_ms: f64 = gather.iter().sum::<f64>() / 1e3;
    let work_ms: f64 = work.iter().sum::<f64>() / 1e3;
    summary(
        "plan gathering (lights near a lane, houses in a yard)",
        "µs",
        gather,
    );
    summary("plan quantities (worked out)", "µs", work);
    println!(
        "quantities of {PLANS} plans in-process: {all_ms:.0} ms in all ({gather_ms:.0} ms gathering, {work_ms:.0} ms working out)"
    );
    drop(registry);
    drop(store);

    // 3. Over HTTP, from a fresh process.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let (mut server, base, up) = serve_fresh(&url, &client).await;
    println!(
        "HTTP: hutong serve up in {:.1} s, RSS {} MiB",
        up.as_secs_f64(),
        rss_kib(server.id()) / 1024
    );
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("sent");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            let body: Value = r.json().await.expect("JSON");
            (t.elapsed().as_secs_f64() * 1e3, body)
        }
    };
    let mut unlit_hutong = 0.0;
    let mut light_steady_ms = f64::NAN;
    for kind in ["lights", "chargers"] {
        let (first, body) = get(format!(
            "/v1/analysis/coverage?kind={kind}&district=dongcheng"
        ))
        .await;
        if kind == "lights" {
            unlit_hutong = body["totals"]["unlit_m"].as_f64().expect("unlit_m");
        }
        println!(
            "HTTP {kind} coverage of the whole district, first: {first:.0} ms, {} features, totals {}",
            body["numberReturned"], body["totals"]
        );
        let mut again = Vec::new();
        for _ in 0..5 {
            again.push(
                get(format!(
                    "/v1/analysis/coverage?kind={kind}&district=dongcheng"
                ))
                .await
                .0,
            );
        }
        let steady = summary(
            &format!("HTTP {kind} coverage of the whole district, next 5"),
            "ms",
            again,
        );
        if kind == "lights" {
            light_steady_ms = steady;
        }
        let (span_lon, span_lat) = {
            let (e, n) = at(
                SIDE as f64 * BLOCK_M - 1_000.0,
                SIDE as f64 * BLOCK_M - 1_000.0,
            );
            (e - WEST, n - SOUTH)
        };
        let (km_lon, km_lat) = {
            let (e, n) = at(1_000.0, 1_000.0);
            (e - WEST, n - SOUTH)
        };
        let mut boxes = Vec::new();
        for _ in 0..200 {
            let w = WEST + rng.random::<f64>() * span_lon;
            let s = SOUTH + rng.random::<f64>() * span_lat;
            let bbox = format!("{w:.6},{s:.6},{:.6},{:.6}", w + km_lon, s + km_lat);
            boxes.push(
                get(format!("/v1/analysis/coverage?kind={kind}&bbox={bbox}"))
                    .await
                    .0,
            );
        }
        summary(
            &format!("HTTP {kind} coverage of random 1 km boxes"),
            "ms",
            boxes,
        );
    }
    let mut creates = Vec::new();
    for i in 0..300 {
        let body = if i % 2 == 0 {
            let (lane, _) = &lane_ids[rng.random_range(0..lane_ids.len())];
            json!({"kind": "sensor_lights", "title": format!("Lights {i}"), "targets": [lane.asset.id.0]})
        } else {
            let (yard, _) = &yard_ids[rng.random_range(0..yard_ids.len())];
            json!({"kind": "permeable_paving", "title": format!("Paving {i}"), "targets": [yard.asset.id.0]})
        };
        let t = Instant::now();
        let r = client
            .post(format!("{base}/v1/plans"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("sent");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "{body}: {status} {text}");
        creates.push(t.elapsed().as_secs_f64() * 1e3);
    }
    summary("HTTP POST /v1/plans, one at a time", "ms", creates);
    let mut health = Vec::new();
    for _ in 0..1_000 {
        health.push(get("/health".into()).await.0);
    }
    summary("HTTP /health, one at a time (ceiling)", "ms", health);
    println!("HTTP: RSS after {} MiB", rss_kib(server.id()) / 1024);
    let _ = server.kill();
    let _ = server.wait();

    // 4. PostGIS: the same light coverage.
    let sql = "SELECT round(sum(ST_Length(l.geom::geography))::numeric, 2), \
               round(sum(ST_Length(CASE WHEN b.lit IS NULL THEN l.geom ELSE ST_Difference(l.geom, b.lit) END::geography))::numeric, 2) \
               FROM lanes l LEFT JOIN LATERAL ( \
                 SELECT ST_Union(ST_Buffer(g.geom::geography, g.reach_m)::geometry) AS lit FROM lights g \
                 WHERE g.working AND g.geom && ST_Expand(l.geom, 0.0005) \
                   AND ST_DWithin(g.geom::geography, l.geom::geography, g.reach_m)) b ON true";
    let mut runs = Vec::new();
    let mut answer = String::new();
    for _ in 0..4 {
        let t = Instant::now();
        answer = psql(PG_DB, sql);
        runs.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let first = runs.remove(0);
    println!("PostGIS light coverage (lane m | unlit m): {answer}; first {first:.0} ms");
    let pg = summary("PostGIS light coverage, next 3", "ms", runs);
    let unlit_pg: f64 = answer
        .split('|')
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    println!(
        "unlit metres: hutong {unlit_hutong:.0}, PostGIS {unlit_pg:.0} ({:+.2} %)",
        (unlit_hutong - unlit_pg) / unlit_pg * 100.0
    );
    println!(
        "ratio: PostGIS light coverage {pg:.0} ms / hutong over HTTP {light_steady_ms:.0} ms = {:.1}× (first runs: PostGIS {first:.0} ms)",
        pg / light_steady_ms
    );
    psql("postgres", &format!("DROP DATABASE IF EXISTS {PG_DB}"));
}
