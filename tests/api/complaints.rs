//! `/v1/complaints` over HTTP: intake, coordinates, personal data,
//! lifecycle, duplicates, links on the demo, relinking, bad input.

use crate::helpers::*;
use hutong::domain::Role;
use serde_json::{Value, json};

fn complaint(case: &str, category: &str, lon: f64, lat: f64, extra: Value) -> Value {
    let mut properties = json!({
        "case_number": case, "channel": "phone", "category": category,
        "description": "Reported by a resident", "district": "dongcheng",
        "reported_at": "2024-10-18T09:12:00+08:00",
        "caller_name": "Wang Fang", "caller_phone": "13912345678"});
    if let (Some(p), Value::Object(more)) = (properties.as_object_mut(), extra) {
        p.extend(more);
    }
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties})
}

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post_complaint(token, body).await
}

async fn file(app: &TestApp, token: &str, body: &Value) -> Value {
    app.file_complaint(token, body).await
}

async fn complaint_count(app: &TestApp) -> u64 {
    app.get_json("/v1/complaints?limit=1").await["numberMatched"]
        .as_u64()
        .expect("count")
}

/// Local east/north metres of the demo's Zhonglouwan layout (see
/// fixtures/make_demo.py), to WGS 84.
fn zhonglouwan(x: f64, y: f64) -> (f64, f64) {
    let lat0: f64 = 39.94270;
    (
        116.39205 + x / (111_320.0 * lat0.to_radians().cos()),
        lat0 + y / 111_035.0,
    )
}

fn huilongguan(x: f64, y: f64) -> (f64, f64) {
    let lat0: f64 = 40.0680;
    (
        116.3280 + x / (111_320.0 * lat0.to_radians().cos()),
        lat0 + y / 111_035.0,
    )
}

/// Ids of the demo's point assets of a kind at these local positions
/// (within 1 m).
async fn points_at(
    app: &TestApp,
    kind: &str,
    frame: fn(f64, f64) -> (f64, f64),
    positions: &[(f64, f64)],
) -> Vec<i64> {
    let all = app
        .get_json(&format!("/v1/assets?kind={kind}&limit=10000"))
        .await;
    positions
        .iter()
        .map(|&(x, y)| {
            let (lon, lat) = frame(x, y);
            all["features"]
                .as_array()
                .expect("features")
                .iter()
                .find(|f| {
                    let c = &f["geometry"]["coordinates"];
                    let dx = (c[0].as_f64().unwrap_or_default() - lon) * 85_354.0;
                    let dy = (c[1].as_f64().unwrap_or_default() - lat) * 111_035.0;
                    dx.hypot(dy) < 1.0
                })
                .unwrap_or_else(|| panic!("no {kind} at {x}, {y}"))["id"]
                .as_i64()
                .expect("id")
        })
        .collect()
}

async fn id_named(app: &TestApp, kind: &str, name: &str, courtyard: Option<i64>) -> i64 {
    let all = app
        .get_json(&format!("/v1/assets?kind={kind}&limit=10000"))
        .await;
    all["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| {
            f["properties"]["name"] == name
                && courtyard.is_none_or(|c| f["properties"]["courtyard_id"] == c)
        })
        .unwrap_or_else(|| panic!("no {kind} named {name}"))["id"]
        .as_i64()
        .expect("id")
}

