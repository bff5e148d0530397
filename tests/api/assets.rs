use crate::helpers::*;
use hutong::domain::{District, Role};
use serde_json::{Value, json};

#[tokio::test]
async fn health_answers() {
    let app = spawn_app().await;
    let body = app.get_json("/health").await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["assets"], 0);
}

#[tokio::test]
async fn create_read_replace_patch_delete() {
    let app = spawn_app().await;
    let token = app.token(Role::Designer, None).await;
    let courtyard = square_feature(
        "courtyard",
        116.3950,
        39.9410,
        0.0003,
        json!({"name": "No. 90", "address": "Zhonglouwan Hutong 90", "district": "dongcheng", "condition": 3,
               "area_m2": 1.0}),
    );

    let response = app.post_feature(&token, &courtyard).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let created: Value = response.json().await.expect("json");
    let id = created["id"].as_i64().expect("top-level numeric id");
    assert_eq!(location, format!("/v1/assets/{id}"));
    assert_eq!(created["type"], "Feature");
    assert_eq!(created["properties"]["kind"], "courtyard");
    assert_eq!(created["properties"]["version"], 1);
    // Area is derived (GeographicLib: 854.07 m² for this square), never the 1.0 sent.
    let area = created["properties"]["area_m2"].as_f64().expect("area");
    assert!((area - 854.074).abs() < 0.01 * 854.074, "{area}");

    let fetched = app.get(&location).await;
    assert_eq!(fetched.headers()["etag"], "\"1\"");
    let fetched: Value = fetched.json().await.expect("json");
    assert_eq!(fetched, created);

    // A building inside gets the courtyard as its derived courtyard_id.
    let building = app
        .create(
            &token,
            &square_feature(
                "building",
                116.39505,
                39.94105,
                0.0001,
                json!({"storeys": 1, "structure": "timber", "courtyard_id": 999}),
            ),
        )
        .await;
    assert_eq!(building["properties"]["courtyard_id"], id);

    // PUT replaces everything; If-Match with the current version.
    let mut replacement = courtyard.clone();
    replacement["properties"] =
        json!({"kind": "courtyard", "name": "No. 90 (restored)", "district": "dongcheng"});
    let response = app
        .client
        .put(app.url(&location))
        .bearer_auth(&token)
        .header("if-match", "\"1\"")
        .json(&replacement)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let replaced: Value = response.json().await.expect("json");
    assert_eq!(replaced["properties"]["name"], "No. 90 (restored)");
    assert!(
        replaced["properties"].get("condition").is_none(),
        "PUT drops what it does not send"
    );
    assert_eq!(
        replaced["properties"]["created_at"],
        created["properties"]["created_at"]
    );

    // PATCH merges properties (null removes), keeps the geometry.
    let response = app
        .client
        .patch(app.url(&location))
        .bearer_auth(&token)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"properties": {"condition": 2, "name": null, "households": 7}}).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"3\"");
    let patched: Value = response.json().await.expect("json");
    assert_eq!(patched["properties"]["condition"], 2);
    assert_eq!(patched["properties"]["households"], 7);
    assert_eq!(patched["properties"]["district"], "dongcheng");
    assert!(patched["properties"].get("name").is_none());
    assert_eq!(patched["geometry"], created["geometry"]);

    // PATCH of the geometry alone moves it and re-derives the area.
    let moved = json!({"geometry": {"type": "Polygon", "coordinates": [[[116.3950, 39.9410], [116.3956, 39.9410], [116.3956, 39.9413], [116.3950, 39.9413], [116.3950, 39.9410]]]}});
    let response = app
        .client
        .patch(app.url(&location))
        .bearer_auth(&token)
        .json(&moved)
        .send()
        .await
        .expect("sent");
    let patched: Value = response.json().await.expect("json");
    assert!(patched["properties"]["area_m2"].as_f64().expect("area") > 2.0 * area);

    // Listings keep what they rendered; a courtyard's change must reach
    // the buildings in it there too.
    let listed = |body: &Value| {
        body["features"]
            .as_array()
            .expect("features")
            .iter()
            .find(|f| f["id"] == building["id"])
            .map(|f| f["properties"]["courtyard_id"].clone())
    };
    let before = app.get_json("/v1/assets?kind=building").await;
    assert_eq!(listed(&before), Some(json!(id)));

    // DELETE, then it is gone from reads, listings and the index.
    let response = app
        .client
        .delete(app.url(&location))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 204);
    assert_problem(app.get(&location).await, 404, "deleted asset").await;
    let building_after = app
        .get_json(&format!("/v1/assets/{}", building["id"]))
        .await;
    assert_eq!(building_after["properties"]["courtyard_id"], Value::Null);
    let after = app.get_json("/collections/buildings/items").await;
    assert_eq!(listed(&after), Some(Value::Null));
    let near = app
        .get_json("/v1/assets/nearby?lon=116.39515&lat=39.94115&kind=courtyard")
        .await;
    assert_eq!(near["features"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn if_match_star_and_lists_are_honoured() {
    let app = spawn_app().await;
    let token = app.token(Role::Planner, None).await;
    let created = app.create(&token, &light(116.3951, 39.9412)).await;
    let path = format!("/v1/assets/{}", created["id"]);
    for (if_match, expected) in [
        ("*", 200),
        ("\"7\", \"2\"", 200),
        ("W/\"3\"", 412),
        ("\"3\"", 200),
    ] {
        let response = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&token)
            .header("if-match", if_match)
            .json(&json!({"properties": {"status": "faulty"}}))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), expected, "If-Match: {if_match}");
    }
}

