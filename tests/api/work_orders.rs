//! Work orders over HTTP: a case's order from dispatch to verification
//! with the case and its Open311 status following; illegal moves; two
//! updates racing with one ETag; scopes of crews, units and tokens that
//! expire or are revoked; evidence photos checked by their bytes and
//! their EXIF position; walking distances and the walking order along a
//! small lane network with dead ends.

use crate::helpers::*;
use hutong::domain::Role;
use serde_json::{Value, json};

const DRAINAGE_CREW: &str = "drainage-dongcheng-1";

/// A JPEG (just its markers) whose EXIF says it was taken at `lon, lat`.
pub fn jpeg_taken_at(lon: f64, lat: f64) -> Vec<u8> {
    use exif::experimental::Writer;
    use exif::{Field, In, Rational, Tag, Value as ExifValue};
    let dms = |x: f64| {
        let degrees = x.trunc();
        let minutes = ((x - degrees) * 60.0).trunc();
        let seconds = ((x - degrees) * 60.0 - minutes) * 60.0;
        ExifValue::Rational(vec![
            Rational::from((degrees as u32, 1)),
            Rational::from((minutes as u32, 1)),
            Rational::from(((seconds * 10_000.0).round() as u32, 10_000)),
        ])
    };
    let fields = [
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: ExifValue::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(lat),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: ExifValue::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(lon),
        },
    ];
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("EXIF written");
    let tiff = tiff.into_inner();
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
    jpeg.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    jpeg.extend_from_slice(b"Exif\0\0");
    jpeg.extend_from_slice(&tiff);
    // A quantisation table's marker, then the end: enough for a reader.
    jpeg.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x03, 0x00, 0xFF, 0xD9]);
    jpeg
}

/// A JPEG with no EXIF (as browsers send them).
fn jpeg_without_exif() -> Vec<u8> {
    vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x03, 0x00, 0xFF, 0xD9]
}

async fn post_as(
    app: &TestApp,
    token: &str,
    path: &str,
    body: &Value,
    etag: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).bearer_auth(token).json(body);
    if let Some(etag) = etag {
        request = request.header("If-Match", etag);
    }
    request.send().await.expect("request sent")
}

async fn ok_json(response: reqwest::Response, context: &str) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{context}: {status} {body}");
    body
}

fn etag_of(order: &Value) -> String {
    format!(
        "\"{}\"",
        order["properties"]["version"].as_i64().expect("version")
    )
}

async fn move_order(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let order = app
        .get_json_as(token, &format!("/v1/work-orders/{id}"))
        .await;
    ok_json(
        post_as(
            app,
            token,
            &format!("/v1/work-orders/{id}/transitions"),
            &body,
            Some(&etag_of(&order)),
        )
        .await,
        &format!("move {id} {body}"),
    )
    .await
}

