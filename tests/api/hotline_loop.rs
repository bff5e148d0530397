//! The hotline loop over HTTP on the demo fixtures: a phone case with
//! only an address is located at its courtyard, routed, sent back, sent
//! on, resolved, called back "not solved", reopened, resolved again and
//! called back "satisfied"; addresses in every form; unit scopes; overdue
//! flags; personal data masked, shown whole only to operators, and erased
//! after retention; bad input refused with nothing stored.

use crate::helpers::*;
use hutong::domain::Role;
use serde_json::{Value, json};

/// Runs one statement on the test's database, either backend: for
/// moving a stored time into the past, as the clock would.
async fn run_sql(app: &TestApp, sql: &str) {
    if app.db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db_url)
            .await
            .expect("sqlite");
        sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("statement runs");
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&app.db_url).await.expect("postgres");
        sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("statement runs");
        pool.close().await;
    }
}

/// Sends a Jiaodaokou case to its street office, which takes it and
/// resolves it.
async fn resolved_by_the_street_office(app: &TestApp, operator: &str, street: &str, id: i64) {
    step(
        app,
        operator,
        id,
        "dispatch",
        json!({"unit": "dongcheng-jiaodaokou-street"}),
    )
    .await;
    step(app, street, id, "accept", json!({})).await;
    step(
        app,
        street,
        id,
        "transitions",
        json!({"to": "resolved", "resolution": "removed"}),
    )
    .await;
}

/// A phone case with an address and no coordinates.
fn phone_case(case: &str, category: &str, address: &str, phone: &str) -> Value {
    json!({"type": "Feature", "geometry": null, "properties": {
        "case_number": case, "channel": "phone", "category": category,
        "description": "Water stands in the courtyard after every rain",
        "address": address, "caller_name": "王芳", "caller_phone": phone}})
}

