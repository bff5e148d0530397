//! `/collections/{collectionId}/items` and `/items/{featureId}`: the
//! features of a collection, filtered and paged.

use super::collection::{Collection, collection_for};
use super::crs::{Crs, bbox_in, content_crs, crs_parameter};
use super::html;
use super::queryables;
use super::request::{OgcRequest, Representation};
use crate::api::auth::Requester;
use crate::api::feature::{feature, feature_collection, geojson_response, geojson_text_response};
use crate::api::{ApiError, ApiState};
use crate::domain::{AssetId, ComplaintId, LonLatBox};
use crate::services::areas::area_feature;
use crate::services::asset_feature::ServedAsset;
use crate::services::complaint_feature::{PersonalData, complaint_feature};
use crate::services::feature_filter::{FeatureFilter, FilterLang, ValueType};
use crate::services::features::{FeaturePage, FeatureQuery, MAX_SORTBY_TERMS};
use crate::services::work_orders::feature::work_order_feature;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: u32 = 10;
/// Largest page; larger `limit`s are clamped to it.
pub const MAX_LIMIT: u32 = 10_000;

const ITEMS_PARAMETERS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "crs",
    "limit",
    "offset",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "properties",
];

/// A checked items query: what the feature service is asked, and how
/// the answer is drawn (its CRS and properties).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub features: FeatureQuery,
    /// The CRS of the response's coordinates.
    pub crs: Crs,
    /// The only properties to return, when given.
    pub properties: Option<Vec<String>>,
}

/// `bbox`: 4 numbers, or 6 with heights (which are ignored: the data is
/// 2D), in `crs`'s axis order; as a CRS84 box.
pub fn parse_bbox(text: &str, crs: Crs) -> Result<LonLatBox, String> {
    let numbers = LonLatBox::parse_corners(text)?;
    bbox_in(crs, numbers)
}

/// `limit`: 1 or more; above [`MAX_LIMIT`] it is clamped.
pub fn parse_limit(text: Option<&str>) -> Result<u32, String> {
    let Some(text) = text else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.trim().parse::<u64>() {
        Ok(0) => Err("limit must be at least 1".into()),
        Ok(n) => Ok(u32::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
        Err(_) => Err(format!("limit {text:?} is not a positive whole number")),
    }
}

fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    crate::domain::parse_utc(text).ok_or_else(|| {
        format!("datetime {text:?} is not an RFC 3339 date-time such as 2024-10-18T09:12:00Z (years 1-9999)")
    })
}

/// `datetime`: an instant, or an interval `start/end` where either end
/// may be `..` (or empty) for open.
pub fn parse_datetime(
    text: &str,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), String> {
    let bound = |t: &str| -> Result<Option<OffsetDateTime>, String> {
        match t.trim() {
            "" | ".." => Ok(None),
            t => parse_instant(t).map(Some),
        }
    };
    match text.split_once('/') {
        None => {
            let at = parse_instant(text.trim())?;
            Ok((Some(at), Some(at)))
        }
        Some((start, end)) => {
            let (start, end) = (bound(start)?, bound(end)?);
            if let (Some(s), Some(e)) = (start, end) {
                if s > e {
                    return Err("datetime interval ends before it starts".into());
                }
            }
            Ok((start, end))
        }
    }
}

