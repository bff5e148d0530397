//! The gazetteer: every addressed asset by its [`AddressKey`], kept in
//! step with the asset index. Courtyards are found by their `address`
//! (way and house number), lanes by their `name` (the way itself).
//!
//! A lookup matches the house number to a courtyard, else the way to a
//! lane, and says which it reached. A way not found as written is looked
//! for among the known ways one edit away (a typo: a letter of the pinyin
//! missing, doubled or wrong), through the ways' one-letter deletions
//! (symmetric deletion: a query's deletions meet a way's deletions
//! whenever the two are one edit apart), never by comparing with every
//! way.

use crate::domain::{AddressKey, Asset, AssetAttributes, AssetId, WayClass};
use std::collections::HashMap;

/// What a lookup reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPrecision {
    /// The house: a courtyard with this way and number.
    House,
    /// The way: a lane of this name (the house number was not given, or
    /// no courtyard has it).
    Way,
}

impl AddressPrecision {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressPrecision::House => "house",
            AddressPrecision::Way => "way",
        }
    }
}

/// One answer of a lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressMatch {
    pub asset_id: AssetId,
    pub precision: AddressPrecision,
    /// The way as found (pinyin letters): differs from the query's when a
    /// typo was forgiven.
    pub way: String,
    /// Edits between the query's way and the way found (0: as written).
    pub edits: usize,
}

/// The assets of one way.
#[derive(Debug, Default)]
struct Way {
    lanes: Vec<(AssetId, Option<WayClass>)>,
    houses: HashMap<String, Vec<(AssetId, Option<WayClass>)>>,
}

impl Way {
    fn is_empty(&self) -> bool {
        self.lanes.is_empty() && self.houses.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct AddressIndex {
    ways: HashMap<String, Way>,
    /// Each way's names with one letter deleted, to the ways they come
    /// from (typo search).
    deletions: HashMap<String, Vec<String>>,
}

/// `name` with each of its letters deleted in turn (ways are ASCII).
fn deletions(name: &str) -> impl Iterator<Item = String> + '_ {
    (0..name.len()).map(move |i| {
        let mut shorter = String::with_capacity(name.len() - 1);
        shorter.push_str(&name[..i]);
        shorter.push_str(&name[i + 1..]);
        shorter
    })
}

/// The shortest name searched for typos: shorter ones are one edit from
/// too many others.
const MIN_TYPO_LETTERS: usize = 4;

/// The longest name searched for typos: no way's name is longer, and a
/// name's deletions cost its length squared (in memory, for a way).
const MAX_TYPO_LETTERS: usize = 48;

fn typo_searchable(name: &str) -> bool {
    (MIN_TYPO_LETTERS..=MAX_TYPO_LETTERS).contains(&name.len()) && name.is_ascii()
}

/// The key an asset is found by, if it has one: a courtyard's address
/// (with a house number), a lane's name (without one).
fn key_of(asset: &Asset) -> Option<AddressKey> {
    let key = match &asset.attributes {
        AssetAttributes::Courtyard(c) => AddressKey::parse(c.address.as_deref()?),
        AssetAttributes::Lane(l) => AddressKey::parse(l.name.as_deref()?),
        _ => return None,
    };
    let wanted = match asset.attributes {
        AssetAttributes::Courtyard(_) => key.house.is_some(),
        _ => key.house.is_none(),
    };
    (wanted && !key.way.is_empty()).then_some(key)
}

impl AddressIndex {
    pub fn insert(&mut self, asset: &Asset) {
        let Some(key) = key_of(asset) else { return };
        if !self.ways.contains_key(&key.way) && typo_searchable(&key.way) {
            for shorter in deletions(&key.way) {
                self.deletions
                    .entry(shorter)
                    .or_default()
                    .push(key.way.clone());
            }
        }
        let way = self.ways.entry(key.way).or_default();
        match key.house {
            Some(house) => way
                .houses
                .entry(house)
                .or_default()
                .push((asset.id, key.class)),
            None => way.lanes.push((asset.id, key.class)),
        }
    }

    /// Forgets an asset as it was indexed (the same attributes).
    pub fn remove(&mut self, asset: &Asset) {
        let Some(key) = key_of(asset) else { return };
        let Some(way) = self.ways.get_mut(&key.way) else {
            return;
        };
        match &key.house {
            Some(house) => {
                if let Some(ids) = way.houses.get_mut(house) {
                    ids.retain(|(id, _)| *id != asset.id);
                    if ids.is_empty() {
                        way.houses.remove(house);
                    }
                }
            }
            None => way.lanes.retain(|(id, _)| *id != asset.id),
        }
        if way.is_empty() {
            self.ways.remove(&key.way);
            let searchable = typo_searchable(&key.way);
            for shorter in deletions(&key.way).take_while(|_| searchable) {
                if let Some(ways) = self.deletions.get_mut(&shorter) {
                    ways.retain(|w| *w != key.way);
                    if ways.is_empty() {
                        self.deletions.remove(&shorter);
                    }
                }
            }
        }
    }

    /// How many ways are known.
    #[cfg(test)]
    fn ways(&self) -> usize {
        self.ways.len()
    }

