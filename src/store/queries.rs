//! What the console and the CLI read from the cache: the queue, one ticket with its journal and
//! approvals, a user with groups, apps and recent events, a group with its members, and the
//! dashboard's counts.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::cache::{
    AppWithAssignmentRow, ApprovalRow, GroupRow, JournalRow, LogEventRow, TicketRow, UserRow, parse_kind,
};
use super::{Backend, QueryContext as _, Store, StoreError, from_us, on_pool, to_us};
use crate::domain::{App, AppAssignment, Approval, Group, JournalEntry, LogEvent, OktaUser, Ticket, TicketKind};

/// One line of the queue: only what the queue view shows and filters on, so that loading a
/// queue of 100,000 tickets stays quick.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// sys_id, to open the ticket.
    pub sys_id: String,
    /// `INC0010042`.
    pub number: String,
    /// Which table.
    pub kind: TicketKind,
    /// 1 (critical) to 5; 0 when unknown.
    pub priority: u8,
    /// `New`, `In Progress`…
    pub state_label: String,
    /// Still open.
    pub active: bool,
    /// One-line summary (remote text: sanitise before display).
    pub short_description: String,
    /// Caller's name.
    pub caller: String,
    /// Caller's email, which is their Okta login (empty when unknown).
    pub caller_email: String,
    /// Assignment group sys_id (empty when none).
    pub group_sys_id: String,
    /// Assignment group name.
    pub group: String,
    /// Assignee sys_id (empty when unassigned).
    pub assigned_sys_id: String,
    /// Assignee name.
    pub assigned_to: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Last updated.
    pub updated_at: DateTime<Utc>,
    /// SLA due, if any.
    pub sla_due: Option<DateTime<Utc>>,
    /// SLA already breached.
    pub sla_breached: bool,
    /// `sys_mod_count` as cached: what a command from the queue compares against.
    pub mod_count: u64,
}

/// Who a queue is filtered to be assigned to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AssignedTo {
    /// No filter.
    #[default]
    Anyone,
    /// Unassigned tickets only.
    Nobody,
    /// This person's (sys_id).
    Person(String),
}

/// Which tickets a queue shows. The default shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only active (`Some(true)`) or only closed (`Some(false)`) tickets.
    pub active: Option<bool>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<TicketKind>,
    /// Only these assignment groups, by sys_id (empty: any).
    pub assignment_groups: Vec<String>,
    /// Assignee filter.
    pub assigned_to: AssignedTo,
    /// Only breached (`Some(true)`) or not breached SLAs.
    pub sla_breached: Option<bool>,
    /// Only tickets for this caller (email = Okta login, case-insensitive).
    pub caller_email: Option<String>,
}

/// Queue orderings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueOrder {
    /// Most recently opened first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Priority 1 first, then oldest.
    Priority,
    /// Most recently updated first.
    Updated,
    /// Soonest SLA due first (no SLA last).
    SlaDue,
    /// By number.
    Number,
}

/// A ticket with its journal (newest first) and approvals.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// Work notes and comments, newest first.
    pub journal: Vec<JournalEntry>,
    /// Approval rows for it, oldest first.
    pub approvals: Vec<Approval>,
}

/// An Okta user with what the ticket view shows beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDetail {
    /// The user.
    pub user: OktaUser,
    /// Their manager, if cached.
    pub manager: Option<OktaUser>,
    /// Their groups, by name.
    pub groups: Vec<Group>,
    /// Their apps with the assignment, by label.
    pub apps: Vec<(App, AppAssignment)>,
    /// System Log events about them or by them, newest first.
    pub events: Vec<LogEvent>,
}

/// An Okta group with (some of) its members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDetail {
    /// The group.
    pub group: Group,
    /// How many members it has in the cache.
    pub member_count: u64,
    /// Members by login, at most the limit asked for.
    pub members: Vec<OktaUser>,
}

/// Tickets opened and resolved on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Opened that day.
    pub opened: u64,
    /// Resolved or closed that day (see [`Store::opened_resolved_per_day`]).
    pub resolved: u64,
}

/// Open tickets whose age falls in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBucket {
    /// `< 1d`, `1–3d`, `3–7d`, `1–2w`, `2–4w`, `≥ 4w`.
    pub label: &'static str,
    /// How many.
    pub count: u64,
}

/// How many records of each kind the cache holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Tickets of all kinds.
    pub tickets: u64,
    /// Journal entries.
    pub journal_entries: u64,
    /// Approval rows.
    pub approvals: u64,
    /// Okta users.
    pub users: u64,
    /// Okta groups.
    pub groups: u64,
    /// Memberships.
    pub memberships: u64,
    /// Okta apps.
    pub apps: u64,
    /// App assignments.
    pub app_assignments: u64,
    /// System Log events.
    pub log_events: u64,
}

const DAY_US: i64 = 86_400_000_000;

/// Age buckets: (label, upper bound in days, exclusive).
const AGE_BUCKETS: [(&str, i64); 6] =
    [("< 1d", 1), ("1–3d", 3), ("3–7d", 7), ("1–2w", 14), ("2–4w", 28), ("≥ 4w", i64::MAX)];

