//! The audit trail over HTTP, for admins (personal data masked) and
//! operators (cases only, personal data whole); and the middleware that
//! runs every request in its audit scope.

use super::auth::Authenticated;
use super::extract::{QueryParams, non_empty};
use super::{ApiError, ApiState};
use crate::domain::Role;
use crate::services::audit::{AUDITED_ENTITIES, AuditFilter, entry_json, in_request};
use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most entries on one page.
pub const MAX_AUDIT_LIMIT: u32 = 1_000;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Runs the request in its audit scope, with its `x-request-id`.
pub async fn request_scope(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        // The id may come from the client: the trail keeps a short, plain
        // one only.
        .filter(|id| {
            id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        })
        .map(str::to_string);
    in_request(id, next.run(request)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    entity: Option<String>,
    id: Option<String>,
    actor: Option<i64>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

fn time_param(name: &str, text: Option<&str>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    text.map(|t| {
        crate::domain::parse_utc(t).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} is not an RFC 3339 time of the years 1-9999"
            ))
        })
    })
    .transpose()
}

#[utoipa::path(get, path = "/v1/audit", tag = "Audit", security(("bearer" = [])),
    params(("entity" = Option<String>, Query, description = "asset, complaint, work_order, survey, area or token"), ("id" = Option<String>, Query, description = "The entity's id (an area's code)"),
        ("actor" = Option<i64>, Query, description = "The acting token's id"), ("from" = Option<String>, Query, description = "Entries at or after this time (RFC 3339)"),
        ("to" = Option<String>, Query, description = "Entries before this time"), ("before" = Option<i64>, Query, description = "Entries with lower ids (the next page)"),
        ("limit" = Option<u32>, Query, description = "Most entries, 1-1000 (default 100)")),
    responses((status = 200, description = "Entries newest first: who (token id, label, role), when, the request id, what changed (a JSON merge patch) and what it replaced; personal data masked for all but operators", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not an admin (operators: cases only)")))]
async fn list(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Response, ApiError> {
    let entity = non_empty(&params.entity)
        .map(|e| {
            AUDITED_ENTITIES
                .into_iter()
                .find(|known| *known == e)
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "entity is one of {}",
                        AUDITED_ENTITIES.join(", ")
                    ))
                })
        })
        .transpose()?;
    match principal.role {
        Role::Admin => {}
        Role::Operator if entity.as_deref() == Some("complaint") => {}
        Role::Operator => {
            return Err(ApiError::Forbidden {
                detail: "operators read the trail of cases only (entity=complaint)".into(),
            });
        }
        role => {
            return Err(ApiError::Forbidden {
                detail: format!("role {role} may not read the audit trail; admin may"),
            });
        }
    }
    if principal.district.is_some() {
        return Err(ApiError::Forbidden {
            detail: "the audit trail is read with an unscoped token".into(),
        });
    }
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_AUDIT_LIMIT}, got {limit}"
        )));
    }
    let id = non_empty(&params.id).map(str::to_string);
    if id
        .as_ref()
        .is_some_and(|i| i.len() > 64 || !i.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(ApiError::bad_request(
            "id is an entity's id or code: at most 64 letters, digits and '-'",
        ));
    }
    for (name, n) in [("actor", params.actor), ("before", params.before)] {
        if n.is_some_and(|n| n < 1) {
            return Err(ApiError::bad_request(format!("{name} must be at least 1")));
        }
    }
    let filter = AuditFilter {
        entity,
        entity_id: id,
        actor_token: params.actor,
        from: time_param("from", non_empty(&params.from))?,
        to: time_param("to", non_empty(&params.to))?,
        before: params.before,
        limit,
    };
    let records = state.audit.entries(&filter).await?;
    let whole = principal.role == Role::Operator;
    let items: Vec<_> = records.iter().map(|r| entry_json(r, whole)).collect();
    let next = (records.len() as u32 == limit)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    Ok(
        Json(json!({"numberReturned": items.len(), "next_before": next, "entries": items}))
            .into_response(),
    )
}
