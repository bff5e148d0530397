//! Tokens for admins: the list (never a secret), and revoking one.

use super::auth::Authenticated;
use super::{ApiError, ApiState};
use crate::domain::Role;
use crate::services::tokens::token_json;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}

fn admin_only(role: Role) -> Result<(), ApiError> {
    if role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            detail: format!("role {role} may not manage tokens; admin may"),
        })
    }
}

#[utoipa::path(get, path = "/v1/tokens", tag = "Tokens", security(("bearer" = [])),
    responses((status = 200, description = "Every token, newest first: id, role, district, unit, crew, label, created_at, expires_at, revoked_at, live. Never a secret or its hash.", body = Object), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not an admin")))]
async fn list(
    State(state): State<ApiState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    admin_only(principal.role)?;
    let tokens = state.tokens.list().await?;
    let items: Vec<_> = tokens.iter().map(token_json).collect();
    Ok(Json(json!({"numberReturned": items.len(), "tokens": items})).into_response())
}

#[utoipa::path(post, path = "/v1/tokens/{id}/revoke", tag = "Tokens", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 200, description = "Revoked (at once on this instance, within 30 s on others); revoking again keeps the first time", body = Object), (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "No or unknown bearer token"), (status = 403, description = "Not an admin"), (status = 404, description = "No such token")))]
async fn revoke(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    admin_only(principal.role)?;
    let id = super::extract::positive_id(&id, "token")?;
    let record = state
        .tokens
        .revoke(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            detail: format!("token {id} does not exist"),
        })?;
    Ok(Json(token_json(&record)).into_response())
}