macro_rules! queue_columns {
    () => {
        "sys_id, number, kind, priority, state_label, active, short_description, caller_display, group_sys_id, \
         group_display, assigned_sys_id, assigned_display, opened_us, updated_us, sla_due_us, sla_breached, \
         caller_email, mod_count"
    };
}

/// The ORDER BY of each queue ordering.
fn queue_order_by(order: QueueOrder) -> &'static str {
    match order {
        QueueOrder::Newest => "opened_us DESC, number DESC",
        QueueOrder::Oldest => "opened_us, number",
        QueueOrder::Priority => "CASE WHEN priority = 0 THEN 9 ELSE priority END, opened_us, number",
        QueueOrder::Updated => "updated_us DESC, number DESC",
        QueueOrder::SlaDue => "sla_due_us IS NULL, sla_due_us, opened_us, number",
        QueueOrder::Number => "number",
    }
}

#[derive(sqlx::FromRow)]
struct QueueDbRow {
    sys_id: String,
    number: String,
    kind: String,
    priority: i64,
    state_label: String,
    active: bool,
    short_description: String,
    caller_display: String,
    caller_email: String,
    group_sys_id: String,
    group_display: String,
    assigned_sys_id: String,
    assigned_display: String,
    opened_us: i64,
    updated_us: i64,
    sla_due_us: Option<i64>,
    sla_breached: bool,
    mod_count: i64,
}

impl TryFrom<QueueDbRow> for QueueRow {
    type Error = StoreError;

    fn try_from(r: QueueDbRow) -> Result<Self, StoreError> {
        Ok(QueueRow {
            sys_id: r.sys_id,
            number: r.number,
            kind: parse_kind(&r.kind)?,
            priority: u8::try_from(r.priority).unwrap_or(0),
            state_label: r.state_label,
            active: r.active,
            short_description: r.short_description,
            caller: r.caller_display,
            caller_email: r.caller_email,
            group_sys_id: r.group_sys_id,
            group: r.group_display,
            assigned_sys_id: r.assigned_sys_id,
            assigned_to: r.assigned_display,
            opened_at: from_us(r.opened_us)?,
            updated_at: from_us(r.updated_us)?,
            sla_due: r.sla_due_us.map(from_us).transpose()?,
            sla_breached: r.sla_breached,
            mod_count: u64::try_from(r.mod_count).unwrap_or(0),
        })
    }
}

/// The queue filter's values, as [`QueueBinds::narrow_where`] binds them.
struct QueueBinds {
    active: Option<bool>,
    kinds: [bool; 4],
    groups: Option<String>,
    assigned: Option<String>,
    sla_breached: Option<bool>,
    caller: Option<String>,
}

impl QueueBinds {
    fn new(f: &QueueFilter) -> Self {
        let all = f.kinds.is_empty();
        let has = |k| all || f.kinds.contains(&k);
        QueueBinds {
            active: f.active,
            kinds: [
                has(TicketKind::Incident),
                has(TicketKind::Request),
                has(TicketKind::RequestedItem),
                has(TicketKind::CatalogTask),
            ],
            groups: (!f.assignment_groups.is_empty())
                .then(|| serde_json::to_string(&f.assignment_groups).unwrap_or_else(|_| "[]".into())),
            assigned: match &f.assigned_to {
                AssignedTo::Anyone => None,
                AssignedTo::Nobody => Some(String::new()),
                AssignedTo::Person(id) => Some(id.clone()),
            },
            sla_breached: f.sla_breached,
            caller: f.caller_email.clone(),
        }
    }
}

/// One bound value of a [`QueueBinds::narrow_where`] clause.
enum QueueBind<'a> {
    Flag(bool),
    Text(&'a str),
}

impl QueueBinds {
    /// The WHERE clause with only the conditions this filter sets, and their values in order —
    /// so the planner can use the indexes (`$1 IS NULL OR active = $1` cannot): the open queue
    /// is answered from `tickets_queue_open` alone on SQLite, not by reading every ticket.
    fn narrow_where(&self, postgres: bool) -> (String, Vec<QueueBind<'_>>) {
        let mut sql = String::from(" WHERE TRUE");
        let mut binds = Vec::new();
        if let Some(active) = self.active {
            binds.push(QueueBind::Flag(active));
            sql.push_str(&format!(" AND active = ${}", binds.len()));
        }
        if self.kinds.iter().any(|k| !k) {
            // Fixed names from this file, never input.
            let names: Vec<String> = ["incident", "request", "requested_item", "catalog_task"]
                .iter()
                .zip(self.kinds)
                .filter(|(_, on)| *on)
                .map(|(k, _)| format!("'{k}'"))
                .collect();
            if names.is_empty() {
                sql.push_str(" AND FALSE");
            } else {
                sql.push_str(&format!(" AND kind IN ({})", names.join(", ")));
            }
        }
        if let Some(groups) = &self.groups {
            binds.push(QueueBind::Text(groups));
            let n = binds.len();
            sql.push_str(&if postgres {
                format!(" AND group_sys_id IN (SELECT jsonb_array_elements_text(${n}::jsonb))")
            } else {
                format!(" AND group_sys_id IN (SELECT value FROM json_each(${n}))")
            });
        }
        if let Some(assigned) = &self.assigned {
            binds.push(QueueBind::Text(assigned));
            sql.push_str(&format!(" AND assigned_sys_id = ${}", binds.len()));
        }
        if let Some(breached) = self.sla_breached {
            binds.push(QueueBind::Flag(breached));
            sql.push_str(&format!(" AND sla_breached = ${}", binds.len()));
        }
        if let Some(caller) = &self.caller {
            binds.push(QueueBind::Text(caller));
            sql.push_str(&format!(" AND lower(caller_email) = lower(${})", binds.len()));
        }
        (sql, binds)
    }
}

