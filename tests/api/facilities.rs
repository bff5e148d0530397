//! Facilities and the 15-minute life circle over HTTP: the facility asset
//! kind validated like every kind (in the OGC API and the tiles), the
//! catchment of a facility by walking distance, worked by hand on a lane
//! drawn here, coverage by facility type, facility plans with the
//! residents they would newly bring inside their circle, and refusals.

use crate::helpers::*;
use hutong::domain::Role;
use serde_json::{Value, json};

/// Where the test draws its place: a lane along latitude `LANE_LAT` in
/// Dongcheng, far from the demo's own.
const LANE_LAT: f64 = 39.9000;
const WEST: f64 = 116.4200;
/// The facility stands on the lane here.
const FACILITY_LON: f64 = 116.4210;
/// A yard is 0.0002° by 0.0001°, its south edge 0.00005° north of the
/// lane: its centroid 0.0001° (about 11.1 m) north of the lane.
const YARD_W: f64 = 0.0002;

/// Moves a plan with the ETag just read (200 expected); the answer.
async fn move_plan(app: &TestApp, token: &str, id: i64, to: &str) -> Value {
    let current = app.get(&format!("/v1/plans/{id}")).await;
    let etag = current.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    assert!(etag.starts_with('"'), "{etag}");
    let r = app
        .client
        .post(app.url(&format!("/v1/plans/{id}/transitions")))
        .bearer_auth(token)
        .header("If-Match", &etag)
        .json(&json!({"to": to}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200, "{to}");
    r.json().await.expect("JSON")
}

async fn create(app: &TestApp, token: &str, body: Value) -> i64 {
    let r = app.post_json("/v1/assets", token, &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id")
}

fn yard(west_lon: f64, south_lat: f64, name: &str, households: u32, residents: u32) -> Value {
    let (e, n) = (west_lon + YARD_W, south_lat + 0.0001);
    json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[west_lon, south_lat], [e, south_lat], [e, n], [west_lon, n], [west_lon, south_lat]]]},
        "properties": {"kind": "courtyard", "name": name, "households": households, "residents": residents}})
}

/// The yards along the lane, by the distance of their centroid along the
/// lane from the facility, m: 150, 400, 700 and 1,100.
const ALONG_M: [(&str, f64, u32, u32); 4] = [
    ("Yard 150", 150.0, 16, 40),
    ("Yard 400", 400.0, 25, 60),
    ("Yard 700", 700.0, 36, 90),
    ("Yard 1100", 1_100.0, 50, 120),
];

/// The test's place: a lane of about 1,280 m; the yards along it; a
/// second, short lane 200 m north that no lane joins to the first, with
/// a yard of 25 residents beside it (about 211 m from the facility in a
/// straight line, and no walk at all); an elderly-care station on the
/// first lane. Gives the station's id and each yard's walk by hand.
async fn build_place(app: &TestApp, token: &str) -> (i64, Vec<(String, f64, u32, u32)>) {
    let (x, y) = m_per_degree(LANE_LAT);
    create(
        app,
        token,
        json!({"type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[WEST, LANE_LAT], [116.4350, LANE_LAT]]},
        "properties": {"kind": "lane", "name": "Circle Hutong", "width_m": 4.0}}),
    )
    .await;
    let north = LANE_LAT + 200.0 / y;
    create(app, token, json!({"type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[FACILITY_LON - 0.001, north], [FACILITY_LON + 0.001, north]]},
        "properties": {"kind": "lane", "name": "Cut-off Lane", "width_m": 3.0}})).await;
    let mut walks = Vec::new();
    for (name, along, households, residents) in ALONG_M {
        // The centroid is `along` m east of the facility: the yard's west
        // edge half a yard west of that.
        let west = FACILITY_LON + along / x - YARD_W / 2.0;
        create(
            app,
            token,
            yard(west, LANE_LAT + 0.00005, name, households, residents),
        )
        .await;
        // The walk: from the facility (on the lane) along it, then the
        // straight step north from the lane to the centroid.
        let access = 0.0001 * y;
        walks.push((name.to_string(), along + access, households, residents));
    }
    create(
        app,
        token,
        yard(
            FACILITY_LON - YARD_W / 2.0,
            north + 0.00005,
            "Cut-off yard",
            10,
            25,
        ),
    )
    .await;
    let station = create(app, token, json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [FACILITY_LON, LANE_LAT]},
        "properties": {"kind": "facility", "facility_type": "elderly_care", "name": "Circle Hutong day care",
            "capacity": 40, "opening_hours": "Mo-Fr 08:00-18:00; Sa 09:00-12:00"}})).await;
    (station, walks)
}

