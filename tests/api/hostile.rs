//! Defects found by hostile testing, each kept as a test: costly filters,
//! racing duplicate marks, district scope on every complaint surface.

use crate::helpers::*;
use hutong::app::Settings;
use hutong::domain::{District, Role};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn case(number: &str, district: &str, lon: f64, lat: f64) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"case_number": number, "channel": "phone", "category": "broken_light",
            "description": "The lamp at the gate is out", "district": district,
            "reported_at": "2024-10-18T09:12:00+08:00",
            "caller_name": "Wang Fang", "caller_phone": "13912345678"}})
}

async fn file(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post_complaint(token, body).await
}

async fn filed(app: &TestApp, token: &str, body: &Value) -> i64 {
    app.file_complaint(token, body).await["id"]
        .as_i64()
        .expect("id")
}

async fn mark(app: &TestApp, token: &str, id: i64, of: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/v1/complaints/{id}")))
        .bearer_auth(token)
        .json(&json!({"duplicate_of": of}))
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn a_hostile_like_pattern_is_refused_before_any_work() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    filed(
        &app,
        &operator,
        &case("LIKE-1", "dongcheng", 116.3951, 39.9412),
    )
    .await;
    // 6,000 wildcards, 12 KB: took 10 s per 10,000 complaints before.
    let pattern = format!("{}b", "%a".repeat(6_000));
    let started = Instant::now();
    let response = app
        .client
        .get(app.url("/collections/complaints/items"))
        .query(&[("filter", format!("description LIKE '{pattern}'"))])
        .send()
        .await
        .expect("sent");
    let body = assert_problem(response, 400, "6,000 wildcards").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("LIKE pattern"),
        "{body}"
    );
    // A chain of 700 LIKEs.
    let chain = vec!["description LIKE '%a%'"; 700].join(" OR ");
    let response = app
        .client
        .get(app.url("/collections/complaints/items"))
        .query(&[("filter", chain)])
        .send()
        .await
        .expect("sent");
    assert_problem(response, 400, "700 LIKEs").await;
    // A sortby repeating one property sorts once; too many properties
    // are refused (each is a key per candidate, compared at every step).
    let repeated = vec!["id"; 500].join(",");
    let response = app
        .client
        .get(app.url("/collections/lights/items"))
        .query(&[("sortby", repeated.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let many = "id,name,district,sensor,status,power_w,reach_m,light_type,created_at,updated_at";
    let response = app
        .get(&format!("/collections/lights/items?sortby={many}"))
        .await;
    let body = assert_problem(response, 400, "ten sort keys").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("at most"),
        "{body}"
    );
}

#[tokio::test]
async fn a_filter_over_its_time_budget_is_refused_and_others_are_served() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let db = database_url(dir.path()).await;
    {
        let store = hutong::store::open(&db).await.expect("store");
        let registry = hutong::services::registry::Registry::open(
            store,
            hutong::spatial::GeometryLimits::default(),
        )
        .await
        .expect("registry");
        hutong::sample_data::generate::store_city(&registry, 11, false, 30_000)
            .await
            .expect("stored");
    }
    let app = spawn_with(
        dir,
        Settings {
            database_url: db,
            listen: "127.0.0.1:0".into(),
            scan_budget: Duration::from_millis(5),
            ..Settings::default()
        },
    )
    .await;
    // Every building rendered once, so that the time goes to the filter
    // itself (its per-feature checks), not to reading the store.
    let mut offset = 0;
    loop {
        let page = app
            .get_json(&format!(
                "/collections/buildings/items?limit=10000&offset={offset}"
            ))
            .await;
        let returned = page["numberReturned"].as_u64().expect("returned");
        offset += returned;
        if returned < 10_000 {
            break;
        }
    }
    assert!(offset > 1_000, "{offset} buildings");
    // The most conditions a filter may have, each a LIKE over every
    // building's text.
    let filter = vec!["structure LIKE '%a%b%c%d%e%f%'"; 64].join(" OR ");
    let started = Instant::now();
    let response = app
        .client
        .get(app.url("/collections/buildings/items"))
        .query(&[("filter", filter.as_str()), ("limit", "10")])
        .send()
        .await
        .expect("sent");
    let body = assert_problem(response, 422, "over budget").await;
    assert_eq!(body["type"], "/problems/query-too-costly", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Sorting the whole collection is held to the same budget.
    let response = app
        .get("/collections/buildings/items?sortby=-storeys&limit=5")
        .await;
    assert_problem(response, 422, "sort over budget").await;
    // Cheap reads are unaffected.
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(
        app.get("/collections/buildings/items?limit=5")
            .await
            .status(),
        200
    );
}

/// Coverage, catchments and a facility plan's reach walk the lanes on a
/// blocking thread inside the scan gate, held to the scan budget: with a
/// budget of a nanosecond each is refused (422, too costly) and stores
/// nothing, while cheap reads are served.
#[tokio::test]
async fn walking_analyses_are_held_to_the_scan_budget() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let db = database_url(dir.path()).await;
    let app = spawn_with(
        dir,
        Settings {
            database_url: db,
            listen: "127.0.0.1:0".into(),
            demo: true,
            scan_budget: Duration::from_nanos(1),
            ..Settings::default()
        },
    )
    .await;
    for kind in ["lights", "chargers", "facilities"] {
        let body = assert_problem(
            app.get(&format!(
                "/v1/analysis/coverage?kind={kind}&district=dongcheng"
            ))
            .await,
            422,
            kind,
        )
        .await;
        assert_eq!(body["type"], "/problems/query-too-costly", "{body}");
    }
    let facilities = app.get_json("/v1/assets?kind=facility").await;
    let id = facilities["features"][0]["id"]
        .as_i64()
        .expect("a facility");
    assert_problem(
        app.get(&format!("/v1/analysis/catchment?facility={id}"))
            .await,
        422,
        "catchment",
    )
    .await;
    let planner = app.token(Role::Planner, None).await;
    assert_problem(
        app.post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park", "site": [116.3935, 39.9432]}}),
        )
        .await,
        422,
        "facility plan",
    )
    .await;
    assert_eq!(
        app.get_json("/v1/plans").await["features"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(
        app.get("/v1/analysis/coverage?kind=drainage&district=dongcheng")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn racing_duplicate_marks_never_chain_or_cycle() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let a = filed(
        &app,
        &operator,
        &case("RACE-A", "dongcheng", 116.3951, 39.9412),
    )
    .await;
    let b = filed(
        &app,
        &operator,
        &case("RACE-B", "dongcheng", 116.3952, 39.9412),
    )
    .await;
    let c = filed(
        &app,
        &operator,
        &case("RACE-C", "dongcheng", 116.3953, 39.9412),
    )
    .await;
    for trial in 0..20 {
        let (ab, ba) = tokio::join!(
            mark(&app, &operator, a, json!(b)),
            mark(&app, &operator, b, json!(a))
        );
        let won = [ab.status().as_u16(), ba.status().as_u16()];
        assert_eq!(
            won.iter().filter(|s| **s == 200).count(),
            1,
            "trial {trial}: {won:?}"
        );
        assert!(won.contains(&422), "trial {trial}: {won:?}");
        for id in [a, b] {
            assert_eq!(mark(&app, &operator, id, Value::Null).await.status(), 200);
        }
    }
    // A chain is refused either way round.
    assert_eq!(mark(&app, &operator, a, json!(b)).await.status(), 200);
    let body = assert_problem(mark(&app, &operator, b, json!(c)).await, 422, "b -> c").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("original"),
        "{body}"
    );
    assert_problem(mark(&app, &operator, c, json!(a)).await, 422, "c -> a").await;
    // Stats count one original and one duplicate.
    let stats = app
        .get_json("/v1/complaints/stats?category=broken_light")
        .await;
    assert_eq!(stats["total"], 2, "{stats}");
    assert_eq!(stats["duplicates_excluded"], 1, "{stats}");
}

#[tokio::test]
async fn a_district_scoped_operator_acts_only_in_its_district() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin, None).await;
    let dongcheng = app.token(Role::Operator, Some(District::Dongcheng)).await;
    let theirs = filed(
        &app,
        &admin,
        &case("SCOPE-CP-1", "changping", 116.3280, 40.0680),
    )
    .await;
    let theirs_too = filed(
        &app,
        &admin,
        &case("SCOPE-CP-2", "changping", 116.3281, 40.0680),
    )
    .await;
    let ours = filed(
        &app,
        &dongcheng,
        &case("SCOPE-DC-1", "dongcheng", 116.3951, 39.9412),
    )
    .await;
    let count = app.get_json("/v1/complaints?limit=1").await["numberMatched"].clone();

    // Filing in another district, natively or through Open311.
    assert_problem(
        file(
            &app,
            &dongcheng,
            &case("SCOPE-CP-3", "changping", 116.3280, 40.0681),
        )
        .await,
        403,
        "native intake in changping",
    )
    .await;
    // A case without a district is filed in the token's.
    let mut unplaced = case("SCOPE-NONE", "dongcheng", 116.3951, 39.9413);
    unplaced["properties"]
        .as_object_mut()
        .expect("properties")
        .remove("district");
    let response = file(&app, &dongcheng, &unplaced).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["properties"]["district"], "dongcheng", "{body}");

    // Marking duplicates across the line, either end.
    assert_problem(
        mark(&app, &dongcheng, theirs_too, json!(theirs)).await,
        403,
        "mark a changping case",
    )
    .await;
    assert_problem(
        mark(&app, &dongcheng, ours, json!(theirs)).await,
        403,
        "point at a changping case",
    )
    .await;
    let unchanged = app.get_json(&format!("/v1/complaints/{theirs_too}")).await;
    assert_eq!(unchanged["properties"]["duplicate_of"], Value::Null);

    // Callers' names and phones: only of its own district's cases.
    let own = app
        .get_json_as(&dongcheng, &format!("/v1/complaints/{ours}"))
        .await;
    assert_eq!(own["properties"]["caller_name"], "Wang Fang", "{own}");
    let other = app
        .get_json_as(&dongcheng, &format!("/v1/complaints/{theirs}"))
        .await;
    assert!(other["properties"].get("caller_name").is_none(), "{other}");
    assert!(other["properties"].get("caller_phone").is_none(), "{other}");
    let listed = app
        .get_json_as(&dongcheng, "/v1/complaints?limit=100")
        .await;
    for feature in listed["features"].as_array().expect("features") {
        let district = feature["properties"]["district"].as_str();
        assert_eq!(
            feature["properties"].get("caller_phone").is_some(),
            district == Some("dongcheng"),
            "{feature}"
        );
    }
    // Open311: an api_key of the scoped operator files in its district.
    let response = app
        .post_open311(&[
            ("api_key", dongcheng.as_str()),
            ("service_code", "broken_light"),
            ("lat", "39.9412"),
            ("long", "116.3951"),
            ("first_name", "Li"),
            ("last_name", "Lei"),
        ])
        .await;
    assert_eq!(response.status(), 201);
    let stored = app.get_json("/v1/complaints?limit=1").await;
    assert_eq!(stored["features"][0]["properties"]["district"], "dongcheng");
    assert_eq!(
        stored["numberMatched"],
        count.as_u64().expect("count") + 2,
        "the refused cases stored nothing"
    );
}

