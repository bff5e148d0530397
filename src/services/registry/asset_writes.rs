//! Writes of assets: parsing a GeoJSON Feature into a validated draft,
//! checking the writer's district, storing in one transaction and only
//! then updating the index, the renderings and the observer (complaint
//! relinking). Writes are serialized by the registry's write lock so that
//! index updates apply in commit order.

use super::{AssetChange, Precondition, Registry, RegistryError};
use crate::domain::{
    Asset, AssetAttributes, AssetDraft, AssetId, AssetKind, AssetView, Principal, ValidationError,
    Version,
};
use crate::services::audit::{self, Change};
use crate::spatial::{LonLatBox, derive_measures, parse_geometry};
use crate::store::StoreError;
use serde_json::{Map, Value};

fn store_error(id: AssetId, e: StoreError) -> RegistryError {
    match e {
        StoreError::NotFound => RegistryError::NotFound(id),
        StoreError::VersionMismatch { current } => RegistryError::VersionMismatch { id, current },
        other => RegistryError::store(other),
    }
}

fn object_at<'v>(value: &'v Value, key: &str) -> Result<&'v Map<String, Value>, ValidationError> {
    match value.get(key) {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(ValidationError::single(
            format!("/{key}"),
            "must be a JSON object",
        )),
        None => Err(ValidationError::single(format!("/{key}"), "is required")),
    }
}

