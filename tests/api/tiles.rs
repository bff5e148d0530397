//! Live vector tiles over HTTP: layers per collection matching the
//! native API, gzip, ETags and 304s, edits visible in the next tile,
//! TileJSON, bad tile addresses, and GDAL's MVT driver reading a tile.

use crate::helpers::*;
use geozero::mvt::{Message, Tile};
use hutong::domain::Role;
use hutong::spatial::vector_tile::TileId;
use serde_json::{Value, json};
use std::io::Read;

/// The zoom-16 tile (XYZ) holding a point.
pub fn tile_of(lon: f64, lat: f64, z: u32) -> TileId {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    TileId::new(z, x, y).expect("tile")
}

async fn fetch(app: &TestApp, tile: TileId, etag: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(&format!("/tiles/{}/{}/{}.mvt", tile.z, tile.x, tile.y)))
        .header("accept-encoding", "gzip");
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.send().await.expect("sent")
}

pub async fn decode(response: reqwest::Response) -> Tile {
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    let gzipped = response
        .headers()
        .get("content-encoding")
        .map(|v| v == "gzip");
    // reqwest here does not decompress: the bytes are as sent.
    let bytes = response.bytes().await.expect("body");
    let raw = if gzipped == Some(true) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_ref())
            .read_to_end(&mut out)
            .expect("gunzips");
        out
    } else {
        bytes.to_vec()
    };
    Tile::decode(raw.as_slice()).expect("a vector tile")
}

/// The zoom-16 tile holding a point, fetched (200) and decoded.
pub async fn tile_at(app: &TestApp, lon: f64, lat: f64) -> Tile {
    let tile = tile_of(lon, lat, 16);
    let response = app
        .client
        .get(app.url(&format!("/tiles/{}/{}/{}.mvt", tile.z, tile.x, tile.y)))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    decode(response).await
}

