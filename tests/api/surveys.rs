//! Designers' surveys over HTTP: a building graded C with poor walls
//! takes the survey's condition and gets a work order; an older survey
//! leaves the condition alone but joins the history; a yard below its
//! lane is found; bad surveys are refused whole; a CSV or GeoJSON batch
//! reports the rows it refused; photos go with a survey.

use crate::helpers::*;
use crate::work_orders::jpeg_taken_at;
use hutong::domain::Role;
use serde_json::{Value, json};

async fn first_of(app: &TestApp, kind: &str) -> i64 {
    let list = app
        .get_json(&format!("/v1/assets?kind={kind}&limit=1"))
        .await;
    list["features"][0]["id"].as_i64().expect("a demo asset")
}

async fn history_len(app: &TestApp, token: &str, asset: i64) -> usize {
    app.get_json_as(token, &format!("/v1/surveys?asset_id={asset}"))
        .await["surveys"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_survey_sets_the_condition_keeps_the_history_and_opens_work() {
    let app = spawn_demo().await;
    let designer = app.token(Role::Designer, None).await;
    let building = first_of(&app, "building").await;

    let r = app
        .post_json(
            "/v1/surveys",
            &designer,
            &json!({"asset_id": building, "conditions": {"roof": 4, "walls": 2, "structure": 3},
                    "danger_grade": "C", "surveyor": "Li Wei", "notes": "cracks in the east gable"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let survey: Value = r.json().await.expect("JSON");
    assert_eq!(survey["condition"], 2, "the worst element: {survey}");
    assert_eq!(survey["asset_condition"], 2);
    assert_eq!(survey["surveyor"], "Li Wei");
    let asset = app.get_json(&format!("/v1/assets/{building}")).await;
    assert_eq!(asset["properties"]["condition"], 2, "{asset}");
    let order_id = survey["work_order_id"]
        .as_i64()
        .expect("a work order was opened");
    let order = app
        .get_json_as(&designer, &format!("/v1/work-orders/{order_id}"))
        .await;
    assert_eq!(order["properties"]["origin"], "survey");
    assert_eq!(order["properties"]["survey_id"], survey["id"]);
    assert_eq!(order["properties"]["asset_id"], building);
    assert_eq!(order["properties"]["priority"], "high", "grade C");
    assert!(
        order["properties"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("danger grade C") && d.contains("walls 2/5")),
        "{order}"
    );

    // An older survey joins the history without changing the condition;
    // a good one opens no work.
    let older = app
        .post_json(
            "/v1/surveys",
            &designer,
            &json!({"asset_id": building, "conditions": {"roof": 5, "walls": 4}, "surveyed_at": "2024-05-01T09:00:00Z"}),
        )
        .await;
    assert_eq!(older.status(), 201);
    let older: Value = older.json().await.expect("JSON");
    assert_eq!(older["work_order_id"], Value::Null);
    assert_eq!(older["surveyor"], "test", "the token's label by default");
    assert_eq!(
        app.get_json(&format!("/v1/assets/{building}")).await["properties"]["condition"],
        2
    );
    let history = app
        .get_json_as(&designer, &format!("/v1/surveys?asset_id={building}"))
        .await;
    let ids: Vec<&Value> = history["surveys"]
        .as_array()
        .expect("surveys")
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, vec![&survey["id"], &older["id"]], "latest first");

    // A yard whose floor sits below its lane.
    let courtyard = first_of(&app, "courtyard").await;
    let yard: Value = app
        .post_json(
            "/v1/surveys",
            &designer,
            &json!({"asset_id": courtyard, "conditions": {"paving": 3, "drainage": 3}, "floor_height_m": 43.45, "lane_height_m": 43.70}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(yard["floor_below_lane"], true, "{yard}");

    // Photos of the survey, for designers and planners.
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(jpeg_taken_at(116.395, 39.941))
            .mime_str("image/jpeg")
            .expect("mime"),
    );
    let r = app
        .client
        .post(app.url(&format!("/v1/surveys/{}/photos", survey["id"])))
        .bearer_auth(&designer)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 201);
    let added: Value = r.json().await.expect("JSON");
    let photo = added["photos"][0].as_i64().expect("photo id");
    let again = app
        .get_json_as(&designer, &format!("/v1/surveys/{}", survey["id"]))
        .await;
    assert_eq!(again["photos"], json!([photo]));
    let crew = app.crew_token("dongcheng-housing-repair-1").await;
    let r = app
        .client
        .get(app.url(&format!("/v1/photos/{photo}")))
        .bearer_auth(&crew)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 403, "a crew reading a survey photo").await;
    let r = app
        .client
        .get(app.url(&format!("/v1/photos/{photo}")))
        .bearer_auth(&designer)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);

    // The trail has the survey.
    let admin = app.token(Role::Admin, None).await;
    let trail = app
        .get_json_as(
            &admin,
            &format!("/v1/audit?entity=survey&id={}", survey["id"]),
        )
        .await;
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(actions, ["photos_added", "created"]);
}

#[tokio::test]
async fn bad_surveys_are_refused_whole_and_store_nothing() {
    let app = spawn_demo().await;
    let designer = app.token(Role::Designer, None).await;
    let building = first_of(&app, "building").await;
    let courtyard = first_of(&app, "courtyard").await;
    let light = first_of(&app, "light").await;
    let condition_before =
        app.get_json(&format!("/v1/assets/{building}")).await["properties"]["condition"].clone();
    for (body, pointer) in [
        (
            json!({"asset_id": building, "conditions": {"roof": 7}}),
            "/conditions/roof",
        ),
        (
            json!({"asset_id": building, "conditions": {"chimney": 3}}),
            "/conditions/chimney",
        ),
        (
            json!({"asset_id": building, "conditions": {}}),
            "/conditions",
        ),
        (
            json!({"asset_id": building, "conditions": {"roof": "3"}}),
            "/conditions/roof",
        ),
        (
            json!({"asset_id": courtyard, "conditions": {"paving": 3}, "danger_grade": "C"}),
            "/danger_grade",
        ),
        (
            json!({"asset_id": building, "conditions": {"roof": 3}, "danger_grade": "E"}),
            "/danger_grade",
        ),
        (
            json!({"asset_id": building, "conditions": {"roof": 3}, "floor_height_m": 40.0}),
            "/floor_height_m",
        ),
        (
            json!({"asset_id": courtyard, "conditions": {"paving": 3}, "lane_height_m": 1e9}),
            "/lane_height_m",
        ),
        (
            json!({"asset_id": building, "conditions": {"roof": 3}, "surveyed_at": "2999-01-01T00:00:00Z"}),
            "/surveyed_at",
        ),
        (
            json!({"asset_id": building, "conditions": {"roof": 3}, "colour": "red"}),
            "/colour",
        ),
        (
            json!({"asset_id": 999_999, "conditions": {"roof": 3}}),
            "/asset_id",
        ),
        (
            json!({"asset_id": light, "conditions": {"lighting": 3}}),
            "/asset_id",
        ),
        (json!({"conditions": {"roof": 3}}), "/asset_id"),
        (
            json!({"asset_id": building, "conditions": {"roof": 3}, "notes": "a\u{202e}b"}),
            "/notes",
        ),
    ] {
        let problem = assert_problem(
            app.post_json("/v1/surveys", &designer, &body).await,
            422,
            &body.to_string(),
        )
        .await;
        assert!(
            problem["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x["pointer"] == pointer)),
            "{body}: {problem}"
        );
    }
    let crew = app.crew_token("dongcheng-housing-repair-1").await;
    assert_problem(
        app.post_json(
            "/v1/surveys",
            &crew,
            &json!({"asset_id": building, "conditions": {"roof": 3}}),
        )
        .await,
        403,
        "a crew",
    )
    .await;
    assert_problem(
        app.post_json("/v1/surveys", "", &json!({})).await,
        401,
        "anonymous",
    )
    .await;
    let scoped = app
        .token(Role::Designer, Some(hutong::domain::District::Changping))
        .await;
    assert_problem(
        app.post_json(
            "/v1/surveys",
            &scoped,
            &json!({"asset_id": building, "conditions": {"roof": 3}}),
        )
        .await,
        403,
        "another district",
    )
    .await;
    assert_eq!(
        history_len(&app, &designer, building).await,
        0,
        "nothing stored"
    );
    let after = app.get_json(&format!("/v1/assets/{building}")).await;
    assert_eq!(
        after["properties"]["condition"], condition_before,
        "the condition is unchanged"
    );
    assert_eq!(
        after["properties"]["version"], 1,
        "the asset is unchanged: {after}"
    );
}

#[tokio::test]
async fn a_batch_of_surveys_reports_the_rows_it_refused() {
    let app = spawn_demo().await;
    let designer = app.token(Role::Designer, None).await;
    let building = first_of(&app, "building").await;
    let courtyard = first_of(&app, "courtyard").await;
    let csv = format!(
        "asset_id,surveyed_at,surveyor,roof,walls,structure,paving,drainage,lighting,danger_grade,floor_height_m,lane_height_m,notes\n\
         {building},2026-11-02T09:00:00Z,Wang,3,3,4,,,,B,,,ok\n\
         {building},,Wang,9,,,,,,,,,bad score\n\
         999999,,Wang,3,,,,,,,,,no such asset\n\
         {courtyard},,Wang,,,,2,1,,,43.1,43.4,\"yard floods, gully blocked\"\n\
         {courtyard},,Wang,,,,abc,,,,,,not a number\n\
         {courtyard},too,few\n"
    );
    let r = app
        .client
        .post(app.url("/v1/surveys/import"))
        .bearer_auth(&designer)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.expect("JSON");
    assert_eq!(report["accepted"], 2, "{report}");
    assert_eq!(report["rejected"], 4);
    let refused: Vec<i64> = report["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|r| r["row"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(refused, vec![2, 3, 5, 6]);
    let recorded = report["recorded"].as_array().expect("recorded");
    assert_eq!(
        recorded[0]["work_order_id"],
        Value::Null,
        "grade B, nothing poor"
    );
    assert!(
        recorded[1]["work_order_id"].is_i64(),
        "drainage 1 opens a job"
    );
    assert_eq!(history_len(&app, &designer, building).await, 1);

    // The same as GeoJSON.
    let features = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": null, "properties": {"asset_id": building, "conditions": {"roof": 4}}},
        {"type": "Feature", "geometry": null, "properties": {"asset_id": building, "conditions": {"roof": 0}}},
        {"type": "Feature", "geometry": null},
    ]});
    let report: Value = app
        .post_json("/v1/surveys/import", &designer, &features)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (report["accepted"].as_i64(), report["rejected"].as_i64()),
        (Some(1), Some(2)),
        "{report}"
    );

    // A bad header or body is refused whole.
    let r = app
        .client
        .post(app.url("/v1/surveys/import"))
        .bearer_auth(&designer)
        .header("content-type", "text/csv")
        .body("asset_id,colour\n1,red\n")
        .send()
        .await
        .expect("sent");
    assert_problem(r, 400, "unknown column").await;
    assert_problem(
        app.post_json("/v1/surveys/import", &designer, &json!({"type": "Feature"}))
            .await,
        422,
        "not a collection",
    )
    .await;
    let many = json!({"type": "FeatureCollection", "features": vec![json!({"type": "Feature", "properties": {}}); 2_001]});
    assert_problem(
        app.post_json("/v1/surveys/import", &designer, &many).await,
        422,
        "too many rows",
    )
    .await;
    assert_eq!(history_len(&app, &designer, building).await, 2);
}
