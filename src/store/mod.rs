//! The local store (sqlx): cache, outbox and the hash-chained audit log.
//!
//! One [`Store`] over either SQLite (the default, one file per operator) or PostgreSQL (a team
//! sharing one audit log). It is an enum over the two native pools rather than `sqlx::Any`: most
//! statements are written once and run on both (`$1` placeholders, `ON CONFLICT`, `RETURNING`,
//! integer microsecond times), but the parts where the backends genuinely differ — serialising
//! audit appends (`BEGIN IMMEDIATE` vs an advisory lock), claiming outbox work (`FOR UPDATE SKIP
//! LOCKED`), bulk upserts (`json_each` vs `jsonb_to_recordset`) — are written out per backend in
//! plain sight instead of being squeezed through `Any`'s lowest common denominator.
//!
//! Every query is a static string with bound parameters; sqlx 0.9 refuses dynamic SQL unless
//! asserted safe, and this module never asserts it.

mod audit;
mod cache;
mod history;
mod migrate;
mod outbox;
mod queries;
mod requests;

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

pub use audit::{AuditQuery, ExportFormat, TimeRange, Verification};
pub use cache::{CacheTable, Watermark, source};
pub use history::{Confirmation, GrantChange, GrantEntry, GrantHistory, HistoryTarget, SourceFreshness, assemble};
pub use outbox::{Command, CommandStatus, Enqueued, NewCommand, claimant, process_start, this_host};
pub use queries::{
    AgeBucket, AssignedTo, CacheCounts, DayCount, GroupDetail, QueueFilter, QueueOrder, QueueRow, TicketDetail,
    UserDetail, age_in_words,
};
pub use requests::{Changed, RequestFilter, StoredRequest};

use crate::domain::audit::SecretFound;

/// Everything that can go wrong in the store, each saying what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error(
        "cannot open the store at {location}: {source}; check --db / GRANTDESK_DB, that the folder is \
         writable, or that the PostgreSQL server is running"
    )]
    Open {
        /// Where (passwords removed).
        location: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The folder for a new SQLite file could not be created.
    #[error("cannot create the store's folder {path}: {source}; create it or choose another --db")]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer grantdesk.
    #[error(
        "the store at {location} has schema version {database}, newer than this grantdesk understands \
         (version {binary}); upgrade grantdesk, or point --db at another store"
    )]
    SchemaTooNew {
        /// Where.
        location: String,
        /// The database's newest migration.
        database: i64,
        /// This binary's newest migration.
        binary: i64,
    },
    /// Applying migrations failed.
    #[error("cannot bring the store at {location} up to date: {source}")]
    Migrate {
        /// Where.
        location: String,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("store error while {context}: {source}")]
    Query {
        /// What the store was doing.
        context: &'static str,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
    /// A payload or audit detail held something that looks like a secret.
    #[error(transparent)]
    Secret(#[from] SecretFound),
    /// An outbox command is not in the state the operation needs.
    #[error("outbox command {id} is {actual}, not {expected}; it was probably handled by another worker")]
    CommandState {
        /// Command id.
        id: i64,
        /// Its current status.
        actual: String,
        /// The status the operation needs.
        expected: &'static str,
    },
    /// No such outbox command.
    #[error("no outbox command {0}")]
    UnknownCommand(i64),
    /// No such access request.
    #[error("no access request {0}; `grantdesk requests` lists them")]
    UnknownRequest(String),
    /// Writing an export failed.
    #[error("cannot write the export: {0}")]
    Export(#[source] std::io::Error),
    /// Stored data that cannot be read back (for example a time out of range).
    #[error("the store holds unreadable data: {0}")]
    Corrupt(String),
}

/// Attaches what the store was doing to a sqlx error.
trait QueryContext<T> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { context, source })
    }
}

/// Where the store lives. Its `Debug` hides a PostgreSQL password, like [`Location::display`].
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Location {
    /// `postgres://…` / `postgresql://…` is PostgreSQL; anything else (optionally `sqlite:`-prefixed)
    /// is a SQLite path.
    pub fn parse(location: &str) -> Location {
        let l = location.trim();
        if l.starts_with("postgres://") || l.starts_with("postgresql://") {
            return Location::Postgres(l.to_string());
        }
        let path = l.strip_prefix("sqlite://").or_else(|| l.strip_prefix("sqlite:")).unwrap_or(l);
        Location::Sqlite(PathBuf::from(path))
    }

    /// For messages: the path, or the URL with any password replaced by `***`.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => match url::Url::parse(url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "postgres://(unparsable URL)".to_string(),
            },
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.display()).finish(),
        }
    }
}

