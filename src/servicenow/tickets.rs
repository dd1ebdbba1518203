//! Ticket-level operations: the fields each ticket table needs, the mapping of wire records
//! into the console's domain types, and the calls later parts make (lists, incremental sync,
//! journal, approvals, users and groups).

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt as _};
use serde_json::{Map, Value};

use super::client::{BatchRequest, DisplayValue, ListOptions, ServiceNowClient};
use super::error::{Result, ServiceNowError};
use super::query::{Query, QueryValue};
use super::record::Record;
use crate::domain::{Approval, ApprovalState, JournalEntry, JournalKind, Reference, Ticket, TicketKind};

/// Fields every ticket table shares (from `task`).
const COMMON: &[&str] = &[
    "sys_id",
    "number",
    "short_description",
    "description",
    "state",
    "priority",
    "active",
    "assignment_group",
    "assigned_to",
    "opened_at",
    "sys_created_on",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
    "sla_due",
    "made_sla",
    "close_notes",
    "approval",
];

/// Where each kind keeps the person it is for, their email, and its parent record.
struct KindFields {
    caller: &'static str,
    caller_email: &'static str,
    parent: Option<&'static str>,
    extra: &'static [&'static str],
}

fn kind_fields(kind: TicketKind) -> KindFields {
    match kind {
        TicketKind::Incident => KindFields {
            caller: "caller_id",
            caller_email: "caller_id.email",
            parent: Some("parent_incident"),
            extra: &["category", "close_code"],
        },
        TicketKind::Request => {
            KindFields { caller: "requested_for", caller_email: "requested_for.email", parent: None, extra: &[] }
        }
        TicketKind::RequestedItem => KindFields {
            caller: "requested_for",
            caller_email: "requested_for.email",
            parent: Some("request"),
            extra: &["cat_item"],
        },
        TicketKind::CatalogTask => KindFields {
            caller: "request_item.requested_for",
            caller_email: "request_item.requested_for.email",
            parent: Some("request_item"),
            extra: &[],
        },
    }
}

/// The `sysparm_fields` a ticket of `kind` is read with.
pub fn ticket_fields(kind: TicketKind) -> Vec<String> {
    let k = kind_fields(kind);
    let mut v: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    v.push(k.caller.into());
    v.push(k.caller_email.into());
    v.extend(k.parent.map(String::from));
    v.extend(k.extra.iter().map(|s| s.to_string()));
    v
}

fn ticket_options(kind: TicketKind) -> ListOptions {
    ListOptions { fields: ticket_fields(kind), display: DisplayValue::All, ..Default::default() }
}

fn decode_err(kind: TicketKind, problem: String) -> ServiceNowError {
    ServiceNowError::Decode { method: "GET".into(), path: format!("/api/now/table/{}", kind.table()), problem }
}

/// Maps a record read with [`ticket_fields`] and display values into a [`Ticket`].
pub fn ticket_from_record(kind: TicketKind, r: &Record) -> Result<Ticket> {
    let k = kind_fields(kind);
    if r.sys_id().is_empty() {
        return Err(decode_err(kind, "a record without sys_id".into()));
    }
    let opened_at = r
        .time("opened_at")
        .or_else(|| r.time("sys_created_on"))
        .ok_or_else(|| decode_err(kind, format!("{} has no opened_at or sys_created_on", r.value("number"))))?;
    let updated_at = r.time("sys_updated_on").unwrap_or(opened_at);
    Ok(Ticket {
        sys_id: r.sys_id().to_string(),
        number: r.value("number").to_string(),
        kind,
        short_description: r.value("short_description").to_string(),
        description: r.value("description").to_string(),
        state: r.value("state").to_string(),
        state_label: r.display("state").to_string(),
        priority: r.value("priority").trim().parse().unwrap_or(0),
        active: r.flag("active"),
        caller: r.reference(k.caller),
        caller_email: r.value(k.caller_email).to_string(),
        assignment_group: r.reference("assignment_group"),
        assigned_to: r.reference("assigned_to"),
        category: r.value("category").to_string(),
        parent: k.parent.map(|p| r.reference(p)).unwrap_or_default(),
        cat_item: r.display("cat_item").to_string(),
        opened_at,
        updated_at,
        updated_by: r.value("sys_updated_by").to_string(),
        mod_count: r.number("sys_mod_count").unwrap_or(0),
        sla_due: r.time("sla_due"),
        sla_breached: r.has("made_sla") && r.value("made_sla").eq_ignore_ascii_case("false"),
        close_code: r.value("close_code").to_string(),
        close_notes: r.value("close_notes").to_string(),
        approval: r.value("approval").to_string(),
    })
}

