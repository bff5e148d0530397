//! Bearer-token authentication and role checks.

use super::{ApiError, ApiState};
use crate::domain::Principal;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// A caller allowed to edit assets: an `admin`, `planner` or `designer`
/// token. Runs before the body is read, so an anonymous write is a 401
/// whatever it sends.
pub struct AssetEditor(pub Principal);

/// The caller's principal, from `Authorization: Bearer <token>`.
/// No header: `None`. A bad or unknown token: 401.
pub async fn principal(parts: &Parts, state: &ApiState) -> Result<Option<Principal>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ApiError::Unauthorized {
        detail: "Authorization header is not valid ASCII".into(),
    })?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized {
            detail: "use Authorization: Bearer <token>".into(),
        })?;
    match state.tokens.authenticate(token).await? {
        Some(principal) => Ok(Some(principal)),
        None => Err(ApiError::Unauthorized {
            detail: "the bearer token is unknown or revoked".into(),
        }),
    }
}

impl FromRequestParts<ApiState> for AssetEditor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let principal = principal(parts, state)
            .await?
            .ok_or_else(|| ApiError::Unauthorized {
                detail: "editing assets needs a bearer token of role admin, planner or designer"
                    .into(),
            })?;
        if !principal.role.may_edit_assets() {
            return Err(ApiError::Forbidden {
                detail: format!(
                    "role {} may not edit assets; admin, planner or designer may",
                    principal.role
                ),
            });
        }
        Ok(AssetEditor(principal))
    }
}
