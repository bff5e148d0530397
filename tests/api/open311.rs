//! Open311 GeoReport v2 over HTTP, and a client nobody on this project
//! wrote (`georeport` from PyPI) reading it in JSON and XML.

use crate::helpers::*;
use hutong::domain::{District, Role};
use serde_json::{Value, json};

/// Form fields of a POST.
type Fields = Vec<(String, String)>;

fn form(key: &str, extra: &[(&str, &str)]) -> Fields {
    let mut fields: Vec<(String, String)> = [
        ("api_key", key),
        ("service_code", "water_pooling"),
        ("lat", "39.9412"),
        ("long", "116.3951"),
        ("description", "Water pools by the gate after rain"),
        ("address_string", "Zhonglouwan Hutong 9"),
        ("first_name", "Wang"),
        ("last_name", "Fang"),
        ("phone", "13912345678"),
        ("jurisdiction_id", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        fields.retain(|(key, _)| key != k);
        fields.push((k.to_string(), v.to_string()));
    }
    fields
}

async fn post(app: &TestApp, format: &str, fields: &[(String, String)]) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/open311/v2/requests.{format}")))
        .form(fields)
        .send()
        .await
        .expect("sent")
}

async fn complaint_count(app: &TestApp) -> u64 {
    app.get_json("/v1/complaints?limit=1").await["numberMatched"]
        .as_u64()
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GDAL and the Python clients: scripts/test.sh installs them and runs this"]
async fn georeport_json_and_xml() {
    let app = spawn_app().await;
    // Scoped to Dongcheng: its cases get the district (this app has no
    // assets to derive one from), so they can be dispatched.
    let operator = app.token(Role::Operator, Some(District::Dongcheng)).await;

    let discovery = app.get_json("/open311/v2/discovery.json").await;
    assert_eq!(
        discovery["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let services = app.get_json("/open311/v2/services.json").await;
    assert_eq!(services.as_array().map(Vec::len), Some(13));
    assert_eq!(services[0]["service_code"], "water_pooling");
    assert_eq!(services[0]["group"], "Drainage");

    let response = post(&app, "json", &form(&operator, &[])).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id is a string")
        .to_string();
    let token = created[0]["token"].as_str().expect("token").to_string();

    let one = app
        .get_json(&format!("/open311/v2/requests/{id}.json"))
        .await;
    assert_eq!(one[0]["service_request_id"], id);
    assert_eq!(one[0]["status"], "open");
    assert_eq!(one[0]["status_notes"], "received; waiting to be dispatched");
    assert_eq!(one[0]["service_code"], "water_pooling");
    assert!(
        one[0]["requested_datetime"]
            .as_str()
            .expect("datetime")
            .ends_with("+08:00")
    );
    let text = one.to_string();
    assert!(
        !text.contains("13912345678") && !text.contains("Fang"),
        "no personal data in Open311: {text}"
    );
    // The native API has the caller, for operators.
    let native = app
        .client
        .get(app.url(&format!("/v1/complaints/{id}")))
        .bearer_auth(&operator)
        .send()
        .await
        .expect("sent");
    let native: Value = native.json().await.expect("json");
    assert_eq!(native["properties"]["caller_name"], "Wang Fang");
    assert_eq!(native["properties"]["channel"], "open311");

    let by_token = app
        .get_json(&format!("/open311/v2/tokens/{token}.json"))
        .await;
    assert_eq!(by_token[0]["service_request_id"], id);

    // GCJ-02 through the coord_sys attribute.
    let response = post(
        &app,
        "xml",
        &form(
            &operator,
            &[
                ("lat", "39.942604191332656"),
                ("long", "116.40134709357308"),
                ("attribute[coord_sys]", "gcj02"),
            ],
        ),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let xml = response.text().await.expect("body");
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{xml}"
    );
    let gcj_id = xml
        .split("<service_request_id>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("id in xml")
        .to_string();
    let converted = app
        .get_json(&format!("/open311/v2/requests/{gcj_id}.json"))
        .await;
    let dx = (converted[0]["long"].as_f64().expect("long") - 116.3951) * 85_354.0;
    let dy = (converted[0]["lat"].as_f64().expect("lat") - 39.9412) * 111_035.0;
    assert!(dx.hypot(dy) < 0.5, "{dx}, {dy}");

    // Lists: both requests were reported now, so the default window of the
    // last 90 days holds them; then filters, paging and XML.
    let open = app
        .get_json("/open311/v2/requests.json?status=open&service_code=water_pooling")
        .await;
    assert_eq!(open.as_array().map(Vec::len), Some(2));
    let closed = app
        .get_json("/open311/v2/requests.json?status=closed")
        .await;
    assert_eq!(closed.as_array().map(Vec::len), Some(0));
    let empty_params = app
        .get_json("/open311/v2/requests.json?status=&service_code=&start_date=")
        .await;
    assert_eq!(empty_params.as_array().map(Vec::len), Some(2));
    let paged = app
        .get_json("/open311/v2/requests.json?page_size=1&page=2")
        .await;
    assert_eq!(paged.as_array().map(Vec::len), Some(1));
    let listed = app
        .get(&format!(
            "/open311/v2/requests.xml?service_request_id={id},{gcj_id}"
        ))
        .await;
    assert_eq!(listed.status(), 200);
    let xml = listed.text().await.expect("body");
    assert_eq!(xml.matches("<request>").count(), 2, "{xml}");
    assert!(
        xml.contains("<service_requests>") && xml.contains("<status>open</status>"),
        "{xml}"
    );

    // Closing the case maps to closed, with the resolution as notes.
    let dispatched = app
        .post_json(
            &format!("/v1/complaints/{id}/dispatch"),
            &operator,
            &json!({"unit": "dongcheng-jiaodaokou-street"}),
        )
        .await;
    assert_eq!(dispatched.status(), 200);
    // The street office accepts and resolves.
    let street = app.unit_token("dongcheng-jiaodaokou-street").await;
    let accepted = app
        .post_json(&format!("/v1/complaints/{id}/accept"), &street, &json!({}))
        .await;
    assert_eq!(accepted.status(), 200);
    let resolved = app
        .post_json(
            &format!("/v1/complaints/{id}/transitions"),
            &street,
            &json!({"to": "resolved", "resolution": "gully cleared"}),
        )
        .await;
    assert_eq!(resolved.status(), 200);
    let done = app
        .get_json(&format!("/open311/v2/requests/{id}.json"))
        .await;
    assert_eq!(done[0]["status"], "closed");
    assert_eq!(
        done[0]["status_notes"],
        "resolved by Jiaodaokou Street Office: gully cleared; waiting for the call-back"
    );

    // A client nobody on this project wrote, on a request reported in
    // 2024, which the client finds by start_date.
    let root = app.url("/open311/v2");
    let said = run_python_client("tests/clients/open311_georeport.py", &[&root, &gcj_id]).await;
    assert!(
        said.contains("json ok") && said.contains("xml ok"),
        "{said}"
    );
}

#[tokio::test]
async fn open311_errors_follow_the_spec_and_store_nothing() {
    let app = spawn_app().await;
    let operator = app.token(Role::Operator, None).await;
    let planner = app.token(Role::Planner, None).await;
    let cases: Vec<(&str, Fields, u16, &str)> = vec![
        ("no api_key", form("", &[]), 403, "api_key"),
        ("unknown api_key", form("hut_nope", &[]), 403, "not valid"),
        (
            "api_key of the wrong role",
            form(&planner, &[]),
            403,
            "operator",
        ),
        (
            "unknown service",
            form(&operator, &[("service_code", "pothole")]),
            404,
            "service_code",
        ),
        (
            "no location",
            form(
                &operator,
                &[("lat", ""), ("long", ""), ("address_string", "")],
            ),
            400,
            "lat and long",
        ),
        (
            "lat 95",
            form(&operator, &[("lat", "95")]),
            400,
            "latitude 95",
        ),
        (
            "lat not a number",
            form(&operator, &[("lat", "north")]),
            400,
            "not a number",
        ),
        (
            "gcj02 in Paris",
            form(
                &operator,
                &[
                    ("lat", "48.8566"),
                    ("long", "2.3522"),
                    ("attribute[coord_sys]", "gcj02"),
                ],
            ),
            400,
            "mainland China",
        ),
        (
            "unknown attribute",
            form(&operator, &[("attribute[colour]", "red")]),
            400,
            "attribute",
        ),
        (
            "unknown field",
            form(&operator, &[("priority", "high")]),
            400,
            "unknown field",
        ),
        (
            "5,000-character description",
            form(&operator, &[("description", &"x".repeat(5_000))]),
            400,
            "at most 2000",
        ),
        (
            "bad phone",
            form(&operator, &[("phone", "call me")]),
            400,
            "phone",
        ),
    ];
    for (name, fields, status, says) in cases {
        for format in ["json", "xml"] {
            let response = post(&app, format, &fields).await;
            assert_eq!(response.status().as_u16(), status, "{name} ({format})");
            let text = response.text().await.expect("body");
            if format == "json" {
                let body: Value = serde_json::from_str(&text).expect("json errors");
                assert_eq!(body[0]["code"], status, "{name}: {body}");
                assert!(
                    body[0]["description"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(says),
                    "{name}: {body}"
                );
            } else {
                assert!(
                    text.starts_with("<?xml") && text.contains("<errors><error><code>"),
                    "{name}: {text}"
                );
                assert!(text.contains(says), "{name}: {text}");
            }
            assert_eq!(complaint_count(&app).await, 0, "{name} stored something");
        }
    }
    for (path, status) in [
        ("/open311/v2/services/pothole.json", 404),
        ("/open311/v2/requests/999.json", 404),
        ("/open311/v2/requests/abc.xml", 404),
        ("/open311/v2/tokens/nothing.json", 404),
        ("/open311/v2/services.yaml", 404),
        ("/open311/v2/everything.json", 404),
        ("/open311/v2/requests.json?status=pending", 400),
        ("/open311/v2/requests.json?start_date=last-week", 400),
        ("/open311/v2/requests.json?service_code=pothole", 400),
        ("/open311/v2/requests.json?page_size=5000", 400),
        (
            "/open311/v2/requests.json?start_date=2024-09-01T00:00:00Z&end_date=2024-08-01T00:00:00Z",
            400,
        ),
        ("/open311/v2/requests.json?service_request_id=x", 400),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let text = response.text().await.expect("body");
        assert!(
            text.contains("\"code\"") || text.contains("<code>"),
            "{path}: {text}"
        );
    }
    let response = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .json(&json!({"api_key": operator}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 415, "JSON body instead of a form");
}
