//! Administrative areas: imported from GeoJSON (`hutong import-areas`),
//! checked like every input, stored, and held in memory so that a case's
//! district, street and community are derived from its location.

use crate::domain::{
    AdminArea, AreaLevel, AreaPath, District, GeometryShape, ValidationError, is_area_code,
};
use crate::spatial::{AreaIndex, GeometryLimits, parse_geometry};
use crate::store::{AreaRow, Store, StoreError};
use geo::{CoordsIter, Geometry, InteriorPoint, Intersects, MultiPolygon};
use serde_json::{Map, Value};
use std::sync::{Arc, RwLock};

/// Most vertices of one boundary (a district's surveyed boundary runs to
/// tens of thousands).
const MAX_AREA_VERTICES: usize = 200_000;
/// Most areas in one import (Beijing has about 7,400 in all).
const MAX_AREAS: usize = 20_000;
const KNOWN_PROPERTIES: &[&str] = &["level", "code", "name", "name_zh", "parent", "approximate"];

#[derive(Debug, thiserror::Error)]
pub enum AreaError {
    #[error("invalid areas: {0}")]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Areas {
    store: Arc<dyn Store>,
    limits: GeometryLimits,
    index: RwLock<Arc<AreaIndex>>,
}

fn boundary_of(geometry: Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match geometry {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

impl Areas {
    /// Loads the stored areas.
    pub async fn open(store: Arc<dyn Store>, limits: GeometryLimits) -> Result<Self, StoreError> {
        let limits = GeometryLimits {
            max_vertices: MAX_AREA_VERTICES,
            ..limits
        };
        let mut areas = Vec::new();
        for row in store.all_areas().await? {
            let value: Value = serde_json::from_str(&row.geometry)
                .map_err(|e| StoreError::Corrupt(format!("area {} geometry: {e}", row.code)))?;
            let boundary = parse_geometry(&value, GeometryShape::Area, limits)
                .ok()
                .and_then(boundary_of)
                .ok_or_else(|| StoreError::Corrupt(format!("area {} geometry", row.code)))?;
            areas.push(AdminArea {
                code: row.code,
                level: row.level,
                name: row.name,
                name_zh: row.name_zh,
                parent: row.parent,
                boundary,
                approximate: row.approximate,
            });
        }
        Ok(Self {
            store,
            limits,
            index: RwLock::new(Arc::new(AreaIndex::new(areas))),
        })
    }

    /// The areas as they are now.
    pub fn snapshot(&self) -> Arc<AreaIndex> {
        match self.index.read() {
            Ok(index) => index.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The district, street and community a point lies in.
    pub fn path_at(&self, at: (f64, f64)) -> AreaPath {
        self.snapshot().path_at(at)
    }

    /// Checks a FeatureCollection of areas: each a Polygon or MultiPolygon
    /// inside the service area with `level`, `code`, `name` and, below a
    /// district, a `parent` of the level above (in the file or stored)
    /// that holds it; a district's code is the district's own name.
    pub fn check(&self, collection: &Value) -> Result<Vec<(AdminArea, String)>, ValidationError> {
        if collection.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
            return Err(ValidationError::single(
                "/type",
                "must be \"FeatureCollection\"",
            ));
        }
        let features = collection
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| ValidationError::single("/features", "must be an array"))?;
        if features.is_empty() || features.len() > MAX_AREAS {
            return Err(ValidationError::single(
                "/features",
                format!("must hold 1 to {MAX_AREAS} areas, got {}", features.len()),
            ));
        }
        let stored = self.snapshot();
        let mut out: Vec<(AdminArea, String)> = Vec::with_capacity(features.len());
        for (i, feature) in features.iter().enumerate() {
            let at = |rest: &str| format!("/features/{i}{rest}");
            let properties = match feature.get("properties") {
                Some(Value::Object(p)) => p,
                _ => {
                    return Err(ValidationError::single(
                        at("/properties"),
                        "must be an object",
                    ));
                }
            };
            if let Some(key) = properties
                .keys()
                .find(|k| !KNOWN_PROPERTIES.contains(&k.as_str()))
            {
                return Err(ValidationError::single(
                    at(&format!("/properties/{key}")),
                    "unknown property",
                ));
            }
            let text = |key: &str, required: bool| -> Result<Option<String>, ValidationError> {
                match properties.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => {
                        if s.chars().count() > 100 {
                            return Err(ValidationError::single(
                                at(&format!("/properties/{key}")),
                                "must be at most 100 characters",
                            ));
                        }
                        if let Some(problem) = crate::domain::free_text_problem(s) {
                            return Err(ValidationError::single(
                                at(&format!("/properties/{key}")),
                                problem,
                            ));
                        }
                        Ok(Some(s.trim().to_string()))
                    }
                    None | Some(Value::Null) if !required => Ok(None),
                    _ => Err(ValidationError::single(
                        at(&format!("/properties/{key}")),
                        "must be a non-blank string",
                    )),
                }
            };
            let level: AreaLevel = text("level", true)?
                .unwrap_or_default()
                .parse()
                .map_err(|e| ValidationError::single(at("/properties/level"), e))?;
            let code = text("code", true)?.unwrap_or_default();
            if !is_area_code(&code) {
                return Err(ValidationError::single(
                    at("/properties/code"),
                    "must be 1 to 64 lower-case letters, digits and '-'",
                ));
            }
            if level == AreaLevel::District && code.parse::<District>().is_err() {
                return Err(ValidationError::single(
                    at("/properties/code"),
                    format!(
                        "a district's code is its name: one of {}",
                        District::ALL
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if out.iter().any(|(a, _)| a.code == code) {
                return Err(ValidationError::single(
                    at("/properties/code"),
                    format!("{code} is given twice"),
                ));
            }
            let approximate = match properties.get("approximate") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(ValidationError::single(
                        at("/properties/approximate"),
                        "must be true or false",
                    ));
                }
            };
            let geometry_value = feature
                .get("geometry")
                .filter(|g| !g.is_null())
                .ok_or_else(|| {
                    ValidationError::single(
                        at("/geometry"),
                        "is required: a Polygon or MultiPolygon",
                    )
                })?;
            let boundary = parse_geometry(geometry_value, GeometryShape::Area, self.limits)
                .map_err(|e| e.nested_under(&at("/geometry")))?;
            let Some(boundary) = boundary_of(boundary) else {
                return Err(ValidationError::single(
                    at("/geometry"),
                    "must be a Polygon or MultiPolygon",
                ));
            };
            let parent = text("parent", false)?;
            match (level.parent(), &parent) {
                (None, Some(_)) => {
                    return Err(ValidationError::single(
                        at("/properties/parent"),
                        "a district has no parent",
                    ));
                }
                (Some(wanted), None) => {
                    return Err(ValidationError::single(
                        at("/properties/parent"),
                        format!("is required: the {wanted} it lies in"),
                    ));
                }
                _ => {}
            }
            out.push((
                AdminArea {
                    code,
                    level,
                    name: text("name", true)?.unwrap_or_default(),
                    name_zh: text("name_zh", false)?,
                    parent,
                    boundary,
                    approximate,
                },
                geometry_value.to_string(),
            ));
        }
        // Parents may come anywhere in the file, or be stored already.
        for (i, (area, _)) in out.iter().enumerate() {
            let (Some(wanted), Some(parent_code)) = (area.level.parent(), &area.parent) else {
                continue;
            };
            let at = format!("/features/{i}/properties/parent");
            let parent_area = out
                .iter()
                .map(|(a, _)| a)
                .find(|a| &a.code == parent_code)
                .or_else(|| stored.get(parent_code));
            let Some(parent_area) = parent_area else {
                return Err(ValidationError::single(
                    at,
                    format!("no area {parent_code} in the file or stored"),
                ));
            };
            if parent_area.level != wanted {
                return Err(ValidationError::single(
                    at,
                    format!("{parent_code} is a {}, not a {wanted}", parent_area.level),
                ));
            }
            let inside = area
                .boundary
                .interior_point()
                .is_some_and(|p| parent_area.boundary.intersects(&p));
            if !inside {
                return Err(ValidationError::single(
                    format!("/features/{i}/geometry"),
                    format!("does not lie in its parent {parent_code}"),
                ));
            }
        }
        Ok(out)
    }

    /// Imports a FeatureCollection of areas in one transaction (all or
    /// nothing) and reloads them. Returns how many were stored.
    pub async fn import(&self, collection: &Value) -> Result<usize, AreaError> {
        let areas = self.check(collection)?;
        let rows: Vec<AreaRow> = areas
            .iter()
            .map(|(area, geometry)| AreaRow::of(area, geometry.clone()))
            .collect();
        let before: std::collections::HashMap<String, AreaRow> = self
            .store
            .all_areas()
            .await?
            .into_iter()
            .map(|a| (a.code.clone(), a))
            .collect();
        self.store.upsert_areas(&rows).await?;
        let audit_json = |a: &AreaRow| {
            use sha2::Digest;
            serde_json::json!({
                "level": a.level.as_str(), "name": a.name, "name_zh": a.name_zh,
                "parent": a.parent, "approximate": a.approximate,
                // The boundary by its digest: the trail records that it
                // changed, the store keeps it.
                "boundary_sha256": crate::encoding::hex(&sha2::Sha256::digest(a.geometry.as_bytes())),
            })
        };
        let changes = rows
            .iter()
            .map(|row| {
                let old = before.get(&row.code);
                crate::services::audit::Change::new(
                    "area",
                    &row.code,
                    if old.is_some() { "replaced" } else { "created" },
                    old.map(audit_json),
                    Some(audit_json(row)),
                )
            })
            .collect();
        crate::services::audit::record(self.store.as_ref(), changes).await;
        let reloaded = Self::open(self.store.clone(), self.limits).await?;
        let index = reloaded.snapshot();
        match self.index.write() {
            Ok(mut slot) => *slot = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
        Ok(areas.len())
    }
}

/// Most boundary vertices on one page of areas: a page that would pass
/// it ends early (with at least one area), and its `next` link goes on
/// from there.
pub const MAX_AREA_VERTICES_PER_PAGE: usize = 500_000;

/// The features of a page of areas, each with its properties, ending
/// before the page would pass [`MAX_AREA_VERTICES_PER_PAGE`] (but with
/// at least one area).
pub fn area_page_features<'a>(
    page: impl IntoIterator<Item = (&'a AdminArea, Map<String, Value>)>,
) -> Vec<Value> {
    let mut features = Vec::new();
    let mut vertices = 0usize;
    for (area, properties) in page {
        vertices = vertices.saturating_add(area.boundary.coords_count());
        if vertices > MAX_AREA_VERTICES_PER_PAGE && !features.is_empty() {
            break;
        }
        features.push(area_feature_with(area, properties));
    }
    features
}

/// An area's properties, as its feature and its tile features carry them.
pub fn area_properties(area: &AdminArea) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("level".into(), Value::from(area.level.as_str()));
    p.insert("code".into(), Value::from(area.code.clone()));
    p.insert("name".into(), Value::from(area.name.clone()));
    p.insert(
        "name_zh".into(),
        area.name_zh.clone().map_or(Value::Null, Value::from),
    );
    p.insert(
        "parent".into(),
        area.parent.clone().map_or(Value::Null, Value::from),
    );
    p.insert("approximate".into(), Value::from(area.approximate));
    p
}

/// An area as a GeoJSON Feature: its id is its code.
pub fn area_feature(area: &AdminArea) -> Value {
    area_feature_with(area, area_properties(area))
}

/// An area's feature with these properties.
pub fn area_feature_with(area: &AdminArea, p: Map<String, Value>) -> Value {
    let geometry = geojson::Geometry::from(&Geometry::MultiPolygon(area.boundary.clone()));
    serde_json::json!({"type": "Feature", "id": area.code, "geometry": geometry, "properties": p})
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    /// An area whose boundary is a ring of `n` vertices.
    fn ring_area(code: &str, n: usize) -> AdminArea {
        let ring: LineString<f64> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                (116.4 + 0.01 * a.cos(), 39.9 + 0.01 * a.sin())
            })
            .collect();
        AdminArea {
            code: code.into(),
            level: AreaLevel::Street,
            name: code.into(),
            name_zh: None,
            parent: None,
            boundary: MultiPolygon(vec![Polygon::new(ring, vec![])]),
            approximate: false,
        }
    }

    #[test]
    fn a_page_of_areas_ends_before_its_vertex_budget() {
        let big: Vec<AdminArea> = ["a", "b", "c"].map(|c| ring_area(c, 300_000)).into();
        let page = area_page_features(big.iter().map(|a| (a, area_properties(a))));
        // The first always goes; the second would pass 500,000 vertices.
        assert_eq!(page.len(), 1);
        assert_eq!(page[0]["id"], "a");
        let small: Vec<AdminArea> = ["a", "b", "c"].map(|c| ring_area(c, 1_000)).into();
        let page = area_page_features(small.iter().map(|a| (a, area_properties(a))));
        assert_eq!(page.len(), 3);
        assert_eq!(page[2]["properties"]["code"], "c");
    }
}
