//! Every malformed, out-of-range or hostile request gets a clear 4xx
//! problem+json, and nothing is stored or changed.

use crate::helpers::*;
use hutong::domain::{District, Role};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    token: Option<String>,
    content_type: &'static str,
    body: String,
    status: u16,
    /// A word the problem's detail must contain.
    says: &'static str,
}

fn ring_of(n: usize) -> Value {
    let points: Vec<Value> = (0..=n)
        .map(|i| {
            let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            json!([116.39 + 0.001 * a.cos(), 39.94 + 0.001 * a.sin()])
        })
        .collect();
    Value::Array(points)
}

#[tokio::test]
async fn bad_creations_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let planner = app.token(Role::Planner, None).await;
    let crew = app.token(Role::Crew, None).await;
    let operator = app.token(Role::Operator, None).await;
    let changping = app.token(Role::Designer, Some(District::Changping)).await;
    let good = light(116.3951, 39.9412);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let courtyard_geometry = |coords: Value| {
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": coords},
               "properties": {"kind": "courtyard"}})
        .to_string()
    };
    let megabyte_ring = ring_of(40_000);
    let p = || Some(planner.clone());
    let json = "application/json";
    let cases = vec![
        Case { name: "wrong geometry for the kind", token: p(), content_type: json, status: 422, says: "Polygon",
            body: json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.39, 39.94]}, "properties": {"kind": "courtyard"}}).to_string() },
        Case { name: "lat 91", token: p(), content_type: json, status: 422, says: "latitude 91",
            body: with(&|v| v["geometry"]["coordinates"] = json!([116.39, 91.0])) },
        Case { name: "lon 181", token: p(), content_type: json, status: 422, says: "longitude 181",
            body: with(&|v| v["geometry"]["coordinates"] = json!([181.0, 39.9])) },
        Case { name: "NaN literal", token: p(), content_type: json, status: 400, says: "JSON",
            body: r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,39.9]},"properties":{"kind":"light","light_type":"wall"}}"#.into() },
        Case { name: "NaN as a string", token: p(), content_type: json, status: 422, says: "finite number",
            body: with(&|v| v["geometry"]["coordinates"] = json!(["NaN", 39.9])) },
        Case { name: "number too large for a double", token: p(), content_type: json, status: 400, says: "JSON",
            body: r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1e400,39.9]},"properties":{"kind":"light","light_type":"wall"}}"#.into() },
        Case { name: "open ring", token: p(), content_type: json, status: 422, says: "not closed",
            body: courtyard_geometry(json!([[[116.39, 39.94], [116.40, 39.94], [116.40, 39.95], [116.39, 39.95]]])) },
        Case { name: "bow-tie polygon", token: p(), content_type: json, status: 422, says: "intersects itself",
            body: courtyard_geometry(json!([[[116.39, 39.94], [116.40, 39.95], [116.40, 39.94], [116.39, 39.95], [116.39, 39.94]]])) },
        Case { name: "1 MB of vertices", token: p(), content_type: json, status: 422, says: "vertices",
            body: courtyard_geometry(json!([megabyte_ring])) },
        Case { name: "body over the size limit", token: p(), content_type: json, status: 413, says: "",
            body: courtyard_geometry(json!([ring_of(400_000)])) },
        Case { name: "unknown kind", token: p(), content_type: json, status: 422, says: "unknown asset kind",
            body: with(&|v| v["properties"]["kind"] = json!("tree")) },
        Case { name: "unknown attribute", token: p(), content_type: json, status: 422, says: "unknown field `colour`",
            body: with(&|v| v["properties"]["colour"] = json!("red")) },
        Case { name: "wrong attribute type", token: p(), content_type: json, status: 422, says: "invalid type",
            body: with(&|v| v["properties"]["power_w"] = json!("thirty")) },
        Case { name: "attribute out of range", token: p(), content_type: json, status: 422, says: "between",
            body: with(&|v| v["properties"]["reach_m"] = json!(1e6)) },
        Case { name: "missing required attribute", token: p(), content_type: json, status: 422, says: "light_type",
            body: with(&|v| { v["properties"].as_object_mut().map(|p| p.remove("light_type")); }) },
        Case { name: "no properties", token: p(), content_type: json, status: 422, says: "required",
            body: json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.39, 39.94]}}).to_string() },
        Case { name: "no geometry", token: p(), content_type: json, status: 422, says: "required",
            body: with(&|v| v["geometry"] = Value::Null) },
        Case { name: "not a Feature", token: p(), content_type: json, status: 422, says: "Feature",
            body: json!({"type": "FeatureCollection", "features": []}).to_string() },
        Case { name: "not JSON", token: p(), content_type: json, status: 400, says: "JSON",
            body: "<Feature/>".into() },
        Case { name: "a JSON array", token: p(), content_type: json, status: 422, says: "Feature",
            body: "[]".into() },
        Case { name: "wrong content type", token: p(), content_type: "text/plain", status: 415, says: "application/json",
            body: good.to_string() },
        Case { name: "missing token", token: None, content_type: json, status: 401, says: "token",
            body: good.to_string() },
        Case { name: "unknown token", token: Some("hut_0000".into()), content_type: json, status: 401, says: "unknown",
            body: good.to_string() },
        Case { name: "wrong role: crew", token: Some(crew.clone()), content_type: json, status: 403, says: "crew",
            body: good.to_string() },
        Case { name: "wrong role: operator", token: Some(operator.clone()), content_type: json, status: 403, says: "operator",
            body: good.to_string() },
        Case { name: "token scoped to another district", token: Some(changping.clone()), content_type: json, status: 403, says: "district",
            body: good.to_string() },
    ];
    for case in cases {
        let mut request = app
            .client
            .post(app.url("/v1/assets"))
            .header("content-type", case.content_type)
            .body(case.body);
        if let Some(token) = &case.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sent");
        let problem = assert_problem(response, case.status, case.name).await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(case.says), "{}: {detail}", case.name);
        assert_eq!(app.asset_count().await, 0, "{} stored something", case.name);
    }
    // Validation problems point at the offending field.
    let response = app
        .post_feature(
            &planner,
            &serde_json::from_str(&with(&|v| {
                v["geometry"]["coordinates"] = json!([116.39, 91.0])
            }))
            .expect("json"),
        )
        .await;
    let problem = assert_problem(response, 422, "pointer").await;
    assert_eq!(problem["errors"][0]["pointer"], "/geometry/coordinates/1");
    // A bare token is no Bearer.
    let response = app
        .client
        .post(app.url("/v1/assets"))
        .header("authorization", planner.clone())
        .json(&good)
        .send()
        .await
        .expect("sent");
    assert_problem(response, 401, "no Bearer scheme").await;
    assert_eq!(app.asset_count().await, 0);
}