impl ItemsQuery {
    pub fn parse(request: &OgcRequest, collection: Collection) -> Result<Self, ApiError> {
        request.only(ITEMS_PARAMETERS)?;
        let bad = ApiError::bad_request;
        let bbox_crs = crs_parameter(request, "bbox-crs")?;
        if request.get("bbox-crs").is_some() && request.get("bbox").is_none() {
            return Err(ApiError::bad_request("bbox-crs needs a bbox"));
        }
        let bbox = request
            .get("bbox")
            .map(|b| parse_bbox(b, bbox_crs))
            .transpose()
            .map_err(bad)?;
        let crs = crs_parameter(request, "crs")?;
        let limit = parse_limit(request.get("limit")).map_err(bad)?;
        let offset = match request.get("offset") {
            None => 0,
            Some(t) => t
                .trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("offset {t:?} is not a whole number of at least 0")))?,
        };
        let datetime = request
            .get("datetime")
            .map(parse_datetime)
            .transpose()
            .map_err(bad)?;
        let filter_lang = request
            .get("filter-lang")
            .map(FilterLang::parse)
            .transpose()
            .map_err(ApiError::bad_request)?
            .unwrap_or(FilterLang::Cql2Text);
        let filter_crs = crs_parameter(request, "filter-crs")?;
        if request.get("filter").is_none()
            && (request.get("filter-lang").is_some() || request.get("filter-crs").is_some())
        {
            return Err(ApiError::bad_request(
                "filter-lang and filter-crs need a filter",
            ));
        }
        let filter = request
            .get("filter")
            .map(|text| {
                FeatureFilter::parse(text, filter_lang, filter_crs, queryables::types(collection))
                    .map_err(|e| ApiError::bad_request(format!("filter: {e}")))
            })
            .transpose()?;
        let queryables = queryables::types(collection);
        let known = |name: &str, parameter: &str| -> Result<String, ApiError> {
            match queryables.get(name) {
                Some(ValueType::Geometry) | None => Err(ApiError::bad_request(format!(
                    "{parameter}: {name:?} is not a property of {}; the properties are {}",
                    collection.id(),
                    queryables
                        .iter()
                        .filter(|(_, t)| **t != ValueType::Geometry)
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
                Some(_) => Ok(name.to_string()),
            }
        };
        let sortby = match request.get("sortby") {
            None => Vec::new(),
            Some(text) => {
                let mut terms: Vec<(String, bool)> = Vec::new();
                for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    let term = match t.strip_prefix('-') {
                        Some(name) => (known(name, "sortby")?, true),
                        None => (known(t.strip_prefix('+').unwrap_or(t), "sortby")?, false),
                    };
                    // A property sorts once: a later term on it changes nothing.
                    if terms.iter().any(|(name, _)| *name == term.0) {
                        continue;
                    }
                    terms.push(term);
                    if terms.len() > MAX_SORTBY_TERMS {
                        return Err(ApiError::bad_request(format!(
                            "sortby may name at most {MAX_SORTBY_TERMS} properties"
                        )));
                    }
                }
                terms
            }
        };
        let properties = request
            .get("properties")
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| known(t, "properties"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(ItemsQuery {
            features: FeatureQuery {
                bbox,
                limit,
                offset,
                datetime,
                filter,
                sortby,
            },
            crs,
            properties,
        })
    }
}

/// Every feature response names the CRS of its coordinates.
fn with_content_crs(mut response: Response, crs: Crs) -> Response {
    response
        .headers_mut()
        .insert("content-crs", content_crs(crs));
    response
}

/// Rewrites a feature's geometry from CRS84 into `crs`.
fn in_crs(mut feature: Value, crs: Crs) -> Result<Value, ApiError> {
    if let Some(geometry) = feature.get_mut("geometry") {
        crs.geometry_from_crs84(geometry)
            .map_err(|e| ApiError::bad_request(format!("crs: {e}")))?;
    }
    Ok(feature)
}

/// Keeps only the asked-for properties of a feature.
fn select_properties(mut feature: Value, keep: &[String]) -> Value {
    if let Some(properties) = feature.get_mut("properties").and_then(Value::as_object_mut) {
        properties.retain(|k, _| keep.contains(k));
    }
    feature
}

#[utoipa::path(get, path = "/collections/{collectionId}/items", tag = "OGC API - Features", operation_id = "getFeatures",
    params(("collectionId" = String, Path, description = "Collection id"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("bbox" = Option<String>, Query, description = "minlon,minlat,maxlon,maxlat (or 6 numbers with heights)"),
        ("offset" = Option<u64>, Query, description = "Features to skip (next links carry it)"),
        ("bbox-crs" = Option<String>, Query, description = "CRS of bbox (a URI the collection lists); default CRS84"),
        ("crs" = Option<String>, Query, description = "CRS of the response's coordinates; default CRS84"),
        ("datetime" = Option<String>, Query, description = "RFC 3339 instant or interval start/end with .. for open ends: complaints' reported_at, assets' updated_at"),
        ("f" = Option<String>, Query, description = "json (default) or html")),
    responses((status = 200, description = "A page of features with numberMatched, numberReturned and next/prev links", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter (problem+json)"), (status = 401, description = "An unknown bearer token, or none for the work-orders collection"), (status = 404, description = "No such collection")))]
pub async fn list(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Requester(viewer): Requester,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    let collection = collection_for(&id, viewer.as_ref())?;
    let query = ItemsQuery::parse(&request, collection)?;
    let (page, matched) = state
        .features
        .page(collection, &query.features, viewer.as_ref())
        .await?;
    let returned = page.len() as u64;
    let path = format!("/collections/{}/items", collection.id());
    let page_url = |offset: u64, f: Option<&str>| {
        let mut pairs: Vec<(&str, String)> = request
            .params
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "offset" | "limit" | "f"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("limit", query.features.limit.to_string()));
        pairs.push(("offset", offset.to_string()));
        if let Some(f) = f {
            pairs.push(("f", f.to_string()));
        }
        request.url(&path, &pairs)
    };
    let mut links = vec![
        json!({"rel": "self", "type": "application/geo+json", "title": "This page", "href": page_url(query.features.offset, None)}),
        json!({"rel": "alternate", "type": "text/html", "title": "This page as HTML", "href": page_url(query.features.offset, Some("html"))}),
        json!({"rel": "collection", "type": "application/json", "title": collection.title(), "href": request.url(&format!("/collections/{}", collection.id()), &[])}),
    ];
    if query.features.offset.saturating_add(returned) < matched {
        links.push(json!({"rel": "next", "type": "application/geo+json", "title": "Next page", "href": page_url(query.features.offset.saturating_add(returned), None)}));
    }
    if query.features.offset > 0 {
        let previous = query
            .features
            .offset
            .saturating_sub(u64::from(query.features.limit));
        links.push(json!({"rel": "prev", "type": "application/geo+json", "title": "Previous page", "href": page_url(previous, None)}));
    }
    let stamp = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default();
    let head = json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": stamp,
        "links": links,
    });
    let head = head.as_object().cloned().unwrap_or_default();
    Ok(with_content_crs(
        match (request.format, page) {
            // The common case copies the kept renderings into the body.
            (Representation::Json, FeaturePage::Assets(assets))
                if query.crs == Crs::Crs84 && query.properties.is_none() =>
            {
                let features: Vec<&str> = assets.iter().map(ServedAsset::json).collect();
                geojson_text_response(StatusCode::OK, feature_collection(head, &features))
            }
            (Representation::Json, page) => {
                let features = page
                    .into_values()
                    .into_iter()
                    .map(|f| match &query.properties {
                        Some(keep) => select_properties(f, keep),
                        None => f,
                    })
                    .map(|f| in_crs(f, query.crs))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut body = Value::Object(head);
                body["features"] = Value::Array(features);
                geojson_response(StatusCode::OK, body)
            }
            (Representation::Html, page) => {
                let features = page.into_values();
                let mut nav = String::new();
                for link in &links {
                    if matches!(link["rel"].as_str(), Some("next" | "prev")) {
                        let href = link["href"]
                            .as_str()
                            .unwrap_or("")
                            .replacen('?', "?f=html&", 1);
                        nav.push_str(&format!(
                            "<a href=\"{}\">{}</a> ",
                            html::escape(&href),
                            html::value_text(&link["title"])
                        ));
                    }
                }
                html::page(
                    &format!("{}: features", collection.title()),
                    &format!(
                        "<p>{} of {matched} features, from {}.</p><p>{nav}</p>{}",
                        returned,
                        query.features.offset.saturating_add(1),
                        html::feature_table(collection.id(), &features)
                    ),
                )
            }
        },
        query.crs,
    ))
}

#[utoipa::path(get, path = "/collections/{collectionId}/items/{featureId}", tag = "OGC API - Features", operation_id = "getFeature",
    params(("collectionId" = String, Path, description = "Collection id"), ("featureId" = String, Path, description = "Feature id"),
        ("crs" = Option<String>, Query, description = "CRS of the response's coordinates; default CRS84"),
        ("f" = Option<String>, Query, description = "json (default) or html")),
    responses((status = 200, description = "The feature, with its ETag (assets)", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "An unknown bearer token, or none for the work-orders collection"), (status = 404, description = "No such collection or feature")))]
