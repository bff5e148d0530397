//! The HTML view of the map API: plain pages a person can read in a
//! browser, made from the same JSON documents the API returns, so the two
//! cannot disagree. Every value is escaped.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::fmt::Write;

pub use crate::encoding::escape_markup as escape;

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · hutong</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
         th{{background:#f4f4f4}}nav a{{margin-right:1rem}}code,pre{{background:#f7f7f7;padding:.1rem .3rem}}\
         </style></head><body><nav><a href=\"/?f=html\">hutong</a><a href=\"/collections?f=html\">Collections</a>\
         <a href=\"/conformance?f=html\">Conformance</a><a href=\"/openapi.json\">OpenAPI</a></nav>\
         <h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title)
    );
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The pages load nothing and run nothing: what the data holds can
    // never become script.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

/// A value as readable text: strings bare, everything else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => escape(s),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

/// A list of a document's links (`rel`, title, target).
pub fn links(links: &Value) -> String {
    let mut out = String::from("<ul>");
    for link in links.as_array().into_iter().flatten() {
        let href = link["href"].as_str().unwrap_or("");
        let rel = link["rel"].as_str().unwrap_or("");
        let title = link["title"].as_str().unwrap_or(rel);
        let kind = link["type"].as_str().unwrap_or("");
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a> <small>{} {}</small></li>",
            escape(href),
            escape(title),
            escape(rel),
            escape(kind)
        );
    }
    out.push_str("</ul>");
    out
}

/// The features of a collection as a table: id, geometry type and every
/// property that any of them has.
pub fn feature_table(collection: &str, features: &[Value]) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for feature in features {
        for key in feature["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let mut out = String::from("<table><tr><th>id</th><th>geometry</th>");
    for c in &columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr>");
    for feature in features {
        let id = value_text(&feature["id"]);
        let _ = write!(
            out,
            "<tr><td><a href=\"/collections/{}/items/{id}?f=html\">{id}</a></td><td>{}</td>",
            escape(collection),
            value_text(&feature["geometry"]["type"])
        );
        for c in &columns {
            let _ = write!(out, "<td>{}</td>", value_text(&feature["properties"][*c]));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// One feature: its properties as a table and its geometry as GeoJSON.
pub fn feature_detail(feature: &Value) -> String {
    let mut out = String::from("<table>");
    for (key, value) in feature["properties"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(key),
            value_text(value)
        );
    }
    let _ = write!(
        out,
        "</table><h2>Geometry</h2><pre>{}</pre>",
        escape(&feature["geometry"].to_string())
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let evil = "<script>alert('x')</script>\"&";
        let table = feature_table(
            "lights",
            &[json!({"id": 1, "geometry": {"type": "Point"}, "properties": {evil: evil}})],
        );
        assert!(!table.contains("<script>"));
        assert!(table.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"));
        let detail = feature_detail(&json!({"properties": {"a": evil}, "geometry": evil}));
        assert!(!detail.contains("<script>"));
        let list = links(&json!([{"href": "javascript:\"><script>", "rel": evil}]));
        assert!(!list.contains("<script>"));
    }
}
