//! CSV for council reports: a table of features (their properties, and
//! the longitude and latitude of a point or of a line's first vertex), as
//! an attachment.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeSet;

use super::ApiError;

/// Whether `f` asks for CSV: `geojson` (the default) or `csv`; else 400.
pub fn wants_csv(f: &Option<String>) -> Result<bool, ApiError> {
    match super::extract::non_empty(f) {
        None | Some("geojson") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "f must be geojson or csv, not {other:?}"
        ))),
    }
}

/// A CSV attachment of these rows (the first is the header).
pub fn csv_response(rows: Vec<Vec<String>>, filename: &str) -> Result<Response, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(&row)
            .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Features as a CSV attachment, with `totals` as JSON in the
/// `Hutong-Totals` header (a report's figures beside its rows).
pub fn features_with_totals(
    features: &[Value],
    totals: &impl serde::Serialize,
    filename: &str,
) -> Result<Response, ApiError> {
    let mut response = csv_response(feature_rows(features), filename)?;
    if let Ok(totals) = serde_json::to_string(totals)
        .map_err(|e| e.to_string())
        .and_then(|t| HeaderValue::from_str(&t).map_err(|e| e.to_string()))
    {
        response.headers_mut().insert("hutong-totals", totals);
    }
    Ok(response)
}

/// A value as a cell: text as it is, numbers and booleans as JSON writes
/// them, nothing for null, anything nested as compact JSON.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => text_cell(s),
        other => other.to_string(),
    }
}

/// Text as a cell a spreadsheet shows as text: one starting like a
/// formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading apostrophe.
pub fn text_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The rows of features: `lon`, `lat`, then every property name any of
/// them has, in name order.
pub fn feature_rows(features: &[Value]) -> Vec<Vec<String>> {
    let names: BTreeSet<&str> = features
        .iter()
        .filter_map(|f| f["properties"].as_object())
        .flat_map(|p| p.keys().map(String::as_str))
        .collect();
    let mut rows = vec![
        ["lon", "lat"]
            .into_iter()
            .chain(names.iter().copied())
            .map(String::from)
            .collect::<Vec<_>>(),
    ];
    for f in features {
        let first = first_position(&f["geometry"]["coordinates"]);
        let mut row = vec![
            first.map(|p| p.0.to_string()).unwrap_or_default(),
            first.map(|p| p.1.to_string()).unwrap_or_default(),
        ];
        row.extend(names.iter().map(|n| cell(&f["properties"][*n])));
        rows.push(row);
    }
    rows
}

/// The first position of a GeoJSON geometry's coordinates.
fn first_position(coordinates: &Value) -> Option<(f64, f64)> {
    match coordinates.as_array()?.as_slice() {
        [Value::Number(x), Value::Number(y), ..] => Some((x.as_f64()?, y.as_f64()?)),
        [first, ..] => first_position(first),
        [] => None,
    }
}