    /// The best match of an address, if any: the house when the number is
    /// known on that way, else the way's lane. Assets whose way class
    /// agrees with the query's come first, then the lower id.
    pub fn lookup(&self, query: &AddressKey) -> Option<AddressMatch> {
        if query.way.is_empty() {
            return None;
        }
        let (name, way, edits) = match self.ways.get_key_value(&query.way) {
            Some((name, way)) => (name, way, 0),
            None => self.nearest_way(&query.way)?,
        };
        let best = |candidates: &[(AssetId, Option<WayClass>)]| {
            candidates
                .iter()
                .min_by_key(|(id, class)| {
                    let agrees = query.class.is_none() || *class == query.class;
                    (!agrees, *id)
                })
                .map(|(id, _)| *id)
        };
        let house = query
            .house
            .as_ref()
            .and_then(|h| way.houses.get(h))
            .and_then(|c| best(c));
        let (asset_id, precision) = match house {
            Some(id) => (id, AddressPrecision::House),
            None => (best(&way.lanes)?, AddressPrecision::Way),
        };
        Some(AddressMatch {
            asset_id,
            precision,
            way: name.clone(),
            edits,
        })
    }

    /// The known way one edit from `name` (ties to the alphabetically
    /// first), found through the deletions of both.
    fn nearest_way(&self, name: &str) -> Option<(&String, &Way, usize)> {
        if !typo_searchable(name) {
            return None;
        }
        let mut candidates: Vec<&str> = Vec::new();
        // `name` lacks a letter of the way.
        if let Some(ways) = self.deletions.get(name) {
            candidates.extend(ways.iter().map(String::as_str));
        }
        for shorter in deletions(name) {
            // `name` has a letter too many.
            if let Some((way, _)) = self.ways.get_key_value(&shorter) {
                candidates.push(way);
            }
            // One letter differs (or two are swapped next to each other).
            if let Some(ways) = self.deletions.get(&shorter) {
                candidates.extend(ways.iter().map(String::as_str));
            }
        }
        candidates
            .into_iter()
            .map(|known| (known, strsim::levenshtein(known, name)))
            .filter(|(_, d)| *d == 1)
            .min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)))
            .and_then(|(known, d)| {
                let (known, way) = self.ways.get_key_value(known)?;
                Some((known, way, d))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CourtyardAttributes, Derived, LaneAttributes, Version};
    use geo::{Geometry, Point};

    fn asset(id: i64, attributes: AssetAttributes) -> Asset {
        Asset {
            id: AssetId(id),
            geometry: Geometry::Point(Point::new(116.39, 39.94)),
            attributes,
            derived: Derived::default(),
            version: Version::FIRST,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn courtyard(id: i64, address: &str) -> Asset {
        asset(
            id,
            AssetAttributes::Courtyard(CourtyardAttributes {
                address: Some(address.into()),
                ..Default::default()
            }),
        )
    }

    fn lane(id: i64, name: &str) -> Asset {
        asset(
            id,
            AssetAttributes::Lane(LaneAttributes {
                name: Some(name.into()),
                ..Default::default()
            }),
        )
    }

    fn index() -> AddressIndex {
        let mut index = AddressIndex::default();
        for a in [
            lane(1, "Zhonglouwan Hutong"),
            lane(2, "Jiugulou Street"),
            courtyard(10, "Zhonglouwan Hutong 90"),
            courtyard(11, "钟楼湾胡同92号"),
            courtyard(12, "Jiugulou Street 90"),
        ] {
            index.insert(&a);
        }
        index
    }

    fn find(index: &AddressIndex, text: &str) -> Option<(i64, AddressPrecision, usize)> {
        index
            .lookup(&AddressKey::parse(text))
            .map(|m| (m.asset_id.0, m.precision, m.edits))
    }

    #[test]
    fn houses_then_ways_then_nothing() {
        let index = index();
        assert_eq!(index.ways(), 2);
        use AddressPrecision::*;
        assert_eq!(find(&index, "钟楼湾胡同90号"), Some((10, House, 0)));
        assert_eq!(
            find(&index, "Zhonglouwan Hutong No. 92"),
            Some((11, House, 0))
        );
        assert_eq!(find(&index, "旧鼓楼大街90号"), Some((12, House, 0)));
        // A number no courtyard has: the lane.
        assert_eq!(find(&index, "钟楼湾胡同7号"), Some((1, Way, 0)));
        assert_eq!(find(&index, "Zhonglouwan Hutong"), Some((1, Way, 0)));
        // A typo in the way: a letter missing, wrong or doubled.
        assert_eq!(find(&index, "Zhonglowan Hutong 90"), Some((10, House, 1)));
        assert_eq!(find(&index, "Zhonglouwam Hutong 92"), Some((11, House, 1)));
        assert_eq!(find(&index, "Zhongloouwan Hutong 92"), Some((11, House, 1)));
        // Two edits are too many.
        assert_eq!(find(&index, "Zhonglowam Hutong 92"), None);
        // A query far longer than any way is not searched for typos.
        assert_eq!(find(&index, &"钟".repeat(200)), None);
        // Unknown.
        assert_eq!(find(&index, "Doufuchi Hutong 3"), None);
        assert_eq!(find(&index, "北京市东城区"), None);
        assert_eq!(find(&index, ""), None);
    }

    #[test]
    fn removed_assets_are_not_found() {
        let mut index = index();
        index.remove(&courtyard(10, "Zhonglouwan Hutong 90"));
        assert_eq!(
            find(&index, "钟楼湾胡同90号"),
            Some((1, AddressPrecision::Way, 0))
        );
        index.remove(&lane(1, "Zhonglouwan Hutong"));
        index.remove(&courtyard(11, "钟楼湾胡同92号"));
        assert_eq!(find(&index, "钟楼湾胡同90号"), None);
        assert_eq!(find(&index, "Zhonglowan Hutong 90"), None);
        assert_eq!(index.ways(), 1);
        assert!(index.deletions.values().all(|w| w == &["jiugulou"]));
    }
}