#[tokio::test]
async fn open311_callers_names_are_checked_like_everyone_elses() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    for name in ["Li\u{0007}Lei".to_string(), "L".repeat(150)] {
        let response = app
            .post_open311(&[
                ("api_key", operator.as_str()),
                ("service_code", "broken_light"),
                ("lat", "39.9412"),
                ("long", "116.3951"),
                ("first_name", name.as_str()),
            ])
            .await;
        assert_eq!(response.status(), 400, "{name:?}");
    }
    let count = app.get_json("/v1/complaints?limit=1").await["numberMatched"].clone();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn invisible_formatting_characters_are_refused_everywhere() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let planner = app.token(Role::Planner, None).await;
    for (field, text) in [
        ("description", "lamp out \u{202E}tuo pmal"),
        ("description", "\u{FEFF}lamp out"),
        ("caller_name", "Wang\u{E0041}Fang"),
        ("address", "Zhonglouwan \u{2066}90"),
    ] {
        let mut body = case(
            &format!("INVIS-{field}-{}", text.len()),
            "dongcheng",
            116.3951,
            39.9412,
        );
        body["properties"][field] = json!(text);
        let problem = assert_problem(file(&app, &operator, &body).await, 422, field).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("invisible"),
            "{problem}"
        );
    }
    // A note on a status change, checked by the same rule.
    let filed = app
        .file_complaint(
            &operator,
            &case("INVIS-NOTE", "dongcheng", 116.3951, 39.9412),
        )
        .await;
    let response = app
        .post_json(
            &format!("/v1/complaints/{}/transitions", filed["id"]),
            &operator,
            &json!({"to": "dispatched", "note": "sent \u{202E}on"}),
        )
        .await;
    assert_problem(response, 422, "note").await;
    let unchanged = app
        .get_json(&format!("/v1/complaints/{}", filed["id"]))
        .await;
    assert_eq!(unchanged["properties"]["status"], "received");
    let mut named = light(116.3945, 39.9428);
    named["properties"]["name"] = json!("Gate \u{2066}light");
    let response = app.post_feature(&planner, &named).await;
    assert_problem(response, 422, "asset name").await;
    let response = app
        .post_open311(&[
            ("api_key", operator.as_str()),
            ("service_code", "broken_light"),
            ("lat", "39.9412"),
            ("long", "116.3951"),
            ("description", "\u{202E}dark"),
        ])
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.get_json("/v1/complaints?limit=1").await["numberMatched"],
        1
    );
    assert_eq!(app.asset_count().await, 0);
}

