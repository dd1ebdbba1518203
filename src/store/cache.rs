//! The cache of ServiceNow tickets and Okta identities: batched writes and sync watermarks.
//!
//! Writes take a slice of domain records and store it in one transaction with one statement per
//! table: the rows travel as a single JSON array parameter, unpacked by `jsonb_each` on SQLite and
//! `jsonb_to_recordset` on PostgreSQL, so a page of 1,000 records costs one round trip instead of
//! a thousand. (`jsonb_each`, not `json_each`: it hands each row object to `->>` in SQLite's
//! binary form, where `json_each` turned every object back into text for `->>` to parse again —
//! a fifth of a full sync's time in the store.) Sync should write a page, then advance its
//! [`Watermark`]: a crash in between only means the page is fetched again (every write here is
//! an idempotent upsert).
//!
//! Deletions are reflected two ways: `remove_*` for records the service says are gone (System Log
//! events, `sys_deleted` rows), and `retain_*` after a full listing, which removes every cached
//! record the listing did not contain. Deactivated Okta users are not removed: they are upserted
//! with status `DEPROVISIONED` and stay visible as such.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{QueryContext as _, Store, StoreError, WriteTx, from_us, on_pool, on_tx, to_us};
use crate::domain::{
    App, AppAssignment, Approval, ApprovalState, Group, GroupKind, JournalEntry, JournalKind, LogActor, LogEvent,
    LogTarget, Membership, OktaUser, Reference, Ticket, TicketKind, UserStatus,
};

/// Watermark source names. ServiceNow tables use [`source::servicenow`].
pub mod source {
    /// Okta users (`lastUpdated`).
    pub const OKTA_USERS: &str = "okta:users";
    /// Okta groups (`lastUpdated`).
    pub const OKTA_GROUPS: &str = "okta:groups";
    /// Okta group memberships (`lastMembershipUpdated`).
    pub const OKTA_MEMBERSHIPS: &str = "okta:memberships";
    /// Okta apps (`lastUpdated`).
    pub const OKTA_APPS: &str = "okta:apps";
    /// Okta app assignments.
    pub const OKTA_APP_ASSIGNMENTS: &str = "okta:app_assignments";
    /// Okta System Log (`since` + last uuid).
    pub const OKTA_LOGS: &str = "okta:logs";

    /// A ServiceNow table's source (`sys_updated_on`): `servicenow:incident`, `servicenow:sysapproval_approver`…
    pub fn servicenow(table: &str) -> String {
        format!("servicenow:{table}")
    }
}

/// Where an incremental sync resumes, and when it last succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// What it is for (see [`source`]).
    pub source: String,
    /// The remote cursor as the service spells it (a `sys_updated_on`, a `lastUpdated`, a `since`).
    pub value: String,
    /// The last record seen at that cursor, to skip it next time (a sys_id, an event uuid).
    pub last_id: String,
    /// When this source last synced successfully (local clock).
    pub synced_at: DateTime<Utc>,
}

/// The cached tables that records can be removed from by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTable {
    /// Tickets of one kind (their journal entries and approvals go with them).
    Tickets(TicketKind),
    /// Journal entries.
    Journal,
    /// Approval rows.
    Approvals,
    /// Okta users (their memberships and assignments go with them).
    Users,
    /// Okta groups (their memberships go with them).
    Groups,
    /// Okta apps (their assignments go with them).
    Apps,
}

/// Batches above this many rows are split, to bound statement size and memory.
const CHUNK: usize = 2_000;

/// One statement per backend.
struct Statements {
    sqlite: &'static str,
    postgres: &'static str,
}

/// Builds an upsert of JSON rows for both backends from one column list: the key columns, then
/// the others with their PostgreSQL types. Compile-time strings only; values are always bound.
macro_rules! upsert_statements {
    (
        $table:literal,
        keys: [$k0:literal: $k0t:literal $(, $k:literal: $kt:literal)*],
        cols: [$c0:literal: $c0t:literal $(, $c:literal: $ct:literal)*] $(,)?
    ) => {
        Statements {
            sqlite: concat!(
                "INSERT INTO ", $table, " (", $k0, $(", ", $k,)* ", ", $c0, $(", ", $c,)* ") SELECT ",
                "value ->> '", $k0, "'", $(", value ->> '", $k, "'",)*
                ", value ->> '", $c0, "'", $(", value ->> '", $c, "'",)*
                " FROM jsonb_each($1) WHERE true ON CONFLICT (", $k0, $(", ", $k,)* ") DO UPDATE SET ",
                $c0, " = excluded.", $c0, $(", ", $c, " = excluded.", $c,)*
            ),
            postgres: concat!(
                "INSERT INTO ", $table, " (", $k0, $(", ", $k,)* ", ", $c0, $(", ", $c,)* ") SELECT ",
                $k0, $(", ", $k,)* ", ", $c0, $(", ", $c,)*
                " FROM jsonb_to_recordset($1::jsonb) AS r(", $k0, " ", $k0t, $(", ", $k, " ", $kt,)*
                ", ", $c0, " ", $c0t, $(", ", $c, " ", $ct,)* ") ON CONFLICT (", $k0, $(", ", $k,)*
                ") DO UPDATE SET ", $c0, " = excluded.", $c0, $(", ", $c, " = excluded.", $c,)*
            ),
        }
    };
}

const UPSERT_TICKETS: Statements = upsert_statements!("tickets",
    keys: ["sys_id": "text"],
    cols: ["number": "text", "kind": "text", "short_description": "text", "description": "text", "state": "text",
        "state_label": "text", "priority": "bigint", "active": "boolean", "caller_sys_id": "text",
        "caller_display": "text", "caller_email": "text", "group_sys_id": "text", "group_display": "text",
        "assigned_sys_id": "text", "assigned_display": "text", "category": "text", "parent_sys_id": "text",
        "parent_display": "text", "cat_item": "text", "opened_us": "bigint", "updated_us": "bigint",
        "updated_by": "text", "mod_count": "bigint", "sla_due_us": "bigint", "sla_breached": "boolean",
        "resolved_us": "bigint", "close_code": "text", "close_notes": "text", "approval": "text", "queue_line": "text"],
);

