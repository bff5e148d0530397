//! Bearer-token authentication and role checks.

use super::{ApiError, ApiState};
use crate::domain::{District, Principal, Role};
use crate::services::complaint_feature::PersonalData;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// A caller allowed to edit assets: an `admin`, `planner` or `designer`
/// token. Runs before the body is read, so an anonymous write is a 401
/// whatever it sends.
pub struct AssetEditor(pub Principal);

/// Whoever sent the HTTP request: a principal, or anonymous (`None`).
/// (Not to be confused with `domain::Caller`, the citizen who phoned the
/// hotline.)
pub struct Requester(pub Option<Principal>);

impl Requester {
    /// How much of the caller this requester sees of a case in
    /// `district`: whole on a single case, masked in a list.
    pub fn personal_data(&self, district: Option<District>, single: bool) -> PersonalData {
        personal_data(self.0.as_ref(), district, single)
    }
}

/// How much of the caller a principal sees of a case in `district`:
/// nothing unless an operator or admin (in their district); then whole on
/// a single case and masked in a list.
pub fn personal_data(
    principal: Option<&Principal>,
    district: Option<District>,
    single: bool,
) -> PersonalData {
    match (
        crate::domain::may_see_personal_data(principal, district),
        single,
    ) {
        (false, _) => PersonalData::Hidden,
        (true, true) => PersonalData::Full,
        (true, false) => PersonalData::Masked,
    }
}

impl FromRequestParts<ApiState> for Requester {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Requester(principal(parts, state).await?))
    }
}

/// A caller with a valid token of any role (else 401, before the body
/// is read); the service decides what the role may do.
pub struct Authenticated(pub Principal);

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        with_role(parts, state, |_| true, "any")
            .await
            .map(Authenticated)
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
        with_role(parts, state, Role::takes_complaints, roles)
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
            detail: match roles {
                "any" => "this needs a bearer token".to_string(),
                roles => format!("this needs a bearer token of role {roles}"),
            },
        })?;
    if !allowed(principal.role) {
        return Err(ApiError::Forbidden {
            detail: format!("role {} may not do this; {roles} may", principal.role),
        });
    }
    Ok(principal)
}

/// The caller's principal, from `Authorization: Bearer <token>`, or from
/// HTTP Basic with the token as the password (any user name): clients
/// such as QGIS and OWSLib can send Basic credentials on every request
/// but not a bearer header on all of them. No header: `None`. A bad or
/// unknown token: 401.
pub async fn principal(parts: &Parts, state: &ApiState) -> Result<Option<Principal>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let unauthorized = |detail: &str| ApiError::Unauthorized {
        detail: detail.into(),
    };
    let text = value
        .to_str()
        .map_err(|_| unauthorized("Authorization header is not valid ASCII"))?;
    let (scheme, credentials) = text
        .split_once(' ')
        .map(|(s, c)| (s.to_ascii_lowercase(), c.trim()))
        .unwrap_or_default();
    let basic_password;
    let token = match scheme.as_str() {
        "bearer" => credentials,
        "basic" => {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| unauthorized("Basic credentials are not base64 of user:password"))?;
            basic_password = decoded
                .split_once(':')
                .map(|(_, password)| password.to_string())
                .ok_or_else(|| unauthorized("Basic credentials are not base64 of user:password"))?;
            basic_password.as_str()
        }
        _ => {
            return Err(unauthorized(
                "use Authorization: Bearer <token> (or Basic with the token as password)",
            ));
        }
    };
    match state.tokens.authenticate(token).await? {
        Some(principal) => {
            crate::services::audit::note_principal(&principal);
            Ok(Some(principal))
        }
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