/// The id of the demo courtyard with this address.
async fn courtyard_at(app: &TestApp, address: &str) -> i64 {
    let list = app.get_json("/v1/assets?kind=courtyard&limit=1000").await;
    list["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["address"] == address)
        .and_then(|f| f["id"].as_i64())
        .unwrap_or_else(|| panic!("no demo courtyard at {address}"))
}

/// The courtyard a case's location falls in (nearby at 0 m).
async fn courtyard_of(app: &TestApp, case: &Value) -> i64 {
    let at = &case["geometry"]["coordinates"];
    let (lon, lat) = (at[0].as_f64().expect("lon"), at[1].as_f64().expect("lat"));
    let near = app
        .get_json(&format!(
            "/v1/assets/nearby?lon={lon}&lat={lat}&kind=courtyard&limit=1"
        ))
        .await;
    assert_eq!(
        near["features"][0]["properties"]["distance_m"], 0.0,
        "{case}"
    );
    near["features"][0]["id"].as_i64().expect("id")
}

async fn step(app: &TestApp, token: &str, id: i64, action: &str, body: Value) -> Value {
    let response = app
        .post_json(&format!("/v1/complaints/{id}/{action}"), token, &body)
        .await;
    let status = response.status();
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(status, 200, "{action} {body}: {answer}");
    answer
}

async fn open311_of(app: &TestApp, id: i64) -> Value {
    let list = app
        .get_json(&format!(
            "/open311/v2/requests.json?service_request_id={id}"
        ))
        .await;
    list[0].clone()
}

#[tokio::test]
async fn a_phone_case_with_only_an_address_goes_round_the_whole_loop() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let admin = app.token(Role::Admin, None).await;
    let drainage = app.unit_token("beijing-drainage").await;
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    let courtyard = courtyard_at(&app, "Zhonglouwan Hutong 1").await;

    // Intake: located at its courtyard from the address alone, linked to
    // the drain beside it, and so routed to the drainage company at once.
    let case = app
        .file_complaint(
            &operator,
            &phone_case("LOOP-1", "water_pooling", "钟楼湾胡同1号", "13800000000"),
        )
        .await;
    let id = case["id"].as_i64().expect("id");
    let p = &case["properties"];
    assert_eq!(p["located_by"], "address_house", "{case}");
    assert_eq!(courtyard_of(&app, &case).await, courtyard);
    assert_eq!(p["district"], "dongcheng", "the courtyard's district");
    assert_eq!(p["status"], "dispatched", "{case}");
    assert_eq!(p["unit"], "beijing-drainage");
    assert_eq!(p["deadline_tier"], "utilities");
    assert_eq!(p["overdue"], false);
    assert_eq!(p["caller_phone"], "13800000000", "whole to the operator");
    let o = open311_of(&app, id).await;
    assert_eq!(o["agency_responsible"], "Beijing Drainage Group");
    assert!(
        o["status_notes"]
            .as_str()
            .is_some_and(|n| n.starts_with("dispatched to Beijing Drainage Group")),
        "{o}"
    );
    assert_eq!(o["status"], "open");

    // The drainage company sends it back: the water is inside the yard.
    let back = step(
        &app,
        &drainage,
        id,
        "send-back",
        json!({"reason": "the water stands inside the courtyard, not at a municipal drain"}),
    )
    .await;
    assert_eq!(back["properties"]["status"], "received");
    assert_eq!(back["properties"]["unit"], Value::Null);
    let o = open311_of(&app, id).await;
    assert_eq!(o["status_notes"], "received; waiting to be dispatched");

    // An operator sends it on to the street office.
    let on = step(
        &app,
        &operator,
        id,
        "dispatch",
        json!({"unit": "dongcheng-jiaodaokou-street", "note": "yard drainage: street office"}),
    )
    .await;
    assert_eq!(on["properties"]["unit"], "dongcheng-jiaodaokou-street");
    assert_eq!(
        open311_of(&app, id).await["agency_responsible"],
        "Jiaodaokou Street Office"
    );

    // The street office accepts and resolves.
    let accepted = step(&app, &street, id, "accept", json!({})).await;
    assert_eq!(accepted["properties"]["status"], "in_progress");
    assert!(accepted["properties"]["accepted_at"].is_string());
    assert!(
        open311_of(&app, id).await["status_notes"]
            .as_str()
            .is_some_and(|n| n.starts_with("accepted by Jiaodaokou Street Office")),
    );
    let resolve = |text: &'static str| json!({"to": "resolved", "resolution": text});
    step(
        &app,
        &street,
        id,
        "transitions",
        resolve("yard regraded towards the gully"),
    )
    .await;
    let o = open311_of(&app, id).await;
    assert_eq!(o["status"], "closed", "resolved is closed to Open311");
    assert!(
        o["status_notes"]
            .as_str()
            .is_some_and(|n| n.contains("waiting for the call-back")),
        "{o}"
    );

    // Call-back: not solved. The case reopens with the street office.
    let reopened = step(
        &app,
        &operator,
        id,
        "callback",
        json!({"reached": true, "attempts": 2, "unit_contacted": true, "solved": false,
               "satisfaction": "unsatisfied", "comment": "still pools after heavy rain"}),
    )
    .await;
    assert_eq!(reopened["properties"]["status"], "dispatched");
    assert_eq!(
        reopened["properties"]["unit"],
        "dongcheng-jiaodaokou-street"
    );
    assert_eq!(open311_of(&app, id).await["status"], "open");

    step(&app, &street, id, "accept", json!({"note": "second visit"})).await;
    step(
        &app,
        &street,
        id,
        "transitions",
        resolve("new permeable bricks laid"),
    )
    .await;

    // Call-back: satisfied. The case closes.
    let closed = step(
        &app,
        &operator,
        id,
        "callback",
        json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
    )
    .await;
    assert_eq!(closed["properties"]["status"], "closed");
    assert!(closed["properties"]["closed_at"].is_string());
    let o = open311_of(&app, id).await;
    assert_eq!(o["status"], "closed");
    assert!(
        o["status_notes"]
            .as_str()
            .is_some_and(|n| n.starts_with("closed")),
        "{o}"
    );

    // The history holds every step, with who and when.
    let history = closed["properties"]["history"]
        .as_array()
        .expect("history")
        .clone();
    let steps: Vec<(String, String, String)> = history
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap_or("status").to_string(),
                h["to"].as_str().unwrap_or_default().to_string(),
                h["by"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = [
        ("status", "received", "system"),
        ("dispatched", "dispatched", "system"),
        ("sent_back", "received", "unit"),
        ("dispatched", "dispatched", "operator"),
        ("accepted", "in_progress", "unit"),
        ("status", "resolved", "unit"),
        ("reopened", "dispatched", "operator"),
        ("accepted", "in_progress", "unit"),
        ("status", "resolved", "unit"),
        ("called_back", "closed", "operator"),
    ];
    assert_eq!(
        steps,
        expected
            .iter()
            .map(|(a, t, b)| (a.to_string(), t.to_string(), b.to_string()))
            .collect::<Vec<_>>(),
        "{history:#?}"
    );
    assert!(history.iter().all(|h| h["at"].is_string()));
    assert_eq!(history[2]["unit"], "beijing-drainage");
    assert!(history[2]["detail"]["reason"].is_string());
    assert_eq!(history[6]["detail"]["solved"], false);
    assert!(history[1]["detail"]["resolution_due"].is_string());

    // The rates count the latest valid call-back of the case.
    let rates = app.get_json("/v1/complaints/rates").await;
    assert_eq!(rates["valid_callbacks"], 1, "{rates}");
    assert_eq!(rates["response_rate"], 1.0);
    assert_eq!(rates["resolution_rate"], 1.0);
    assert_eq!(rates["satisfaction_rate"], 1.0);
    // Over a window: 31 days up to now unless asked; at most 366 days.
    let from = rates["from"].as_str().expect("from");
    let to = rates["to"].as_str().expect("to");
    let span = time::OffsetDateTime::parse(to, &time::format_description::well_known::Rfc3339)
        .expect("to")
        - time::OffsetDateTime::parse(from, &time::format_description::well_known::Rfc3339)
            .expect("from");
    assert_eq!(span.whole_days(), 31, "{rates}");
    let last_year = app
        .get_json("/v1/complaints/rates?from=2025-01-01T00:00:00Z&to=2025-12-31T00:00:00Z")
        .await;
    assert_eq!(last_year["valid_callbacks"], 0, "{last_year}");
    // A past window keeps its grade when a later call-back comes: the
    // first call-back ("not solved"), moved into June 2025, still counts
    // there though a later one exists.
    run_sql(
        &app,
        &format!(
            "UPDATE complaint_callbacks SET at = '2025-06-01T00:00:00.000Z' WHERE id = \
             (SELECT min(id) FROM complaint_callbacks WHERE complaint_id = {id})"
        ),
    )
    .await;
    let june = app
        .get_json("/v1/complaints/rates?from=2025-06-01T00:00:00Z&to=2025-06-30T00:00:00Z")
        .await;
    assert_eq!(june["valid_callbacks"], 1, "{june}");
    assert_eq!(june["resolution_rate"], 0.0, "{june}");
    for path in [
        "/v1/complaints/rates?from=2024-01-01T00:00:00Z&to=2025-12-31T00:00:00Z",
        "/v1/complaints/rates?from=2000-01-01T00:00:00Z",
        "/v1/complaints/rates?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
    ] {
        assert_problem(app.get(path).await, 400, path).await;
    }
    // Marked not assessable, it is counted apart.
    step(
        &app,
        &admin,
        id,
        "not-assessable",
        json!({"reason": "test of the exclusion"}),
    )
    .await;
    let rates = app.get_json("/v1/complaints/rates").await;
    assert_eq!(rates["valid_callbacks"], 0, "{rates}");
    assert_eq!(rates["not_assessable"], 1, "{rates}");
    assert_eq!(rates["response_rate"], Value::Null);
}

#[tokio::test]
async fn address_forms_locate_cases_and_an_unknown_one_waits_unlocated() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let courtyard = courtyard_at(&app, "Zhonglouwan Hutong 3").await;
    for (i, address) in [
        "钟楼湾胡同3号",
        "Zhonglouwan Hutong 3",
        "钟楼湾胡同３号",
        "北京市东城区钟楼湾胡同3号",
        "Zhonglowan Hutong 3",
    ]
    .iter()
    .enumerate()
    {
        let case = app
            .file_complaint(
                &operator,
                &phone_case(&format!("ADDR-{i}"), "housing_leak", address, "13900000001"),
            )
            .await;
        assert_eq!(
            case["properties"]["located_by"], "address_house",
            "{address}"
        );
        assert_eq!(courtyard_of(&app, &case).await, courtyard, "{address}");
    }
    // Only the way: located on the lane, and said so.
    let way = app
        .file_complaint(
            &operator,
            &phone_case("ADDR-WAY", "dark_lane", "钟楼湾胡同", "13900000002"),
        )
        .await;
    assert_eq!(way["properties"]["located_by"], "address_way", "{way}");

    // Unknown: stored unlocated, listed for an operator, not dispatched.
    let lost = app
        .file_complaint(
            &operator,
            &phone_case("ADDR-LOST", "water_pooling", "火星路999号", "13900000003"),
        )
        .await;
    let id = lost["id"].as_i64().expect("id");
    assert_eq!(lost["geometry"], Value::Null);
    assert_eq!(lost["properties"]["located_by"], "unlocated");
    assert_eq!(lost["properties"]["status"], "received");
    let waiting = app.get_json("/v1/complaints?located=false").await;
    let ids: Vec<i64> = waiting["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![id], "{waiting}");
    let open311 = open311_of(&app, id).await;
    assert_eq!(open311["lat"], Value::Null);
    assert_eq!(
        open311["status_notes"],
        "received; waiting for an operator to place it"
    );
    assert_problem(
        app.post_json(
            &format!("/v1/complaints/{id}/dispatch"),
            &operator,
            &json!({"unit": "dongcheng-jiaodaokou-street"}),
        )
        .await,
        409,
        "dispatching an unlocated case",
    )
    .await;
    // No coordinates and no address: refused.
    let mut nowhere = phone_case("ADDR-NONE", "water_pooling", "x", "13900000004");
    nowhere["properties"]
        .as_object_mut()
        .map(|p| p.remove("address"));
    assert_problem(
        app.post_complaint(&operator, &nowhere).await,
        422,
        "no location at all",
    )
    .await;

    // The operator places it; it is linked and can then be dispatched.
    let placed = step(
        &app,
        &operator,
        id,
        "location",
        json!({"type": "Point", "coordinates": [116.3950588, 39.9427243]}),
    )
    .await;
    assert_eq!(placed["properties"]["located_by"], "operator");
    assert!(placed["geometry"]["coordinates"].is_array());
    let links = app.get_json(&format!("/v1/complaints/{id}/links")).await;
    assert!(
        !links["links"].as_array().expect("links").is_empty(),
        "{links}"
    );
    assert_eq!(
        app.get_json("/v1/complaints?located=false").await["numberMatched"],
        0
    );
    step(
        &app,
        &operator,
        id,
        "dispatch",
        json!({"unit": "dongcheng-jiaodaokou-street"}),
    )
    .await;
}

#[tokio::test]
async fn a_unit_token_cannot_see_or_act_on_another_units_cases() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let drainage = app.unit_token("beijing-drainage").await;
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    let case = app
        .file_complaint(
            &operator,
            &phone_case("SCOPE-1", "water_pooling", "钟楼湾胡同1号", "13700000000"),
        )
        .await;
    let id = case["id"].as_i64().expect("id");
    assert_eq!(case["properties"]["unit"], "beijing-drainage");
    // The street office does not see it, nor act on it.
    let seen = app
        .client
        .get(app.url(&format!("/v1/complaints/{id}")))
        .bearer_auth(&street)
        .send()
        .await
        .expect("sent");
    assert_problem(seen, 403, "another unit's case").await;
    let listed = app.get_json_as(&street, "/v1/complaints").await;
    assert_eq!(listed["numberMatched"], 0, "{listed}");
    let asked = app
        .client
        .get(app.url("/v1/complaints?unit=beijing-drainage"))
        .bearer_auth(&street)
        .send()
        .await
        .expect("sent");
    assert_problem(asked, 403, "listing another unit").await;
    for (action, body) in [
        ("accept", json!({})),
        ("send-back", json!({"reason": "not ours"})),
        ("transitions", json!({"to": "in_progress"})),
    ] {
        assert_problem(
            app.post_json(&format!("/v1/complaints/{id}/{action}"), &street, &body)
                .await,
            403,
            action,
        )
        .await;
    }
    // Its own unit sees it, without the caller's data.
    let own = app
        .get_json_as(&drainage, &format!("/v1/complaints/{id}"))
        .await;
    assert_eq!(own["properties"]["unit"], "beijing-drainage");
    assert!(own["properties"].get("caller_phone").is_none(), "{own}");
    let listed = app.get_json_as(&drainage, "/v1/complaints").await;
    assert_eq!(listed["numberMatched"], 1);
    // A unit cannot dispatch, nor record a call-back.
    assert_problem(
        app.post_json(
            &format!("/v1/complaints/{id}/dispatch"),
            &drainage,
            &json!({"unit": "beijing-drainage"}),
        )
        .await,
        403,
        "a unit dispatching",
    )
    .await;
    // The history is unchanged by all of it.
    let history = app.get_json(&format!("/v1/complaints/{id}")).await["properties"]["history"]
        .as_array()
        .expect("history")
        .len();
    assert_eq!(history, 2);
}

