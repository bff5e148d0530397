//! Deterministic city-scale data for benchmarks: assets spread over
//! Beijing's urban area in neighbourhood clusters, seeded so the same
//! seed always gives the same data.

use crate::services::registry::{Registry, RegistryError};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};

/// Beijing's built-up area, degrees.
const WEST: f64 = 116.10;
const EAST: f64 = 116.70;
const SOUTH: f64 = 39.75;
const NORTH: f64 = 40.15;
const METRES_PER_DEGREE_LAT: f64 = 111_035.0;
const METRES_PER_DEGREE_LON: f64 = 85_300.0;

const DISTRICTS: &[&str] = &[
    "dongcheng",
    "xicheng",
    "chaoyang",
    "haidian",
    "fengtai",
    "changping",
];

/// A seeded generator of GeoJSON asset Features.
pub struct CityGenerator {
    rng: Pcg64Mcg,
    centre: (f64, f64),
    left_in_cluster: u32,
    points_only: bool,
    /// Neighbourhoods begun so far: each is a hutong of its own name.
    clusters: u64,
    /// Courtyards numbered so far in the current neighbourhood.
    houses: u32,
}

/// The pinyin syllables the generated hutong names are made of.
const SYLLABLES: [&str; 20] = [
    "an", "bai", "chang", "dong", "fu", "gu", "hua", "jin", "kang", "long", "ma", "nan", "ping",
    "qian", "shi", "tai", "wang", "xi", "yang", "zhong",
];

/// The name of the `n`th generated hutong: three syllables, capitalised
/// (`Changfuhua`); 8,000 distinct names.
pub fn way_name(n: u64) -> String {
    let mut name: String = [n / 400 % 20, n / 20 % 20, n % 20]
        .iter()
        .map(|&i| SYLLABLES[i as usize])
        .collect();
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    name
}

impl CityGenerator {
    /// `points_only`: drainage points, lights and chargers only (what
    /// most of a city's assets are).
    pub fn new(seed: u64, points_only: bool) -> Self {
        Self {
            rng: Pcg64Mcg::seed_from_u64(seed),
            centre: (116.4, 39.9),
            left_in_cluster: 0,
            points_only,
            clusters: 0,
            houses: 0,
        }
    }

    /// A point near the current neighbourhood centre; a new centre every
    /// few hundred assets.
    fn next_point(&mut self) -> (f64, f64) {
        if self.left_in_cluster == 0 {
            self.centre = (
                self.rng.random_range(WEST..EAST),
                self.rng.random_range(SOUTH..NORTH),
            );
            self.left_in_cluster = self.rng.random_range(100..600);
            self.clusters += 1;
            self.houses = 0;
        }
        self.left_in_cluster -= 1;
        let dx = self.rng.random_range(-400.0..400.0) / METRES_PER_DEGREE_LON;
        let dy = self.rng.random_range(-400.0..400.0) / METRES_PER_DEGREE_LAT;
        (round7(self.centre.0 + dx), round7(self.centre.1 + dy))
    }

