//! OGC API – Features over HTTP: landing page, conformance, collections,
//! items with paging and filters, single features, HTML, the OpenAPI
//! definition, and every bad query.

use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a Value> {
    doc["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == rel)
}

#[tokio::test]
async fn landing_page_conformance_and_collections_link_up() {
    let app = spawn_demo().await;
    let landing = app.get_json("/").await;
    let desc = link(&landing, "service-desc").expect("service-desc");
    assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.0");
    assert_eq!(desc["href"], app.url("/openapi.json"));
    assert_eq!(
        link(&landing, "conformance").expect("conformance")["href"],
        app.url("/conformance")
    );
    let data = link(&landing, "data").expect("data");
    assert_eq!(data["type"], "application/json");

    let response = app.get("/openapi.json").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.oai.openapi+json;version=3.0"
    );
    let openapi: Value = response.json().await.expect("json");
    assert!(
        openapi["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.0")
    );
    let limit = &openapi["components"]["parameters"]["limit"];
    assert_eq!(limit["schema"]["default"], 10);
    assert_eq!(limit["schema"]["maximum"], 10_000);
    let items = &openapi["paths"]["/collections/{collectionId}/items"]["get"]["parameters"];
    assert!(
        items
            .as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["$ref"] == "#/components/parameters/limit"),
        "{items}"
    );
    for path in [
        "/",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items/{featureId}",
        "/openapi.json",
        "/health",
        "/v1/assets",
        "/v1/assets/nearby",
        "/v1/assets/{id}",
        "/v1/complaints",
        "/v1/complaints/{id}/transitions",
        "/v1/complaints/{id}/links",
        "/open311/v2/{resource}",
        "/open311/v2/requests/{id}",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }

    let conformance = app.get_json("/conformance").await;
    let classes: Vec<&str> = conformance["conformsTo"]
        .as_array()
        .expect("conformsTo")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"));

    let collections = app.get_json("/collections").await;
    let ids: Vec<&str> = collections["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "courtyards",
            "buildings",
            "lanes",
            "drainage",
            "lights",
            "chargers",
            "facilities",
            "complaints",
            "districts",
            "streets",
            "communities",
            "plans"
        ]
    );
    for c in collections["collections"].as_array().expect("collections") {
        assert_eq!(c["itemType"], "feature");
        let bbox = &c["extent"]["spatial"]["bbox"][0];
        assert_eq!(bbox.as_array().expect("bbox").len(), 4, "{c}");
        let items = c["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "items" && l["type"] == "application/geo+json")
            .expect("items link");
        assert_eq!(
            items["href"],
            app.url(&format!(
                "/collections/{}/items",
                c["id"].as_str().expect("id")
            ))
        );
        // The demo lies in Beijing's old city and Huilongguan.
        let (w, s, e, n) = (
            bbox[0].as_f64(),
            bbox[1].as_f64(),
            bbox[2].as_f64(),
            bbox[3].as_f64(),
        );
        // Areas reach beyond the demo's assets; the demo has no plans, so
        // their extent is the service area: within Beijing.
        let area = ["districts", "streets", "communities", "plans"]
            .contains(&c["id"].as_str().unwrap_or(""));
        if area {
            assert!(
                w >= Some(115.3) && e <= Some(117.6) && s >= Some(39.3) && n <= Some(41.1),
                "{bbox}"
            );
        } else {
            assert!(
                w > Some(116.3) && e < Some(116.4) && s > Some(39.9) && n < Some(40.1),
                "{bbox}"
            );
        }
    }
    let complaints = app.get_json("/collections/complaints").await;
    assert!(complaints["extent"]["temporal"]["interval"][0][0].is_string());
}