pub async fn done_with(
    app: &TestApp,
    token: &str,
    id: i64,
    fields: &[(&str, String)],
    photos: Vec<(Vec<u8>, &str)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.clone());
    }
    for (bytes, mime) in photos {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name("photo.jpg")
            .mime_str(mime)
            .expect("mime");
        form = form.part("photo", part);
    }
    app.client
        .post(app.url(&format!("/v1/work-orders/{id}/done")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request sent")
}

async fn case_status(app: &TestApp, id: i64) -> (String, String) {
    let case = app.get_json(&format!("/v1/complaints/{id}")).await;
    let o = app
        .get_json(&format!(
            "/open311/v2/requests.json?service_request_id={id}"
        ))
        .await;
    (
        case["properties"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        o[0]["status"].as_str().unwrap_or_default().to_string(),
    )
}

/// A water-pooling case at Zhonglouwan Hutong 1, dispatched at intake to
/// the drainage company.
async fn dispatched_case(app: &TestApp, operator: &str, number: &str) -> (i64, (f64, f64)) {
    let case = app
        .file_complaint(
            operator,
            &json!({"type": "Feature", "geometry": null, "properties": {
                "case_number": number, "channel": "phone", "category": "water_pooling",
                "description": "Water stands in the courtyard after every rain",
                "address": "钟楼湾胡同1号", "caller_name": "王芳", "caller_phone": "13800000000"}}),
        )
        .await;
    assert_eq!(case["properties"]["status"], "dispatched", "{case}");
    assert_eq!(case["properties"]["unit"], "beijing-drainage");
    let at = &case["geometry"]["coordinates"];
    (
        case["id"].as_i64().expect("id"),
        (at[0].as_f64().expect("lon"), at[1].as_f64().expect("lat")),
    )
}

#[tokio::test]
async fn a_cases_work_order_goes_from_dispatch_to_verified_and_the_case_follows() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let drainage = app.unit_token("beijing-drainage").await;
    let crew = app.crew_token(DRAINAGE_CREW).await;
    let designer = app.token(Role::Designer, None).await;
    let (case_id, (lon, lat)) = dispatched_case(&app, &operator, "WO-LIFE-1").await;

    // The drainage company makes the order from the case.
    let created = app
        .post_json(
            "/v1/work-orders",
            &drainage,
            &json!({"complaint_id": case_id}),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let order: Value = created.json().await.expect("JSON");
    let id = order["id"].as_i64().expect("id");
    let p = &order["properties"];
    assert_eq!(p["status"], "open");
    assert_eq!(p["unit"], "beijing-drainage");
    assert_eq!(p["origin"], "complaint");
    assert_eq!(p["complaint_id"], case_id);
    assert_eq!(p["priority"], "high", "the utilities tier");
    assert_eq!(order["geometry"]["coordinates"], json!([lon, lat]));
    assert!(p["due_at"].is_string(), "the case's resolution deadline");

    // Assigned to a crew of the unit (a crew of another unit is refused).
    let other_crew = post_as(
        &app,
        &drainage,
        &format!("/v1/work-orders/{id}/transitions"),
        &json!({"to": "assigned", "crew": "dongcheng-lighting-1"}),
        Some("\"1\""),
    )
    .await;
    assert_problem(other_crew, 422, "a crew of another unit").await;
    let assigned = move_order(
        &app,
        &drainage,
        id,
        json!({"to": "assigned", "crew": DRAINAGE_CREW}),
    )
    .await;
    assert_eq!(assigned["properties"]["status"], "assigned");
    assert_eq!(assigned["properties"]["crew"], DRAINAGE_CREW);
    assert_eq!(assigned["properties"]["version"], 2);

    // The crew finds it near where it stands, with both distances.
    let near = app
        .get_json_as(
            &crew,
            &format!(
                "/v1/work-orders/nearby?lon={}&lat={lat}&radius_m=300",
                lon + 0.0005
            ),
        )
        .await;
    let hit = near["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("the order is near: {near}"));
    let straight = hit["properties"]["distance_m"].as_f64().expect("distance");
    assert!(
        (straight - 42.7).abs() < 1.0,
        "0.0005° of longitude: {straight}"
    );
    assert!(
        hit["properties"]["walking_distance_m"]
            .as_f64()
            .expect("walking")
            >= straight - 0.01
    );
    assert!(hit["properties"]["walking_method"].is_string());

    // The crew starts: the case is taken on.
    let started = move_order(&app, &crew, id, json!({"to": "in_progress"})).await;
    assert_eq!(started["properties"]["status"], "in_progress");
    assert_eq!(
        case_status(&app, case_id).await,
        ("in_progress".into(), "open".into())
    );

    // Done with a note, a photo taken at the site and the device there.
    let photo = jpeg_taken_at(lon + 0.0001, lat);
    let fields = [
        ("note", "gully cleared, yard regraded".to_string()),
        ("lon", (lon + 0.0001).to_string()),
        ("lat", lat.to_string()),
    ];
    let done = ok_json(
        done_with(
            &app,
            &crew,
            id,
            &fields,
            vec![(photo.clone(), "image/jpeg")],
        )
        .await,
        "done",
    )
    .await;
    let e = &done["properties"]["evidence"];
    assert_eq!(done["properties"]["status"], "done");
    assert_eq!(e["photo_far_from_site"], false, "{e}");
    assert!(e["position_distance_m"].as_f64().expect("distance") < 10.0);
    let photo_id = e["photos"][0].as_i64().expect("a photo id");
    // The last (only) order done resolves the case, which waits for its
    // call-back; Open311 shows it closed.
    assert_eq!(
        case_status(&app, case_id).await,
        ("resolved".into(), "closed".into())
    );

    // The photo is the crew's and the unit's to see, not anyone's.
    let served = app
        .client
        .get(app.url(&format!("/v1/photos/{photo_id}")))
        .bearer_auth(&crew)
        .send()
        .await
        .expect("sent");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(served.bytes().await.expect("bytes").to_vec(), photo);
    assert_problem(
        app.get(&format!("/v1/photos/{photo_id}")).await,
        401,
        "anonymous",
    )
    .await;
    let lighting = app.crew_token("dongcheng-lighting-1").await;
    let other = app
        .client
        .get(app.url(&format!("/v1/photos/{photo_id}")))
        .bearer_auth(&lighting)
        .send()
        .await
        .expect("sent");
    assert_problem(other, 403, "a crew of another unit").await;

    // A crew may not verify its own work; a designer does.
    let refused = post_as(
        &app,
        &crew,
        &format!("/v1/work-orders/{id}/transitions"),
        &json!({"to": "verified"}),
        None,
    )
    .await;
    assert_problem(refused, 403, "a crew verifying").await;
    let verified = move_order(
        &app,
        &designer,
        id,
        json!({"to": "verified", "note": "checked on site"}),
    )
    .await;
    assert_eq!(verified["properties"]["status"], "verified");
    assert!(verified["properties"]["verified_at"].is_string());
    let history: Vec<(String, String)> = verified["properties"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap_or_default().to_string(),
                h["actor_role"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("created", "unit"),
        ("assigned", "unit"),
        ("started", "crew"),
        ("done", "crew"),
        ("verified", "designer"),
    ]
    .iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(history, expected);

    // The crew sees what the caller said and where, never who called.
    let seen = app
        .client
        .get(app.url(&format!("/v1/work-orders/{id}")))
        .bearer_auth(&crew)
        .send()
        .await
        .expect("sent");
    let text = seen.text().await.expect("text");
    assert!(text.contains("Water stands in the courtyard"), "{text}");
    assert!(
        !text.contains("13800000000") && !text.contains("王芳") && !text.contains("138****"),
        "{text}"
    );

    // The whole lifecycle is in the audit trail: who, when, the request,
    // and what changed.
    let admin = app.token(Role::Admin, None).await;
    let trail = app
        .get_json_as(&admin, &format!("/v1/audit?entity=work_order&id={id}"))
        .await;
    let entries = trail["entries"].as_array().expect("entries");
    let actions: Vec<&str> = entries
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        ["created", "assigned", "started", "done", "verified"],
        "{trail}"
    );
    for e in entries {
        assert!(e["actor"]["token"].as_i64().is_some(), "{e}");
        assert_eq!(e["actor"]["label"], "test");
        assert!(
            e["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{e}"
        );
        assert!(e["at"].is_string());
    }
    let assigned_entry = &entries[entries.len() - 2];
    assert_eq!(assigned_entry["actor"]["role"], "unit");
    assert_eq!(
        assigned_entry["changes"]["properties"]["status"], "assigned",
        "{assigned_entry}"
    );
    assert_eq!(
        assigned_entry["changes"]["properties"]["crew"],
        DRAINAGE_CREW
    );
    assert_eq!(assigned_entry["previous"]["properties"]["status"], "open");
    assert_eq!(entries[0]["actor"]["role"], "designer");
    // The case's trail: its caller masked to an admin, whole to an operator.
    let case_trail = app
        .get_json_as(&admin, &format!("/v1/audit?entity=complaint&id={case_id}"))
        .await;
    let case_actions: Vec<&str> = case_trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        case_actions,
        ["created", "dispatched", "accepted", "resolved"],
        "{case_trail}"
    );
    let created_entry = case_trail["entries"]
        .as_array()
        .and_then(|e| e.last())
        .expect("created");
    assert_eq!(
        created_entry["personal"]["after"]["caller_phone"], "138****0000",
        "{created_entry}"
    );
    assert!(!case_trail.to_string().contains("13800000000"));
    let to_operator = app
        .get_json_as(
            &operator,
            &format!("/v1/audit?entity=complaint&id={case_id}"),
        )
        .await;
    assert!(to_operator.to_string().contains("13800000000"));
    for (token, query) in [
        (&operator, "entity=work_order"),
        (&designer, "entity=complaint"),
        (&crew, ""),
    ] {
        let r = app
            .client
            .get(app.url(&format!("/v1/audit?{query}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("sent");
        assert_problem(r, 403, query).await;
    }
    let by_actor = app
        .get_json_as(
            &admin,
            &format!(
                "/v1/audit?actor={}&entity=work_order",
                entries[0]["actor"]["token"]
            ),
        )
        .await;
    assert_eq!(by_actor["entries"].as_array().map(Vec::len), Some(1));

    // The call-back closes the case.
    let closed = app
        .post_json(
            &format!("/v1/complaints/{case_id}/callback"),
            &operator,
            &json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    assert_eq!(
        case_status(&app, case_id).await,
        ("closed".into(), "closed".into())
    );
}

#[tokio::test]
async fn illegal_moves_and_strangers_are_refused_and_change_nothing() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let drainage = app.unit_token("beijing-drainage").await;
    let crew = app.crew_token(DRAINAGE_CREW).await;
    let planner = app.token(Role::Planner, None).await;
    let (case_id, _) = dispatched_case(&app, &operator, "WO-ILLEGAL-1").await;
    let order = ok_json(
        app.post_json(
            "/v1/work-orders",
            &drainage,
            &json!({"complaint_id": case_id}),
        )
        .await,
        "create",
    )
    .await;
    let id = order["id"].as_i64().expect("id");
    let path = format!("/v1/work-orders/{id}/transitions");

    // open → in_progress, open → done, open → verified: not legal.
    for to in ["in_progress", "verified"] {
        let r = post_as(&app, &planner, &path, &json!({"to": to}), None).await;
        let problem = assert_problem(r, 409, to).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("assigned, cancelled")),
            "{problem}"
        );
    }
    let r = post_as(
        &app,
        &crew,
        &format!("/v1/work-orders/{id}/done"),
        &json!({"note": "x"}),
        None,
    )
    .await;
    assert_problem(r, 403, "a crew finishing a job that is not its own").await;
    assert_problem(
        post_as(&app, &planner, &path, &json!({"to": "finished"}), None).await,
        422,
        "unknown status",
    )
    .await;
    assert_problem(
        post_as(&app, &planner, &path, &json!({"to": "assigned"}), None).await,
        422,
        "no crew",
    )
    .await;
    assert_problem(
        post_as(&app, &planner, &path, &json!({"to": "cancelled"}), None).await,
        422,
        "no reason",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            &operator,
            &path,
            &json!({"to": "assigned", "crew": DRAINAGE_CREW}),
            None,
        )
        .await,
        403,
        "an operator assigning",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            &planner,
            &path,
            &json!({"to": "assigned", "crew": DRAINAGE_CREW, "x": 1}),
            None,
        )
        .await,
        422,
        "unknown member",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            &planner,
            "/v1/work-orders/abc/transitions",
            &json!({"to": "open"}),
            None,
        )
        .await,
        400,
        "bad id",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            &planner,
            "/v1/work-orders/999999/transitions",
            &json!({"to": "open"}),
            None,
        )
        .await,
        404,
        "no order",
    )
    .await;
    assert_problem(
        app.post_json("/v1/work-orders", &crew, &json!({"complaint_id": case_id}))
            .await,
        403,
        "a crew making orders",
    )
    .await;
    assert_problem(app.get("/v1/work-orders").await, 401, "anonymous").await;
    assert_problem(
        app.post_json(
            "/v1/work-orders",
            &planner,
            &json!({"unit": "beijing-drainage", "location": [0.0, 0.0], "description": "x"}),
        )
        .await,
        422,
        "outside the service area",
    )
    .await;
    assert_problem(
        app.post_json(
            "/v1/work-orders",
            &planner,
            &json!({"unit": "beijing-drainage", "location": [116.4, 39.94]}),
        )
        .await,
        422,
        "no description",
    )
    .await;
    assert_problem(
        app.post_json(
            "/v1/work-orders",
            &planner,
            &json!({"unit": "nobody", "location": [116.4, 39.94], "description": "x"}),
        )
        .await,
        422,
        "unknown unit",
    )
    .await;
    assert_problem(
        app.post_json(
            "/v1/work-orders",
            &planner,
            &json!({"complaint_id": 999999}),
        )
        .await,
        422,
        "no case",
    )
    .await;
    assert_problem(app.post_json("/v1/work-orders", &planner, &json!({"unit": "beijing-drainage", "location": [116.4, 39.94], "description": "x", "positions": {"type": "MultiPoint", "coordinates": [[500, 1]]}})).await, 422, "bad positions").await;

    // Nothing moved.
    let now = app
        .get_json_as(&planner, &format!("/v1/work-orders/{id}"))
        .await;
    assert_eq!(now["properties"]["status"], "open");
    assert_eq!(now["properties"]["version"], 1);
    assert_eq!(
        now["properties"]["history"].as_array().map(Vec::len),
        Some(1)
    );

    // A crew of another unit sees none of it.
    let lighting = app.crew_token("dongcheng-lighting-1").await;
    let r = app
        .client
        .get(app.url(&format!("/v1/work-orders/{id}")))
        .bearer_auth(&lighting)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 403, "another unit's crew reading").await;
    let listed = app.get_json_as(&lighting, "/v1/work-orders").await;
    assert!(
        listed["features"]
            .as_array()
            .expect("features")
            .iter()
            .all(|f| f["properties"]["unit"] == "dongcheng-city-management"),
        "{listed}"
    );
    let r = app
        .client
        .get(app.url("/v1/work-orders?unit=beijing-drainage"))
        .bearer_auth(&lighting)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 403, "another unit's list").await;
    let near = app
        .get_json_as(
            &lighting,
            "/v1/work-orders/nearby?lon=116.3951&lat=39.9412&radius_m=5000",
        )
        .await;
    assert!(
        near["features"]
            .as_array()
            .expect("features")
            .iter()
            .all(|f| f["id"] != id),
        "{near}"
    );

    // Bad nearby and route parameters.
    for query in [
        "lon=116.4",
        "lon=200&lat=39.9",
        "lon=116.4&lat=39.9&radius_m=0",
        "lon=116.4&lat=39.9&radius_m=1e9",
        "lon=116.4&lat=39.9&limit=0",
        "lon=116.4&lat=39.9&status=done",
        "lon=116.4&lat=39.9&sort=random",
        "lon=116.4&lat=39.9&coord_sys=mars",
        "lon=16.4&lat=39.9&coord_sys=gcj02",
        "lon=116.4&lat=39.9&extra=1",
    ] {
        let r = app
            .client
            .get(app.url(&format!("/v1/work-orders/nearby?{query}")))
            .bearer_auth(&planner)
            .send()
            .await
            .expect("sent");
        assert_problem(r, 400, query).await;
    }
    let r = app
        .client
        .get(app.url("/v1/work-orders/route?crew=nobody&lon=116.4&lat=39.94"))
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 422, "unknown crew").await;
    let r = app
        .client
        .get(app.url(&format!(
            "/v1/work-orders/route?crew={DRAINAGE_CREW}&lon=116.4&lat=39.94"
        )))
        .bearer_auth(&lighting)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 403, "another crew's route").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_updates_with_one_etag_leave_one_winner_and_lose_nothing() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let unit = app.unit_token("dongcheng-city-management").await;
    let order = ok_json(
        app.post_json("/v1/work-orders", &planner, &json!({"unit": "dongcheng-city-management", "location": [116.3951, 39.9412], "description": "replace the lamp", "crew": "dongcheng-lighting-1"})).await,
        "create",
    )
    .await;
    let id = order["id"].as_i64().expect("id");
    assert_eq!(order["properties"]["status"], "assigned");
    let path = format!("/v1/work-orders/{id}");

    // PATCH needs If-Match.
    let r = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&planner)
        .json(&json!({"priority": "urgent"}))
        .send()
        .await
        .expect("sent");
    assert_problem(r, 428, "no If-Match").await;

    for round in 0..5 {
        let current = app.get_json_as(&planner, &path).await;
        let etag = etag_of(&current);
        let version = current["properties"]["version"].as_i64().expect("version");
        let send = |token: String, body: Value| {
            let request = app
                .client
                .patch(app.url(&path))
                .bearer_auth(token)
                .header("If-Match", etag.clone())
                .json(&body);
            async move { request.send().await.expect("sent") }
        };
        let a_text = format!("round {round}: the planner's words");
        let b_text = format!("round {round}: the unit's words");
        let (a, b) = tokio::join!(
            send(planner.clone(), json!({"description": a_text})),
            send(unit.clone(), json!({"description": b_text}))
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        let winner = match statuses {
            [200, 412] => a_text,
            [412, 200] => b_text,
            other => panic!("round {round}: one must win and one get 412, got {other:?}"),
        };
        let after = app.get_json_as(&planner, &path).await;
        assert_eq!(
            after["properties"]["version"],
            version + 1,
            "one change only"
        );
        assert_eq!(
            after["properties"]["description"],
            winner.as_str(),
            "the winner's change is kept"
        );
    }
    // A stale ETag on a move changes nothing either.
    let r = post_as(
        &app,
        &planner,
        &format!("{path}/transitions"),
        &json!({"to": "cancelled", "note": "x"}),
        Some("\"1\""),
    )
    .await;
    assert_problem(r, 412, "stale move").await;
    assert_eq!(
        app.get_json_as(&planner, &path).await["properties"]["status"],
        "assigned"
    );
}

