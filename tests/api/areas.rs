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
