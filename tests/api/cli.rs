//! The `hutong` binary: token creation, import and export.

use crate::helpers::*;
use serde_json::{Value, json};
use std::process::Command;

/// Runs the binary and waits for it. The tests that call this while a
/// server runs in the same process use a multi-threaded runtime: on one
/// thread, the blocking wait would freeze a server task that holds
/// SQLite's write lock, and the command would fail with SQLITE_BUSY.
fn hutong(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("hutong runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_prints_a_working_token_last() {
    let app = spawn_app().await;
    let out = hutong(&[
        "token",
        "create",
        "--role",
        "designer",
        "--district",
        "dongcheng",
        "--db",
        &app.db_url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout
        .lines()
        .last()
        .expect("a last line")
        .trim()
        .to_string();
    assert!(token.starts_with("hut_") && token.len() == 68, "{token}");
    let created = app.create(&token, &light(116.3951, 39.9412)).await;
    assert_eq!(created["properties"]["kind"], "light");

    let bad = hutong(&["token", "create", "--role", "root", "--db", &app.db_url]);
    assert!(!bad.status.success());
    let bad = hutong(&[
        "token",
        "create",
        "--role",
        "crew",
        "--district",
        "gotham",
        "--db",
        &app.db_url,
    ]);
    assert!(!bad.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crew_tokens_expire_are_listed_without_secrets_and_are_revoked() {
    let app = spawn_app().await;
    let last_line = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let crew = last_line(&hutong(&[
        "token",
        "create",
        "--role",
        "crew",
        "--crew",
        "drainage-dongcheng-1",
        "--expires",
        "2h",
        "--label",
        "night shift",
        "--db",
        &app.db_url,
    ]));
    let response = app
        .client
        .get(app.url("/v1/work-orders"))
        .bearer_auth(&crew)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    for bad in [
        vec!["--role", "crew", "--crew", "nobody"],
        vec![
            "--role",
            "crew",
            "--crew",
            "drainage-dongcheng-1",
            "--unit",
            "dongcheng-housing",
        ],
        vec!["--role", "planner", "--crew", "drainage-dongcheng-1"],
        vec!["--role", "planner", "--expires", "yesterday"],
        vec!["--role", "planner", "--expires", "2020-01-01T00:00:00Z"],
    ] {
        let mut args = vec!["token", "create"];
        args.extend(bad.iter().copied());
        args.extend(["--db", &app.db_url]);
        assert!(!hutong(&args).status.success(), "{bad:?}");
    }
    let listed = hutong(&["token", "list", "--db", &app.db_url]);
    let text = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.status.success());
    assert!(!text.contains(&crew) && !text.contains("sha256"), "{text}");
    let entry: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|t| t["label"] == "night shift")
        .expect("listed");
    assert_eq!(entry["crew"], "drainage-dongcheng-1");
    assert_eq!(entry["unit"], "beijing-drainage");
    assert!(entry["expires_at"].is_string());
    let id = entry["id"].as_i64().expect("id").to_string();
    let revoked = hutong(&["token", "revoke", "--id", &id, "--db", &app.db_url]);
    assert!(revoked.status.success());
    assert!(
        !hutong(&["token", "revoke", "--id", "999999", "--db", &app.db_url])
            .status
            .success()
    );
    // The server trusts a token it looked up for at most 30 s; a fresh one
    // never looked up is refused at once.
    let fresh = last_line(&hutong(&[
        "token",
        "create",
        "--role",
        "planner",
        "--db",
        &app.db_url,
    ]));
    let listed = hutong(&["token", "list", "--db", &app.db_url]);
    let newest: Value = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("newest");
    let id = newest["id"].as_i64().expect("id").to_string();
    assert!(
        hutong(&["token", "revoke", "--id", &id, "--db", &app.db_url])
            .status
            .success()
    );
    let response = app
        .client
        .get(app.url("/v1/work-orders"))
        .bearer_auth(&fresh)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_is_all_or_nothing_and_export_round_trips() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let good: Vec<Value> = (0..1234)
        .map(|i| light(116.39 + f64::from(i) * 0.0001, 39.94))
        .collect();
    let mut bad = good.clone();
    bad[37]["geometry"]["coordinates"] = json!([116.39, 93.0]);
    let bad_path = dir.path().join("bad.geojson");
    std::fs::write(
        &bad_path,
        json!({"type": "FeatureCollection", "features": bad}).to_string(),
    )
    .expect("written");
    let out = hutong(&[
        "import",
        bad_path.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("feature 37")
            && stderr.contains("latitude 93")
            && stderr.contains("Nothing was imported"),
        "{stderr}"
    );
    let export_path = dir.path().join("export.geojson");
    let out = hutong(&[
        "export",
        "--format",
        "geojson",
        "--out",
        export_path.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(out.status.success());
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&export_path).expect("read")).expect("json");
    assert_eq!(exported["features"].as_array().map(Vec::len), Some(0));

    let good_path = dir.path().join("good.geojson");
    std::fs::write(
        &good_path,
        json!({"type": "FeatureCollection", "features": good}).to_string(),
    )
    .expect("written");
    let out = hutong(&[
        "import",
        good_path.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1234 assets"));

    let out = hutong(&[
        "export",
        "--format",
        "geojson",
        "--out",
        export_path.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(out.status.success());
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&export_path).expect("read")).expect("json");
    let features = exported["features"].as_array().expect("features");
    assert_eq!(features.len(), 1234);
    for (sent, got) in good.iter().zip(features) {
        assert_eq!(sent["geometry"], got["geometry"]);
        assert_eq!(got["properties"]["light_type"], "wall");
    }
    // The export can be imported again as it is (read-only properties are ignored).
    let out = hutong(&[
        "import",
        export_path.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let not_json = dir.path().join("x.geojson");
    std::fs::write(&not_json, "hello").expect("written");
    assert!(
        !hutong(&[
            "import",
            not_json.to_str().expect("utf-8"),
            "--db",
            &app.db_url
        ])
        .status
        .success()
    );
    assert!(
        !hutong(&["import", "/nonexistent.geojson", "--db", &app.db_url])
            .status
            .success()
    );
}

#[test]
fn generate_is_deterministic() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let a = dir.path().join("a.geojson");
    let b = dir.path().join("b.geojson");
    for path in [&a, &b] {
        let out = hutong(&[
            "generate",
            "--assets",
            "2000",
            "--seed",
            "42",
            "--out",
            path.to_str().expect("utf-8"),
        ]);
        assert!(out.status.success());
    }
    let text = std::fs::read_to_string(&a).expect("read");
    assert_eq!(text, std::fs::read_to_string(&b).expect("read"));
    let parsed: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(parsed["features"].as_array().map(Vec::len), Some(2000));
}

/// `hutong serve --demo` as the README runs it: it serves the demo, then
/// stops cleanly on SIGTERM.
#[test]
fn serve_runs_the_demo_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::Stdio;

    let dir = tempfile::TempDir::new().expect("tempdir");
    let db = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(database_url(dir.path()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--db", &db])
        .env("HUTONG_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .expect("hutong serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server logs until it listens")
            .expect("utf-8 log line");
        let entry: Value = serde_json::from_str(&line).expect("JSON log line");
        if entry["fields"]["message"] == "hutong listening" {
            break entry["fields"]["addr"].as_str().expect("addr").to_string();
        }
    };
    let mut stream = TcpStream::connect(&addr).expect("connects");
    write!(stream, "GET /v1/assets/nearby?lon=116.39415&lat=39.94273&kind=light&limit=2 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body: Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(body["features"].as_array().map(Vec::len), Some(2));

    // A complaint with personal data: it must never reach the logs.
    let out = hutong(&["token", "create", "--role", "operator", "--db", &db]);
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    let body = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3951, 39.9412]},
        "properties": {"case_number": "LOG-1", "channel": "phone", "category": "dark_lane",
            "description": "dark at night", "caller_name": "Zhao Lei", "caller_phone": "13711112222"}})
    .to_string();
    let mut stream = TcpStream::connect(&addr).expect("connects");
    write!(stream, "POST /v1/complaints HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("server exits");
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
    assert!(
        rest.iter()
            .all(|l| !l.contains("13711112222") && !l.contains("Zhao Lei")),
        "personal data in the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotline_cases_import_from_csv_and_json_lines_once() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let csv = dir.path().join("cases.csv");
    std::fs::write(
        &csv,
        "case_number,channel,category,description,lon,lat,address,district,coord_sys,reported_at,caller_name,caller_phone\n\
         C-1,phone,water_pooling,Water by the gate,116.3951,39.9412,Zhonglouwan 9,dongcheng,wgs84,2024-10-18T09:12:00+08:00,Li Na,13800000001\n\
         C-2,wechat,dark_lane,\"Dark, at night\",116.401347,39.942604,,dongcheng,gcj02,2024-10-18T21:00:00+08:00,,\n\
         C-3,phone,pothole,Hole in the road,116.3951,39.9412,,,,,,\n\
         C-4,phone,dark_lane,too few cells\n\
         C-5,phone,broken_light,Lamp out,116.3951,95.0,,,,,,\n\
         C-6,web,broken_light,Lamp out,116.3952,39.9413,,,,,,\n",
    )
    .expect("written");
    let path = csv.to_str().expect("utf-8");
    let out = hutong(&["import-complaints", path, "--db", &app.db_url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "rejected rows make the exit status non-zero"
    );
    assert!(
        stdout.contains("read 6 rows") && stdout.contains("3 new") && stdout.contains("3 rejected"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 4:") && stderr.contains("unknown category"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 5:") && stderr.contains("malformed CSV"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 6:") && stderr.contains("latitude 95"),
        "{stderr}"
    );
    let listed = app.get_json("/v1/complaints?limit=100").await;
    assert_eq!(listed["numberMatched"], 3);

    // Again: nothing new.
    let out = hutong(&["import-complaints", path, "--db", &app.db_url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 new") && stdout.contains("3 already known"),
        "{stdout}"
    );
    assert_eq!(
        app.get_json("/v1/complaints?limit=1").await["numberMatched"],
        3
    );

    let jsonl = dir.path().join("cases.jsonl");
    std::fs::write(
        &jsonl,
        "{\"case_number\": \"J-1\", \"channel\": \"app\", \"category\": \"ebike_charging\", \"description\": \"nowhere to charge\", \"lon\": 116.3951, \"lat\": 39.9412}\n\
         \n\
         {\"case_number\": \"J-2\", \"channel\": \"app\", \"category\": \"ebike_charging\"\n\
         [1, 2]\n\
         {\"case_number\": \"C-1\", \"channel\": \"app\", \"category\": \"water_pooling\", \"description\": \"again\", \"lon\": 116.3951, \"lat\": 39.9412}\n",
    )
    .expect("written");
    let out = hutong(&[
        "import-complaints",
        jsonl.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("read 4 rows")
            && stdout.contains("1 new")
            && stdout.contains("1 already known")
            && stdout.contains("2 rejected"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 3: malformed JSON")
            && stderr.contains("line 4: a line must hold one JSON object"),
        "{stderr}"
    );
    assert_eq!(
        app.get_json("/v1/complaints?limit=1").await["numberMatched"],
        4
    );

    // Imported complaints are linked like any other.
    let j1 = app.get_json("/v1/complaints?category=ebike_charging").await;
    let links = app
        .get_json(&format!("/v1/complaints/{}/links", j1["features"][0]["id"]))
        .await;
    assert_eq!(links["flags"], json!(["no_charger_nearby"]));

    let unknown = dir.path().join("cases.txt");
    std::fs::write(&unknown, "x").expect("written");
    let out = hutong(&[
        "import-complaints",
        unknown.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}

/// Writes JSON Lines cases to a file in `dir` and imports them.
fn import_cases(app: &TestApp, dir: &tempfile::TempDir, jsonl: &str) -> std::process::Output {
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(&cases, jsonl).expect("written");
    hutong(&[
        "import-complaints",
        cases.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_assets_relinks_the_complaints_near_them() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    assert!(import_cases(&app, &dir, "{\"case_number\": \"R-1\", \"channel\": \"phone\", \"category\": \"ebike_charging\", \"description\": \"no charger\", \"lon\": 116.3951, \"lat\": 39.9412}\n").status.success());
    let assets = dir.path().join("chargers.geojson");
    let charger = point_feature("charger", 116.39627, 39.9412, json!({"ports": 8}));
    std::fs::write(
        &assets,
        json!({"type": "FeatureCollection", "features": [charger]}).to_string(),
    )
    .expect("written");
    let out = hutong(&[
        "import",
        assets.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = app.get_json("/v1/complaints?limit=1").await;
    let links = app
        .get_json(&format!(
            "/v1/complaints/{}/links",
            listed["features"][0]["id"]
        ))
        .await;
    assert_eq!(links["flags"], json!([]));
    assert_eq!(links["links"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaint_exports_carry_personal_data_only_for_operators() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    assert!(import_cases(&app, &dir, "{\"case_number\": \"E-1\", \"channel\": \"phone\", \"category\": \"dark_lane\", \"description\": \"dark\", \"lon\": 116.3951, \"lat\": 39.9412, \"caller_name\": \"Sun Li\", \"caller_phone\": \"13655556666\"}\n").status.success());
    let token_of = |role: &str| {
        let out = hutong(&["token", "create", "--role", role, "--db", &app.db_url]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let export = |token: Option<&str>| {
        let mut args = vec!["export-complaints", "--db", &app.db_url];
        if let Some(t) = token {
            args.extend(["--token", t]);
        }
        hutong(&args)
    };
    let public = export(None);
    assert!(public.status.success());
    let text = String::from_utf8_lossy(&public.stdout);
    assert!(
        text.contains("E-1") && !text.contains("13655556666") && !text.contains("Sun Li"),
        "{text}"
    );
    let operator = token_of("operator");
    let full = export(Some(&operator));
    let text = String::from_utf8_lossy(&full.stdout);
    assert!(
        text.contains("13655556666") && text.contains("Sun Li"),
        "{text}"
    );
    let planner = token_of("planner");
    let refused = export(Some(&planner));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("personal data"));
    // An export re-imports as it is: nothing new.
    let again = dir.path().join("again.jsonl");
    std::fs::write(&again, full.stdout).expect("written");
    let out = hutong(&[
        "import-complaints",
        again.to_str().expect("utf-8"),
        "--db",
        &app.db_url,
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 already known"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The courtyard a building stands in.
async fn building_yard(app: &TestApp, building: i64) -> i64 {
    app.get_json(&format!("/v1/assets/{building}")).await["properties"]["courtyard_id"]
        .as_i64()
        .expect("the demo's buildings stand in courtyards")
}

/// A photo's bytes as `token` is served them.
async fn photo_of(app: &TestApp, token: &str, photo: i64) -> Vec<u8> {
    let response = app
        .client
        .get(app.url(&format!("/v1/photos/{photo}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("bytes").to_vec()
}

/// `hutong migrate-store` moves an embedded database into a new one (a
/// PostgreSQL database in the PostgreSQL run, another SQLite file in the
/// SQLite run) with everything in it, and says the counts and checksums
/// match; the server on the copy answers as the one on the original did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_store_copies_everything_and_proves_it() {
    let source_dir = tempfile::TempDir::new().expect("tempdir");
    let source_db = format!("sqlite://{}", source_dir.path().join("source.db").display());
    let app = spawn_with(
        source_dir,
        hutong::app::Settings {
            database_url: source_db.clone(),
            listen: "127.0.0.1:0".into(),
            demo: true,
            ..hutong::app::Settings::default()
        },
    )
    .await;
    let operator = app.token(hutong::domain::Role::Operator, None).await;
    let planner = app.token(hutong::domain::Role::Planner, None).await;
    // History, a duplicate pointing forwards, personal data, an edited asset.
    let file = |case: &str| {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3951, 39.9412]},
            "properties": {"case_number": case, "channel": "wechat", "category": "dark_lane", "district": "dongcheng",
                "description": "dark\tlane\\n \"quoted\" 胡同", "caller_name": "Zhao Lei", "caller_phone": "13711112222"}})
    };
    let mut ids = Vec::new();
    for case in ["MIG-1", "MIG-2"] {
        let response = app
            .client
            .post(app.url("/v1/complaints"))
            .bearer_auth(&operator)
            .json(&file(case))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("JSON");
        ids.push(body["id"].clone());
    }
    let response = app
        .client
        .post(app.url(&format!("/v1/complaints/{}/dispatch", ids[0])))
        .bearer_auth(&operator)
        .json(&json!({"unit": "dongcheng-jiaodaokou-street", "note": "to the street office"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .patch(app.url(&format!("/v1/complaints/{}", ids[0])))
        .bearer_auth(&operator)
        .json(&json!({"duplicate_of": ids[1]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let patched = app
        .client
        .patch(app.url("/v1/assets/1"))
        .bearer_auth(&planner)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"properties": {"condition": 2}}).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(patched.status(), 200);
    // Field work: a survey that opens an order, an order done with a
    // photo (its history, evidence and bytes), and the audit trail of it all.
    let designer = app.token(hutong::domain::Role::Designer, None).await;
    let admin = app.token(hutong::domain::Role::Admin, None).await;
    let building = app.get_json("/v1/assets?kind=building&limit=1").await["features"][0]["id"]
        .as_i64()
        .expect("a building");
    let surveyed = app
        .post_json(
            "/v1/surveys",
            &designer,
            &json!({"asset_id": building, "conditions": {"roof": 2, "walls": 4}, "surveyor": "Li Wei", "notes": "roof leaks"}),
        )
        .await;
    assert_eq!(
        surveyed.status(),
        201,
        "{}",
        surveyed.text().await.unwrap_or_default()
    );
    let order = app
        .post_json(
            "/v1/work-orders",
            &planner,
            &json!({"unit": "dongcheng-city-management", "crew": "dongcheng-lighting-1",
                "location": [116.3951, 39.9412], "description": "relamp the lane"}),
        )
        .await;
    assert_eq!(order.status(), 201);
    let order: Value = order.json().await.expect("JSON");
    let order_id = order["id"].as_i64().expect("id");
    let crew = app.crew_token("dongcheng-lighting-1").await;
    let started = app
        .post_json(
            &format!("/v1/work-orders/{order_id}/transitions"),
            &crew,
            &json!({"to": "in_progress"}),
        )
        .await;
    assert_eq!(started.status(), 200);
    let done = crate::work_orders::done_with(
        &app,
        &crew,
        order_id,
        &[("note", "new lamp".to_string())],
        vec![(
            crate::work_orders::jpeg_taken_at(116.3951, 39.9412),
            "image/jpeg",
        )],
    )
    .await;
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.expect("JSON");
    let photo = done["properties"]["evidence"]["photos"][0]
        .as_i64()
        .unwrap_or_else(|| panic!("a photo id: {done}"));
    let planned = app
        .post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "permeable_paving", "title": "Yard paving", "targets": [building_yard(&app, building).await]}),
        )
        .await;
    assert_eq!(planned.status(), 201);
    let views = [
        "/v1/plans".to_string(),
        "/v1/assets?limit=10000".to_string(),
        "/v1/complaints?limit=1000".to_string(),
        format!("/v1/complaints/{}", ids[0]),
        format!("/v1/complaints/{}/links", ids[1]),
        "/v1/assets/nearby?lon=116.39415&lat=39.94273&limit=20".to_string(),
        format!("/v1/work-orders/{order_id}"),
        "/v1/work-orders?limit=1000".to_string(),
        "/v1/work-orders/nearby?lon=116.3951&lat=39.9412&radius_m=5000&limit=100".to_string(),
    ];
    let admin_views = [
        "/v1/audit?limit=1000".to_string(),
        format!("/v1/surveys?asset_id={building}"),
    ];
    let mut admin_before = Vec::new();
    for view in &admin_views {
        admin_before.push(app.get_json_as(&admin, view).await);
    }
    let photo_bytes = photo_of(&app, &planner, photo).await;
    assert!(photo_bytes.len() > 100);
    let mut before = Vec::new();
    for view in &views {
        let response = app
            .client
            .get(app.url(view))
            .bearer_auth(&operator)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{view}");
        before.push(response.text().await.expect("body"));
    }
    let _source_dir = app.stop().await;

    let target_dir = tempfile::TempDir::new().expect("tempdir");
    let target_db = database_url(target_dir.path()).await;
    let out = hutong(&["migrate-store", "--from", &source_db, "--to", &target_db]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("row counts and checksums match"), "{said}");
    assert!(!said.contains("DIFFERENT"), "{said}");
    assert!(said.contains("complaint_events"), "{said}");
    for table in [
        "work_orders",
        "work_order_events",
        "surveys",
        "photos",
        "audit_log",
    ] {
        assert!(said.contains(table), "{table}: {said}");
    }

    // The copy serves the same answers, to the same tokens.
    let copy = spawn_on(target_dir, false).await;
    for (view, expected) in views.iter().zip(&before) {
        let response = copy
            .client
            .get(copy.url(view))
            .bearer_auth(&operator)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{view}");
        assert_eq!(&response.text().await.expect("body"), expected, "{view}");
    }
    for (view, expected) in admin_views.iter().zip(&admin_before) {
        assert_eq!(&copy.get_json_as(&admin, view).await, expected, "{view}");
    }
    let copied_photo = photo_of(&copy, &planner, photo).await;
    assert_eq!(copied_photo, photo_bytes);
    // New rows get new ids.
    let created = copy.create(&planner, &light(116.3951, 39.9412)).await;
    assert!(created["id"].as_i64() > Some(600), "{created}");
    let next_order = copy
        .post_json(
            "/v1/work-orders",
            &planner,
            &json!({"unit": "beijing-drainage", "location": [116.3951, 39.9412], "description": "after the move"}),
        )
        .await;
    assert_eq!(next_order.status(), 201);
    let next_order: Value = next_order.json().await.expect("JSON");
    assert!(next_order["id"].as_i64() > Some(order_id), "{next_order}");

    // A second migration into the now full target is refused, untouched.
    let out = hutong(&["migrate-store", "--from", &source_db, "--to", &copy.db_url]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
