//! The administrative areas in memory: which district, street and
//! community a point lies in. An R*-tree of boundary envelopes per level
//! finds the candidates; the exact test is `geo`'s point-in-polygon.

use crate::domain::{AdminArea, AreaLevel, AreaPath, LonLatBox};
use geo::{BoundingRect, Intersects, Point, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

#[derive(Debug, Default)]
pub struct AreaIndex {
    areas: Vec<AdminArea>,
    /// Code → position in `areas`.
    by_code: std::collections::HashMap<String, usize>,
    /// Per level (district, street, community), the envelopes of its
    /// areas with their index in `areas`.
    trees: [RTree<Entry>; 3],
}

fn level_slot(level: AreaLevel) -> usize {
    match level {
        AreaLevel::District => 0,
        AreaLevel::Street => 1,
        AreaLevel::Community => 2,
    }
}

impl AreaIndex {
    pub fn new(areas: Vec<AdminArea>) -> Self {
        let mut entries: [Vec<Entry>; 3] = Default::default();
        for (i, area) in areas.iter().enumerate() {
            if let Some(rect) = area.boundary.bounding_rect() {
                let envelope = Rectangle::from_corners(
                    [rect.min().x, rect.min().y],
                    [rect.max().x, rect.max().y],
                );
                entries[level_slot(area.level)].push(GeomWithData::new(envelope, i));
            }
        }
        let [d, s, c] = entries;
        let by_code = areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.clone(), i))
            .collect();
        Self {
            areas,
            by_code,
            trees: [
                RTree::bulk_load(d),
                RTree::bulk_load(s),
                RTree::bulk_load(c),
            ],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    pub fn all(&self) -> &[AdminArea] {
        &self.areas
    }

    pub fn get(&self, code: &str) -> Option<&AdminArea> {
        self.by_code.get(code).map(|&i| &self.areas[i])
    }

    /// The area of this level a point lies in (on a shared border, the
    /// one with the smallest code, so the answer does not depend on load
    /// order).
    pub fn at_level(&self, level: AreaLevel, (lon, lat): (f64, f64)) -> Option<&AdminArea> {
        let point = Point::new(lon, lat);
        self.trees[level_slot(level)]
            .locate_all_at_point(&[lon, lat])
            .map(|entry| &self.areas[entry.data])
            .filter(|area| area.boundary.intersects(&point))
            .min_by(|a, b| a.code.cmp(&b.code))
    }

    /// The areas of a level whose boundary meets the box (every area of
    /// the level without one), as positions in [`AreaIndex::all`], in
    /// order of code.
    pub fn in_box(&self, level: AreaLevel, bbox: Option<LonLatBox>) -> Vec<usize> {
        let tree = &self.trees[level_slot(level)];
        let mut found: Vec<usize> = match bbox {
            None => tree.iter().map(|entry| entry.data).collect(),
            Some(b) => {
                let envelope = AABB::from_corners([b.min_lon, b.min_lat], [b.max_lon, b.max_lat]);
                let rect = Rect::new((b.min_lon, b.min_lat), (b.max_lon, b.max_lat));
                tree.locate_in_envelope_intersecting(&envelope)
                    .map(|entry| entry.data)
                    .filter(|&i| self.areas[i].boundary.intersects(&rect))
                    .collect()
            }
        };
        found.sort_unstable_by(|&a, &b| self.areas[a].code.cmp(&self.areas[b].code));
        found
    }

    /// The box around every area of a level, if it has any.
    pub fn extent(&self, level: AreaLevel) -> Option<LonLatBox> {
        let tree = &self.trees[level_slot(level)];
        if tree.size() == 0 {
            return None;
        }
        let envelope = tree.root().envelope();
        let (lower, upper) = (envelope.lower(), envelope.upper());
        Some(LonLatBox {
            min_lon: lower[0],
            min_lat: lower[1],
            max_lon: upper[0],
            max_lat: upper[1],
        })
    }

    /// The district, street and community a point lies in.
    pub fn path_at(&self, at: (f64, f64)) -> AreaPath {
        let code = |level| self.at_level(level, at).map(|a| a.code.clone());
        AreaPath {
            district: code(AreaLevel::District),
            street: code(AreaLevel::Street),
            community: code(AreaLevel::Community),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    fn square(code: &str, level: AreaLevel, x: f64, y: f64, size: f64) -> AdminArea {
        AdminArea {
            code: code.into(),
            level,
            name: code.into(),
            name_zh: None,
            parent: None,
            boundary: MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)
            ]]),
            approximate: true,
        }
    }

    #[test]
    fn a_point_finds_the_areas_it_lies_in_at_each_level() {
        let index = AreaIndex::new(vec![
            square("dongcheng", AreaLevel::District, 116.0, 39.0, 1.0),
            square("a", AreaLevel::Street, 116.0, 39.0, 0.5),
            square("b", AreaLevel::Street, 116.5, 39.0, 0.5),
            square("a-1", AreaLevel::Community, 116.1, 39.1, 0.1),
        ]);
        let path = index.path_at((116.15, 39.15));
        assert_eq!(path.district.as_deref(), Some("dongcheng"));
        assert_eq!(path.street.as_deref(), Some("a"));
        assert_eq!(path.community.as_deref(), Some("a-1"));
        let east = index.path_at((116.7, 39.2));
        assert_eq!(east.street.as_deref(), Some("b"));
        assert_eq!(east.community, None);
        // On the border of a and b: the smaller code, whatever the order.
        assert_eq!(index.path_at((116.5, 39.2)).street.as_deref(), Some("a"));
        assert_eq!(index.path_at((120.0, 39.2)), AreaPath::default());
        let codes = |found: Vec<usize>| -> Vec<String> {
            found
                .into_iter()
                .map(|i| index.all()[i].code.clone())
                .collect()
        };
        let west = LonLatBox {
            min_lon: 116.05,
            min_lat: 39.05,
            max_lon: 116.2,
            max_lat: 39.2,
        };
        assert_eq!(codes(index.in_box(AreaLevel::Street, Some(west))), ["a"]);
        assert_eq!(codes(index.in_box(AreaLevel::Street, None)), ["a", "b"]);
        let extent = index.extent(AreaLevel::Street).expect("streets");
        assert_eq!((extent.min_lon, extent.max_lon), (116.0, 117.0));
        assert!(index.extent(AreaLevel::Community).is_some());
        // Inside the envelope but outside the polygon is outside.
        assert!(AreaIndex::default().is_empty());
    }
}
