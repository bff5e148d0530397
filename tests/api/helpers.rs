use hutong::app::{Application, Settings};
use hutong::domain::{District, Role};
use hutong::services::tokens::Tokens;
use hutong::store;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db_url: String,
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    // Kept last so the database outlives the server.
    pub dir: TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A token of this role (and district), created straight in the store.
    pub async fn token(&self, role: Role, district: Option<District>) -> String {
        let store = store::open(&self.db_url).await.expect("store opens");
        let (token, _) = Tokens::new(store)
            .create(&hutong::store::TokenSpec {
                district,
                ..hutong::store::TokenSpec::of(role).labelled("test")
            })
            .await
            .expect("token created");
        token
    }

    /// A token of a responsible unit's staff.
    pub async fn unit_token(&self, unit: &str) -> String {
        let store = store::open(&self.db_url).await.expect("store opens");
        let code = hutong::domain::UnitCode::parse(unit).expect("unit code");
        let (token, _) = Tokens::new(store)
            .create(&hutong::store::TokenSpec {
                unit: Some(code),
                ..hutong::store::TokenSpec::of(Role::Unit).labelled("test")
            })
            .await
            .expect("token created");
        token
    }

    /// A token of a unit's maintenance crew (its unit from the built-in
    /// units).
    pub async fn crew_token(&self, crew: &str) -> String {
        let units = hutong::services::routing::ResponsibleUnits::builtin().expect("units");
        let code = hutong::domain::UnitCode::parse(crew).expect("crew code");
        let unit = units
            .unit_of_crew(&code)
            .expect("a known crew")
            .code
            .clone();
        let store = store::open(&self.db_url).await.expect("store opens");
        let (token, _) = Tokens::new(store)
            .create(&hutong::store::TokenSpec {
                unit: Some(unit),
                crew: Some(code),
                ..hutong::store::TokenSpec::of(Role::Crew).labelled("test")
            })
            .await
            .expect("token created");
        token
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// GETs `path` with a bearer token, expecting 200 and JSON.
    pub async fn get_json_as(&self, token: &str, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// POSTs JSON to `path` with a bearer token.
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_feature(&self, token: &str, feature: &Value) -> Response {
        self.post_json("/v1/assets", token, feature).await
    }

    /// POSTs an Open311 form to `/open311/v2/requests.json`.
    pub async fn post_open311(&self, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/open311/v2/requests.json"))
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs a complaint Feature to the native API.
    pub async fn post_complaint(&self, token: &str, complaint: &Value) -> Response {
        self.post_json("/v1/complaints", token, complaint).await
    }

    /// Files a complaint, expecting it to be new; returns the stored one.
    pub async fn file_complaint(&self, token: &str, complaint: &Value) -> Value {
        let response = self.post_complaint(token, complaint).await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!(status, 201, "filing failed: {body}");
        body
    }

    /// Creates an asset and returns the stored feature.
    pub async fn create(&self, token: &str, feature: &Value) -> Value {
        let response = self.post_feature(token, feature).await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!(status, 201, "create failed: {body}");
        body
    }

    /// How many assets the API lists.
    pub async fn asset_count(&self) -> u64 {
        self.get_json("/v1/assets?limit=1").await["numberMatched"]
            .as_u64()
            .expect("numberMatched")
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task ends");
        }
        std::mem::replace(&mut self.dir, TempDir::new().expect("tempdir"))
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_on(TempDir::new().expect("tempdir"), false).await
}

pub async fn spawn_demo() -> TestApp {
    spawn_on(TempDir::new().expect("tempdir"), true).await
}

/// The admin URL of the PostgreSQL server, for the tests that need one:
/// they are `#[ignore]`d by plain `cargo test`, and `scripts/test.sh` runs
/// them in its PostgreSQL half.
pub fn required_postgres_admin_url() -> String {
    postgres_admin_url().unwrap_or_else(|| {
        panic!("this test needs PostgreSQL: set HUTONG_TEST_POSTGRES to an admin URL (scripts/test.sh does)")
    })
}

/// The admin URL of the PostgreSQL server to test against
/// (`HUTONG_TEST_POSTGRES`), when this run is the PostgreSQL run.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("HUTONG_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
}

/// The database of the test whose files are in `dir`: a SQLite file in
/// it, or, in the PostgreSQL run, a fresh PostgreSQL database made for it
/// (remembered in `dir`, so that a restarted server finds it again).
pub async fn database_url(dir: &std::path::Path) -> String {
    let Some(admin) = postgres_admin_url() else {
        return format!("sqlite://{}", dir.join("hutong.db").display());
    };
    let remembered = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return url;
    }
    let url = fresh_postgres_database(&admin).await;
    std::fs::write(&remembered, &url).expect("database URL remembered");
    url
}