#[tokio::test]
async fn items_page_through_next_links_to_exactly_the_native_set() {
    let app = spawn_demo().await;
    let native = app.get_json("/v1/assets?kind=light&limit=10000").await;
    let expected: BTreeMap<i64, Value> = native["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| (f["id"].as_i64().expect("id"), f.clone()))
        .collect();
    assert!(expected.len() > 100, "the demo has many lights");

    let mut seen = BTreeMap::new();
    let mut next = Some(app.url("/collections/lights/items?limit=37"));
    let mut pages = 0;
    while let Some(url) = next {
        let response = app.client.get(&url).send().await.expect("sent");
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "application/geo+json");
        assert_eq!(
            response.headers()["content-crs"],
            "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
        );
        let page: Value = response.json().await.expect("json");
        assert_eq!(page["numberMatched"], expected.len());
        let features = page["features"].as_array().expect("features");
        assert_eq!(page["numberReturned"], features.len());
        assert!(features.len() <= 37);
        for f in features {
            seen.insert(f["id"].as_i64().expect("id"), f.clone());
        }
        next = link(&page, "next").map(|l| {
            assert_eq!(l["type"], "application/geo+json");
            l["href"].as_str().expect("href").to_string()
        });
        pages += 1;
        assert!(pages < 100, "paging ends");
    }
    assert_eq!(seen, expected, "the same features as the native API");

    // Default page size 10; larger limits are clamped, not refused.
    let page = app.get_json("/collections/lights/items").await;
    assert_eq!(page["numberReturned"], 10);
    let page = app.get_json("/collections/lights/items?limit=50000").await;
    assert_eq!(page["numberReturned"], expected.len());
    let prev = app
        .get_json("/collections/lights/items?limit=5&offset=5")
        .await;
    assert!(
        link(&prev, "prev").expect("prev")["href"]
            .as_str()
            .expect("href")
            .contains("offset=0")
    );
}

#[tokio::test]
async fn bbox_datetime_and_single_features() {
    let app = spawn_demo().await;
    let bbox = "116.390,39.940,116.396,39.945";
    let ogc = app
        .get_json(&format!(
            "/collections/drainage/items?bbox={bbox}&limit=1000"
        ))
        .await;
    let native = app
        .get_json(&format!("/v1/assets?kind=drainage&bbox={bbox}&limit=1000"))
        .await;
    assert_eq!(ogc["numberMatched"], native["numberMatched"]);
    assert!(ogc["numberMatched"].as_u64() > Some(0));
    // Six numbers: the heights are ignored.
    let six = app
        .get_json(
            "/collections/drainage/items?bbox=116.390,39.940,-10,116.396,39.945,100&limit=1000",
        )
        .await;
    assert_eq!(six["numberMatched"], native["numberMatched"]);

    // One feature, with its ETag, equal to the native one.
    let id = ogc["features"][0]["id"].as_i64().expect("id");
    let response = app.get(&format!("/collections/drainage/items/{id}")).await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let one: Value = response.json().await.expect("json");
    let native_one = app.get_json(&format!("/v1/assets/{id}")).await;
    assert_eq!(one["properties"], native_one["properties"]);
    assert_eq!(one["geometry"], native_one["geometry"]);
    assert_eq!(etag, format!("\"{}\"", native_one["properties"]["version"]));
    // The same id under another collection is not there.
    assert_problem(
        app.get(&format!("/collections/lights/items/{id}")).await,
        404,
        "wrong collection",
    )
    .await;
    assert_problem(
        app.get("/collections/lights/items/abc").await,
        404,
        "bad id",
    )
    .await;
    assert_problem(
        app.get("/collections/parks/items").await,
        404,
        "unknown collection",
    )
    .await;

    // Complaints: datetime on reported_at, and never personal data.
    let all = app
        .get_json("/collections/complaints/items?limit=10000")
        .await;
    let total = all["numberMatched"].as_u64().expect("matched");
    assert!(total > 0);
    for f in all["features"].as_array().expect("features") {
        let p = f["properties"].as_object().expect("properties");
        assert!(
            !p.contains_key("caller_name") && !p.contains_key("caller_phone"),
            "{f}"
        );
    }
    let first_half = app
        .get_json("/collections/complaints/items?datetime=../2024-06-30T23:59:59Z&limit=10000")
        .await;
    let second_half = app
        .get_json("/collections/complaints/items?datetime=2024-07-01T00:00:00Z/..&limit=10000")
        .await;
    let (a, b) = (
        first_half["numberMatched"].as_u64().expect("n"),
        second_half["numberMatched"].as_u64().expect("n"),
    );
    assert!(a > 0 && b > 0 && a + b == total, "{a} + {b} = {total}");
    for f in first_half["features"].as_array().expect("features") {
        assert!(
            f["properties"]["reported_at"].as_str() < Some("2024-07"),
            "{f}"
        );
    }
    let complaint = app
        .get_json(&format!(
            "/collections/complaints/items/{}",
            all["features"][0]["id"]
        ))
        .await;
    assert!(complaint["properties"].get("caller_phone").is_none());
}

