//! A work order as a GeoJSON Feature: its site as the Point, everything
//! else in the properties. Nothing of a case's caller is ever in it.

use crate::domain::{WorkOrder, WorkOrderEvent, utc_text};
use serde_json::{Map, Value, json};

/// The Feature of a work order.
pub fn work_order_feature(order: &WorkOrder) -> Value {
    let d = &order.draft;
    let mut properties = Map::new();
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            properties.insert(key.to_string(), value);
        }
    };
    put("status", json!(order.status));
    put("unit", json!(d.unit.as_str()));
    put("crew", json!(d.crew.as_ref().map(|c| c.as_str())));
    put("origin", json!(d.origin));
    put("complaint_id", json!(d.complaint_id.map(|c| c.0)));
    put("plan_id", json!(d.plan_id));
    put("survey_id", json!(d.survey_id));
    put("asset_id", json!(d.asset_id));
    put("district", json!(d.district));
    put("kind", json!(d.kind));
    put("description", json!(d.description));
    put("priority", json!(d.priority));
    put("due_at", json!(d.due_at.map(utc_text)));
    put("positions", d.positions.clone().unwrap_or(Value::Null));
    put("version", json!(order.version.0));
    put(
        "evidence",
        order
            .evidence
            .as_ref()
            .map(|e| json!(e))
            .unwrap_or(Value::Null),
    );
    put("created_at", json!(utc_text(order.created_at)));
    put("updated_at", json!(utc_text(order.updated_at)));
    put("done_at", json!(order.done_at.map(utc_text)));
    put("verified_at", json!(order.verified_at.map(utc_text)));
    json!({
        "type": "Feature",
        "id": order.id.0,
        "geometry": {"type": "Point", "coordinates": [d.location.0, d.location.1]},
        "properties": properties,
    })
}

/// The history of an order as JSON.
pub fn history_json(events: &[WorkOrderEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                let mut v = json!(e);
                if let Some(at) = v.get_mut("at") {
                    *at = json!(utc_text(e.at));
                }
                v
            })
            .collect(),
    )
}