/// Binds a [`QueueBinds::narrow_where`] clause's values onto a query. The clause's text is
/// built from fixed fragments and `$n` markers only (hence `AssertSqlSafe`); every value is bound.
macro_rules! bind_narrow {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                QueueBind::Flag(v) => q.bind(*v),
                QueueBind::Text(v) => q.bind(*v),
            };
        }
        q
    }};
}

macro_rules! ticket_columns {
    () => {
        "sys_id, number, kind, short_description, description, state, state_label, priority, active, caller_sys_id, \
         caller_display, caller_email, group_sys_id, group_display, assigned_sys_id, assigned_display, category, \
         parent_sys_id, parent_display, cat_item, opened_us, updated_us, updated_by, mod_count, sla_due_us, \
         sla_breached, resolved_us, close_code, close_notes, approval"
    };
}
macro_rules! user_columns {
    () => {
        "id, login, email, first_name, last_name, status, department, title, manager_id, user_type, created_us, \
         last_updated_us, status_changed_us, last_login_us, password_changed_us"
    };
}
macro_rules! log_columns {
    () => {
        "uuid, published_us, event_type, display_message, severity, actor_id, actor_kind, actor_alternate_id, \
         actor_display_name, outcome, outcome_reason, request_id, targets"
    };
}

impl Store {
    /// One page of the queue, ordered in the database (`limit` 0: everything after `offset`).
    /// For the whole queue, [`Store::queue_all`] is several times faster.
    pub async fn queue_page(
        &self,
        filter: &QueueFilter,
        order: QueueOrder,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<QueueRow>, StoreError> {
        let b = QueueBinds::new(filter);
        let (clause, binds) = b.narrow_where(matches!(self.backend, Backend::Postgres(_)));
        let sql = format!(
            "SELECT {} FROM tickets{clause} ORDER BY {} LIMIT ${} OFFSET ${}",
            queue_columns!(),
            queue_order_by(order),
            binds.len() + 1,
            binds.len() + 2
        );
        let limit = if limit == 0 { i64::MAX } else { i64::try_from(limit).unwrap_or(i64::MAX) };
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows: Vec<QueueDbRow> = match &self.backend {
            Backend::Sqlite(p) => bind_narrow!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &binds)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await
                .ctx("loading the queue")?,
            Backend::Postgres(p) => bind_narrow!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &binds)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await
                .ctx("loading the queue")?,
        };
        rows.into_iter().map(QueueRow::try_from).collect()
    }

    /// Every ticket a filter matches, in `order` — the console's start-up load. The queue columns
    /// of each ticket are kept pre-encoded in one `queue_line`, and the database returns all the
    /// matching lines as a single aggregated text, so 100,000 tickets cost one value to fetch
    /// instead of 1.6 million; they are decoded and sorted here.
    pub async fn queue_all(&self, filter: &QueueFilter, order: QueueOrder) -> Result<Vec<QueueRow>, StoreError> {
        let b = QueueBinds::new(filter);
        let blob: Option<String> = match &self.backend {
            Backend::Sqlite(p) => {
                let (clause, binds) = b.narrow_where(false);
                let sql = format!("SELECT group_concat(queue_line, '') FROM tickets{clause}");
                bind_narrow!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &binds)
                    .fetch_one(p)
                    .await
                    .ctx("loading the queue")?
            }
            Backend::Postgres(p) => {
                let (clause, binds) = b.narrow_where(true);
                let sql = format!("SELECT string_agg(queue_line, '') FROM tickets{clause}");
                bind_narrow!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &binds)
                    .fetch_one(p)
                    .await
                    .ctx("loading the queue")?
            }
        };
        let mut rows = match blob {
            Some(text) => decode_queue_lines(&text)?,
            None => Vec::new(),
        };
        sort_queue(&mut rows, order);
        Ok(rows)
    }

    /// How many tickets a queue filter matches.
    pub async fn queue_count(&self, filter: &QueueFilter) -> Result<u64, StoreError> {
        let b = QueueBinds::new(filter);
        let (clause, binds) = b.narrow_where(matches!(self.backend, Backend::Postgres(_)));
        let sql = format!("SELECT COUNT(*) FROM tickets{clause}");
        let n: i64 = match &self.backend {
            Backend::Sqlite(p) => bind_narrow!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &binds)
                .fetch_one(p)
                .await
                .ctx("counting the queue")?,
            Backend::Postgres(p) => bind_narrow!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &binds)
                .fetch_one(p)
                .await
                .ctx("counting the queue")?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A ticket by number (any case) or sys_id, with its journal and approvals.
    pub async fn ticket(&self, number_or_sys_id: &str) -> Result<Option<TicketDetail>, StoreError> {
        const TICKET: &str =
            concat!("SELECT ", ticket_columns!(), " FROM tickets WHERE number = upper($1) OR sys_id = $1 LIMIT 1");
        const JOURNAL: &str = "SELECT sys_id, ticket_sys_id, kind, body, created_us, created_by FROM journal_entries \
                               WHERE ticket_sys_id = $1 ORDER BY created_us DESC, sys_id";
        const APPROVALS: &str = "SELECT sys_id, approver_sys_id, approver_display, document_sys_id, document_display, \
                                 state, comments, created_us, updated_us FROM approvals WHERE document_sys_id = $1 \
                                 ORDER BY created_us, sys_id";
        let key = number_or_sys_id.trim();
        let row: Option<TicketRow> = on_pool!(self, p => sqlx::query_as(TICKET).bind(key).fetch_optional(p).await
            .ctx("reading a ticket"))?;
        let Some(row) = row else { return Ok(None) };
        let ticket = Ticket::try_from(row)?;
        let journal: Vec<JournalRow> = on_pool!(self, p => sqlx::query_as(JOURNAL).bind(&ticket.sys_id).fetch_all(p)
            .await.ctx("reading a ticket's journal"))?;
        let approvals: Vec<ApprovalRow> = on_pool!(self, p => sqlx::query_as(APPROVALS).bind(&ticket.sys_id)
            .fetch_all(p).await.ctx("reading a ticket's approvals"))?;
        Ok(Some(TicketDetail {
            ticket,
            journal: journal.into_iter().map(JournalEntry::try_from).collect::<Result<_, _>>()?,
            approvals: approvals.into_iter().map(Approval::try_from).collect::<Result<_, _>>()?,
        }))
    }

    /// Requested items raised for a person (by their email), newest first, each with its approvals.
    pub async fn requested_items_for(&self, email: &str) -> Result<Vec<(Ticket, Vec<Approval>)>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE lower(caller_email) = lower($1) AND kind = 'requested_item' ORDER BY opened_us DESC"
        );
        const APPROVALS: &str = "SELECT sys_id, approver_sys_id, approver_display, document_sys_id, document_display, \
                                 state, comments, created_us, updated_us FROM approvals WHERE document_sys_id = $1 \
                                 ORDER BY created_us, sys_id";
        let rows: Vec<TicketRow> =
            on_pool!(self, p => sqlx::query_as(SQL).bind(email).fetch_all(p).await.ctx("reading requested items"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let t = Ticket::try_from(row)?;
            let approvals: Vec<ApprovalRow> = on_pool!(self, p => sqlx::query_as(APPROVALS).bind(&t.sys_id)
                .fetch_all(p).await.ctx("reading approvals"))?;
            out.push((t, approvals.into_iter().map(Approval::try_from).collect::<Result<_, _>>()?));
        }
        Ok(out)
    }

    /// An Okta user by login (any case) or id, with manager, groups, apps and the last
    /// `recent_events` System Log events about or by them.
    pub async fn user(&self, login_or_id: &str, recent_events: u32) -> Result<Option<UserDetail>, StoreError> {
        let key = login_or_id.trim();
        let Some(user) = self.okta_user(key).await? else { return Ok(None) };
        let manager = if user.manager_id.is_empty() { None } else { self.okta_user(&user.manager_id.clone()).await? };
        const GROUPS: &str = "SELECT g.id, g.name, g.description, g.kind, g.created_us, g.last_updated_us, \
                              g.last_membership_updated_us FROM memberships m JOIN okta_groups g ON g.id = m.group_id \
                              WHERE m.user_id = $1 ORDER BY lower(g.name)";
        const APPS: &str = "SELECT a.id, a.name, a.label, a.status, a.created_us, a.last_updated_us, aa.user_id, \
                            aa.scope, aa.status AS assignment_status, aa.last_updated_us AS assignment_updated_us \
                            FROM app_assignments aa JOIN okta_apps a ON a.id = aa.app_id WHERE aa.user_id = $1 \
                            ORDER BY lower(a.label)";
        let groups: Vec<GroupRow> = on_pool!(self, p => sqlx::query_as(GROUPS).bind(&user.id).fetch_all(p).await.ctx("reading a user's groups"))?;
        let apps: Vec<AppWithAssignmentRow> =
            on_pool!(self, p => sqlx::query_as(APPS).bind(&user.id).fetch_all(p).await.ctx("reading a user's apps"))?;
        let events = self.user_log_events(&user.id, &user.login, recent_events).await?;
        Ok(Some(UserDetail {
            manager,
            groups: groups.into_iter().map(Group::try_from).collect::<Result<_, _>>()?,
            apps: apps.into_iter().map(<(App, AppAssignment)>::try_from).collect::<Result<_, _>>()?,
            events,
            user,
        }))
    }

    /// Just the user, by login (any case) or id.
    pub async fn okta_user(&self, login_or_id: &str) -> Result<Option<OktaUser>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM okta_users WHERE id = $1 OR lower(login) = lower($1) ORDER BY id = $1 DESC, last_updated_us DESC \
             LIMIT 1"
        );
        let row: Option<UserRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(login_or_id).fetch_optional(p).await
            .ctx("reading an Okta user"))?;
        row.map(OktaUser::try_from).transpose()
    }

    /// System Log events naming the user as a target (by id or login) or as the actor, newest first.
    pub async fn user_log_events(&self, user_id: &str, login: &str, limit: u32) -> Result<Vec<LogEvent>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            log_columns!(),
            " FROM log_events WHERE uuid IN (SELECT uuid FROM log_event_targets WHERE id = $1 \
             UNION SELECT uuid FROM log_event_targets WHERE lower(alternate_id) = lower($2) \
             UNION SELECT uuid FROM log_events WHERE actor_id = $1) ORDER BY published_us DESC, uuid LIMIT $3"
        );
        let rows: Vec<LogEventRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(user_id).bind(login)
            .bind(i64::from(limit)).fetch_all(p).await.ctx("reading a user's System Log events"))?;
        rows.into_iter().map(LogEvent::try_from).collect()
    }

    /// System Log events of the given types naming a target (by id, login/alternate id or display
    /// name, case-insensitive), oldest first — the Okta side of grant history.
    pub async fn log_events_for_target(
        &self,
        ids: &[&str],
        event_type_prefix: &str,
    ) -> Result<Vec<LogEvent>, StoreError> {
        // One index lookup per way of naming the target (a UNION, not an OR, so each uses its index).
        const SQLITE: &str = concat!(
            "SELECT ",
            log_columns!(),
            " FROM log_events WHERE uuid IN (\
             SELECT uuid FROM log_event_targets WHERE id IN (SELECT value FROM json_each($1)) \
             UNION SELECT uuid FROM log_event_targets WHERE lower(alternate_id) IN \
             (SELECT lower(value) FROM json_each($1)) \
             UNION SELECT uuid FROM log_event_targets WHERE lower(display_name) IN \
             (SELECT lower(value) FROM json_each($1))) \
             AND substr(event_type, 1, length($2)) = $2 ORDER BY published_us, uuid"
        );
        const POSTGRES: &str = concat!(
            "SELECT ",
            log_columns!(),
            " FROM log_events WHERE uuid IN (\
             SELECT uuid FROM log_event_targets WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)) \
             UNION SELECT uuid FROM log_event_targets WHERE lower(alternate_id) IN \
             (SELECT lower(jsonb_array_elements_text($1::jsonb))) \
             UNION SELECT uuid FROM log_event_targets WHERE lower(display_name) IN \
             (SELECT lower(jsonb_array_elements_text($1::jsonb)))) \
             AND starts_with(event_type, $2) ORDER BY published_us, uuid"
        );
        let keys = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let rows: Vec<LogEventRow> = match &self.backend {
            Backend::Sqlite(p) => sqlx::query_as(SQLITE)
                .bind(keys)
                .bind(event_type_prefix)
                .fetch_all(p)
                .await
                .ctx("reading System Log events")?,
            Backend::Postgres(p) => sqlx::query_as(POSTGRES)
                .bind(keys)
                .bind(event_type_prefix)
                .fetch_all(p)
                .await
                .ctx("reading System Log events")?,
        };
        rows.into_iter().map(LogEvent::try_from).collect()
    }

    /// A group by name (any case) or id, with its member count and up to `member_limit` members.
    pub async fn group(&self, name_or_id: &str, member_limit: u32) -> Result<Option<GroupDetail>, StoreError> {
        let Some(group) = self.okta_group(name_or_id.trim()).await? else { return Ok(None) };
        const COUNT: &str = "SELECT COUNT(*) FROM memberships WHERE group_id = $1";
        const MEMBERS: &str = "SELECT u.id, u.login, u.email, u.first_name, u.last_name, u.status, u.department, u.title, \
             u.manager_id, u.user_type, u.created_us, u.last_updated_us, u.status_changed_us, u.last_login_us, \
             u.password_changed_us FROM memberships m JOIN okta_users u ON u.id = m.user_id WHERE m.group_id = $1 \
             ORDER BY lower(u.login) LIMIT $2";
        let count: i64 = on_pool!(self, p => sqlx::query_scalar(COUNT).bind(&group.id).fetch_one(p).await
            .ctx("counting a group's members"))?;
        let members: Vec<UserRow> = on_pool!(self, p => sqlx::query_as(MEMBERS).bind(&group.id)
            .bind(i64::from(member_limit)).fetch_all(p).await.ctx("reading a group's members"))?;
        Ok(Some(GroupDetail {
            group,
            member_count: u64::try_from(count).unwrap_or(0),
            members: members.into_iter().map(OktaUser::try_from).collect::<Result<_, _>>()?,
        }))
    }

    /// Just the group, by name (any case) or id.
    pub async fn okta_group(&self, name_or_id: &str) -> Result<Option<Group>, StoreError> {
        const SQL: &str = "SELECT id, name, description, kind, created_us, last_updated_us, last_membership_updated_us \
                           FROM okta_groups WHERE id = $1 OR lower(name) = lower($1) ORDER BY id = $1 DESC LIMIT 1";
        let row: Option<GroupRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(name_or_id).fetch_optional(p).await
            .ctx("reading an Okta group"))?;
        row.map(Group::try_from).transpose()
    }

    /// An app by label or name (any case) or id.
    pub async fn okta_app(&self, name_or_id: &str) -> Result<Option<App>, StoreError> {
        const SQL: &str = "SELECT id, name, label, status, created_us, last_updated_us FROM okta_apps \
                           WHERE id = $1 OR lower(label) = lower($1) OR lower(name) = lower($1) \
                           ORDER BY id = $1 DESC LIMIT 1";
        let row: Option<super::cache::AppRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(name_or_id.trim())
            .fetch_optional(p).await.ctx("reading an Okta app"))?;
        row.map(App::try_from).transpose()
    }

    /// Ids of a group's members (all of them).
    pub async fn group_member_ids(&self, group_id: &str) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT user_id FROM memberships WHERE group_id = $1 ORDER BY user_id";
        on_pool!(self, p => sqlx::query_scalar(SQL).bind(group_id).fetch_all(p).await.ctx("reading a group's members"))
    }

    /// Tickets opened and resolved per UTC day for the last `days` days up to `now`, oldest first,
    /// including days with none. Resolved means ServiceNow's `resolved_at` (or `closed_at` for
    /// tables without a resolved state).
    pub async fn opened_resolved_per_day(&self, days: u32, now: DateTime<Utc>) -> Result<Vec<DayCount>, StoreError> {
        const OPENED: &str = "SELECT opened_us / 86400000000 AS day, COUNT(*) FROM tickets WHERE opened_us >= $1 \
                              GROUP BY opened_us / 86400000000";
        const RESOLVED: &str = "SELECT resolved_us / 86400000000 AS day, COUNT(*) FROM tickets \
                                WHERE resolved_us >= $1 GROUP BY resolved_us / 86400000000";
        let today = to_us(now).div_euclid(DAY_US);
        let first = today - i64::from(days.max(1)) + 1;
        let opened: Vec<(i64, i64)> = on_pool!(self, p => sqlx::query_as(OPENED).bind(first * DAY_US).fetch_all(p)
            .await.ctx("counting opened tickets"))?;
        let resolved: Vec<(i64, i64)> = on_pool!(self, p => sqlx::query_as(RESOLVED).bind(first * DAY_US).fetch_all(p)
            .await.ctx("counting resolved tickets"))?;
        let get = |rows: &[(i64, i64)], d: i64| rows.iter().find(|r| r.0 == d).map_or(0, |r| r.1.max(0) as u64);
        let mut out = Vec::new();
        for d in first..=today {
            let day = DateTime::from_timestamp(d * 86_400, 0).map(|t| t.date_naive()).unwrap_or_default();
            out.push(DayCount { day, opened: get(&opened, d), resolved: get(&resolved, d) });
        }
        Ok(out)
    }

    /// Active tickets by age at `now`: `< 1d`, `1–3d`, `3–7d`, `1–2w`, `2–4w`, `≥ 4w`.
    pub async fn age_histogram(&self, now: DateTime<Utc>) -> Result<Vec<AgeBucket>, StoreError> {
        const SQL: &str = "SELECT CAST(CASE WHEN $1 - opened_us < 86400000000 THEN 0 \
                           WHEN $1 - opened_us < 259200000000 THEN 1 WHEN $1 - opened_us < 604800000000 THEN 2 \
                           WHEN $1 - opened_us < 1209600000000 THEN 3 WHEN $1 - opened_us < 2419200000000 THEN 4 \
                           ELSE 5 END AS BIGINT) AS bucket, COUNT(*) FROM tickets WHERE active = TRUE GROUP BY 1";
        let rows: Vec<(i64, i64)> =
            on_pool!(self, p => sqlx::query_as(SQL).bind(to_us(now)).fetch_all(p).await.ctx("measuring queue age"))?;
        Ok(AGE_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, (label, _))| AgeBucket {
                label,
                count: rows.iter().find(|r| r.0 == i as i64).map_or(0, |r| r.1.max(0) as u64),
            })
            .collect())
    }

    /// A value that changes whenever a cached ticket, journal entry or approval is added, changed
    /// or removed (counts, the sum of `sys_mod_count`s, the newest update): how the console tells
    /// whether a sync brought anything worth reloading the queue for, in one cheap query.
    pub async fn ticket_fingerprint(&self) -> Result<[i64; 6], StoreError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COALESCE(SUM(mod_count), 0) FROM tickets), \
                           (SELECT COALESCE(MAX(updated_us), 0) FROM tickets), (SELECT COUNT(*) FROM journal_entries), \
                           (SELECT COUNT(*) FROM approvals), (SELECT COALESCE(MAX(updated_us), 0) FROM approvals)";
        // SUM over BIGINT is NUMERIC on PostgreSQL: cast it back so both backends decode the same.
        const POSTGRES: &str = "SELECT (SELECT COUNT(*) FROM tickets), (SELECT CAST(COALESCE(SUM(mod_count), 0) AS BIGINT) \
                                FROM tickets), (SELECT COALESCE(MAX(updated_us), 0) FROM tickets), (SELECT COUNT(*) FROM \
                                journal_entries), (SELECT COUNT(*) FROM approvals), (SELECT COALESCE(MAX(updated_us), 0) \
                                FROM approvals)";
        type Six = (i64, i64, i64, i64, i64, i64);
        let r: Six = match &self.backend {
            Backend::Sqlite(p) => sqlx::query_as(SQL).fetch_one(p).await.ctx("fingerprinting the ticket cache")?,
            Backend::Postgres(p) => {
                sqlx::query_as(POSTGRES).fetch_one(p).await.ctx("fingerprinting the ticket cache")?
            }
        };
        Ok([r.0, r.1, r.2, r.3, r.4, r.5])
    }

    /// How many records of each kind the cache holds.
    pub async fn cache_counts(&self) -> Result<CacheCounts, StoreError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM journal_entries), \
                           (SELECT COUNT(*) FROM approvals), (SELECT COUNT(*) FROM okta_users), \
                           (SELECT COUNT(*) FROM okta_groups), (SELECT COUNT(*) FROM memberships), \
                           (SELECT COUNT(*) FROM okta_apps), (SELECT COUNT(*) FROM app_assignments), \
                           (SELECT COUNT(*) FROM log_events)";
        type Nine = (i64, i64, i64, i64, i64, i64, i64, i64, i64);
        let r: Nine = on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await.ctx("counting cached records"))?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(CacheCounts {
            tickets: n(r.0),
            journal_entries: n(r.1),
            approvals: n(r.2),
            users: n(r.3),
            groups: n(r.4),
            memberships: n(r.5),
            apps: n(r.6),
            app_assignments: n(r.7),
            log_events: n(r.8),
        })
    }
}