const UPSERT_JOURNAL: Statements = upsert_statements!("journal_entries",
    keys: ["sys_id": "text"],
    cols: ["ticket_sys_id": "text", "kind": "text", "body": "text", "created_us": "bigint", "created_by": "text"],
);

const UPSERT_APPROVALS: Statements = upsert_statements!("approvals",
    keys: ["sys_id": "text"],
    cols: ["approver_sys_id": "text", "approver_display": "text", "document_sys_id": "text",
        "document_display": "text", "state": "text", "comments": "text", "created_us": "bigint",
        "updated_us": "bigint"],
);

const UPSERT_USERS: Statements = upsert_statements!("okta_users",
    keys: ["id": "text"],
    cols: ["login": "text", "email": "text", "first_name": "text", "last_name": "text", "status": "text",
        "department": "text", "title": "text", "manager_id": "text", "user_type": "text", "created_us": "bigint",
        "last_updated_us": "bigint", "status_changed_us": "bigint", "last_login_us": "bigint",
        "password_changed_us": "bigint"],
);

const UPSERT_GROUPS: Statements = upsert_statements!("okta_groups",
    keys: ["id": "text"],
    cols: ["name": "text", "description": "text", "kind": "text", "created_us": "bigint",
        "last_updated_us": "bigint", "last_membership_updated_us": "bigint"],
);

const UPSERT_APPS: Statements = upsert_statements!("okta_apps",
    keys: ["id": "text"],
    cols: ["name": "text", "label": "text", "status": "text", "created_us": "bigint", "last_updated_us": "bigint"],
);

const UPSERT_ASSIGNMENTS: Statements = upsert_statements!("app_assignments",
    keys: ["app_id": "text", "user_id": "text"],
    cols: ["scope": "text", "status": "text", "last_updated_us": "bigint"],
);

const INSERT_MEMBERSHIPS: Statements = Statements {
    sqlite: "INSERT INTO memberships (group_id, user_id) SELECT value ->> 'group_id', value ->> 'user_id' \
             FROM jsonb_each($1) WHERE true ON CONFLICT (group_id, user_id) DO NOTHING",
    postgres: "INSERT INTO memberships (group_id, user_id) SELECT group_id, user_id \
               FROM jsonb_to_recordset($1::jsonb) AS r(group_id text, user_id text) \
               ON CONFLICT (group_id, user_id) DO NOTHING",
};

const DELETE_MEMBERSHIPS: Statements = Statements {
    sqlite: "DELETE FROM memberships WHERE (group_id, user_id) IN \
             (SELECT value ->> 'group_id', value ->> 'user_id' FROM jsonb_each($1))",
    postgres: "DELETE FROM memberships WHERE (group_id, user_id) IN \
               (SELECT group_id, user_id FROM jsonb_to_recordset($1::jsonb) AS r(group_id text, user_id text))",
};

const DELETE_ASSIGNMENTS: Statements = Statements {
    sqlite: "DELETE FROM app_assignments WHERE (app_id, user_id) IN \
             (SELECT value ->> 'app_id', value ->> 'user_id' FROM jsonb_each($1))",
    postgres: "DELETE FROM app_assignments WHERE (app_id, user_id) IN \
               (SELECT app_id, user_id FROM jsonb_to_recordset($1::jsonb) AS r(app_id text, user_id text))",
};

const INSERT_LOG_EVENTS: Statements = Statements {
    sqlite: "INSERT INTO log_events (uuid, published_us, event_type, display_message, severity, actor_id, actor_kind, \
             actor_alternate_id, actor_display_name, outcome, outcome_reason, request_id, targets) \
             SELECT value ->> 'uuid', value ->> 'published_us', value ->> 'event_type', value ->> 'display_message', \
             value ->> 'severity', value ->> 'actor_id', value ->> 'actor_kind', value ->> 'actor_alternate_id', \
             value ->> 'actor_display_name', value ->> 'outcome', value ->> 'outcome_reason', value ->> 'request_id', \
             value ->> 'targets' FROM jsonb_each($1) WHERE true ON CONFLICT (uuid) DO NOTHING",
    postgres: "INSERT INTO log_events (uuid, published_us, event_type, display_message, severity, actor_id, \
               actor_kind, actor_alternate_id, actor_display_name, outcome, outcome_reason, request_id, targets) \
               SELECT uuid, published_us, event_type, display_message, severity, actor_id, actor_kind, \
               actor_alternate_id, actor_display_name, outcome, outcome_reason, request_id, targets \
               FROM jsonb_to_recordset($1::jsonb) AS r(uuid text, published_us bigint, event_type text, \
               display_message text, severity text, actor_id text, actor_kind text, actor_alternate_id text, \
               actor_display_name text, outcome text, outcome_reason text, request_id text, targets text) \
               ON CONFLICT (uuid) DO NOTHING",
};

const INSERT_LOG_TARGETS: Statements = Statements {
    sqlite: "INSERT INTO log_event_targets (uuid, ordinal, id, kind, alternate_id, display_name) \
             SELECT value ->> 'uuid', value ->> 'ordinal', value ->> 'id', value ->> 'kind', \
             value ->> 'alternate_id', value ->> 'display_name' FROM jsonb_each($1) WHERE true \
             ON CONFLICT (uuid, ordinal) DO NOTHING",
    postgres: "INSERT INTO log_event_targets (uuid, ordinal, id, kind, alternate_id, display_name) \
               SELECT uuid, ordinal, id, kind, alternate_id, display_name FROM jsonb_to_recordset($1::jsonb) \
               AS r(uuid text, ordinal bigint, id text, kind text, alternate_id text, display_name text) \
               ON CONFLICT (uuid, ordinal) DO NOTHING",
};

// ---- rows as written (JSON objects keyed by column) ----

