//! Naming a collection in a URL.

use crate::api::ApiError;
pub use crate::services::collection::Collection;

/// The collection a path names, or a 404 that lists them.
pub fn collection_named(id: &str) -> Result<Collection, ApiError> {
    Collection::parse(id).map_err(|detail| ApiError::NotFound { detail })
}