/// A new, empty, migrated PostgreSQL database, copied from a template
/// made once per test process (PostGIS and the migrations take seconds;
/// a copy takes a fraction of one).
pub async fn fresh_postgres_database(admin: &str) -> String {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("HUTONG_TEST_POSTGRES is a URL with a database");
    let template = TEMPLATE
        .get_or_init(|| async {
            let name = format!("hutong_tpl_{}", std::process::id());
            let mut admin_conn = sqlx::PgConnection::connect(admin)
                .await
                .expect("PostgreSQL admin connection");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&mut admin_conn)
                .await
                .expect("old template dropped");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin_conn)
                .await
                .expect("template created");
            let store = hutong::store::PgStore::open(&format!("{base}/{name}"))
                .await
                .expect("template migrated");
            store.close().await;
            name
        })
        .await;
    let name = format!(
        "hutong_t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin_conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("PostgreSQL admin connection");
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .execute(&mut admin_conn)
        .await
        .expect("test database created");
    format!("{base}/{name}")
}

/// Starts a server on the database in `dir` (created when missing).
pub async fn spawn_on(dir: TempDir, demo: bool) -> TestApp {
    let db_url = database_url(dir.path()).await;
    spawn_with(
        dir,
        Settings {
            database_url: db_url,
            listen: "127.0.0.1:0".into(),
            demo,
            ..Settings::default()
        },
    )
    .await
}

/// Starts a server with these settings (the database in `dir`).
pub async fn spawn_with(dir: TempDir, settings: Settings) -> TestApp {
    let db_url = settings.database_url.clone();
    let app = Application::build(&settings).await.expect("app builds");
    let addr = app.local_addr().expect("bound");
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .expect("server runs");
    });
    TestApp {
        addr,
        db_url,
        client: Client::new(),
        stop: Some(stop),
        handle: Some(handle),
        dir,
    }
}

pub fn point_feature(kind: &str, lon: f64, lat: f64, properties: Value) -> Value {
    let mut props = properties;
    props["kind"] = json!(kind);
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props})
}

pub fn light(lon: f64, lat: f64) -> Value {
    point_feature(
        "light",
        lon,
        lat,
        json!({"light_type": "wall", "district": "dongcheng"}),
    )
}

/// An axis-aligned square polygon feature, `d` degrees on a side.
pub fn square_feature(kind: &str, lon: f64, lat: f64, d: f64, properties: Value) -> Value {
    let mut props = properties;
    props["kind"] = json!(kind);
    json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]},
        "properties": props})
}

/// Asserts a problem+json answer with this status, returning the body.
pub async fn assert_problem(response: Response, status: u16, context: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{context}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json", "{context}");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{context}: {body}");
    assert!(
        body["type"].is_string() && body["title"].is_string(),
        "{context}: {body}"
    );
    assert!(
        !body["detail"].as_str().unwrap_or_default().is_empty(),
        "{context}: {body}"
    );
    body
}

/// What the client tests need (GDAL's tools, and the Python clients in
/// the virtualenv `scripts/install-test-deps.sh` makes): the venv's
/// python. `cargo test` installs nothing: the tests that call this are
/// `#[ignore]`d, and `scripts/test.sh` installs the clients and runs them
/// with `--include-ignored`; run directly without them, they fail saying
/// what to run.
pub fn test_clients_python() -> String {
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
    let gdal = std::process::Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        python.exists() && gdal,
        "the client tests need GDAL and the Python clients: run `bash scripts/install-test-deps.sh` (scripts/test.sh does)"
    );
    python.display().to_string()
}

