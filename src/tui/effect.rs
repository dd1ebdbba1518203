//! The effect contract: everything the console asks of the rest of grantdesk, and the shapes of
//! the answers.
//!
//! The console never does I/O. [`crate::tui::update`] turns an [`Action`] into state changes plus
//! a list of [`Effect`]s; the runtime ([`crate::tui::run`]) hands each effect to the
//! [`EffectHandler`] supplied by its caller, on its own tokio task, and feeds every [`Action`] the
//! handler sends back through [`Reply`] into `update` again. Input is never blocked by an effect.
//!
//! # What a handler must do, per effect
//!
//! | effect | answer with |
//! |---|---|
//! | [`Effect::LoadQueue`] | [`Action::QueueLoaded`] once (`Cache` with the cache's age, or `Live`) or [`Action::QueueLoadFailed`] |
//! | [`Effect::PreviewQueue`] | [`Action::QueuePreview`] once, or nothing (the [`Effect::LoadQueue`] beside it answers in full) |
//! | [`Effect::LoadTicket`] | [`Action::TicketLoaded`] (cache, then live) or [`Action::TicketLoadFailed`] |
//! | [`Effect::LoadUser`] | [`Action::UserLoaded`] (cache, then live) or [`Action::UserLoadFailed`] |
//! | [`Effect::LoadGroup`] | [`Action::GroupLoaded`] or [`Action::GroupLoadFailed`] |
//! | [`Effect::LoadAudit`] | [`Action::AuditLoaded`] or [`Action::AuditLoadFailed`] |
//! | [`Effect::VerifyAudit`] | [`Action::AuditVerified`] |
//! | [`Effect::LoadDashboard`] | [`Action::DashboardLoaded`] (silence is fine if it fails) |
//! | [`Effect::Sync`] | optionally [`Action::TicketsSynced`] as soon as tickets are cached, then [`Action::SyncFinished`] or [`Action::SyncFailed`] |
//! | [`Effect::LoadAccess`] | [`Action::AccessLoaded`] or [`Action::AccessLoadFailed`] |
//! | [`Effect::PreviewRequest`] | [`Action::PreviewLoaded`] or [`Action::PreviewFailed`] |
//! | [`Effect::BulkDecide`] | one [`Action::BulkItemDone`] per id, in any order |
//! | [`Effect::SwitchOperator`] | [`Action::OperatorSwitched`] or [`Action::OperatorSwitchFailed`] |
//! | [`Effect::RunCommand`] | optionally [`Action::CommandQueued`] once durable, then exactly one of [`Action::CommandSucceeded`] / [`Action::CommandFailed`] with the same [`CommandId`] |
//!
//! Answers may come in any order and at any time; the console drops answers for things it no
//! longer shows. A ticket, user or group load may be answered twice — first from the local cache
//! ([`DataSource::Cache`]), then from the service ([`DataSource::Live`]) — which is how the
//! console shows the caller's Okta account instantly and refreshes it a moment later.
//!
//! Every [`Command`] is a change an operator asked for. The engine must write it durably (outbox
//! and audit log) before applying it, check the remote state first (a ticket's `mod_count` moved
//! under the operator is a failure the operator must see, not something to overwrite), and report
//! the outcome. A failed command stays retryable in the console: the same `Command` may be sent
//! again with a new [`CommandId`].
//!
//! Strings in these types come from ServiceNow and Okta and may hold control characters; the
//! console sanitises everything before it reaches the screen, so handlers pass text through as is.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::request::{AccessRequest, Verdict};
use crate::domain::{App, Approval, Group, JournalEntry, JournalKind, LogEvent, OktaUser, Ticket, TicketKind};
use crate::tui::action::Action;
use crate::tui::state::SortKey;