/// Fields of a queue line, in order.
const QUEUE_FIELDS: usize = 18;

/// Encodes the queue view's columns of a ticket as `LEN:TEXT` fields (LEN in bytes, decimal),
/// concatenated. Length prefixes make any remote text safe to concatenate: nothing inside a field
/// can be mistaken for a boundary.
pub(crate) fn encode_queue_line(t: &Ticket) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(256);
    let opened = to_us(t.opened_at).to_string();
    let updated = to_us(t.updated_at).to_string();
    let due = t.sla_due.map(|d| to_us(d).to_string()).unwrap_or_default();
    let priority = t.priority.to_string();
    let mod_count = t.mod_count.to_string();
    let fields: [&str; QUEUE_FIELDS] = [
        &t.sys_id,
        &t.number,
        super::cache::kind_str(t.kind),
        &priority,
        &t.state_label,
        if t.active { "1" } else { "0" },
        &t.short_description,
        &t.caller.display,
        &t.assignment_group.sys_id,
        &t.assignment_group.display,
        &t.assigned_to.sys_id,
        &t.assigned_to.display,
        &opened,
        &updated,
        &due,
        if t.sla_breached { "1" } else { "0" },
        &t.caller_email,
        &mod_count,
    ];
    for f in fields {
        let _ = write!(out, "{}:", f.len());
        out.push_str(f);
    }
    out
}

