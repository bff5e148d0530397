//! GeoPackage for designers: the export read by GDAL's ogrinfo, edited
//! as a designer would in QGIS (a name changed, a courtyard drawn, a
//! survey added), imported back with the same checks as every import,
//! and a bad row refusing the whole file.

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

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs statements on a GeoPackage (a SQLite file), as an editor would.
async fn edit(path: &std::path::Path, statements: &[String]) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("gpkg opens");
    for s in statements {
        sqlx::query(s)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    pool.close().await;
}

/// ogrinfo's summary: each layer's feature count.
fn ogr_counts(path: &std::path::Path) -> Vec<(String, i64)> {
    let out = Command::new("ogrinfo")
        .args(["-so", "-al", "-ro"])
        .arg(path)
        .output()
        .expect("ogrinfo runs (GDAL)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut counts = Vec::new();
    let mut layer = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layer = Some(name.trim().to_string());
        }
        if let Some(n) = line.strip_prefix("Feature Count: ") {
            let l = layer.take().expect("a count follows its layer's name");
            counts.push((l, n.trim().parse().expect("a count")));
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GDAL (ogrinfo): scripts/test.sh installs it and runs this"]
async fn a_geopackage_goes_out_to_gdal_and_comes_back() {
    let app = spawn_demo().await;
    let designer = app.token(Role::Designer, None).await;
    let courtyards = app.get_json("/v1/assets?kind=courtyard&limit=1000").await;
    let courtyard = courtyards["features"][0]["id"].as_i64().expect("id");
    let count_of = |kind: &str| {
        let app = &app;
        let kind = kind.to_string();
        async move {
            app.get_json(&format!("/v1/assets?kind={kind}&limit=1"))
                .await["numberMatched"]
                .as_i64()
                .expect("count")
        }
    };
    let survey: Value = app
        .post_json(
            "/v1/surveys",
            &designer,
            &json!({"asset_id": courtyard, "conditions": {"paving": 3}}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let gpkg = app.dir.path().join("field.gpkg");
    let printed = ok(&hutong(&[
        "export",
        "--format",
        "gpkg",
        "--out",
        gpkg.to_str().expect("path"),
        "--db",
        &app.db_url,
    ]));
    assert!(printed.contains("courtyards: "), "{printed}");

    // GDAL reads every layer, with the counts the API gives.
    let counts = ogr_counts(&gpkg);
    let mut expected = Vec::new();
    for (layer, kind) in [
        ("courtyards", "courtyard"),
        ("buildings", "building"),
        ("lanes", "lane"),
        ("drainage", "drainage"),
        ("lights", "light"),
        ("chargers", "charger"),
        ("facilities", "facility"),
    ] {
        expected.push((layer.to_string(), count_of(kind).await));
    }
    expected.push(("surveys".to_string(), 1));
    assert_eq!(counts, expected);
    // Exporting over an existing file is refused.
    assert!(
        !hutong(&[
            "export",
            "--format",
            "gpkg",
            "--out",
            gpkg.to_str().expect("path"),
            "--db",
            &app.db_url
        ])
        .status
        .success()
    );

    // Unchanged, it imports as unchanged.
    let db_url = app.db_url.clone();
    let dir = app.stop().await;
    let report: Value = serde_json::from_str(&ok(&hutong(&[
        "import",
        gpkg.to_str().expect("path"),
        "--db",
        &db_url,
    ])))
    .expect("a JSON report");
    assert_eq!(report["created"], json!({}), "{report}");
    assert_eq!(report["updated"], json!({}));
    assert_eq!(report["surveys_already_recorded"], 1);

    // A designer renames a yard, draws a new one and adds a survey.
    edit(&gpkg, &[
        format!("UPDATE courtyards SET name = 'Renamed Yard' WHERE asset_id = {courtyard}"),
        format!("INSERT INTO courtyards (geom, name, district) SELECT geom, 'New Yard', district FROM courtyards WHERE asset_id = {courtyard}"),
        format!("INSERT INTO surveys (geom, asset_id, surveyor, paving, drainage, floor_height_m, lane_height_m) VALUES (NULL, {courtyard}, 'QGIS', 2, 3, 43.1, 43.3)"),
    ]).await;
    let report: Value = serde_json::from_str(&ok(&hutong(&[
        "import",
        gpkg.to_str().expect("path"),
        "--db",
        &db_url,
    ])))
    .expect("a JSON report");
    assert_eq!(report["updated"]["courtyards"], 1, "{report}");
    assert_eq!(report["created"]["courtyards"], 1);
    assert_eq!(
        report["surveys"]["accepted"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert!(
        report["surveys"]["accepted"][0]["work_order_id"].is_i64(),
        "paving 2 opens a job"
    );

    // A row that breaks a rule refuses the whole file.
    edit(
        &gpkg,
        &[format!(
            "UPDATE courtyards SET condition = 9, name = 'Broken' WHERE asset_id = {courtyard}"
        )],
    )
    .await;
    let refused = hutong(&["import", gpkg.to_str().expect("path"), "--db", &db_url]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Nothing was imported"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let app = spawn_on(dir, false).await;
    let yard = app.get_json(&format!("/v1/assets/{courtyard}")).await;
    assert_eq!(yard["properties"]["name"], "Renamed Yard", "{yard}");
    assert_eq!(
        yard["properties"]["condition"], 2,
        "the new survey's worst element"
    );
    let named: Vec<Value> = app.get_json("/v1/assets?kind=courtyard&limit=1000").await["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["name"] == "New Yard")
        .cloned()
        .collect();
    assert_eq!(named.len(), 1);
    let history = app
        .get_json_as(&designer, &format!("/v1/surveys?asset_id={courtyard}"))
        .await;
    let surveyors: Vec<&str> = history["surveys"]
        .as_array()
        .expect("surveys")
        .iter()
        .map(|s| s["surveyor"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(surveyors, ["QGIS", "test"], "{history}");
    assert_ne!(history["surveys"][0]["id"], survey["id"]);
}