#[tokio::test]
async fn positions_outside_the_service_area_or_a_crs_domain_are_refused() {
    let app = spawn_app().await;
    let planner = app.token(Role::Planner, None).await;
    let operator = app.token(Role::Operator, None).await;
    // One light, so that the data's bounds are its point.
    app.create(&planner, &light(116.3945, 39.9428)).await;
    let response = app.post_feature(&planner, &light(0.0, 0.0)).await;
    assert_problem(response, 422, "null island").await;
    let response = file(&app, &operator, &case("FAR-1", "dongcheng", 121.47, 31.23)).await;
    assert_problem(response, 422, "Shanghai").await;
    // 53,033 km east in Web Mercator used to wrap round to 116.4 E.
    let wrapped = json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [53_033_000.0, 4_856_000.0]},
        "properties": {"light_type": "wall", "sensor": "pir", "district": "dongcheng"}});
    for point in [json!([53_033_000.0, 4_856_000.0]), json!([1e300, 1e300])] {
        let mut body = wrapped.clone();
        body["geometry"]["coordinates"] = point;
        let response = app
            .client
            .post(app.url("/collections/lights/items"))
            .bearer_auth(&planner)
            .header(
                "content-crs",
                "<http://www.opengis.net/def/crs/EPSG/0/3857>",
            )
            .header("content-type", "application/geo+json")
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_problem(response, 422, "outside EPSG:3857").await;
    }
    assert_eq!(app.asset_count().await, 1);
    let tiles = app.get_json("/tiles.json").await;
    assert_eq!(
        tiles["bounds"],
        json!([116.3945, 39.9428, 116.3945, 39.9428]),
        "{tiles}"
    );
}