/// Runs a Python test client (under `tests/clients/`) against a running
/// server; returns what it printed, failing the test if it fails.
pub async fn run_python_client(script: &str, args: &[&str]) -> String {
    let python = test_clients_python();
    let mut command = std::process::Command::new(&python);
    command.arg(script).args(args);
    // Off the runtime's threads: the server answering the client runs on them.
    let output = tokio::task::spawn_blocking(move || command.output().expect("client runs"))
        .await
        .expect("joined");
    let said = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{script}: {said}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}

/// Starts a server over `assets` generated assets (seeded, all kinds).
pub async fn spawn_generated(assets: usize) -> TestApp {
    use hutong::services::registry::Registry;
    use hutong::spatial::GeometryLimits;
    let dir = TempDir::new().expect("tempdir");
    let db_url = database_url(dir.path()).await;
    {
        let store = store::open(&db_url).await.expect("store");
        let registry = Registry::open(store, GeometryLimits::default())
            .await
            .expect("registry");
        hutong::sample_data::generate::store_city(&registry, 11, false, assets)
            .await
            .expect("stored");
    }
    spawn_on(dir, false).await
}

/// A `hutong serve` process.
pub struct ServerProcess {
    child: std::process::Child,
    pub addr: String,
}

impl ServerProcess {
    /// Starts `hutong serve` on `db` and waits until it listens (which is
    /// after it has reached its database, however long that takes).
    pub fn start(db: &str) -> Self {
        Self::start_logged(db, |_| {})
    }

    /// [`ServerProcess::start`], with each log line shown to `seen` while
    /// the server is starting.
    pub fn start_logged(db: &str, mut seen: impl FnMut(&Value)) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hutong"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .env("HUTONG_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hutong serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server logs until it listens")
                .expect("utf-8 log line");
            let entry: Value = serde_json::from_str(&line).expect("JSON log line");
            seen(&entry);
            if entry["fields"]["message"] == "hutong listening" {
                break entry["fields"]["addr"].as_str().expect("addr").to_string();
            }
        };
        // Drained, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Self { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Kills the process outright (SIGKILL: no draining, no goodbye).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL server of the test's own (initdb in a temporary
/// directory, on a free port), for tests that stop and restart it.
pub struct PrivatePostgres {
    dir: TempDir,
    bin: std::path::PathBuf,
    pub port: u16,
    /// PostgreSQL will not run as root: its tools then run as postgres.
    as_postgres: bool,
}

impl PrivatePostgres {
    /// Creates and starts a cluster (trust authentication, user postgres).
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())
            .expect("initdb");
        let dir = TempDir::new_in("/tmp").expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let cluster = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        if as_postgres {
            let _ = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status();
        }
        cluster.run(&[
            "initdb",
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-D",
            &cluster.data(),
        ]);
        cluster.pg_ctl("start");
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, args: &[&str]) {
        let program = self.bin.join(args[0]);
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let output = command
            .args(&args[1..])
            .current_dir(self.dir.path())
            .output()
            .expect("PostgreSQL tool runs");
        assert!(
            output.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `pg_ctl start|stop|restart`, waiting until it is done.
    pub fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data();
        let mut args = vec!["pg_ctl", action, "-D", &data, "-w", "-t", "60"];
        if action != "stop" {
            args.extend(["-o", &options, "-l", &log]);
        }
        if action != "start" {
            args.extend(["-m", "fast"]);
        }
        self.run(&args);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(&["pg_ctl", "stop", "-D", &data, "-m", "immediate"])
        }));
    }
}

/// Metres per degree of longitude and of latitude at a latitude on the
/// WGS 84 ellipsoid (N cos φ and M): the tests' own geodesy, apart from
/// the server's.
pub fn m_per_degree(lat: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 0.006_694_379_990_14;
    let (s, c) = lat.to_radians().sin_cos();
    let w = (1.0 - E2 * s * s).sqrt();
    let n = A / w;
    let m = A * (1.0 - E2) / (w * w * w);
    (
        n * c * std::f64::consts::PI / 180.0,
        m * std::f64::consts::PI / 180.0,
    )
}