/// Reads `LEN:TEXT` fields one after another.
struct FieldCursor<'a> {
    rest: &'a str,
}

impl<'a> FieldCursor<'a> {
    fn bad() -> StoreError {
        StoreError::Corrupt("a cached queue line is malformed; run `grantdesk sync --full`".into())
    }

    fn field(&mut self) -> Result<&'a str, StoreError> {
        let colon = self.rest.find(':').ok_or_else(Self::bad)?;
        let len: usize = self.rest[..colon].parse().map_err(|_| Self::bad())?;
        let field = self.rest.get(colon + 1..colon + 1 + len).ok_or_else(Self::bad)?;
        self.rest = &self.rest[colon + 1 + len..];
        Ok(field)
    }

    fn number<T: std::str::FromStr>(&mut self) -> Result<T, StoreError> {
        self.field()?.parse().map_err(|_| Self::bad())
    }
}

/// Decodes concatenated queue lines.
fn decode_queue_lines(text: &str) -> Result<Vec<QueueRow>, StoreError> {
    let mut c = FieldCursor { rest: text };
    let mut rows = Vec::with_capacity(text.len() / 200);
    while !c.rest.is_empty() {
        let sys_id = c.field()?.to_string();
        let number = c.field()?.to_string();
        let kind = parse_kind(c.field()?)?;
        let priority = c.number::<u8>()?;
        let state_label = c.field()?.to_string();
        let active = c.field()? == "1";
        let short_description = c.field()?.to_string();
        let caller = c.field()?.to_string();
        let group_sys_id = c.field()?.to_string();
        let group = c.field()?.to_string();
        let assigned_sys_id = c.field()?.to_string();
        let assigned_to = c.field()?.to_string();
        let opened_at = from_us(c.number()?)?;
        let updated_at = from_us(c.number()?)?;
        let due = c.field()?;
        let sla_due = if due.is_empty() { None } else { Some(from_us(due.parse().map_err(|_| FieldCursor::bad())?)?) };
        let sla_breached = c.field()? == "1";
        let caller_email = c.field()?.to_string();
        let mod_count = c.number()?;
        rows.push(QueueRow {
            sys_id,
            number,
            kind,
            priority,
            state_label,
            active,
            short_description,
            caller,
            group_sys_id,
            group,
            assigned_sys_id,
            assigned_to,
            opened_at,
            updated_at,
            sla_due,
            sla_breached,
            caller_email,
            mod_count,
        });
    }
    Ok(rows)
}