    /// The next Feature.
    pub fn next_feature(&mut self) -> Value {
        let (lon, lat) = self.next_point();
        let district = DISTRICTS[self.rng.random_range(0..DISTRICTS.len())];
        let roll: u32 = self.rng.random_range(0..100);
        let roll = if self.points_only { roll % 70 } else { roll };
        let drainage_type = ["inlet", "manhole", "inlet"][self.rng.random_range(0..3)];
        let light_type = ["street", "wall", "courtyard"][self.rng.random_range(0..3)];
        match roll {
            0..=24 => {
                json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"kind": "drainage", "district": district,
                    "drainage_type": drainage_type,
                    "condition": self.rng.random_range(1..=5)}})
            }
            25..=59 => {
                json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"kind": "light", "district": district,
                    "light_type": light_type,
                    "status": if self.rng.random_range(0..10) == 0 { "faulty" } else { "working" }}})
            }
            60..=69 => {
                json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"kind": "charger", "district": district, "ports": self.rng.random_range(2..=20)}})
            }
            70..=79 => {
                let w = self.rng.random_range(15.0..40.0) / METRES_PER_DEGREE_LON;
                let h = self.rng.random_range(15.0..40.0) / METRES_PER_DEGREE_LAT;
                // Numbered in the order they are made (no random draw, so
                // the city is the same as before courtyards had addresses).
                self.houses += 1;
                let address = format!("{} Hutong {}", way_name(self.clusters), self.houses);
                json!({"type": "Feature", "geometry": rect(lon, lat, w, h),
                    "properties": {"kind": "courtyard", "district": district, "address": address,
                        "households": self.rng.random_range(1..=12), "condition": self.rng.random_range(1..=5)}})
            }
            80..=94 => {
                let w = self.rng.random_range(6.0..20.0) / METRES_PER_DEGREE_LON;
                let h = self.rng.random_range(5.0..9.0) / METRES_PER_DEGREE_LAT;
                json!({"type": "Feature", "geometry": rect(lon, lat, w, h),
                    "properties": {"kind": "building", "district": district, "storeys": self.rng.random_range(1..=6)}})
            }
            _ => {
                let len = self.rng.random_range(50.0..300.0) / METRES_PER_DEGREE_LON;
                json!({"type": "Feature", "geometry": {"type": "LineString",
                        "coordinates": [[lon, lat], [round7(lon + len / 2.0), round7(lat + 0.00002)], [round7(lon + len), lat]]},
                    "properties": {"kind": "lane", "district": district, "width_m": self.rng.random_range(3.0..9.0)}})
            }
        }
    }
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn rect(lon: f64, lat: f64, w: f64, h: f64) -> Value {
    let (x1, y1) = (round7(lon + w), round7(lat + h));
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [x1, lat], [x1, y1], [lon, y1], [lon, lat]]]})
}

/// Categories in rough proportion to a hotline's load.
const CATEGORIES: &[&str] = &[
    "water_pooling",
    "water_pooling",
    "drainage_blockage",
    "broken_light",
    "broken_light",
    "dark_lane",
    "ebike_charging",
    "ebike_charging",
    "elevator_installation",
    "housing_leak",
    "illegal_construction",
    "property_certificate",
    "obstructed_passage",
    "green_space",
    "elderly_services",
    "other",
];
const CHANNELS: &[&str] = &[
    "phone", "phone", "phone", "web", "wechat", "wechat", "weibo", "app",
];

/// Hotline cases placed where a city's assets are: each near (within
/// 150 m of) one of the assets that `CityGenerator::new(seed, false)`
/// makes first, so that linking finds what it would in a real city.
/// Cases a day at Beijing's 12345 hotline (11 million in half a year).
const CASES_PER_DAY: u64 = 60_000;

pub struct ComplaintGenerator {
    rng: Pcg64Mcg,
    near: Vec<(f64, f64)>,
    next: u64,
    /// Courtyards with their addresses, for the cases phoned in with an
    /// address only.
    courtyards: Vec<String>,
    /// Of every 100 cases, how many come with an address and no
    /// coordinates.
    address_only_per_100: u64,
}

impl ComplaintGenerator {
    pub fn new(seed: u64, assets: usize) -> Self {
        Self::with_addresses(seed, assets, 0)
    }

    /// Cases of which `address_only_per_100` in every 100 come as phone
    /// calls do: an address (in the messy forms callers give) and no
    /// coordinates. One in six of those names a place that does not
    /// exist, and stays unlocated.
    pub fn with_addresses(seed: u64, assets: usize, address_only_per_100: u64) -> Self {
        let city: Vec<Value> = CityGenerator::new(seed, false)
            .take(assets.max(1))
            .collect();
        let courtyards = city
            .iter()
            .filter_map(|f| f["properties"]["address"].as_str().map(str::to_string))
            .collect();
        let near = city
            .iter()
            .map(|f| {
                let mut c = &f["geometry"]["coordinates"];
                while c[0].is_array() {
                    c = &c[0];
                }
                (
                    c[0].as_f64().unwrap_or(116.4),
                    c[1].as_f64().unwrap_or(39.9),
                )
            })
            .collect();
        Self {
            rng: Pcg64Mcg::seed_from_u64(seed ^ 0x1234_5678),
            near,
            next: 1,
            courtyards,
            address_only_per_100: address_only_per_100.min(100),
        }
    }

