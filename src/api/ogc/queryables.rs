//! `/collections/{collectionId}/queryables`: the properties a filter may
//! name, as a JSON Schema (2020-12). Asset attributes come from the
//! attribute types' own schemas (derived with utoipa from the structs
//! that validate input), so the queryables cannot drift from what the
//! service stores; the filter's type checks are read off the same schema.

use super::collection::{Collection, collection_for};
use super::html;
use super::request::{OgcRequest, Representation};
use crate::api::ApiError;
use crate::api::auth::Requester;
use crate::domain::{
    AssetKind, BuildingAttributes, Category, Channel, ChargerAttributes, ComplaintStatus, CoordSys,
    CourtyardAttributes, District, DrainageAttributes, FacilityAttributes, GeometryShape,
    LaneAttributes, LightAttributes, PlanKind, PlanStatus, Priority, WorkOrderKind,
    WorkOrderOrigin, WorkOrderStatus,
};
use crate::services::feature_filter::{Queryables, ValueType};
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// A schema as JSON, with `$ref`s to its dependencies inlined and
/// nullability dropped (a queryable's type is that of its values).
fn resolved<T: ToSchema>() -> Value {
    let mut dependencies: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut dependencies);
    let named: Map<String, Value> = dependencies
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect();
    let mut schema = serde_json::to_value(T::schema()).unwrap_or_else(|_| json!({}));
    inline(&mut schema, &named, 0);
    schema
}

fn inline(value: &mut Value, named: &Map<String, Value>, depth: usize) {
    if depth > 16 {
        return;
    }
    if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        if let Some(target) = named.get(name) {
            *value = target.clone();
        }
    }
    if let Some(options) = value.get("oneOf").and_then(Value::as_array) {
        let not_null: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
        if let [only] = not_null.as_slice() {
            *value = (*only).clone();
            inline(value, named, depth + 1);
            return;
        }
    }
    if let Some(types) = value.get("type").and_then(Value::as_array) {
        let not_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if let [only] = not_null.as_slice() {
            value["type"] = only.clone();
        }
    }
    match value {
        Value::Object(map) => {
            map.remove("default");
            for child in map.values_mut() {
                inline(child, named, depth + 1);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| inline(i, named, depth + 1)),
        _ => {}
    }
}

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> Value {
    json!({"type": "string", "enum": values.into_iter().collect::<Vec<_>>()})
}

fn date_time(title: &str) -> Value {
    json!({"type": "string", "format": "date-time", "title": title})
}

fn geometry(format: &str) -> Value {
    json!({"format": format, "x-ogc-role": "primary-geometry", "title": "The feature's geometry (CRS84)"})
}

/// The properties of a collection's features that filters may use, and
/// their types: worked out once (they come from the types' schemas), not
/// per request.
struct Schemas {
    properties: Map<String, Value>,
    types: Queryables,
}

fn schemas(collection: Collection) -> &'static Schemas {
    static ALL: std::sync::OnceLock<Vec<Schemas>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        Collection::ALL
            .into_iter()
            .map(|c| {
                let properties = build_properties(c);
                let types = types_of(&properties);
                Schemas { properties, types }
            })
            .collect()
    });
    let i = Collection::ALL
        .iter()
        .position(|c| *c == collection)
        .unwrap_or_default();
    &all[i]
}

/// The properties of a collection's features that filters may use.
pub fn properties(collection: Collection) -> &'static Map<String, Value> {
    &schemas(collection).properties
}

/// The filter's view of the same schema: each property's value type.
pub fn types(collection: Collection) -> &'static Queryables {
    &schemas(collection).types
}

/// The schema of an asset kind's attributes as a write takes them (with
/// the attributes it requires), for the request bodies in the API
/// definition.
pub fn attribute_schema(kind: AssetKind) -> Value {
    match kind {
        AssetKind::Courtyard => resolved::<CourtyardAttributes>(),
        AssetKind::Building => resolved::<BuildingAttributes>(),
        AssetKind::Lane => resolved::<LaneAttributes>(),
        AssetKind::Drainage => resolved::<DrainageAttributes>(),
        AssetKind::Light => resolved::<LightAttributes>(),
        AssetKind::Charger => resolved::<ChargerAttributes>(),
        AssetKind::Facility => resolved::<FacilityAttributes>(),
    }
}