#[tokio::test]
async fn facilities_are_validated_listed_and_tiled() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    // Refused, each by its field, and nothing stored.
    for (properties, geometry, pointer) in [
        (
            json!({"kind": "facility", "name": "No type"}),
            json!({"type": "Point", "coordinates": [116.421, 39.9]}),
            "facility_type",
        ),
        (
            json!({"kind": "facility", "facility_type": "cinema"}),
            json!({"type": "Point", "coordinates": [116.421, 39.9]}),
            "/properties/facility_type",
        ),
        (
            json!({"kind": "facility", "facility_type": "park", "opening_hours": "8am to 5pm"}),
            json!({"type": "Point", "coordinates": [116.421, 39.9]}),
            "/properties/opening_hours",
        ),
        (
            json!({"kind": "facility", "facility_type": "park", "opening_hours": "Mo-Fr 08:00-25:00"}),
            json!({"type": "Point", "coordinates": [116.421, 39.9]}),
            "/properties/opening_hours",
        ),
        (
            json!({"kind": "facility", "facility_type": "park", "capacity": 0}),
            json!({"type": "Point", "coordinates": [116.421, 39.9]}),
            "/properties/capacity",
        ),
        (
            json!({"kind": "facility", "facility_type": "park"}),
            json!({"type": "LineString", "coordinates": [[116.421, 39.9], [116.422, 39.9]]}),
            "/geometry",
        ),
    ] {
        let r = app
            .post_json(
                "/v1/assets",
                &planner,
                &json!({"type": "Feature", "geometry": geometry, "properties": properties}),
            )
            .await;
        let problem = assert_problem(r, 422, &properties.to_string()).await;
        assert!(
            problem.to_string().contains(pointer),
            "{pointer} in {problem}"
        );
    }
    let listed = app.get_json("/collections/facilities/items").await;
    let before = listed["numberMatched"].as_u64().expect("numberMatched");
    // A park drawn by its outline gets its area; a station as a point.
    let park = create(&app, &planner, json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[116.4210, 39.9010], [116.4230, 39.9010], [116.4230, 39.9020], [116.4210, 39.9020], [116.4210, 39.9010]]]},
        "properties": {"kind": "facility", "facility_type": "park", "name": "Test park", "opening_hours": "24/7"}})).await;
    let feature = app
        .get_json(&format!("/collections/facilities/items/{park}"))
        .await;
    let (x, y) = m_per_degree(39.9015);
    let by_hand = 0.002 * x * 0.001 * y;
    let area = feature["properties"]["area_m2"].as_f64().expect("area_m2");
    assert!(
        (area - by_hand).abs() < 0.01 * by_hand,
        "{area} vs {by_hand}"
    );
    assert_eq!(feature["properties"]["facility_type"], "park");
    assert_eq!(
        app.get_json("/collections/facilities/items").await["numberMatched"].as_u64(),
        Some(before + 1)
    );
    let queryables = app.get_json("/collections/facilities/queryables").await;
    assert!(
        queryables["properties"]["facility_type"].is_object(),
        "{queryables}"
    );
    let decoded = crate::tiles::tile_at(&app, 116.4220, 39.9015).await;
    assert!(crate::tiles::layer_ids(&decoded, "facilities").contains(&(park as u64)));
    assert_eq!(
        crate::tiles::tag(&decoded, "facilities", park as u64, "facility_type").as_deref(),
        Some("park")
    );
}

