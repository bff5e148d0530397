//! HTTP surface. Handlers are thin: extract → authorise → one service
//! call → render. Every error is an RFC 9457 problem+json.

mod analysis;
mod areas;
mod assets;
mod audit;
mod auth;
mod complaints;
pub mod connections;
mod cors;
mod csv_export;
mod extract;
mod feature;
mod geocode;
mod health;
mod hotline;
mod ogc;
mod open311;
mod openapi;
mod openapi_rules;
mod photo_form;
mod plans;
mod problem;
pub mod public_url;
mod request_deadline;
mod surveys;
mod tiles;
mod tokens;
mod work_orders;

pub use problem::ApiError;

use crate::services::complaints::Complaints;
use crate::services::registry::Registry;
use crate::services::tokens::Tokens;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body accepted, bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How the HTTP surface meets the outside: its public address, the
/// origins trusted with writes, and each request's deadline.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub public_url: public_url::PublicUrl,
    /// Origins from which browsers may send writes and tokens.
    pub cors_origins: Vec<HeaderValue>,
    /// A request's body must arrive within this (else 408).
    pub request_timeout: Duration,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct ApiState {
    pub registry: Arc<Registry>,
    pub complaints: Arc<Complaints>,
    pub tokens: Arc<Tokens>,
    /// OGC API item writes must send `If-Match` (else 428).
    pub require_if_match: bool,
    /// Pages of the published collections and vector tiles.
    pub features: crate::services::features::Features,
    /// Work orders, the lane network, evidence.
    pub work_orders: Arc<crate::services::work_orders::WorkOrders>,
    /// Reading the audit trail.
    pub audit: Arc<crate::services::audit::AuditTrail>,
    /// Designers' surveys.
    pub surveys: Arc<crate::services::surveys::Surveys>,
    /// Repair plans and the engineering rules.
    pub planning: Arc<crate::services::planning::Planning>,
}

/// Request ids: a per-process random prefix and a counter, cheap and
/// unique enough to follow one request through the logs.
#[derive(Clone)]
struct SequentialRequestId {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n}", self.prefix)
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

/// The whole application's routes with their middleware.
pub fn router(state: ApiState, http: &HttpSettings) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let mut prefix = [0u8; 4];
    let _ = getrandom::fill(&mut prefix);
    let make_id = SequentialRequestId {
        prefix: u32::from_le_bytes(prefix),
        next: Arc::new(AtomicU64::new(1)),
    };
    let (routes, definition) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(assets::router())
        .merge(geocode::router())
        .merge(areas::router())
        .merge(complaints::router())
        .merge(hotline::router())
        .merge(open311::router())
        .merge(ogc::router())
        .merge(tiles::router())
        .merge(work_orders::router())
        .merge(plans::router())
        .merge(analysis::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(surveys::router())
        .routes(routes!(openapi::definition))
        .split_for_parts();
    let definition = openapi::Definition(Arc::new(openapi::document(
        definition,
        state.registry.service_area(),
    )));
    routes
        .layer(axum::Extension(definition))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(audit::request_scope))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            http.request_timeout,
            request_deadline::receive_within,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(http.public_url.clone()),
            public_url::check_host,
        ))
        .layer(axum::middleware::from_fn(problem::uniform_errors))
        .layer(axum::middleware::from_fn_with_state(
            cors::layer(http.cors_origins.clone()),
            cors::cross_origin,
        ))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<axum::body::Body>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, make_id))
}
