//! `/collections` and `/collections/{collectionId}`.

use super::collection::{Collection, collection_for};
use super::html;
use super::request::{OgcRequest, Representation};
use crate::api::auth::Requester;
use crate::api::{ApiError, ApiState};
use crate::domain::Principal;
use crate::domain::utc_text;
use crate::spatial::{Crs, LonLatBox};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// CRS84: WGS 84 longitude/latitude, the GeoJSON default.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

fn bbox_json(b: LonLatBox) -> Value {
    json!([b.min_lon, b.min_lat, b.max_lon, b.max_lat])
}

/// One collection's description, with its extent as stored now.
async fn describe_one(
    state: &ApiState,
    request: &OgcRequest,
    collection: Collection,
    viewer: Option<&Principal>,
) -> Result<Value, ApiError> {
    let (bbox, interval) = match collection {
        Collection::Assets(kind) => (
            state.registry.with_index(|index| index.extent(kind)),
            json!([[null, null]]),
        ),
        Collection::Complaints => match state.complaints.extent().await? {
            Some(extent) => (
                Some(extent.bbox),
                json!([[
                    utc_text(extent.first_reported),
                    utc_text(extent.last_reported)
                ]]),
            ),
            None => (None, json!([[null, null]])),
        },
        Collection::Areas(level) => (
            state.complaints.hotline().areas.snapshot().extent(level),
            json!([[null, null]]),
        ),
        Collection::Plans => {
            let plans = state
                .planning
                .list(&crate::services::planning::PlanFilter {
                    limit: crate::services::features::MAX_PLANS_SCANNED,
                    ..Default::default()
                })
                .await?;
            let bbox = plans.iter().map(|p| p.bbox).reduce(LonLatBox::union);
            let first = plans.iter().map(|p| p.created_at).min();
            let last = plans.iter().map(|p| p.created_at).max();
            (bbox, json!([[first.map(utc_text), last.map(utc_text)]]))
        }
        Collection::WorkOrders => {
            let orders = viewer
                .map(|v| state.work_orders.open_seen_by(v, None))
                .unwrap_or_default();
            let bbox = orders.iter().fold(None, |b: Option<LonLatBox>, o| {
                let (lon, lat) = o.draft.location;
                let point = LonLatBox {
                    min_lon: lon,
                    min_lat: lat,
                    max_lon: lon,
                    max_lat: lat,
                };
                Some(b.map_or(point, |b| b.union(point)))
            });
            let first = orders.iter().map(|o| o.created_at).min();
            let last = orders.iter().map(|o| o.created_at).max();
            (bbox, json!([[first.map(utc_text), last.map(utc_text)]]))
        }
    };
    // Nothing in it yet: where the service works (as TileJSON says).
    let bbox = bbox.or_else(|| Some(state.registry.service_area()));
    let id = collection.id();
    let path = format!("/collections/{id}");
    let items = format!("{path}/items");
    Ok(json!({
        "id": id,
        "title": collection.title(),
        "description": collection.description(),
        "itemType": "feature",
        "extent": {
            "spatial": {"bbox": [bbox.map(bbox_json).unwrap_or(json!([-180.0, -90.0, 180.0, 90.0]))], "crs": CRS84},
            "temporal": {"interval": interval, "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"},
        },
        "crs": Crs::ALL.map(Crs::uri),
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": "application/json", "title": collection.title(), "href": request.url(&path, &[])},
            {"rel": "alternate", "type": "text/html", "title": "This collection as HTML", "href": request.url(&path, &[("f", "html".into())])},
            {"rel": "items", "type": "application/geo+json", "title": "Features as GeoJSON", "href": request.url(&items, &[])},
            {"rel": "items", "type": "text/html", "title": "Features as HTML", "href": request.url(&items, &[("f", "html".into())])},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json", "title": "Queryable properties", "href": request.url(&format!("{path}/queryables"), &[])},
        ],
    }))
}

#[utoipa::path(get, path = "/collections", tag = "OGC API - Features", operation_id = "getCollections",
    params(("f" = Option<String>, Query, description = "json (default) or html; without it, Accept decides")),
    responses((status = 200, description = "The feature collections, with their extents and CRS", body = Object), (status = 400, description = "Unknown query parameter"), (status = 401, description = "An unknown bearer token")))]
pub async fn list(
    State(state): State<ApiState>,
    Requester(viewer): Requester,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    request.only(&[])?;
    let mut collections = Vec::new();
    // The collections only for tokens are listed only to tokens: a
    // client reading every listed collection (GDAL, QGIS) must not meet
    // a 401 anonymously.
    for collection in Collection::ALL {
        if collection.needs_token() && viewer.is_none() {
            continue;
        }
        collections.push(describe_one(&state, &request, collection, viewer.as_ref()).await?);
    }
    let links = json!([
        {"rel": "self", "type": "application/json", "title": "This document", "href": request.url("/collections", &[])},
        {"rel": "alternate", "type": "text/html", "title": "This document as HTML", "href": request.url("/collections", &[("f", "html".into())])},
    ]);
    Ok(match request.format {
        Representation::Json => {
            Json(json!({"links": links, "collections": collections})).into_response()
        }
        Representation::Html => {
            let mut rows = String::from("<table><tr><th>Collection</th><th>Description</th></tr>");
            for c in &collections {
                let id = c["id"].as_str().unwrap_or("");
                rows.push_str(&format!(
                    "<tr><td><a href=\"/collections/{}?f=html\">{}</a></td><td>{}</td></tr>",
                    html::escape(id),
                    html::value_text(&c["title"]),
                    html::value_text(&c["description"])
                ));
            }
            rows.push_str("</table>");
            html::page("Collections", &rows)
        }
    })
}

#[utoipa::path(get, path = "/collections/{collectionId}", tag = "OGC API - Features", operation_id = "describeCollection",
    params(("collectionId" = String, Path, description = "courtyards, buildings, lanes, drainage, lights, chargers or complaints"),
        ("f" = Option<String>, Query, description = "json (default) or html")),
    responses((status = 200, description = "The collection", body = Object), (status = 401, description = "An unknown bearer token, or none for the work-orders collection"), (status = 404, description = "No such collection")))]
pub async fn describe(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Requester(viewer): Requester,
    request: OgcRequest,
) -> Result<Response, ApiError> {
    let collection = collection_for(&id, viewer.as_ref())?;
    request.only(&[])?;
    let document = describe_one(&state, &request, collection, viewer.as_ref()).await?;
    Ok(match request.format {
        Representation::Json => Json(document).into_response(),
        Representation::Html => html::page(
            collection.title(),
            &format!(
                "<p>{}</p><p>Extent: <code>{}</code></p>{}",
                html::value_text(&document["description"]),
                html::escape(&document["extent"]["spatial"]["bbox"].to_string()),
                html::links(&document["links"])
            ),
        ),
    })
}