/// A request from the console to the rest of grantdesk. See the module documentation for the
/// answer each one expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The rows of a saved view of the queue, all of them (the console virtualises the list).
    LoadQueue {
        /// Which saved view.
        view: SavedView,
    },
    /// The first `rows` rows of a saved view in the console's sort, with the view's size, for the
    /// frame shown while the whole view loads (asked beside [`Effect::LoadQueue`] when the
    /// console has no rows to show yet).
    PreviewQueue {
        /// Which saved view.
        view: SavedView,
        /// The console's sort column.
        sort: SortKey,
        /// Reversed.
        descending: bool,
        /// How many rows.
        rows: usize,
    },
    /// One ticket with its journal and approvals.
    LoadTicket {
        /// The ticket's number (`INC0010042`); always known.
        number: String,
        /// Its sys_id when known (from the queue); `None` when the operator typed `:ticket NUMBER`.
        sys_id: Option<String>,
    },
    /// One Okta user with groups, apps and recent System Log events.
    LoadUser {
        /// The Okta login (an email in our world), or an Okta user id.
        login: String,
    },
    /// One Okta group with its members and the apps assigned to it.
    LoadGroup {
        /// The group's name (`profile.name`), or its Okta id.
        name: String,
    },
    /// The audit log, newest first.
    LoadAudit {
        /// What to load.
        filter: AuditFilter,
    },
    /// Recompute the audit log's hash chain (`grantdesk audit verify`).
    VerifyAudit,
    /// Figures for the dashboard.
    LoadDashboard,
    /// Pull changes from ServiceNow and Okta into the cache now: asked by the operator (`:sync`)
    /// or by the console's own clock ([`crate::tui::ConsoleConfig::sync_every`]).
    Sync,
    /// One of the access-request lists (inbox, expiry radar, orphans, catalog).
    LoadAccess(AccessList),
    /// What raising a request would do: what approval grants and who would be asked.
    PreviewRequest(RequestDraft),
    /// Decide many requests with one comment, a few at a time; one
    /// [`Action::BulkItemDone`] per request.
    BulkDecide {
        /// Identifies the answers of this run.
        batch: u64,
        /// Request ids.
        ids: Vec<String>,
        /// Approve or deny.
        verdict: Verdict,
        /// The comment recorded with each decision.
        comment: String,
    },
    /// Take another persona's seat (`:as LOGIN`, `grantdesk demo` only).
    SwitchOperator {
        /// ServiceNow user name or email.
        login: String,
    },
    /// Apply a change the operator asked for (through the outbox and the audit log).
    RunCommand {
        /// Identifies the answer.
        id: CommandId,
        /// What to do.
        command: Command,
    },
}

/// Identifies one run of a [`Command`], so its outcome can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u64);

/// A ticket as the operator saw it when they acted: enough for the engine to find it and to
/// notice that someone else changed it in the meantime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    /// sys_id.
    pub sys_id: String,
    /// Number, for messages and the audit log.
    pub number: String,
    /// Which table.
    pub kind: TicketKind,
    /// `sys_mod_count` the operator saw; the engine refuses to apply over a newer one.
    pub mod_count: u64,
}

/// An Okta user the operator acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// Okta id (`00u…`).
    pub id: String,
    /// Login, for messages and the audit log.
    pub login: String,
}

/// A ticket state the operator may move a ticket to (`state` choice value and its label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChoice {
    /// Stored value (`"2"`).
    pub value: String,
    /// Label (`In Progress`).
    pub label: String,
}

/// A change an operator asked for. Every variant changes something remote; none is offered in
/// read-only mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Assign the ticket to the operator.
    AssignToMe {
        /// The ticket.
        ticket: TicketRef,
    },
    /// Move the ticket to another state (not Resolved: that is [`Command::Resolve`]).
    ChangeState {
        /// The ticket.
        ticket: TicketRef,
        /// The new state.
        state: StateChoice,
    },
    /// Append a work note or a comment to the ticket's journal.
    AddJournal {
        /// The ticket.
        ticket: TicketRef,
        /// Work note (agents only) or comment (visible to the caller).
        kind: JournalKind,
        /// The text, as typed (may span lines).
        text: String,
    },
    /// Resolve the ticket with a close code and notes.
    Resolve {
        /// The ticket.
        ticket: TicketRef,
        /// Resolution code (`Solution provided`…).
        close_code: String,
        /// Close notes.
        close_notes: String,
    },
    /// Unlock a LOCKED_OUT Okta user.
    UnlockUser {
        /// The user.
        user: UserRef,
    },
    /// Start a password reset for an Okta user (Okta emails them the link).
    ResetPassword {
        /// The user.
        user: UserRef,
    },
    /// Suspend an Okta user (they can no longer sign in).
    SuspendUser {
        /// The user.
        user: UserRef,
    },
    /// Lift a suspension.
    UnsuspendUser {
        /// The user.
        user: UserRef,
    },
    /// Approve or deny an access request (the policy is checked by the engine).
    Decide {
        /// Request id (`AR-…`).
        id: String,
        /// Approve or deny.
        verdict: Verdict,
        /// The approver's comment.
        comment: String,
    },
    /// Raise an access request (stored with its audit event; its route work queued).
    RaiseRequest(RequestDraft),
    /// Raise an extension of a granted request (a new request through the same approvals).
    Extend {
        /// The granted request's id.
        id: String,
        /// Who has the access and what, for messages.
        what: String,
    },
}