#[tokio::test]
async fn photos_are_checked_by_their_bytes_and_their_position() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let crew = app.crew_token("dongcheng-lighting-1").await;
    let (lon, lat) = (116.3951, 39.9412);
    let make = || async {
        let order = ok_json(
            app.post_json("/v1/work-orders", &planner, &json!({"unit": "dongcheng-city-management", "location": [lon, lat], "description": "fix the lamp", "crew": "dongcheng-lighting-1"})).await,
            "create",
        )
        .await;
        let id = order["id"].as_i64().expect("id");
        move_order(&app, &crew, id, json!({"to": "in_progress"})).await;
        id
    };
    let id = make().await;

    // A PDF sent as a JPEG is refused by its bytes.
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec();
    let r = done_with(
        &app,
        &crew,
        id,
        &[("note", "done".into())],
        vec![(pdf, "image/jpeg")],
    )
    .await;
    let problem = assert_problem(r, 415, "a PDF disguised as a JPEG").await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("application/pdf")),
        "{problem}"
    );
    // An HTML page behind a JPEG's name is refused too.
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    assert_problem(
        done_with(&app, &crew, id, &[], vec![(html, "image/jpeg")]).await,
        415,
        "HTML",
    )
    .await;
    // Over the size limit.
    let mut big = jpeg_without_exif();
    big.resize(8 * 1024 * 1024 + 1, 0);
    assert_problem(
        done_with(&app, &crew, id, &[], vec![(big, "image/jpeg")]).await,
        413,
        "too large",
    )
    .await;
    // Too many photos, an unknown field, no evidence at all.
    let five = (0..5)
        .map(|_| (jpeg_without_exif(), "image/jpeg"))
        .collect();
    assert_problem(
        done_with(&app, &crew, id, &[], five).await,
        422,
        "five photos",
    )
    .await;
    assert_problem(
        done_with(&app, &crew, id, &[("colour", "red".into())], vec![]).await,
        400,
        "unknown field",
    )
    .await;
    let position_only = [("lon", lon.to_string()), ("lat", lat.to_string())];
    assert_problem(
        done_with(&app, &crew, id, &position_only, vec![]).await,
        422,
        "no evidence",
    )
    .await;
    assert_problem(
        done_with(
            &app,
            &crew,
            id,
            &[
                ("note", "x".into()),
                ("lon", "abc".into()),
                ("lat", "39.9".into()),
            ],
            vec![],
        )
        .await,
        422,
        "bad lon",
    )
    .await;
    let still = app
        .get_json_as(&planner, &format!("/v1/work-orders/{id}"))
        .await;
    assert_eq!(
        still["properties"]["status"], "in_progress",
        "nothing stored"
    );
    assert_eq!(still["properties"]["version"], 2);

    // A photo taken 300 m away is flagged, whatever the device says.
    let far = jpeg_taken_at(lon + 0.0035, lat);
    let fields = [
        ("note", "done".to_string()),
        ("lon", lon.to_string()),
        ("lat", lat.to_string()),
    ];
    let done = ok_json(
        done_with(&app, &crew, id, &fields, vec![(far, "image/jpeg")]).await,
        "far",
    )
    .await;
    assert_eq!(
        done["properties"]["evidence"]["photo_far_from_site"], true,
        "{done}"
    );

    // Without EXIF, the device's position is compared: near, not flagged;
    // far (given in GCJ-02, as WeChat reports it), flagged.
    let id = make().await;
    let done = ok_json(
        done_with(
            &app,
            &crew,
            id,
            &fields,
            vec![(jpeg_without_exif(), "image/jpeg")],
        )
        .await,
        "near",
    )
    .await;
    assert_eq!(
        done["properties"]["evidence"]["photo_far_from_site"], false,
        "{done}"
    );
    let id = make().await;
    // The site itself in GCJ-02 is about 500 m off in WGS 84 terms, so
    // sending the WGS 84 numbers as GCJ-02 puts the device far away.
    let gcj = [
        ("note", "done".to_string()),
        ("lon", lon.to_string()),
        ("lat", lat.to_string()),
        ("coord_sys", "gcj02".to_string()),
    ];
    let done = ok_json(
        done_with(
            &app,
            &crew,
            id,
            &gcj,
            vec![(jpeg_without_exif(), "image/jpeg")],
        )
        .await,
        "far device",
    )
    .await;
    assert_eq!(
        done["properties"]["evidence"]["photo_far_from_site"], true,
        "{done}"
    );
    assert!(
        done["properties"]["evidence"]["position_distance_m"]
            .as_f64()
            .expect("distance")
            > 50.0
    );
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let app = spawn_demo().await;
    let admin = app.token(Role::Admin, None).await;
    let store = hutong::store::open(&app.db_url).await.expect("store");
    let tokens = hutong::services::tokens::Tokens::new(store);
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let (expiring, record) = tokens
        .create(&hutong::store::TokenSpec {
            expires_at: Some(soon),
            ..hutong::store::TokenSpec::of(Role::Planner).labelled("short")
        })
        .await
        .expect("token");
    assert_eq!(
        app.client
            .get(app.url("/v1/work-orders"))
            .bearer_auth(&expiring)
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_300)).await;
    let r = app
        .client
        .get(app.url("/v1/work-orders"))
        .bearer_auth(&expiring)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 401, "expired").await;
    let past = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    assert!(
        tokens
            .create(&hutong::store::TokenSpec {
                expires_at: Some(past),
                ..hutong::store::TokenSpec::of(Role::Planner)
            })
            .await
            .is_err()
    );

    // Revoked by an admin through the API: refused at once.
    let planner = app.token(Role::Planner, None).await;
    assert_eq!(
        app.client
            .get(app.url("/v1/work-orders"))
            .bearer_auth(&planner)
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
    let list = app.get_json_as(&admin, "/v1/tokens").await;
    let text = list.to_string();
    assert!(
        !text.contains(&planner) && !text.contains("sha256"),
        "no secrets: {text}"
    );
    let listed = list["tokens"].as_array().expect("tokens");
    let short = listed
        .iter()
        .find(|t| t["id"] == record.id)
        .expect("listed");
    assert_eq!(short["live"], false);
    assert_eq!(short["label"], "short");
    let newest = listed[0]["id"].as_i64().expect("id");
    let r = app
        .post_json(&format!("/v1/tokens/{newest}/revoke"), &planner, &json!({}))
        .await;
    assert_problem(r, 403, "a planner revoking").await;
    let revoked = ok_json(
        app.post_json(&format!("/v1/tokens/{newest}/revoke"), &admin, &json!({}))
            .await,
        "revoke",
    )
    .await;
    assert!(revoked["revoked_at"].is_string());
    let r = app
        .client
        .get(app.url("/v1/work-orders"))
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_problem(r, 401, "revoked").await;
    assert_problem(
        app.post_json("/v1/tokens/999999/revoke", &admin, &json!({}))
            .await,
        404,
        "no token",
    )
    .await;
    assert_problem(
        app.post_json("/v1/tokens/x/revoke", &admin, &json!({}))
            .await,
        400,
        "bad id",
    )
    .await;
}