#[tokio::test]
async fn open311_lists_are_capped_and_repeated_keys_refused() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let ids: Vec<String> = (1..=1_001).map(|i| i.to_string()).collect();
    let response = app
        .client
        .get(app.url("/open311/v2/requests.json"))
        .query(&[("service_request_id", ids.join(","))])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    // Ids are read at once and answered in the order asked.
    let mut filed = Vec::new();
    for i in 0..3 {
        filed.push(
            app.file_complaint(
                &operator,
                &case(&format!("IDS-{i}"), "dongcheng", 116.3951, 39.9412),
            )
            .await["id"]
                .clone(),
        );
    }
    let asked = format!("{},{},99999,{}", filed[2], filed[0], filed[1]);
    let listed: Value = app
        .get_json(&format!(
            "/open311/v2/requests.json?service_request_id={asked}"
        ))
        .await;
    let got: Vec<String> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            r["service_request_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        got,
        [&filed[2], &filed[0], &filed[1]].map(|v| v.to_string()),
        "{listed}"
    );
    // Deep pages are asked for by date instead, on every surface.
    let response = app
        .get("/open311/v2/requests.json?page=1000&page_size=1000")
        .await;
    assert_eq!(response.status(), 400);
    for deep in [
        "/v1/complaints?offset=100001",
        "/collections/complaints/items?offset=100001",
    ] {
        assert_problem(app.get(deep).await, 400, deep).await;
    }
    let response = app.get("/open311/v2/requests.json?page_size=5001").await;
    assert_eq!(response.status(), 400);
    let response = app
        .get("/open311/v2/requests.json?status=open&status=closed")
        .await;
    assert_eq!(response.status(), 400);
    for repeated in [
        vec![("api_key", "bad"), ("api_key", operator.as_str())],
        vec![
            ("api_key", operator.as_str()),
            ("lat", "39.94"),
            ("lat", "0"),
        ],
    ] {
        let mut form = vec![("service_code", "broken_light"), ("long", "116.3951")];
        form.extend(repeated);
        if !form.iter().any(|(k, _)| *k == "lat") {
            form.push(("lat", "39.9412"));
        }
        let response = app.post_open311(&form).await;
        assert_eq!(response.status(), 400, "{form:?}");
    }
    // A form larger than the body limit is a 413.
    let big = "x".repeat(20 * 1024 * 1024);
    let response = app
        .post_open311(&[
            ("api_key", operator.as_str()),
            ("description", big.as_str()),
        ])
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        app.get_json("/v1/complaints?limit=1").await["numberMatched"],
        3
    );
}