#[derive(Serialize)]
struct TicketOut<'a> {
    sys_id: &'a str,
    number: &'a str,
    kind: &'static str,
    short_description: &'a str,
    description: &'a str,
    state: &'a str,
    state_label: &'a str,
    priority: i64,
    active: bool,
    caller_sys_id: &'a str,
    caller_display: &'a str,
    caller_email: &'a str,
    group_sys_id: &'a str,
    group_display: &'a str,
    assigned_sys_id: &'a str,
    assigned_display: &'a str,
    category: &'a str,
    parent_sys_id: &'a str,
    parent_display: &'a str,
    cat_item: &'a str,
    opened_us: i64,
    updated_us: i64,
    updated_by: &'a str,
    mod_count: i64,
    sla_due_us: Option<i64>,
    sla_breached: bool,
    resolved_us: Option<i64>,
    close_code: &'a str,
    close_notes: &'a str,
    approval: &'a str,
    queue_line: String,
}

impl<'a> From<&'a Ticket> for TicketOut<'a> {
    fn from(t: &'a Ticket) -> Self {
        TicketOut {
            sys_id: &t.sys_id,
            number: &t.number,
            kind: kind_str(t.kind),
            short_description: &t.short_description,
            description: &t.description,
            state: &t.state,
            state_label: &t.state_label,
            priority: i64::from(t.priority),
            active: t.active,
            caller_sys_id: &t.caller.sys_id,
            caller_display: &t.caller.display,
            caller_email: &t.caller_email,
            group_sys_id: &t.assignment_group.sys_id,
            group_display: &t.assignment_group.display,
            assigned_sys_id: &t.assigned_to.sys_id,
            assigned_display: &t.assigned_to.display,
            category: &t.category,
            parent_sys_id: &t.parent.sys_id,
            parent_display: &t.parent.display,
            cat_item: &t.cat_item,
            opened_us: to_us(t.opened_at),
            updated_us: to_us(t.updated_at),
            updated_by: &t.updated_by,
            mod_count: i64::try_from(t.mod_count).unwrap_or(i64::MAX),
            sla_due_us: t.sla_due.map(to_us),
            sla_breached: t.sla_breached,
            resolved_us: t.resolved_at.map(to_us),
            close_code: &t.close_code,
            close_notes: &t.close_notes,
            approval: &t.approval,
            queue_line: super::queries::encode_queue_line(t),
        }
    }
}

#[derive(Serialize)]
struct JournalOut<'a> {
    sys_id: &'a str,
    ticket_sys_id: &'a str,
    kind: &'static str,
    body: &'a str,
    created_us: i64,
    created_by: &'a str,
}

#[derive(Serialize)]
struct ApprovalOut<'a> {
    sys_id: &'a str,
    approver_sys_id: &'a str,
    approver_display: &'a str,
    document_sys_id: &'a str,
    document_display: &'a str,
    state: &'a str,
    comments: &'a str,
    created_us: i64,
    updated_us: i64,
}

#[derive(Serialize)]
struct UserOut<'a> {
    id: &'a str,
    login: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    status: &'a str,
    department: &'a str,
    title: &'a str,
    manager_id: &'a str,
    user_type: &'a str,
    created_us: i64,
    last_updated_us: i64,
    status_changed_us: Option<i64>,
    last_login_us: Option<i64>,
    password_changed_us: Option<i64>,
}

#[derive(Serialize)]
struct GroupOut<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    kind: &'a str,
    created_us: i64,
    last_updated_us: i64,
    last_membership_updated_us: Option<i64>,
}

#[derive(Serialize)]
struct AppOut<'a> {
    id: &'a str,
    name: &'a str,
    label: &'a str,
    status: &'a str,
    created_us: i64,
    last_updated_us: i64,
}

#[derive(Serialize)]
struct AssignmentOut<'a> {
    app_id: &'a str,
    user_id: &'a str,
    scope: &'a str,
    status: &'a str,
    last_updated_us: Option<i64>,
}

#[derive(Serialize)]
struct MembershipOut<'a> {
    group_id: &'a str,
    user_id: &'a str,
}

#[derive(Serialize)]
struct AssignmentKeyOut<'a> {
    app_id: &'a str,
    user_id: &'a str,
}

#[derive(Serialize)]
struct LogEventOut<'a> {
    uuid: &'a str,
    published_us: i64,
    event_type: &'a str,
    display_message: &'a str,
    severity: &'a str,
    actor_id: &'a str,
    actor_kind: &'a str,
    actor_alternate_id: &'a str,
    actor_display_name: &'a str,
    outcome: &'a str,
    outcome_reason: &'a str,
    request_id: &'a str,
    targets: String,
}

#[derive(Serialize, serde::Deserialize)]
struct TargetJson {
    id: String,
    kind: String,
    alternate_id: String,
    display_name: String,
}

#[derive(Serialize)]
struct LogTargetOut<'a> {
    uuid: &'a str,
    ordinal: i64,
    id: &'a str,
    kind: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
}

pub(crate) fn kind_str(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Incident => "incident",
        TicketKind::Request => "request",
        TicketKind::RequestedItem => "requested_item",
        TicketKind::CatalogTask => "catalog_task",
    }
}

pub(crate) fn parse_kind(s: &str) -> Result<TicketKind, StoreError> {
    Ok(match s {
        "incident" => TicketKind::Incident,
        "request" => TicketKind::Request,
        "requested_item" => TicketKind::RequestedItem,
        "catalog_task" => TicketKind::CatalogTask,
        other => return Err(StoreError::Corrupt(format!("unknown ticket kind `{other}`"))),
    })
}

fn journal_kind_str(kind: JournalKind) -> &'static str {
    match kind {
        JournalKind::WorkNote => "work_note",
        JournalKind::Comment => "comment",
    }
}

/// Keeps the last occurrence of each key: PostgreSQL refuses to upsert one row twice in a statement,
/// and the last version seen is the newest.
fn last_per_key<'a, T, K: Eq + std::hash::Hash>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut out: Vec<&T> = items.iter().rev().filter(|t| seen.insert(key(t))).collect();
    out.reverse();
    out
}