/// An access request as the operator filled it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDraft {
    /// The ticket it is raised from, if any.
    pub ticket: Option<String>,
    /// For whom (Okta login).
    pub requested_for: String,
    /// Catalog entry name.
    pub entry: String,
    /// How long (`None`: the entry's maximum, or permanent).
    pub duration: Option<std::time::Duration>,
    /// Why.
    pub justification: String,
}

/// Which access-request list to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessList {
    /// Requests the operator may decide now, oldest first.
    Inbox,
    /// Granted requests with an expiry, soonest first.
    Expiring,
    /// Members of catalog groups with no approved request on record.
    Orphans,
    /// What can be requested.
    Catalog,
}

impl AccessList {
    /// What it is called in messages.
    pub fn title(self) -> &'static str {
        match self {
            AccessList::Inbox => "the approvals inbox",
            AccessList::Expiring => "the expiry radar",
            AccessList::Orphans => "the orphan grants",
            AccessList::Catalog => "the access catalog",
        }
    }
}

/// A loaded access-request list.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessData {
    /// Requests the operator may decide, oldest first.
    Inbox {
        /// Whose inbox (ServiceNow user name): after `:as`, another seat's late answer is dropped.
        operator: String,
        /// The requests.
        rows: Vec<RequestRow>,
    },
    /// Granted requests with an expiry, soonest first.
    Expiring(Vec<RequestRow>),
    /// Orphan grants.
    Orphans(Vec<OrphanRow>),
    /// Catalog entries.
    Catalog(Vec<CatalogChoice>),
}

/// An access request with its blast radius.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// The request (steps, decisions, expiry…).
    pub request: AccessRequest,
    /// What approving it grants: the group's apps, or the app.
    pub grants: Vec<String>,
}

/// A member of a catalog group with no approved request on record.
#[derive(Debug, Clone, PartialEq)]
pub struct OrphanRow {
    /// Okta login.
    pub user: String,
    /// The catalog entry.
    pub entry: String,
    /// The group.
    pub group: String,
    /// When the membership appeared in the System Log, if it did.
    pub since: Option<DateTime<Utc>>,
    /// Who added them, per the System Log.
    pub added_by: String,
}

/// A catalog entry as the request form offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogChoice {
    /// Entry name.
    pub name: String,
    /// What it grants (`group aws-prod-readonly`).
    pub target: String,
    /// Description.
    pub description: String,
    /// Longest grant (`None`: permanent).
    pub max_duration: Option<std::time::Duration>,
    /// A justification is required.
    pub justification_required: bool,
}

/// What raising a request would do.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewInfo {
    /// The draft it answers.
    pub draft: RequestDraft,
    /// What approval would grant (membership, the group's apps).
    pub grants: Vec<String>,
    /// Per step: the rule and who would be asked.
    pub steps: Vec<(String, Vec<String>)>,
}

/// How one item of a bulk decision ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOutcome {
    /// Decided (the engine's summary).
    Done(String),
    /// Refused by policy, with the reason.
    Refused(String),
    /// Failed; retryable.
    Failed(String),
}