#[tokio::test]
async fn the_catchment_of_a_facility_is_walked_along_the_lanes() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let (station, walks) = build_place(&app, &planner).await;
    let catchment = app
        .get_json(&format!("/v1/analysis/catchment?facility={station}"))
        .await;
    assert_eq!(catchment["serves_minutes"], 5, "{catchment}");
    assert_eq!(catchment["facility_type"], "elderly_care");
    // Each yard's walk, as worked by hand, to a metre.
    let reached = catchment["features"].as_array().expect("features");
    for (name, walk, _, _) in &walks {
        let found = reached.iter().find(|f| f["properties"]["name"] == *name);
        if *walk > 1_000.0 {
            assert!(found.is_none(), "{name} is beyond 15 minutes: {catchment}");
            continue;
        }
        let got =
            found.unwrap_or_else(|| panic!("{name} reached: {catchment}"))["properties"]["walk_m"]
                .as_f64()
                .expect("walk_m");
        assert!((got - walk).abs() < 1.0, "{name}: {got} vs {walk}");
    }
    // The yard by the cut-off lane is 211 m away in a straight line, but
    // no lane leads there: it is in no band.
    assert!(
        reached
            .iter()
            .all(|f| f["properties"]["name"] != "Cut-off yard"),
        "{catchment}"
    );
    // The bands, cumulative: 5 minutes (300 m) holds the 150 m yard; 10
    // (500 m) adds the 400 m one; 15 (1,000 m) the 700 m one.
    let band = |minutes: u64| -> (u64, u64, u64) {
        let b = catchment["bands"]
            .as_array()
            .expect("bands")
            .iter()
            .find(|b| b["minutes"] == minutes)
            .expect("band");
        (
            b["courtyards"].as_u64().expect("courtyards"),
            b["households"].as_u64().expect("households"),
            b["residents"].as_u64().expect("residents"),
        )
    };
    assert_eq!(band(5), (1, 16, 40));
    assert_eq!(band(10), (2, 16 + 25, 40 + 60));
    assert_eq!(band(15), (3, 16 + 25 + 36, 40 + 60 + 90));
    // As a table, the bands in the header.
    let csv = app
        .get(&format!("/v1/analysis/catchment?facility={station}&f=csv"))
        .await;
    assert_eq!(csv.status(), 200);
    let bands = csv.headers()["hutong-totals"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(bands.contains("\"minutes\":15"), "{bands}");
    let text = csv.text().await.expect("text");
    assert_eq!(text.lines().count(), 1 + 3, "{text}");
    // A park drawn by its outline over the 1,100 m yard: that yard is
    // inside it (no walk at all), the 700 m one 400 m along the lane from
    // the outline's nearest entrance at most.
    let (x, y) = m_per_degree(LANE_LAT);
    let middle = FACILITY_LON + 1_100.0 / x;
    let (w, e) = (middle - 30.0 / x, middle + 30.0 / x);
    let (s, n) = (LANE_LAT - 20.0 / y, LANE_LAT + 40.0 / y);
    let park = create(
        &app,
        &planner,
        json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": {"kind": "facility", "facility_type": "park", "name": "Lane park"}}),
    )
    .await;
    let around = app
        .get_json(&format!("/v1/analysis/catchment?facility={park}"))
        .await;
    let walk_of = |name: &str| {
        around["features"]
            .as_array()
            .expect("features")
            .iter()
            .find(|f| f["properties"]["name"] == name)
            .and_then(|f| f["properties"]["walk_m"].as_f64())
    };
    assert_eq!(walk_of("Yard 1100"), Some(0.0), "{around}");
    let from_edge = walk_of("Yard 700").expect("the 700 m yard is reached");
    assert!(
        from_edge > 370.0 - 1.0 && from_edge < 400.0 + 11.2 + 1.0,
        "{from_edge}: {around}"
    );
    // Refused: no facility, not a number, not a facility, none such.
    assert_problem(app.get("/v1/analysis/catchment").await, 400, "none").await;
    assert_problem(
        app.get("/v1/analysis/catchment?facility=abc").await,
        400,
        "not a number",
    )
    .await;
    let lane = app.get_json("/v1/assets?kind=lane&limit=1").await["features"][0]["id"]
        .as_i64()
        .expect("a lane");
    assert_problem(
        app.get(&format!("/v1/analysis/catchment?facility={lane}"))
            .await,
        422,
        "a lane",
    )
    .await;
    assert_problem(
        app.get("/v1/analysis/catchment?facility=999999999").await,
        422,
        "none such",
    )
    .await;
    assert_problem(
        app.get(&format!(
            "/v1/analysis/catchment?facility={station}&radius=5"
        ))
        .await,
        400,
        "unknown parameter",
    )
    .await;
}

