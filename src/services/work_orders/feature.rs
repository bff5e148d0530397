//! A work order as a GeoJSON Feature: its site as the Point, everything
//! else in the properties. Nothing of a case's caller is ever in it.

use crate::domain::{WorkOrder, WorkOrderEvent, utc_text};
use crate::spatial::WalkingDistance;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

/// A work order as a Feature, written straight into JSON (no
/// `serde_json::Value` in between): "near me" writes ten of these per
/// request. `walking` adds the distances of a nearby answer.
pub struct OrderFeature<'a> {
    pub order: &'a WorkOrder,
    /// Straight-line metres from where the requester stands.
    pub distance_m: Option<f64>,
    /// Walking metres and how they were walked.
    pub walking: Option<&'a WalkingDistance>,
}

struct Properties<'a>(&'a WorkOrder, Option<f64>, Option<&'a WalkingDistance>);

fn cm(m: f64) -> f64 {
    (m * 100.0).round() / 100.0
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (order, distance_m, walking) = (self.0, self.1, self.2);
        let d = &order.draft;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("status", &order.status)?;
        m.serialize_entry("unit", d.unit.as_str())?;
        if let Some(crew) = &d.crew {
            m.serialize_entry("crew", crew.as_str())?;
        }
        m.serialize_entry("origin", &d.origin)?;
        if let Some(c) = d.complaint_id {
            m.serialize_entry("complaint_id", &c.0)?;
        }
        if let Some(p) = d.plan_id {
            m.serialize_entry("plan_id", &p)?;
        }
        if let Some(sv) = d.survey_id {
            m.serialize_entry("survey_id", &sv)?;
        }
        if let Some(a) = d.asset_id {
            m.serialize_entry("asset_id", &a)?;
        }
        if let Some(district) = d.district {
            m.serialize_entry("district", &district)?;
        }
        m.serialize_entry("kind", &d.kind)?;
        m.serialize_entry("description", &d.description)?;
        m.serialize_entry("priority", &d.priority)?;
        if let Some(due) = d.due_at {
            m.serialize_entry("due_at", &utc_text(due))?;
        }
        if let Some(p) = &d.positions {
            m.serialize_entry("positions", p)?;
        }
        m.serialize_entry("version", &order.version.0)?;
        if let Some(e) = &order.evidence {
            m.serialize_entry("evidence", e)?;
        }
        m.serialize_entry("created_at", &utc_text(order.created_at))?;
        m.serialize_entry("updated_at", &utc_text(order.updated_at))?;
        if let Some(t) = order.done_at {
            m.serialize_entry("done_at", &utc_text(t))?;
        }
        if let Some(t) = order.verified_at {
            m.serialize_entry("verified_at", &utc_text(t))?;
        }
        if let Some(d) = distance_m {
            m.serialize_entry("distance_m", &cm(d))?;
        }
        if let Some(w) = walking {
            m.serialize_entry("walking_distance_m", &cm(w.distance_m))?;
            m.serialize_entry("walking_method", &w.method)?;
        }
        m.end()
    }
}

struct PointGeometry((f64, f64));

impl Serialize for PointGeometry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "Point")?;
        m.serialize_entry("coordinates", &[self.0.0, self.0.1])?;
        m.end()
    }
}

impl Serialize for OrderFeature<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", "Feature")?;
        m.serialize_entry("id", &self.order.id.0)?;
        m.serialize_entry("geometry", &PointGeometry(self.order.draft.location))?;
        m.serialize_entry(
            "properties",
            &Properties(self.order, self.distance_m, self.walking),
        )?;
        m.end()
    }
}

/// The Feature of a work order.
pub fn work_order_feature(order: &WorkOrder) -> Value {
    serde_json::to_value(OrderFeature {
        order,
        distance_m: None,
        walking: None,
    })
    .unwrap_or(Value::Null)
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
