//! What the handlers' `#[utoipa::path]` attributes cannot say precisely
//! enough for a schema-driven client or fuzzer, added to the generated
//! definition in one place:
//! - each parameter's schema by its name and route: enums of the
//!   vocabularies, id and limit bounds, comma lists as `style: form,
//!   explode: false` arrays;
//! - each request body per kind: asset Features by kind with their
//!   attributes' schemas and geometry types (positions within the
//!   configured service area's span), complaint Features, status
//!   changes, duplicate marks, the Open311 form;
//! - every status a route can answer, by rule: 400 for parameters, 401
//!   and 403 for tokens, 412 and 428 for `If-Match`, 408, 413, 415 and
//!   422 for bodies, 421 for a foreign `Host`, 503 for a busy or absent
//!   database.
//!
//! Written by hand because utoipa describes a parameter by its Rust type
//! (a `String` path segment, an `Option<String>` comma list) and has no
//! per-route rules; the values come from the same constants and
//! vocabularies the handlers check against, so they cannot drift apart.

use super::assets::{MAX_LIST_LIMIT, MAX_NEARBY_LIMIT, MAX_RADIUS_M};
use super::complaints::MAX_COMPLAINT_LIMIT;
use super::ogc::{Collection, queryables};
use crate::domain::{
    AssetKind, CaseType, Category, Channel, ComplaintStatus, CoordSys, DangerGrade, DeadlineTier,
    District, GeometryShape, LonLatBox, PlanKind, PlanStatus, Priority, SurveyElement,
    WorkOrderKind, WorkOrderStatus,
};
use crate::services::complaints::{DESCRIPTION_MAX_CHARS, MAX_COMPLAINT_OFFSET};
use crate::services::feature_filter::MAX_FILTER_CHARS;
use crate::spatial::Crs;
use crate::spatial::vector_tile::MAX_ZOOM;
use serde_json::{Map, Value, json};

/// Largest id the service hands out (ids are positive 64-bit integers).
const MAX_ID: i64 = i64::MAX;

/// HTTP methods as they appear in a path item.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Applies every rule to the generated definition.
pub fn refine(doc: &mut Value, service_area: LonLatBox) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            if path.starts_with("/collections/") && path.ends_with("/items") && method == "get" {
                add_items_parameters(operation);
            }
            for parameter in operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                refine_parameter(path, method, parameter);
            }
            if let Some(body) = request_body(path, method, service_area) {
                operation["requestBody"] = body;
            }
            add_responses(path, method, operation);
        }
    }
}

fn strings<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Value {
    json!({"type": "string", "enum": values.into_iter().map(|v| v.as_ref().to_string()).collect::<Vec<_>>()})
}

fn string_list(values: Value) -> Value {
    json!({"type": "array", "items": values, "minItems": 1})
}

fn id_schema() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
}

fn asset_kinds() -> Value {
    strings(AssetKind::ALL.map(AssetKind::as_str))
}

fn collection_ids(writable: bool) -> Value {
    strings(
        Collection::ALL
            .into_iter()
            .filter(|c| !writable || c.writable())
            .map(Collection::id),
    )
}

fn crs_uris() -> Value {
    strings(Crs::ALL.map(Crs::uri))
}

fn date_time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// A bbox: four numbers, or six with heights (which are ignored), as a
/// comma list.
fn bbox() -> Value {
    json!({
        "type": "array",
        "items": {"type": "number", "minimum": -180, "maximum": 180},
        "minItems": 4,
        "maxItems": 6,
    })
}