async fn linked(app: &TestApp, id: &Value) -> (Vec<i64>, Vec<String>) {
    let body = app.get_json(&format!("/v1/complaints/{id}/links")).await;
    let mut ids: Vec<i64> = body["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| l["asset_id"].as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    let flags = body["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f.as_str().unwrap_or_default().to_string())
        .collect();
    (ids, flags)
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn intake_is_idempotent_and_converts_chinese_coordinates() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    // The Bell Tower area as AMap (GCJ-02) shows it; prcoords gives WGS 84 116.3951, 39.9412.
    let sent = complaint(
        "BJ12345-1",
        "water_pooling",
        116.401_347_093_573_08,
        39.942_604_191_332_656,
        json!({"coord_sys": "gcj02"}),
    );
    let response = post(&app, &operator, &sent).await;
    assert_eq!(response.status(), 201);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .starts_with("/v1/complaints/")
    );
    let created: Value = response.json().await.expect("json");
    let c = &created["geometry"]["coordinates"];
    let dx = (c[0].as_f64().expect("lon") - 116.3951) * 85_354.0;
    let dy = (c[1].as_f64().expect("lat") - 39.9412) * 111_035.0;
    assert!(dx.hypot(dy) < 0.5, "GCJ-02 converted {dx}, {dy} m off");
    assert_eq!(
        created["properties"]["raw_coordinates"],
        json!([116.401_347_093_573_08, 39.942_604_191_332_656])
    );
    assert_eq!(created["properties"]["coord_sys"], "gcj02");
    assert_eq!(created["properties"]["status"], "received");
    assert_eq!(
        created["properties"]["reported_at"],
        "2024-10-18T01:12:00.000Z"
    );

    // The same case again, even with other content: 200, the stored one, nothing changes.
    let mut again = sent.clone();
    again["properties"]["description"] = json!("something else");
    let response = post(&app, &operator, &again).await;
    assert_eq!(response.status(), 200);
    let existing: Value = response.json().await.expect("json");
    assert_eq!(existing["id"], created["id"]);
    assert_eq!(
        existing["properties"]["description"],
        "Reported by a resident"
    );
    assert_eq!(complaint_count(&app).await, 1);

    // BD-09 (Baidu) too.
    let baidu = file(
        &app,
        &operator,
        &complaint(
            "BJ12345-2",
            "dark_lane",
            116.407_712_618_191_9,
            39.948_947_398_552_1,
            json!({"coord_sys": "bd09"}),
        ),
    )
    .await;
    let c = &baidu["geometry"]["coordinates"];
    let dx = (c[0].as_f64().expect("lon") - 116.3951) * 85_354.0;
    let dy = (c[1].as_f64().expect("lat") - 39.9412) * 111_035.0;
    assert!(dx.hypot(dy) < 0.5, "BD-09 converted {dx}, {dy} m off");
}

#[tokio::test]
async fn personal_data_reaches_only_operators_and_admins() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let created = file(
        &app,
        &operator,
        &complaint("PD-1", "broken_light", 116.3951, 39.9412, json!({})),
    )
    .await;
    assert_eq!(created["properties"]["caller_phone"], "13912345678");
    let path = format!("/v1/complaints/{}", created["id"]);
    let mut viewers: Vec<(Option<String>, bool)> = vec![(None, false)];
    for (role, sees) in [
        (Role::Operator, true),
        (Role::Admin, true),
        (Role::Planner, false),
        (Role::Designer, false),
        (Role::Crew, false),
    ] {
        viewers.push((Some(app.token(role, None).await), sees));
    }
    // Whole on a single case; masked in a list; nothing for the others.
    for (token, sees) in viewers {
        for (url, single) in [
            (path.clone(), true),
            ("/v1/complaints?limit=10".to_string(), false),
        ] {
            let mut request = app.client.get(app.url(&url));
            if let Some(t) = &token {
                request = request.bearer_auth(t);
            }
            let text = request
                .send()
                .await
                .expect("sent")
                .text()
                .await
                .expect("body");
            let whole = sees && single;
            let masked = sees && !single;
            assert_eq!(text.contains("13912345678"), whole, "{url} as {token:?}");
            assert_eq!(text.contains("Wang Fang"), whole, "{url} as {token:?}");
            assert_eq!(text.contains("139****5678"), masked, "{url} as {token:?}");
            assert_eq!(text.contains("\"W*\""), masked, "{url} as {token:?}");
            assert_eq!(text.contains("caller_phone"), sees, "{url} as {token:?}");
        }
    }
}