#[tokio::test]
async fn error_edges_are_problems_and_pages_are_locked_down() {
    let app = spawn_app().await;
    // A path that is not UTF-8.
    let response = app.get("/v1/assets/%FF%FE").await;
    let body = assert_problem(response, 400, "bad UTF-8 path").await;
    assert!(
        body["type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("/problems/")
    );
    // Each refusal has its own type.
    let response = app
        .client
        .delete(app.url("/health"))
        .send()
        .await
        .expect("sent");
    let body = assert_problem(response, 405, "405").await;
    assert_eq!(body["type"], "/problems/method-not-allowed");
    // HTML pages cannot be sniffed or run script.
    let response = app.get("/collections?f=html").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(policy.contains("default-src 'none'"), "{policy}");
}

#[tokio::test]
async fn duplicate_suggestions_are_the_few_most_likely_with_a_count() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    for i in 0..12 {
        let mut body = case(
            &format!("SUGGEST-{i}"),
            "dongcheng",
            116.3951 + f64::from(i) * 1e-5,
            39.9412,
        );
        body["properties"]["reported_at"] = json!(format!("2024-10-18T09:{:02}:00+08:00", 10 + i));
        app.file_complaint(&operator, &body).await;
    }
    let mut body = case("SUGGEST-NEW", "dongcheng", 116.3951, 39.9412);
    body["properties"]["reported_at"] = json!("2024-10-18T10:00:00+08:00");
    let filed = app.file_complaint(&operator, &body).await;
    let suggested = filed["properties"]["suggested_duplicates"]
        .as_array()
        .expect("suggestions")
        .clone();
    assert_eq!(suggested.len(), 5, "{filed}");
    assert_eq!(
        filed["properties"]["suggested_duplicates_total"], 12,
        "{filed}"
    );
    assert_eq!(
        filed["properties"]["suggested_duplicates_total_exact"],
        true
    );
    // The nearest first: SUGGEST-0 stands on the same spot.
    let first = app
        .get_json(&format!("/v1/complaints/{}", suggested[0]))
        .await;
    assert_eq!(first["properties"]["case_number"], "SUGGEST-0", "{first}");
}