/// Runs one JSON-rows statement per chunk of `rows` inside `tx`; returns rows affected.
async fn write_json<T: Serialize>(
    tx: &mut WriteTx,
    statements: &Statements,
    rows: &[T],
    context: &'static str,
) -> Result<u64, StoreError> {
    let mut affected = 0;
    for chunk in rows.chunks(CHUNK) {
        let json = serde_json::to_string(chunk).map_err(|e| StoreError::Corrupt(format!("{context}: {e}")))?;
        affected += match tx {
            WriteTx::Sqlite(t) => {
                sqlx::query(statements.sqlite).bind(json).execute(&mut **t).await.ctx(context)?.rows_affected()
            }
            WriteTx::Postgres(t) => {
                sqlx::query(statements.postgres).bind(json).execute(&mut **t).await.ctx(context)?.rows_affected()
            }
        };
    }
    Ok(affected)
}

/// Deletes by a list of ids (one JSON array parameter), chunked.
async fn delete_ids(
    tx: &mut WriteTx,
    statements: &Statements,
    ids: &[&str],
    context: &'static str,
) -> Result<u64, StoreError> {
    write_json(tx, statements, ids, context).await
}

macro_rules! delete_by_ids {
    ($table:literal, $col:literal) => {
        Statements {
            sqlite: concat!("DELETE FROM ", $table, " WHERE ", $col, " IN (SELECT value FROM json_each($1))"),
            postgres: concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $col,
                " IN (SELECT jsonb_array_elements_text($1::jsonb))"
            ),
        }
    };
}

/// What goes with a removed record.
fn dependents(table: CacheTable) -> &'static [Statements] {
    const TICKETS: &[Statements] =
        &[delete_by_ids!("journal_entries", "ticket_sys_id"), delete_by_ids!("approvals", "document_sys_id")];
    const USERS: &[Statements] =
        &[delete_by_ids!("memberships", "user_id"), delete_by_ids!("app_assignments", "user_id")];
    const GROUPS: &[Statements] = &[delete_by_ids!("memberships", "group_id")];
    const APPS: &[Statements] = &[delete_by_ids!("app_assignments", "app_id")];
    match table {
        CacheTable::Tickets(_) => TICKETS,
        CacheTable::Users => USERS,
        CacheTable::Groups => GROUPS,
        CacheTable::Apps => APPS,
        CacheTable::Journal | CacheTable::Approvals => &[],
    }
}

fn delete_statement(table: CacheTable) -> Statements {
    match table {
        CacheTable::Tickets(_) => delete_by_ids!("tickets", "sys_id"),
        CacheTable::Journal => delete_by_ids!("journal_entries", "sys_id"),
        CacheTable::Approvals => delete_by_ids!("approvals", "sys_id"),
        CacheTable::Users => delete_by_ids!("okta_users", "id"),
        CacheTable::Groups => delete_by_ids!("okta_groups", "id"),
        CacheTable::Apps => delete_by_ids!("okta_apps", "id"),
    }
}

/// Ids of cached records of `table` that are not in `keep` (a JSON array).
async fn ids_not_in(tx: &mut WriteTx, table: CacheTable, keep: String) -> Result<Vec<String>, StoreError> {
    macro_rules! missing {
        ($table:literal, $col:literal) => {
            Statements {
                sqlite: concat!(
                    "SELECT ",
                    $col,
                    " FROM ",
                    $table,
                    " WHERE ",
                    $col,
                    " NOT IN (SELECT value FROM json_each($1)) AND ($2 IS NULL OR kind = $2)"
                ),
                postgres: concat!(
                    "SELECT ",
                    $col,
                    " FROM ",
                    $table,
                    " WHERE ",
                    $col,
                    " NOT IN (SELECT jsonb_array_elements_text($1::jsonb)) AND ($2::text IS NULL OR kind = $2)"
                ),
            }
        };
    }
    // Only tickets are scoped by kind; the other tables get a `kind`-free variant.
    macro_rules! missing_unscoped {
        ($table:literal, $col:literal) => {
            Statements {
                sqlite: concat!(
                    "SELECT ",
                    $col,
                    " FROM ",
                    $table,
                    " WHERE ",
                    $col,
                    " NOT IN (SELECT value FROM json_each($1)) AND $2 IS NULL"
                ),
                postgres: concat!(
                    "SELECT ",
                    $col,
                    " FROM ",
                    $table,
                    " WHERE ",
                    $col,
                    " NOT IN (SELECT jsonb_array_elements_text($1::jsonb)) AND $2::text IS NULL"
                ),
            }
        };
    }
    let (statements, kind) = match table {
        CacheTable::Tickets(k) => (missing!("tickets", "sys_id"), Some(kind_str(k))),
        CacheTable::Journal => (missing_unscoped!("journal_entries", "sys_id"), None),
        CacheTable::Approvals => (missing_unscoped!("approvals", "sys_id"), None),
        CacheTable::Users => (missing_unscoped!("okta_users", "id"), None),
        CacheTable::Groups => (missing_unscoped!("okta_groups", "id"), None),
        CacheTable::Apps => (missing_unscoped!("okta_apps", "id"), None),
    };
    Ok(match tx {
        WriteTx::Sqlite(t) => sqlx::query_scalar(statements.sqlite)
            .bind(keep)
            .bind(kind)
            .fetch_all(&mut **t)
            .await
            .ctx("finding records a full sync no longer lists")?,
        WriteTx::Postgres(t) => sqlx::query_scalar(statements.postgres)
            .bind(keep)
            .bind(kind)
            .fetch_all(&mut **t)
            .await
            .ctx("finding records a full sync no longer lists")?,
    })
}

impl Store {
    /// Upserts tickets of any kind.
    pub async fn upsert_tickets(&self, tickets: &[Ticket]) -> Result<u64, StoreError> {
        let rows: Vec<TicketOut> = last_per_key(tickets, |t| t.sys_id.as_str()).into_iter().map(Into::into).collect();
        self.write_one(&UPSERT_TICKETS, &rows, "caching tickets").await
    }