#[tokio::test]
async fn cases_past_their_deadline_are_flagged_overdue() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let case = app
        .file_complaint(
            &operator,
            &phone_case("LATE-1", "water_pooling", "钟楼湾胡同1号", "13600000000"),
        )
        .await;
    let id = case["id"].as_i64().expect("id");
    let on_time = app
        .file_complaint(
            &operator,
            &phone_case("LATE-2", "water_pooling", "钟楼湾胡同5号", "13600000001"),
        )
        .await;
    assert_eq!(on_time["properties"]["status"], "dispatched");
    assert_eq!(
        app.get_json("/v1/complaints?overdue=true").await["numberMatched"],
        0
    );
    // Time passes for the first: its deadlines are behind it.
    run_sql(
        &app,
        &format!(
            "UPDATE complaints SET response_due = '2020-01-01T00:00:00.000Z', \
             resolution_due = '2020-01-02T00:00:00.000Z' WHERE id = {id}"
        ),
    )
    .await;
    let late = app.get_json("/v1/complaints?overdue=true").await;
    assert_eq!(late["numberMatched"], 1, "{late}");
    assert_eq!(late["features"][0]["id"], id);
    assert_eq!(late["features"][0]["properties"]["overdue"], true);
    let o = open311_of(&app, id).await;
    assert!(
        o["status_notes"]
            .as_str()
            .is_some_and(|n| n.ends_with("overdue")),
        "{o}"
    );
    assert_problem(
        app.get("/v1/complaints?overdue=maybe").await,
        400,
        "overdue=maybe",
    )
    .await;
}