fn build_properties(collection: Collection) -> Map<String, Value> {
    let mut p = Map::new();
    // An area's feature id is its code (a property already).
    if !matches!(collection, Collection::Areas(_)) {
        p.insert(
            "id".into(),
            json!({"type": "integer", "title": "Feature id", "x-ogc-role": "id"}),
        );
    }
    match collection {
        Collection::Assets(kind) => {
            let attributes = attribute_schema(kind);
            if let Some(fields) = attributes["properties"].as_object() {
                p.extend(fields.clone());
            }
            p.insert("kind".into(), string_enum([kind.as_str()]));
            match kind.shape() {
                GeometryShape::Area | GeometryShape::SinglePolygon => {
                    p.insert(
                        "area_m2".into(),
                        json!({"type": "number", "title": "Area in square metres (geodesic)"}),
                    );
                    p.insert(
                        "geometry".into(),
                        geometry("geometry-polygon-or-multipolygon"),
                    );
                }
                GeometryShape::Line => {
                    p.insert(
                        "length_m".into(),
                        json!({"type": "number", "title": "Length in metres (geodesic)"}),
                    );
                    p.insert("geometry".into(), geometry("geometry-linestring"));
                }
                GeometryShape::Point => {
                    p.insert("geometry".into(), geometry("geometry-point"));
                }
                GeometryShape::Site => {
                    p.insert(
                        "area_m2".into(),
                        json!({"type": "number", "title": "Area in square metres (geodesic), when drawn by its outline"}),
                    );
                    p.insert("geometry".into(), geometry("geometry-any"));
                }
            }
            if kind == AssetKind::Building {
                p.insert(
                    "courtyard_id".into(),
                    json!({"type": "integer", "title": "The courtyard containing the building"}),
                );
            }
            p.insert("version".into(), json!({"type": "integer", "minimum": 1}));
            p.insert(
                "created_at".into(),
                date_time("When the asset was recorded"),
            );
            p.insert(
                "updated_at".into(),
                date_time("When the asset last changed"),
            );
        }
        Collection::Complaints => {
            p.insert(
                "case_number".into(),
                json!({"type": "string", "title": "12345 case number"}),
            );
            p.insert(
                "channel".into(),
                string_enum(Channel::ALL.iter().map(|c| c.as_str())),
            );
            p.insert(
                "category".into(),
                string_enum(Category::ALL.iter().map(|c| c.as_str())),
            );
            p.insert("description".into(), json!({"type": "string"}));
            p.insert("address".into(), json!({"type": "string"}));
            p.insert(
                "district".into(),
                string_enum(District::ALL.iter().map(|d| d.as_str())),
            );
            p.insert(
                "reported_at".into(),
                date_time("When the citizen reported it"),
            );
            p.insert(
                "coord_sys".into(),
                string_enum(
                    [CoordSys::Wgs84, CoordSys::Gcj02, CoordSys::Bd09].map(CoordSys::as_str),
                ),
            );
            p.insert(
                "status".into(),
                string_enum(ComplaintStatus::ALL.iter().map(|s| s.as_str())),
            );
            p.insert("resolution".into(), json!({"type": "string"}));
            p.insert(
                "satisfaction".into(),
                json!({"type": "integer", "minimum": 1, "maximum": 5}),
            );
            p.insert("duplicate_of".into(), json!({"type": "integer"}));
            p.insert(
                "created_at".into(),
                date_time("When the service took it in"),
            );
            p.insert("updated_at".into(), date_time("When it last changed"));
            p.insert("geometry".into(), geometry("geometry-point"));
        }
        Collection::Areas(level) => {
            p.insert("level".into(), string_enum([level.as_str()]));
            p.insert(
                "code".into(),
                json!({"type": "string", "title": "The area's code (its feature id)", "x-ogc-role": "id"}),
            );
            p.insert("name".into(), json!({"type": "string"}));
            p.insert(
                "name_zh".into(),
                json!({"type": "string", "title": "Chinese name"}),
            );
            if let Some(parent) = level.parent() {
                p.insert(
                    "parent".into(),
                    json!({"type": "string", "title": format!("The code of the {parent} it lies in")}),
                );
            }
            p.insert(
                "approximate".into(),
                json!({"type": "boolean", "title": "Drawn by hand, not surveyed"}),
            );
            p.insert(
                "geometry".into(),
                geometry("geometry-polygon-or-multipolygon"),
            );
        }
        Collection::Plans => {
            p.insert(
                "kind".into(),
                string_enum(PlanKind::ALL.iter().map(|k| k.as_str())),
            );
            p.insert("title".into(), json!({"type": "string"}));
            p.insert(
                "status".into(),
                string_enum(PlanStatus::ALL.iter().map(|s| s.as_str())),
            );
            p.insert(
                "district".into(),
                string_enum(District::ALL.iter().map(|d| d.as_str())),
            );
            p.insert(
                "cost_cny".into(),
                json!({"type": "number", "title": "Cost worked out from the rules, CNY"}),
            );
            p.insert("actual_cost_cny".into(), json!({"type": "number"}));
            p.insert(
                "planned_start".into(),
                date_time("When the works are to start"),
            );
            p.insert("planned_end".into(), date_time("When the works are to end"));
            p.insert("version".into(), json!({"type": "integer", "minimum": 1}));
            p.insert("created_at".into(), date_time("When it was made"));
            p.insert("updated_at".into(), date_time("When it last changed"));
            p.insert("geometry".into(), geometry("geometry-any"));
        }
        Collection::WorkOrders => {
            p.insert(
                "status".into(),
                string_enum(
                    WorkOrderStatus::ALL
                        .iter()
                        .filter(|s| s.is_open())
                        .map(|s| s.as_str()),
                ),
            );
            p.insert(
                "unit".into(),
                json!({"type": "string", "title": "The responsible unit (GET /v1/units)"}),
            );
            p.insert(
                "crew".into(),
                json!({"type": "string", "title": "The crew it is assigned to"}),
            );
            p.insert(
                "origin".into(),
                string_enum(WorkOrderOrigin::ALL.iter().map(|o| o.as_str())),
            );
            for (name, title) in [
                ("complaint_id", "The case it was made from"),
                ("plan_id", "The plan it was made from"),
                ("survey_id", "The survey it was made from"),
                ("asset_id", "The asset it is about"),
            ] {
                p.insert(name.into(), json!({"type": "integer", "title": title}));
            }
            p.insert(
                "district".into(),
                string_enum(District::ALL.iter().map(|d| d.as_str())),
            );
            p.insert(
                "kind".into(),
                string_enum(WorkOrderKind::ALL.iter().map(|k| k.as_str())),
            );
            p.insert("description".into(), json!({"type": "string"}));
            p.insert(
                "priority".into(),
                string_enum(Priority::ALL.iter().map(|p| p.as_str())),
            );
            p.insert("due_at".into(), date_time("When it is due"));
            p.insert("version".into(), json!({"type": "integer", "minimum": 1}));
            p.insert("created_at".into(), date_time("When it was made"));
            p.insert("updated_at".into(), date_time("When it last changed"));
            p.insert("geometry".into(), geometry("geometry-point"));
        }
    }
    p
}

