//! Liveness and readiness.

use super::ApiState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<ApiState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "assets": state.registry.asset_count(),
    }))
}