/// Sorts rows as the database would for `order` (same keys and tie-breaks as `queue_page`).
fn sort_queue(rows: &mut [QueueRow], order: QueueOrder) {
    let prio = |r: &QueueRow| if r.priority == 0 { 9 } else { r.priority };
    match order {
        QueueOrder::Newest => rows.sort_unstable_by(|a, b| (b.opened_at, &b.number).cmp(&(a.opened_at, &a.number))),
        QueueOrder::Oldest => rows.sort_unstable_by(|a, b| (a.opened_at, &a.number).cmp(&(b.opened_at, &b.number))),
        QueueOrder::Priority => {
            rows.sort_unstable_by(|a, b| (prio(a), a.opened_at, &a.number).cmp(&(prio(b), b.opened_at, &b.number)))
        }
        QueueOrder::Updated => rows.sort_unstable_by(|a, b| (b.updated_at, &b.number).cmp(&(a.updated_at, &a.number))),
        QueueOrder::SlaDue => rows.sort_unstable_by(|a, b| {
            (a.sla_due.is_none(), a.sla_due, a.opened_at, &a.number).cmp(&(
                b.sla_due.is_none(),
                b.sla_due,
                b.opened_at,
                &b.number,
            ))
        }),
        QueueOrder::Number => rows.sort_unstable_by(|a, b| a.number.cmp(&b.number)),
    }
}