#[tokio::test]
async fn the_lifecycle_is_enforced_and_recorded() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let crew = app.token(Role::Crew, None).await;
    let planner = app.token(Role::Planner, None).await;
    let created = file(
        &app,
        &operator,
        &complaint("LC-1", "drainage_blockage", 116.3951, 39.9412, json!({})),
    )
    .await;
    let path = format!("/v1/complaints/{}/transitions", created["id"]);
    let step = |token: &str, body: Value| {
        app.client
            .post(app.url(&path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    assert_problem(
        step(&operator, json!({"to": "closed"}))
            .await
            .expect("sent"),
        409,
        "received -> closed",
    )
    .await;
    assert_problem(
        step(&crew, json!({"to": "dispatched"}))
            .await
            .expect("sent"),
        403,
        "crew dispatches",
    )
    .await;
    assert_problem(
        step(&planner, json!({"to": "dispatched"}))
            .await
            .expect("sent"),
        403,
        "planner dispatches",
    )
    .await;
    assert_problem(
        step(&operator, json!({"to": "done"})).await.expect("sent"),
        422,
        "unknown status",
    )
    .await;
    assert_problem(
        step(&operator, json!({"to": "dispatched", "colour": 1}))
            .await
            .expect("sent"),
        422,
        "unknown member",
    )
    .await;
    assert_problem(
        app.client
            .post(app.url(&path))
            .json(&json!({"to": "dispatched"}))
            .send()
            .await
            .expect("sent"),
        401,
        "anonymous",
    )
    .await;

    // Moving to dispatched takes a unit: the dispatch step.
    assert_problem(
        step(
            &operator,
            json!({"to": "dispatched", "note": "to the street office"}),
        )
        .await
        .expect("sent"),
        409,
        "dispatched without a unit",
    )
    .await;
    let dispatched = app
        .post_json(
            &format!("/v1/complaints/{}/dispatch", created["id"]),
            &operator,
            &json!({"unit": "dongcheng-jiaodaokou-street", "note": "sent to the Jiaodaokou street office"}),
        )
        .await;
    assert_eq!(dispatched.status(), 200);
    // The unit accepts; a crew or an operator may not do it for the unit,
    // nor resolve its case; an operator closes it only by a call-back.
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    assert_problem(
        step(&crew, json!({"to": "in_progress"}))
            .await
            .expect("sent"),
        409,
        "a crew accepting for the unit",
    )
    .await;
    let accepted = app
        .post_json(
            &format!("/v1/complaints/{}/accept", created["id"]),
            &street,
            &json!({}),
        )
        .await;
    assert_eq!(accepted.status(), 200);
    for token in [&crew, &operator] {
        assert_problem(
            step(token, json!({"to": "resolved", "resolution": "x"}))
                .await
                .expect("sent"),
            403,
            "resolving the unit's case",
        )
        .await;
    }
    let resolved = step(
        &street,
        json!({"to": "resolved", "resolution": "gully cleared"}),
    )
    .await
    .expect("sent");
    assert_eq!(resolved.status(), 200);
    assert_problem(
        step(&operator, json!({"to": "closed", "satisfaction": 4}))
            .await
            .expect("sent"),
        409,
        "closing without a call-back",
    )
    .await;
    let called = app
        .post_json(
            &format!("/v1/complaints/{}/callback", created["id"]),
            &operator,
            &json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
        )
        .await;
    assert_eq!(called.status(), 200);
    assert_problem(
        step(&operator, json!({"to": "in_progress"}))
            .await
            .expect("sent"),
        409,
        "closed is final",
    )
    .await;
    let done = app
        .get_json(&format!("/v1/complaints/{}", created["id"]))
        .await;
    assert_eq!(done["properties"]["status"], "closed");
    assert_eq!(done["properties"]["resolution"], "gully cleared");
    let history: Vec<(String, String)> = done["properties"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["to"].as_str().unwrap_or_default().to_string(),
                h["by"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("received", "system"),
        ("dispatched", "operator"),
        ("in_progress", "unit"),
        ("resolved", "unit"),
        ("closed", "operator"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(history, expected);
}

#[tokio::test]
async fn demo_complaints_link_to_the_assets_the_rules_name() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;

    // Water pooling in the middle of courtyard Zhonglouwan Hutong No. 1
    // (local 16.5, 21): it contains the point; drains within 50 m are the
    // inlet at (20, 0.6) 20.7 m, the manhole at (-4, 0) 29.4 m and the
    // inlet at (60, 0.8) 48.0 m; the next, (20, 78.6), is 57.7 m away.
    let (lon, lat) = zhonglouwan(16.5, 21.0);
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-1", "water_pooling", lon, lat, json!({})),
    )
    .await;
    let mut want = points_at(
        &app,
        "drainage",
        zhonglouwan,
        &[
            (20.0, 0.5 + 0.8 * 20.0 / 180.0),
            (-4.0, 0.0),
            (60.0, 0.5 + 0.8 * 60.0 / 180.0),
        ],
    )
    .await;
    let courtyard_1 = id_named(&app, "courtyard", "Zhonglouwan Hutong No. 1", None).await;
    want.push(courtyard_1);
    assert_eq!(linked(&app, &c["id"]).await, (sorted(want), vec![]));

    // A broken light on Zhonglouwan Hutong at local x 87: the wall lights
    // at x 72 and 102 are 15.2 m away; the next (42, 132) are 45 m.
    let (lon, lat) = zhonglouwan(87.0, 0.8 * 87.0 / 180.0);
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-2", "broken_light", lon, lat, json!({})),
    )
    .await;
    let want = points_at(
        &app,
        "light",
        zhonglouwan,
        &[
            (72.0, 2.6 + 0.8 * 72.0 / 180.0),
            (102.0, -2.6 + 0.8 * 102.0 / 180.0),
        ],
    )
    .await;
    assert_eq!(linked(&app, &c["id"]).await, (sorted(want), vec![]));

    // The dark east half of Zhangwang Hutong (y 78) at x 300: the faulty
    // light at 282 (18.2 m) and the one off at 312 (12.3 m).
    let (lon, lat) = zhonglouwan(300.0, 78.0 + 0.8 * 60.0 / 180.0);
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-3", "dark_lane", lon, lat, json!({})),
    )
    .await;
    let want = points_at(
        &app,
        "light",
        zhonglouwan,
        &[
            (282.0, 78.0 - 2.6 + 0.8 * 78.0 / 180.0),
            (312.0, 78.0 + 2.6 + 0.8 * 48.0 / 180.0),
        ],
    )
    .await;
    assert_eq!(linked(&app, &c["id"]).await, (sorted(want), vec![]));

    // E-bike charging in the middle of the block: both chargers, (-9, 20)
    // at 198 m and (369, 219) at 236 m, are within 300 m.
    let (lon, lat) = zhonglouwan(180.0, 78.0);
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-4", "ebike_charging", lon, lat, json!({})),
    )
    .await;
    let want = points_at(
        &app,
        "charger",
        zhonglouwan,
        &[(-9.0, 20.0), (369.0, 219.0)],
    )
    .await;
    assert_eq!(linked(&app, &c["id"]).await, (sorted(want), vec![]));

    // E-bike charging by Tiananmen, where the demo has no chargers at all.
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-5", "ebike_charging", 116.3975, 39.9087, json!({})),
    )
    .await;
    assert_eq!(
        linked(&app, &c["id"]).await,
        (vec![], vec!["no_charger_nearby".to_string()])
    );

    // Elevator installation inside Longze Garden block 1 (15..50, 15..29).
    let (lon, lat) = huilongguan(30.0, 20.0);
    let c = file(
        &app,
        &operator,
        &complaint(
            "DEMO-6",
            "elevator_installation",
            lon,
            lat,
            json!({"district": "changping"}),
        ),
    )
    .await;
    let block_1 = id_named(&app, "building", "Longze Garden block 1", None).await;
    assert_eq!(linked(&app, &c["id"]).await, (vec![block_1], vec![]));

    // A leak reported from the yard at (40, 40): no building contains it;
    // the nearest within 20 m is block 1, 11 m south (block 2 is 20 m north).
    let (lon, lat) = huilongguan(40.0, 40.0);
    let c = file(
        &app,
        &operator,
        &complaint(
            "DEMO-7",
            "housing_leak",
            lon,
            lat,
            json!({"district": "changping"}),
        ),
    )
    .await;
    assert_eq!(linked(&app, &c["id"]).await, (vec![block_1], vec![]));

    // Illegal construction: the shed in the yard of Zhonglouwan Hutong No. 7
    // (courtyard 92..121 × 3..39, shed centred at 106.5, 21).
    let (lon, lat) = zhonglouwan(106.5, 21.0);
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-8", "illegal_construction", lon, lat, json!({})),
    )
    .await;
    let no_7 = id_named(&app, "courtyard", "Zhonglouwan Hutong No. 7", None).await;
    let shed = id_named(&app, "building", "yard shed", Some(no_7)).await;
    assert_eq!(linked(&app, &c["id"]).await, (vec![shed], vec![]));

    // Property certificate: the courtyard containing the point.
    let (lon, lat) = zhonglouwan(16.5, 21.0);
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-9", "property_certificate", lon, lat, json!({})),
    )
    .await;
    assert_eq!(linked(&app, &c["id"]).await, (vec![courtyard_1], vec![]));

    // A category without rules links to nothing.
    let c = file(
        &app,
        &operator,
        &complaint("DEMO-10", "elderly_services", lon, lat, json!({})),
    )
    .await;
    assert_eq!(linked(&app, &c["id"]).await, (vec![], vec![]));
}