#[tokio::test]
async fn phones_are_masked_in_lists_whole_only_to_operators_and_erased_after_retention() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let db_url = database_url(dir.path()).await;
    let app = spawn_with(
        dir,
        hutong::app::Settings {
            database_url: db_url,
            listen: "127.0.0.1:0".into(),
            demo: true,
            erasure_interval: std::time::Duration::from_millis(200),
            ..hutong::app::Settings::default()
        },
    )
    .await;
    let operator = app.token(Role::Operator, None).await;
    let crew = app.token(Role::Crew, None).await;
    let first = app
        .file_complaint(
            &operator,
            &phone_case("PD-1", "water_pooling", "钟楼湾胡同7号", "138 1234 5678"),
        )
        .await;
    let id = first["id"].as_i64().expect("id");
    // An inquiry answered on the call, from the same caller.
    let mut inquiry = phone_case("PD-2", "other", "钟楼湾胡同7号", "+86 13812345678");
    inquiry["properties"]["case_type"] = json!("inquiry");
    inquiry["properties"]["answered_on_call"] = json!(true);
    let answered = app.file_complaint(&operator, &inquiry).await;
    assert_eq!(answered["properties"]["status"], "closed");
    assert_eq!(answered["properties"]["unit"], Value::Null);
    let steps = app
        .get_json(&format!("/v1/complaints/{}", answered["id"]))
        .await["properties"]["history"]
        .clone();
    assert_eq!(steps[1]["action"], "answered_on_call", "{steps}");
    assert_eq!(steps[1]["to"], "closed");

    // Lists: masked for operators, absent for everyone else.
    let listed = app
        .get_json_as(&operator, "/v1/complaints?limit=1000")
        .await;
    let ours: Vec<&Value> = listed["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| {
            f["properties"]["case_number"]
                .as_str()
                .is_some_and(|c| c.starts_with("PD-"))
        })
        .collect();
    assert_eq!(ours.len(), 2);
    for f in ours {
        assert_eq!(f["properties"]["caller_phone"], "138****5678", "{f}");
        assert_eq!(f["properties"]["caller_name"], "王*", "{f}");
    }
    assert!(!listed.to_string().contains("13812345678"));
    let anonymous = app.get_json("/v1/complaints").await;
    assert!(
        anonymous["features"][0]["properties"]
            .get("caller_phone")
            .is_none()
    );
    let as_crew = app
        .get_json_as(&crew, &format!("/v1/complaints/{id}"))
        .await;
    assert!(as_crew["properties"].get("caller_phone").is_none());
    // A single case: whole, to an operator.
    let single = app
        .get_json_as(&operator, &format!("/v1/complaints/{id}"))
        .await;
    assert_eq!(single["properties"]["caller_phone"], "138 1234 5678");

    // The caller's earlier cases, by phone however it is written.
    let history = app
        .post_json(
            "/v1/caller-history",
            &operator,
            &json!({"phone": "13812345678"}),
        )
        .await;
    assert_eq!(history.status(), 200);
    let history: Value = history.json().await.expect("JSON");
    assert_eq!(history["numberReturned"], 2, "{history}");
    assert_eq!(
        history["features"][0]["properties"]["caller_phone"],
        "138****5678"
    );
    assert_problem(
        app.post_json(
            "/v1/caller-history",
            &crew,
            &json!({"phone": "13812345678"}),
        )
        .await,
        403,
        "a crew asking for a caller's history",
    )
    .await;
    assert_problem(
        app.post_json(
            "/v1/caller-history",
            &operator,
            &json!({"phone": "call me"}),
        )
        .await,
        422,
        "not a phone",
    )
    .await;

    // Stats count the inquiry answered on the call apart.
    let stats = app.get_json("/v1/complaints/stats").await;
    assert_eq!(stats["inquiries_answered"], 1, "{stats}");
    assert_eq!(stats["by_case_type"]["inquiry"], 1);

    // Retention: the inquiry closed three years ago is erased by the
    // sweeper, with the erasure in its history; the open case is not.
    let inquiry_id = answered["id"].as_i64().expect("id");
    run_sql(
        &app,
        &format!(
            "UPDATE complaints SET closed_at = '2023-01-01T00:00:00.000Z' WHERE id = {inquiry_id}"
        ),
    )
    .await;
    let mut erased = Value::Null;
    for _ in 0..50 {
        erased = app
            .get_json_as(&operator, &format!("/v1/complaints/{inquiry_id}"))
            .await;
        if erased["properties"]["personal_data_erased_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let p = &erased["properties"];
    assert!(p["personal_data_erased_at"].is_string(), "{erased}");
    assert_eq!(p["caller_phone"], Value::Null);
    assert_eq!(p["caller_name"], Value::Null);
    let last = p["history"].as_array().and_then(|h| h.last()).cloned();
    assert_eq!(
        last.map(|l| l["action"].clone()),
        Some(json!("personal_data_erased"))
    );
    let kept = app
        .get_json_as(&operator, &format!("/v1/complaints/{id}"))
        .await;
    assert_eq!(kept["properties"]["caller_phone"], "138 1234 5678");

    // What the caller said on a call-back is personal data too: erased
    // with the name and phone, from the call-back and from the history.
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    let called = app
        .file_complaint(
            &operator,
            &phone_case(
                "ERASE-CB",
                "illegal_construction",
                "钟楼湾胡同13号",
                "13900001111",
            ),
        )
        .await;
    let called_id = called["id"].as_i64().expect("id");
    resolved_by_the_street_office(&app, &operator, &street, called_id).await;
    step(
        &app,
        &operator,
        called_id,
        "callback",
        json!({"reached": true, "unit_contacted": true, "solved": true,
               "satisfaction": "satisfied", "comment": "call me on 13900001111 if it comes back"}),
    )
    .await;
    let before = app
        .get_json_as(&operator, &format!("/v1/complaints/{called_id}"))
        .await
        .to_string();
    assert!(before.contains("13900001111"), "{before}");
    run_sql(
        &app,
        &format!(
            "UPDATE complaints SET closed_at = '2023-01-01T00:00:00.000Z' WHERE id = {called_id}"
        ),
    )
    .await;
    let mut after = String::new();
    for _ in 0..50 {
        let seen = app
            .get_json_as(&operator, &format!("/v1/complaints/{called_id}"))
            .await;
        after = seen.to_string();
        if seen["properties"]["personal_data_erased_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(after.contains("personal_data_erased_at\":\"2"), "{after}");
    assert!(!after.contains("13900001111"), "{after}");
    assert!(!after.contains("comes back"), "{after}");
    // Erased, the phone no longer finds the case.
    let history: Value = app
        .post_json(
            "/v1/caller-history",
            &operator,
            &json!({"phone": "13812345678"}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(history["numberReturned"], 1, "{history}");
}

#[tokio::test]
async fn bad_loop_input_is_refused_and_nothing_is_stored() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    // A dark-lane case by an address with no light near: the fallback,
    // the street office, is suggested and nothing is dispatched.
    let mut case = phone_case(
        "BAD-1",
        "illegal_construction",
        "钟楼湾胡同9号",
        "13500000000",
    );
    case["properties"]["description"] = json!("A shed built across the lane");
    let case = app.file_complaint(&operator, &case).await;
    let id = case["id"].as_i64().expect("id");
    assert_eq!(case["properties"]["status"], "received", "{case}");
    assert_eq!(
        case["properties"]["suggested_unit"]["unit"],
        "dongcheng-jiaodaokou-street"
    );
    let path = |action: &str| format!("/v1/complaints/{id}/{action}");
    for (action, token, body, status, what) in [
        (
            "dispatch",
            &operator,
            json!({"unit": "nobody-at-all"}),
            422,
            "unknown unit",
        ),
        (
            "dispatch",
            &operator,
            json!({"unit": "Bad Unit!"}),
            422,
            "malformed unit",
        ),
        (
            "dispatch",
            &operator,
            json!({"unit": "beijing-drainage"}),
            422,
            "a unit not handling the category",
        ),
        (
            "dispatch",
            &operator,
            json!({"unit": "changping-huilongguan-street"}),
            422,
            "a unit of another district",
        ),
        (
            "dispatch",
            &operator,
            json!({"unit": "dongcheng-jiaodaokou-street", "deadline_tier": "whenever"}),
            422,
            "unknown tier",
        ),
        (
            "dispatch",
            &operator,
            json!({"unit": "dongcheng-jiaodaokou-street", "colour": 1}),
            422,
            "unknown member",
        ),
        ("dispatch", &operator, json!([1]), 422, "not an object"),
        (
            "callback",
            &operator,
            json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
            409,
            "call-back on an unresolved case",
        ),
        (
            "accept",
            &street,
            json!({}),
            403,
            "accepting a case not dispatched to the unit",
        ),
        (
            "not-assessable",
            &operator,
            json!({"reason": "x"}),
            403,
            "an operator approving exclusion",
        ),
        (
            "transitions",
            &operator,
            json!({"to": "dispatched"}),
            409,
            "dispatching without a unit",
        ),
    ] {
        assert_problem(
            app.post_json(&path(action), token, &body).await,
            status,
            what,
        )
        .await;
    }
    // Dispatched to the street office, a send-back needs a reason.
    step(
        &app,
        &operator,
        id,
        "dispatch",
        json!({"unit": "dongcheng-jiaodaokou-street"}),
    )
    .await;
    for body in [json!({}), json!({"reason": "   "}), json!({"reason": null})] {
        assert_problem(
            app.post_json(&path("send-back"), &street, &body).await,
            422,
            "a send-back without a reason",
        )
        .await;
    }
    step(&app, &street, id, "accept", json!({})).await;
    step(
        &app,
        &street,
        id,
        "transitions",
        json!({"to": "resolved", "resolution": "shed removed"}),
    )
    .await;
    for (body, what) in [
        (
            json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "delighted"}),
            "a satisfaction off the scale",
        ),
        (json!({"reached": true, "solved": true}), "answers missing"),
        (
            json!({"reached": false, "solved": true}),
            "answers without reaching the caller",
        ),
        (
            json!({"reached": true, "attempts": 0, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
            "zero attempts",
        ),
        (
            json!({"reached": true, "attempts": 99, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
            "too many attempts",
        ),
        (json!({"reached": "yes"}), "reached not a boolean"),
    ] {
        assert_problem(
            app.post_json(&path("callback"), &operator, &body).await,
            422,
            what,
        )
        .await;
    }
    // Nothing of that was stored: dispatched, accepted, resolved only.
    let stored = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(stored["properties"]["status"], "resolved");
    assert_eq!(
        stored["properties"]["history"].as_array().map(Vec::len),
        Some(4),
        "{stored}"
    );
    let rates = app.get_json("/v1/complaints/rates").await;
    assert_eq!(rates["valid_callbacks"], 0);
    assert_eq!(rates["unreached_callbacks"], 0);
    // An unreached call-back records the attempt and changes nothing else.
    let tried = step(
        &app,
        &operator,
        id,
        "callback",
        json!({"reached": false, "attempts": 3}),
    )
    .await;
    assert_eq!(tried["properties"]["status"], "resolved");
    assert_eq!(
        app.get_json("/v1/complaints/rates").await["unreached_callbacks"],
        1
    );
    for q in [
        "unit=Bad!",
        "from=yesterday",
        "district=atlantis",
        "colour=1",
    ] {
        assert_problem(app.get(&format!("/v1/complaints/rates?{q}")).await, 400, q).await;
    }
}

#[tokio::test]
async fn racing_steps_on_one_case_leave_one_winner() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let other = app.token(Role::Operator, None).await;
    let mut case = phone_case(
        "RACE-1",
        "illegal_construction",
        "钟楼湾胡同11号",
        "13400000000",
    );
    case["properties"]["description"] = json!("A shed across the lane");
    let id = app.file_complaint(&operator, &case).await["id"]
        .as_i64()
        .expect("id");
    // Two operators dispatch the same case to two units at once.
    let path = format!("/v1/complaints/{id}/dispatch");
    let (to_street, to_city) = (
        json!({"unit": "dongcheng-jiaodaokou-street"}),
        json!({"unit": "dongcheng-city-management"}),
    );
    let (a, b) = tokio::join!(
        app.post_json(&path, &operator, &to_street),
        app.post_json(&path, &other, &to_city),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "one dispatch wins");
    let stored = app.get_json(&format!("/v1/complaints/{id}")).await;
    let history = stored["properties"]["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "intake and one dispatch: {history:?}");
    // The unit the winner chose is the one the case is with.
    let unit = stored["properties"]["unit"]
        .as_str()
        .expect("unit")
        .to_string();
    assert_eq!(history[1]["unit"], unit.as_str());
    // The winning unit accepts while an operator tries a second dispatch.
    let winner = app.unit_token(&unit).await;
    let (accept_path, empty) = (format!("/v1/complaints/{id}/accept"), json!({}));
    let (accept, again) = tokio::join!(
        app.post_json(&accept_path, &winner, &empty),
        app.post_json(&path, &operator, &to_city),
    );
    assert_eq!(accept.status(), 200);
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn an_open311_request_with_only_an_address_is_located_by_it() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let created = app
        .post_open311(&[
            ("api_key", &operator),
            ("service_code", "water_pooling"),
            ("description", "Water stands by the gate"),
            ("address_string", "钟楼湾胡同1号"),
        ])
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("JSON");
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    let request = app
        .get_json(&format!("/open311/v2/requests/{id}.json"))
        .await;
    assert!(request[0]["lat"].is_number(), "{request}");
    assert_eq!(request[0]["address"], "钟楼湾胡同1号");
    let case = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(case["properties"]["located_by"], "address_house");
    for (form, what) in [
        (
            vec![("service_code", "water_pooling")],
            "neither a location nor an address",
        ),
        (
            vec![("service_code", "water_pooling"), ("lat", "39.94")],
            "lat without long",
        ),
    ] {
        let mut form = form;
        form.push(("api_key", &operator));
        let response = app.post_open311(&form).await;
        assert_eq!(response.status(), 400, "{what}");
    }
}

#[tokio::test]
async fn what_the_caller_said_is_for_operators_and_scopes_hold_on_every_step() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let admin = app.token(Role::Admin, None).await;
    let changping_operator = app
        .token(Role::Operator, Some(hutong::domain::District::Changping))
        .await;
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    let mut case = phone_case(
        "SAID-1",
        "illegal_construction",
        "钟楼湾胡同13号",
        "13300000000",
    );
    case["properties"]["description"] = json!("A shed across the lane");
    let id = app.file_complaint(&operator, &case).await["id"]
        .as_i64()
        .expect("id");
    resolved_by_the_street_office(&app, &operator, &street, id).await;
    step(
        &app,
        &operator,
        id,
        "callback",
        json!({"reached": true, "unit_contacted": true, "solved": false,
               "satisfaction": "unsatisfied", "comment": "caller 13300000000 says it is back"}),
    )
    .await;
    // Anonymous readers see the step, not what the caller said.
    let public = app
        .get(&format!("/v1/complaints/{id}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(!public.contains("13300000000"), "{public}");
    assert!(!public.contains("unsatisfied"), "{public}");
    assert!(public.contains("\"reopened\""));
    let seen = app
        .get_json_as(&operator, &format!("/v1/complaints/{id}"))
        .await
        .to_string();
    assert!(seen.contains("says it is back"));

    // Twenty admins marking it at once: one mark.
    let path = format!("/v1/complaints/{id}/not-assessable");
    let mut racing = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (client, url, admin) = (app.client.clone(), app.url(&path), admin.clone());
        racing.spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({"reason": format!("r{i}")}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let mut ok = 0;
    while let Some(status) = racing.join_next().await {
        if status.unwrap_or(0) == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "one mark wins");
    let history = app.get_json(&format!("/v1/complaints/{id}")).await["properties"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["action"] == "not_assessable")
        .count();
    assert_eq!(history, 1);
    // Why it was kept out (and who approved) is for operators, as the
    // history's note is: anonymous readers see only that it was.
    for path in [
        format!("/v1/complaints/{id}"),
        format!("/collections/complaints/items/{id}"),
        "/v1/complaints?limit=1000".to_string(),
    ] {
        let public = app.get(&path).await.text().await.expect("body");
        for i in 0..20 {
            assert!(!public.contains(&format!("\"r{i}\"")), "{path}: {public}");
        }
        assert!(!public.contains("approved_by_token"), "{path}");
    }
    let operator_view = app
        .get_json_as(&operator, &format!("/v1/complaints/{id}"))
        .await;
    assert!(
        operator_view["properties"]["not_assessable"]["reason"].is_string(),
        "{operator_view}"
    );
    let public = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(public["properties"]["not_assessable"], true, "{public}");

    // A Changping operator cannot move a case into Dongcheng by placing it.
    let lost = app
        .file_complaint(
            &changping_operator,
            &phone_case("SAID-2", "other", "火星路1号", "13300000001"),
        )
        .await;
    let lost_id = lost["id"].as_i64().expect("id");
    assert_problem(
        app.post_json(
            &format!("/v1/complaints/{lost_id}/location"),
            &changping_operator,
            &json!({"type": "Point", "coordinates": [116.3940, 39.9435]}),
        )
        .await,
        403,
        "placing into another district",
    )
    .await;
}

#[tokio::test]
async fn placing_a_case_races_safely_and_never_strands_it_with_a_unit() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let admin = app.token(Role::Admin, None).await;
    // Two operators place the same unlocated case at once: one wins, the
    // other is told the case changed under it.
    let lost = app
        .file_complaint(
            &operator,
            &phone_case("PLACE-1", "other", "火星路1号", "13300000002"),
        )
        .await;
    let lost_id = lost["id"].as_i64().expect("id");
    assert_eq!(lost["properties"]["located_by"], "unlocated");
    let path = format!("/v1/complaints/{lost_id}/location");
    let mut racing = tokio::task::JoinSet::new();
    for (i, token) in [operator.clone(), admin.clone()].into_iter().enumerate() {
        let (client, url) = (app.client.clone(), app.url(&path));
        racing.spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"type": "Point", "coordinates": [116.3950588 + i as f64 * 1e-4, 39.9427243]}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap_or(0));
    }
    statuses.sort_unstable();
    assert!(
        statuses == [200, 409] || statuses == [200, 200],
        "{statuses:?}"
    );
    let placed = app
        .get_json_as(&operator, &format!("/v1/complaints/{lost_id}"))
        .await;
    let located = placed["properties"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["action"] == "located")
        .count();
    // Never two placements of one unlocated state.
    assert_eq!(located, 1, "{placed}");

    // A case with a street office cannot be moved into another district
    // while the office has it: it would sit with a unit that does not
    // work there.
    let with_unit = app
        .file_complaint(
            &operator,
            &phone_case(
                "PLACE-2",
                "illegal_construction",
                "钟楼湾胡同13号",
                "13300000003",
            ),
        )
        .await;
    let with_unit_id = with_unit["id"].as_i64().expect("id");
    step(
        &app,
        &operator,
        with_unit_id,
        "dispatch",
        json!({"unit": "dongcheng-jiaodaokou-street"}),
    )
    .await;
    let before = app
        .get_json_as(&operator, &format!("/v1/complaints/{with_unit_id}"))
        .await;
    assert_problem(
        app.post_json(
            &format!("/v1/complaints/{with_unit_id}/location"),
            &admin,
            &json!({"type": "Point", "coordinates": [116.3300, 40.0700]}),
        )
        .await,
        409,
        "placing a dispatched case in another district",
    )
    .await;
    let after = app
        .get_json_as(&operator, &format!("/v1/complaints/{with_unit_id}"))
        .await;
    assert_eq!(after["geometry"], before["geometry"]);
    assert_eq!(after["properties"]["district"], "dongcheng");
}

#[tokio::test]
async fn cases_stored_before_caller_hashes_are_found_after_a_restart() {
    let app = spawn_on(tempfile::TempDir::new().expect("tempdir"), true).await;
    let operator = app.token(Role::Operator, None).await;
    let case = app
        .file_complaint(
            &operator,
            &phone_case("OLD-PHONE", "other", "钟楼湾胡同13号", "13700007777"),
        )
        .await;
    let id = case["id"].as_i64().expect("id");
    // As a case stored before the hash column existed (or by a version
    // that did not fill it), and one whose data was erased.
    run_sql(
        &app,
        &format!("UPDATE complaints SET caller_phone_hash = NULL WHERE id = {id}"),
    )
    .await;
    let ask = |app: &TestApp, token: String| {
        let app_client = app.client.clone();
        let url = app.url("/v1/caller-history");
        async move {
            let answer: Value = app_client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"phone": "137 0000 7777"}))
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            answer
        }
    };
    assert_eq!(ask(&app, operator.clone()).await["numberReturned"], 0);
    let dir = app.stop().await;
    let app = spawn_on(dir, false).await;
    let history = ask(&app, operator).await;
    assert_eq!(history["numberReturned"], 1, "{history}");
    assert_eq!(history["features"][0]["id"], id);
}