#[tokio::test]
async fn html_pages_for_people() {
    let app = spawn_demo().await;
    for path in [
        "/?f=html",
        "/collections?f=html",
        "/collections/buildings?f=html",
        "/collections/buildings/items?f=html&limit=5",
        "/conformance?f=html",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        let body = response.text().await.expect("text");
        assert!(body.starts_with("<!DOCTYPE html>"), "{path}");
    }
    // A browser's Accept header gets HTML without ?f=html.
    let response = app
        .client
        .get(app.url("/collections/lanes/items?limit=3"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let body = response.text().await.expect("text");
    assert!(
        body.contains("/collections/lanes/items/"),
        "rows link to features"
    );
}

#[tokio::test]
async fn bad_queries_get_400_with_a_reason() {
    let app = spawn_demo().await;
    for (query, expect) in [
        (
            "/collections/lights/items?colour=red",
            "unknown query parameter",
        ),
        (
            "/collections/lights/items?bbox=116.4,39.9,116.3,40.0",
            "greater than",
        ),
        (
            "/collections/lights/items?bbox=116.3,39.9,116.4,40.0,5",
            "four numbers",
        ),
        (
            "/collections/lights/items?bbox=a,b,c,d",
            "not a finite number",
        ),
        ("/collections/lights/items?limit=0", "at least 1"),
        (
            "/collections/lights/items?limit=-5",
            "positive whole number",
        ),
        ("/collections/lights/items?offset=-1", "offset"),
        (
            "/collections/complaints/items?datetime=yesterday",
            "RFC 3339",
        ),
        (
            "/collections/complaints/items?datetime=2024-02-01T00:00:00Z/2024-01-01T00:00:00Z",
            "ends before",
        ),
        (
            "/collections/lights/items?limit=5&limit=6",
            "more than once",
        ),
        ("/collections/lights/items?f=xml", "f=json or f=html"),
        ("/collections?bbox=1,2,3,4", "unknown query parameter"),
        ("/?foo=bar", "unknown query parameter"),
    ] {
        let body = assert_problem(app.get(query).await, 400, query).await;
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains(expect), "{query}: {detail}");
    }
}

fn ids(page: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = page["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_i64().expect("id"))
        .collect();
    ids.sort();
    ids
}

async fn filtered(app: &TestApp, collection: &str, params: &[(&str, &str)]) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/collections/{collection}/items")))
        .query(&[("limit", "10000")])
        .query(params)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "{params:?}");
    response.json().await.expect("json")
}

