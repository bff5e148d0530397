//! The bundled demo: Zhonglouwan Hutong by the Bell and Drum Towers
//! (Dongcheng) and a piece of Huilongguan (Changping), with 300 hotline
//! cases. See `fixtures/README.md`.

use crate::domain::ValidationError;
use crate::services::complaint_import::{self, ImportFormat};
use crate::services::complaints::Complaints;
use crate::services::registry::{Registry, RegistryError};
use serde_json::Value;

/// The demo assets as a GeoJSON FeatureCollection.
pub const DEMO_ASSETS: &str = include_str!("../../fixtures/demo-assets.geojson");

/// The demo's administrative areas (drawn by hand, marked approximate).
pub const DEMO_AREAS: &str = include_str!("../../fixtures/demo-areas.geojson");

/// The demo's 12345 cases of 2024, as JSON Lines.
pub const DEMO_COMPLAINTS: &str = include_str!("../../fixtures/demo-complaints.jsonl");

/// The features of a GeoJSON FeatureCollection document.
pub fn features_of(collection: &Value) -> Result<&Vec<Value>, ValidationError> {
    if collection.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(ValidationError::single(
            "/type",
            "must be \"FeatureCollection\"",
        ));
    }
    collection
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| ValidationError::single("/features", "must be an array of Features"))
}

/// Loads the demo (assets, then complaints, linked to them) when the
/// database has no assets; returns how many assets were loaded.
pub async fn load_if_empty(
    registry: &Registry,
    complaints: &Complaints,
) -> Result<usize, RegistryError> {
    if registry.asset_count() > 0 {
        tracing::info!("database already has assets; demo not loaded");
        return Ok(0);
    }
    // Areas first, so that assets and cases get their street and community.
    let areas: Value = serde_json::from_str(DEMO_AREAS)
        .map_err(|e| ValidationError::single("", format!("demo areas are not JSON: {e}")))?;
    complaints
        .hotline()
        .areas
        .import(&areas)
        .await
        .map_err(|e| ValidationError::single("/areas", format!("demo areas: {e}")))?;
    let collection: Value = serde_json::from_str(DEMO_ASSETS)
        .map_err(|e| ValidationError::single("", format!("demo fixtures are not JSON: {e}")))?;
    let mut drafts = Vec::new();
    for (i, feature) in features_of(&collection)?.iter().enumerate() {
        drafts.push(
            registry
                .draft_from_feature(feature)
                .map_err(|e| e.nested_under(&format!("/features/{i}")))?,
        );
    }
    let stored = registry.insert_all(&drafts).await?;
    let report = complaint_import::import(
        complaints,
        DEMO_COMPLAINTS.as_bytes(),
        ImportFormat::JsonLines,
        |_| {},
    )
    .await
    .map_err(|e| ValidationError::single("/complaints", format!("demo complaints: {e}")))?;
    if let Some(rejected) = report.rejected.first() {
        return Err(ValidationError::single(
            "/complaints",
            format!(
                "demo complaint on line {}: {}",
                rejected.line, rejected.reason
            ),
        )
        .into());
    }
    tracing::info!(
        assets = stored.len(),
        complaints = report.created,
        "demo data loaded"
    );
    Ok(stored.len())
}