pub async fn fetch(
    State(state): State<ApiState>,
    Path((id, feature_id)): Path<(String, String)>,
    Requester(viewer): Requester,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    let collection = collection_for(&id, viewer.as_ref())?;
    request.only(&["crs"])?;
    let crs = crs_parameter(&request, "crs")?;
    let missing = || ApiError::NotFound {
        detail: format!(
            "collection {} has no feature {feature_id:?}",
            collection.id()
        ),
    };
    let (body, etag) = match collection {
        Collection::Assets(kind) => {
            let asset_id: AssetId = feature_id.parse().map_err(|_| missing())?;
            let view = state.registry.get(asset_id).await?;
            if view.asset.kind() != kind {
                return Err(missing());
            }
            (feature(&view, None), Some(view.asset.version.etag()))
        }
        Collection::Complaints => {
            let complaint_id: ComplaintId = feature_id.parse().map_err(|_| missing())?;
            let complaint = state.complaints.get(complaint_id).await?;
            (
                complaint_feature(&complaint, PersonalData::Hidden, Map::new()),
                None,
            )
        }
        Collection::Areas(level) => {
            let areas = state.complaints.hotline().areas.snapshot();
            let area = areas
                .get(&feature_id)
                .filter(|a| a.level == level)
                .ok_or_else(missing)?;
            (area_feature(area), None)
        }
        Collection::Plans => {
            let plan_id: i64 = feature_id.parse().map_err(|_| missing())?;
            let plan = match state.planning.get(crate::domain::PlanId(plan_id)).await {
                Ok(plan) => plan,
                Err(crate::services::planning::PlanError::NotFound(_)) => return Err(missing()),
                Err(e) => return Err(e.into()),
            };
            (
                crate::services::planning::plan_feature(&plan),
                Some(plan.version.etag()),
            )
        }
        Collection::WorkOrders => {
            // Only an order still to be done that the token sees; others
            // are at /v1/work-orders/{id}.
            let order_id: i64 = feature_id.parse().map_err(|_| missing())?;
            let seen = viewer
                .as_ref()
                .map(|v| state.work_orders.open_seen_by_id(v, order_id))
                .ok_or_else(missing)?
                .ok_or_else(missing)?;
            (work_order_feature(&seen), Some(seen.version.etag()))
        }
    };
    let mut body = in_crs(body, crs)?;
    let path = format!("/collections/{}/items/{feature_id}", collection.id());
    body["links"] = json!([
        {"rel": "self", "type": "application/geo+json", "href": request.url(&path, &[])},
        {"rel": "alternate", "type": "text/html", "href": request.url(&path, &[("f", "html".into())])},
        {"rel": "collection", "type": "application/json", "href": request.url(&format!("/collections/{}", collection.id()), &[])},
    ]);
    let mut response = match request.format {
        Representation::Json => geojson_response(StatusCode::OK, body),
        Representation::Html => html::page(
            &format!("{} {feature_id}", collection.title()),
            &html::feature_detail(&body),
        ),
    };
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(with_content_crs(response, crs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_takes_four_or_six_numbers() {
        assert!(parse_bbox("116.3,39.9,116.4,40.0", Crs::Crs84).is_ok());
        let six = parse_bbox("116.3,39.9,0,116.4,40.0,50", Crs::Crs84).expect("parses");
        assert_eq!((six.min_lon, six.max_lat), (116.3, 40.0));
        assert!(parse_bbox("1,2,3,4,5", Crs::Crs84).is_err());
        assert!(parse_bbox("116.4,39.9,116.3,40.0", Crs::Crs84).is_err());
        // EPSG:4326 is latitude first.
        let b = parse_bbox("39.9,116.3,40.0,116.4", Crs::Epsg4326).expect("parses");
        assert_eq!((b.min_lon, b.min_lat), (116.3, 39.9));
    }

    #[test]
    fn limit_is_clamped_and_zero_refused() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("50000")), Ok(MAX_LIMIT));
        assert_eq!(parse_limit(Some("99999999999999")), Ok(MAX_LIMIT));
        assert!(parse_limit(Some("0")).is_err());
        assert!(parse_limit(Some("-1")).is_err());
    }

    #[test]
    fn datetime_instants_and_open_intervals() {
        let (a, b) = parse_datetime("2024-10-18T09:12:00Z").expect("parses");
        assert_eq!(a, b);
        let (a, b) = parse_datetime("../2024-10-18T09:12:00+08:00").expect("parses");
        assert!(a.is_none() && b.is_some());
        let (a, b) = parse_datetime("2024-10-18T09:12:00Z/").expect("parses");
        assert!(a.is_some() && b.is_none());
        assert!(parse_datetime("2024-10-19T00:00:00Z/2024-10-18T00:00:00Z").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }
}