#[tokio::test]
async fn queryables_and_cql2_filters_agree_with_the_native_api() {
    let app = spawn_demo().await;
    let response = app.get("/collections/lights/queryables").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/schema+json"
    );
    let q: Value = response.json().await.expect("json");
    assert_eq!(q["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(
        q["properties"]["status"]["enum"],
        serde_json::json!(["working", "faulty", "off"])
    );
    assert_eq!(
        q["properties"]["geometry"]["x-ogc-role"],
        "primary-geometry"
    );
    assert_eq!(
        q["properties"]["condition"].get("maximum"),
        None,
        "lights have no condition"
    );
    let buildings = app.get_json("/collections/buildings/queryables").await;
    assert_eq!(buildings["properties"]["condition"]["maximum"], 5);
    assert!(buildings["properties"]["courtyard_id"].is_object());

    // Text and JSON filters give what the native API says.
    let all = app.get_json("/v1/assets?kind=light&limit=10000").await;
    let expected: Vec<i64> = {
        let mut v: Vec<i64> = all["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter(|f| {
                f["properties"]["status"] == "working" && f["properties"]["light_type"] == "wall"
            })
            .map(|f| f["id"].as_i64().expect("id"))
            .collect();
        v.sort();
        v
    };
    assert!(!expected.is_empty());
    let text = filtered(
        &app,
        "lights",
        &[("filter", "status = 'working' AND light_type = 'wall'")],
    )
    .await;
    assert_eq!(ids(&text), expected);
    assert_eq!(text["numberMatched"], expected.len());
    let json_filter = r#"{"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, "working"]}, {"op": "in", "args": [{"property": "light_type"}, ["wall"]]}]}"#;
    let json = filtered(
        &app,
        "lights",
        &[("filter", json_filter), ("filter-lang", "cql2-json")],
    )
    .await;
    assert_eq!(ids(&json), expected);

    // A metric distance filter finds what the nearby API finds.
    let near = app
        .get_json("/v1/assets/nearby?lon=116.3925&lat=39.9428&radius_m=60&kind=light&limit=1000")
        .await;
    let mut near_ids = ids(&near);
    near_ids.sort();
    assert!(!near_ids.is_empty());
    let dwithin = filtered(
        &app,
        "lights",
        &[("filter", "S_DWITHIN(geometry, POINT(116.3925 39.9428), 60)")],
    )
    .await;
    assert_eq!(ids(&dwithin), near_ids);
    // The same point given in UTM 50N with filter-crs (PROJ 9, pyproj 3.7).
    let utm = filtered(
        &app,
        "lights",
        &[
            (
                "filter",
                "S_DWITHIN(geometry, POINT(448100.5670 4421585.2604), 60)",
            ),
            ("filter-crs", "http://www.opengis.net/def/crs/EPSG/0/32650"),
        ],
    )
    .await;
    assert_eq!(ids(&utm), near_ids);

    // A polygon, and the bbox parameter, give what the bbox listing gives.
    let boxed = app
        .get_json("/v1/assets?kind=drainage&bbox=116.390,39.940,116.396,39.945&limit=1000")
        .await;
    let polygon = filtered(
        &app,
        "drainage",
        &[("filter", "S_INTERSECTS(geometry, POLYGON((116.390 39.940, 116.396 39.940, 116.396 39.945, 116.390 39.945, 116.390 39.940)))")],
    )
    .await;
    assert_eq!(ids(&polygon), ids(&boxed));
    let outside = filtered(
        &app,
        "drainage",
        &[
            (
                "filter",
                "S_WITHIN(geometry, BBOX(116.390, 39.940, 116.396, 39.945))",
            ),
            ("bbox", "116.0,39.0,116.1,39.1"),
        ],
    )
    .await;
    assert_eq!(outside["numberMatched"], 0);

    // Complaints: category and time, as the native listing filters them.
    let native = app
        .get_json("/v1/complaints?category=water_pooling&from=2024-06-01T00:00:00Z&limit=1000")
        .await;
    let ogc = filtered(
        &app,
        "complaints",
        &[(
            "filter",
            "category = 'water_pooling' AND reported_at >= TIMESTAMP('2024-06-01T00:00:00Z')",
        )],
    )
    .await;
    assert_eq!(ids(&ogc), ids(&native));
    assert!(ogc["numberMatched"].as_u64() > Some(0));
    // Personal data is not queryable.
    let body = assert_problem(
        app.client
            .get(app.url("/collections/complaints/items"))
            .query(&[("filter", "caller_phone = '13800000000'")])
            .send()
            .await
            .expect("sent"),
        400,
        "caller_phone",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("unknown property")
    );
}

#[tokio::test]
async fn bad_filters_get_400_with_a_reason() {
    let app = spawn_demo().await;
    for (params, expect) in [
        (vec![("filter", "status = ")], "not valid CQL2 text"),
        (vec![("filter", "colour = 'red'")], "unknown property"),
        (vec![("filter", "status = 'broken'")], "is one of"),
        (vec![("filter", "power_w = 'high'")], "cannot be compared"),
        (
            vec![("filter", "status = 'working'"), ("filter-lang", "sql")],
            "filter-lang",
        ),
        (vec![("filter", "{\"op\": \"=\"")], "not valid CQL2 text"),
        (
            vec![("filter", "{\"op\": \"=\""), ("filter-lang", "cql2-json")],
            "not valid CQL2 JSON",
        ),
        (
            vec![
                ("filter", "S_INTERSECTS(geometry, POINT(1 2))"),
                ("filter-crs", "EPSG:2000"),
            ],
            "filter-crs",
        ),
        (vec![("filter-lang", "cql2-text")], "need a filter"),
        (
            vec![("filter", "S_DWITHIN(geometry, POINT(116 39), 1e9)")],
            "distance",
        ),
    ] {
        let response = app
            .client
            .get(app.url("/collections/lights/items"))
            .query(&params)
            .send()
            .await
            .expect("sent");
        let body = assert_problem(response, 400, &format!("{params:?}")).await;
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains(expect), "{params:?}: {detail}");
    }
    let deep = format!(
        "{}status = 'off'{}",
        "NOT (".repeat(5_000),
        ")".repeat(5_000)
    );
    let response = app
        .client
        .get(app.url("/collections/lights/items"))
        .query(&[("filter", deep.as_str())])
        .send()
        .await
        .expect("sent");
    assert_problem(response, 400, "deep nesting").await;
}

