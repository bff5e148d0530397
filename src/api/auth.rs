//! Bearer-token authentication and role checks.

use super::{ApiError, ApiState};
use crate::domain::{Principal, Role};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// A caller allowed to edit assets: an `admin`, `planner` or `designer`
/// token. Runs before the body is read, so an anonymous write is a 401
/// whatever it sends.
pub struct AssetEditor(pub Principal);

/// Whoever is calling: a principal, or anonymous (`None`).
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// The principal, or a 401 for anonymous callers.
    pub fn require(self) -> Result<Principal, ApiError> {
        self.0.ok_or_else(|| ApiError::Unauthorized {
            detail: "this needs a bearer token".into(),
        })
    }

    pub fn sees_personal_data(&self) -> bool {
        crate::domain::may_see_personal_data(self.0.as_ref().map(|p| p.role))
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Caller(principal(parts, state).await?))
    }
}

/// A caller allowed to take in complaints: an `operator` or `admin` token.
pub struct ComplaintOperator(pub Principal);

impl FromRequestParts<ApiState> for ComplaintOperator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let roles = "operator or admin";
        with_role(
            parts,
            state,
            |r| matches!(r, Role::Operator | Role::Admin),
            roles,
        )
        .await
        .map(ComplaintOperator)
    }
}

/// The principal, if its role passes `allowed`; else 401 (no token) or
/// 403 (wrong role), naming the `roles` that may.
async fn with_role(
    parts: &Parts,
    state: &ApiState,
    allowed: impl Fn(Role) -> bool,
    roles: &str,
) -> Result<Principal, ApiError> {
    let principal = principal(parts, state)
        .await?
        .ok_or_else(|| ApiError::Unauthorized {
            detail: format!("this needs a bearer token of role {roles}"),
        })?;
    if !allowed(principal.role) {
        return Err(ApiError::Forbidden {
            detail: format!("role {} may not do this; {roles} may", principal.role),
        });
    }
    Ok(principal)
}

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
        with_role(
            parts,
            state,
            Role::may_edit_assets,
            "admin, planner or designer",
        )
        .await
        .map(AssetEditor)
    }
}