    /// Upserts journal entries (work notes and comments).
    pub async fn upsert_journal(&self, entries: &[JournalEntry]) -> Result<u64, StoreError> {
        let rows: Vec<JournalOut> = last_per_key(entries, |e| e.sys_id.as_str())
            .into_iter()
            .map(|e| JournalOut {
                sys_id: &e.sys_id,
                ticket_sys_id: &e.ticket_sys_id,
                kind: journal_kind_str(e.kind),
                body: &e.value,
                created_us: to_us(e.created_on),
                created_by: &e.created_by,
            })
            .collect();
        self.write_one(&UPSERT_JOURNAL, &rows, "caching journal entries").await
    }

    /// Upserts approval rows.
    pub async fn upsert_approvals(&self, approvals: &[Approval]) -> Result<u64, StoreError> {
        let rows: Vec<ApprovalOut> = last_per_key(approvals, |a| a.sys_id.as_str())
            .into_iter()
            .map(|a| ApprovalOut {
                sys_id: &a.sys_id,
                approver_sys_id: &a.approver.sys_id,
                approver_display: &a.approver.display,
                document_sys_id: &a.document.sys_id,
                document_display: &a.document.display,
                state: a.state.value(),
                comments: &a.comments,
                created_us: to_us(a.created_on),
                updated_us: to_us(a.updated_on),
            })
            .collect();
        self.write_one(&UPSERT_APPROVALS, &rows, "caching approvals").await
    }

    /// Upserts Okta users (deactivated ones included, with their status).
    pub async fn upsert_users(&self, users: &[OktaUser]) -> Result<u64, StoreError> {
        let rows: Vec<UserOut> = last_per_key(users, |u| u.id.as_str())
            .into_iter()
            .map(|u| UserOut {
                id: &u.id,
                login: &u.login,
                email: &u.email,
                first_name: &u.first_name,
                last_name: &u.last_name,
                status: u.status.as_str(),
                department: &u.department,
                title: &u.title,
                manager_id: &u.manager_id,
                user_type: &u.user_type,
                created_us: to_us(u.created),
                last_updated_us: to_us(u.last_updated),
                status_changed_us: u.status_changed.map(to_us),
                last_login_us: u.last_login.map(to_us),
                password_changed_us: u.password_changed.map(to_us),
            })
            .collect();
        self.write_one(&UPSERT_USERS, &rows, "caching Okta users").await
    }

    /// Upserts Okta groups.
    pub async fn upsert_groups(&self, groups: &[Group]) -> Result<u64, StoreError> {
        let rows: Vec<GroupOut> = last_per_key(groups, |g| g.id.as_str())
            .into_iter()
            .map(|g| GroupOut {
                id: &g.id,
                name: &g.name,
                description: &g.description,
                kind: g.kind.as_str(),
                created_us: to_us(g.created),
                last_updated_us: to_us(g.last_updated),
                last_membership_updated_us: g.last_membership_updated.map(to_us),
            })
            .collect();
        self.write_one(&UPSERT_GROUPS, &rows, "caching Okta groups").await
    }

    /// Upserts Okta apps.
    pub async fn upsert_apps(&self, apps: &[App]) -> Result<u64, StoreError> {
        let rows: Vec<AppOut> = last_per_key(apps, |a| a.id.as_str())
            .into_iter()
            .map(|a| AppOut {
                id: &a.id,
                name: &a.name,
                label: &a.label,
                status: &a.status,
                created_us: to_us(a.created),
                last_updated_us: to_us(a.last_updated),
            })
            .collect();
        self.write_one(&UPSERT_APPS, &rows, "caching Okta apps").await
    }

    /// Adds memberships (already present ones are left alone).
    pub async fn add_memberships(&self, memberships: &[Membership]) -> Result<u64, StoreError> {
        let rows: Vec<MembershipOut> =
            memberships.iter().map(|m| MembershipOut { group_id: &m.group_id, user_id: &m.user_id }).collect();
        self.write_one(&INSERT_MEMBERSHIPS, &rows, "caching memberships").await
    }

    /// Removes memberships.
    pub async fn remove_memberships(&self, memberships: &[Membership]) -> Result<u64, StoreError> {
        let rows: Vec<MembershipOut> =
            memberships.iter().map(|m| MembershipOut { group_id: &m.group_id, user_id: &m.user_id }).collect();
        self.write_one(&DELETE_MEMBERSHIPS, &rows, "removing memberships").await
    }