/// The schema of a parameter on a route, when the rules know it.
fn parameter_schema(path: &str, method: &str, name: &str) -> Option<Value> {
    let ogc = path == "/" || path == "/conformance" || path.starts_with("/collections");
    let work_orders = path.starts_with("/v1/work-orders");
    let plans = path.starts_with("/v1/plans");
    let code = || json!({"type": "string", "pattern": "^[a-z0-9-]{1,64}$"});
    let open311 = path.starts_with("/open311/");
    Some(match name {
        "f" if ogc => strings(["json", "html"]),
        "f" if path == "/v1/plans" || path.starts_with("/v1/analysis/") => {
            strings(["geojson", "csv"])
        }
        "collectionId" => collection_ids(matches!(method, "post" | "put" | "patch" | "delete")),
        // An area's feature id is its code.
        "featureId" if method == "get" || method == "options" => json!({"anyOf": [
            id_schema(),
            {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
        ]}),
        "featureId" => id_schema(),
        "id" if path == "/v1/audit" => {
            json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9-]+$"})
        }
        "entity" if path == "/v1/audit" => strings(crate::services::audit::AUDITED_ENTITIES),
        "actor" | "before" if path == "/v1/audit" => id_schema(),
        "id" if path.starts_with("/v1/") => id_schema(),
        "id" if open311 => {
            json!({"type": "string", "pattern": "^[1-9][0-9]{0,17}\\.(json|xml)$"})
        }
        "resource" if open311 && method == "post" => strings(["requests.json", "requests.xml"]),
        "resource" if open311 => strings(
            ["discovery", "services", "requests"]
                .iter()
                .flat_map(|r| [format!("{r}.json"), format!("{r}.xml")]),
        ),
        "code" if open311 => strings(Category::ALL.iter().flat_map(|c| {
            [
                format!("{}.json", c.as_str()),
                format!("{}.xml", c.as_str()),
            ]
        })),
        "token" if open311 => {
            json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}\\.(json|xml)$"})
        }
        "service_request_id" => json!({
            "type": "array", "items": id_schema(), "minItems": 1, "maxItems": 1_000,
        }),
        "service_code" => string_list(strings(Category::ALL.iter().map(|c| c.as_str()))),
        "status" if open311 => strings(["open", "closed"]),
        "start_date" | "end_date" | "from" | "to" => date_time(),
        "page" => json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
        "page_size" => json!({"type": "integer", "minimum": 1, "maximum": 1_000}),
        "z" => json!({"type": "integer", "minimum": 0, "maximum": MAX_ZOOM}),
        "x" => json!({"type": "integer", "minimum": 0, "maximum": (1u32 << MAX_ZOOM) - 1}),
        "y" => json!({"type": "string", "pattern": "^[0-9]{1,7}\\.mvt$"}),
        "limit" => {
            let max = match path {
                "/v1/work-orders" => super::work_orders::MAX_LIST_LIMIT,
                "/v1/plans" => super::plans::MAX_LIST_LIMIT,
                "/v1/audit" => super::audit::MAX_AUDIT_LIMIT,
                "/v1/surveys" => super::surveys::MAX_SURVEY_LIMIT,
                "/v1/work-orders/nearby" => super::work_orders::MAX_NEARBY_LIMIT,
                "/v1/assets" => MAX_LIST_LIMIT,
                "/v1/assets/nearby" => MAX_NEARBY_LIMIT,
                "/v1/complaints" => MAX_COMPLAINT_LIMIT,
                "/v1/areas" => super::areas::MAX_AREA_LIMIT,
                _ => return None,
            };
            json!({"type": "integer", "minimum": 1, "maximum": max})
        }
        // Complaints are listed at most this deep (the items route checks
        // it for the complaints collection only: asset collections are
        // paged through whole by clients such as GDAL).
        "offset" if path == "/v1/complaints" => {
            json!({"type": "integer", "minimum": 0, "maximum": MAX_COMPLAINT_OFFSET})
        }
        "offset" if path == "/v1/areas" => {
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
        }
        "offset" => json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}),
        "kind" if path == "/v1/analysis/coverage" => {
            strings(["lights", "chargers", "drainage", "facilities"])
        }
        "facility" if path == "/v1/analysis/catchment" => id_schema(),
        "kind" if plans => string_list(strings(PlanKind::ALL.iter().map(|k| k.as_str()))),
        "status" if plans => string_list(strings(PlanStatus::ALL.iter().map(|s| s.as_str()))),
        "before" if plans => id_schema(),
        "kind" => string_list(asset_kinds()),
        "category" => string_list(strings(Category::ALL.iter().map(|c| c.as_str()))),
        "status" if path == "/v1/work-orders/nearby" => string_list(strings(
            WorkOrderStatus::ALL
                .iter()
                .filter(|s| s.is_open())
                .map(|s| s.as_str()),
        )),
        "status" if work_orders => {
            string_list(strings(WorkOrderStatus::ALL.iter().map(|s| s.as_str())))
        }
        "status" => string_list(strings(ComplaintStatus::ALL.iter().map(|s| s.as_str()))),
        "crew" => code(),
        "asset_id" if path == "/v1/surveys" => id_schema(),
        "sort" if work_orders => strings(["straight", "walking"]),
        "walking" if work_orders => strings(["true", "false"]),
        "complaint_id" | "plan_id" | "before" if work_orders => id_schema(),
        "radius_m" if work_orders => json!({
            "type": "number", "minimum": 0, "exclusiveMinimum": true,
            "maximum": super::work_orders::MAX_NEARBY_RADIUS_M,
        }),
        "district" => strings(District::ALL.iter().map(|d| d.as_str())),
        "case_type" => string_list(strings(CaseType::ALL.iter().map(|t| t.as_str()))),
        "channel" => string_list(strings(Channel::ALL.iter().map(|c| c.as_str()))),
        "unit" => code(),
        "located" => strings(["true", "false"]),
        "overdue" => strings(["true"]),
        "level" if path == "/v1/areas" => strings(["district", "street", "community"]),
        "street" | "community" => json!({"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}),
        "coord_sys" => {
            strings([CoordSys::Wgs84, CoordSys::Gcj02, CoordSys::Bd09].map(CoordSys::as_str))
        }
        "bbox" => bbox(),
        "q" if path == "/v1/geocode" => json!({
            "type": "string", "minLength": 1, "maxLength": super::geocode::MAX_QUERY_CHARS,
            "pattern": "\\S",
        }),
        // Anyone may ask what is near a point, inside the service area or
        // not (the answer is empty far from it).
        "lon" => json!({"type": "number", "minimum": -180, "maximum": 180}),
        "lat" => json!({"type": "number", "minimum": -90, "maximum": 90}),
        "radius_m" => json!({
            "type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": MAX_RADIUS_M,
        }),
        "crs" | "bbox-crs" | "filter-crs" => crs_uris(),
        "filter-lang" => strings(["cql2-text", "cql2-json"]),
        "If-Match" => json!({
            "type": "string",
            "pattern": "^(\\*|(W/)?\"[^\"]*\"(, *(W/)?\"[^\"]*\")*)$",
        }),
        "Content-Crs" => strings(Crs::ALL.map(|c| format!("<{}>", c.uri()))),
        _ => return None,
    })
}