pub fn layer_ids(tile: &Tile, name: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = tile
        .layers
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.features.iter().filter_map(|f| f.id).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The value of a tag of one feature.
pub fn tag(tile: &Tile, layer: &str, id: u64, key: &str) -> Option<String> {
    let layer = tile.layers.iter().find(|l| l.name == layer)?;
    let feature = layer.features.iter().find(|f| f.id == Some(id))?;
    feature.tags.chunks(2).find_map(|kv| {
        (layer.keys[kv[0] as usize] == key).then(|| {
            let v = &layer.values[kv[1] as usize];
            v.string_value.clone().unwrap_or_else(|| format!("{v:?}"))
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GDAL and the Python clients: scripts/test.sh installs them and runs this"]
async fn tiles_are_live_cached_by_etag_and_readable_by_gdal() {
    let app = spawn_demo().await;
    let first = app.get_json("/v1/assets?kind=light&limit=1").await;
    let c = &first["features"][0]["geometry"]["coordinates"];
    let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
    let light_id = first["features"][0]["id"].as_u64().expect("id");
    let tile = tile_of(lon, lat, 16);

    let response = fetch(&app, tile, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let decoded = decode(response).await;

    // Each layer holds what the native API has in the tile's buffered box.
    let (w, s, e, n) = tile.lonlat_bounds();
    for (layer, kind) in [
        ("lights", "light"),
        ("buildings", "building"),
        ("lanes", "lane"),
        ("drainage", "drainage"),
    ] {
        let native = app
            .get_json(&format!(
                "/v1/assets?kind={kind}&bbox={w},{s},{e},{n}&limit=10000"
            ))
            .await;
        let mut expected: Vec<u64> = native["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].as_u64().expect("id"))
            .collect();
        expected.sort();
        assert_eq!(layer_ids(&decoded, layer), expected, "{layer}");
    }
    assert!(layer_ids(&decoded, "lights").contains(&light_id));
    let status = tag(&decoded, "lights", light_id, "status").expect("status tag");

    // Unchanged: 304 for the same ETag.
    let again = fetch(&app, tile, Some(&etag)).await;
    assert_eq!(again.status(), 304);

    // An edit shows in the very next request, with a new ETag.
    let planner = app.token(Role::Planner, None).await;
    let other = if status == "working" {
        "faulty"
    } else {
        "working"
    };
    let patched = app
        .client
        .patch(app.url(&format!("/v1/assets/{light_id}")))
        .bearer_auth(&planner)
        .json(&json!({"properties": {"status": other}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(patched.status(), 200);
    let response = fetch(&app, tile, Some(&etag)).await;
    assert_eq!(response.status(), 200, "the old ETag no longer matches");
    assert_ne!(response.headers()["etag"].to_str().expect("etag"), etag);
    let edited = decode(response).await;
    assert_eq!(
        tag(&edited, "lights", light_id, "status").as_deref(),
        Some(other)
    );
    let deleted = app
        .client
        .delete(app.url(&format!("/v1/assets/{light_id}")))
        .bearer_auth(&planner)
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), 204);
    let gone = decode(fetch(&app, tile, None).await).await;
    assert!(!layer_ids(&gone, "lights").contains(&light_id));

    // Shallow zooms leave out layers too dense to draw; the world tile is
    // valid and small.
    let world = decode(fetch(&app, TileId::new(0, 0, 0).expect("tile"), None).await).await;
    assert!(world.layers.is_empty());

    // TileJSON.
    let tilejson = app.get_json("/tiles.json").await;
    assert_eq!(tilejson["tilejson"], "3.0.0");
    assert_eq!(tilejson["tiles"][0], app.url("/tiles/{z}/{x}/{y}.mvt"));
    let layers: Vec<&str> = tilejson["vector_layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert_eq!(
        layers,
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
    assert_eq!(tilejson["vector_layers"][4]["fields"]["status"], "String");

    // GDAL's MVT driver reads the tile (uncompressed, as a file).
    let raw = app
        .client
        .get(app.url(&format!("/tiles/{}/{}/{}.mvt", tile.z, tile.x, tile.y)))
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("body");
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join(format!("{}.mvt", tile.y));
    std::fs::write(&path, &raw).expect("written");
    test_clients_python();
    let output = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .args([
            "-oo",
            &format!("Z={}", tile.z),
            "-oo",
            &format!("X={}", tile.x),
            "-oo",
            &format!("Y={}", tile.y),
        ])
        .arg(&path)
        .output()
        .expect("ogrinfo runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lights_in_gdal = said
        .split("Layer name: ")
        .find(|section| section.starts_with("lights"))
        .and_then(|section| section.split("Feature Count: ").nth(1))
        .and_then(|rest| rest.lines().next())
        .and_then(|n| n.trim().parse::<usize>().ok());
    assert_eq!(
        lights_in_gdal,
        Some(layer_ids(&gone, "lights").len()),
        "{said}"
    );
}

#[tokio::test]
async fn bad_tile_addresses_are_404() {
    let app = spawn_app().await;
    for path in [
        "/tiles/23/0/0.mvt",
        "/tiles/2/4/0.mvt",
        "/tiles/2/0/4.mvt",
        "/tiles/a/0/0.mvt",
        "/tiles/1/0/0.png",
        "/tiles/1/0/-1.mvt",
    ] {
        let body = assert_problem(app.get(path).await, 404, path).await;
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let body: Value = app.get_json("/tiles.json").await;
    assert_eq!(body["minzoom"], 0);
}

/// A light's `light_type` as each read shows it: nearby, the native
/// item, OGC items, the OGC item and its tile.
async fn light_type_everywhere(app: &TestApp, id: i64, lon: f64, lat: f64) -> Vec<Value> {
    let nearby = app
        .get_json(&format!("/v1/assets/nearby?lon={lon}&lat={lat}&limit=1"))
        .await;
    let item = app.get_json(&format!("/v1/assets/{id}")).await;
    let items = app
        .get_json("/collections/lights/items?bbox=116.39,39.94,116.40,39.945&limit=10")
        .await;
    let ogc_item = app
        .get_json(&format!("/collections/lights/items/{id}"))
        .await;
    let tiled = decode(fetch(app, tile_of(lon, lat, 16), None).await).await;
    vec![
        nearby["features"][0]["properties"]["light_type"].clone(),
        item["properties"]["light_type"].clone(),
        items["features"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["id"] == id))
            .map(|f| f["properties"]["light_type"].clone())
            .unwrap_or(Value::Null),
        ogc_item["properties"]["light_type"].clone(),
        Value::from(tag(&tiled, "lights", id as u64, "light_type")),
    ]
}

/// A PATCH of an attribute shows at once everywhere an asset is read,
/// each of which was read (and could have been kept) before the change.
#[tokio::test]
async fn an_attribute_change_shows_at_once_on_every_read() {
    let app = spawn_app().await;
    let planner = app.token(Role::Planner, None).await;
    let (lon, lat) = (116.3961, 39.9412);
    let created = app.create(&planner, &light(lon, lat)).await;
    let id = created["id"].as_i64().expect("id");
    let before = light_type_everywhere(&app, id, lon, lat).await;
    assert!(before.iter().all(|v| v == "wall"), "{before:?}");
    let patched = app
        .client
        .patch(app.url(&format!("/v1/assets/{id}")))
        .bearer_auth(&planner)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"properties": {"light_type": "street"}}).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(patched.status(), 200);
    let after = light_type_everywhere(&app, id, lon, lat).await;
    assert!(after.iter().all(|v| v == "street"), "{after:?}");
}

/// A courtyard shaped like a comb: `teeth` teeth (4 vertices each) along
/// a base `width` degrees wide, a legal polygon that is costly to clip.
fn comb(lon: f64, lat: f64, width: f64, teeth: usize) -> Value {
    let dx = width / teeth as f64;
    let (low, high) = (lat + 0.0002, lat + 0.0010);
    let mut ring = vec![[lon, lat], [lon + width, lat]];
    for i in (0..teeth).rev() {
        let x = lon + i as f64 * dx;
        ring.push([x + dx, high]);
        ring.push([x + dx / 2.0, high]);
        ring.push([x + dx / 2.0, low]);
        ring.push([x, low]);
    }
    ring.push([lon, lat]);
    json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"kind": "courtyard"}})
}

/// Issue 11's attack: anonymous clients asking for a tile full of costly
/// shapes stalled every other request, because tiles were built on the
/// async workers. Built off them, `/health` answers in a fraction of a
/// tile's time while the tiles are being built.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn costly_tiles_do_not_stall_other_requests() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("stall.db").display());
    let server = ServerProcess::start(&db);
    let store = hutong::store::open(&db).await.expect("store opens");
    let token = hutong::services::tokens::Tokens::new(store)
        .create(&hutong::store::TokenSpec::of(Role::Planner).labelled("test"))
        .await
        .expect("token")
        .0;
    let client = reqwest::Client::new();
    let (lon, lat) = (116.3951, 39.9412);
    for k in 0..3 {
        let response = client
            .post(server.url("/v1/assets"))
            .bearer_auth(&token)
            .json(&comb(lon, lat + f64::from(k) * 0.0002, 0.004, 500))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
    }
    let tile = tile_of(lon + 0.002, lat + 0.0005, 14);
    let tile_url = server.url(&format!("/tiles/{}/{}/{}.mvt", tile.z, tile.x, tile.y));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loaders = Vec::new();
    for _ in 0..4 {
        let (client, url, stop) = (client.clone(), tile_url.clone(), stop.clone());
        loaders.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = std::time::Instant::now();
                let response = client.get(&url).send().await.expect("sent");
                assert_eq!(response.status(), 200);
                response.bytes().await.expect("tile");
                took.push(started.elapsed());
            }
            took
        }));
    }
    let mut health = Vec::new();
    let probing = std::time::Instant::now();
    while probing.elapsed() < std::time::Duration::from_secs(4) {
        let started = std::time::Instant::now();
        let response = client
            .get(server.url("/health"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        health.push(started.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut tiles = Vec::new();
    for loader in loaders {
        tiles.extend(loader.await.expect("loader"));
    }
    tiles.sort();
    health.sort();
    let tile_median = tiles[tiles.len() / 2];
    let health_p90 = health[health.len() * 9 / 10];
    assert!(
        health_p90 * 4 < tile_median,
        "/health took {health_p90:?} (90th percentile of {}) while a tile took {tile_median:?} (median of {})",
        health.len(),
        tiles.len()
    );
}
