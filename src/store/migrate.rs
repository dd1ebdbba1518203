//! Schema migrations, embedded in the binary and applied on open.
//!
//! The SQL lives in `migrations/sqlite/` and `migrations/postgres/` (the dialects differ: BLOB vs
//! BYTEA habits, trigger syntax). Each file is listed here once; a unit test fails when a file in
//! those folders is not listed, so a migration cannot be forgotten. Applied migrations are never
//! edited: a change is a new file with the next version number in both folders.

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, QueryContext as _, Store, StoreError};

struct Embedded {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

/// One list per backend, in version order; the same versions in both.
macro_rules! embedded {
    ($dir:literal: $($version:literal $description:literal $file:literal,)*) => {
        &[$(Embedded {
            version: $version,
            description: $description,
            sql: include_str!(concat!("../../migrations/", $dir, "/", $file)),
        },)*]
    };
}

const SQLITE: &[Embedded] = embedded!("sqlite":
    1 "audit log" "0001_audit_log.sql",
    2 "outbox" "0002_outbox.sql",
    3 "cache" "0003_cache.sql",
    4 "access requests" "0004_access_requests.sql",
    5 "ticket resolved_at" "0005_ticket_resolved_at.sql",
    6 "queue line caller and mod count" "0006_queue_line_caller_mod_count.sql",
    7 "outbox claimant" "0007_outbox_claimant.sql",
    8 "queue indexes" "0008_queue_indexes.sql",
    9 "queue priority index" "0009_queue_priority_index.sql",
);

const POSTGRES: &[Embedded] = embedded!("postgres":
    1 "audit log" "0001_audit_log.sql",
    2 "outbox" "0002_outbox.sql",
    3 "cache" "0003_cache.sql",
    4 "access requests" "0004_access_requests.sql",
    5 "ticket resolved_at" "0005_ticket_resolved_at.sql",
    6 "queue line caller and mod count" "0006_queue_line_caller_mod_count.sql",
    7 "outbox claimant" "0007_outbox_claimant.sql",
    8 "queue indexes" "0008_queue_indexes.sql",
    9 "queue priority index" "0009_queue_priority_index.sql",
);

fn migrator(list: &'static [Embedded]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|m| {
                Migration::new(m.version, m.description.into(), MigrationType::Simple, m.sql.into_sql_str(), false)
            })
            .collect(),
    )
}

/// The newest schema version this binary knows.
pub(super) fn binary_version() -> i64 {
    let s = SQLITE.iter().map(|m| m.version).max().unwrap_or(0);
    let p = POSTGRES.iter().map(|m| m.version).max().unwrap_or(0);
    s.max(p)
}

/// Refuses a database from a newer grantdesk, then applies what is pending.
pub(super) async fn run(store: &Store) -> Result<(), StoreError> {
    let location = store.location();
    let applied = applied_version(store).await?;
    let binary = binary_version();
    if let Some(database) = applied
        && database > binary
    {
        return Err(StoreError::SchemaTooNew { location, database, binary });
    }
    let result = match &store.backend {
        Backend::Sqlite(p) => migrator(SQLITE).run(p).await,
        Backend::Postgres(p) => migrator(POSTGRES).run(p).await,
    };
    result.map_err(|source| StoreError::Migrate { location, source })
}

/// The newest migration recorded in the database, `None` for a new database.
async fn applied_version(store: &Store) -> Result<Option<i64>, StoreError> {
    let exists: bool = match &store.backend {
        Backend::Sqlite(p) => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        )
        .fetch_one(p)
        .await
        .ctx("reading the schema version")?,
        Backend::Postgres(p) => sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(p)
            .await
            .ctx("reading the schema version")?,
    };
    if !exists {
        return Ok(None);
    }
    super::on_pool!(store, p => sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(p)
        .await
        .ctx("reading the schema version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(dir: &str, list: &[Embedded]) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let mut files: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), list.len(), "every file in migrations/{dir} must be listed in store/migrate.rs");
        for (i, (file, m)) in files.iter().zip(list).enumerate() {
            let version: i64 = file.split('_').next().unwrap().parse().unwrap();
            assert_eq!(version, m.version, "{file} is out of order in the list");
            assert_eq!(m.version, i as i64 + 1, "versions must run 1, 2, 3… without gaps");
            assert_eq!(std::fs::read_to_string(root.join(file)).unwrap(), m.sql, "{file}");
        }
    }

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        listed("sqlite", SQLITE);
        listed("postgres", POSTGRES);
        assert_eq!(SQLITE.len(), POSTGRES.len(), "both backends must have the same schema versions");
    }
}
