use crate::helpers::*;
use hutong::domain::Role;
use serde_json::{Value, json};

fn ids_and_distances(body: &Value) -> Vec<(i64, f64)> {
    body["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["id"].as_i64().expect("id"),
                f["properties"]["distance_m"].as_f64().expect("distance_m"),
            )
        })
        .collect()
}

/// Reference distances from the query point (116.3951, 39.9412), computed
/// once with GeographicLib 2.0 (`Geodesic.WGS84.Inverse`).
const EAST_M: f64 = 10.256_046_867_460_766;
const NORTH_M: f64 = 11.103_350_377_116_316;
const WEST_M: f64 = 17.093_411_445_765_668;
const SOUTH_M: f64 = 33.310_049_980_138_62;
const DRAIN_M: f64 = 4.076_611_425_021_524;
const FAR_M: f64 = 455.800_083_195_759_3;

#[tokio::test]
async fn nearby_orders_by_metres_with_distances() {
    let app = spawn_app().await;
    let token = app.token(Role::Planner, None).await;
    // Created in an order unrelated to distance.
    let south = app.create(&token, &light(116.3951, 39.9409)).await["id"]
        .as_i64()
        .expect("id");
    let far = app.create(&token, &light(116.3990, 39.9440)).await["id"]
        .as_i64()
        .expect("id");
    let north = app.create(&token, &light(116.3951, 39.9413)).await["id"]
        .as_i64()
        .expect("id");
    let west = app.create(&token, &light(116.3949, 39.9412)).await["id"]
        .as_i64()
        .expect("id");
    let east = app.create(&token, &light(116.39522, 39.9412)).await["id"]
        .as_i64()
        .expect("id");
    let drain = app
        .create(
            &token,
            &point_feature(
                "drainage",
                116.39514,
                39.94122,
                json!({"drainage_type": "inlet"}),
            ),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let courtyard = app
        .create(
            &token,
            &square_feature("courtyard", 116.3950, 39.9411, 0.0002, json!({})),
        )
        .await["id"]
        .as_i64()
        .expect("id");

    let all = app
        .get_json("/v1/assets/nearby?lon=116.3951&lat=39.9412&limit=10")
        .await;
    let got = ids_and_distances(&all);
    let expected = [
        (courtyard, 0.0),
        (drain, DRAIN_M),
        (east, EAST_M),
        (north, NORTH_M),
        (west, WEST_M),
        (south, SOUTH_M),
        (far, FAR_M),
    ];
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    for ((_, d), (_, want)) in got.iter().zip(expected) {
        // Reported to the centimetre; the metric agrees with Karney far better than 0.5 %.
        assert!((d - want).abs() <= 0.01 + want * 1e-5, "{d} vs {want}");
    }

    let lights = app
        .get_json("/v1/assets/nearby?lon=116.3951&lat=39.9412&kind=light&limit=3")
        .await;
    assert_eq!(
        ids_and_distances(&lights)
            .iter()
            .map(|g| g.0)
            .collect::<Vec<_>>(),
        vec![east, north, west]
    );

    let within = app
        .get_json("/v1/assets/nearby?lon=116.3951&lat=39.9412&radius_m=12&limit=100")
        .await;
    assert_eq!(
        ids_and_distances(&within)
            .iter()
            .map(|g| g.0)
            .collect::<Vec<_>>(),
        vec![courtyard, drain, east, north]
    );

    let two_kinds = app
        .get_json(
            "/v1/assets/nearby?lon=116.3951&lat=39.9412&kind=drainage,courtyard&radius_m=1000",
        )
        .await;
    assert_eq!(
        ids_and_distances(&two_kinds)
            .iter()
            .map(|g| g.0)
            .collect::<Vec<_>>(),
        vec![courtyard, drain]
    );
}

#[tokio::test]
async fn demo_nearby_finds_the_lights_of_a_lane_in_order() {
    let app = spawn_demo().await;
    assert!(app.asset_count().await >= 600);
    // In the middle of Zhonglouwan Hutong.
    let body = app
        .get_json("/v1/assets/nearby?lon=116.39415&lat=39.94273&kind=light&limit=5")
        .await;
    let features = body["features"].as_array().expect("features");
    assert_eq!(features.len(), 5);
    let distances: Vec<f64> = features
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().expect("d"))
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    // Wall lights are every 30 m: the nearest is within 15 m, the fifth within 75 m.
    assert!(distances[0] < 15.0 && distances[4] < 75.0, "{distances:?}");
    assert!(features.iter().all(|f| f["properties"]["kind"] == "light"));

    // The courtyard that contains a point inside it comes first at 0 m,
    // and its buildings are the next nearest.
    let body = app
        .get_json("/v1/assets/nearby?lon=116.392243&lat=39.942889&limit=6")
        .await;
    let first = &body["features"][0];
    assert_eq!(first["properties"]["kind"], "courtyard");
    assert_eq!(first["properties"]["distance_m"], 0.0);
    let courtyard_id = first["id"].clone();
    for building in &body["features"].as_array().expect("features")[1..5] {
        assert_eq!(building["properties"]["kind"], "building");
        assert_eq!(building["properties"]["courtyard_id"], courtyard_id);
    }
}

/// The demo is believable: every building stands in a courtyard, and
/// lights, drainage points and chargers stand along lanes.
#[tokio::test]
async fn demo_fixtures_put_things_where_they_belong() {
    let app = spawn_demo().await;
    let courtyards = app.get_json("/v1/assets?kind=courtyard&limit=10000").await;
    assert!(courtyards["numberMatched"].as_u64().expect("count") >= 60);
    let buildings = app.get_json("/v1/assets?kind=building&limit=10000").await;
    for building in buildings["features"].as_array().expect("features") {
        assert!(
            building["properties"]["courtyard_id"].is_i64(),
            "building outside any courtyard: {building}"
        );
    }
    for (kind, within_m) in [("light", 8.0), ("drainage", 8.0), ("charger", 8.0)] {
        let things = app
            .get_json(&format!("/v1/assets?kind={kind}&limit=10000"))
            .await;
        let features = things["features"].as_array().expect("features");
        assert!(!features.is_empty(), "no {kind} in the demo");
        for thing in features {
            let c = &thing["geometry"]["coordinates"];
            let lane = app
                .get_json(&format!(
                    "/v1/assets/nearby?lon={}&lat={}&kind=lane&limit=1",
                    c[0], c[1]
                ))
                .await;
            let d = lane["features"][0]["properties"]["distance_m"]
                .as_f64()
                .expect("a lane nearby");
            assert!(
                d <= within_m,
                "{kind} {} is {d} m from the nearest lane",
                thing["id"]
            );
        }
    }
}