/// A lane as a GeoJSON Feature in Dongcheng.
fn lane(coords: &[(f64, f64)]) -> Value {
    json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords.iter().map(|(x, y)| json!([x, y])).collect::<Vec<_>>()},
        "properties": {"kind": "lane", "district": "dongcheng", "name": "test lane"}})
}

/// Great-circle metres on the mean sphere: an independent check of the
/// service's geodesic lengths (they agree within 0.3 %).
fn sphere_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dla = la2 - la1;
    let dlo = (b.0 - a.0).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

#[tokio::test]
async fn walking_distances_and_the_walking_order_follow_the_lanes() {
    let app = spawn_on(tempfile::TempDir::new().expect("tempdir"), false).await;
    let planner = app.token(Role::Planner, None).await;
    // A main lane P0–P1 with two dead-end alleys going north from its ends:
    //   P3        P2
    //   |         |
    //   P0 ------ P1
    let p0 = (116.4000, 39.9400);
    let p1 = (116.4020, 39.9400);
    let p2 = (116.4020, 39.9410);
    let p3 = (116.4000, 39.9410);
    for line in [[p0, p1], [p1, p2], [p0, p3]] {
        app.create(&planner, &lane(&line)).await;
    }
    let order = |at: (f64, f64)| {
        let app = &app;
        let planner = planner.clone();
        async move {
            let o = ok_json(
                app.post_json("/v1/work-orders", &planner, &json!({"unit": "dongcheng-city-management", "location": [at.0, at.1], "description": "relamp", "crew": "dongcheng-lighting-1"})).await,
                "create",
            )
            .await;
            o["id"].as_i64().expect("id")
        }
    };
    // From the top of one alley to the top of the other: 171 m straight
    // across the yards, 393 m by the lanes.
    let j1 = order(p2).await;
    let near = app
        .get_json_as(
            &planner,
            &format!(
                "/v1/work-orders/nearby?lon={}&lat={}&radius_m=500",
                p3.0, p3.1
            ),
        )
        .await;
    let hit = &near["features"][0];
    assert_eq!(hit["id"], j1);
    let straight = hit["properties"]["distance_m"].as_f64().expect("straight");
    let walking = hit["properties"]["walking_distance_m"]
        .as_f64()
        .expect("walking");
    let by_lanes = sphere_m(p3, p0) + sphere_m(p0, p1) + sphere_m(p1, p2);
    assert!((straight - sphere_m(p3, p2)).abs() < 0.6, "{straight}");
    assert!(
        (walking - by_lanes).abs() < 1.5,
        "walking {walking} vs {by_lanes} by hand"
    );
    assert_eq!(hit["properties"]["walking_method"], "lanes");
    assert!(straight < walking - 200.0);
    // A lane drawn across the tops joins the dead ends: the network is
    // rebuilt and the walk is now the straight line along it.
    let across = app.create(&planner, &lane(&[p3, p2])).await;
    let near = app
        .get_json_as(
            &planner,
            &format!(
                "/v1/work-orders/nearby?lon={}&lat={}&radius_m=500",
                p3.0, p3.1
            ),
        )
        .await;
    let walking_now = near["features"][0]["properties"]["walking_distance_m"]
        .as_f64()
        .expect("walking");
    assert!(
        (walking_now - straight).abs() < 1.0,
        "{walking_now} vs {straight}"
    );
    // Taken away again, the dead ends are back.
    let r = app
        .client
        .delete(app.url(&format!("/v1/assets/{}", across["id"])))
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 204);
    let near = app
        .get_json_as(
            &planner,
            &format!(
                "/v1/work-orders/nearby?lon={}&lat={}&radius_m=500",
                p3.0, p3.1
            ),
        )
        .await;
    let walking_again = near["features"][0]["properties"]["walking_distance_m"]
        .as_f64()
        .expect("walking");
    assert!(
        (walking_again - walking).abs() < 0.01,
        "{walking_again} vs {walking}"
    );

    // Two more jobs on the main lane: walking from P3, the order is the
    // middle of the main lane, its east end, then up the east alley.
    let mid = (116.4010, 39.9400);
    let j3 = order(mid).await;
    let j2 = order(p1).await;
    let route = app
        .get_json_as(
            &planner,
            &format!(
                "/v1/work-orders/route?crew=dongcheng-lighting-1&lon={}&lat={}",
                p3.0, p3.1
            ),
        )
        .await;
    assert_eq!(route["stops"], json!([j3, j2, j1]), "{route}");
    let total = route["total_m"].as_f64().expect("total");
    assert!((total - by_lanes).abs() < 1.5, "{total} vs {by_lanes}");
    let legs: Vec<&Value> = route["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["geometry"]["type"] == "LineString")
        .collect();
    assert_eq!(legs.len(), 3);
    let first = &legs[0]["geometry"]["coordinates"];
    assert!(
        first
            .as_array()
            .expect("path")
            .iter()
            .any(|c| (c[0].as_f64().unwrap_or(0.0) - p0.0).abs() < 1e-6
                && (c[1].as_f64().unwrap_or(0.0) - p0.1).abs() < 1e-6),
        "the first leg goes down the west alley through P0: {first}"
    );

    // Against every order of up to 8 stops, by the same walking distances.
    let extra = [
        (116.4005, 39.9400),
        (116.4015, 39.9400),
        (116.4020, 39.9405),
        (116.4000, 39.9405),
        (116.4000, 39.94025),
    ];
    let mut stops = vec![p2, mid, p1];
    for at in extra {
        order(at).await;
        stops.push(at);
    }
    let start = (116.4012, 39.9401);
    let route = app
        .get_json_as(
            &planner,
            &format!(
                "/v1/work-orders/route?crew=dongcheng-lighting-1&lon={}&lat={}",
                start.0, start.1
            ),
        )
        .await;
    assert_eq!(route["stops"].as_array().map(Vec::len), Some(8));
    let total = route["total_m"].as_f64().expect("total");
    let network = hutong::spatial::LaneNetwork::build(&[
        (1, vec![p0, p1]),
        (2, vec![p1, p2]),
        (3, vec![p0, p3]),
    ]);
    let mut points = vec![start];
    points.extend(stops.iter().copied());
    let d: Vec<Vec<f64>> = network
        .matrix(&points)
        .iter()
        .map(|row| row.iter().map(|w| w.distance_m).collect())
        .collect();
    let best = best_open_tour(&d);
    assert!(
        (total - best).abs() < 0.05,
        "route {total} m, best of every order {best} m"
    );
}