/// Maps a `sys_journal_field` row into a [`JournalEntry`] (`None` for other elements).
pub fn journal_from_record(r: &Record) -> Option<JournalEntry> {
    let kind = match r.value("element") {
        "work_notes" => JournalKind::WorkNote,
        "comments" => JournalKind::Comment,
        _ => return None,
    };
    Some(JournalEntry {
        sys_id: r.sys_id().to_string(),
        ticket_sys_id: r.value("element_id").to_string(),
        kind,
        value: r.value("value").to_string(),
        created_on: r.time("sys_created_on")?,
        created_by: r.value("sys_created_by").to_string(),
    })
}

const APPROVAL_FIELDS: &[&str] =
    &["sys_id", "approver", "sysapproval", "document_id", "state", "sys_created_on", "sys_updated_on", "order"];

/// The list options that read approval rows the way [`approval_from_record`] expects.
pub fn approval_list_options() -> ListOptions {
    ListOptions::fields(APPROVAL_FIELDS, DisplayValue::All)
}

/// Maps a `sysapproval_approver` row into an [`Approval`]. Comments are a journal: read them with
/// [`ServiceNowClient::journal`] on the approval's sys_id.
pub fn approval_from_record(r: &Record) -> Result<Approval> {
    let created_on = r.time("sys_created_on").ok_or_else(|| ServiceNowError::Decode {
        method: "GET".into(),
        path: "/api/now/table/sysapproval_approver".into(),
        problem: format!("approval {} has no sys_created_on", r.sys_id()),
    })?;
    let mut document = r.reference("sysapproval");
    if document.sys_id.is_empty() {
        document = Reference { sys_id: r.value("document_id").to_string(), display: String::new() };
    }
    Ok(Approval {
        sys_id: r.sys_id().to_string(),
        approver: r.reference("approver"),
        document,
        state: ApprovalState::from_value(r.value("state")),
        comments: String::new(),
        created_on,
        updated_on: r.time("sys_updated_on").unwrap_or(created_on),
    })
}

/// A ServiceNow user (`sys_user`).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// sys_id.
    pub sys_id: String,
    /// Login (`user_name`).
    pub user_name: String,
    /// Display name.
    pub name: String,
    /// Email, which is the Okta login in the seeded world.
    pub email: String,
    /// Whether the account is active.
    pub active: bool,
    /// Job title.
    pub title: String,
    /// Department.
    pub department: Reference,
    /// Manager.
    pub manager: Reference,
}

const USER_FIELDS: &[&str] = &["sys_id", "user_name", "name", "email", "active", "title", "department", "manager"];

fn user_from_record(r: &Record) -> User {
    User {
        sys_id: r.sys_id().to_string(),
        user_name: r.value("user_name").to_string(),
        name: r.display("name").to_string(),
        email: r.value("email").to_string(),
        active: r.flag("active"),
        title: r.value("title").to_string(),
        department: r.reference("department"),
        manager: r.reference("manager"),
    }
}

fn kind_of_number(number: &str) -> Result<TicketKind> {
    TicketKind::from_number(number).ok_or_else(|| {
        ServiceNowError::Setup(format!("`{number}` is not a ticket number (INC…, REQ…, RITM… or SCTASK…)"))
    })
}

impl ServiceNowClient {
    /// Tickets of `kind` matching `query` (all pages, at most `limit`).
    pub async fn tickets(&self, kind: TicketKind, query: &Query, limit: Option<usize>) -> Result<Vec<Ticket>> {
        let opts = ListOptions { limit, ..ticket_options(kind) };
        let records = self.list(kind.table(), query, &opts).await?;
        records.iter().map(|r| ticket_from_record(kind, r)).collect()
    }

