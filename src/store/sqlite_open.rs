//! Opening the embedded store: the connection settings, the migrations
//! and the backfills that each entity's SQLite code provides. Kept apart
//! from the entities' files so that they depend on the store type and not
//! the other way round.

use super::StoreError;
use super::sqlite::SqliteStore;
use super::sqlite_complaints::{CACHE_SIZE, backfill_cells};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url`,
    /// e.g. `sqlite://hutong.db`.
    #[tracing::instrument(skip_all, fields(url = %url))]
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write acknowledged to a client survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            // 64 MiB of page cache per connection and reads through mmap:
            // with SQLite's 2 MiB default, bulk intake spends most of its
            // time re-reading index pages through system calls.
            .pragma("cache_size", CACHE_SIZE)
            .pragma("mmap_size", "268435456")
            .pragma("temp_store", "memory")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        backfill_cells(&pool).await?;
        Ok(Self { pool })
    }
}