/// The shortest open tour from point 0 through all others, by trying
/// every order (Heap's algorithm).
fn best_open_tour(d: &[Vec<f64>]) -> f64 {
    let mut stops: Vec<usize> = (1..d.len()).collect();
    let length = |order: &[usize]| {
        let mut at = 0;
        let mut sum = 0.0;
        for &s in order {
            sum += d[at][s];
            at = s;
        }
        sum
    };
    let mut best = length(&stops);
    let n = stops.len();
    let mut c = vec![0; n];
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                stops.swap(0, i);
            } else {
                stops.swap(c[i], i);
            }
            best = best.min(length(&stops));
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    best
}

/// Runs one statement on the test's database, either backend.
async fn try_sql(app: &TestApp, sql: &str) -> Result<u64, String> {
    if app.db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db_url)
            .await
            .expect("sqlite");
        let done = sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string());
        pool.close().await;
        done
    } else {
        let pool = sqlx::PgPool::connect(&app.db_url).await.expect("postgres");
        let done = sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string());
        pool.close().await;
        done
    }
}

#[tokio::test]
async fn the_audit_trail_is_append_only_but_for_erasing_personal_data() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let (case_id, _) = dispatched_case(&app, &operator, "WO-AUDIT-1").await;
    let count = "SELECT 1 FROM audit_log";
    assert!(try_sql(&app, count).await.is_ok());
    for sql in [
        "DELETE FROM audit_log".to_string(),
        "UPDATE audit_log SET action = 'nothing'".to_string(),
        "UPDATE audit_log SET personal = '{}' WHERE personal IS NOT NULL".to_string(),
    ] {
        let refused = try_sql(&app, &sql).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
    let erased = try_sql(
        &app,
        &format!("UPDATE audit_log SET personal = NULL WHERE entity = 'complaint' AND entity_id = '{case_id}'"),
    )
    .await;
    assert!(erased.is_ok_and(|n| n >= 1));
}

