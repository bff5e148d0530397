//! Address lookup at city scale: a gazetteer of 1,000,000 courtyard
//! addresses on 20,000 generated hutongs, looked up with messy addresses
//! as a hotline types them: Chinese with and without 号, full-width
//! digits, city and district prefixes, English forms, a typo in the way,
//! and addresses that do not exist. Reports start-up cost, lookups per
//! second on one core (each query different), and the share found, by
//! form.
//!
//! `cargo bench --bench geocode`

use geo::{Geometry, Point};
use hutong::domain::{
    AddressKey, Asset, AssetAttributes, AssetId, CourtyardAttributes, Derived, Version,
};
use hutong::spatial::{AddressPrecision, AssetIndex, IndexedAsset};
use pinyin::ToPinyin;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::time::Instant;

const ADDRESSES: usize = 1_000_000;
const WAYS: usize = 20_000;
const QUERIES: usize = 200_000;

/// Characters hutong names are made of (common in Beijing's lane names).
const CHARS: &str = "钟楼湾鼓豆腐池宝钞旧帽儿南锣北新东西大小花枝铃铛草厂前后石桥井椿树杨柳菊兵马司方家砖塔白米斜街棉花胭脂辛寺沙井黑芝麻炒豆板秦老箭杆烟袋锅国子监五道营";

fn way_names(rng: &mut Pcg64Mcg) -> Vec<(String, String)> {
    let chars: Vec<char> = CHARS.chars().collect();
    let mut seen = std::collections::HashSet::new();
    let mut names = Vec::new();
    while names.len() < WAYS {
        let n = rng.random_range(2..=4);
        let hanzi: String = (0..n)
            .map(|_| chars[rng.random_range(0..chars.len())])
            .collect();
        let pinyin: String = hanzi
            .as_str()
            .to_pinyin()
            .flatten()
            .map(|p| p.plain())
            .collect::<String>();
        if seen.insert(pinyin.clone()) {
            let mut english = pinyin.clone();
            english[..1].make_ascii_uppercase();
            names.push((hanzi, english));
        }
    }
    names
}

fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

fn main() {
    let mut rng = Pcg64Mcg::seed_from_u64(12345);
    let ways = way_names(&mut rng);
    let houses_per_way = ADDRESSES / WAYS;
    let started = Instant::now();
    let assets: Vec<IndexedAsset> = (0..ADDRESSES)
        .map(|i| {
            let (_, english) = &ways[i % WAYS];
            let house = i / WAYS + 1;
            IndexedAsset::new(Asset {
                id: AssetId(i as i64 + 1),
                geometry: Geometry::Point(Point::new(116.3 + (i % 1000) as f64 * 1e-4, 39.9)),
                attributes: AssetAttributes::Courtyard(CourtyardAttributes {
                    address: Some(format!("{english} Hutong {house}")),
                    ..Default::default()
                }),
                derived: Derived::default(),
                version: Version::FIRST,
                created_at: time::OffsetDateTime::UNIX_EPOCH,
                updated_at: time::OffsetDateTime::UNIX_EPOCH,
            })
        })
        .collect();
    let index = AssetIndex::build(assets);
    println!(
        "gazetteer of {ADDRESSES} addresses on {WAYS} hutongs built with the index in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // Messy queries, each different: (form, text, whether it exists).
    let forms = [
        "chinese",
        "chinese, full-width digits",
        "chinese, city and district",
        "english",
        "english, No. and district",
        "english, one typo",
        "not there",
    ];
    let queries: Vec<(usize, String, bool)> = (0..QUERIES)
        .map(|q| {
            let form = q % forms.len();
            let (hanzi, english) = &ways[rng.random_range(0..WAYS)];
            let house = rng.random_range(1..=houses_per_way);
            let text = match form {
                0 => format!("{hanzi}胡同{house}号"),
                1 => full_width(&format!("{hanzi}胡同{house}号")),
                2 => format!("北京市东城区{hanzi}胡同{house}号"),
                3 => format!("{english} Hutong {house}"),
                4 => format!("No. {house}, {english} Hutong, Dongcheng District"),
                5 => {
                    // Drop one letter of the way (beyond the first).
                    let mut typo = english.clone();
                    let at = rng.random_range(1..typo.len());
                    typo.remove(at);
                    format!("{typo} Hutong {house}")
                }
                _ => format!("Nowhere{q} Road {house}"),
            };
            (form, text, form != 6)
        })
        .collect();

    let mut found = vec![(0usize, 0usize); forms.len()];
    let started = Instant::now();
    for (form, text, _) in &queries {
        let hit = index.lookup_address(&AddressKey::parse(text));
        found[*form].1 += 1;
        if hit.is_some_and(|h| h.precision == AddressPrecision::House) {
            found[*form].0 += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{QUERIES} lookups in {elapsed:.2} s: {:.0} lookups/s on one core",
        QUERIES as f64 / elapsed
    );
    // The typo form alone, for its cost.
    let typos: Vec<&String> = queries
        .iter()
        .filter(|q| q.0 == 5)
        .map(|q| &q.1)
        .take(2_000)
        .collect();
    let started = Instant::now();
    for text in &typos {
        std::hint::black_box(index.lookup_address(&AddressKey::parse(text)));
    }
    println!(
        "typo lookups alone: {:.0}/s",
        typos.len() as f64 / started.elapsed().as_secs_f64()
    );
    for (form, (hits, all)) in forms.iter().zip(&found) {
        println!(
            "  {form:<28} found at house precision: {:5.1} %",
            100.0 * *hits as f64 / *all as f64
        );
    }
}
