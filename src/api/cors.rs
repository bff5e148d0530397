//! Cross-origin requests (CORS), so that web maps served elsewhere (a
//! district portal, a planner's own MapLibre page) can use the API.
//! Anonymous reads (tiles, TileJSON, the OGC API, Open311 lists) are open
//! to any origin, as tile servers are. Writes and requests that carry a
//! token are allowed only from configured origins.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Applies `cors` to requests from another origin. tower-http answers
/// every OPTIONS as a preflight; an OPTIONS without
/// `Access-Control-Request-Method` is the OGC API's own (its `Allow`
/// header lists the methods of a collection), so it goes to the router.
pub async fn cross_origin(State(cors): State<CorsLayer>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let same_origin = !headers.contains_key(header::ORIGIN);
    let plain_options = request.method() == Method::OPTIONS
        && !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if same_origin || plain_options {
        return next.run(request).await;
    }
    let mut next = Some(next);
    let inner = tower::service_fn(move |request: Request| {
        let next = next.take();
        async move {
            Ok::<_, Infallible>(match next {
                Some(next) => next.run(request).await,
                None => {
                    super::ApiError::Internal("CORS called the router twice".into()).into_response()
                }
            })
        }
    });
    match cors.layer(inner).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// Whether a request (or, for a preflight, the request it announces) is
/// an anonymous read.
fn anonymous_read(parts: &Parts) -> bool {
    let announced = parts.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD);
    if parts.method == Method::OPTIONS && announced.is_some() {
        let method = announced.and_then(|m| m.to_str().ok()).unwrap_or("");
        let with_token = parts
            .headers
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|h| h.trim().eq_ignore_ascii_case("authorization"));
        matches!(method, "GET" | "HEAD") && !with_token
    } else {
        matches!(parts.method, Method::GET | Method::HEAD)
            && !parts.headers.contains_key(header::AUTHORIZATION)
    }
}

/// The CORS layer: any origin for anonymous reads, `trusted` origins for
/// everything.
pub fn layer(trusted: Vec<HeaderValue>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            trusted.iter().any(|t| t == origin) || anonymous_read(parts)
        }))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::ACCEPT,
            HeaderName::from_static("content-crs"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("content-crs"),
            HeaderName::from_static("hutong-totals"),
        ])
        .max_age(Duration::from_secs(3_600))
}
