//! How services report a failure of the durable record to their callers,
//! so that the HTTP layer never needs to know the store's own errors.

use crate::store::{DATABASE_UNAVAILABLE, StoreError};

/// The store failed: for now (the database is away; worth a retry, a 503
/// to clients) or otherwise (a bug or unreadable data; a 500).
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    #[error("{DATABASE_UNAVAILABLE}")]
    Unavailable,
    #[error("{0}")]
    Failed(String),
}

impl From<StoreError> for StoreFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                StoreFailure::Unavailable
            }
            other => StoreFailure::Failed(other.to_string()),
        }
    }
}
