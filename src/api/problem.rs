//! RFC 9457 problem details. Client errors say exactly what was wrong;
//! server errors say nothing of the cause, which is logged instead.

use crate::domain::{FieldError, ValidationError};
use crate::services::features::FeatureQueryError;
use crate::services::query_budget::BudgetError;
use crate::services::registry::RegistryError;
use crate::services::store_failure::StoreFailure;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { detail: String },
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("{detail}")]
    Unauthorized { detail: String },
    #[error("{detail}")]
    Forbidden { detail: String },
    #[error("{detail}")]
    NotFound { detail: String },
    #[error("{detail}")]
    PreconditionFailed { detail: String },
    #[error("{detail}")]
    Rejected { status: StatusCode, detail: String },
    /// A read that would cost more than a request may (time, rows).
    #[error("{detail}")]
    TooCostly { detail: String },
    /// The database is away for now (restarting, failing over): 503 with
    /// Retry-After, never a guess at an answer.
    #[error("{detail}")]
    Unavailable { detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            detail: detail.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "/problems/bad-request",
                "Bad request",
            ),
            ApiError::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-input",
                "Invalid input",
            ),
            ApiError::Unauthorized { .. } => (
                StatusCode::UNAUTHORIZED,
                "/problems/unauthorized",
                "Authentication required",
            ),
            ApiError::Forbidden { .. } => {
                (StatusCode::FORBIDDEN, "/problems/forbidden", "Not allowed")
            }
            ApiError::NotFound { .. } => {
                (StatusCode::NOT_FOUND, "/problems/not-found", "Not found")
            }
            ApiError::PreconditionFailed { .. } => (
                StatusCode::PRECONDITION_FAILED,
                "/problems/precondition-failed",
                "Precondition failed",
            ),
            ApiError::Rejected { status, .. } => {
                let (kind, title) = match status.as_u16() {
                    404 => ("/problems/not-found", "Not found"),
                    405 => ("/problems/method-not-allowed", "Method not allowed"),
                    408 => ("/problems/request-timeout", "Request timeout"),
                    421 => ("/problems/misdirected-request", "Misdirected request"),
                    406 => ("/problems/not-acceptable", "Not acceptable"),
                    409 => ("/problems/conflict", "Conflict"),
                    413 => ("/problems/content-too-large", "Content too large"),
                    415 => ("/problems/unsupported-media-type", "Unsupported media type"),
                    428 => ("/problems/precondition-required", "Precondition required"),
                    _ => ("/problems/bad-request", "Request rejected"),
                };
                (*status, kind, title)
            }
            ApiError::TooCostly { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/query-too-costly",
                "Query too costly",
            ),
            ApiError::Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "/problems/internal",
                "Internal server error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let (detail, errors) = match &self {
            ApiError::Invalid(v) => (v.to_string(), Some(v.errors.as_slice())),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (
                    "The server could not complete the request; it has been logged.".to_string(),
                    None,
                )
            }
            other => (other.to_string(), None),
        };
        let body = Problem {
            kind,
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreFailure> for ApiError {
    fn from(e: StoreFailure) -> Self {
        match e {
            StoreFailure::Unavailable => ApiError::Unavailable {
                detail: e.to_string(),
            },
            StoreFailure::Failed(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<FeatureQueryError> for ApiError {
    fn from(e: FeatureQueryError) -> Self {
        match e {
            FeatureQueryError::Registry(e) => e.into(),
            FeatureQueryError::Complaints(e) => e.into(),
            FeatureQueryError::Budget(e) => e.into(),
            FeatureQueryError::TooCostly(detail) => ApiError::TooCostly { detail },
            FeatureQueryError::Plans(e) => e.into(),
            e @ FeatureQueryError::NeedsToken(_) => ApiError::Unauthorized {
                detail: e.to_string(),
            },
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(v) => ApiError::Invalid(v),
            RegistryError::NotFound(id) => ApiError::NotFound {
                detail: format!("asset {id} does not exist"),
            },
            RegistryError::VersionMismatch { id, current } => ApiError::PreconditionFailed {
                detail: format!(
                    "asset {id} is at version {} (ETag {}); the If-Match given is stale. Fetch it again and retry",
                    current.0,
                    current.etag()
                ),
            },
            RegistryError::Forbidden(detail) => ApiError::Forbidden { detail },
            RegistryError::Store(e) => e.into(),
            RegistryError::Budget(e) => e.into(),
            RegistryError::Write(e) => ApiError::Internal(format!("writing failed: {e}")),
        }
    }
}

impl From<BudgetError> for ApiError {
    fn from(e: BudgetError) -> Self {
        match e {
            BudgetError::Exceeded(_) => ApiError::TooCostly {
                detail: e.to_string(),
            },
            BudgetError::Busy => ApiError::Unavailable {
                detail: e.to_string(),
            },
            // Nobody reads this answer.
            BudgetError::Cancelled => ApiError::Unavailable {
                detail: e.to_string(),
            },
            BudgetError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        detail: format!("no resource at {}", uri.path()),
    }
}

pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::Rejected {
        status: StatusCode::METHOD_NOT_ALLOWED,
        detail: format!("{method} is not allowed on {}", uri.path()),
    }
}

/// Every response says `nosniff`, and any error still in plain text (the
/// framework's own rejections, such as a path that is not UTF-8) becomes
/// problem+json with the same status and text.
pub async fn uniform_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let detail = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_string(),
    };
    let mut problem = if status.is_server_error() {
        ApiError::Internal(detail)
    } else {
        ApiError::Rejected { status, detail }
    }
    .into_response();
    problem.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    problem
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}
