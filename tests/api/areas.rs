//! Administrative areas: imported from GeoJSON by `hutong import-areas`
//! (all or nothing, checked), listed at `/v1/areas`, and the source of a
//! case's district, street and community, never typed in.

use crate::helpers::*;
use hutong::domain::Role;
use serde_json::{Value, json};
use std::process::Command;

fn hutong(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("hutong runs")
}

fn rect(west: f64, south: f64, east: f64, north: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]})
}

fn area(level: &str, code: &str, parent: Option<&str>, geometry: Value) -> Value {
    let mut properties = json!({"level": level, "code": code, "name": code});
    if let Some(parent) = parent {
        properties["parent"] = json!(parent);
    }
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

#[tokio::test]
async fn cases_take_district_street_and_community_from_the_areas() {
    let app = spawn_demo().await;
    let operator = app.token(Role::Operator, None).await;
    let areas = app.get_json("/v1/areas").await;
    assert_eq!(areas["numberReturned"], 6, "{areas}");
    assert!(
        areas["features"]
            .as_array()
            .expect("features")
            .iter()
            .all(|f| f["properties"]["approximate"] == true)
    );
    let streets = app.get_json("/v1/areas?level=street").await;
    assert_eq!(streets["numberReturned"], 2);
    let page = app.get_json("/v1/areas?limit=4&offset=4").await;
    assert_eq!(page["numberMatched"], 6);
    assert_eq!(page["numberReturned"], 2);
    let at = app.get_json("/v1/areas/at?lon=116.3940&lat=39.9435").await;
    assert_eq!(
        at,
        json!({"district": "dongcheng", "street": "dongcheng-jiaodaokou",
               "community": "dongcheng-jiaodaokou-zhonglouwan"})
    );

    // A district typed in gives way to the one the location lies in.
    let case = app
        .file_complaint(
            &operator,
            &json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3940, 39.9435]},
                "properties": {"case_number": "AREA-1", "channel": "phone", "category": "illegal_construction",
                    "description": "A shed across the lane", "district": "changping"}}),
        )
        .await;
    let p = &case["properties"];
    assert_eq!(p["district"], "dongcheng", "{case}");
    assert_eq!(p["street"], "dongcheng-jiaodaokou");
    assert_eq!(p["community"], "dongcheng-jiaodaokou-zhonglouwan");
    // No rule decides: the street's own office is suggested.
    assert_eq!(p["suggested_unit"]["unit"], "dongcheng-jiaodaokou-street");
    // A case located by its address gets its areas too.
    let by_address = app
        .file_complaint(
            &operator,
            &json!({"type": "Feature", "geometry": null,
                "properties": {"case_number": "AREA-2", "channel": "phone", "category": "other",
                    "description": "Question", "address": "Zhonglouwan Hutong 5"}}),
        )
        .await;
    assert_eq!(by_address["properties"]["street"], "dongcheng-jiaodaokou");
    let listed = app
        .get_json("/v1/complaints?street=dongcheng-jiaodaokou&limit=1000")
        .await;
    let total = listed["numberMatched"].as_u64().expect("count");
    assert!(total >= 2, "{total}");
    let in_community = app
        .get_json("/v1/complaints?community=changping-huilongguan-longze&limit=1")
        .await;
    assert!(in_community["numberMatched"].as_u64().expect("count") > 0);
    for q in [
        "level=county",
        "colour=1",
        "limit=0",
        "limit=101",
        "offset=-1",
    ] {
        assert_problem(app.get(&format!("/v1/areas?{q}")).await, 400, q).await;
    }
    for q in ["lon=116.39", "lon=200&lat=39.9", "lon=x&lat=1"] {
        assert_problem(app.get(&format!("/v1/areas/at?{q}")).await, 400, q).await;
    }
    assert_problem(app.get("/v1/complaints?street=Bad!").await, 400, "street").await;
}

