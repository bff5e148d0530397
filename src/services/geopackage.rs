//! GeoPackage for designers: `hutong export --format gpkg` writes one
//! layer per asset kind (the collection's id as its name) and a `surveys`
//! layer (each survey at its asset); `hutong import FILE.gpkg` reads them
//! back. Asset rows are checked like every import (all or nothing): a row
//! whose `asset_id` exists here is compared and, if it changed, replaced
//! (its `version` must still be current); a row without one is created.
//! Survey rows without a `survey_id` are recorded like an import of
//! surveys (each checked, the refused ones reported); rows with one are
//! surveys already recorded.

use crate::domain::{AssetDraft, AssetId, AssetKind, Principal, Version};
use crate::services::collection::Collection;
use crate::services::registry::{Precondition, Registry, RegistryError};
use crate::services::surveys::{ImportReport, SurveyError, Surveys};
use crate::spatial::IndexedAsset;
use crate::store::{ColumnType, GpkgFeature, GpkgLayer, Store, StoreError};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The survey layer's name.
pub const SURVEY_LAYER: &str = "surveys";

const SURVEY_COLUMNS: [(&str, ColumnType); 16] = [
    ("survey_id", ColumnType::Integer),
    ("asset_id", ColumnType::Integer),
    ("surveyed_at", ColumnType::Text),
    ("surveyor", ColumnType::Text),
    ("roof", ColumnType::Integer),
    ("walls", ColumnType::Integer),
    ("structure", ColumnType::Integer),
    ("paving", ColumnType::Integer),
    ("drainage", ColumnType::Integer),
    ("lighting", ColumnType::Integer),
    ("condition", ColumnType::Integer),
    ("danger_grade", ColumnType::Text),
    ("floor_height_m", ColumnType::Real),
    ("lane_height_m", ColumnType::Real),
    ("notes", ColumnType::Text),
    ("work_order_id", ColumnType::Integer),
];

const ELEMENTS: [&str; 6] = [
    "roof",
    "walls",
    "structure",
    "paving",
    "drainage",
    "lighting",
];

/// Attributes that are worked out, not kept: left out of a comparison.
const DERIVED: [&str; 2] = ["street", "community"];

#[derive(Debug, thiserror::Error)]
pub enum GpkgError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Survey(#[from] SurveyError),
}

/// What an import did, per layer.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GpkgImport {
    pub created: BTreeMap<String, usize>,
    pub updated: BTreeMap<String, usize>,
    pub unchanged: BTreeMap<String, usize>,
    pub surveys: ImportReport,
    pub surveys_already_recorded: usize,
}

fn layer_of(kind: AssetKind) -> String {
    Collection::Assets(kind).id().to_string()
}

fn column_type(v: &Value) -> ColumnType {
    match v {
        Value::Bool(_) => ColumnType::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::Integer,
        Value::Number(_) => ColumnType::Real,
        _ => ColumnType::Text,
    }
}

