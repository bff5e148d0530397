//! The HTTP edges: slow and idle clients, the public address and `Host`,
//! cross-origin requests.

use crate::helpers::*;
use hutong::api::connections::ConnectionLimits;
use hutong::app::Settings;
use hutong::domain::Role;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn spawn_limited(limits: ConnectionLimits, public_url: Option<&str>) -> TestApp {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let db = database_url(dir.path()).await;
    spawn_with(
        dir,
        Settings {
            database_url: db,
            listen: "127.0.0.1:0".into(),
            connections: limits,
            public_url: public_url.map(str::to_string),
            cors_origins: vec!["https://portal.example.gov.cn".into()],
            ..Settings::default()
        },
    )
    .await
}

/// Reads until the server closes the connection (or `limit` passes);
/// returns what it sent and how long it took to close.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&seen).into(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&seen).into(), None)
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off() {
    let limits = ConnectionLimits {
        max_connections: 64,
        header_read: Duration::from_secs(2),
        request: Duration::from_secs(2),
        write_stall: Duration::from_secs(2),
        ..ConnectionLimits::default()
    };
    let app = spawn_limited(limits, None).await;

    // Headers trickled one byte a second never finish.
    let mut trickle = TcpStream::connect(app.addr).await.expect("connects");
    let writer = async {
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\n" {
            if trickle.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(4), writer).await;
    let (_, closed) = read_until_closed(&mut trickle, Duration::from_secs(3)).await;
    assert!(closed.is_some(), "a trickling client was kept open");

    // An idle keep-alive connection is closed after the header deadline.
    let mut idle = TcpStream::connect(app.addr).await.expect("connects");
    let host = app.addr.to_string();
    idle.write_all(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("sent");
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed.is_some(),
        "an idle keep-alive connection was kept open"
    );

    // A body that stops half way gets a 408 and the connection ends.
    let planner = app.token(Role::Planner, None).await;
    let mut half = TcpStream::connect(app.addr).await.expect("connects");
    half.write_all(
        format!("POST /v1/assets HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {planner}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"type\":")
            .as_bytes(),
    )
    .await
    .expect("sent");
    let (answer, closed) = read_until_closed(&mut half, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(closed.is_some(), "{answer}");

    // Meanwhile everyone else is served.
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_client_cannot_hold_a_connection_or_every_slot() {
    let limits = ConnectionLimits {
        max_per_peer: 3,
        max_age: Duration::from_secs(2),
        ..ConnectionLimits::default()
    };
    let app = spawn_limited(limits, None).await;
    let host = app.addr.to_string();
    // A request every half second keeps a keep-alive connection busy;
    // it is closed once it is two seconds old all the same.
    let mut busy = TcpStream::connect(app.addr).await.expect("connects");
    let started = Instant::now();
    let mut answered = 0;
    let mut buf = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(6) {
        let request = format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n");
        if busy.write_all(request.as_bytes()).await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_secs(1), busy.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answered += 1,
            _ => break,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = started.elapsed();
    assert!(answered >= 2, "{answered} answers");
    assert!(elapsed < Duration::from_secs(5), "held for {elapsed:?}");
    // One address holds at most three connections; a fourth is closed
    // at once, and others are still served.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.addr).await.expect("connects"));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = TcpStream::connect(app.addr).await.expect("connects");
    let (_, closed) = read_until_closed(&mut fourth, Duration::from_secs(1)).await;
    assert!(
        closed.is_some(),
        "a fourth connection from one address was kept"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    let limits = ConnectionLimits {
        max_connections: 1,
        header_read: Duration::from_secs(2),
        ..ConnectionLimits::default()
    };
    let app = spawn_limited(limits, None).await;
    let _holder = TcpStream::connect(app.addr).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(app.url("/health"))
        .send()
        .await
        .expect("answered once the idle one is closed");
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(1_000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn links_use_the_public_url_and_other_hosts_are_refused() {
    let app = spawn_limited(
        ConnectionLimits::default(),
        Some("https://map.example.gov.cn"),
    )
    .await;
    let get = |host: &'static str, path: &'static str| {
        app.client.get(app.url(path)).header("host", host).send()
    };
    let response = get("evil.example", "/tiles.json").await.expect("sent");
    assert_problem(response, 421, "another host").await;
    let response = get("evil.example", "/collections").await.expect("sent");
    assert_problem(response, 421, "another host").await;
    let tiles: Value = get("map.example.gov.cn", "/tiles.json")
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let url = tiles["tiles"][0].as_str().unwrap_or_default();
    assert!(
        url.starts_with("https://map.example.gov.cn/tiles/"),
        "{tiles}"
    );
    let landing: Value = get("map.example.gov.cn:443", "/")
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    for link in landing["links"].as_array().expect("links") {
        let href = link["href"].as_str().unwrap_or_default();
        assert!(href.starts_with("https://map.example.gov.cn/"), "{link}");
    }
    // Without a configured URL the listening address is the public one.
    let direct = spawn_app().await;
    let response = direct
        .client
        .get(direct.url("/"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("sent");
    assert_problem(response, 421, "direct, another host").await;
    let landing = direct.get_json("/").await;
    let href = landing["links"][0]["href"].as_str().unwrap_or_default();
    assert!(
        href.starts_with(&format!("http://{}/", direct.addr)),
        "{href}"
    );
}

#[tokio::test]
async fn cross_origin_reads_are_open_and_writes_only_from_trusted_origins() {
    let app = spawn_limited(ConnectionLimits::default(), None).await;
    let planner = app.token(Role::Planner, None).await;
    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        let mut request = app
            .client
            .request(
                reqwest::Method::OPTIONS,
                app.url("/tiles/14/13490/6197.mvt"),
            )
            .header("origin", origin)
            .header("access-control-request-method", method);
        if !headers.is_empty() {
            request = request.header("access-control-request-headers", headers);
        }
        request.send()
    };
    let allowed = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // A MapLibre page anywhere may read tiles and TileJSON.
    let response = preflight("https://someone.example", "GET", "")
        .await
        .expect("sent");
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        allowed(&response).as_deref(),
        Some("https://someone.example")
    );
    let response = app
        .client
        .get(app.url("/tiles.json"))
        .header("origin", "https://someone.example")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(
        allowed(&response).as_deref(),
        Some("https://someone.example")
    );
    // A token or a write from an untrusted origin gets no CORS grant.
    let response = preflight("https://someone.example", "GET", "authorization")
        .await
        .expect("sent");
    assert_eq!(allowed(&response), None);
    let response = preflight("https://someone.example", "POST", "content-type")
        .await
        .expect("sent");
    assert_eq!(allowed(&response), None);
    // The trusted portal may write.
    let response = preflight(
        "https://portal.example.gov.cn",
        "POST",
        "authorization,content-type",
    )
    .await
    .expect("sent");
    assert_eq!(
        allowed(&response).as_deref(),
        Some("https://portal.example.gov.cn")
    );
    let created = app
        .client
        .post(app.url("/v1/assets"))
        .bearer_auth(&planner)
        .header("origin", "https://portal.example.gov.cn")
        .json(&light(116.3945, 39.9428))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    assert_eq!(
        allowed(&created).as_deref(),
        Some("https://portal.example.gov.cn")
    );
}