#[tokio::test]
async fn coverage_counts_residents_outside_each_circle() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    build_place(&app, &planner).await;
    let bbox = "116.4190,39.8990,116.4360,39.9030";
    let coverage = app
        .get_json(&format!(
            "/v1/analysis/coverage?kind=facilities&bbox={bbox}"
        ))
        .await;
    let totals = &coverage["totals"];
    assert_eq!(totals["residents"], 40 + 60 + 90 + 120 + 25, "{coverage}");
    // Elderly care serves 5 minutes (300 m): only the 150 m yard is in.
    let care = &totals["by_facility_type"]["elderly_care"];
    assert_eq!(care["minutes"], 5);
    assert_eq!(care["walk_m"], 300.0);
    assert_eq!(care["facilities"], 1);
    assert_eq!(care["residents_outside"], 60 + 90 + 120 + 25, "{coverage}");
    // No park here: everyone is outside the park's circle.
    assert_eq!(
        totals["by_facility_type"]["park"]["residents_outside"],
        40 + 60 + 90 + 120 + 25
    );
    let first = coverage["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["name"] == "Yard 150")
        .expect("the 150 m yard lacks a park");
    let outside = first["properties"]["outside_circle_of"].to_string();
    assert!(
        outside.contains("park") && !outside.contains("elderly_care"),
        "{outside}"
    );
    assert!(
        (first["properties"]["walk_to_elderly_care_m"]
            .as_f64()
            .expect("walk")
            - 161.1)
            .abs()
            < 1.0
    );
}

#[tokio::test]
async fn a_facility_plan_counts_the_residents_it_brings_inside_its_circle() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    build_place(&app, &planner).await;
    let (x, _) = m_per_degree(LANE_LAT);
    // A second station 550 m along the lane: the 400 m and 700 m yards
    // (150 m along and 11 m off) come inside its 300 m; the 150 m yard is
    // 400 m off; none of the two is served by the first station.
    let site = [FACILITY_LON + 550.0 / x, LANE_LAT];
    let r = app
        .post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "facility", "title": "Day care at 550 m",
                "inputs": {"facility_type": "elderly_care", "site": site, "capacity": 30}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let plan: Value = r.json().await.expect("JSON");
    let effect = |name: &str| -> f64 {
        plan["properties"]["effects"]
            .as_array()
            .expect("effects")
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["value"].as_f64())
            .unwrap_or_else(|| panic!("{name}: {plan}"))
    };
    assert_eq!(effect("residents_newly_in_circle"), 60.0 + 90.0, "{plan}");
    assert_eq!(effect("households_newly_in_circle"), 25.0 + 36.0);
    assert_eq!(effect("life_circle_minutes"), 5.0);
    assert_eq!(plan["properties"]["cost_cny"].as_f64(), Some(500_000.0));
    assert_eq!(plan["properties"]["district"], "dongcheng");
    // In the council's table, what it is of where it has no total.
    let table = app.get("/v1/plans?f=csv").await.text().await.expect("csv");
    assert!(
        table.contains("elderly_care=1 facilities (site 0)")
            && table.contains("residents_newly_in_circle=150 residents"),
        "{table}"
    );
    // One next to the first station brings no one new: flagged.
    let near: Value = app
        .post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "facility", "title": "Day care at 100 m",
                "inputs": {"facility_type": "elderly_care", "site": [FACILITY_LON + 100.0 / x, LANE_LAT]}}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        near["properties"]["effects"]
            .as_array()
            .expect("effects")
            .iter()
            .find(|m| m["name"] == "residents_newly_in_circle")
            .and_then(|m| m["value"].as_f64()),
        Some(0.0),
        "{near}"
    );
    assert!(
        near["properties"]["flags"]
            .to_string()
            .contains("no resident")
    );
    // A park drawn by its outline: priced by its area.
    let outline = json!({"type": "Polygon", "coordinates": [[[116.4250, 39.9002], [116.4260, 39.9002], [116.4260, 39.9008], [116.4250, 39.9008], [116.4250, 39.9002]]]});
    let park: Value = app
        .post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "facility", "title": "Pocket park", "area": outline, "inputs": {"facility_type": "park"}}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let (x5, y5) = m_per_degree(39.9005);
    let area = 0.001 * x5 * 0.0006 * y5;
    let cost = park["properties"]["cost_cny"].as_f64().expect("cost");
    assert!(
        (cost - area * 2_000.0).abs() < 0.01 * cost,
        "{cost} vs {area}: {park}"
    );
    // Approved, it makes one order at its site, for the street office.
    let id = plan["id"].as_i64().expect("id");
    for to in ["proposed", "approved"] {
        move_plan(&app, &planner, id, to).await;
    }
    let orders = app
        .get_json_as(&planner, &format!("/v1/work-orders?plan_id={id}"))
        .await;
    assert_eq!(
        orders["features"].as_array().map(Vec::len),
        Some(1),
        "{orders}"
    );
    // For Dongcheng's street office (no routing rule names facilities),
    // at the site.
    let order = &orders["features"][0];
    assert_eq!(order["properties"]["unit"], "dongcheng-jiaodaokou-street");
    let at = &order["geometry"]["coordinates"];
    assert!(
        (at[0].as_f64().expect("lon") - site[0]).abs() < 1e-9
            && (at[1].as_f64().expect("lat") - site[1]).abs() < 1e-9,
        "{order}"
    );
    // Cancelled, the plan takes its open order with it.
    let order_id = order["id"].as_i64().expect("order id");
    let cancelled = move_plan(&app, &planner, id, "cancelled").await;
    assert_eq!(
        cancelled["properties"]["status"], "cancelled",
        "{cancelled}"
    );
    assert_eq!(
        cancelled["properties"]["work_orders"],
        json!([order_id]),
        "{cancelled}"
    );
    let the_order = app
        .get_json_as(&planner, &format!("/v1/work-orders/{order_id}"))
        .await;
    assert_eq!(
        the_order["properties"]["status"], "cancelled",
        "{the_order}"
    );
}

