//! Shared by the `store_*` integration tests: a fresh database per test on each backend.
//!
//! Every store test runs twice, as `NAME::sqlite` and `NAME::postgres`. PostgreSQL comes from
//! `GRANTDESK_TEST_POSTGRES` (a server URL such as `postgres://postgres@127.0.0.1:5432`). `.ci/run`
//! always sets it, and then a server that does not answer fails the tests. Without the variable
//! (a developer's machine) the tests try `postgres://postgres@127.0.0.1:5432` and, if nothing
//! answers, print a loud SKIPPED line instead of passing silently against nothing.
#![allow(dead_code)]

use std::path::PathBuf;

use grantdesk::store::Store;
use sqlx::migrate::MigrateDatabase as _;
use sqlx::{Connection as _, Executor as _};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// Generates one test per backend for each `name => async fn(&TestDb)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::store_support::TestDb::sqlite();
                    super::$name(&db).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(db) = $crate::store_support::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            }
        )*
    };
}

/// Which backend a test database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test, removed afterwards.
pub struct TestDb {
    pub kind: Kind,
    /// What to give `Store::open` / `--db`.
    pub location: String,
    dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new SQLite file in a fresh temporary folder (a sub-folder, so `open` must create it).
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested").join("grantdesk.db");
        TestDb { kind: Kind::Sqlite, location: path.display().to_string(), dir: Some(dir) }
    }

    /// A new database on the test PostgreSQL server, or `None` (after saying so loudly) when no
    /// server is configured and none answers locally.
    pub async fn postgres() -> Option<TestDb> {
        let (server, required) = match std::env::var("GRANTDESK_TEST_POSTGRES") {
            Ok(url) if !url.trim().is_empty() => (url.trim().trim_end_matches('/').to_string(), true),
            _ => (DEFAULT_SERVER.to_string(), false),
        };
        let name = format!("grantdesk_test_{}", uuid::Uuid::new_v4().simple());
        let location = format!("{server}/{name}");
        match sqlx::Postgres::create_database(&location).await {
            Ok(()) => Some(TestDb { kind: Kind::Postgres, location, dir: None }),
            Err(e) if !required => {
                eprintln!(
                    "\n*** SKIPPED: PostgreSQL store test — no server at {server} ({e}). Set GRANTDESK_TEST_POSTGRES \
                     to a server URL to run it; .ci/run always does. ***\n"
                );
                None
            }
            Err(e) => panic!("GRANTDESK_TEST_POSTGRES={server} is set but the server cannot be used: {e}"),
        }
    }

    /// Another fresh database on the same backend (for tests that need several).
    pub async fn fresh_like(&self) -> TestDb {
        match self.kind {
            Kind::Sqlite => TestDb::sqlite(),
            Kind::Postgres => TestDb::postgres().await.expect("the first PostgreSQL database worked"),
        }
    }

    /// Opens the store (applying migrations).
    pub async fn open(&self) -> Store {
        Store::open(&self.location).await.unwrap_or_else(|e| panic!("opening {:?} store: {e}", self.kind))
    }

    /// The SQLite file, with its WAL beside it.
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        match self.kind {
            Kind::Sqlite => {
                let p = PathBuf::from(&self.location);
                let wal = PathBuf::from(format!("{}-wal", self.location));
                vec![p, wal]
            }
            Kind::Postgres => Vec::new(),
        }
    }

    /// Runs statements directly in the database with the audit log's protections switched off,
    /// as an attacker with file or superuser access would: on SQLite the triggers are dropped, on
    /// PostgreSQL triggers are disabled for the session (`session_replication_role = replica`).
    pub async fn tamper(&self, statements: &[&'static str]) {
        match self.kind {
            Kind::Sqlite => {
                let url = format!("sqlite://{}", self.location);
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("raw sqlite connection");
                for drop in [
                    "DROP TRIGGER IF EXISTS audit_log_no_update",
                    "DROP TRIGGER IF EXISTS audit_log_no_delete",
                    "DROP TRIGGER IF EXISTS audit_log_append_only_at_head",
                ] {
                    c.execute(drop).await.expect("drop trigger");
                }
                for s in statements {
                    c.execute(*s).await.unwrap_or_else(|e| panic!("tamper `{s}`: {e}"));
                }
                c.close().await.expect("close");
            }
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.location).await.expect("raw pg connection");
                c.execute("SET session_replication_role = replica").await.expect("disable triggers");
                for s in statements {
                    c.execute(*s).await.unwrap_or_else(|e| panic!("tamper `{s}`: {e}"));
                }
                c.close().await.expect("close");
            }
        }
    }

    /// Runs one statement as an ordinary client (protections on) and returns its error, if any.
    pub async fn try_raw(&self, statement: &'static str) -> Result<(), String> {
        match self.kind {
            Kind::Sqlite => {
                let url = format!("sqlite://{}", self.location);
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("raw sqlite connection");
                let r = c.execute(statement).await.map(|_| ()).map_err(|e| e.to_string());
                c.close().await.expect("close");
                r
            }
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.location).await.expect("raw pg connection");
                let r = c.execute(statement).await.map(|_| ()).map_err(|e| e.to_string());
                c.close().await.expect("close");
                r
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.kind != Kind::Postgres {
            return;
        }
        let url = self.location.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // small runtime drops the database (forcing out connections the test left open).
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(sqlx::Postgres::force_drop_database(&url))
        })
        .join();
        if let Ok(Err(e)) = joined {
            eprintln!("warning: could not drop test database {}: {e}", self.location);
        }
    }
}
