//! `/collections/{collectionId}/items` and `/items/{featureId}`: the
//! features of a collection, filtered and paged.

use super::collection::Collection;
use super::crs::{Crs, bbox_in, content_crs, crs_parameter};
use super::html;
use super::queryables;
use super::request::{Format, OgcRequest};
use crate::api::feature::{feature, feature_collection, geojson_response, geojson_text_response};
use crate::api::{ApiError, ApiState, complaint_feature};
use crate::domain::AssetKind;
use crate::domain::ComplaintFilter;
use crate::domain::{AssetId, ComplaintId};
use crate::services::asset_feature::RenderedAsset;
use crate::services::feature_filter::{FeatureFilter, FilterLang, ValueType};
use crate::services::query_budget::{BudgetError, Clock};
use crate::services::registry::AssetFilter;
use crate::spatial::LonLatBox;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::sync::Arc;
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

/// Most properties one `sortby` may name: each is a key copied per
/// candidate and compared at every step of the sort.
pub const MAX_SORTBY_TERMS: usize = 8;

/// Most complaints a filter may have to look at (after its box and
/// dates narrowed them); more is a 400 asking for a narrower query.
pub const MAX_COMPLAINTS_SCANNED: u64 = 200_000;

/// A checked items query.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub bbox: Option<LonLatBox>,
    pub limit: u32,
    pub offset: u64,
    /// Inclusive bounds; `None` is open.
    pub datetime: Option<(Option<OffsetDateTime>, Option<OffsetDateTime>)>,
    /// The CRS of the response's coordinates.
    pub crs: Crs,
    pub filter: Option<FeatureFilter>,
    /// Properties to order by, each descending or not (then by id).
    pub sortby: Vec<(String, bool)>,
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
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        format!("datetime {text:?} is not an RFC 3339 date-time such as 2024-10-18T09:12:00Z")
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
            bbox,
            limit,
            offset,
            datetime,
            crs,
            filter,
            sortby,
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

/// A feature's values for `sortby`, taken once before sorting.
type SortKey = (Vec<Value>, i64);

fn sort_key(sortby: &[(String, bool)], id: i64, props: &Map<String, Value>) -> SortKey {
    let values = sortby
        .iter()
        .map(|(name, _)| {
            if name == "id" {
                Value::from(id)
            } else {
                props.get(name).cloned().unwrap_or(Value::Null)
            }
        })
        .collect();
    (values, id)
}

/// The order `sortby` asks for: by each property in turn (numbers as
/// numbers, text as text, missing values last), then by id.
fn ordering(sortby: &[(String, bool)], a: &SortKey, b: &SortKey) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for ((x, y), (_, descending)) in a.0.iter().zip(&b.0).zip(sortby) {
        let order = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => return Ordering::Greater,
            (_, Value::Null) => return Ordering::Less,
            (Value::Number(m), Value::Number(n)) => m
                .as_f64()
                .partial_cmp(&n.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::String(m), Value::String(n)) => m.cmp(n),
            (Value::Bool(m), Value::Bool(n)) => m.cmp(n),
            _ => x.to_string().cmp(&y.to_string()),
        };
        let order = if *descending { order.reverse() } else { order };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.1.cmp(&b.1)
}

/// The page `offset`, `limit` of `items` in `sortby` order, without
/// sorting more than the page needs; the clock is looked at between the
/// steps.
fn sorted_page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> SortKey,
    sortby: &[(String, bool)],
    offset: u64,
    limit: u32,
    clock: &Clock,
) -> Result<Vec<T>, BudgetError> {
    let mut keyed = Vec::with_capacity(items.len());
    for item in items {
        clock.check()?;
        keyed.push((key(&item), item));
    }
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = skip.saturating_add(limit as usize);
    if end < keyed.len() {
        keyed.select_nth_unstable_by(end, |a, b| ordering(sortby, &a.0, &b.0));
        keyed.truncate(end);
    }
    clock.check()?;
    keyed.sort_unstable_by(|a, b| ordering(sortby, &a.0, &b.0));
    Ok(keyed.into_iter().skip(skip).map(|(_, item)| item).collect())
}

/// Keeps only the asked-for properties of a feature.
fn select_properties(mut feature: Value, keep: &[String]) -> Value {
    if let Some(properties) = feature.get_mut("properties").and_then(Value::as_object_mut) {
        properties.retain(|k, _| keep.contains(k));
    }
    feature
}

