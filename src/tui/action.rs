//! Everything that can happen to the console, as one enum: terminal events, what the operator
//! asks for (imperative: `OpenTicket`, `AssignToMe`), and the answers to effects (past tense:
//! `TicketsLoaded`, `CommandFailed`). [`crate::tui::update`] is the only code that acts on them.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::tui::effect::{
    AccessData, AccessList, AuditFilter, AuditRow, AuditVerify, BulkOutcome, CommandId, Dashboard, DataSource,
    GroupDetail, PreviewInfo, QueueRow, SavedView, TicketDetail, UserDetail,
};

/// One thing that happened. The unit variants in the middle block are also the vocabulary of the
/// keymap (see [`crate::tui::keymap`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    // ---- from the terminal and the runtime
    /// The console just started.
    Start,
    /// A key was pressed.
    Key(KeyEvent),
    /// The mouse did something (only when mouse support is on).
    Mouse(MouseEvent),
    /// Text was pasted (bracketed paste).
    Paste(String),
    /// The terminal changed size.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// The clock moved on (ages, SLA countdowns and notification expiry depend on it).
    Tick(DateTime<Utc>),
    /// Search the next chunk of a large list for the filter (sent by the runtime while
    /// [`crate::tui::State::searching`] and no input is waiting).
    ContinueSearch,

    // ---- what the operator asks for
    /// Leave the console.
    Quit,
    /// Show the keys of the current view.
    ShowHelp,
    /// Open the `:` command line.
    OpenCommandLine,
    /// Start typing a `/` filter for the current list.
    OpenFilter,
    /// Close what is open, or go back one view (Esc).
    Back,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Move up one line.
    Up,
    /// Move down one line.
    Down,
    /// Go to the first line.
    Top,
    /// Go to the last line.
    Bottom,
    /// Move up one page.
    PageUp,
    /// Move down one page.
    PageDown,
    /// Open what is selected.
    Open,
    /// Mark or unmark the selected line.
    ToggleMark,
    /// Start or finish marking a range.
    MarkRange,
    /// Drop every mark.
    ClearMarks,
    /// Switch the queue to a saved view.
    ShowView(SavedView),
    /// Sort the queue by the next column.
    CycleSort,
    /// Reverse the queue's sort order.
    ReverseSort,
    /// Assign the marked tickets (or the selected one) to the operator.
    AssignToMe,
    /// Move the ticket to another state.
    ChangeState,
    /// Write a work note on the ticket.
    AddWorkNote,
    /// Write a comment (visible to the caller) on the ticket.
    AddComment,
    /// Resolve the ticket (close code and notes).
    Resolve,
    /// Open the caller's Okta account.
    OpenCaller,
    /// Unlock the Okta account in view.
    Unlock,
    /// Reset the password of the Okta account in view.
    ResetPassword,
    /// Suspend the Okta account in view.
    Suspend,
    /// Unsuspend the Okta account in view.
    Unsuspend,
    /// Show the dashboard.
    ShowDashboard,
    /// Show the audit log.
    ShowAudit,
    /// Recompute the audit log's hash chain.
    VerifyAudit,
    /// Load what is on screen again.
    Refresh,
    /// Pull changes from the services now.
    Sync,
    /// Send the last failed change again.
    Retry,
    /// Open a ticket by number (`:ticket`).
    OpenTicket {
        /// Number.
        number: String,
        /// sys_id when known.
        sys_id: Option<String>,
    },
    /// Open an Okta user (`:user`).
    OpenUser(String),
    /// Open an Okta group (`:group`).
    OpenGroup(String),
    /// Switch theme (`:theme`).
    SetTheme(String),
    /// Load the audit log filtered by the store (`:audit TEXT`).
    SearchAudit(String),
    /// Open an access request's detail.
    OpenRequest(String),
    /// Show the approvals inbox (`:inbox`).
    ShowInbox,
    /// Show grants expiring soon (`:expiring`).
    ShowExpiring,
    /// Show members of catalog groups with no approved request (`:orphans`).
    ShowOrphans,
    /// Approve the marked requests (or the selected one), with a comment.
    Approve,
    /// Deny the marked requests (or the selected one), with a comment.
    Deny,
    /// Mark every line the `/` filter shows.
    MarkAllShown,
    /// Open the access-request form (from a ticket, an orphan, or `:request`).
    RequestAccess,
    /// Raise an extension of the selected grant.
    ExtendGrant,
    /// Decide again the items of the bulk run that failed.
    RetryBulk,
    /// Take another persona's seat (`:as LOGIN`, demo only).
    SwitchOperator(String),

    // ---- answers to effects
    /// The rows of a saved view.
    QueueLoaded {
        /// The view they belong to.
        view: SavedView,
        /// Every row of the view.
        rows: Vec<QueueRow>,
        /// Cache or live.
        source: DataSource,
    },
    /// The top of a saved view, while the whole of it loads.
    QueuePreview {
        /// The view they belong to.
        view: SavedView,
        /// The first rows in the order asked for.
        rows: Vec<QueueRow>,
        /// How many rows the whole view has.
        total: usize,
    },
    /// The queue could not be loaded.
    QueueLoadFailed {
        /// The view.
        view: SavedView,
        /// Why, and what to do.
        error: String,
    },
    /// Some rows changed (after a sync or a command): replace them where shown.
    QueueRowsChanged(Vec<QueueRow>),
    /// A ticket with its journal and approvals.
    TicketLoaded {
        /// The ticket.
        detail: Box<TicketDetail>,
        /// Cache or live.
        source: DataSource,
    },
    /// A ticket could not be loaded.
    TicketLoadFailed {
        /// The number asked for.
        number: String,
        /// Why.
        error: String,
    },
    /// An Okta user.
    UserLoaded {
        /// The login asked for.
        login: String,
        /// The user.
        detail: Box<UserDetail>,
        /// Cache or live.
        source: DataSource,
    },
    /// An Okta user could not be loaded.
    UserLoadFailed {
        /// The login asked for.
        login: String,
        /// Why.
        error: String,
    },
    /// An Okta group.
    GroupLoaded {
        /// The name asked for.
        name: String,
        /// The group.
        detail: Box<GroupDetail>,
        /// Cache or live.
        source: DataSource,
    },
    /// An Okta group could not be loaded.
    GroupLoadFailed {
        /// The name asked for.
        name: String,
        /// Why.
        error: String,
    },
    /// Audit events, newest first.
    AuditLoaded {
        /// The filter they answer.
        filter: AuditFilter,
        /// The events.
        rows: Vec<AuditRow>,
        /// Chain status, when the handler knows it.
        verify: Option<AuditVerify>,
    },
    /// The audit log could not be read.
    AuditLoadFailed {
        /// Why.
        error: String,
    },
    /// The chain was recomputed.
    AuditVerified(AuditVerify),
    /// Dashboard figures.
    DashboardLoaded(Box<Dashboard>),
    /// A sync finished.
    SyncFinished {
        /// What it did, in a few words (`42 tickets, 3 users updated`).
        summary: String,
        /// Whether tickets changed, so the queue is worth reloading.
        queue_changed: bool,
    },
    /// The tickets part of a sync is in the cache (the rest may follow): reload the queue if
    /// anything changed.
    TicketsSynced {
        /// Whether any ticket, journal entry or approval changed.
        changed: bool,
    },
    /// A sync failed.
    SyncFailed {
        /// Why.
        error: String,
    },
    /// An access-request list.
    AccessLoaded(AccessData),
    /// An access-request list could not be loaded.
    AccessLoadFailed {
        /// Which.
        list: AccessList,
        /// Why.
        error: String,
    },
    /// What raising a request would do.
    PreviewLoaded(Box<PreviewInfo>),
    /// The preview could not be made (unknown user, not requestable…).
    PreviewFailed(String),
    /// One item of a bulk decision is done.
    BulkItemDone {
        /// The run.
        batch: u64,
        /// Request id.
        id: String,
        /// How it ended.
        outcome: BulkOutcome,
    },
    /// The console now acts as another persona.
    OperatorSwitched {
        /// Their ServiceNow user name.
        user_name: String,
    },
    /// `:as` did not work.
    OperatorSwitchFailed(String),
    /// A command is durably queued (outbox); its outcome follows.
    CommandQueued {
        /// Which.
        id: CommandId,
    },
    /// A command was applied.
    CommandSucceeded {
        /// Which.
        id: CommandId,
        /// What happened, for the notification (`INC0010001 assigned to dana.desk`).
        message: String,
    },
    /// A command failed; it stays retryable.
    CommandFailed {
        /// Which.
        id: CommandId,
        /// Why, and what to do.
        error: String,
    },
}