/// The two pools a store can run on.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE` so that a transaction that
/// reads before it writes (the audit head, an outbox row) holds the write lock from the start and
/// can never fail to upgrade; on PostgreSQL audit appends take an advisory lock instead.
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTx {
    async fn rollback(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(tx) => tx.rollback().await.ctx("rolling back"),
            WriteTx::Postgres(tx) => tx.rollback().await.ctx("rolling back"),
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await.ctx("committing"),
            WriteTx::Postgres(tx) => tx.commit().await.ctx("committing"),
        }
    }
}

/// Runs the same code on whichever pool the store has. The body is compiled once per backend, so
/// the statement must be valid on both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like [`on_pool!`] for a [`WriteTx`]: `$conn` is the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::WriteTx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::WriteTx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// The store: the local cache, the outbox and the audit log, on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// On SQLite, the connection cache writes commit on (see [`Store::begin_cache_write`]).
    cache_writer: Option<SqlitePool>,
    location: Location,
}

impl Store {
    /// Opens (creating if needed) the store at `location` — a SQLite path or a `postgres://` URL —
    /// and applies any pending migrations.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        let location = Location::parse(location);
        let (backend, cache_writer) = match &location {
            Location::Sqlite(path) => {
                let (pool, cache_writer) = open_sqlite(path, &location).await?;
                (Backend::Sqlite(pool), Some(cache_writer))
            }
            Location::Postgres(url) => (Backend::Postgres(open_postgres(url, &location).await?), None),
        };
        let store = Store { backend, cache_writer, location };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Where the store is, safe to print (no password).
    pub fn location(&self) -> String {
        self.location.display()
    }

    /// Closes every connection (waits for queries in flight).
    pub async fn close(&self) {
        if let Some(w) = &self.cache_writer {
            w.close().await;
        }
        on_pool!(self, p => p.close().await)
    }

    /// The schema version this binary writes (its newest migration).
    pub fn schema_version() -> i64 {
        migrate::binary_version()
    }

    /// A write transaction for the cache of ServiceNow and Okta records. On SQLite it runs on
    /// the cache's own connection, which commits without waiting for the disk (`synchronous =
    /// NORMAL`: still atomic and crash-safe, but a power cut may undo the last few commits).
    /// What the cache holds is fetched again by the next sync, and watermarks never run ahead of
    /// the records they cover: the WAL is written in order, and every FULL commit (audit,
    /// outbox) makes all before it durable. A full sync of the large world commits some 3,000
    /// times, each waiting for the disk under FULL.
    pub(crate) async fn begin_cache_write(&self) -> Result<WriteTx, StoreError> {
        Ok(match (&self.backend, &self.cache_writer) {
            (Backend::Sqlite(_), Some(w)) | (Backend::Sqlite(w), None) => {
                WriteTx::Sqlite(w.begin_with("BEGIN IMMEDIATE").await.ctx("starting a transaction")?)
            }
            (Backend::Postgres(p), _) => WriteTx::Postgres(p.begin().await.ctx("starting a transaction")?),
        })
    }

    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(p) => WriteTx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.ctx("starting a transaction")?),
            Backend::Postgres(p) => WriteTx::Postgres(p.begin().await.ctx("starting a transaction")?),
        })
    }
}

async fn open_sqlite(path: &Path, location: &Location) -> Result<(SqlitePool, SqlitePool), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateFolder { path: dir.to_path_buf(), source })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a committed audit event or outbox command survives a power cut, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 8 MiB of page cache a connection (4 connections): with 32 MiB the console's first load
        // of the large world (queue and dashboard scanning the tickets) left ~140 MB of page
        // cache resident (heaptrack: pcache1Alloc), over the console's 150 MB budget on its own.
        .pragma("cache_size", "-8192")
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", "16384");
    // The cache's own writer (see `Store::begin_cache_write`): one connection, opened when the
    // first cache write needs it, whose commits do not wait for the disk. Only cache writes use
    // it, so every other commit keeps FULL.
    let cache_writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options.clone().synchronous(SqliteSynchronous::Normal));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open { location: location.display(), source })?;
    Ok((pool, cache_writer))
}

async fn open_postgres(url: &str, location: &Location) -> Result<PgPool, StoreError> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|source| StoreError::Open { location: location.display(), source })?;
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open { location: location.display(), source })
}

/// Microseconds since the Unix epoch: how every time is stored.
pub(crate) fn to_us(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// The inverse of [`to_us`]; out-of-range values (only possible by editing the database) are an error.
pub(crate) fn from_us(us: i64) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Corrupt(format!("time {us} µs is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_recognised_and_passwords_hidden() {
        assert_eq!(Location::parse("/tmp/x.db"), Location::Sqlite("/tmp/x.db".into()));
        assert_eq!(Location::parse("sqlite:/tmp/x.db"), Location::Sqlite("/tmp/x.db".into()));
        let pg = Location::parse("postgres://grantdesk:s3cret@db.example.com:5432/desk");
        assert!(matches!(pg, Location::Postgres(_)));
        let shown = pg.display();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert!(shown.contains("db.example.com"), "{shown}");
    }
}
