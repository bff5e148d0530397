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
}

#[tokio::test]
async fn a_filter_over_its_time_budget_is_refused_and_others_are_served() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let db = database_url(dir.path()).await;
    {
        let store = hutong::store::open(&db).await.expect("store");
        let registry =
            hutong::registry::Registry::open(store, hutong::spatial::GeometryLimits::default())
                .await
                .expect("registry");
        hutong::generate::store_city(&registry, 11, false, 30_000)
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
    let read = |id: i64| {
        app.client
            .get(app.url(&format!("/v1/complaints/{id}")))
            .bearer_auth(&dongcheng)
            .send()
    };
    let own: Value = read(ours).await.expect("sent").json().await.expect("json");
    assert_eq!(own["properties"]["caller_name"], "Wang Fang", "{own}");
    let other: Value = read(theirs)
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(other["properties"].get("caller_name").is_none(), "{other}");
    assert!(other["properties"].get("caller_phone").is_none(), "{other}");
    let listed: Value = app
        .client
        .get(app.url("/v1/complaints?limit=100"))
        .bearer_auth(&dongcheng)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
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
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", dongcheng.as_str()),
            ("service_code", "broken_light"),
            ("lat", "39.9412"),
            ("long", "116.3951"),
            ("first_name", "Li"),
            ("last_name", "Lei"),
        ])
        .send()
        .await
        .expect("sent");
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
    let post = |first: String| {
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .form(&[
                ("api_key", operator.clone()),
                ("service_code", "broken_light".into()),
                ("lat", "39.9412".into()),
                ("long", "116.3951".into()),
                ("first_name", first),
            ])
            .send()
    };
    for name in ["Li\u{0007}Lei".to_string(), "L".repeat(150)] {
        let response = post(name.clone()).await.expect("sent");
        assert_eq!(response.status(), 400, "{name:?}");
    }
    let count = app.get_json("/v1/complaints?limit=1").await["numberMatched"].clone();
    assert_eq!(count, 0);
}