    /// The `n`th address-only case's address: a courtyard's, written one
    /// of six ways (plain, long English form with district and city,
    /// full-width digits, lower case, a letter dropped from the name), or
    /// a place that does not exist.
    fn messy_address(&mut self, n: u64) -> String {
        let plain = &self.courtyards[self.rng.random_range(0..self.courtyards.len())];
        let (way, house) = plain
            .rsplit_once(" Hutong ")
            .unwrap_or((plain.as_str(), "1"));
        match n % 6 {
            0 => plain.clone(),
            1 => format!("No. {house}, {way} Hutong, Dongcheng District, Beijing"),
            2 => format!(
                "{way} Hutong {}",
                house
                    .chars()
                    .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c))
                    .collect::<String>()
            ),
            3 => plain.to_lowercase(),
            4 => {
                let mut typo: String = way.to_string();
                if typo.len() > 5 {
                    typo.remove(typo.len() / 2);
                }
                format!("{typo} Hutong {house}")
            }
            _ => format!("Nowhere Lane {house}"),
        }
    }
}

impl Iterator for ComplaintGenerator {
    type Item = Value;

    /// The next case as a flat JSON object (the columns of `hutong
    /// import-complaints`), in time order.
    fn next(&mut self) -> Option<Value> {
        let n = self.next;
        self.next += 1;
        let address_only = n % 100 < self.address_only_per_100 && !self.courtyards.is_empty();
        let address = address_only.then(|| self.messy_address(n));
        let (lon, lat) = self.near[self.rng.random_range(0..self.near.len())];
        let lon = round7(lon + self.rng.random_range(-150.0..150.0) / METRES_PER_DEGREE_LON);
        let lat = round7(lat + self.rng.random_range(-150.0..150.0) / METRES_PER_DEGREE_LAT);
        let category = CATEGORIES[self.rng.random_range(0..CATEGORIES.len())];
        let channel = CHANNELS[self.rng.random_range(0..CHANNELS.len())];
        let district = DISTRICTS[self.rng.random_range(0..DISTRICTS.len())];
        // In the order a hotline takes calls, as its exports are: Beijing's
        // rate, about 60,000 cases a day, from 2024-01-01 (Beijing time),
        // each reported up to ten minutes before it was logged.
        let logged = n * 86_400 / CASES_PER_DAY;
        let second = logged.saturating_sub(self.rng.random_range(0..600u64)) + 600;
        let date = time::Date::from_ordinal_date(2024, 1)
            .ok()
            .and_then(|d| d.checked_add(time::Duration::days((second / 86_400) as i64)))
            .unwrap_or(time::Date::MAX);
        let second = second % 86_400;
        let reported = format!(
            "{date}T{:02}:{:02}:{:02}+08:00",
            second / 3600,
            (second / 60) % 60,
            second % 60
        );
        let mut case = json!({"case_number": format!("BJ12345-GEN-{n:09}"), "channel": channel, "category": category,
            "description": format!("Generated case {n} about {category}"), "lon": lon, "lat": lat,
            "district": district, "reported_at": reported,
            "caller_name": format!("Caller {n}"), "caller_phone": format!("1380{:07}", n % 10_000_000)});
        if let (Some(address), Some(row)) = (address, case.as_object_mut()) {
            row.remove("lon");
            row.remove("lat");
            row.remove("district");
            row.insert("address".into(), Value::String(address));
        }
        Some(case)
    }
}

impl Iterator for CityGenerator {
    type Item = Value;
    fn next(&mut self) -> Option<Value> {
        Some(self.next_feature())
    }
}

/// Stores `count` assets of the city of `seed` through `registry`,
/// checked as any import is, 50,000 to a transaction: how benchmarks and
/// tests fill a store.
pub async fn store_city(
    registry: &Registry,
    seed: u64,
    points_only: bool,
    count: usize,
) -> Result<(), RegistryError> {
    let mut generator = CityGenerator::new(seed, points_only);
    let mut left = count;
    while left > 0 {
        let n = left.min(50_000);
        let drafts = generator
            .by_ref()
            .take(n)
            .map(|f| registry.draft_from_feature(&f))
            .collect::<Result<Vec<_>, _>>()?;
        registry.insert_all(&drafts).await?;
        left -= n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_different_seed_different_data() {
        let a: Vec<Value> = CityGenerator::new(7, false).take(200).collect();
        let b: Vec<Value> = CityGenerator::new(7, false).take(200).collect();
        let c: Vec<Value> = CityGenerator::new(8, false).take(200).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn points_only_makes_points() {
        assert!(
            CityGenerator::new(1, true)
                .take(500)
                .all(|f| f["geometry"]["type"] == "Point")
        );
    }
}