impl Command {
    /// What the command does, in a few words, for notifications and confirmations
    /// (`add a work note to INC0010001`).
    pub fn describe(&self) -> String {
        match self {
            Command::AssignToMe { ticket } => format!("assign {} to you", ticket.number),
            Command::ChangeState { ticket, state } => format!("set {} to {}", ticket.number, state.label),
            Command::AddJournal { ticket, kind: JournalKind::WorkNote, .. } => {
                format!("add a work note to {}", ticket.number)
            }
            Command::AddJournal { ticket, kind: JournalKind::Comment, .. } => {
                format!("add a comment to {}", ticket.number)
            }
            Command::Resolve { ticket, close_code, .. } => format!("resolve {} ({close_code})", ticket.number),
            Command::UnlockUser { user } => format!("unlock {}", user.login),
            Command::ResetPassword { user } => format!("reset the password of {}", user.login),
            Command::SuspendUser { user } => format!("suspend {}", user.login),
            Command::UnsuspendUser { user } => format!("unsuspend {}", user.login),
            Command::Decide { id, verdict: Verdict::Approve, .. } => format!("approve {id}"),
            Command::Decide { id, verdict: Verdict::Deny, .. } => format!("deny {id}"),
            Command::RaiseRequest(d) => format!("request {} for {}", d.entry, d.requested_for),
            Command::Extend { id, what } => format!("extend {id} ({what})"),
        }
    }

    /// The ticket the command changes, if any.
    pub fn ticket(&self) -> Option<&TicketRef> {
        match self {
            Command::AssignToMe { ticket }
            | Command::ChangeState { ticket, .. }
            | Command::AddJournal { ticket, .. }
            | Command::Resolve { ticket, .. } => Some(ticket),
            _ => None,
        }
    }

    /// The Okta user the command changes, if any.
    pub fn user(&self) -> Option<&UserRef> {
        match self {
            Command::UnlockUser { user }
            | Command::ResetPassword { user }
            | Command::SuspendUser { user }
            | Command::UnsuspendUser { user } => Some(user),
            _ => None,
        }
    }
}

/// The saved views of the queue. Which tickets belong to each is the handler's business (the
/// store answers with SQL); [`SavedView::matches`] states the intended meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SavedView {
    /// Active tickets assigned to the operator.
    MyOpen,
    /// Active tickets of the operator's assignment groups that nobody is assigned to.
    UnassignedInMyGroups,
    /// Active requests and requested items (access requests among them).
    AccessRequests,
    /// Active tickets past their SLA.
    BreachedSla,
    /// Every active ticket.
    AllOpen,
}

impl SavedView {
    /// Every saved view, in the order of their number keys.
    pub const ALL: [SavedView; 5] = [
        SavedView::MyOpen,
        SavedView::UnassignedInMyGroups,
        SavedView::AccessRequests,
        SavedView::BreachedSla,
        SavedView::AllOpen,
    ];

    /// The name people read (`my open`).
    pub fn title(self) -> &'static str {
        match self {
            SavedView::MyOpen => "my open",
            SavedView::UnassignedInMyGroups => "unassigned in my groups",
            SavedView::AccessRequests => "access requests",
            SavedView::BreachedSla => "breached SLA",
            SavedView::AllOpen => "all open",
        }
    }

    /// The name typed after `:view` (`my-open`).
    pub fn slug(self) -> &'static str {
        match self {
            SavedView::MyOpen => "my-open",
            SavedView::UnassignedInMyGroups => "unassigned",
            SavedView::AccessRequests => "access-requests",
            SavedView::BreachedSla => "breached",
            SavedView::AllOpen => "all",
        }
    }

    /// Parses a view name as typed: the slug, the title, or an unambiguous prefix of either.
    pub fn parse(name: &str) -> Option<SavedView> {
        let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        if n.is_empty() {
            return None;
        }
        let norm = |s: &str| s.to_ascii_lowercase().replace(' ', "-");
        if let Some(v) = SavedView::ALL.iter().find(|v| v.slug() == n || norm(v.title()) == n) {
            return Some(*v);
        }
        let mut hits = SavedView::ALL.iter().filter(|v| v.slug().starts_with(&n) || norm(v.title()).starts_with(&n));
        match (hits.next(), hits.next()) {
            (Some(v), None) => Some(*v),
            _ => None,
        }
    }

    /// Whether a row belongs to the view for an operator (user name and assignment group names).
    /// The fixture uses it; the store may implement the same meaning in SQL.
    pub fn matches(self, row: &QueueRow, operator: &str, operator_groups: &[String]) -> bool {
        if !row.active {
            return false;
        }
        match self {
            SavedView::MyOpen => row.assigned_to_user == operator,
            SavedView::UnassignedInMyGroups => {
                row.assigned_to.is_empty() && operator_groups.contains(&row.assignment_group)
            }
            SavedView::AccessRequests => matches!(row.kind, TicketKind::Request | TicketKind::RequestedItem),
            SavedView::BreachedSla => row.sla_breached,
            SavedView::AllOpen => true,
        }
    }
}