/// RFC 7386 merge of a flat patch into properties: `null` removes.
fn merge_properties(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

impl Registry {
    /// Parses a GeoJSON Feature into a validated draft. Error pointers are
    /// relative to the feature.
    pub fn draft_from_feature(&self, feature: &Value) -> Result<AssetDraft, ValidationError> {
        if !feature.is_object() {
            return Err(ValidationError::single(
                "",
                "body must be a GeoJSON Feature object",
            ));
        }
        match feature.get("type").and_then(Value::as_str) {
            Some("Feature") => {}
            Some(other) => {
                return Err(ValidationError::single(
                    "/type",
                    format!("must be \"Feature\", got {other:?}"),
                ));
            }
            None => return Err(ValidationError::single("/type", "must be \"Feature\"")),
        }
        let properties = object_at(feature, "properties")?;
        let kind = match properties.get("kind") {
            Some(Value::String(text)) => text
                .parse::<AssetKind>()
                .map_err(|e| ValidationError::single("/properties/kind", e))?,
            Some(_) => {
                return Err(ValidationError::single(
                    "/properties/kind",
                    "must be a string",
                ));
            }
            None => return Err(ValidationError::single("/properties/kind", "is required")),
        };
        let geometry_value = feature
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| ValidationError::single("/geometry", "is required"))?;
        let geometry = parse_geometry(geometry_value, kind.shape(), self.limits)
            .map_err(|e| e.nested_under("/geometry"))?;
        crate::services::registry::facility_parts(kind, &geometry, "/geometry/coordinates")?;
        let mut attributes =
            AssetAttributes::parse(kind, properties).map_err(|e| e.nested_under("/properties"))?;
        // The district is where the asset is, when the imported areas
        // cover it: a district typed in gives way. Street and community
        // are only ever derived.
        let path = self.areas.get().and_then(|areas| {
            use geo::InteriorPoint;
            geometry
                .interior_point()
                .map(|p| areas.path_at((p.x(), p.y())))
        });
        let path = path.unwrap_or_default();
        let district = path
            .district
            .and_then(|d| d.parse::<crate::domain::District>().ok());
        if district.is_some() {
            attributes.set_district(district);
        }
        attributes.set_areas(path.street, path.community);
        let derived = derive_measures(&geometry);
        Ok(AssetDraft {
            geometry,
            attributes,
            derived,
        })
    }

    /// A district-scoped token writes only assets of its district: by the
    /// district recorded on the asset, and, when the district's boundary
    /// is imported, by where the asset is (a point of it must lie inside).
    fn check_scope(&self, principal: &Principal, asset: &AssetDraft) -> Result<(), RegistryError> {
        let district = asset.attributes.district();
        if !principal.may_act_in(district) {
            return Err(RegistryError::Forbidden(format!(
                "this token is limited to district {}; the asset is in {}",
                principal.district.map(|d| d.as_str()).unwrap_or("none"),
                district.map(|d| d.as_str()).unwrap_or("no district")
            )));
        }
        let (Some(own), Some(areas)) = (principal.district, self.areas.get()) else {
            return Ok(());
        };
        let index = areas.snapshot();
        let Some(boundary) = index.get(own.as_str()).map(|a| &a.boundary) else {
            return Ok(());
        };
        use geo::{InteriorPoint, Intersects};
        let inside = asset
            .geometry
            .interior_point()
            .is_some_and(|p| boundary.intersects(&p));
        if inside {
            Ok(())
        } else {
            Err(RegistryError::Forbidden(format!(
                "this token is limited to district {own}, and the asset's geometry lies outside it"
            )))
        }
    }

    /// Stores many drafts in one transaction (all or nothing), then
    /// indexes them. Up to [`AUDIT_EACH_UP_TO`] are each recorded in the
    /// audit trail; a larger import is one entry.
    pub async fn insert_all(&self, drafts: &[AssetDraft]) -> Result<Vec<Asset>, RegistryError> {
        let _writer = self.writes.lock().await;
        let stored = self
            .store
            .insert_assets(drafts)
            .await
            .map_err(RegistryError::store)?;
        {
            let mut index = self.write_index();
            for asset in &stored {
                index.upsert(Self::index_entry(asset));
            }
        }
        let changes: Vec<AssetChange> = stored
            .iter()
            .map(|a| AssetChange {
                kind: a.kind(),
                before: None,
                after: LonLatBox::of_geometry(&a.geometry),
            })
            .collect();
        self.notify(&changes).await;
        let audit = if stored.len() <= AUDIT_EACH_UP_TO {
            stored
                .iter()
                .map(|a| Change::new("asset", a.id.0, "created", None, Some(audit_json(a))))
                .collect()
        } else {
            // A bulk import is one entry naming its ids, not a row each.
            let (first, last) = (
                stored.first().map_or(0, |a| a.id.0),
                stored.last().map_or(0, |a| a.id.0),
            );
            vec![Change::new(
                "asset",
                format!("{first}-{last}"),
                "imported",
                None,
                Some(
                    serde_json::json!({"count": stored.len(), "first_id": first, "last_id": last}),
                ),
            )]
        };
        audit::record(self.store.as_ref(), audit).await;
        Ok(stored)
    }

    pub async fn create(
        &self,
        principal: &Principal,
        feature: &Value,
    ) -> Result<AssetView, RegistryError> {
        let draft = self.draft_from_feature(feature)?;
        self.check_scope(principal, &draft)?;
        let stored = self.insert_all(std::slice::from_ref(&draft)).await?;
        Ok(self.views(stored).remove(0))
    }

    async fn current_for_write(
        &self,
        id: AssetId,
        precondition: &Precondition,
    ) -> Result<(Asset, Option<Version>), RegistryError> {
        let current = self
            .store
            .get_asset(id)
            .await
            .map_err(RegistryError::store)?
            .ok_or(RegistryError::NotFound(id))?;
        let expected = match precondition {
            Precondition::None | Precondition::Any => None,
            Precondition::OneOf(versions) => {
                if !versions.contains(&current.version) {
                    return Err(RegistryError::VersionMismatch {
                        id,
                        current: current.version,
                    });
                }
                // The store checks again inside its transaction.
                Some(current.version)
            }
        };
        Ok((current, expected))
    }

    async fn write_update(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
        make_draft: impl FnOnce(&Asset) -> Result<AssetDraft, RegistryError>,
    ) -> Result<AssetView, RegistryError> {
        let _writer = self.writes.lock().await;
        let (current, expected) = self.current_for_write(id, precondition).await?;
        let draft = make_draft(&current)?;
        if draft.kind() != current.kind() {
            return Err(ValidationError::single(
                "/properties/kind",
                format!(
                    "an asset's kind cannot change (it is a {}); delete it and create a new one",
                    current.kind()
                ),
            )
            .into());
        }
        let before = AssetDraft {
            geometry: current.geometry.clone(),
            attributes: current.attributes.clone(),
            derived: current.derived,
        };
        self.check_scope(principal, &before)?;
        self.check_scope(principal, &draft)?;
        let updated = self
            .store
            .update_asset(id, expected, &draft)
            .await
            .map_err(|e| store_error(id, e))?;
        self.write_index().upsert(Self::index_entry(&updated));
        self.notify(&[AssetChange {
            kind: updated.kind(),
            before: LonLatBox::of_geometry(&current.geometry),
            after: LonLatBox::of_geometry(&updated.geometry),
        }])
        .await;
        audit::record(
            self.store.as_ref(),
            vec![Change::new(
                "asset",
                id.0,
                "changed",
                Some(audit_json(&current)),
                Some(audit_json(&updated)),
            )],
        )
        .await;
        Ok(self.views(vec![updated]).remove(0))
    }

    /// Replaces an asset with a whole new Feature (PUT).
    pub async fn replace(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
        feature: &Value,
    ) -> Result<AssetView, RegistryError> {
        let draft = self.draft_from_feature(feature)?;
        self.write_update(principal, id, precondition, |_| Ok(draft))
            .await
    }

    /// Merges a partial Feature into an asset (PATCH): `properties` are
    /// merged as RFC 7386 says (null removes), `geometry` replaces.
    pub async fn patch(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
        patch: &Value,
    ) -> Result<AssetView, RegistryError> {
        let Value::Object(patch_object) = patch else {
            return Err(ValidationError::single("", "a patch must be a JSON object").into());
        };
        for key in patch_object.keys() {
            if !matches!(key.as_str(), "type" | "id" | "geometry" | "properties") {
                return Err(ValidationError::single(
                    format!("/{key}"),
                    "a patch may only carry type, geometry and properties",
                )
                .into());
            }
        }
        let patch_properties = match patch_object.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                return Err(ValidationError::single("/properties", "must be a JSON object").into());
            }
        };
        let patch_geometry = patch_object
            .get("geometry")
            .filter(|g| !g.is_null())
            .cloned();
        self.write_update(principal, id, precondition, |current| {
            let mut properties = current.attributes.to_json();
            properties.insert("kind".into(), Value::from(current.kind().as_str()));
            merge_properties(&mut properties, &patch_properties);
            let geometry = match patch_geometry {
                Some(g) => g,
                None => serde_json::to_value(geojson::Geometry::from(geojson::GeometryValue::from(
                    &current.geometry,
                )))
                .unwrap_or(Value::Null),
            };
            let feature = serde_json::json!({"type": "Feature", "geometry": geometry, "properties": properties});
            Ok(self.draft_from_feature(&feature)?)
        })
        .await
    }

    pub async fn delete(
        &self,
        principal: &Principal,
        id: AssetId,
        precondition: &Precondition,
    ) -> Result<Asset, RegistryError> {
        let _writer = self.writes.lock().await;
        let (current, expected) = self.current_for_write(id, precondition).await?;
        if !principal.may_act_in(current.attributes.district()) {
            return Err(RegistryError::Forbidden(
                "this token may not delete assets outside its district".into(),
            ));
        }
        let deleted = self
            .store
            .delete_asset(id, expected)
            .await
            .map_err(|e| store_error(id, e))?;
        self.write_index().remove(id);
        self.notify(&[AssetChange {
            kind: deleted.kind(),
            before: LonLatBox::of_geometry(&deleted.geometry),
            after: None,
        }])
        .await;
        audit::record(
            self.store.as_ref(),
            vec![Change::new(
                "asset",
                id.0,
                "deleted",
                Some(audit_json(&deleted)),
                None,
            )],
        )
        .await;
        Ok(deleted)
    }
}

/// Writes of up to this many assets are recorded one entry each.
pub const AUDIT_EACH_UP_TO: usize = 1_000;

/// An asset as the audit trail keeps it: geometry, kind and attributes,
/// version.
fn audit_json(asset: &Asset) -> Value {
    let mut properties = asset.attributes.to_json();
    properties.insert("kind".into(), Value::from(asset.kind().as_str()));
    serde_json::json!({
        "geometry": serde_json::to_value(geojson::Geometry::from(geojson::GeometryValue::from(&asset.geometry))).unwrap_or(Value::Null),
        "properties": properties,
        "version": asset.version.0,
    })
}
