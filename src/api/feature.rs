//! GeoJSON responses.

pub use crate::services::asset_feature::{feature, feature_text};
use serde_json::Value;

/// A GeoJSON body (`application/geo+json`) with this status.
pub fn geojson_response(status: axum::http::StatusCode, body: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/geo+json"),
    );
    response
}

/// A FeatureCollection body from its members other than `features` and
/// features already rendered as JSON text: the features are copied in,
/// not parsed and re-serialised.
pub fn feature_collection(head: serde_json::Map<String, Value>, features: &[&str]) -> String {
    let head = Value::Object(head).to_string();
    let capacity = head.len() + features.iter().map(|f| f.len() + 1).sum::<usize>() + 16;
    let mut body = String::with_capacity(capacity);
    // `head` is a serialised object: drop its closing brace and go on.
    body.push_str(head.strip_suffix('}').unwrap_or("{"));
    if body.len() > 1 {
        body.push(',');
    }
    body.push_str("\"features\":[");
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(f);
    }
    body.push_str("]}");
    body
}

/// A GeoJSON body already serialised.
pub fn geojson_text_response(
    status: axum::http::StatusCode,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/geo+json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::feature_collection;
    use serde_json::{Value, json};

    #[test]
    fn a_collection_of_rendered_features_is_valid_json() {
        let head = json!({"type": "FeatureCollection", "numberMatched": 2})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let body = feature_collection(
            head,
            &[
                r#"{"type":"Feature","id":1}"#,
                r#"{"type":"Feature","id":2}"#,
            ],
        );
        let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["features"][1]["id"], 2);
        assert_eq!(parsed["numberMatched"], 2);
        let empty: Value = serde_json::from_str(&feature_collection(serde_json::Map::new(), &[]))
            .expect("valid JSON");
        assert_eq!(empty["features"], json!([]));
    }
}