/// How old data synced at `synced_at` is at `now`, in words ("4 min", "2 h", "3 days").
pub fn age_in_words(synced_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now.signed_duration_since(synced_at).max(Duration::zero());
    if d < Duration::minutes(1) {
        format!("{} s", d.num_seconds())
    } else if d < Duration::hours(1) {
        format!("{} min", d.num_minutes())
    } else if d < Duration::days(2) {
        format!("{} h", d.num_hours())
    } else {
        format!("{} days", d.num_days())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Reference;

    fn ticket(i: u32, text: &str) -> Ticket {
        let at = DateTime::from_timestamp_micros(1_741_000_000_000_000 + i64::from(i) * 1_000_000).unwrap();
        Ticket {
            sys_id: format!("s{i}"),
            number: format!("INC{i:07}"),
            kind: TicketKind::Incident,
            short_description: text.into(),
            description: String::new(),
            state: "1".into(),
            state_label: "New".into(),
            priority: (i % 6) as u8,
            active: i % 2 == 0,
            caller: Reference { sys_id: "c".into(), display: "Zoë 12:34".into() },
            caller_email: String::new(),
            assignment_group: Reference::default(),
            assigned_to: Reference { sys_id: "a".into(), display: "5:hello".into() },
            category: String::new(),
            parent: Reference::default(),
            cat_item: String::new(),
            opened_at: at,
            updated_at: at,
            updated_by: String::new(),
            mod_count: 0,
            sla_due: (i % 3 == 0).then_some(at),
            sla_breached: i % 4 == 0,
            resolved_at: None,
            close_code: String::new(),
            close_notes: String::new(),
            approval: String::new(),
        }
    }

    #[test]
    fn queue_lines_round_trip_whatever_the_text_holds() {
        let texts = ["plain", "", "12:34:56", "3:abc", "ünïcödé ✓", "tab\there\nnewline\u{1b}[2J", ":::"];
        let tickets: Vec<Ticket> = texts.iter().enumerate().map(|(i, t)| ticket(i as u32, t)).collect();
        let blob: String = tickets.iter().map(encode_queue_line).collect();
        let rows = decode_queue_lines(&blob).unwrap();
        assert_eq!(rows.len(), tickets.len());
        for (r, t) in rows.iter().zip(&tickets) {
            assert_eq!(r.short_description, t.short_description);
            assert_eq!((r.caller.as_str(), r.assigned_to.as_str()), ("Zoë 12:34", "5:hello"));
            assert_eq!(
                (r.priority, r.active, r.sla_due, r.sla_breached),
                (t.priority, t.active, t.sla_due, t.sla_breached)
            );
            assert_eq!(r.opened_at, t.opened_at);
        }
        assert!(decode_queue_lines(&blob[..blob.len() - 1]).is_err(), "a cut line is an error, not a short queue");
        assert!(decode_queue_lines("").unwrap().is_empty());
    }

    #[test]
    fn rust_side_sorting_matches_the_orderings() {
        let mut rows: Vec<QueueRow> =
            (0..12).map(|i| decode_queue_lines(&encode_queue_line(&ticket(i, "x"))).unwrap().remove(0)).collect();
        sort_queue(&mut rows, QueueOrder::Newest);
        assert!(rows.windows(2).all(|w| w[0].opened_at >= w[1].opened_at));
        sort_queue(&mut rows, QueueOrder::Priority);
        let prios: Vec<u8> = rows.iter().map(|r| r.priority).collect();
        assert_eq!(prios.last(), Some(&0), "unknown priority last: {prios:?}");
        sort_queue(&mut rows, QueueOrder::SlaDue);
        assert!(rows.last().unwrap().sla_due.is_none());
        assert!(rows[0].sla_due.is_some());
    }
}