#[tokio::test]
async fn bad_updates_change_nothing() {
    let app = spawn_app().await;
    let planner = app.token(Role::Planner, None).await;
    let crew = app.token(Role::Crew, None).await;
    let created = app.create(&planner, &light(116.3951, 39.9412)).await;
    let path = format!("/v1/assets/{}", created["id"]);
    // Move it once so that version 1 is stale.
    let response = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&planner)
        .json(&json!({"properties": {"status": "faulty"}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let current = app.get_json(&path).await;

    let moved = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.40, 39.95]},
        "properties": {"kind": "light", "light_type": "street"}});
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("stale If-Match on PUT", app.client.put(app.url(&path)).bearer_auth(&planner).header("if-match", "\"1\"").json(&moved), 412),
        ("stale If-Match on PATCH", app.client.patch(app.url(&path)).bearer_auth(&planner).header("if-match", "\"1\"").json(&json!({"properties": {"status": "off"}})), 412),
        ("stale If-Match on DELETE", app.client.delete(app.url(&path)).bearer_auth(&planner).header("if-match", "\"1\""), 412),
        ("weak If-Match", app.client.delete(app.url(&path)).bearer_auth(&planner).header("if-match", "W/\"2\""), 412),
        ("garbage If-Match", app.client.delete(app.url(&path)).bearer_auth(&planner).header("if-match", "version-2"), 400),
        ("kind change", app.client.patch(app.url(&path)).bearer_auth(&planner).json(&json!({"properties": {"kind": "drainage"}})), 422),
        ("PUT of an invalid feature", app.client.put(app.url(&path)).bearer_auth(&planner).json(&json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.4, 95.0]}, "properties": {"kind": "light", "light_type": "wall"}})), 422),
        ("PATCH with an unknown member", app.client.patch(app.url(&path)).bearer_auth(&planner).json(&json!({"colour": "red"})), 422),
        ("PATCH with a bad value", app.client.patch(app.url(&path)).bearer_auth(&planner).json(&json!({"properties": {"sensor": "sonar"}})), 422),
        ("PATCH without token", app.client.patch(app.url(&path)).json(&json!({"properties": {"status": "off"}})), 401),
        ("DELETE by crew", app.client.delete(app.url(&path)).bearer_auth(&crew), 403),
        ("PUT on a missing asset", app.client.put(app.url("/v1/assets/999999")).bearer_auth(&planner).json(&moved), 404),
        ("DELETE of a missing asset", app.client.delete(app.url("/v1/assets/999999")).bearer_auth(&planner), 404),
        ("non-numeric id", app.client.delete(app.url("/v1/assets/abc")).bearer_auth(&planner), 400),
        ("negative id", app.client.get(app.url("/v1/assets/-3")), 400),
        ("id past i64", app.client.get(app.url("/v1/assets/99999999999999999999")), 400),
        ("unsupported method", app.client.post(app.url(&path)).bearer_auth(&planner).json(&moved), 405),
    ];
    for (name, request, status) in cases {
        let response = request.send().await.expect("sent");
        assert_problem(response, status, name).await;
        assert_eq!(
            app.get_json(&path).await,
            current,
            "{name} changed the asset"
        );
    }
    assert_eq!(app.asset_count().await, 1);
}