#[tokio::test]
async fn bad_facility_plans_are_refused_and_store_nothing() {
    let app = spawn_demo().await;
    let planner = app.token(Role::Planner, None).await;
    let before = app.get_json("/v1/plans").await["features"]
        .as_array()
        .map(Vec::len);
    let outline = json!({"type": "Polygon", "coordinates": [[[116.4250, 39.9002], [116.4260, 39.9002], [116.4260, 39.9008], [116.4250, 39.9008], [116.4250, 39.9002]]]});
    for (body, pointer) in [
        (
            json!({"kind": "facility", "title": "x", "inputs": {"site": [116.421, 39.9]}}),
            "/inputs/facility_type",
        ),
        (
            json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "cinema", "site": [116.421, 39.9]}}),
            "/inputs/facility_type",
        ),
        (
            json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park"}}),
            "/area",
        ),
        (
            json!({"kind": "facility", "title": "x", "area": outline, "inputs": {"facility_type": "park", "site": [116.421, 39.9]}}),
            "/inputs/site",
        ),
        (
            json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park", "site": [2.35, 48.85]}}),
            "/inputs/site",
        ),
        (
            json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park", "site": [116.421]}}),
            "/inputs/site",
        ),
        (
            json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park", "site": [116.421, 39.9], "capacity": -3}}),
            "/inputs/capacity",
        ),
    ] {
        let problem = assert_problem(
            app.post_json("/v1/plans", &planner, &body).await,
            422,
            &body.to_string(),
        )
        .await;
        assert!(
            problem.to_string().contains(pointer),
            "{pointer}: {problem}"
        );
    }
    // A plan naming an existing asset as its target is refused too.
    let lane = app.get_json("/v1/assets?kind=lane&limit=1").await["features"][0]["id"]
        .as_i64()
        .expect("a lane");
    assert_problem(
        app.post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "facility", "title": "x", "targets": [lane], "inputs": {"facility_type": "park", "site": [116.421, 39.9]}}),
        )
        .await,
        422,
        "targets",
    )
    .await;
    // A Dongcheng token may not draw a park reaching into Changping,
    // even with its middle in Dongcheng.
    let dongcheng = app
        .token(Role::Planner, Some(hutong::domain::District::Dongcheng))
        .await;
    let square = |lon: f64, lat: f64| {
        json!([[
            [lon, lat],
            [lon + 0.001, lat],
            [lon + 0.001, lat + 0.001],
            [lon, lat + 0.001],
            [lon, lat]
        ]])
    };
    let problem = assert_problem(
        app.post_json(
            "/v1/plans",
            &dongcheng,
            &json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park"},
                "area": {"type": "MultiPolygon", "coordinates": [square(116.4250, 39.9002), square(116.4263, 39.9015), square(116.3300, 40.0700)]}}),
        )
        .await,
        403,
        "a park reaching into Changping",
    )
    .await;
    assert!(problem.to_string().contains("/area"), "{problem}");
    // Nor one larger than any facility.
    assert_problem(
        app.post_json(
            "/v1/plans",
            &planner,
            &json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park"},
                "area": {"type": "Polygon", "coordinates": [[[116.39, 39.87], [116.44, 39.87], [116.44, 39.96], [116.39, 39.96], [116.39, 39.87]]]}}),
        )
        .await,
        422,
        "too large",
    )
    .await;
    // A Changping token may not plan one in Dongcheng.
    let changping = app
        .token(Role::Planner, Some(hutong::domain::District::Changping))
        .await;
    assert_problem(
        app.post_json(
            "/v1/plans",
            &changping,
            &json!({"kind": "facility", "title": "x", "inputs": {"facility_type": "park", "site": [116.3935, 39.9432]}}),
        )
        .await,
        403,
        "another district",
    )
    .await;
    assert_eq!(
        app.get_json("/v1/plans").await["features"]
            .as_array()
            .map(Vec::len),
        before
    );
}

