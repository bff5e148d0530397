//! The audit trail: who changed what, when, through which request, and
//! how (a JSON merge patch from before to after, with the values it
//! replaced). The services record each change after it commits; the HTTP
//! layer runs every request in a [`RequestScope`] that carries its id and,
//! once authenticated, its principal, so a service records who acted
//! without every call passing them along. Outside a request (the CLI, the
//! erasure task) the actor is the system.

use crate::domain::Principal;
pub use crate::store::{AUDITED_ENTITIES, AuditFilter, AuditRecord};
use crate::store::{AuditEntry, Store};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The request a change is made in.
#[derive(Debug, Default)]
pub struct RequestScope {
    pub request_id: Option<String>,
    principal: Mutex<Option<Principal>>,
}

tokio::task_local! {
    static SCOPE: Arc<RequestScope>;
}

/// Runs a request's handling in its scope.
pub async fn in_request<F: Future>(request_id: Option<String>, f: F) -> F::Output {
    let scope = Arc::new(RequestScope {
        request_id,
        principal: Mutex::new(None),
    });
    SCOPE.scope(scope, f).await
}

/// Notes who the request's principal is (the authentication does).
pub fn note_principal(principal: &Principal) {
    let _ = SCOPE.try_with(|scope| {
        if let Ok(mut p) = scope.principal.lock() {
            *p = Some(principal.clone());
        }
    });
}

fn current() -> (Option<Principal>, Option<String>) {
    SCOPE
        .try_with(|scope| {
            (
                scope.principal.lock().ok().and_then(|p| p.clone()),
                scope.request_id.clone(),
            )
        })
        .unwrap_or((None, None))
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct Change {
    pub entity: &'static str,
    pub id: String,
    pub action: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The personal data before and after (kept apart, shown whole only to
    /// operators, erased with the case's).
    pub personal: Option<(Value, Value)>,
}

impl Change {
    pub fn new(
        entity: &'static str,
        id: impl ToString,
        action: impl Into<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Change {
            entity,
            id: id.to_string(),
            action: action.into(),
            before,
            after,
            personal: None,
        }
    }
}

/// The JSON merge patch (RFC 7386) that turns `before` into `after`, and
/// the values it replaces. Objects are compared member by member; any
/// other value (arrays too) is replaced whole, as RFC 7386 does. Written
/// here because the JSON patch crates apply merge patches but do not make
/// them.
pub fn merge_diff(before: &Value, after: &Value) -> (Value, Value) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut patch = Map::new();
            let mut previous = Map::new();
            for (key, new) in a {
                match b.get(key) {
                    Some(old) if old == new => {}
                    Some(old @ Value::Object(_)) if new.is_object() => {
                        let (p, q) = merge_diff(old, new);
                        patch.insert(key.clone(), p);
                        previous.insert(key.clone(), q);
                    }
                    old => {
                        patch.insert(key.clone(), new.clone());
                        previous.insert(key.clone(), old.cloned().unwrap_or(Value::Null));
                    }
                }
            }
            for (key, old) in b {
                if !a.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                    previous.insert(key.clone(), old.clone());
                }
            }
            (Value::Object(patch), Value::Object(previous))
        }
        _ => (after.clone(), before.clone()),
    }
}

/// Records changes made in the current request (or by the system). A
/// failure to record is logged, not returned: the change itself has
/// committed and has been answered for.
pub async fn record(store: &dyn Store, changes: Vec<Change>) {
    if changes.is_empty() {
        return;
    }
    let (principal, request_id) = current();
    let at = crate::domain::to_millis(time::OffsetDateTime::now_utc());
    let entries: Vec<AuditEntry> = changes
        .into_iter()
        .map(|c| {
            let before = c.before.unwrap_or(Value::Object(Map::new()));
            let after = c.after.unwrap_or(Value::Object(Map::new()));
            let (patch, previous) = merge_diff(&before, &after);
            AuditEntry {
                at,
                entity: c.entity,
                entity_id: c.id,
                action: c.action,
                actor_token: principal.as_ref().map(|p| p.token_id),
                actor_label: principal.as_ref().and_then(|p| p.label.clone()),
                actor_role: principal
                    .as_ref()
                    .map_or("system", |p| p.role.as_str())
                    .to_string(),
                request_id: request_id.clone(),
                changes: patch.to_string(),
                previous: match &previous {
                    Value::Object(m) if m.is_empty() => None,
                    Value::Null => None,
                    p => Some(p.to_string()),
                },
                personal: c
                    .personal
                    .filter(|(b, a)| b != a)
                    .map(|(b, a)| json!({"before": b, "after": a}).to_string()),
            }
        })
        .collect();
    if let Err(e) = store.append_audit(&entries).await {
        tracing::error!(error = %e, entries = entries.len(), "recording the audit trail failed");
    }
}

/// An entry as a reader sees it: the personal data whole to operators,
/// masked to everyone else.
pub fn entry_json(record: &AuditRecord, personal_whole: bool) -> Value {
    let e = &record.entry;
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::String(t.to_string()));
    let personal = e
        .personal
        .as_deref()
        .map(parse)
        .map(|p| if personal_whole { p } else { mask_personal(&p) });
    json!({
        "id": record.id,
        "at": crate::domain::utc_text(e.at),
        "entity": e.entity,
        "entity_id": e.entity_id,
        "action": e.action,
        "actor": {"token": e.actor_token, "label": e.actor_label, "role": e.actor_role},
        "request_id": e.request_id,
        "changes": parse(&e.changes),
        "previous": e.previous.as_deref().map(parse),
        "personal": personal,
    })
}

/// Personal data masked as lists show it: names to their first
/// character, phones to their first three and last four digits.
fn mask_personal(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let masked = match (k.as_str(), v) {
                        ("caller_phone", Value::String(p)) => json!(crate::domain::mask_phone(p)),
                        ("caller_name", Value::String(n)) => json!(crate::domain::mask_name(n)),
                        (_, other) => mask_personal(other),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Reading the trail.
pub struct AuditTrail {
    store: Arc<dyn Store>,
}

impl AuditTrail {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AuditTrail { store }
    }

    /// Entries, newest first.
    pub async fn entries(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, crate::services::store_failure::StoreFailure> {
        Ok(self.store.audit_entries(filter).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_turns_before_into_after() {
        let before =
            json!({"properties": {"status": "open", "crew": "a", "note": "x"}, "geometry": [1, 2]});
        let after = json!({"properties": {"status": "assigned", "crew": "a", "due": "d"}, "geometry": [1, 2]});
        let (patch, previous) = merge_diff(&before, &after);
        assert_eq!(
            patch,
            json!({"properties": {"status": "assigned", "due": "d", "note": null}})
        );
        assert_eq!(
            previous,
            json!({"properties": {"status": "open", "due": null, "note": "x"}})
        );
        let (created, _) = merge_diff(&json!({}), &json!({"a": 1}));
        assert_eq!(created, json!({"a": 1}));
    }

    #[test]
    fn personal_data_is_masked_for_readers_other_than_operators() {
        let p =
            json!({"before": {}, "after": {"caller_name": "王芳", "caller_phone": "13800000000"}});
        let masked = mask_personal(&p);
        assert_eq!(masked["after"]["caller_phone"], "138****0000");
        assert_ne!(masked["after"]["caller_name"], "王芳");
    }
}