#[tokio::test]
async fn bad_queries_are_400() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/assets?bbox=1,2,3", "four numbers"),
        ("/v1/assets?bbox=1,2,3,4,5", "four numbers"),
        ("/v1/assets?bbox=116.5,39.9,116.4,40.0", "greater than"),
        ("/v1/assets?bbox=116.4,39.9,116.5,95", "outside"),
        ("/v1/assets?bbox=a,b,c,d", "finite"),
        ("/v1/assets?limit=0", "between 1 and 10000"),
        ("/v1/assets?limit=10001", "between 1 and 10000"),
        ("/v1/assets?limit=-1", "limit"),
        ("/v1/assets?limit=abc", "limit"),
        ("/v1/assets?offset=-5", "offset"),
        ("/v1/assets?kind=tree", "unknown asset kind"),
        ("/v1/assets?colour=red", "colour"),
        ("/v1/assets/nearby?lat=39.9", "lon is required"),
        ("/v1/assets/nearby?lon=116.39&lat=91", "lat must be"),
        ("/v1/assets/nearby?lon=NaN&lat=39.9", "lon must be"),
        ("/v1/assets/nearby?lon=inf&lat=39.9", "lon must be"),
        (
            "/v1/assets/nearby?lon=116.39&lat=39.9&radius_m=-1",
            "radius_m",
        ),
        (
            "/v1/assets/nearby?lon=116.39&lat=39.9&radius_m=1e9",
            "radius_m",
        ),
        ("/v1/assets/nearby?lon=116.39&lat=39.9&limit=0", "limit"),
        ("/v1/assets/nearby?lon=116.39&lat=39.9&limit=1001", "limit"),
        (
            "/v1/assets/nearby?lon=116.39&lat=39.9&kind=light,tree",
            "unknown asset kind",
        ),
        ("/v1/assets/nearby?lon=116.39&lat=39.9&within=5", "within"),
        ("/v1/nothing-here", "no resource"),
    ];
    for (path, says) in cases {
        let status = if path.starts_with("/v1/nothing") {
            404
        } else {
            400
        };
        let problem = assert_problem(app.get(path).await, status, path).await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(says), "{path}: {detail}");
    }
}
