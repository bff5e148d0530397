//! Address lookup over HTTP on the demo fixtures: Chinese, English,
//! full-width digits, city and district prefixes and a typo all find the
//! courtyard; a number no courtyard has finds the lane; an unknown
//! address finds nothing; bad queries are 400.

use crate::helpers::*;
use serde_json::Value;

/// The id of the demo courtyard with this address (from the asset list).
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

async fn geocode(app: &TestApp, q: &str) -> Value {
    let encoded = serde_urlencoded::to_string([("q", q)]).expect("encodes");
    let url = format!("/v1/geocode?{encoded}");
    app.get_json(&url).await
}

#[tokio::test]
async fn addresses_in_every_form_find_their_courtyard() {
    let app = spawn_demo().await;
    let courtyard = courtyard_at(&app, "Zhonglouwan Hutong 1").await;
    for q in [
        "钟楼湾胡同1号",
        "北京市东城区钟楼湾胡同１号",
        "东城区 钟楼湾胡同 １ 号",
        "Zhonglouwan Hutong No. 1",
        "No. 1, Zhonglouwan Hutong, Dongcheng District, Beijing",
        "zhonglouwan hutong 1",
    ] {
        let found = geocode(&app, q).await;
        assert_eq!(found["found"], true, "{q}: {found}");
        assert_eq!(found["precision"], "house", "{q}");
        assert_eq!(found["kind"], "courtyard", "{q}");
        assert_eq!(found["asset_id"], courtyard, "{q}");
        assert_eq!(found["edits"], 0, "{q}");
        assert_eq!(found["query"], q);
        // The point is on the courtyard: nearby from it has it at 0 m.
        let lon = found["point"]["coordinates"][0].as_f64().expect("lon");
        let lat = found["point"]["coordinates"][1].as_f64().expect("lat");
        let near = app
            .get_json(&format!(
                "/v1/assets/nearby?lon={lon}&lat={lat}&kind=courtyard&limit=1"
            ))
            .await;
        assert_eq!(near["features"][0]["id"], courtyard, "{q}");
        assert_eq!(near["features"][0]["properties"]["distance_m"], 0.0, "{q}");
    }
    // A typo in the way is forgiven, and said.
    let typo = geocode(&app, "Zhonglowan Hutong 1").await;
    assert_eq!(typo["asset_id"], courtyard);
    assert_eq!(typo["edits"], 1);
    assert_eq!(typo["way"], "zhonglouwan");
    // A house number no courtyard has: the lane.
    let lane = geocode(&app, "钟楼湾胡同999号").await;
    assert_eq!(lane["precision"], "way");
    assert_eq!(lane["kind"], "lane");
    // Nothing of the kind.
    let unknown = geocode(&app, "Nowhere Road 5").await;
    assert_eq!(unknown["found"], false);
    assert!(unknown["asset_id"].is_null() && unknown["point"].is_null());
}

#[tokio::test]
async fn bad_queries_are_problems() {
    let app = spawn_app().await;
    let long = "胡".repeat(201);
    for (url, why) in [
        ("/v1/geocode".to_string(), "no q"),
        ("/v1/geocode?q=".to_string(), "empty q"),
        ("/v1/geocode?q=%20%20".to_string(), "blank q"),
        (format!("/v1/geocode?q={long}"), "201 characters"),
        ("/v1/geocode?q=a&lang=zh".to_string(), "unknown parameter"),
        ("/v1/geocode?q=a&q=b".to_string(), "q twice"),
    ] {
        let response = app.get(&url).await;
        assert_problem(response, 400, why).await;
    }
}
