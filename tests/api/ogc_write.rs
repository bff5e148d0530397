//! OGC API – Features Part 4 (create, replace, update, delete) and Part 2
//! (CRS) over HTTP, with reference coordinates computed once with PROJ.

use crate::helpers::*;
use hutong::app::Settings;
use hutong::domain::Role;
use serde_json::{Value, json};

/// The Bell Tower area point in UTM 50N and Web Mercator, from PROJ 9
/// (pyproj 3.7, `Transformer.from_crs("OGC:CRS84", ...)`).
const UTM50: (f64, f64) = (448_321.485_821_663_2, 4_421_406.167_183_972);
const WEB_MERCATOR: (f64, f64) = (12_957_043.262_832_155, 4_857_401.299_165_809);
/// The same point in GCJ-02, from `prcoords` 1.0.2 (`wgs_gcj`).
const GCJ02: (f64, f64) = (116.401_347_093_573_08, 39.942_604_191_332_656);
const POINT: (f64, f64) = (116.3951, 39.9412);
const UTM: &str = "http://www.opengis.net/def/crs/EPSG/0/32650";

fn xy(feature: &Value) -> (f64, f64) {
    let c = &feature["geometry"]["coordinates"];
    (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"))
}

fn close(a: (f64, f64), b: (f64, f64), tolerance: f64) -> bool {
    (a.0 - b.0).abs() <= tolerance && (a.1 - b.1).abs() <= tolerance
}

fn a_light() -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [POINT.0, POINT.1]},
        "properties": {"light_type": "street", "status": "working", "district": "dongcheng"}})
}

#[tokio::test]
async fn create_replace_update_delete_with_etags() {
    let app = spawn_app().await;
    let planner = app.token(Role::Planner, None).await;
    let items = app.url("/collections/lights/items");
    let created = app
        .client
        .post(&items)
        .bearer_auth(&planner)
        .json(&a_light())
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(&format!("{items}/")), "{location}");
    let etag = created.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let body: Value = created.json().await.expect("json");
    assert_eq!(
        body["properties"]["kind"], "light",
        "kind comes from the collection"
    );
    let id = body["id"].as_i64().expect("id");
    assert_eq!(location, format!("{items}/{id}"));

    // PUT without If-Match is allowed (QGIS sends none); a stale one is 412.
    let mut replacement = a_light();
    replacement["properties"]["status"] = json!("faulty");
    let put = app
        .client
        .put(&location)
        .bearer_auth(&planner)
        .json(&replacement)
        .send()
        .await
        .expect("sent");
    assert_eq!(put.status(), 200);
    let new_etag = put.headers()["etag"].to_str().expect("etag").to_string();
    assert_ne!(new_etag, etag);
    let stale = app
        .client
        .put(&location)
        .bearer_auth(&planner)
        .header("if-match", &etag)
        .json(&a_light())
        .send()
        .await
        .expect("sent");
    assert_problem(stale, 412, "stale If-Match").await;
    assert_eq!(
        app.get_json(&format!("/v1/assets/{id}")).await["properties"]["status"],
        "faulty"
    );

    // PATCH as a merge patch, with the current ETag.
    let patch = app
        .client
        .patch(&location)
        .bearer_auth(&planner)
        .header("if-match", &new_etag)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"properties": {"sensor": "pir"}}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(patch.status(), 200);
    let patched: Value = patch.json().await.expect("json");
    assert_eq!(patched["properties"]["sensor"], "pir");
    assert_eq!(patched["properties"]["status"], "faulty");

    // OPTIONS tells what is allowed.
    let options = app
        .client
        .request(reqwest::Method::OPTIONS, &location)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        options.headers()["allow"],
        "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    );
    let options = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/collections/complaints/items"),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(options.headers()["allow"], "GET, HEAD, OPTIONS");

    let deleted = app
        .client
        .delete(&location)
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), 204);
    assert_problem(
        app.get(&format!("/collections/lights/items/{id}")).await,
        404,
        "gone",
    )
    .await;
}

#[tokio::test]
async fn bad_writes_are_refused_and_store_nothing() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let crew = app.token(Role::Crew, None).await;
    let before = app.asset_count().await;
    let lights = app.url("/collections/lights/items");
    let mut drain = a_light();
    drain["properties"]["kind"] = json!("drainage");
    let post = |token: Option<String>, body: Value, crs: Option<&'static str>| {
        let mut request = app.client.post(&lights).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(crs) = crs {
            request = request.header("content-crs", crs);
        }
        request.send()
    };
    let cases: Vec<(&str, reqwest::Response, u16)> = vec![
        ("no token", post(None, a_light(), None).await.expect("sent"), 401),
        ("crew", post(Some(crew.clone()), a_light(), None).await.expect("sent"), 403),
        ("kind of another collection", post(Some(planner.clone()), drain, None).await.expect("sent"), 422),
        ("unknown Content-Crs", post(Some(planner.clone()), a_light(), Some("<http://www.opengis.net/def/crs/EPSG/0/2000>")).await.expect("sent"), 400),
        ("UTM coordinates sent as CRS84", post(Some(planner.clone()), json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [UTM50.0, UTM50.1]}, "properties": {}}), None).await.expect("sent"), 422),
        ("UTM far outside the earth", post(Some(planner.clone()), json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e30, 0]}, "properties": {}}), Some("<http://www.opengis.net/def/crs/EPSG/0/32650>")).await.expect("sent"), 422),
        ("complaints are read-only here", app.client.post(app.url("/collections/complaints/items")).bearer_auth(&planner).json(&a_light()).send().await.expect("sent"), 405),
        ("unknown collection", app.client.post(app.url("/collections/parks/items")).bearer_auth(&planner).json(&a_light()).send().await.expect("sent"), 404),
        ("not JSON", app.client.post(&lights).bearer_auth(&planner).header("content-type", "application/geo+json").body("{").send().await.expect("sent"), 400),
        ("a light id under buildings", app.client.put(app.url("/collections/buildings/items/400")).bearer_auth(&planner).json(&a_light()).send().await.expect("sent"), 404),
    ];
    for (what, response, status) in cases {
        assert_problem(response, status, what).await;
    }
    assert_eq!(app.asset_count().await, before, "nothing stored");
}

