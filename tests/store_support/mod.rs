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

/// Builders of domain records for store tests.
pub mod fixtures {
    use chrono::{DateTime, Duration, Utc};
    use grantdesk::domain::{
        App, AppAssignment, Approval, ApprovalState, Group, GroupKind, JournalEntry, JournalKind, LogActor, LogEvent,
        LogTarget, OktaUser, Reference, Ticket, TicketKind, UserStatus,
    };

    /// A fixed "now" for tests.
    pub fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-10T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    pub fn reference(sys_id: &str, display: &str) -> Reference {
        Reference { sys_id: sys_id.into(), display: display.into() }
    }

    /// Ticket `i` of `kind`, opened `i` hours before [`now`].
    pub fn ticket(kind: TicketKind, i: u32) -> Ticket {
        let prefix = match kind {
            TicketKind::Incident => "INC",
            TicketKind::Request => "REQ",
            TicketKind::RequestedItem => "RITM",
            TicketKind::CatalogTask => "SCTASK",
        };
        let opened = now() - Duration::hours(i64::from(i));
        Ticket {
            sys_id: format!("{:032x}", (kind as u128) << 64 | u128::from(i)),
            number: format!("{prefix}{:07}", 10000 + i),
            kind,
            short_description: format!("Ticket {i}"),
            description: String::new(),
            state: "1".into(),
            state_label: "New".into(),
            priority: (i % 5 + 1) as u8,
            active: true,
            caller: reference(&format!("u{i}"), &format!("User {i}")),
            caller_email: format!("user{i}@example.com"),
            assignment_group: reference(
                if i % 2 == 0 { "g-desk" } else { "g-iam" },
                if i % 2 == 0 { "Service Desk" } else { "IAM" },
            ),
            assigned_to: if i % 3 == 0 { Reference::default() } else { reference("dana", "Dana Desk") },
            category: "access".into(),
            parent: Reference::default(),
            cat_item: String::new(),
            opened_at: opened,
            updated_at: opened + Duration::minutes(30),
            updated_by: "dana.desk".into(),
            mod_count: 1,
            sla_due: Some(opened + Duration::hours(24)),
            sla_breached: i % 4 == 0,
            resolved_at: None,
            close_code: String::new(),
            close_notes: String::new(),
            approval: "not requested".into(),
        }
    }

    pub fn journal(ticket: &Ticket, n: u32, kind: JournalKind, text: &str) -> JournalEntry {
        JournalEntry {
            sys_id: format!("{}-j{n}", ticket.sys_id),
            ticket_sys_id: ticket.sys_id.clone(),
            kind,
            value: text.into(),
            created_on: ticket.opened_at + Duration::minutes(i64::from(n)),
            created_by: "dana.desk".into(),
        }
    }

    pub fn approval(ticket: &Ticket, n: u32, approver: &str, state: ApprovalState) -> Approval {
        Approval {
            sys_id: format!("{}-a{n}", ticket.sys_id),
            approver: reference(&format!("sn-{approver}"), approver),
            document: reference(&ticket.sys_id, &ticket.number),
            state,
            comments: String::new(),
            created_on: ticket.opened_at + Duration::minutes(i64::from(n)),
            updated_on: ticket.opened_at + Duration::minutes(i64::from(n) + 5),
        }
    }

    /// Okta user `name` (login `name@example.com`, id `00u<name>`).
    pub fn user(name: &str, status: UserStatus) -> OktaUser {
        OktaUser {
            id: format!("00u{name}"),
            login: format!("{name}@example.com"),
            email: format!("{name}@example.com"),
            first_name: name.split('.').next().unwrap_or(name).into(),
            last_name: name.split('.').nth(1).unwrap_or("").into(),
            status,
            department: "Engineering".into(),
            title: "Engineer".into(),
            manager_id: String::new(),
            user_type: "employee".into(),
            created: now() - Duration::days(400),
            last_updated: now() - Duration::days(1),
            status_changed: None,
            last_login: Some(now() - Duration::hours(3)),
            password_changed: None,
        }
    }

    /// Okta group `name` (id `00g<name>`).
    pub fn group(name: &str) -> Group {
        Group {
            id: format!("00g{name}"),
            name: name.into(),
            description: format!("{name} members"),
            kind: GroupKind::OktaGroup,
            created: now() - Duration::days(300),
            last_updated: now() - Duration::days(30),
            last_membership_updated: Some(now() - Duration::days(2)),
        }
    }

    /// Okta app `name` (id `0oa<name>`).
    pub fn app(name: &str, label: &str) -> App {
        App {
            id: format!("0oa{name}"),
            name: name.into(),
            label: label.into(),
            status: "ACTIVE".into(),
            created: now() - Duration::days(500),
            last_updated: now() - Duration::days(10),
        }
    }

    pub fn assignment(app: &App, user: &OktaUser) -> AppAssignment {
        AppAssignment {
            app_id: app.id.clone(),
            user_id: user.id.clone(),
            scope: "USER".into(),
            status: "ACTIVE".into(),
            last_updated: Some(now() - Duration::days(5)),
        }
    }

    /// A `group.user_membership.add|remove` (or `application.user_membership.*`) event; the target
    /// is `(type, id, display name)`.
    pub fn membership_event(
        uuid: &str,
        event_type: &str,
        actor: &str,
        user: &OktaUser,
        (target_kind, target_id, target_name): (&str, &str, &str),
        at: DateTime<Utc>,
        request_id: &str,
    ) -> LogEvent {
        LogEvent {
            uuid: uuid.into(),
            published: at,
            event_type: event_type.into(),
            display_message: "Add user to group membership".into(),
            severity: "INFO".into(),
            actor: LogActor {
                id: format!("00u{actor}"),
                kind: "User".into(),
                alternate_id: format!("{actor}@example.com"),
                display_name: actor.into(),
            },
            targets: vec![
                LogTarget {
                    id: user.id.clone(),
                    kind: "User".into(),
                    alternate_id: user.login.clone(),
                    display_name: user.display_name(),
                },
                LogTarget {
                    id: target_id.into(),
                    kind: target_kind.into(),
                    alternate_id: "unknown".into(),
                    display_name: target_name.into(),
                },
            ],
            outcome: "SUCCESS".into(),
            outcome_reason: String::new(),
            request_id: request_id.into(),
        }
    }
}
