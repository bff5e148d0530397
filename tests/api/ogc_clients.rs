//! OGC API – Features through clients nobody on this project wrote:
//! GDAL's OAPIF driver and OWSLib (installed by
//! `scripts/install-test-deps.sh`).

use crate::helpers::*;
use hutong::domain::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GDAL and the Python clients: scripts/test.sh installs them and runs this"]
async fn gdal_and_owslib_read_page_copy_and_write() {
    let app = spawn_generated(4_000).await;
    let lights = app.get_json("/collections/lights/items?limit=1").await["numberMatched"]
        .as_u64()
        .expect("count");
    assert!(
        lights > 1_000,
        "a collection of more than 1,000 features: {lights}"
    );
    let token = app.token(Role::Planner, None).await;
    let work = tempfile::TempDir::new().expect("tempdir");
    let root = format!("http://{}", app.addr);
    let said = run_python_client(
        "tests/clients/ogc_gdal_owslib.py",
        &[&root, &token, "lights", &work.path().display().to_string()],
    )
    .await;
    for step in [
        "ogrinfo ok",
        "ogr2ogr ok",
        "owslib read ok",
        "owslib write ok",
    ] {
        assert!(said.contains(step), "{step}: {said}");
    }
}
