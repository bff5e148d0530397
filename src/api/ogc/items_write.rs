//! OGC API – Features Part 4: creating, replacing, updating and deleting
//! features of the asset collections, with the same validation, tokens
//! and version checks as `/v1/assets`.

use super::collection::{Collection, collection_named};
use super::crs::{Crs, content_crs, request_crs};
use super::request::OgcRequest;
use crate::api::auth::AssetEditor;
use crate::api::extract::{IfMatch, JsonBody};
use crate::api::feature::{feature, geojson_response};
use crate::api::{ApiError, ApiState};
use crate::domain::AssetView;
use crate::domain::{AssetId, AssetKind, ValidationError};
use crate::services::registry::Precondition;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The kind of an asset collection; other collections are read-only.
fn asset_kind(collection: Collection) -> Result<AssetKind, ApiError> {
    match collection {
        Collection::Assets(kind) => Ok(kind),
        Collection::Complaints => Err(ApiError::Rejected {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: "complaints are taken in through /v1/complaints or Open311, not written here"
                .into(),
        }),
        Collection::Areas(_) => Err(ApiError::Rejected {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: "administrative areas come in through `hutong import-areas`, not written here"
                .into(),
        }),
        Collection::Plans => Err(ApiError::Rejected {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: "plans are made and moved through /v1/plans, not written here".into(),
        }),
        Collection::WorkOrders => Err(ApiError::Rejected {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: "work orders are made and moved through /v1/work-orders, not written here"
                .into(),
        }),
    }
}

/// The body's coordinates in CRS84, from the CRS its `Content-Crs` names,
/// and its `kind` set from (or checked against) the collection.
fn prepared_body(
    headers: &HeaderMap,
    mut body: Value,
    kind: AssetKind,
    whole_feature: bool,
) -> Result<Value, ApiError> {
    let crs = request_crs(headers)?;
    if let Some(geometry) = body.get_mut("geometry") {
        crs.geometry_to_crs84(geometry)
            .map_err(|detail| ApiError::Invalid(ValidationError::single("/geometry", detail)))?;
    }
    if let Some(properties) = body.get_mut("properties").and_then(Value::as_object_mut) {
        match properties.get("kind") {
            None if whole_feature => {
                properties.insert("kind".into(), json!(kind.as_str()));
            }
            Some(given) if given != kind.as_str() => {
                return Err(ApiError::Invalid(ValidationError::single(
                    "/properties/kind",
                    format!(
                        "this collection holds {} assets, not {given}",
                        kind.as_str()
                    ),
                )));
            }
            _ => {}
        }
    }
    Ok(body)
}

/// The asset behind a feature id of this collection, or 404.
async fn existing(
    state: &ApiState,
    kind: AssetKind,
    feature_id: &str,
) -> Result<AssetId, ApiError> {
    let missing = || ApiError::NotFound {
        detail: format!(
            "collection {} has no feature {feature_id:?}",
            kind.collection()
        ),
    };
    let id: AssetId = feature_id.parse().map_err(|_| missing())?;
    let view = state.registry.get(id).await?;
    if view.asset.kind() != kind {
        return Err(missing());
    }
    Ok(id)
}

/// Writes that replace or remove need `If-Match` when the service is set
/// to require it.
fn check_precondition(state: &ApiState, precondition: &Precondition) -> Result<(), ApiError> {
    if state.require_if_match && *precondition == Precondition::None {
        return Err(ApiError::Rejected {
            status: StatusCode::PRECONDITION_REQUIRED,
            detail: "this service requires If-Match with the feature's ETag on every change".into(),
        });
    }
    Ok(())
}

fn written(
    status: StatusCode,
    request: &OgcRequest,
    collection: Collection,
    view: &AssetView,
) -> Response {
    let mut response = geojson_response(status, feature(view, None));
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&view.asset.version.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED {
        let location = request.url(
            &format!("/collections/{}/items/{}", collection.id(), view.asset.id),
            &[],
        );
        if let Ok(location) = HeaderValue::from_str(&location) {
            headers.insert(header::LOCATION, location);
        }
    }
    headers.insert("content-crs", content_crs(Crs::Crs84));
    response
}

#[utoipa::path(post, path = "/collections/{collectionId}/items", tag = "OGC API - Features", operation_id = "createFeature",
    security(("bearer" = [])),
    params(("collectionId" = String, Path, description = "An asset collection"),
        ("Content-Crs" = Option<String>, Header, description = "CRS of the body's coordinates, as <URI>; default CRS84")),
    request_body(content = Object, description = "A GeoJSON Feature; properties.kind may be left out", content_type = "application/geo+json"),
    responses((status = 201, description = "Created; Location and ETag headers", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad request"), (status = 401, description = "No token"), (status = 403, description = "Role or district may not"),
        (status = 405, description = "Read-only collection"), (status = 422, description = "Invalid feature")))]
pub async fn create(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: OgcRequest,
    editor: AssetEditor,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let collection = collection_named(&id)?;
    let kind = asset_kind(collection)?;
    request.only(&[])?;
    let body = prepared_body(&headers, body, kind, true)?;
    let view = state.registry.create(&editor.0, &body).await?;
    Ok(written(StatusCode::CREATED, &request, collection, &view))
}

#[utoipa::path(put, path = "/collections/{collectionId}/items/{featureId}", tag = "OGC API - Features", operation_id = "replaceFeature",
    security(("bearer" = [])),
    params(("collectionId" = String, Path, description = "An asset collection"), ("featureId" = String, Path, description = "Feature id"),
        ("If-Match" = Option<String>, Header, description = "The ETag it must still have"),
        ("Content-Crs" = Option<String>, Header, description = "CRS of the body's coordinates")),
    request_body(content = Object, description = "The whole new Feature", content_type = "application/geo+json"),
    responses((status = 200, description = "Replaced", body = Object, content_type = "application/geo+json"),
        (status = 404, description = "No such feature"), (status = 412, description = "Stale If-Match"), (status = 428, description = "If-Match required"),
        (status = 422, description = "Invalid feature")))]