    /// Replaces a group's members with a full listing (`/groups/{id}/users`).
    pub async fn replace_group_members(&self, group_id: &str, user_ids: &[String]) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM memberships WHERE group_id = $1";
        let rows: Vec<MembershipOut> = user_ids.iter().map(|u| MembershipOut { group_id, user_id: u }).collect();
        let mut tx = self.begin_cache_write().await?;
        on_tx!(&mut tx, c => sqlx::query(DELETE).bind(group_id).execute(c).await.map(|_| ())
            .ctx("replacing a group's members"))?;
        write_json(&mut tx, &INSERT_MEMBERSHIPS, &rows, "replacing a group's members").await?;
        tx.commit().await
    }

    /// Replaces a user's groups with a full listing (`/users/{id}/groups`).
    pub async fn replace_user_groups(&self, user_id: &str, group_ids: &[String]) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM memberships WHERE user_id = $1";
        let rows: Vec<MembershipOut> = group_ids.iter().map(|g| MembershipOut { group_id: g, user_id }).collect();
        let mut tx = self.begin_cache_write().await?;
        on_tx!(&mut tx, c => sqlx::query(DELETE).bind(user_id).execute(c).await.map(|_| ())
            .ctx("replacing a user's groups"))?;
        write_json(&mut tx, &INSERT_MEMBERSHIPS, &rows, "replacing a user's groups").await?;
        tx.commit().await
    }

    /// Upserts app assignments.
    pub async fn upsert_app_assignments(&self, assignments: &[AppAssignment]) -> Result<u64, StoreError> {
        let rows = assignment_rows(assignments);
        self.write_one(&UPSERT_ASSIGNMENTS, &rows, "caching app assignments").await
    }

    /// Removes app assignments, given as `(app_id, user_id)`.
    pub async fn remove_app_assignments(&self, keys: &[(String, String)]) -> Result<u64, StoreError> {
        let rows: Vec<AssignmentKeyOut> =
            keys.iter().map(|(a, u)| AssignmentKeyOut { app_id: a, user_id: u }).collect();
        self.write_one(&DELETE_ASSIGNMENTS, &rows, "removing app assignments").await
    }

    /// Replaces an app's assignments with a full listing (`/apps/{id}/users`).
    pub async fn replace_app_users(&self, app_id: &str, assignments: &[AppAssignment]) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM app_assignments WHERE app_id = $1";
        let rows = assignment_rows(assignments);
        let mut tx = self.begin_cache_write().await?;
        on_tx!(&mut tx, c => sqlx::query(DELETE).bind(app_id).execute(c).await.map(|_| ())
            .ctx("replacing an app's assignments"))?;
        write_json(&mut tx, &UPSERT_ASSIGNMENTS, &rows, "replacing an app's assignments").await?;
        tx.commit().await
    }

    /// Replaces a user's app assignments with a full listing (`/users/{id}/appLinks`).
    pub async fn replace_user_apps(&self, user_id: &str, assignments: &[AppAssignment]) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM app_assignments WHERE user_id = $1";
        let rows = assignment_rows(assignments);
        let mut tx = self.begin_cache_write().await?;
        on_tx!(&mut tx, c => sqlx::query(DELETE).bind(user_id).execute(c).await.map(|_| ())
            .ctx("replacing a user's apps"))?;
        write_json(&mut tx, &UPSERT_ASSIGNMENTS, &rows, "replacing a user's apps").await?;
        tx.commit().await
    }

    /// Stores System Log events (ones already cached are skipped); returns how many were new.
    pub async fn insert_log_events(&self, events: &[LogEvent]) -> Result<u64, StoreError> {
        let unique = last_per_key(events, |e| e.uuid.as_str());
        let mut rows = Vec::with_capacity(unique.len());
        let mut targets = Vec::new();
        for e in &unique {
            let json: Vec<TargetJson> = e
                .targets
                .iter()
                .map(|t| TargetJson {
                    id: t.id.clone(),
                    kind: t.kind.clone(),
                    alternate_id: t.alternate_id.clone(),
                    display_name: t.display_name.clone(),
                })
                .collect();
            rows.push(LogEventOut {
                uuid: &e.uuid,
                published_us: to_us(e.published),
                event_type: &e.event_type,
                display_message: &e.display_message,
                severity: &e.severity,
                actor_id: &e.actor.id,
                actor_kind: &e.actor.kind,
                actor_alternate_id: &e.actor.alternate_id,
                actor_display_name: &e.actor.display_name,
                outcome: &e.outcome,
                outcome_reason: &e.outcome_reason,
                request_id: &e.request_id,
                targets: serde_json::to_string(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            });
            for (i, t) in e.targets.iter().enumerate() {
                targets.push(LogTargetOut {
                    uuid: &e.uuid,
                    ordinal: i as i64,
                    id: &t.id,
                    kind: &t.kind,
                    alternate_id: &t.alternate_id,
                    display_name: &t.display_name,
                });
            }
        }
        let mut tx = self.begin_cache_write().await?;
        let n = write_json(&mut tx, &INSERT_LOG_EVENTS, &rows, "caching System Log events").await?;
        write_json(&mut tx, &INSERT_LOG_TARGETS, &targets, "caching System Log targets").await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Drops cached System Log events published before `before` (the cache keeps recent ones).
    pub async fn prune_log_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        const TARGETS: &str =
            "DELETE FROM log_event_targets WHERE uuid IN (SELECT uuid FROM log_events WHERE published_us < $1)";
        const EVENTS: &str = "DELETE FROM log_events WHERE published_us < $1";
        let mut tx = self.begin_cache_write().await?;
        on_tx!(&mut tx, c => sqlx::query(TARGETS).bind(to_us(before)).execute(c).await.map(|_| ())
            .ctx("pruning System Log events"))?;
        let n = on_tx!(&mut tx, c => sqlx::query(EVENTS).bind(to_us(before)).execute(c).await.map(|r| r.rows_affected())
            .ctx("pruning System Log events"))?;
        tx.commit().await?;
        Ok(n)
    }

    /// Removes records the service says are gone, with what depends on them.
    pub async fn remove(&self, table: CacheTable, ids: &[String]) -> Result<u64, StoreError> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut tx = self.begin_cache_write().await?;
        let n = remove_in_tx(&mut tx, table, &ids).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// After a full listing: removes every cached record of `table` whose id is not in `listed`
    /// (with what depends on it); returns how many were removed.
    pub async fn retain(&self, table: CacheTable, listed: &[String]) -> Result<u64, StoreError> {
        let keep = serde_json::to_string(listed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin_cache_write().await?;
        let gone = ids_not_in(&mut tx, table, keep).await?;
        let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
        let n = remove_in_tx(&mut tx, table, &gone).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Records where a source's sync has reached.
    pub async fn set_watermark(&self, watermark: &Watermark) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO watermarks (source, value, last_id, synced_us) VALUES ($1, $2, $3, $4) \
                           ON CONFLICT (source) DO UPDATE SET value = excluded.value, last_id = excluded.last_id, \
                           synced_us = excluded.synced_us";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(&watermark.source)
            .bind(&watermark.value)
            .bind(&watermark.last_id)
            .bind(to_us(watermark.synced_at))
            .execute(p)
            .await
            .map(|_| ())
            .ctx("saving a sync watermark"))
    }

    /// Where a source's sync has reached, if it ever ran.
    pub async fn watermark(&self, source: &str) -> Result<Option<Watermark>, StoreError> {
        const SQL: &str = "SELECT source, value, last_id, synced_us FROM watermarks WHERE source = $1";
        let row: Option<(String, String, String, i64)> = on_pool!(self, p => sqlx::query_as(SQL).bind(source)
            .fetch_optional(p).await.ctx("reading a sync watermark"))?;
        row.map(watermark_from_row).transpose()
    }

    /// Every source's watermark, by source name.
    pub async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        const SQL: &str = "SELECT source, value, last_id, synced_us FROM watermarks ORDER BY source";
        let rows: Vec<(String, String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await.ctx("reading sync watermarks"))?;
        rows.into_iter().map(watermark_from_row).collect()
    }

    /// Forgets every watermark (before `sync --full`).
    pub async fn clear_watermarks(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM watermarks").execute(p).await.map(|_| ())
            .ctx("clearing sync watermarks"))
    }

    async fn write_one<T: Serialize>(
        &self,
        statements: &Statements,
        rows: &[T],
        context: &'static str,
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_cache_write().await?;
        let n = write_json(&mut tx, statements, rows, context).await?;
        tx.commit().await?;
        Ok(n)
    }
}