/// A time that is valid RFC 3339 but year 10,000 in UTC used to panic the
/// request (a 500) wherever it was converted to UTC.
#[tokio::test]
async fn times_beyond_year_9999_in_utc_are_refused_not_a_panic() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let admin = app.token(Role::Admin, None).await;
    let far = "9999-12-31T23:30:00-05:00";
    let encoded = "9999-12-31T23%3A30%3A00-05%3A00";
    let r = app
        .post_json("/v1/work-orders", &planner, &json!({"unit": "dongcheng-city-management", "location": [116.3951, 39.9412], "description": "x", "due_at": far}))
        .await;
    assert_problem(r, 422, "due_at").await;
    for path in [
        format!("/v1/audit?from={encoded}"),
        format!("/v1/complaints?from={encoded}"),
        format!("/collections/complaints/items?datetime={encoded}"),
    ] {
        let r = app
            .client
            .get(app.url(&path))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("sent");
        assert_problem(r, 400, &path).await;
    }
    let r = app
        .get(&format!("/open311/v2/requests.json?start_date={encoded}"))
        .await;
    assert_eq!(r.status(), 400, "Open311 start_date");
    let filter =
        format!("/collections/complaints/items?filter=reported_at%20%3C%20TIMESTAMP('{encoded}')");
    let r = app.get(&filter).await;
    assert!(
        r.status().is_client_error(),
        "CQL2 timestamp: {}",
        r.status()
    );
}