fn types_of(properties: &Map<String, Value>) -> Queryables {
    properties
        .iter()
        .map(|(name, schema)| {
            let kind = if schema.get("x-ogc-role") == Some(&json!("primary-geometry")) {
                ValueType::Geometry
            } else if let Some(values) = schema["enum"].as_array() {
                ValueType::Text(Some(
                    values
                        .iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect(),
                ))
            } else {
                match (schema["type"].as_str(), schema["format"].as_str()) {
                    (Some("string"), Some("date-time")) => ValueType::Instant,
                    (Some("integer"), _) => ValueType::Integer,
                    (Some("number"), _) => ValueType::Number,
                    (Some("boolean"), _) => ValueType::Boolean,
                    _ => ValueType::Text(None),
                }
            };
            (name.clone(), kind)
        })
        .collect()
}

#[utoipa::path(get, path = "/collections/{collectionId}/queryables", tag = "OGC API - Features", operation_id = "getQueryables",
    params(("collectionId" = String, Path, description = "Collection id"), ("f" = Option<String>, Query, description = "json (default) or html")),
    responses((status = 200, description = "The queryable properties as JSON Schema 2020-12", body = Object, content_type = "application/schema+json"),
        (status = 401, description = "An unknown bearer token, or none for the work-orders collection"), (status = 404, description = "No such collection")))]
pub async fn queryables(
    Path(id): Path<String>,
    Requester(viewer): Requester,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    let collection = collection_for(&id, viewer.as_ref())?;
    request.only(&[])?;
    let path = format!("/collections/{}/queryables", collection.id());
    let properties = properties(collection);
    Ok(match request.format {
        Representation::Json => {
            let document = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": request.url(&path, &[]),
                "type": "object",
                "title": format!("{}: queryables", collection.title()),
                "properties": properties,
                "additionalProperties": false,
            });
            let mut response = axum::Json(document).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/schema+json"),
            );
            response
        }
        Representation::Html => {
            let mut rows = String::from("<table><tr><th>Property</th><th>Schema</th></tr>");
            for (name, schema) in properties {
                rows.push_str(&format!(
                    "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
                    html::escape(name),
                    html::escape(&schema.to_string())
                ));
            }
            rows.push_str("</table>");
            html::page(&format!("{}: queryables", collection.title()), &rows)
        }
    })
}