/// Whether a rendered feature passes the filter.
fn passes(filter: &FeatureFilter, feature: &Value, geometry: &geo::Geometry<f64>) -> bool {
    let id = feature["id"].as_i64().unwrap_or_default();
    match feature["properties"].as_object() {
        Some(properties) => filter.matches(id, properties, geometry),
        None => false,
    }
}

/// The features of one page: assets as rendered once and kept, or
/// complaints rendered now.
enum Page {
    Assets(Vec<Arc<RenderedAsset>>),
    Complaints(Vec<Value>),
}

impl Page {
    fn len(&self) -> usize {
        match self {
            Page::Assets(a) => a.len(),
            Page::Complaints(c) => c.len(),
        }
    }

    fn into_values(self) -> Vec<Value> {
        match self {
            Page::Assets(assets) => assets
                .iter()
                .filter_map(|a| serde_json::from_str(&a.json).ok())
                .collect(),
            Page::Complaints(values) => values,
        }
    }
}

/// A page of asset features and how many match. Filters and sorts run
/// within a scan budget, on a blocking thread.
async fn asset_features(
    state: &ApiState,
    kind: AssetKind,
    bbox: Option<LonLatBox>,
    query: &ItemsQuery,
) -> Result<(Page, u64), ApiError> {
    if query.filter.is_none() && query.datetime.is_none() && query.sortby.is_empty() {
        let (assets, matched) = state
            .registry
            .list(&AssetFilter {
                kinds: vec![kind],
                bbox,
                limit: query.limit,
                offset: query.offset,
            })
            .await?;
        return Ok((Page::Assets(assets), matched));
    }
    let budget = state.scans.enter().await?;
    let datetime = query.datetime;
    let filter = query.filter.clone().map(Arc::new);
    // An asset's time is when it last changed (`updated_at`).
    let keep = move |a: &RenderedAsset| {
        let in_time = match datetime {
            None => true,
            Some((from, to)) => {
                let t = a.view.asset.updated_at;
                from.is_none_or(|f| t >= f) && to.is_none_or(|u| t <= u)
            }
        };
        in_time
            && filter
                .as_ref()
                .is_none_or(|f| f.matches(a.view.asset.id.0, &a.properties, &a.view.asset.geometry))
    };
    if query.sortby.is_empty() {
        let (assets, matched) = state
            .registry
            .filtered(
                kind,
                bbox,
                query.limit,
                query.offset,
                Arc::new(keep),
                &budget,
            )
            .await?;
        return Ok((Page::Assets(assets), matched));
    }
    let (all, matched) = state
        .registry
        .filtered(kind, bbox, u32::MAX, 0, Arc::new(keep), &budget)
        .await?;
    let (sortby, offset, limit) = (query.sortby.clone(), query.offset, query.limit);
    let page = budget
        .run(move |clock| {
            sorted_page(
                all,
                |a| sort_key(&sortby, a.view.asset.id.0, &a.properties),
                &sortby,
                offset,
                limit,
                clock,
            )
        })
        .await?;
    Ok((Page::Assets(page), matched))
}