fn refine_parameter(path: &str, method: &str, parameter: &mut Value) {
    let Some(name) = parameter["name"].as_str().map(String::from) else {
        return;
    };
    if let Some(schema) = parameter_schema(path, method, &name) {
        if schema["type"] == "array" {
            parameter["style"] = json!("form");
            parameter["explode"] = json!(false);
        }
        parameter["schema"] = schema;
    }
    // An empty query value counts as absent: everywhere on the OGC API
    // and Open311, and for the native API's text and list parameters
    // (its numbers must be numbers).
    let numeric = matches!(
        parameter["schema"]["type"].as_str(),
        Some("integer" | "number")
    );
    let native = path.starts_with("/v1/");
    if parameter["in"] == "query" && parameter["required"] != true && !(native && numeric) {
        parameter["allowEmptyValue"] = json!(true);
    }
}

/// The OGC API parameters of an items request that the attribute does
/// not list: filtering (Part 3) and sorting and property selection.
fn add_items_parameters(operation: &mut Value) {
    let Some(parameters) = operation["parameters"].as_array_mut() else {
        return;
    };
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    parameters.extend([
        query(
            "filter",
            "A CQL2 filter on the collection's queryables",
            json!({"type": "string", "maxLength": MAX_FILTER_CHARS}),
        ),
        query("filter-lang", "cql2-text (default) or cql2-json", json!({})),
        query("filter-crs", "CRS of the filter's geometries", json!({})),
        query(
            "sortby",
            "Queryables to sort by, comma-separated, each optionally prefixed with + or -",
            json!({"type": "string"}),
        ),
        query(
            "properties",
            "The only properties to return, comma-separated",
            json!({"type": "string"}),
        ),
    ]);
}