pub async fn replace(
    State(state): State<ApiState>,
    Path((id, feature_id)): Path<(String, String)>,
    request: OgcRequest,
    editor: AssetEditor,
    IfMatch(precondition): IfMatch,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let target = (id.as_str(), feature_id.as_str());
    let change = Change::Replace;
    change_feature(
        &state,
        target,
        &request,
        &editor,
        &precondition,
        &headers,
        body,
        change,
    )
    .await
}

/// Whether a write replaces the whole feature or merges a patch into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Replace,
    Update,
}

/// PUT and PATCH: the feature must exist in this collection, `If-Match`
/// is checked (and required when so set), the body is brought to CRS84.
#[allow(clippy::too_many_arguments)]
async fn change_feature(
    state: &ApiState,
    (id, feature_id): (&str, &str),
    request: &OgcRequest,
    editor: &AssetEditor,
    precondition: &Precondition,
    headers: &HeaderMap,
    body: Value,
    change: Change,
) -> Result<Response, ApiError> {
    let collection = collection_named(id)?;
    let kind = asset_kind(collection)?;
    request.only(&[])?;
    let asset = existing(state, kind, feature_id).await?;
    check_precondition(state, precondition)?;
    let body = prepared_body(headers, body, kind, change == Change::Replace)?;
    let view = match change {
        Change::Replace => {
            state
                .registry
                .replace(&editor.0, asset, precondition, &body)
                .await?
        }
        Change::Update => {
            state
                .registry
                .patch(&editor.0, asset, precondition, &body)
                .await?
        }
    };
    Ok(written(StatusCode::OK, request, collection, &view))
}

#[utoipa::path(patch, path = "/collections/{collectionId}/items/{featureId}", tag = "OGC API - Features", operation_id = "updateFeature",
    security(("bearer" = [])),
    params(("collectionId" = String, Path, description = "An asset collection"), ("featureId" = String, Path, description = "Feature id"),
        ("If-Match" = Option<String>, Header, description = "The ETag it must still have"),
        ("Content-Crs" = Option<String>, Header, description = "CRS of a new geometry's coordinates")),
    request_body(content = Object, description = "RFC 7386 merge patch: properties to change (null removes), and/or a new geometry", content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated", body = Object, content_type = "application/geo+json"),
        (status = 404, description = "No such feature"), (status = 412, description = "Stale If-Match"), (status = 428, description = "If-Match required"),
        (status = 422, description = "Invalid result")))]
pub async fn update(
    State(state): State<ApiState>,
    Path((id, feature_id)): Path<(String, String)>,
    request: OgcRequest,
    editor: AssetEditor,
    IfMatch(precondition): IfMatch,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let target = (id.as_str(), feature_id.as_str());
    let change = Change::Update;
    change_feature(
        &state,
        target,
        &request,
        &editor,
        &precondition,
        &headers,
        body,
        change,
    )
    .await
}

#[utoipa::path(delete, path = "/collections/{collectionId}/items/{featureId}", tag = "OGC API - Features", operation_id = "deleteFeature",
    security(("bearer" = [])),
    params(("collectionId" = String, Path, description = "An asset collection"), ("featureId" = String, Path, description = "Feature id"),
        ("If-Match" = Option<String>, Header, description = "The ETag it must still have")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such feature"),
        (status = 412, description = "Stale If-Match"), (status = 428, description = "If-Match required")))]
pub async fn delete(
    State(state): State<ApiState>,
    Path((id, feature_id)): Path<(String, String)>,
    request: OgcRequest,
    editor: AssetEditor,
    IfMatch(precondition): IfMatch,
) -> Result<StatusCode, ApiError> {
    let collection = collection_named(&id)?;
    let kind = asset_kind(collection)?;
    request.only(&[])?;
    let asset = existing(&state, kind, &feature_id).await?;
    check_precondition(&state, &precondition)?;
    state
        .registry
        .delete(&editor.0, asset, &precondition)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn allow(methods: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(methods));
    response
}

#[utoipa::path(options, path = "/collections/{collectionId}/items", tag = "OGC API - Features", operation_id = "optionsFeatures",
    params(("collectionId" = String, Path, description = "Collection id")),
    responses((status = 204, description = "The methods allowed, in Allow"), (status = 404, description = "No such collection")))]
pub async fn options_items(Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(if collection_named(&id)?.writable() {
        allow("GET, HEAD, POST, OPTIONS")
    } else {
        allow("GET, HEAD, OPTIONS")
    })
}

#[utoipa::path(options, path = "/collections/{collectionId}/items/{featureId}", tag = "OGC API - Features", operation_id = "optionsFeature",
    params(("collectionId" = String, Path, description = "Collection id"), ("featureId" = String, Path, description = "Feature id")),
    responses((status = 204, description = "The methods allowed, in Allow"), (status = 404, description = "No such collection")))]
pub async fn options_item(
    Path((id, feature)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let collection = collection_named(&id)?;
    let well_formed = match collection {
        Collection::Areas(_) => crate::domain::is_area_code(&feature),
        _ => feature.parse::<crate::domain::ComplaintId>().is_ok(),
    };
    if !well_formed {
        return Err(ApiError::NotFound {
            detail: format!("collection {id} has no feature {feature:?}"),
        });
    }
    Ok(if collection.writable() {
        allow("GET, HEAD, PUT, PATCH, DELETE, OPTIONS")
    } else {
        allow("GET, HEAD, OPTIONS")
    })
}
