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
    #[error("unsupported database URL scheme {0:?}; use sqlite://FILE or postgres://HOST/DATABASE")]
    UnsupportedUrl(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The database cannot be reached now (down, restarting, all
    /// connections busy): worth a retry, a 503 to clients.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if super::postgres::is_transient(&e) {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}
