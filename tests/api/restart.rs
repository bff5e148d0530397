use crate::helpers::*;
use hutong::domain::Role;
use serde_json::json;

/// A body with the server's base URL taken out of it (when it is text).
fn without_address(body: Vec<u8>, base: &str) -> Vec<u8> {
    match String::from_utf8(body) {
        Ok(text) => text.replace(base, "").into_bytes(),
        Err(e) => e.into_bytes(),
    }
}

#[tokio::test]
async fn a_restart_keeps_everything_and_the_index_answers_the_same() {
    let app = spawn_demo().await;
    let token = app.token(Role::Admin, None).await;
    let added = app.create(&token, &light(116.39415, 39.94290)).await;
    let moved_id =
        app.get_json("/v1/assets?kind=charger&limit=1").await["features"][0]["id"].clone();
    let response = app
        .client
        .patch(app.url(&format!("/v1/assets/{moved_id}")))
        .bearer_auth(&token)
        .json(&json!({"geometry": {"type": "Point", "coordinates": [116.3942, 39.9429]}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let deleted_id =
        app.get_json("/v1/assets?kind=drainage&limit=1").await["features"][0]["id"].clone();
    let response = app
        .client
        .delete(app.url(&format!("/v1/assets/{deleted_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 204);

    let queries = [
        "/v1/assets/nearby?lon=116.39415&lat=39.94273&limit=20",
        "/v1/assets/nearby?lon=116.3300&lat=40.0700&radius_m=300&limit=1000",
        "/v1/assets?bbox=116.392,39.942,116.395,39.944&limit=10000",
        "/v1/assets?kind=building&limit=10000",
        "/health",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(app.get_json(q).await);
    }
    // Byte for byte: what is served from memory after a restart is what
    // was served before it (the renderings are rebuilt from the same
    // stored assets). OGC item lists carry the time of the answer, so the
    // single items and a tile stand for the OGC API and tiles; links name
    // the server's address, which a restart here changes, so that is taken
    // out.
    let byte_queries = [
        "/v1/assets/nearby?lon=116.39415&lat=39.94273&limit=20".to_string(),
        "/v1/assets?kind=courtyard&limit=10000".to_string(),
        format!("/collections/lights/items/{}", added["id"]),
        "/tiles/16/53956/24824.mvt".to_string(),
    ];
    let mut bytes_before = Vec::new();
    for q in &byte_queries {
        let response = app.get(q).await;
        assert_eq!(response.status(), 200, "{q}");
        let body = response.bytes().await.expect("body").to_vec();
        bytes_before.push(without_address(body, &app.url("")));
    }
    let count = app.asset_count().await;
    let dir = app.stop().await;

    let again = spawn_on(dir, true).await;
    assert_eq!(
        again.asset_count().await,
        count,
        "the demo is not loaded twice"
    );
    for (q, was) in queries.iter().zip(&before) {
        assert_eq!(&again.get_json(q).await, was, "{q} differs after restart");
    }
    for (q, was) in byte_queries.iter().zip(&bytes_before) {
        let now = again.get(q).await.bytes().await.expect("body").to_vec();
        let now = without_address(now, &again.url(""));
        assert!(now == *was, "{q}: other bytes after the restart");
    }
    let after = again.get_json(&format!("/v1/assets/{}", added["id"])).await;
    assert_eq!(after, added);
    let near = again
        .get_json("/v1/assets/nearby?lon=116.3942&lat=39.9429&kind=charger&limit=1")
        .await;
    assert_eq!(near["features"][0]["id"], moved_id);
    assert_problem(
        again.get(&format!("/v1/assets/{deleted_id}")).await,
        404,
        "deleted stays deleted",
    )
    .await;
    // Tokens survive too.
    let response = again.post_feature(&token, &light(116.3941, 39.9428)).await;
    assert_eq!(response.status(), 201);
}

/// Complaints stored before cell keys existed (as after an upgrade) get
/// them when the store opens, and box queries find them again. (Cell keys
/// are the SQLite store's; PostgreSQL has a GiST index: this test runs on
/// SQLite in both halves of the suite.)
#[tokio::test]
async fn complaints_without_cell_keys_get_them_at_start() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("hutong.db").display());
    let settings = hutong::app::Settings {
        database_url: sqlite.clone(),
        listen: "127.0.0.1:0".into(),
        demo: true,
        ..hutong::app::Settings::default()
    };
    let app = spawn_with(dir, settings.clone()).await;
    let bbox = "/v1/complaints?bbox=116.39,39.94,116.40,39.95&limit=1000";
    let before = app.get_json(bbox).await["numberMatched"].clone();
    assert!(before.as_u64() > Some(0));
    let url = app.db_url.clone();
    let dir = app.stop().await;
    let pool = sqlx::SqlitePool::connect(&url).await.expect("pool");
    sqlx::query("UPDATE complaints SET cell = NULL")
        .execute(&pool)
        .await
        .expect("cleared");
    pool.close().await;
    let app = spawn_with(
        dir,
        hutong::app::Settings {
            demo: false,
            ..settings
        },
    )
    .await;
    assert_eq!(app.get_json(bbox).await["numberMatched"], before);
}

/// Start-up reads the SQLite store in id ranges: ids at the ends of i64
/// (a store copied with `migrate-store` keeps whatever ids it had) are
/// loaded, not lost to a range bound that wraps.
#[tokio::test]
async fn assets_with_extreme_ids_are_loaded_at_start() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("hutong.db").display());
    let settings = hutong::app::Settings {
        database_url: sqlite.clone(),
        listen: "127.0.0.1:0".into(),
        ..hutong::app::Settings::default()
    };
    let app = spawn_with(dir, settings.clone()).await;
    let token = app.token(Role::Admin, None).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let created = app
            .create(&token, &light(116.3941 + f64::from(i) * 0.0001, 39.9428))
            .await;
        ids.push(created["id"].as_i64().expect("id"));
    }
    let dir = app.stop().await;
    let pool = sqlx::SqlitePool::connect(&sqlite).await.expect("pool");
    for (id, extreme) in ids.iter().zip([i64::MIN + 1, -1, i64::MAX]) {
        sqlx::query("UPDATE assets SET id = ? WHERE id = ?")
            .bind(extreme)
            .bind(id)
            .execute(&pool)
            .await
            .expect("id moved");
    }
    pool.close().await;
    let app = spawn_with(dir, settings).await;
    assert_eq!(app.asset_count().await, 3);
    // (Ids below 1 are loaded but not addressable: the API takes ids ≥ 1.)
    let found = app.get_json(&format!("/v1/assets/{}", i64::MAX)).await;
    assert_eq!(found["id"], i64::MAX);
    let near = app
        .get_json("/v1/assets/nearby?lon=116.3942&lat=39.9428&radius_m=100&limit=10")
        .await;
    assert_eq!(near["numberReturned"], 3);
}