#[tokio::test]
async fn if_match_can_be_required() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let settings = Settings {
        database_url: database_url(dir.path()).await,
        listen: "127.0.0.1:0".into(),
        demo: false,
        require_if_match: true,
        ..Settings::default()
    };
    let app = spawn_with(dir, settings).await;
    let planner = app.token(Role::Planner, None).await;
    let created = app
        .client
        .post(app.url("/collections/lights/items"))
        .bearer_auth(&planner)
        .json(&a_light())
        .send()
        .await
        .expect("sent");
    let location = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let etag = created.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let without = app
        .client
        .delete(&location)
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_problem(without, 428, "If-Match required").await;
    let with = app
        .client
        .delete(&location)
        .bearer_auth(&planner)
        .header("if-match", &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(with.status(), 204);
}

#[tokio::test]
async fn coordinates_in_every_offered_crs_match_proj() {
    let app = spawn_app().await;
    let planner = app.token(Role::Planner, None).await;
    // Written in UTM 50N, stored in CRS84 within a centimetre (1e-7°).
    let utm_light = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [UTM50.0, UTM50.1]},
        "properties": {"light_type": "wall"}});
    let created = app
        .client
        .post(app.url("/collections/lights/items"))
        .bearer_auth(&planner)
        .header("content-crs", format!("<{UTM}>"))
        .json(&utm_light)
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    let stored = app.get_json(&format!("/v1/assets/{id}")).await;
    assert!(close(xy(&stored), POINT, 1e-7), "{:?}", xy(&stored));

    for (crs, expected, tolerance) in [
        (UTM, UTM50, 0.01),
        (
            "http://www.opengis.net/def/crs/EPSG/0/3857",
            WEB_MERCATOR,
            0.01,
        ),
        (
            "http://www.opengis.net/def/crs/EPSG/0/4326",
            (POINT.1, POINT.0),
            1e-7,
        ),
        (
            "http://www.opengis.net/def/crs/EPSG/0/4490",
            (POINT.1, POINT.0),
            1e-7,
        ),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", POINT, 1e-7),
        ("urn:hutong:def:crs:GCJ-02", GCJ02, 1e-7),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/collections/lights/items/{id}")))
            .query(&[("crs", crs)])
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{crs}");
        assert_eq!(
            response.headers()["content-crs"],
            format!("<{crs}>").as_str()
        );
        let feature: Value = response.json().await.expect("json");
        assert!(
            close(xy(&feature), expected, tolerance),
            "{crs}: {:?} vs {expected:?}",
            xy(&feature)
        );
        let page: Value = app
            .client
            .get(app.url("/collections/lights/items"))
            .query(&[("crs", crs)])
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        assert!(
            close(xy(&page["features"][0]), expected, tolerance),
            "{crs} items"
        );
    }

    // A bbox in UTM finds what the same box in CRS84 finds; in EPSG:4326
    // it is latitude first.
    for (bbox, bbox_crs) in [
        (
            format!(
                "{},{},{},{}",
                UTM50.0 - 50.0,
                UTM50.1 - 50.0,
                UTM50.0 + 50.0,
                UTM50.1 + 50.0
            ),
            UTM,
        ),
        (
            "39.9407,116.3945,39.9417,116.3957".to_string(),
            "http://www.opengis.net/def/crs/EPSG/0/4326",
        ),
    ] {
        let page: Value = app
            .client
            .get(app.url("/collections/lights/items"))
            .query(&[("bbox", bbox.as_str()), ("bbox-crs", bbox_crs)])
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        assert_eq!(page["numberMatched"], 1, "{bbox_crs}: {page}");
    }
    let far = app
        .get_json(&format!(
            "/collections/lights/items?bbox-crs={UTM}&bbox=0,0,1000,1000"
        ))
        .await;
    assert_eq!(far["numberMatched"], 0);

    // Collections list what they offer; anything else is a 400.
    let lights = app.get_json("/collections/lights").await;
    let offered: Vec<&str> = lights["crs"]
        .as_array()
        .expect("crs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        offered.contains(&UTM) && offered.contains(&"urn:hutong:def:crs:GCJ-02"),
        "{offered:?}"
    );
    assert_eq!(
        lights["storageCrs"],
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    );
    for query in [
        "/collections/lights/items?crs=http://www.opengis.net/def/crs/EPSG/0/2000",
        "/collections/lights/items?bbox-crs=EPSG:4326",
        "/collections/lights/items?bbox=1,2,3,4&bbox-crs=EPSG:9999",
        "/collections/lights/items?bbox=500000,4400000,400000,4500000&bbox-crs=EPSG:32650",
    ] {
        assert_problem(app.get(query).await, 400, query).await;
    }
}
