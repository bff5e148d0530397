//! What every OGC API request carries besides its path: the address the
//! client used (links are absolute, as GDAL and QGIS expect), the format
//! it wants, and its query parameters, checked against the ones the
//! endpoint knows.

use crate::api::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::collections::BTreeMap;

/// The representation a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    Json,
    Html,
}

/// The request's base URL, format and query parameters.
#[derive(Debug, Clone)]
pub struct OgcRequest {
    /// The service's public base URL, `scheme://host[:port]`.
    pub base: String,
    pub format: Representation,
    /// Query parameters, each at most once; empty values count as absent.
    pub params: BTreeMap<String, String>,
}

impl OgcRequest {
    /// Refuses any parameter not in `known` (`f` is always known).
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        for name in self.params.keys() {
            if name != "f" && !known.contains(&name.as_str()) {
                let mut all: Vec<&str> = known.to_vec();
                all.push("f");
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {name:?}; this endpoint takes {}",
                    all.join(", ")
                )));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// `path` under the base URL, with these query parameters.
    pub fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!(
                "{}{path}?{}",
                self.base,
                serde_urlencoded::to_string(query).unwrap_or_default()
            )
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OgcRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
                .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
        let params = crate::api::extract::distinct_params(pairs)
            .map_err(|e| ApiError::bad_request(format!("query parameter {e}")))?;
        let format = match params.get("f").map(String::as_str) {
            Some("json" | "geojson" | "application/json" | "application/geo+json") => {
                Representation::Json
            }
            Some("html" | "text/html") => Representation::Html,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "f={other:?} is not offered; use f=json or f=html"
                )));
            }
            None => {
                let accept = parts
                    .headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if prefers_html(accept) {
                    Representation::Html
                } else {
                    Representation::Json
                }
            }
        };
        Ok(OgcRequest {
            base: base_url(parts),
            format,
            params,
        })
    }
}

/// Whether an `Accept` header ranks HTML above every JSON type (browsers
/// do; GDAL, OWSLib and QGIS ask for JSON or send nothing).
fn prefers_html(accept: &str) -> bool {
    let quality = |wanted: &dyn Fn(&str) -> bool| -> f32 {
        accept
            .split(',')
            .filter_map(|item| {
                let mut fields = item.split(';').map(str::trim);
                let media = fields.next()?.to_ascii_lowercase();
                if !wanted(&media) {
                    return None;
                }
                let q = fields
                    .find_map(|f| f.strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(0.0, f32::max)
    };
    let html = quality(&|m| m == "text/html");
    let json = quality(&|m| m.ends_with("json"));
    html > 0.0 && html > json
}

/// The service's public base URL, put there by the `Host` check (links
/// are never built from what the client sends).
fn base_url(parts: &Parts) -> String {
    parts
        .extensions
        .get::<std::sync::Arc<crate::api::public_url::PublicUrl>>()
        .map(|url| url.base().to_string())
        .unwrap_or_else(|| "http://localhost".into())
}

#[cfg(test)]
mod tests {
    use super::prefers_html;

    #[test]
    fn browsers_get_html_and_clients_json() {
        assert!(prefers_html(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!prefers_html("application/json"));
        assert!(!prefers_html(""));
        assert!(!prefers_html("application/geo+json, text/html;q=0.5"));
        assert!(!prefers_html("*/*"));
    }
}