/// A case sent back and dispatched to another unit is not moved by the
/// first unit's orders any more.
#[tokio::test]
async fn orders_of_a_unit_the_case_has_left_do_not_move_it() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let drainage = app.unit_token("beijing-drainage").await;
    let crew = app.crew_token(DRAINAGE_CREW).await;
    let (case_id, _) = dispatched_case(&app, &operator, "WO-LEFT-1").await;
    let order = ok_json(
        app.post_json(
            "/v1/work-orders",
            &drainage,
            &json!({"complaint_id": case_id, "crew": DRAINAGE_CREW}),
        )
        .await,
        "create",
    )
    .await;
    let id = order["id"].as_i64().expect("id");
    let back = app
        .post_json(
            &format!("/v1/complaints/{case_id}/send-back"),
            &drainage,
            &json!({"reason": "the water stands inside the courtyard"}),
        )
        .await;
    assert_eq!(back.status(), 200);
    let on = app
        .post_json(
            &format!("/v1/complaints/{case_id}/dispatch"),
            &operator,
            &json!({"unit": "dongcheng-jiaodaokou-street"}),
        )
        .await;
    assert_eq!(on.status(), 200);
    move_order(&app, &crew, id, json!({"to": "in_progress"})).await;
    assert_eq!(
        case_status(&app, case_id).await.0,
        "dispatched",
        "not taken on by the old unit's crew"
    );
    let done = done_with(
        &app,
        &crew,
        id,
        &[("note", "cleared anyway".to_string())],
        vec![],
    )
    .await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        case_status(&app, case_id).await.0,
        "dispatched",
        "not resolved by the old unit's order"
    );
    // And the old unit cannot make new orders for it.
    let r = app
        .post_json(
            "/v1/work-orders",
            &drainage,
            &json!({"complaint_id": case_id}),
        )
        .await;
    assert_problem(r, 403, "another unit's case").await;
}

/// A tile as a token (or anonymously) sees it, with its headers.
async fn tile_as(
    app: &TestApp,
    token: Option<&str>,
    tile: hutong::spatial::vector_tile::TileId,
) -> (reqwest::header::HeaderMap, geozero::mvt::Tile) {
    let mut request = app
        .client
        .get(app.url(&format!("/tiles/{}/{}/{}.mvt", tile.z, tile.x, tile.y)));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, crate::tiles::decode(response).await)
}

fn ids_of(collection: &Value) -> Vec<i64> {
    collection["features"]
        .as_array()
        .unwrap_or_else(|| panic!("features: {collection}"))
        .iter()
        .filter_map(|f| f["id"].as_i64())
        .collect()
}