    /// Tickets of `kind` matching `query`, a page at a time as the stream is read: the form a
    /// sync of 100,000 tickets uses to store each page before fetching the next.
    pub fn ticket_pages<'a>(
        &'a self,
        kind: TicketKind,
        query: &'a Query,
        opts: &'a ListOptions,
    ) -> impl Stream<Item = Result<Vec<Ticket>>> + 'a {
        self.pages(kind.table(), query, opts).map(move |page| {
            let page = page?;
            page.records.iter().map(|r| ticket_from_record(kind, r)).collect::<Result<Vec<_>>>()
        })
    }

    /// The options [`ServiceNowClient::ticket_pages`] needs for `kind`, with `page_size`.
    pub fn ticket_list_options(kind: TicketKind, page_size: usize) -> ListOptions {
        ListOptions { page_size, ..ticket_options(kind) }
    }

    /// The query of an incremental sync: records updated at or after `since`, oldest first, so a
    /// sync can store the last `sys_updated_on` it saw as its next watermark.
    pub fn updated_since(since: DateTime<Utc>) -> Query {
        Query::new().ge("sys_updated_on", since).order_by("sys_updated_on")
    }

    /// One ticket by sys_id.
    pub async fn ticket(&self, kind: TicketKind, sys_id: &str) -> Result<Option<Ticket>> {
        match self.get(kind.table(), sys_id, &ticket_options(kind)).await? {
            Some(r) => Ok(Some(ticket_from_record(kind, &r)?)),
            None => Ok(None),
        }
    }

    /// One ticket by number (`INC0010001`); the kind follows from the prefix.
    pub async fn ticket_by_number(&self, number: &str) -> Result<Option<Ticket>> {
        let kind = kind_of_number(number)?;
        let q = Query::new().eq("number", number.trim().to_ascii_uppercase());
        Ok(self.tickets(kind, &q, Some(1)).await?.into_iter().next())
    }

    /// Changes fields of a ticket (`PATCH`, only those sent) and returns it as updated; compare
    /// its `mod_count` with the one you read to notice an edit made in between.
    pub async fn update_ticket(&self, kind: TicketKind, sys_id: &str, fields: &[(&str, &str)]) -> Result<Ticket> {
        let body: Map<String, Value> =
            fields.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        let r = self.update(kind.table(), sys_id, &body, &ticket_options(kind)).await?;
        ticket_from_record(kind, &r)
    }

    /// Adds a work note or a comment to a ticket (it appends; nothing is overwritten).
    pub async fn add_journal(
        &self,
        kind: TicketKind,
        sys_id: &str,
        journal: JournalKind,
        text: &str,
    ) -> Result<Ticket> {
        self.update_ticket(kind, sys_id, &[(journal.field(), text)]).await
    }

    /// Creates a ticket (`POST`), e.g. a requested item linked to a request.
    pub async fn create_ticket(&self, kind: TicketKind, fields: &[(&str, &str)]) -> Result<Ticket> {
        let body: Map<String, Value> =
            fields.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        let r = self.create(kind.table(), &body, &ticket_options(kind)).await?;
        ticket_from_record(kind, &r)
    }

    /// The journal (work notes and comments) of any record, newest first.
    pub async fn journal(&self, record_sys_id: &str) -> Result<Vec<JournalEntry>> {
        let q = Query::new()
            .eq("element_id", record_sys_id)
            .one_of("element", ["work_notes", "comments"])
            .order_by_desc("sys_created_on");
        let opts = ListOptions::fields(
            &["sys_id", "element", "element_id", "value", "sys_created_on", "sys_created_by"],
            DisplayValue::Value,
        );
        Ok(self.list("sys_journal_field", &q, &opts).await?.iter().filter_map(journal_from_record).collect())
    }

    /// Journal entries of tickets written at or after `since`, oldest first: how a sync keeps
    /// its journal cache current without one request per ticket.
    pub async fn journal_since(&self, since: DateTime<Utc>) -> Result<Vec<JournalEntry>> {
        let tables: Vec<&str> = TicketKind::ALL.iter().map(|k| k.table()).collect();
        let q = Query::new()
            .ge("sys_created_on", since)
            .one_of("name", tables)
            .one_of("element", ["work_notes", "comments"])
            .order_by("sys_created_on");
        let opts = ListOptions {
            page_size: 2000,
            ..ListOptions::fields(
                &["sys_id", "element", "element_id", "value", "sys_created_on", "sys_created_by"],
                DisplayValue::Value,
            )
        };
        Ok(self.list("sys_journal_field", &q, &opts).await?.iter().filter_map(journal_from_record).collect())
    }

    /// The sys_ids of every ticket of `kind`: what a full sync compares with its cache to notice
    /// deleted records (the Table API does not report deletions).
    pub async fn ticket_ids(&self, kind: TicketKind) -> Result<Vec<String>> {
        let opts = ListOptions { page_size: 10_000, ..ListOptions::fields(&["sys_id"], DisplayValue::Value) };
        let rows = self.list(kind.table(), &Query::new().order_by("sys_id"), &opts).await?;
        Ok(rows.iter().map(|r| r.sys_id().to_string()).collect())
    }

    /// Approval rows matching `query`.
    pub async fn approvals(&self, query: &Query) -> Result<Vec<Approval>> {
        let opts = ListOptions::fields(APPROVAL_FIELDS, DisplayValue::All);
        self.list("sysapproval_approver", query, &opts).await?.iter().map(approval_from_record).collect()
    }

    /// The approval rows of a ticket (one per approver), in step order.
    pub async fn approvals_for(&self, document_sys_id: &str) -> Result<Vec<Approval>> {
        self.approvals(&Query::new().eq("sysapproval", document_sys_id).order_by("order").order_by("sys_created_on"))
            .await
    }

    /// The approvals waiting on the signed-in user.
    pub async fn my_pending_approvals(&self) -> Result<Vec<Approval>> {
        self.approvals(
            &Query::new().eq("approver", QueryValue::me()).eq("state", "requested").order_by("sys_created_on"),
        )
        .await
    }

    /// Records an approver's decision with a comment; returns the approval as updated.
    pub async fn decide_approval(
        &self,
        approval_sys_id: &str,
        state: &ApprovalState,
        comments: &str,
    ) -> Result<Approval> {
        let mut body = Map::new();
        body.insert("state".into(), Value::String(state.value().to_string()));
        if !comments.trim().is_empty() {
            body.insert("comments".into(), Value::String(comments.to_string()));
        }
        let opts = ListOptions::fields(APPROVAL_FIELDS, DisplayValue::All);
        let r = self.update("sysapproval_approver", approval_sys_id, &body, &opts).await?;
        let mut a = approval_from_record(&r)?;
        a.comments = comments.to_string();
        Ok(a)
    }

    /// Records several decisions in one Batch API call (bulk approval): one result per
    /// decision, in order; a refused decision does not stop the others.
    pub async fn decide_approvals(&self, decisions: &[(&str, ApprovalState, &str)]) -> Result<Vec<Result<Approval>>> {
        let opts = ListOptions::fields(APPROVAL_FIELDS, DisplayValue::All);
        let requests: Vec<BatchRequest> = decisions
            .iter()
            .enumerate()
            .map(|(i, (sys_id, state, comments))| {
                let mut body = Map::new();
                body.insert("state".into(), Value::String(state.value().to_string()));
                if !comments.trim().is_empty() {
                    body.insert("comments".into(), Value::String(comments.to_string()));
                }
                BatchRequest::update(i.to_string(), "sysapproval_approver", sys_id, body, &opts)
            })
            .collect();
        let mut replies = self.batch(&requests).await?;
        replies.sort_by_key(|r| r.id.parse::<usize>().unwrap_or(usize::MAX));
        Ok(replies
            .into_iter()
            .zip(decisions)
            .map(|(reply, (sys_id, _, comments))| {
                let path = format!("/api/now/table/sysapproval_approver/{sys_id}");
                let r: Record = reply.into_result("PATCH", &path)?;
                let mut a = approval_from_record(&r)?;
                a.comments = comments.to_string();
                Ok(a)
            })
            .collect())
    }

    async fn user_where(&self, query: Query) -> Result<Option<User>> {
        let opts = ListOptions { limit: Some(1), ..ListOptions::fields(USER_FIELDS, DisplayValue::All) };
        Ok(self.list("sys_user", &query, &opts).await?.first().map(user_from_record))
    }

    /// A user by login.
    pub async fn user_by_name(&self, user_name: &str) -> Result<Option<User>> {
        self.user_where(Query::new().eq("user_name", user_name)).await
    }

    /// A user by email (the Okta login of the same person).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.user_where(Query::new().eq("email", email)).await
    }

    /// Who the instance says the client is signed in as (works for every grant).
    pub async fn current_user(&self) -> Result<User> {
        self.user_where(Query::new().eq("sys_id", QueryValue::me())).await?.ok_or_else(|| ServiceNowError::Decode {
            method: "GET".into(),
            path: "/api/now/table/sys_user".into(),
            problem: "the signed-in user is not readable in sys_user".into(),
        })
    }

    /// The assignment groups a user belongs to (`sys_user_grmember`).
    pub async fn groups_of(&self, user_sys_id: &str) -> Result<Vec<Reference>> {
        let opts = ListOptions::fields(&["group"], DisplayValue::All);
        let rows = self.list("sys_user_grmember", &Query::new().eq("user", user_sys_id), &opts).await?;
        Ok(rows.iter().map(|r| r.reference("group")).filter(|g| !g.sys_id.is_empty()).collect())
    }

    /// How many tickets of `kind` match `query` (Aggregate API, no records transferred).
    pub async fn count_tickets(&self, kind: TicketKind, query: &Query) -> Result<u64> {
        self.count(kind.table(), query).await
    }
}