#[tokio::test]
async fn listing_filters_by_kind_and_bbox_and_pages() {
    let app = spawn_app().await;
    let token = app.token(Role::Admin, None).await;
    for i in 0..25 {
        app.create(&token, &light(116.3900 + f64::from(i) * 0.0001, 39.9400))
            .await;
    }
    app.create(
        &token,
        &point_feature(
            "drainage",
            116.3905,
            39.9400,
            json!({"drainage_type": "inlet"}),
        ),
    )
    .await;
    app.create(
        &token,
        &point_feature("charger", 116.4500, 39.9500, json!({"ports": 8})),
    )
    .await;

    let all = app.get_json("/v1/assets?limit=10").await;
    assert_eq!(all["type"], "FeatureCollection");
    assert_eq!(all["numberMatched"], 27);
    assert_eq!(all["numberReturned"], 10);
    let next = all["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "next")
        .expect("next link")["href"]
        .as_str()
        .expect("href")
        .to_string();
    let page2 = app.get_json(&next).await;
    assert_eq!(
        page2["features"][0]["id"],
        all["features"][9]["id"].as_i64().expect("id") + 1
    );
    assert!(
        page2["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["rel"] == "prev")
    );

    let lights = app.get_json("/v1/assets?kind=light&limit=100").await;
    assert_eq!(lights["numberMatched"], 25);
    let some = app
        .get_json(
            "/v1/assets?kind=light,drainage&bbox=116.3899,39.9399,116.39045,39.9401&limit=100",
        )
        .await;
    let ids: Vec<&str> = some["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap_or_default())
        .collect();
    // Lights at 116.3900..116.3904 (5) and nothing else: the drain is at 116.3905.
    assert_eq!(ids, vec!["light"; 5]);
    let boxed = app
        .get_json("/v1/assets?bbox=116.44,39.94,116.46,39.96")
        .await;
    assert_eq!(boxed["numberMatched"], 1);
    assert_eq!(boxed["features"][0]["properties"]["kind"], "charger");
}

#[tokio::test]
async fn district_scoped_tokens_act_only_in_their_district() {
    let app = spawn_app().await;
    let dongcheng = app.token(Role::Designer, Some(District::Dongcheng)).await;
    let mine = app.create(&dongcheng, &light(116.3951, 39.9412)).await;
    let theirs = point_feature(
        "light",
        116.33,
        40.07,
        json!({"light_type": "street", "district": "changping"}),
    );
    assert_problem(
        app.post_feature(&dongcheng, &theirs).await,
        403,
        "other district",
    )
    .await;
    // Moving an own asset into another district is refused too.
    let response = app
        .client
        .patch(app.url(&format!("/v1/assets/{}", mine["id"])))
        .bearer_auth(&dongcheng)
        .json(&json!({"properties": {"district": "changping"}}))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 403, "move out of district").await;
    assert_eq!(app.asset_count().await, 1);
}

#[tokio::test]
async fn concurrent_writers_with_the_same_etag_one_wins() {
    let app = spawn_app().await;
    let token = app.token(Role::Planner, None).await;
    let created = app.create(&token, &light(116.3951, 39.9412)).await;
    let path = format!("/v1/assets/{}", created["id"]);
    let mut writers = Vec::new();
    for i in 0..8 {
        let request = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&token)
            .header("if-match", "\"1\"")
            .json(&json!({"properties": {"name": format!("writer {i}")}}));
        writers.push(tokio::spawn(async move {
            request.send().await.expect("sent").status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for writer in writers {
        statuses.push(writer.await.expect("joined"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 412, 412, 412, 412, 412, 412, 412]);
    let after = app.get_json(&path).await;
    assert_eq!(after["properties"]["version"], 2);
}