/// A GeoJSON geometry of a shape, with positions in the service area's
/// span (from its smallest to its largest bound: OpenAPI 3.0 cannot give
/// each axis of a position its own range, so the service checks the
/// box).
fn geometry(shape: GeometryShape, area: LonLatBox) -> Value {
    let position = json!({
        "type": "array", "minItems": 2, "maxItems": 2,
        "items": {
            "type": "number",
            "minimum": area.min_lon.min(area.min_lat),
            "maximum": area.max_lon.max(area.max_lat),
        },
    });
    let line = json!({"type": "array", "minItems": 2, "items": position});
    let ring = json!({"type": "array", "minItems": 4, "items": position});
    let polygon = json!({"type": "array", "minItems": 1, "items": ring});
    let of = |kind: &str, coordinates: Value| {
        json!({
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": [kind]}, "coordinates": coordinates},
        })
    };
    match shape {
        GeometryShape::Point => of("Point", position),
        GeometryShape::Line => of("LineString", line),
        GeometryShape::SinglePolygon => of("Polygon", polygon),
        GeometryShape::Area => json!({"oneOf": [
            of("Polygon", polygon.clone()),
            of("MultiPolygon", json!({"type": "array", "minItems": 1, "items": polygon})),
        ]}),
        GeometryShape::Site => json!({"oneOf": [
            of("Point", position),
            of("Polygon", polygon.clone()),
            of("MultiPolygon", json!({"type": "array", "minItems": 1, "items": polygon})),
        ]}),
    }
}

/// An asset Feature of one kind: its geometry type and its attributes.
fn asset_feature(kind: AssetKind, kind_required: bool, area: LonLatBox) -> Value {
    let mut properties = queryables::attribute_schema(kind);
    properties["type"] = json!("object");
    if let Some(fields) = properties["properties"].as_object_mut() {
        fields.insert("kind".into(), strings([kind.as_str()]));
    }
    if kind_required {
        let mut required: Vec<Value> = properties["required"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        required.push(json!("kind"));
        properties["required"] = Value::Array(required);
    }
    json!({
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": geometry(kind.shape(), area),
            "properties": properties,
        },
    })
}

fn any_asset_feature(kind_required: bool, area: LonLatBox) -> Value {
    json!({"oneOf": AssetKind::ALL.map(|k| asset_feature(k, kind_required, area))})
}

fn complaint_feature(area: LonLatBox) -> Value {
    let text = |max: usize| json!({"type": "string", "minLength": 1, "maxLength": max});
    // null: located by the address (or stored unlocated); without an
    // address a null geometry is a 422.
    let mut point = geometry(GeometryShape::Point, area);
    point["nullable"] = json!(true);
    json!({
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": point,
            "properties": {
                "type": "object",
                "required": ["case_number", "channel", "category", "description"],
                "properties": {
                    "case_number": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                    "channel": strings(Channel::ALL.iter().map(|c| c.as_str())),
                    "case_type": strings(CaseType::ALL.iter().map(|t| t.as_str())),
                    "category": strings(Category::ALL.iter().map(|c| c.as_str())),
                    "description": text(DESCRIPTION_MAX_CHARS),
                    "address": text(300),
                    "district": strings(District::ALL.iter().map(|d| d.as_str())),
                    "reported_at": date_time(),
                    "coord_sys": strings([CoordSys::Wgs84, CoordSys::Gcj02, CoordSys::Bd09].map(CoordSys::as_str)),
                    "caller_name": text(100),
                    "caller_phone": {"type": "string", "pattern": "^[+]?[0-9][0-9 ()-]{1,30}[0-9]$"},
                },
                "additionalProperties": false,
            },
        },
    })
}

fn merge_patch() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": {"type": "object"},
            "properties": {"type": "object"},
        },
        "additionalProperties": false,
    })
}

fn body(content_type: &str, schema: Value, description: &str) -> Value {
    json!({
        "description": description,
        "required": true,
        "content": {content_type: {"schema": schema}},
    })
}