#[tokio::test]
async fn sortby_and_properties() {
    let app = spawn_demo().await;
    let sorted = app
        .get_json("/collections/buildings/items?sortby=-storeys,%2Bid&limit=1000")
        .await;
    let keys: Vec<(i64, i64)> = sorted["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["properties"]["storeys"].as_i64().unwrap_or(i64::MIN),
                f["id"].as_i64().expect("id"),
            )
        })
        .collect();
    assert!(keys.len() > 100);
    assert!(
        keys.windows(2)
            .all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
        "storeys descending, then id"
    );
    assert_eq!(sorted["numberMatched"], keys.len());
    // Paging a sorted listing continues the same order.
    let second = app
        .get_json("/collections/buildings/items?sortby=-storeys,id&limit=10&offset=10")
        .await;
    assert_eq!(second["features"][0]["id"].as_i64(), Some(keys[10].1));

    let complaints = app
        .get_json("/collections/complaints/items?sortby=reported_at&limit=1000")
        .await;
    let times: Vec<&str> = complaints["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["reported_at"].as_str())
        .collect();
    assert!(
        times.len() > 10 && times.windows(2).all(|w| w[0] <= w[1]),
        "ascending"
    );

    let slim = app
        .get_json("/collections/lights/items?properties=status,light_type&limit=5")
        .await;
    for f in slim["features"].as_array().expect("features") {
        let keys: Vec<&String> = f["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        assert!(
            keys.iter().all(|k| *k == "status" || *k == "light_type"),
            "{keys:?}"
        );
        assert!(f["geometry"].is_object());
    }
    for query in [
        "/collections/lights/items?sortby=colour",
        "/collections/lights/items?sortby=geometry",
        "/collections/lights/items?properties=caller_phone",
        "/collections/complaints/items?properties=caller_name",
    ] {
        let body = assert_problem(app.get(query).await, 400, query).await;
        assert!(
            body["detail"]
                .as_str()
                .expect("detail")
                .contains("is not a property"),
            "{body}"
        );
    }
}

/// The complaints' extent is kept between requests and grows with the
/// complaints taken in since.
#[tokio::test]
async fn the_complaints_extent_follows_new_complaints() {
    let app = spawn_demo().await;
    let before = app.get_json("/collections/complaints").await;
    let west = before["extent"]["spatial"]["bbox"][0][0]
        .as_f64()
        .expect("west");
    assert!(west > 116.3, "{before}");
    let operator = app.token(hutong::domain::Role::Operator, None).await;
    let complaint = serde_json::json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [116.2, 40.2]},
        "properties": {"case_number": "EXTENT-1", "channel": "phone", "category": "other",
            "description": "far to the west", "reported_at": "2025-03-01T08:00:00+08:00"}});
    let response = app
        .client
        .post(app.url("/v1/complaints"))
        .bearer_auth(&operator)
        .json(&complaint)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    let after = app.get_json("/collections/complaints").await;
    let bbox = &after["extent"]["spatial"]["bbox"][0];
    assert!(
        bbox[0].as_f64() <= Some(116.2) && bbox[3].as_f64() >= Some(40.2),
        "{bbox}"
    );
    assert_eq!(
        after["extent"]["temporal"]["interval"][0][1],
        "2025-03-01T00:00:00.000Z"
    );
}

/// The largest offset is a valid, empty page (no arithmetic overflow).
#[tokio::test]
async fn the_largest_offset_is_an_empty_page() {
    let app = spawn_demo().await;
    let max = u64::MAX;
    for path in [
        format!("/collections/lights/items?offset={max}"),
        format!("/collections/lights/items?offset={max}&filter=status%3D%27working%27"),
        format!("/collections/lights/items?offset={max}&sortby=id&f=html"),
        format!("/v1/assets?offset={max}"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    let page = app
        .get_json(&format!("/collections/lights/items?offset={max}"))
        .await;
    assert_eq!(page["numberReturned"], 0);
    assert!(page["numberMatched"].as_u64() > Some(0));
}