fn assignment_rows(assignments: &[AppAssignment]) -> Vec<AssignmentOut<'_>> {
    last_per_key(assignments, |a| (a.app_id.as_str(), a.user_id.as_str()))
        .into_iter()
        .map(|a| AssignmentOut {
            app_id: &a.app_id,
            user_id: &a.user_id,
            scope: &a.scope,
            status: &a.status,
            last_updated_us: a.last_updated.map(to_us),
        })
        .collect()
}

async fn remove_in_tx(tx: &mut WriteTx, table: CacheTable, ids: &[&str]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    for dep in dependents(table) {
        delete_ids(tx, dep, ids, "removing records that depend on a removed one").await?;
    }
    delete_ids(tx, &delete_statement(table), ids, "removing records that are gone").await
}

fn watermark_from_row(
    (source, value, last_id, synced_us): (String, String, String, i64),
) -> Result<Watermark, StoreError> {
    Ok(Watermark { source, value, last_id, synced_at: from_us(synced_us)? })
}

// ---- rows as read ----

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    sys_id: String,
    number: String,
    kind: String,
    short_description: String,
    description: String,
    state: String,
    state_label: String,
    priority: i64,
    active: bool,
    caller_sys_id: String,
    caller_display: String,
    caller_email: String,
    group_sys_id: String,
    group_display: String,
    assigned_sys_id: String,
    assigned_display: String,
    category: String,
    parent_sys_id: String,
    parent_display: String,
    cat_item: String,
    opened_us: i64,
    updated_us: i64,
    updated_by: String,
    mod_count: i64,
    sla_due_us: Option<i64>,
    sla_breached: bool,
    resolved_us: Option<i64>,
    close_code: String,
    close_notes: String,
    approval: String,
}

