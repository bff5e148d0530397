//! OGC API – Features Part 2 at the edge: which CRS a request names (the
//! `crs` and `bbox-crs` parameters, the `Content-Crs` header) and the
//! `Content-Crs` of responses.

use super::request::OgcRequest;
use crate::api::ApiError;
pub use crate::spatial::Crs;
use crate::spatial::LonLatBox;
use axum::http::{HeaderMap, HeaderValue};

/// The CRS of a request body: its `Content-Crs`, or CRS84.
pub fn request_crs(headers: &HeaderMap) -> Result<Crs, ApiError> {
    match headers.get("content-crs") {
        None => Ok(Crs::Crs84),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::bad_request("Content-Crs is not valid ASCII"))?;
            Crs::parse(text).map_err(|e| ApiError::bad_request(format!("Content-Crs: {e}")))
        }
    }
}

/// The CRS a query parameter names, or CRS84 when it is absent.
pub fn crs_parameter(request: &OgcRequest, name: &str) -> Result<Crs, ApiError> {
    request
        .get(name)
        .map(|text| Crs::parse(text).map_err(|e| ApiError::bad_request(format!("{name}: {e}"))))
        .transpose()
        .map(|crs| crs.unwrap_or(Crs::Crs84))
}

/// The `Content-Crs` header value naming `crs`.
pub fn content_crs(crs: Crs) -> HeaderValue {
    HeaderValue::from_str(&format!("<{}>", crs.uri())).unwrap_or_else(|_| {
        HeaderValue::from_static("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")
    })
}

/// A `bbox` given in `crs` (four numbers in its axis order) as a CRS84
/// box: the box around its edges, each followed in 16 steps, since
/// straight edges in a projection are curves in longitude/latitude.
pub fn bbox_in(crs: Crs, numbers: [f64; 4]) -> Result<LonLatBox, String> {
    if crs == Crs::Crs84 {
        return LonLatBox::from_corners(numbers);
    }
    let [x0, y0, x1, y1] = numbers;
    if x0 > x1 || y0 > y1 {
        return Err(format!(
            "bbox lower corner {x0},{y0} is not below and left of the upper corner {x1},{y1} (in {})",
            crs.uri()
        ));
    }
    const STEPS: usize = 16;
    let mut corners = Vec::with_capacity(4 * (STEPS + 1));
    for i in 0..=STEPS {
        let t = i as f64 / STEPS as f64;
        let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        for (px, py) in [(x, y0), (x, y1), (x0, y), (x1, y)] {
            corners.push(crs.to_crs84(px, py).map_err(|e| format!("bbox: {e}"))?);
        }
    }
    LonLatBox::around_points(corners).ok_or_else(|| "bbox: no corners".to_string())
}