/// One line of the queue: only what the table shows, sorts and filters on, so 100,000 of them
/// stay small. Built from a [`Ticket`] with [`QueueRow::from_ticket`], or straight from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// sys_id.
    pub sys_id: String,
    /// Number (`INC0010042`).
    pub number: String,
    /// Table.
    pub kind: TicketKind,
    /// 1 (critical) … 5 (planning); 0 unknown.
    pub priority: u8,
    /// State label (`In Progress`).
    pub state: String,
    /// Still active.
    pub active: bool,
    /// `opened_at`.
    pub opened_at: DateTime<Utc>,
    /// SLA due time, if an SLA applies.
    pub sla_due: Option<DateTime<Utc>>,
    /// SLA already breached.
    pub sla_breached: bool,
    /// Caller's display name.
    pub caller: String,
    /// Caller's email, their Okta login; empty if unknown.
    pub caller_login: String,
    /// Assignment group's name.
    pub assignment_group: String,
    /// Assignee's display name; empty when unassigned.
    pub assigned_to: String,
    /// Assignee's user name (`dana.desk`); empty when unassigned.
    pub assigned_to_user: String,
    /// Summary.
    pub short_description: String,
    /// `sys_mod_count` when read.
    pub mod_count: u64,
}

impl QueueRow {
    /// The queue row of a ticket. `assigned_to_user` is the assignee's user name, which a
    /// [`Ticket`] does not carry (its reference holds the display name only).
    pub fn from_ticket(t: &Ticket, assigned_to_user: &str) -> QueueRow {
        QueueRow {
            sys_id: t.sys_id.clone(),
            number: t.number.clone(),
            kind: t.kind,
            priority: t.priority,
            state: t.state_label.clone(),
            active: t.active,
            opened_at: t.opened_at,
            sla_due: t.sla_due,
            sla_breached: t.sla_breached,
            caller: t.caller.display.clone(),
            caller_login: t.caller_email.clone(),
            assignment_group: t.assignment_group.display.clone(),
            assigned_to: t.assigned_to.display.clone(),
            assigned_to_user: assigned_to_user.to_string(),
            short_description: t.short_description.clone(),
            mod_count: t.mod_count,
        }
    }

    /// The reference commands carry for this row.
    pub fn ticket_ref(&self) -> TicketRef {
        TicketRef {
            sys_id: self.sys_id.clone(),
            number: self.number.clone(),
            kind: self.kind,
            mod_count: self.mod_count,
        }
    }
}

/// Where loaded data came from: the console marks cached data with its age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// The local cache, as of the last sync.
    Cache {
        /// When the cache last had it from the service.
        as_of: DateTime<Utc>,
    },
    /// Fresh from the service.
    Live,
}

/// A ticket with what the ticket view shows beside its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// Journal (work notes and comments), any order: the console shows newest first.
    pub journal: Vec<JournalEntry>,
    /// Approval rows of the ticket.
    pub approvals: Vec<Approval>,
}

/// An Okta user with what the console shows beside the profile.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDetail {
    /// The user.
    pub user: OktaUser,
    /// The manager's display name, if known.
    pub manager: Option<String>,
    /// Groups the user belongs to.
    pub groups: Vec<Group>,
    /// Apps assigned to the user (directly or through a group).
    pub apps: Vec<App>,
    /// Recent System Log events about the user, any order: shown newest first.
    pub events: Vec<LogEvent>,
}

/// An Okta group with its members and apps.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDetail {
    /// The group.
    pub group: Group,
    /// Members (all of them; the list is virtualised).
    pub members: Vec<OktaUser>,
    /// Apps assigned to the group.
    pub apps: Vec<App>,
}