#[tokio::test]
async fn assets_take_street_and_community_from_the_areas_never_from_the_writer() {
    let app = spawn_demo().await;
    let admin = app.token(Role::Admin, None).await;
    let inside = app
        .create(
            &admin,
            &point_feature(
                "light",
                116.3940,
                39.9435,
                json!({"light_type": "street", "street": "made-up", "community": "typed-in"}),
            ),
        )
        .await;
    let p = &inside["properties"];
    assert_eq!(p["street"], "dongcheng-jiaodaokou", "{inside}");
    assert_eq!(p["community"], "dongcheng-jiaodaokou-zhonglouwan");
    // Outside every community: no community, whatever was sent.
    let outside = app
        .create(
            &admin,
            &point_feature(
                "light",
                116.45,
                39.93,
                json!({"light_type": "street", "community": "typed-in"}),
            ),
        )
        .await;
    assert_eq!(outside["properties"].get("community"), None, "{outside}");
    // The demo's assets were recorded with their areas, and filters use them.
    let id = inside["id"].as_i64().expect("id");
    let filtered = app
        .get_json("/collections/lights/items?filter=community%3D%27dongcheng-jiaodaokou-zhonglouwan%27&limit=10000")
        .await;
    let ids: Vec<i64> = filtered["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["id"].as_i64())
        .collect();
    assert!(ids.contains(&id), "{filtered}");
    let courtyard = app
        .get_json(
            "/collections/courtyards/items?filter=street%3D%27dongcheng-jiaodaokou%27&limit=1",
        )
        .await;
    assert!(
        courtyard["numberMatched"].as_u64().expect("count") > 0,
        "{courtyard}"
    );
}

// Several threads: `hutong()` blocks its thread while the CLI runs, and a
// server task frozen on a one-thread runtime could hold SQLite's write
// lock the whole time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_areas_checks_everything_and_stores_all_or_nothing() {
    // `import-areas` is an offline command: the server reads areas when
    // it starts. It runs here with the server stopped.
    let app = spawn_app().await;
    let db = app.db_url.clone();
    let dir_kept = app.stop().await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let write = |name: &str, value: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).expect("written");
        path.display().to_string()
    };
    let district = area(
        "district",
        "xicheng",
        None,
        rect(116.30, 39.85, 116.40, 39.96),
    );
    let street = area(
        "street",
        "xicheng-shichahai",
        Some("xicheng"),
        rect(116.37, 39.93, 116.40, 39.95),
    );
    let mut bowtie = area(
        "street",
        "xicheng-bowtie",
        Some("xicheng"),
        rect(116.31, 39.86, 116.32, 39.87),
    );
    bowtie["geometry"]["coordinates"] = json!([[
        [116.31, 39.86],
        [116.32, 39.87],
        [116.32, 39.86],
        [116.31, 39.87],
        [116.31, 39.86]
    ]]);
    let bad: Vec<(&str, Value)> = vec![
        (
            "an unknown level",
            collection(vec![area(
                "county",
                "xicheng",
                None,
                rect(116.30, 39.85, 116.40, 39.96),
            )]),
        ),
        (
            "a district code that is no district",
            collection(vec![area(
                "district",
                "atlantis",
                None,
                rect(116.30, 39.85, 116.40, 39.96),
            )]),
        ),
        (
            "a missing parent",
            collection(vec![area(
                "street",
                "orphan",
                Some("nowhere"),
                rect(116.37, 39.93, 116.40, 39.95),
            )]),
        ),
        (
            "a street without a parent",
            collection(vec![
                district.clone(),
                area("street", "loose", None, rect(116.37, 39.93, 116.40, 39.95)),
            ]),
        ),
        (
            "a child outside its parent",
            collection(vec![
                district.clone(),
                area(
                    "street",
                    "far",
                    Some("xicheng"),
                    rect(116.60, 39.93, 116.62, 39.95),
                ),
            ]),
        ),
        (
            "a crossing ring",
            collection(vec![district.clone(), bowtie]),
        ),
        (
            "outside the service area",
            collection(vec![area(
                "district",
                "xicheng",
                None,
                rect(10.0, 10.0, 11.0, 11.0),
            )]),
        ),
        ("an unknown property", {
            let mut d = district.clone();
            d["properties"]["colour"] = json!("red");
            collection(vec![d])
        }),
        (
            "a code given twice",
            collection(vec![district.clone(), district.clone()]),
        ),
        (
            "a point",
            collection(vec![area(
                "district",
                "xicheng",
                None,
                json!({"type": "Point", "coordinates": [116.35, 39.9]}),
            )]),
        ),
        ("an empty collection", collection(vec![])),
        ("not a collection", json!({"type": "Feature"})),
    ];
    for (i, (what, file)) in bad.iter().enumerate() {
        let path = write(&format!("bad-{i}.geojson"), file);
        let out = hutong(&["import-areas", &path, "--db", &db]);
        assert!(!out.status.success(), "{what} was imported");
        assert!(!out.stderr.is_empty(), "{what}: no reason given");
    }
    let app = spawn_on(dir_kept, false).await;
    assert_eq!(
        app.get_json("/v1/areas").await["numberReturned"],
        0,
        "nothing stored"
    );
    let dir_kept = app.stop().await;

    let good = write(
        "good.geojson",
        &collection(vec![street.clone(), district.clone()]),
    );
    let out = hutong(&["import-areas", &good, "--db", &db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 areas"));
    let app = spawn_on(dir_kept, false).await;
    let listed = app.get_json("/v1/areas").await;
    assert_eq!(listed["numberReturned"], 2, "{listed}");
    let at = app.get_json("/v1/areas/at?lon=116.38&lat=39.94").await;
    assert_eq!(at["street"], "xicheng-shichahai");
    // Importing the same code again replaces it.
    let mut renamed = street.clone();
    renamed["properties"]["name"] = json!("Shichahai Street");
    let again = write("again.geojson", &collection(vec![renamed]));
    let dir_kept = app.stop().await;
    let out = hutong(&["import-areas", &again, "--db", &db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = spawn_on(dir_kept, false).await;
    let streets = app.get_json("/v1/areas?level=street").await;
    assert_eq!(
        streets["features"][0]["properties"]["name"],
        "Shichahai Street"
    );
}

#[tokio::test]
async fn a_district_scoped_token_writes_only_inside_its_districts_boundary() {
    let app = spawn_demo().await;
    let dongcheng = app
        .token(Role::Planner, Some(hutong::domain::District::Dongcheng))
        .await;
    // Recorded as Dongcheng, but standing in Huilongguan: refused.
    let mut astray = light(116.3300, 40.0690);
    astray["properties"]["district"] = json!("dongcheng");
    let before = app.asset_count().await;
    assert_problem(
        app.post_feature(&dongcheng, &astray).await,
        403,
        "outside the boundary",
    )
    .await;
    assert_eq!(app.asset_count().await, before, "nothing stored");
    // Inside Dongcheng: stored.
    let mut home = light(116.3940, 39.9435);
    home["properties"]["district"] = json!("dongcheng");
    app.create(&dongcheng, &home).await;
    // An asset's district is where it is: typed wrong, it is derived.
    let planner = app.token(Role::Planner, None).await;
    let mut mislabelled = light(116.3300, 40.0690);
    mislabelled["properties"]["district"] = json!("dongcheng");
    let stored = app.create(&planner, &mislabelled).await;
    assert_eq!(stored["properties"]["district"], "changping", "{stored}");
}

/// The names of a vector tile's layers and, for each, the `code` tags of
/// its features.
async fn tile_codes(app: &TestApp, z: u32, x: u32, y: u32) -> Vec<(String, Vec<String>)> {
    use geozero::mvt::{Message, Tile};
    let response = app
        .client
        .get(app.url(&format!("/tiles/{z}/{x}/{y}.mvt")))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    let tile = Tile::decode(bytes.as_ref()).expect("a vector tile");
    tile.layers
        .iter()
        .map(|layer| {
            let codes = layer
                .features
                .iter()
                .filter_map(|f| {
                    f.tags.chunks(2).find_map(|kv| {
                        (layer.keys[kv[0] as usize] == "code")
                            .then(|| layer.values[kv[1] as usize].string_value.clone())
                            .flatten()
                    })
                })
                .collect();
            (layer.name.clone(), codes)
        })
        .collect()
}

fn ids(page: &Value) -> Vec<&str> {
    page["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect()
}

#[tokio::test]
async fn areas_are_ogc_collections_and_tile_layers() {
    let app = spawn_demo().await;
    let collections = app.get_json("/collections").await;
    let streets = collections["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .find(|c| c["id"] == "streets")
        .expect("a streets collection")
        .clone();
    let bbox = &streets["extent"]["spatial"]["bbox"][0];
    // The two demo streets: Jiaodaokou (Dongcheng) to Huilongguan (Changping).
    assert!(bbox[0].as_f64().expect("west") > 116.2, "{streets}");
    assert!(bbox[3].as_f64().expect("north") > 40.0, "{streets}");

    let page = app.get_json("/collections/streets/items").await;
    assert_eq!(page["numberMatched"], 2, "{page}");
    assert_eq!(
        ids(&page),
        ["changping-huilongguan", "dongcheng-jiaodaokou"]
    );
    let first = &page["features"][0];
    assert_eq!(first["geometry"]["type"], "MultiPolygon");
    assert_eq!(first["properties"]["level"], "street");
    assert_eq!(first["properties"]["parent"], "changping");
    assert_eq!(first["properties"]["approximate"], true);

    // A box, a CQL2 filter and a sort, as on every collection.
    let inner = app
        .get_json("/collections/communities/items?bbox=116.390,39.940,116.398,39.946")
        .await;
    assert_eq!(ids(&inner), ["dongcheng-jiaodaokou-zhonglouwan"]);
    let filtered = app
        .get_json("/collections/streets/items?filter=parent%3D%27dongcheng%27")
        .await;
    assert_eq!(ids(&filtered), ["dongcheng-jiaodaokou"]);
    let zh = app
        .get_json(
            "/collections/districts/items?filter=name_zh%20LIKE%20%27%25%E6%98%8C%E5%B9%B3%25%27",
        )
        .await;
    assert_eq!(ids(&zh), ["changping"]);
    let sorted = app
        .get_json("/collections/districts/items?sortby=-code")
        .await;
    assert_eq!(ids(&sorted), ["dongcheng", "changping"]);
    let paged = app.get_json("/collections/districts/items?limit=1").await;
    assert_eq!(
        (
            paged["numberMatched"].as_u64(),
            paged["numberReturned"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let next = paged["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "next")
        .and_then(|l| l["href"].as_str())
        .expect("a next link");
    assert!(next.contains("offset=1"), "{next}");

    // One area by its code, only in its own level's collection.
    let one = app
        .get_json("/collections/communities/items/dongcheng-jiaodaokou-zhonglouwan")
        .await;
    assert_eq!(one["properties"]["name_zh"], "钟楼湾社区（示意）");
    for path in [
        "/collections/streets/items/dongcheng-jiaodaokou-zhonglouwan",
        "/collections/streets/items/no-such-street",
        "/collections/streets/items/NOT%20A%20CODE",
    ] {
        assert_problem(app.get(path).await, 404, path).await;
    }
    let queryables = app.get_json("/collections/streets/queryables").await;
    for name in [
        "code",
        "name",
        "name_zh",
        "parent",
        "approximate",
        "geometry",
    ] {
        assert!(
            queryables["properties"][name].is_object(),
            "{name}: {queryables}"
        );
    }
    // Codes are the ids: there is no numeric id to filter or sort on.
    for path in [
        "/collections/streets/items?filter=id%3D1",
        "/collections/streets/items?sortby=id",
        "/collections/streets/items?filter=population%3E1",
    ] {
        assert_problem(app.get(path).await, 400, path).await;
    }
    // Read-only: areas come in through `hutong import-areas`.
    let admin = app.token(Role::Admin, None).await;
    let written = app
        .client
        .post(app.url("/collections/districts/items"))
        .bearer_auth(&admin)
        .header("content-type", "application/geo+json")
        .json(&area(
            "district",
            "dongcheng",
            None,
            rect(116.3, 39.9, 116.4, 40.0),
        ))
        .send()
        .await
        .expect("sent");
    assert_problem(written, 405, "POST to districts").await;
    let stored = app.get_json("/collections/districts/items").await;
    assert_eq!(stored["numberMatched"], 2);

    // The tile over Zhonglouwan has the area layers from their zooms on.
    let layers = tile_codes(&app, 14, 13489, 6205).await;
    let codes_of = |name: &str| {
        layers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, codes)| codes.clone())
            .unwrap_or_default()
    };
    assert_eq!(codes_of("districts"), ["dongcheng"], "{layers:?}");
    assert_eq!(codes_of("streets"), ["dongcheng-jiaodaokou"]);
    assert_eq!(
        codes_of("communities"),
        ["dongcheng-jiaodaokou-zhonglouwan"]
    );
    let shallow = tile_codes(&app, 9, 421, 193).await;
    assert!(
        shallow
            .iter()
            .any(|(n, c)| n == "districts" && c.contains(&"dongcheng".to_string())),
        "{shallow:?}"
    );
    assert!(
        !shallow
            .iter()
            .any(|(n, _)| n == "streets" || n == "communities")
    );
    let tilejson = app.get_json("/tiles.json").await;
    let layer_ids: Vec<&str> = tilejson["vector_layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert!(layer_ids.contains(&"communities"), "{layer_ids:?}");
}

/// A district-scoped planner's facility must lie inside its district's
/// boundary whole: with an L-shaped Dongcheng imported, a triangle whose
/// three corners are inside the L but whose long edge crosses the notch
/// is refused; one inside is planned.
#[tokio::test]
async fn a_scoped_facility_plan_lies_inside_its_districts_boundary_whole() {
    let app = spawn_app().await;
    let db = app.db_url.clone();
    let dir_kept = app.stop().await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let l_shape = json!({"type": "Polygon", "coordinates": [[
        [116.40, 39.90], [116.44, 39.90], [116.44, 39.92], [116.42, 39.92],
        [116.42, 39.94], [116.40, 39.94], [116.40, 39.90]
    ]]});
    let path = dir.path().join("l.geojson");
    std::fs::write(
        &path,
        collection(vec![area("district", "dongcheng", None, l_shape)]).to_string(),
    )
    .expect("written");
    let out = hutong(&["import-areas", &path.display().to_string(), "--db", &db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = spawn_on(dir_kept, false).await;
    let dongcheng = app
        .token(Role::Planner, Some(hutong::domain::District::Dongcheng))
        .await;
    let triangle = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| json!({"type": "Polygon", "coordinates": [[a, b, c, a]]});
    let across = triangle([116.41, 39.93], [116.43, 39.915], [116.41, 39.915]);
    let problem = assert_problem(
        app.post_json(
            "/v1/plans",
            &dongcheng,
            &json!({"kind": "facility", "title": "Across the notch", "area": across, "inputs": {"facility_type": "park"}}),
        )
        .await,
        403,
        "an edge across the notch",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("reaches outside")),
        "{problem}"
    );
    let inside = triangle([116.405, 39.93], [116.415, 39.905], [116.405, 39.905]);
    let r = app
        .post_json(
            "/v1/plans",
            &dongcheng,
            &json!({"kind": "facility", "title": "Inside", "area": inside, "inputs": {"facility_type": "park"}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}
