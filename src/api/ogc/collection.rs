//! Naming a collection in a URL.

use crate::api::ApiError;
use crate::domain::Principal;
pub use crate::services::collection::Collection;

/// The collection a path names, or a 404 that lists them.
pub fn collection_named(id: &str) -> Result<Collection, ApiError> {
    Collection::parse(id).map_err(|detail| ApiError::NotFound { detail })
}

/// The collection a path names for a reader: a 401 when only a bearer
/// token may read it and none came.
pub fn collection_for(id: &str, viewer: Option<&Principal>) -> Result<Collection, ApiError> {
    let collection = collection_named(id)?;
    if collection.needs_token() && viewer.is_none() {
        return Err(ApiError::Unauthorized {
            detail: format!(
                "the {} collection needs a bearer token (Authorization: Bearer …)",
                collection.id()
            ),
        });
    }
    Ok(collection)
}
