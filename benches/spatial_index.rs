//! Spatial index at city scale: k-nearest, radius and bounding-box
//! queries over 1,000,000 generated point assets, and the rebuild of the
//! index, in memory and from a SQLite store, as at start-up.
//!
//! `cargo bench --bench spatial_index`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use geo::{Geometry, Point};
use hutong::domain::{AssetId, AssetKind};
use hutong::sample_data::generate::{CityGenerator, store_city};
use hutong::services::registry::{Registry, build_index};
use hutong::spatial::{AssetIndex, GeometryLimits, IndexedAsset, LonLatBox, NearbyQuery};
use hutong::store::{self, Store};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::cell::OnceCell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ASSETS: usize = 1_000_000;
const SEED: u64 = 2024;

fn point_assets(n: usize) -> Vec<IndexedAsset> {
    CityGenerator::new(SEED, true)
        .take(n)
        .enumerate()
        .map(|(i, f)| {
            let c = &f["geometry"]["coordinates"];
            let kind: AssetKind = f["properties"]["kind"]
                .as_str()
                .unwrap_or("light")
                .parse()
                .unwrap_or(AssetKind::Light);
            let point = Point::new(
                c[0].as_f64().unwrap_or_default(),
                c[1].as_f64().unwrap_or_default(),
            );
            IndexedAsset::bare(AssetId(i as i64 + 1), kind, Geometry::Point(point))
        })
        .collect()
}

/// Query points where the assets are: near generated assets, jittered.
fn query_points(index_source: &[IndexedAsset], n: usize) -> Vec<Point<f64>> {
    let mut rng = Pcg64Mcg::seed_from_u64(SEED + 1);
    (0..n)
        .map(|_| {
            let a = &index_source[rng.random_range(0..index_source.len())];
            let p = match a.geometry() {
                Geometry::Point(p) => *p,
                _ => Point::new(116.4, 39.9),
            };
            Point::new(
                p.x() + rng.random_range(-0.002..0.002),
                p.y() + rng.random_range(-0.002..0.002),
            )
        })
        .collect()
}

fn queries(c: &mut Criterion) {
    let assets = point_assets(ASSETS);
    let points = query_points(&assets, 4096);
    let started = Instant::now();
    let index = AssetIndex::build(assets);
    println!(
        "built index of {} assets in {:?}",
        index.len(),
        started.elapsed()
    );

    let mut group = c.benchmark_group("index_1m_points");
    group.measurement_time(Duration::from_secs(5));
    for k in [1usize, 10, 100] {
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("nearest_k", k), &k, |b, &k| {
            b.iter(|| {
                i = (i + 1) % points.len();
                black_box(index.nearby(&NearbyQuery {
                    point: points[i],
                    kinds: vec![],
                    radius_m: None,
                    limit: k,
                }))
            })
        });
    }
    let mut i = 0;
    group.bench_function("nearest_k10_lights_only", |b| {
        b.iter(|| {
            i = (i + 1) % points.len();
            black_box(index.nearby(&NearbyQuery {
                point: points[i],
                kinds: vec![AssetKind::Light],
                radius_m: None,
                limit: 10,
            }))
        })
    });
    for radius in [50.0, 200.0] {
        let mut i = 0;
        group.bench_with_input(
            BenchmarkId::new("within_radius_m", radius as u32),
            &radius,
            |b, &r| {
                b.iter(|| {
                    i = (i + 1) % points.len();
                    black_box(index.nearby(&NearbyQuery {
                        point: points[i],
                        kinds: vec![],
                        radius_m: Some(r),
                        limit: usize::MAX,
                    }))
                })
            },
        );
    }
    let mut i = 0;
    group.bench_function("bbox_300m", |b| {
        b.iter(|| {
            i = (i + 1) % points.len();
            let p = points[i];
            let bbox = LonLatBox {
                min_lon: p.x() - 0.00176,
                min_lat: p.y() - 0.00135,
                max_lon: p.x() + 0.00176,
                max_lat: p.y() + 0.00135,
            };
            black_box(index.intersecting(bbox, &[]))
        })
    });
    group.finish();
    let (hits, sum) = points
        .iter()
        .take(1000)
        .fold((0usize, 0usize), |(h, s), p| {
            let n = index
                .nearby(&NearbyQuery {
                    point: *p,
                    kinds: vec![],
                    radius_m: Some(200.0),
                    limit: usize::MAX,
                })
                .len();
            (h + usize::from(n > 0), s + n)
        });
    println!(
        "radius 200 m: {hits}/1000 queries hit, {:.1} assets on average",
        sum as f64 / 1000.0
    );
}

/// A SQLite store holding the generated million point assets.
fn store_of_a_million_points() -> (tokio::runtime::Runtime, Arc<dyn Store>, tempfile::TempDir) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::TempDir::new().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = runtime.block_on(async {
        let store = store::open(&url).await.expect("store");
        let registry = Registry::open(store.clone(), GeometryLimits::default())
            .await
            .expect("registry");
        let started = Instant::now();
        store_city(&registry, SEED, true, ASSETS)
            .await
            .expect("stored");
        println!(
            "stored {ASSETS} assets in SQLite in {:?}",
            started.elapsed()
        );
        store
    });
    (runtime, store, dir)
}

fn rebuild(c: &mut Criterion) {
    let mut group = c.benchmark_group("rebuild_1m_points");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("in_memory_bulk_load", |b| {
        b.iter_batched(
            || point_assets(ASSETS),
            |assets| black_box(AssetIndex::build(assets)),
            criterion::BatchSize::PerIteration,
        )
    });

    // Set up lazily and once: criterion calls the routine more than once,
    // and a filtered run that skips this benchmark should not store a
    // million assets at all.
    let setup: OnceCell<(tokio::runtime::Runtime, Arc<dyn Store>, tempfile::TempDir)> =
        OnceCell::new();
    group.bench_function("from_sqlite_store", |b| {
        let (runtime, store, _dir) = setup.get_or_init(store_of_a_million_points);
        b.iter(|| {
            black_box(
                runtime
                    .block_on(build_index(store.as_ref()))
                    .expect("rebuilt"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, queries, rebuild);
criterion_main!(benches);