/// What part of the audit log to load.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Free text matched by the store against operator, action, subject, object and ticket;
    /// empty for everything.
    pub text: String,
    /// At most this many events, newest first.
    pub limit: usize,
}

/// One event of the audit log, as the audit view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Sequence number in the chain.
    pub seq: u64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Who acted (a ServiceNow user name).
    pub operator: String,
    /// What was done (`ticket.work_note`, `okta.user.unlock`…).
    pub action: String,
    /// The Okta user concerned, if any.
    pub subject: String,
    /// The group, app or ticket acted on, if any.
    pub object: String,
    /// The ticket number the action belongs to, if any.
    pub ticket: String,
    /// `intent`, `success`, `failure`, `refused`…
    pub outcome: String,
    /// Further details (JSON text).
    pub details: String,
}

/// Result of recomputing the audit hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuditVerify {
    /// Not checked in this session.
    #[default]
    NotChecked,
    /// The chain is intact.
    Intact {
        /// Events checked.
        events: u64,
    },
    /// The chain is broken.
    Broken {
        /// First broken sequence number.
        seq: u64,
        /// What is wrong there (changed, missing, inserted, reordered).
        problem: String,
    },
}

/// Tickets opened and resolved on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Tickets opened that day.
    pub opened: u64,
    /// Tickets resolved that day.
    pub resolved: u64,
}

/// Figures for the dashboard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dashboard {
    /// Active tickets.
    pub open: u64,
    /// Active tickets nobody is assigned to.
    pub unassigned: u64,
    /// Active tickets past their SLA.
    pub breached: u64,
    /// Active tickets by age: (bucket label, count), youngest first (`<1d`, `1-3d`, …).
    pub age_histogram: Vec<(String, u64)>,
    /// Opened and resolved per day, oldest first (the last few weeks).
    pub per_day: Vec<DayCount>,
}

/// The way back into the console for a handler: every answer is an [`Action`] sent here.
#[derive(Debug, Clone)]
pub struct Reply {
    tx: tokio::sync::mpsc::Sender<Action>,
}

impl Reply {
    /// Wraps the sending end of the console's action channel.
    pub fn new(tx: tokio::sync::mpsc::Sender<Action>) -> Self {
        Reply { tx }
    }

    /// Sends an answer; false when the console has quit (the handler may stop working then).
    pub async fn send(&self, action: Action) -> bool {
        self.tx.send(action).await.is_ok()
    }

    /// Sends an answer from code that cannot await (a blocking thread); false when the console
    /// has quit or its queue is full.
    pub fn try_send(&self, action: Action) -> bool {
        self.tx.try_send(action).is_ok()
    }
}

/// What the caller of [`crate::tui::run`] supplies to carry out effects. The runtime calls
/// `handle` on a fresh tokio task for every effect, so a slow service never blocks the console or
/// another effect; the handler must therefore cope with concurrent calls (`&self`).
pub trait EffectHandler: Send + Sync + 'static {
    /// Carries out one effect and sends its answers (see the module documentation) to `reply`.
    fn handle(&self, effect: Effect, reply: Reply) -> impl Future<Output = ()> + Send;
}

/// The ticket states the console offers in "change state" for a kind of ticket, per the
/// reference (incident: 1 New, 2 In Progress, 3 On Hold, 8 Canceled; task-like tables: 1 Open,
/// 2 Work in Progress, -5 Pending, 4 Closed Incomplete). Resolving goes through the resolve form.
pub fn state_choices(kind: TicketKind) -> Vec<StateChoice> {
    let pairs: &[(&str, &str)] = match kind {
        TicketKind::Incident => &[("1", "New"), ("2", "In Progress"), ("3", "On Hold"), ("8", "Canceled")],
        _ => &[("1", "Open"), ("2", "Work in Progress"), ("-5", "Pending"), ("4", "Closed Incomplete")],
    };
    pairs.iter().map(|(v, l)| StateChoice { value: (*v).to_string(), label: (*l).to_string() }).collect()
}

/// Whether moving to a state ends the ticket's life without resolving it (asks for confirmation).
pub fn is_terminal_state(choice: &StateChoice) -> bool {
    matches!(choice.label.as_str(), "Canceled" | "Closed Incomplete")
}