/// The demo's Huilongguan Sports Park, drawn by its outline north of the
/// estates, reaches every estate compound within its 10-minute circle:
/// walks start anywhere along its outline, so the nearest compound is a
/// short step across Huilongguan Road 3, and no walk is shorter than the
/// straight line from the outline. Zhonglouwan has no sports ground: all
/// its residents are outside that circle.
#[tokio::test]
async fn the_demo_sports_park_serves_the_estates_and_not_the_old_city() {
    let app = spawn_demo().await;
    let parks = app.get_json("/v1/assets?kind=facility&limit=100").await;
    let park = parks["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["name"] == "Huilongguan Sports Park")
        .expect("the sports park");
    assert_eq!(park["properties"]["facility_type"], "sports_ground");
    let id = park["id"].as_i64().expect("id");
    let catchment = app
        .get_json(&format!("/v1/analysis/catchment?facility={id}"))
        .await;
    assert_eq!(catchment["serves_minutes"], 10);
    let bands = catchment["bands"].as_array().expect("bands");
    let residents: Vec<u64> = bands
        .iter()
        .map(|b| b["residents"].as_u64().expect("residents"))
        .collect();
    assert!(residents[0] > 0 && residents[0] <= residents[1] && residents[1] <= residents[2]);
    let reached = catchment["features"].as_array().expect("features");
    for name in ["Longze Garden", "Xinlongcheng", "Longxi Garden Zone 1"] {
        assert!(
            reached.iter().any(|f| f["properties"]["name"] == name),
            "{name}: {catchment}"
        );
    }
    // Nearest first.
    let walks: Vec<f64> = reached
        .iter()
        .map(|f| f["properties"]["walk_m"].as_f64().expect("walk"))
        .collect();
    assert!(walks.windows(2).all(|w| w[0] <= w[1]), "{walks:?}");
    let old_city = app
        .get_json("/v1/analysis/coverage?kind=facilities&district=dongcheng")
        .await;
    let totals = &old_city["totals"];
    assert_eq!(
        totals["by_facility_type"]["sports_ground"]["residents_outside"],
        totals["residents"]
    );
    assert_eq!(totals["by_facility_type"]["elderly_care"]["facilities"], 1);
    assert!(
        totals["by_facility_type"]["elderly_care"]["residents_outside"].as_u64()
            < totals["residents"].as_u64(),
        "{totals}"
    );
}