/// The request body of a route, by kind.
fn request_body(path: &str, method: &str, area: LonLatBox) -> Option<Value> {
    Some(match (method, path) {
        ("post", "/v1/assets") => body(
            "application/geo+json",
            any_asset_feature(true, area),
            "A GeoJSON Feature of one asset kind (properties.kind), with that kind's geometry type and attributes",
        ),
        ("put", "/v1/assets/{id}") => body(
            "application/geo+json",
            any_asset_feature(true, area),
            "The whole new Feature (its kind cannot change)",
        ),
        ("post", "/collections/{collectionId}/items") => body(
            "application/geo+json",
            any_asset_feature(false, area),
            "A GeoJSON Feature of the collection's kind; properties.kind may be left out",
        ),
        ("put", "/collections/{collectionId}/items/{featureId}") => body(
            "application/geo+json",
            any_asset_feature(false, area),
            "The whole new Feature",
        ),
        ("patch", "/v1/assets/{id}")
        | ("patch", "/collections/{collectionId}/items/{featureId}") => body(
            "application/merge-patch+json",
            merge_patch(),
            "RFC 7386 merge patch: properties to change (null removes) and/or a new geometry",
        ),
        ("post", "/v1/complaints") => body(
            "application/geo+json",
            complaint_feature(area),
            "A complaint: a Point Feature with case number, channel, category and description",
        ),
        ("post", "/v1/work-orders") => body(
            "application/json",
            json!({
                "type": "object",
                "properties": {
                    "complaint_id": id_schema(),
                    "unit": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
                    "crew": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
                    "asset_id": id_schema(),
                    "location": {"type": "array", "minItems": 2, "maxItems": 2, "items": [
                        {"type": "number", "minimum": area.min_lon, "maximum": area.max_lon},
                        {"type": "number", "minimum": area.min_lat, "maximum": area.max_lat}]},
                    "kind": strings(WorkOrderKind::ALL.iter().map(|k| k.as_str())),
                    "description": {"type": "string", "maxLength": 2_000},
                    "priority": strings(Priority::ALL.iter().map(|p| p.as_str())),
                    "due_at": date_time(),
                    "positions": {"type": "object"},
                    "note": {"type": "string", "maxLength": 1_000},
                },
                "additionalProperties": false,
            }),
            "From a case ({complaint_id}) or by hand ({unit, asset_id or location, description})",
        ),
        ("post", "/v1/plans") | ("patch", "/v1/plans/{id}") => {
            let mut properties = json!({
                "title": {"type": "string", "minLength": 1, "maxLength": crate::services::planning::TITLE_MAX_CHARS, "pattern": "\\S"},
                "description": {"type": "string", "maxLength": crate::services::planning::DESCRIPTION_MAX_CHARS, "nullable": true},
                "district": {"type": "string", "enum": District::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(), "nullable": true},
                "targets": {"type": "array", "items": id_schema(), "maxItems": crate::services::planning::MAX_TARGETS, "uniqueItems": true},
                "area": {"type": "object", "nullable": true},
                "complaint_ids": {"type": "array", "items": id_schema(), "maxItems": crate::services::planning::MAX_LINKED_COMPLAINTS},
                "inputs": {"type": "object"},
                "planned_start": {"type": "string", "format": "date-time", "nullable": true},
                "planned_end": {"type": "string", "format": "date-time", "nullable": true},
            });
            let mut required = vec!["kind", "title"];
            if method == "patch" {
                required.clear();
                properties["actual_start"] =
                    json!({"type": "string", "format": "date-time", "nullable": true});
                properties["actual_end"] =
                    json!({"type": "string", "format": "date-time", "nullable": true});
                properties["actual_cost_cny"] =
                    json!({"type": "number", "minimum": 0, "maximum": 1e12, "nullable": true});
            } else {
                properties["kind"] = strings(PlanKind::ALL.iter().map(|k| k.as_str()));
            }
            body(
                "application/json",
                json!({"type": "object", "required": required, "properties": properties, "additionalProperties": false}),
                "A plan's fields; its quantities, cost and effects are worked out",
            )
        }
        ("post", "/v1/plans/{id}/transitions") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["to"],
                "properties": {"to": strings(PlanStatus::ALL.iter().map(|s| s.as_str()))},
                "additionalProperties": false,
            }),
            "The status to move to",
        ),
        ("post", "/v1/surveys") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["asset_id", "conditions"],
                "properties": {
                    "asset_id": id_schema(),
                    "conditions": {
                        "type": "object",
                        "minProperties": 1,
                        "properties": SurveyElement::ALL.iter().map(|e| (e.as_str().to_string(), json!({"type": "integer", "minimum": 1, "maximum": 5}))).collect::<Map<String, Value>>(),
                        "additionalProperties": false,
                    },
                    "danger_grade": strings(DangerGrade::ALL.iter().map(|g| g.as_str())),
                    "floor_height_m": {"type": "number", "minimum": -100, "maximum": 9_000},
                    "lane_height_m": {"type": "number", "minimum": -100, "maximum": 9_000},
                    "surveyed_at": date_time(),
                    "surveyor": {"type": "string", "maxLength": 100},
                    "notes": {"type": "string", "maxLength": 4_000},
                },
                "additionalProperties": false,
            }),
            "A survey of a courtyard or building",
        ),
        ("post", "/v1/work-orders/{id}/transitions") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["to"],
                "properties": {
                    "to": strings(WorkOrderStatus::ALL.iter().map(|s| s.as_str())),
                    "crew": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
                    "note": {"type": "string", "maxLength": 1_000},
                },
                "additionalProperties": false,
            }),
            "The status to move to; the crew when assigning; a note (required when cancelling)",
        ),
        ("patch", "/v1/work-orders/{id}") => body(
            "application/json",
            json!({
                "type": "object",
                "properties": {
                    "crew": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
                    "priority": strings(Priority::ALL.iter().map(|p| p.as_str())),
                    "description": {"type": "string", "maxLength": 2_000},
                    "due_at": {"type": "string", "format": "date-time", "nullable": true},
                },
                "additionalProperties": false,
            }),
            "What to change of a job still to be done",
        ),
        ("post", "/v1/complaints/{id}/transitions") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["to"],
                "properties": {
                    "to": strings(ComplaintStatus::ALL.iter().map(|s| s.as_str())),
                    "note": {"type": "string", "maxLength": 2_000},
                    "resolution": {"type": "string", "maxLength": 2_000},
                    "satisfaction": {"type": "integer", "minimum": 1, "maximum": 5},
                },
                "additionalProperties": false,
            }),
            "The status to move to, with a note; resolution and the caller's satisfaction when resolving or closing",
        ),
        ("post", "/v1/complaints/{id}/dispatch") => body(
            "application/json",
            json!({
                "type": "object",
                "properties": {
                    "unit": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
                    "deadline_tier": strings(DeadlineTier::ALL.iter().map(|t| t.as_str())),
                    "note": {"type": "string", "maxLength": 1_000},
                },
                "additionalProperties": false,
            }),
            "The unit (default: the one routing chooses), the deadline tier (default: the category's) and a note",
        ),
        ("post", "/v1/complaints/{id}/accept") => body(
            "application/json",
            json!({
                "type": "object",
                "properties": {"note": {"type": "string", "maxLength": 1_000}},
                "additionalProperties": false,
            }),
            "A note (the body may be {})",
        ),
        ("post", "/v1/complaints/{id}/send-back")
        | ("post", "/v1/complaints/{id}/not-assessable") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["reason"],
                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1_000, "pattern": "\\S"}},
                "additionalProperties": false,
            }),
            "Why (required)",
        ),
        ("post", "/v1/complaints/{id}/callback") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["reached"],
                "properties": {
                    "reached": {"type": "boolean"},
                    "attempts": {"type": "integer", "minimum": 1, "maximum": 20},
                    "unit_contacted": {"type": "boolean"},
                    "solved": {"type": "boolean"},
                    "satisfaction": strings(["satisfied", "basically_satisfied", "unsatisfied"]),
                    "comment": {"type": "string", "maxLength": 1_000},
                },
                "additionalProperties": false,
            }),
            "The caller's answers: unit_contacted, solved and satisfaction only, and all three, when the caller was reached",
        ),
        ("post", "/v1/complaints/{id}/location") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": strings(["Point"]),
                    "coordinates": geometry(GeometryShape::Point, area)["properties"]["coordinates"].clone(),
                    "coord_sys": strings([CoordSys::Wgs84, CoordSys::Gcj02, CoordSys::Bd09].map(CoordSys::as_str)),
                },
                "additionalProperties": false,
            }),
            "Where the case is: a GeoJSON Point, with the coordinate system",
        ),
        ("post", "/v1/caller-history") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["phone"],
                "properties": {
                    "phone": {"type": "string", "pattern": "^[+]?[0-9][0-9 ()-]{1,30}[0-9]$"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "nullable": true},
                },
                "additionalProperties": false,
            }),
            "The caller's phone, as they give it",
        ),
        ("patch", "/v1/complaints/{id}") => body(
            "application/json",
            json!({
                "type": "object",
                "required": ["duplicate_of"],
                "properties": {"duplicate_of": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": true}},
                "additionalProperties": false,
            }),
            "The original this complaint duplicates, or null to clear the mark",
        ),
        ("post", "/open311/v2/{resource}") => body(
            "application/x-www-form-urlencoded",
            json!({
                "type": "object",
                "required": ["api_key", "service_code", "description"],
                "properties": {
                    "api_key": {"type": "string", "description": "An operator token"},
                    "jurisdiction_id": {"type": "string"},
                    "service_code": strings(Category::ALL.iter().map(|c| c.as_str())),
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "long": {"type": "number", "minimum": -180, "maximum": 180},
                    "address_string": {"type": "string", "maxLength": 300},
                    "email": {"type": "string"},
                    "device_id": {"type": "string"},
                    "account_id": {"type": "string"},
                    "first_name": {"type": "string", "maxLength": 50},
                    "last_name": {"type": "string", "maxLength": 49},
                    "phone": {"type": "string", "pattern": "^[+]?[0-9][0-9 ()-]{1,30}[0-9]$"},
                    "description": {"type": "string", "minLength": 1, "maxLength": DESCRIPTION_MAX_CHARS},
                    "media_url": {"type": "string"},
                    "attribute[coord_sys]": strings([CoordSys::Wgs84, CoordSys::Gcj02, CoordSys::Bd09].map(CoordSys::as_str)),
                },
                "additionalProperties": false,
            }),
            "GeoReport v2 form fields",
        ),
        _ => return None,
    })
}