#[tokio::test]
async fn links_follow_assets_that_are_added_moved_and_removed() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let planner = app.token(Role::Planner, None).await;
    let c = file(
        &app,
        &operator,
        &complaint("RL-1", "ebike_charging", 116.3951, 39.9412, json!({})),
    )
    .await;
    assert_eq!(
        linked(&app, &c["id"]).await,
        (vec![], vec!["no_charger_nearby".to_string()])
    );

    // A charger 100 m east: linked, and the shortage flag is gone.
    let charger = app
        .create(
            &planner,
            &point_feature("charger", 116.39627, 39.9412, json!({"ports": 10})),
        )
        .await;
    let charger_id = charger["id"].as_i64().expect("id");
    assert_eq!(linked(&app, &c["id"]).await, (vec![charger_id], vec![]));
    let links = app
        .get_json(&format!("/v1/complaints/{}/links", c["id"]))
        .await;
    let d = links["links"][0]["distance_m"].as_f64().expect("distance");
    assert!((d - 100.0).abs() < 1.0, "{d}");
    assert_eq!(links["links"][0]["kind"], "charger");

    // Moved 1 km away: unlinked again.
    let response = app
        .client
        .patch(app.url(&format!("/v1/assets/{charger_id}")))
        .bearer_auth(&planner)
        .json(&json!({"geometry": {"type": "Point", "coordinates": [116.4068, 39.9412]}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(
        linked(&app, &c["id"]).await,
        (vec![], vec!["no_charger_nearby".to_string()])
    );

    // Back, then deleted.
    let response = app
        .client
        .patch(app.url(&format!("/v1/assets/{charger_id}")))
        .bearer_auth(&planner)
        .json(&json!({"geometry": {"type": "Point", "coordinates": [116.3953, 39.9412]}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(linked(&app, &c["id"]).await.0, vec![charger_id]);
    let response = app
        .client
        .delete(app.url(&format!("/v1/assets/{charger_id}")))
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 204);
    assert_eq!(
        linked(&app, &c["id"]).await,
        (vec![], vec!["no_charger_nearby".to_string()])
    );
}

#[tokio::test]
async fn duplicates_are_suggested_marked_and_not_double_counted() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let crew = app.token(Role::Crew, None).await;
    let first = file(
        &app,
        &operator,
        &complaint("DUP-1", "water_pooling", 116.3951, 39.9412, json!({})),
    )
    .await;
    // 10 m away, two days later: suggested.
    let second = file(
        &app,
        &operator,
        &complaint(
            "DUP-2",
            "water_pooling",
            116.3951,
            39.94129,
            json!({"reported_at": "2024-10-20T10:00:00+08:00"}),
        ),
    )
    .await;
    assert_eq!(
        second["properties"]["suggested_duplicates"],
        json!([first["id"]])
    );
    // Another category at the same place, or 200 m away, or 40 days later: not suggested.
    for (case, category, lat, at) in [
        (
            "DUP-3",
            "broken_light",
            39.94129,
            "2024-10-20T10:00:00+08:00",
        ),
        (
            "DUP-4",
            "water_pooling",
            39.9430,
            "2024-10-20T10:00:00+08:00",
        ),
        (
            "DUP-5",
            "water_pooling",
            39.94125,
            "2024-11-28T10:00:00+08:00",
        ),
    ] {
        let other = file(
            &app,
            &operator,
            &complaint(case, category, 116.3951, lat, json!({"reported_at": at})),
        )
        .await;
        assert_eq!(
            other["properties"]["suggested_duplicates"],
            json!([]),
            "{case}"
        );
    }

    let mark = |token: &str, id: &Value, body: Value| {
        app.client
            .patch(app.url(&format!("/v1/complaints/{id}")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_problem(
        mark(&crew, &second["id"], json!({"duplicate_of": first["id"]}))
            .await
            .expect("sent"),
        403,
        "crew marks",
    )
    .await;
    assert_problem(
        mark(
            &operator,
            &second["id"],
            json!({"duplicate_of": second["id"]}),
        )
        .await
        .expect("sent"),
        422,
        "self",
    )
    .await;
    assert_problem(
        mark(&operator, &second["id"], json!({"duplicate_of": 99999}))
            .await
            .expect("sent"),
        422,
        "missing",
    )
    .await;
    assert_problem(
        mark(&operator, &second["id"], json!({"status": "closed"}))
            .await
            .expect("sent"),
        422,
        "other member",
    )
    .await;
    let response = mark(
        &operator,
        &second["id"],
        json!({"duplicate_of": first["id"]}),
    )
    .await
    .expect("sent");
    assert_eq!(response.status(), 200);
    let marked: Value = response.json().await.expect("json");
    assert_eq!(marked["properties"]["duplicate_of"], first["id"]);

    let stats = app
        .get_json("/v1/complaints/stats?category=water_pooling")
        .await;
    assert_eq!(stats["total"], 3, "{stats}");
    assert_eq!(stats["duplicates_excluded"], 1, "{stats}");
    assert_eq!(stats["by_status"]["received"], 3, "{stats}");
}

#[tokio::test]
async fn listing_filters_complaints() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    file(
        &app,
        &operator,
        &complaint(
            "F-1",
            "water_pooling",
            116.3951,
            39.9412,
            json!({"reported_at": "2024-07-01T08:00:00+08:00"}),
        ),
    )
    .await;
    file(
        &app,
        &operator,
        &complaint(
            "F-2",
            "dark_lane",
            116.3952,
            39.9413,
            json!({"reported_at": "2024-08-01T08:00:00+08:00"}),
        ),
    )
    .await;
    file(
        &app,
        &operator,
        &complaint(
            "F-3",
            "dark_lane",
            116.3300,
            40.0700,
            json!({"district": "changping", "reported_at": "2024-09-01T08:00:00+08:00"}),
        ),
    )
    .await;
    let app = &app;
    let count = |q: &'static str| async move {
        let body = app.get_json(q).await;
        (
            body["numberMatched"].as_u64().expect("matched"),
            body["features"]
                .as_array()
                .map(Vec::len)
                .unwrap_or_default(),
        )
    };
    assert_eq!(count("/v1/complaints").await, (3, 3));
    assert_eq!(count("/v1/complaints?category=dark_lane").await.0, 2);
    assert_eq!(
        count("/v1/complaints?category=dark_lane,water_pooling&district=dongcheng")
            .await
            .0,
        2
    );
    assert_eq!(
        count("/v1/complaints?bbox=116.39,39.94,116.40,39.95")
            .await
            .0,
        2
    );
    assert_eq!(
        count("/v1/complaints?from=2024-07-15T00:00:00Z&to=2024-08-15T00:00:00Z")
            .await
            .0,
        1
    );
    assert_eq!(count("/v1/complaints?status=received").await.0, 3);
    assert_eq!(count("/v1/complaints?status=closed").await.0, 0);
    assert_eq!(count("/v1/complaints?limit=1&offset=1").await, (3, 1));
    let newest = app.get_json("/v1/complaints?limit=1").await;
    assert_eq!(newest["features"][0]["properties"]["case_number"], "F-3");
}

#[tokio::test]
async fn bad_complaints_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let crew = app.token(Role::Crew, None).await;
    let good = complaint("BAD-0", "water_pooling", 116.3951, 39.9412, json!({}));
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(&str, Option<&str>, Value, u16, &str)> = vec![
        (
            "unknown category",
            Some(&operator),
            with(&|v| v["properties"]["category"] = json!("pothole")),
            422,
            "unknown category",
        ),
        (
            "missing location",
            Some(&operator),
            with(&|v| v["geometry"] = Value::Null),
            422,
            "Point",
        ),
        (
            "lat 95",
            Some(&operator),
            with(&|v| v["geometry"]["coordinates"] = json!([116.39, 95.0])),
            422,
            "latitude 95",
        ),
        (
            "gcj02 in Paris",
            Some(&operator),
            with(&|v| {
                v["geometry"]["coordinates"] = json!([2.3522, 48.8566]);
                v["properties"]["coord_sys"] = json!("gcj02");
            }),
            422,
            "mainland China",
        ),
        (
            "bd09 in New York",
            Some(&operator),
            with(&|v| {
                v["geometry"]["coordinates"] = json!([-74.0, 40.7]);
                v["properties"]["coord_sys"] = json!("bd09");
            }),
            422,
            "mainland China",
        ),
        (
            "unknown coord_sys",
            Some(&operator),
            with(&|v| v["properties"]["coord_sys"] = json!("utm50")),
            422,
            "coord_sys",
        ),
        (
            "5,000-character description",
            Some(&operator),
            with(&|v| v["properties"]["description"] = json!("漏".repeat(5_000))),
            422,
            "at most 2000",
        ),
        (
            "empty description",
            Some(&operator),
            with(&|v| v["properties"]["description"] = json!("  ")),
            422,
            "blank",
        ),
        (
            "no case number",
            Some(&operator),
            with(&|v| {
                v["properties"]
                    .as_object_mut()
                    .map(|p| p.remove("case_number"));
            }),
            422,
            "required",
        ),
        (
            "hostile case number",
            Some(&operator),
            with(&|v| v["properties"]["case_number"] = json!("1'; DROP TABLE complaints;--")),
            422,
            "case number",
        ),
        (
            "unknown channel",
            Some(&operator),
            with(&|v| v["properties"]["channel"] = json!("fax")),
            422,
            "unknown channel",
        ),
        (
            "unknown property",
            Some(&operator),
            with(&|v| v["properties"]["priority"] = json!("high")),
            422,
            "unknown property",
        ),
        (
            "bad time",
            Some(&operator),
            with(&|v| v["properties"]["reported_at"] = json!("yesterday")),
            422,
            "RFC 3339",
        ),
        (
            "future time",
            Some(&operator),
            with(&|v| v["properties"]["reported_at"] = json!("2999-01-01T00:00:00Z")),
            422,
            "future",
        ),
        (
            "bad phone",
            Some(&operator),
            with(&|v| v["properties"]["caller_phone"] = json!("call me maybe")),
            422,
            "phone",
        ),
        (
            "polygon location",
            Some(&operator),
            with(
                &|v| v["geometry"] = json!({"type": "Polygon", "coordinates": [[[116.39, 39.94], [116.40, 39.94], [116.40, 39.95], [116.39, 39.94]]]}),
            ),
            422,
            "Point",
        ),
        ("no token", None, good.clone(), 401, "token"),
        ("crew token", Some(&crew), good.clone(), 403, "crew"),
    ];
    for (name, token, body, status, says) in cases {
        let mut request = app.client.post(app.url("/v1/complaints")).json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let problem = assert_problem(request.send().await.expect("sent"), status, name).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{name}: {problem}"
        );
        assert_eq!(complaint_count(&app).await, 0, "{name} stored something");
    }
    for (query, says) in [
        ("/v1/complaints?category=pothole", "category"),
        ("/v1/complaints?status=open", "status"),
        ("/v1/complaints?from=last-week", "from"),
        (
            "/v1/complaints?from=2024-09-01T00:00:00Z&to=2024-08-01T00:00:00Z",
            "later",
        ),
        ("/v1/complaints?district=gotham", "district"),
        ("/v1/complaints?limit=0", "limit"),
        ("/v1/complaints?bbox=1,2,3", "bbox"),
        ("/v1/complaints?colour=red", "colour"),
        ("/v1/complaints/abc", "complaint id"),
        ("/v1/complaints/stats?limit=5", "limit"),
    ] {
        let problem = assert_problem(app.get(query).await, 400, query).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{query}: {problem}"
        );
    }
    assert_problem(app.get("/v1/complaints/12345").await, 404, "missing").await;
    assert_problem(
        app.get("/v1/complaints/12345/links").await,
        404,
        "missing links",
    )
    .await;
}

#[tokio::test]
async fn the_demo_brings_its_hotline_cases_linked() {
    let app = spawn_demo().await;
    let stats = app.get_json("/v1/complaints/stats").await;
    assert_eq!(stats["total"], 300, "{stats}");
    // Every case of these categories finds what its rule looks for.
    for (category, district, kind) in [
        ("dark_lane", "dongcheng", "light"),
        ("water_pooling", "dongcheng", "drainage"),
        ("ebike_charging", "dongcheng", "charger"),
        ("elevator_installation", "changping", "building"),
        ("housing_leak", "dongcheng", "building"),
    ] {
        let listed = app
            .get_json(&format!(
                "/v1/complaints?category={category}&district={district}&limit=1000"
            ))
            .await;
        let features = listed["features"].as_array().expect("features");
        assert!(!features.is_empty(), "no demo {category} in {district}");
        for f in features {
            let links = app
                .get_json(&format!("/v1/complaints/{}/links", f["id"]))
                .await;
            let kinds: Vec<&str> = links["links"]
                .as_array()
                .expect("links")
                .iter()
                .filter_map(|l| l["kind"].as_str())
                .collect();
            assert!(
                kinds.contains(&kind),
                "{category} {} links {kinds:?}",
                f["id"]
            );
        }
        // The public listing carries no personal data.
        assert!(!listed.to_string().contains("caller_phone"));
    }
}

/// Keyset pages (after the last one seen) walk the same complaints in
/// the same order as offset pages, ties in report time included.
#[tokio::test]
async fn keyset_pages_walk_what_offset_pages_walk() {
    use hutong::domain::ComplaintFilter;
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    for i in 0..23 {
        // Three complaints share each report time.
        let at = format!("2024-10-18T09:{:02}:00+08:00", i / 3);
        file(
            &app,
            &operator,
            &complaint(
                &format!("KEYSET-{i}"),
                "dark_lane",
                116.3951 + f64::from(i) * 1e-5,
                39.9412,
                json!({"reported_at": at}),
            ),
        )
        .await;
    }
    let store = hutong::store::open(&app.db_url).await.expect("store");
    let bbox = hutong::spatial::LonLatBox::parse("116.39,39.94,116.40,39.95").expect("box");
    for bbox in [None, Some(bbox)] {
        let (all, matched) = store
            .list_complaints(&ComplaintFilter {
                bbox,
                limit: 100,
                ..ComplaintFilter::default()
            })
            .await
            .expect("listed");
        assert_eq!(matched, 23);
        let mut walked = Vec::new();
        let mut filter = ComplaintFilter {
            bbox,
            limit: 4,
            ..ComplaintFilter::default()
        };
        loop {
            let page = store.complaints_page(&filter).await.expect("page");
            filter.before = page.last().map(|c| (c.draft.reported_at, c.id));
            walked.extend(page.iter().map(|c| c.id));
            if page.len() < 4 {
                break;
            }
        }
        let ids: Vec<_> = all.iter().map(|c| c.id).collect();
        assert_eq!(walked, ids, "bbox {bbox:?}");
    }
}
