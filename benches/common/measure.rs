//! What the comparative benches share: percentiles, RSS from /proc,
//! psql against the local PostgreSQL, and a fresh `hutong serve` on a
//! database, waited for. Each bench uses part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Prints p50, p95, p99 and max of `values` (in `unit`); gives p50.
pub fn summary(name: &str, unit: &str, mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let p50 = percentile(&values, 0.5);
    println!(
        "{name}: n={} p50={p50:.1} {unit} p95={:.1} {unit} p99={:.1} {unit} max={:.1} {unit}",
        values.len(),
        percentile(&values, 0.95),
        percentile(&values, 0.99),
        values.last().copied().unwrap_or_default()
    );
    p50
}

/// The resident set of a process, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

pub fn pghost() -> String {
    std::env::var("PGHOST").unwrap_or_else(|_| "127.0.0.1".into())
}

/// psql on `database` as postgres, stopping at the first error, quiet
/// and unaligned; its statement still to be given.
pub fn psql_command(database: &str) -> Command {
    let mut command = Command::new("psql");
    command.args([
        "-h",
        &pghost(),
        "-U",
        "postgres",
        "-d",
        database,
        "-v",
        "ON_ERROR_STOP=1",
        "-qAt",
    ]);
    command
}

/// Runs SQL in psql; its output.
pub fn psql(database: &str, sql: &str) -> String {
    let out = psql_command(database)
        .args(["-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {sql}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A fresh `hutong serve` (the release binary) on `url`, answering
/// /health: the process, its base URL, and how long it took.
pub async fn serve_fresh(url: &str, client: &reqwest::Client) -> (Child, String, Duration) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let started = Instant::now();
    let server = Command::new(env!("CARGO_BIN_EXE_hutong"))
        .args([
            "serve",
            "--db",
            url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hutong serve");
    let base = format!("http://127.0.0.1:{port}");
    loop {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, base, started.elapsed())
}