/// A page of complaint features (never with personal data) and how many
/// match. With a filter or a sort, the complaints in the box and dates
/// are read a page at a time and tested on a blocking thread, up to
/// [`MAX_COMPLAINTS_SCANNED`] and within the scan budget.
async fn complaint_features(
    state: &ApiState,
    bbox: Option<LonLatBox>,
    query: &ItemsQuery,
) -> Result<(Page, u64), ApiError> {
    const SCAN_PAGE: u32 = 5_000;
    let (from, to) = query.datetime.unwrap_or((None, None));
    let mut filter = ComplaintFilter {
        bbox,
        reported_from: from,
        reported_to: to,
        limit: query.limit,
        offset: query.offset,
        ..ComplaintFilter::default()
    };
    if query.filter.is_none() && query.sortby.is_empty() {
        let (complaints, matched) = state.complaints.list(&filter).await?;
        let features = complaints
            .iter()
            .map(|c| complaint_feature(c, false, Map::new()))
            .collect();
        return Ok((Page::Complaints(features), matched));
    }
    let budget = state.scans.enter().await?;
    let cql = query.filter.clone().map(Arc::new);
    let candidates = state.complaints.count(&filter).await?;
    if candidates > MAX_COMPLAINTS_SCANNED {
        return Err(ApiError::TooCostly {
            detail: format!(
                "this filter would have to test {candidates} complaints; narrow it to at most {MAX_COMPLAINTS_SCANNED} with bbox, datetime or a spatial condition"
            ),
        });
    }
    // Counted once; then read a page at a time after the last one seen.
    filter.limit = SCAN_PAGE;
    filter.offset = 0;
    let mut features = Vec::new();
    loop {
        budget.check()?;
        let complaints = state.complaints.page(&filter).await?;
        filter.before = complaints.last().map(|c| (c.draft.reported_at, c.id));
        let done = complaints.len() < SCAN_PAGE as usize;
        let cql = cql.clone();
        let kept = budget
            .run(move |clock| {
                let mut kept = Vec::new();
                for c in &complaints {
                    clock.check()?;
                    let f = complaint_feature(c, false, Map::new());
                    let point: geo::Geometry<f64> =
                        geo::Point::new(c.draft.location.0, c.draft.location.1).into();
                    if cql.as_ref().is_none_or(|cql| passes(cql, &f, &point)) {
                        kept.push(f);
                    }
                }
                Ok(kept)
            })
            .await?;
        features.extend(kept);
        if done {
            let matched = features.len() as u64;
            let (sortby, offset, limit) = (query.sortby.clone(), query.offset, query.limit);
            let page = budget
                .run(move |clock| {
                    let id = |f: &Value| f["id"].as_i64().unwrap_or_default();
                    let empty = Map::new();
                    sorted_page(
                        features,
                        |f| {
                            sort_key(
                                &sortby,
                                id(f),
                                f["properties"].as_object().unwrap_or(&empty),
                            )
                        },
                        &sortby,
                        offset,
                        limit,
                        clock,
                    )
                })
                .await?;
            return Ok((Page::Complaints(page), matched));
        }
    }
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
        (status = 400, description = "Bad parameter (problem+json)"), (status = 404, description = "No such collection")))]
pub async fn list(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    let collection = Collection::parse(&id)?;
    let query = ItemsQuery::parse(&request, collection)?;
    // A filter that confines matches to a box narrows the candidates.
    let bbox = match query.filter.as_ref().and_then(FeatureFilter::search_box) {
        None => Some(query.bbox),
        Some(confined) if confined.is_empty() => None,
        Some(confined) => match query.bbox {
            None => Some(Some(confined)),
            Some(b) => b.intersection(confined).map(Some),
        },
    };
    let (page, matched) = match bbox {
        // The filter's box and the bbox do not overlap: nothing matches.
        None => (Page::Complaints(Vec::new()), 0),
        Some(bbox) => match collection {
            Collection::Assets(kind) => asset_features(&state, kind, bbox, &query).await?,
            Collection::Complaints => complaint_features(&state, bbox, &query).await?,
        },
    };
    let returned = page.len() as u64;
    let path = format!("/collections/{}/items", collection.id());
    let page_url = |offset: u64, f: Option<&str>| {
        let mut pairs: Vec<(&str, String)> = request
            .params
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "offset" | "limit" | "f"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("limit", query.limit.to_string()));
        pairs.push(("offset", offset.to_string()));
        if let Some(f) = f {
            pairs.push(("f", f.to_string()));
        }
        request.url(&path, &pairs)
    };
    let mut links = vec![
        json!({"rel": "self", "type": "application/geo+json", "title": "This page", "href": page_url(query.offset, None)}),
        json!({"rel": "alternate", "type": "text/html", "title": "This page as HTML", "href": page_url(query.offset, Some("html"))}),
        json!({"rel": "collection", "type": "application/json", "title": collection.title(), "href": request.url(&format!("/collections/{}", collection.id()), &[])}),
    ];
    if query.offset.saturating_add(returned) < matched {
        links.push(json!({"rel": "next", "type": "application/geo+json", "title": "Next page", "href": page_url(query.offset.saturating_add(returned), None)}));
    }
    if query.offset > 0 {
        let previous = query.offset.saturating_sub(u64::from(query.limit));
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
            (Format::Json, Page::Assets(assets))
                if query.crs == Crs::Crs84 && query.properties.is_none() =>
            {
                let features: Vec<&str> = assets.iter().map(|a| &*a.json).collect();
                geojson_text_response(StatusCode::OK, feature_collection(head, &features))
            }
            (Format::Json, page) => {
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
            (Format::Html, page) => {
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
                        query.offset.saturating_add(1),
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
        (status = 404, description = "No such collection or feature")))]
pub async fn fetch(
    State(state): State<ApiState>,
    Path((id, feature_id)): Path<(String, String)>,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    let collection = Collection::parse(&id)?;
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
            (complaint_feature(&complaint, false, Map::new()), None)
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
        Format::Json => geojson_response(StatusCode::OK, body),
        Format::Html => html::page(
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
