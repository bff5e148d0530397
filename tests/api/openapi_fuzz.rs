//! Schemathesis (PyPI) against `/openapi.json`: every request the
//! definition allows must be accepted, every status the server answers
//! must be in the definition, no answer may be a 5xx, and the other
//! checks of schemathesis pass too, anonymously and with an admin token.
//! What JSON Schema cannot express is listed, with reasons, in
//! `tests/schemathesis/schemathesis.toml`.

use crate::helpers::{spawn_demo, test_clients_python};
use hutong::domain::Role;

/// Runs schemathesis against the server; returns its report, failing
/// the test if it found anything.
async fn fuzz(root: String, token: Option<String>) -> String {
    let python = test_clients_python();
    let schemathesis = std::path::Path::new(&python).with_file_name("schemathesis");
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemathesis/schemathesis.toml"
    );
    let mut command = std::process::Command::new(schemathesis);
    // Its cache of found crashes goes under target/, not into the tree.
    let workdir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/schemathesis");
    std::fs::create_dir_all(workdir).expect("target/schemathesis");
    command.current_dir(workdir);
    command
        .args(["--no-color", "--config-file", config, "run"])
        .arg(format!("{root}/openapi.json"))
        // One worker: hypothesis's source inspection is not thread-safe
        // on Python 3.11, and two cores are shared with the server.
        .args([
            "--workers",
            "1",
            "--max-examples",
            "15",
            "--seed",
            "20261202",
        ])
        .args(["--suppress-health-check", "all", "--request-timeout", "20"]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = tokio::task::spawn_blocking(move || command.output().expect("schemathesis runs"))
        .await
        .expect("joined");
    let report = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis in the test virtualenv: scripts/test.sh installs it"]
async fn schemathesis_finds_nothing_the_definition_does_not_say() {
    let app = spawn_demo().await;
    let admin = app.token(Role::Admin, None).await;
    let anonymous = fuzz(app.url(""), None).await;
    assert!(anonymous.contains("Tested:"), "{anonymous}");
    let with_token = fuzz(app.url(""), Some(admin)).await;
    assert!(with_token.contains("Tested:"), "{with_token}");
}

#[tokio::test]
async fn the_definition_states_bounds_enums_and_every_status() {
    let app = spawn_demo().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.0.3");
    // 3.0's License Object: a name and a URL, not 3.1's identifier.
    assert!(
        doc["info"]["license"].get("identifier").is_none(),
        "{}",
        doc["info"]
    );
    let operation = |path: &str, method: &str| doc["paths"][path][method].clone();
    let parameter = |op: &serde_json::Value, name: &str| {
        op["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no parameter {name} in {op}"))
    };
    let items = operation("/collections/{collectionId}/items", "get");
    assert_eq!(
        parameter(&items, "f")["schema"]["enum"],
        serde_json::json!(["json", "html"])
    );
    assert!(parameter(&items, "filter")["schema"]["maxLength"].is_number());
    let asset = operation("/v1/assets/{id}", "get");
    assert_eq!(parameter(&asset, "id")["schema"]["minimum"], 1);
    let nearby = operation("/v1/assets/nearby", "get");
    assert_eq!(parameter(&nearby, "limit")["schema"]["maximum"], 1000);
    assert_eq!(parameter(&nearby, "kind")["explode"], false);
    // Every status a write can answer.
    let put = operation("/v1/assets/{id}", "put");
    for status in [
        "200", "400", "401", "403", "404", "408", "412", "413", "415", "421", "422", "428", "503",
    ] {
        assert!(
            put["responses"].get(status).is_some(),
            "PUT /v1/assets/{{id}} lacks {status}"
        );
    }
    // Bodies per kind: one Feature schema per asset kind.
    let kinds = put["requestBody"]["content"]["application/geo+json"]["schema"]["oneOf"]
        .as_array()
        .map(Vec::len);
    assert_eq!(kinds, Some(7));
    // Open311's POST answers 201.
    assert!(
        operation("/open311/v2/{resource}", "post")["responses"]
            .get("201")
            .is_some()
    );
}

#[tokio::test]
async fn a_status_change_without_a_token_is_401_before_its_id_is_read() {
    let app = spawn_demo().await;
    let response = reqwest::Client::new()
        .post(app.url("/v1/complaints/0/transitions"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn options_on_a_feature_that_cannot_exist_is_404() {
    let app = spawn_demo().await;
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            app.url("/collections/lights/items/9223372036854775808"),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_blank_query_value_is_a_value_not_an_absence() {
    let app = spawn_demo().await;
    // `f=` (empty) is absent; `f=%20` is a format nobody offers.
    assert_eq!(app.get("/collections?f=").await.status(), 200);
    assert_eq!(app.get("/collections?f=%20").await.status(), 400);
    // The same on the native API.
    assert_eq!(app.get("/v1/assets?kind=").await.status(), 200);
    assert_eq!(app.get("/v1/assets?kind=%20").await.status(), 400);
}