/// Writes every asset and survey of the store to a new GeoPackage.
/// Returns each layer's row count.
pub async fn export(store: &dyn Store, path: &Path) -> Result<Vec<(String, usize)>, GpkgError> {
    let assets = store.all_assets().await?;
    let mut by_kind: BTreeMap<AssetKind, Vec<&crate::domain::Asset>> = BTreeMap::new();
    for a in &assets {
        by_kind.entry(a.kind()).or_default().push(a);
    }
    let mut layers = Vec::new();
    for kind in AssetKind::ALL {
        let rows = by_kind.remove(&kind).unwrap_or_default();
        // The columns: the id and version, then every attribute any asset
        // of the kind has, typed by its first value.
        let mut columns: Vec<(String, ColumnType)> = vec![
            ("asset_id".into(), ColumnType::Integer),
            ("version".into(), ColumnType::Integer),
        ];
        let mut features = Vec::with_capacity(rows.len());
        for a in rows {
            let mut values = a.attributes.to_json();
            values.remove("kind");
            for (k, v) in &values {
                if !v.is_null() && !columns.iter().any(|(c, _)| c == k) {
                    columns.push((k.clone(), column_type(v)));
                }
            }
            values.insert("asset_id".into(), json!(a.id.0));
            values.insert("version".into(), json!(a.version.0));
            features.push(GpkgFeature {
                fid: a.id.0,
                geometry: Some(a.geometry.clone()),
                values,
            });
        }
        layers.push(GpkgLayer {
            name: layer_of(kind),
            description: format!("hutong {kind} assets"),
            geometry_type: match kind.shape() {
                crate::domain::GeometryShape::Point => "POINT",
                _ => "GEOMETRY",
            },
            columns,
            rows: features,
        });
    }
    let places: BTreeMap<i64, geo::Point<f64>> = assets
        .iter()
        .filter_map(|a| {
            IndexedAsset::new(a.clone())
                .interior_point()
                .map(|p| (a.id.0, p))
        })
        .collect();
    let mut surveys = Vec::new();
    let mut after = 0;
    loop {
        let page = store.surveys_after(after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in page {
            let Value::Object(mut values) = json!(s) else {
                continue;
            };
            if let Some(Value::Object(scores)) = values.remove("conditions") {
                values.extend(scores);
            }
            values.insert("survey_id".into(), json!(s.id));
            surveys.push(GpkgFeature {
                fid: s.id,
                geometry: places
                    .get(&s.draft.asset_id)
                    .map(|p| geo::Geometry::Point(*p)),
                values,
            });
        }
    }
    layers.push(GpkgLayer {
        name: SURVEY_LAYER.into(),
        description: "hutong surveys of courtyards and buildings (each at its asset)".into(),
        geometry_type: "POINT",
        columns: SURVEY_COLUMNS
            .iter()
            .map(|(n, t)| (n.to_string(), *t))
            .collect(),
        rows: surveys,
    });
    crate::store::write_geopackage(path, &layers).await?;
    Ok(layers
        .iter()
        .map(|l| (l.name.clone(), l.rows.len()))
        .collect())
}

/// An asset's attributes as compared (the derived ones left out).
fn comparable(mut attributes: Map<String, Value>) -> Map<String, Value> {
    for key in DERIVED {
        attributes.remove(key);
    }
    attributes.retain(|_, v| !v.is_null());
    attributes
}

/// Reads a GeoPackage written by [`export`] (or edited since) back in.
pub async fn import(
    path: &Path,
    registry: &Registry,
    surveys: &Surveys,
    principal: &Principal,
) -> Result<GpkgImport, GpkgError> {
    let mut wanted: Vec<String> = AssetKind::ALL.iter().map(|k| layer_of(*k)).collect();
    wanted.push(SURVEY_LAYER.into());
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let layers = crate::store::read_geopackage(path, &wanted).await?;
    if layers.is_empty() {
        return Err(GpkgError::Invalid(format!(
            "{} has none of the layers {}",
            path.display(),
            wanted.join(", ")
        )));
    }
    let mut report = GpkgImport::default();
    // Check every asset row first: all or nothing.
    let mut creates: Vec<AssetDraft> = Vec::new();
    let mut updates: Vec<(AssetId, Option<Version>, Value, String)> = Vec::new();
    for layer in &layers {
        let Some(kind) = AssetKind::ALL
            .into_iter()
            .find(|k| layer_of(*k) == layer.name)
        else {
            continue;
        };
        for row in &layer.rows {
            let mut properties = row.values.clone();
            let asset_id = properties.remove("asset_id").and_then(|v| v.as_i64());
            let version = properties.remove("version").and_then(|v| v.as_i64());
            properties.insert("kind".into(), json!(kind.as_str()));
            let geometry = row.geometry.as_ref().map(|g| {
                serde_json::to_value(geojson::Geometry::from(geojson::GeometryValue::from(g)))
                    .unwrap_or(Value::Null)
            });
            let feature =
                json!({"type": "Feature", "geometry": geometry, "properties": properties});
            let draft = registry.draft_from_feature(&feature).map_err(|e| {
                GpkgError::Invalid(format!(
                    "layer {} row {}: {e}. Nothing was imported.",
                    layer.name, row.fid
                ))
            })?;
            let current = match asset_id {
                Some(id) => registry.get(AssetId(id)).await.ok(),
                None => None,
            };
            match current {
                Some(view) if view.asset.kind() != kind => {
                    return Err(GpkgError::Invalid(format!(
                        "layer {} row {}: asset {} is a {}. Nothing was imported.",
                        layer.name,
                        row.fid,
                        view.asset.id.0,
                        view.asset.kind()
                    )));
                }
                Some(view) => {
                    let same = view.asset.geometry == draft.geometry
                        && comparable(view.asset.attributes.to_json())
                            == comparable(draft.attributes.to_json());
                    if same {
                        *report.unchanged.entry(layer.name.clone()).or_default() += 1;
                    } else {
                        updates.push((
                            view.asset.id,
                            version.map(Version),
                            feature,
                            layer.name.clone(),
                        ));
                    }
                }
                None => {
                    creates.push(draft);
                    *report.created.entry(layer.name.clone()).or_default() += 1;
                }
            }
        }
    }
    if !creates.is_empty() {
        registry.insert_all(&creates).await?;
    }
    for (id, version, feature, layer) in updates {
        let precondition = match version {
            Some(v) => Precondition::OneOf(vec![v]),
            None => Precondition::None,
        };
        registry
            .replace(principal, id, &precondition, &feature)
            .await?;
        *report.updated.entry(layer).or_default() += 1;
    }
    // Surveys: the new rows, recorded one by one with a report.
    if let Some(layer) = layers.iter().find(|l| l.name == SURVEY_LAYER) {
        let mut rows = Vec::new();
        for row in &layer.rows {
            if row
                .values
                .get("survey_id")
                .and_then(Value::as_i64)
                .is_some()
            {
                report.surveys_already_recorded += 1;
                continue;
            }
            let mut properties = Map::new();
            let mut conditions = Map::new();
            for (k, v) in &row.values {
                match k.as_str() {
                    "condition" | "work_order_id" | "survey_id" => {}
                    e if ELEMENTS.contains(&e) => {
                        conditions.insert(k.clone(), v.clone());
                    }
                    _ => {
                        properties.insert(k.clone(), v.clone());
                    }
                }
            }
            properties.insert("conditions".into(), Value::Object(conditions));
            rows.push(Ok(properties));
        }
        if !rows.is_empty() {
            report.surveys = surveys.import(principal, rows).await?;
        }
    }
    Ok(report)
}
