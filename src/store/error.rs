//! Errors of the storage layer.

use crate::domain::Version;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such record")]
    NotFound,
    #[error("version mismatch: the stored version is {current:?}")]
    VersionMismatch { current: Version },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL scheme {0:?}; use sqlite://FILE")]
    UnsupportedUrl(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