fn reference(sys_id: String, display: String) -> Reference {
    Reference { sys_id, display }
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;

    fn try_from(r: TicketRow) -> Result<Self, StoreError> {
        Ok(Ticket {
            sys_id: r.sys_id,
            number: r.number,
            kind: parse_kind(&r.kind)?,
            short_description: r.short_description,
            description: r.description,
            state: r.state,
            state_label: r.state_label,
            priority: u8::try_from(r.priority).unwrap_or(0),
            active: r.active,
            caller: reference(r.caller_sys_id, r.caller_display),
            caller_email: r.caller_email,
            assignment_group: reference(r.group_sys_id, r.group_display),
            assigned_to: reference(r.assigned_sys_id, r.assigned_display),
            category: r.category,
            parent: reference(r.parent_sys_id, r.parent_display),
            cat_item: r.cat_item,
            opened_at: from_us(r.opened_us)?,
            updated_at: from_us(r.updated_us)?,
            updated_by: r.updated_by,
            mod_count: u64::try_from(r.mod_count).unwrap_or(0),
            sla_due: r.sla_due_us.map(from_us).transpose()?,
            sla_breached: r.sla_breached,
            resolved_at: r.resolved_us.map(from_us).transpose()?,
            close_code: r.close_code,
            close_notes: r.close_notes,
            approval: r.approval,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct JournalRow {
    sys_id: String,
    ticket_sys_id: String,
    kind: String,
    body: String,
    created_us: i64,
    created_by: String,
}

impl TryFrom<JournalRow> for JournalEntry {
    type Error = StoreError;

    fn try_from(r: JournalRow) -> Result<Self, StoreError> {
        Ok(JournalEntry {
            sys_id: r.sys_id,
            ticket_sys_id: r.ticket_sys_id,
            kind: if r.kind == "comment" { JournalKind::Comment } else { JournalKind::WorkNote },
            value: r.body,
            created_on: from_us(r.created_us)?,
            created_by: r.created_by,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApprovalRow {
    sys_id: String,
    approver_sys_id: String,
    approver_display: String,
    document_sys_id: String,
    document_display: String,
    state: String,
    comments: String,
    created_us: i64,
    updated_us: i64,
}

impl TryFrom<ApprovalRow> for Approval {
    type Error = StoreError;

    fn try_from(r: ApprovalRow) -> Result<Self, StoreError> {
        Ok(Approval {
            sys_id: r.sys_id,
            approver: reference(r.approver_sys_id, r.approver_display),
            document: reference(r.document_sys_id, r.document_display),
            state: ApprovalState::from_value(&r.state),
            comments: r.comments,
            created_on: from_us(r.created_us)?,
            updated_on: from_us(r.updated_us)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    login: String,
    email: String,
    first_name: String,
    last_name: String,
    status: String,
    department: String,
    title: String,
    manager_id: String,
    user_type: String,
    created_us: i64,
    last_updated_us: i64,
    status_changed_us: Option<i64>,
    last_login_us: Option<i64>,
    password_changed_us: Option<i64>,
}

impl TryFrom<UserRow> for OktaUser {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(OktaUser {
            id: r.id,
            login: r.login,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            status: UserStatus::parse(&r.status),
            department: r.department,
            title: r.title,
            manager_id: r.manager_id,
            user_type: r.user_type,
            created: from_us(r.created_us)?,
            last_updated: from_us(r.last_updated_us)?,
            status_changed: r.status_changed_us.map(from_us).transpose()?,
            last_login: r.last_login_us.map(from_us).transpose()?,
            password_changed: r.password_changed_us.map(from_us).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: String,
    name: String,
    description: String,
    kind: String,
    created_us: i64,
    last_updated_us: i64,
    last_membership_updated_us: Option<i64>,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;

    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(Group {
            id: r.id,
            name: r.name,
            description: r.description,
            kind: GroupKind::parse(&r.kind),
            created: from_us(r.created_us)?,
            last_updated: from_us(r.last_updated_us)?,
            last_membership_updated: r.last_membership_updated_us.map(from_us).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppWithAssignmentRow {
    id: String,
    name: String,
    label: String,
    status: String,
    created_us: i64,
    last_updated_us: i64,
    user_id: String,
    scope: String,
    assignment_status: String,
    assignment_updated_us: Option<i64>,
}

impl TryFrom<AppWithAssignmentRow> for (App, AppAssignment) {
    type Error = StoreError;

    fn try_from(r: AppWithAssignmentRow) -> Result<Self, StoreError> {
        let assignment = AppAssignment {
            app_id: r.id.clone(),
            user_id: r.user_id,
            scope: r.scope,
            status: r.assignment_status,
            last_updated: r.assignment_updated_us.map(from_us).transpose()?,
        };
        let app = App {
            id: r.id,
            name: r.name,
            label: r.label,
            status: r.status,
            created: from_us(r.created_us)?,
            last_updated: from_us(r.last_updated_us)?,
        };
        Ok((app, assignment))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppRow {
    id: String,
    name: String,
    label: String,
    status: String,
    created_us: i64,
    last_updated_us: i64,
}

impl TryFrom<AppRow> for App {
    type Error = StoreError;

    fn try_from(r: AppRow) -> Result<Self, StoreError> {
        Ok(App {
            id: r.id,
            name: r.name,
            label: r.label,
            status: r.status,
            created: from_us(r.created_us)?,
            last_updated: from_us(r.last_updated_us)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LogEventRow {
    uuid: String,
    published_us: i64,
    event_type: String,
    display_message: String,
    severity: String,
    actor_id: String,
    actor_kind: String,
    actor_alternate_id: String,
    actor_display_name: String,
    outcome: String,
    outcome_reason: String,
    request_id: String,
    targets: String,
}

impl TryFrom<LogEventRow> for LogEvent {
    type Error = StoreError;

    fn try_from(r: LogEventRow) -> Result<Self, StoreError> {
        let targets: Vec<TargetJson> = serde_json::from_str(&r.targets)
            .map_err(|e| StoreError::Corrupt(format!("System Log event {} has unreadable targets: {e}", r.uuid)))?;
        Ok(LogEvent {
            uuid: r.uuid,
            published: from_us(r.published_us)?,
            event_type: r.event_type,
            display_message: r.display_message,
            severity: r.severity,
            actor: LogActor {
                id: r.actor_id,
                kind: r.actor_kind,
                alternate_id: r.actor_alternate_id,
                display_name: r.actor_display_name,
            },
            targets: targets
                .into_iter()
                .map(|t| LogTarget {
                    id: t.id,
                    kind: t.kind,
                    alternate_id: t.alternate_id,
                    display_name: t.display_name,
                })
                .collect(),
            outcome: r.outcome,
            outcome_reason: r.outcome_reason,
            request_id: r.request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cache writes commit on their own connection with `synchronous = NORMAL`; every
    /// connection of the pool the audit log and the outbox write through stays FULL.
    #[tokio::test]
    async fn cache_writes_leave_the_audit_and_outbox_connections_fully_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db").to_str().unwrap()).await.unwrap();
        let writes = (0..8).map(|_| store.prune_log_events(Utc::now()));
        for w in futures::future::join_all(writes).await {
            w.unwrap();
        }
        let mut tx = store.begin_cache_write().await.unwrap();
        let WriteTx::Sqlite(t) = &mut tx else { unreachable!() };
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut **t).await.unwrap();
        assert_eq!(level, 1, "a cache write commits with NORMAL");
        tx.rollback().await.unwrap();
        let super::super::Backend::Sqlite(pool) = &store.backend else { unreachable!() };
        // Hold every connection the pool has at once: each must be FULL (2).
        let mut held = Vec::new();
        for _ in 0..pool.options().get_max_connections() {
            held.push(pool.acquire().await.unwrap());
        }
        for conn in &mut held {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut **conn).await.unwrap();
            assert_eq!(level, 2, "a connection the audit log writes through is not FULL");
        }
        assert_eq!(held.len(), 4);
    }

    #[test]
    fn upsert_statements_list_every_column_once() {
        for s in [&UPSERT_TICKETS, &UPSERT_USERS, &UPSERT_ASSIGNMENTS] {
            let cols = s.sqlite.split(") SELECT").next().unwrap();
            let n = cols.matches(',').count() + 1;
            assert_eq!(s.sqlite.matches("value ->> '").count(), n, "{}", s.sqlite);
            assert_eq!(s.postgres.matches(" = excluded.").count(), s.sqlite.matches(" = excluded.").count());
        }
        assert!(
            UPSERT_ASSIGNMENTS.sqlite.contains("ON CONFLICT (app_id, user_id) DO UPDATE SET scope = excluded.scope")
        );
        assert!(UPSERT_TICKETS.postgres.contains("AS r(sys_id text, number text,"));
    }

    #[test]
    fn the_last_version_of_a_record_wins_within_a_batch() {
        let items = [("a", 1), ("b", 2), ("a", 3)];
        let kept: Vec<_> = last_per_key(&items, |i| i.0).into_iter().copied().collect();
        assert_eq!(kept, vec![("b", 2), ("a", 3)]);
    }
}