/// Every status the route can answer, added where the attribute left
/// one out.
fn add_responses(path: &str, method: &str, operation: &mut Value) {
    let mut statuses: Vec<(u16, &str)> = vec![(
        421,
        "The request's Host is not the service's public address",
    )];
    let names: Vec<String> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect();
    let has_parameters = !operation["parameters"]
        .as_array()
        .is_none_or(|p| p.is_empty());
    let named = |name: &str| names.iter().any(|n| n == name);
    let names_in_query = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["in"] == "query" || p.get("$ref").is_some());
    let data = !matches!(path, "/" | "/conformance" | "/health" | "/openapi.json");
    let has_body = operation.get("requestBody").is_some();
    // Routes that need a token, and routes that take one optionally (a
    // token sent must be valid: an unknown one is a 401 there too).
    let secured = operation["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    if has_parameters || has_body {
        statuses.push((
            400,
            "A parameter is malformed, unknown, repeated or out of range",
        ));
    }
    if names_in_query {
        statuses.push((
            414,
            "The URL is longer than the HTTP layer reads (64 KiB); answered there, without a body",
        ));
    }
    if secured {
        statuses.push((401, "No bearer token, or an unknown or revoked one"));
        statuses.push((403, "The token's role or district may not do this"));
    }
    if path.contains('{') {
        statuses.push((404, "No such resource"));
    }
    if named("If-Match") {
        statuses.push((412, "The If-Match given is stale: fetch again and retry"));
        statuses.push((428, "If-Match is required by this service"));
    }
    if has_body {
        statuses.push((408, "The body did not arrive in time"));
        statuses.push((413, "The body is over 8 MiB"));
        statuses.push((415, "The body's media type is not one this route takes"));
        if !path.starts_with("/open311/") {
            statuses.push((
                422,
                "The body is well-formed but invalid, with a JSON Pointer per error",
            ));
        }
    }
    if path.starts_with("/collections/{collectionId}/items")
        && method != "get"
        && method != "options"
    {
        statuses.push((405, "The collection is read-only"));
    }
    if path == "/collections/{collectionId}/items" && method == "get" {
        statuses.push((422, "The filter or sort would cost more than a request may"));
    }
    if data {
        statuses.push((
            503,
            "The database is unavailable or the service is busy; retry after Retry-After",
        ));
    }
    if !operation["responses"].is_object() {
        operation["responses"] = json!({});
    }
    if named("f") && operation["responses"]["200"].is_object() {
        operation["responses"]["200"]["content"]["text/html"] =
            json!({"schema": {"type": "string"}});
    }
    let problem =
        json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    for (status, description) in statuses {
        let key = status.to_string();
        if operation["responses"].get(&key).is_none() {
            let mut response = Map::new();
            response.insert("description".into(), json!(description));
            if !path.starts_with("/open311/") && status != 414 {
                response.insert("content".into(), problem.clone());
            }
            operation["responses"][key] = Value::Object(response);
        }
    }
}

/// The problem details schema (RFC 9457) every error of the native and
/// OGC APIs uses.
pub fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    })
}