#[tokio::test]
async fn orders_to_be_done_are_an_ogc_collection_and_a_tile_layer_for_tokens_only() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let changping = app
        .token(Role::Planner, Some(hutong::domain::District::Changping))
        .await;
    let lighting = app.crew_token("dongcheng-lighting-1").await;
    let (lon, lat) = (116.3951, 39.9412);
    let make = |body: Value| {
        let planner = planner.clone();
        let app = &app;
        async move {
            ok_json(
                app.post_json("/v1/work-orders", &planner, &body).await,
                "create",
            )
            .await["id"]
                .as_i64()
                .expect("id")
        }
    };
    let lamp = make(
        json!({"unit": "dongcheng-city-management", "crew": "dongcheng-lighting-1",
        "location": [lon, lat], "description": "replace the lamp"}),
    )
    .await;
    let gully = make(
        json!({"unit": "beijing-drainage", "location": [lon + 0.0002, lat],
        "description": "clear the gully", "priority": "urgent"}),
    )
    .await;
    let gone = make(
        json!({"unit": "beijing-drainage", "location": [lon, lat + 0.0002],
        "description": "made twice"}),
    )
    .await;
    ok_json(
        app.post_json(
            &format!("/v1/work-orders/{gone}/transitions"),
            &planner,
            &json!({"to": "cancelled", "note": "made twice"}),
        )
        .await,
        "cancel",
    )
    .await;
    let items = "/collections/work-orders/items";

    // Anonymously: not listed, and every read of it is a 401.
    let listed = |collections: &Value| -> bool {
        collections["collections"]
            .as_array()
            .expect("collections")
            .iter()
            .any(|c| c["id"] == "work-orders")
    };
    assert!(!listed(&app.get_json("/collections").await));
    for path in [
        "/collections/work-orders",
        items,
        &format!("{items}/{lamp}"),
        "/collections/work-orders/queryables",
    ] {
        assert_problem(app.get(path).await, 401, path).await;
    }
    let tilejson = app.get_json("/tiles.json").await;
    assert!(
        !tilejson["vector_layers"]
            .as_array()
            .expect("layers")
            .iter()
            .any(|l| l["id"] == "work-orders")
    );

    // A planner of all districts: listed, with the two still to be done.
    assert!(listed(&app.get_json_as(&planner, "/collections").await));
    let described = app.get_json_as(&planner, "/collections/work-orders").await;
    let bbox = &described["extent"]["spatial"]["bbox"][0];
    assert_eq!(bbox[0].as_f64(), Some(lon), "{described}");
    assert_eq!(bbox[2].as_f64(), Some(lon + 0.0002), "{described}");
    let all = app.get_json_as(&planner, items).await;
    assert_eq!(ids_of(&all), vec![lamp, gully]);
    assert_eq!(all["numberMatched"], 2);
    // bbox, CQL2, sortby and paging, as on every collection.
    let west = format!(
        "{items}?bbox={},{},{},{}",
        lon - 0.0001,
        lat - 0.0001,
        lon + 0.0001,
        lat + 0.0001
    );
    assert_eq!(ids_of(&app.get_json_as(&planner, &west).await), vec![lamp]);
    let urgent = app
        .get_json_as(&planner, &format!("{items}?filter=priority%3D%27urgent%27"))
        .await;
    assert_eq!(ids_of(&urgent), vec![gully]);
    let sorted = app
        .get_json_as(&planner, &format!("{items}?sortby=-id&limit=1"))
        .await;
    assert_eq!(ids_of(&sorted), vec![gully]);
    assert_eq!(sorted["numberMatched"], 2);
    assert!(
        sorted["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["rel"] == "next")
    );
    let one = app
        .client
        .get(app.url(&format!("{items}/{lamp}")))
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_eq!(one.status(), 200);
    assert!(one.headers().contains_key("etag"));
    let one: Value = one.json().await.expect("JSON");
    assert_eq!(one["properties"]["crew"], "dongcheng-lighting-1");
    assert_eq!(one["properties"]["status"], "assigned");
    // The cancelled order is not among them (its history is at /v1).
    assert_problem(
        app.client
            .get(app.url(&format!("{items}/{gone}")))
            .bearer_auth(&planner)
            .send()
            .await
            .expect("sent"),
        404,
        "cancelled",
    )
    .await;

    // A lighting crew sees its unit's order only; a Changping planner none.
    assert_eq!(ids_of(&app.get_json_as(&lighting, items).await), vec![lamp]);
    assert_problem(
        app.client
            .get(app.url(&format!("{items}/{gully}")))
            .bearer_auth(&lighting)
            .send()
            .await
            .expect("sent"),
        404,
        "another unit's order",
    )
    .await;
    assert!(ids_of(&app.get_json_as(&changping, items).await).is_empty());
    // Read-only here: orders are made at /v1/work-orders.
    assert_problem(
        app.post_json(items, &planner, &json!({"type": "Feature"}))
            .await,
        405,
        "write",
    )
    .await;

    // The tile layer: none anonymously, each token its own orders, and a
    // token's tile is private to it.
    let tile = crate::tiles::tile_of(lon, lat, 16);
    let (headers, anonymous) = tile_as(&app, None, tile).await;
    assert!(crate::tiles::layer_ids(&anonymous, "work-orders").is_empty());
    assert!(
        headers["vary"]
            .to_str()
            .is_ok_and(|v| v.contains("Authorization"))
    );
    let (headers, planners) = tile_as(&app, Some(&planner), tile).await;
    assert_eq!(
        crate::tiles::layer_ids(&planners, "work-orders"),
        vec![lamp as u64, gully as u64]
    );
    assert_eq!(
        crate::tiles::tag(&planners, "work-orders", gully as u64, "priority").as_deref(),
        Some("urgent")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .is_ok_and(|v| v.contains("private"))
    );
    let (_, crews) = tile_as(&app, Some(&lighting), tile).await;
    assert_eq!(
        crate::tiles::layer_ids(&crews, "work-orders"),
        vec![lamp as u64]
    );
    let tilejson = app.get_json_as(&planner, "/tiles.json").await;
    assert!(
        tilejson["vector_layers"]
            .as_array()
            .expect("layers")
            .iter()
            .any(|l| l["id"] == "work-orders" && l["fields"].get("priority").is_some())
    );

    // Done, it leaves the collection and the layer at once.
    let r = app
        .client
        .post(app.url(&format!("/v1/work-orders/{lamp}/transitions")))
        .bearer_auth(&lighting)
        .json(&json!({"to": "in_progress"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let done = app
        .client
        .post(app.url(&format!("/v1/work-orders/{lamp}/done")))
        .bearer_auth(&lighting)
        .json(&json!({"note": "new lamp in"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        done.status(),
        200,
        "{}",
        done.text().await.unwrap_or_default()
    );
    assert_eq!(ids_of(&app.get_json_as(&planner, items).await), vec![gully]);
    let (_, after) = tile_as(&app, Some(&planner), tile).await;
    assert_eq!(
        crate::tiles::layer_ids(&after, "work-orders"),
        vec![gully as u64]
    );
}
