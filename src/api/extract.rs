//! Extractors that turn every malformed request into a problem+json.

use super::ApiError;
use crate::domain::Version;
use crate::services::registry::Precondition;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON body (`application/json`, `application/geo+json` or any other
/// `+json` type), as a `serde_json::Value`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let detail = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "send the body as application/json or application/geo+json".to_string()
        }
        other => other.body_text(),
    };
    if status == axum::http::StatusCode::BAD_REQUEST
        || status == axum::http::StatusCode::UNPROCESSABLE_ENTITY
    {
        ApiError::bad_request(format!("malformed JSON body: {detail}"))
    } else {
        ApiError::Rejected { status, detail }
    }
}

/// Query parameters; unknown or malformed ones are a 400.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::bad_request(
                format!("bad query parameters: {}", e.body_text()),
            )),
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// The `If-Match` header as a precondition on an asset's version.
pub struct IfMatch(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let values: Vec<&str> = parts
            .headers
            .get_all(header::IF_MATCH)
            .iter()
            .map(|v| {
                v.to_str()
                    .map_err(|_| ApiError::bad_request("If-Match is not valid ASCII"))
            })
            .collect::<Result<_, _>>()?;
        if values.is_empty() {
            return Ok(IfMatch(Precondition::None));
        }
        let mut versions = Vec::new();
        for tag in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            if tag == "*" {
                return Ok(IfMatch(Precondition::Any));
            }
            // If-Match uses strong comparison: weak tags never match.
            if let Some(inner) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                if let Ok(n) = inner.parse::<i64>() {
                    versions.push(Version(n));
                }
            } else if !tag.starts_with("W/\"") {
                return Err(ApiError::bad_request(format!(
                    "If-Match value {tag:?} is not an entity tag; send the ETag as given, quotes included"
                )));
            }
        }
        Ok(IfMatch(Precondition::OneOf(versions)))
    }
}

/// A query parameter's value, with an empty one counted as absent.
/// Named values (query parameters, form fields) with the empty ones
/// dropped; a name given twice is refused, since which of its values
/// counts would be a guess.
pub fn distinct_params(
    pairs: Vec<(String, String)>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut params = std::collections::BTreeMap::new();
    for (name, value) in pairs {
        if value.is_empty() {
            continue;
        }
        if params.contains_key(&name) {
            return Err(format!("{name:?} is given more than once"));
        }
        params.insert(name, value);
    }
    Ok(params)
}

/// An empty value counts as absent; a blank one (spaces only) is a value,
/// and whatever parses it refuses it, as on the OGC API and Open311.
pub fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty()).map(str::trim)
}

/// A comma-separated list parameter (`kind=light,drainage`); absent means
/// an empty list. Errors name the parameter.
pub fn comma_list<T: std::str::FromStr<Err = String>>(
    text: Option<&str>,
    name: &str,
) -> Result<Vec<T>, ApiError> {
    text.map(|t| {
        t.split(',')
            .map(|x| {
                x.trim()
                    .parse::<T>()
                    .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
            })
            .collect()
    })
    .unwrap_or(Ok(Vec::new()))
}

/// A path's id: a positive integer (else 400 naming what it is the id of).
pub fn positive_id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::bad_request(format!("{text:?} is not a {what} id")))
}

/// The request's content type, lower-cased ("" without one).
pub fn content_type(request: &axum::extract::Request) -> String {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}
