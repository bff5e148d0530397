//! Errors of the storage layer.

use crate::domain::Version;

/// What clients are told while the database is away.
pub const DATABASE_UNAVAILABLE: &str = "the database is unavailable at the moment; retry shortly";

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

/// Whether an error means "the database is not reachable now" (worth
/// waiting for, and a 503 to clients) rather than a wrong request, a
/// wrong URL or a bug.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-03: admin shutdown, crash
            // shutdown, cannot connect now (starting up or in recovery);
            // 53300: too many connections.
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_transient(&e) {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}
