//! Everything the console knows, in one value. Only [`crate::tui::update`] changes it; drawing
//! reads it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use nucleo_matcher::Matcher;
use tui_input::Input;

use crate::domain::JournalKind;
use crate::domain::request::Verdict;
use crate::domain::text::sanitize_line;
use crate::tui::ConsoleConfig;
use crate::tui::editor::Editor;
use crate::tui::effect::{
    AuditFilter, AuditRow, AuditVerify, BulkOutcome, CatalogChoice, Command, CommandId, Dashboard, DataSource,
    GroupDetail, OrphanRow, PreviewInfo, QueueRow, RequestRow, SavedView, StateChoice, TicketDetail, TicketRef,
    UserDetail,
};
use crate::tui::filter::FuzzyList;
use crate::tui::keymap::{Context, Keymap, KeymapError};
use crate::tui::theme::{ColorDepth, Theme, ThemeError, ThemeSet};

/// A selection and scroll position in a list of `len` lines shown `height` at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    /// Selected line (position in the shown list).
    pub selected: usize,
    /// First line shown.
    pub offset: usize,
}

impl ListCursor {
    /// Moves the selection to `index` (clamped) and scrolls just enough to show it.
    pub fn select(&mut self, index: usize, len: usize, height: usize) {
        self.selected = if len == 0 { 0 } else { index.min(len - 1) };
        self.reveal(len, height);
    }

    /// Moves the selection by `delta` lines.
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        let target = self.selected.saturating_add_signed(delta);
        self.select(target, len, height);
    }

    /// Keeps the selection in range and on screen after the list or the screen changed.
    pub fn reveal(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        if len == 0 {
            *self = ListCursor::default();
            return;
        }
        self.selected = self.selected.min(len - 1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }
}

/// Queue columns the operator can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Priority, then oldest first.
    Priority,
    /// SLA due time (breached first).
    Sla,
    /// Age (oldest first).
    Age,
    /// Number.
    Number,
    /// State.
    State,
    /// Caller.
    Caller,
    /// Assignment group.
    Group,
    /// Assignee.
    AssignedTo,
}

impl SortKey {
    /// The cycle `s` goes through.
    pub const CYCLE: [SortKey; 8] = [
        SortKey::Priority,
        SortKey::Sla,
        SortKey::Age,
        SortKey::Number,
        SortKey::State,
        SortKey::Caller,
        SortKey::Group,
        SortKey::AssignedTo,
    ];

    /// Column name.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Priority => "priority",
            SortKey::Sla => "SLA",
            SortKey::Age => "age",
            SortKey::Number => "number",
            SortKey::State => "state",
            SortKey::Caller => "caller",
            SortKey::Group => "group",
            SortKey::AssignedTo => "assigned to",
        }
    }
}

/// Something loaded from a handler, with where it came from and whether a refresh is on its way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// The data, once any answer came.
    pub data: Option<T>,
    /// Where the data came from.
    pub source: Option<DataSource>,
    /// A load was asked and not yet answered live.
    pub loading: bool,
    /// The last load failed, and why.
    pub error: Option<String>,
}

impl<T> Default for Loaded<T> {
    fn default() -> Self {
        Loaded { data: None, source: None, loading: false, error: None }
    }
}

impl<T> Loaded<T> {
    /// Marks a load as asked for.
    pub fn start(&mut self) {
        self.loading = true;
        self.error = None;
    }

    /// Stores an answer; a live answer ends the load.
    pub fn arrive(&mut self, data: T, source: DataSource) {
        self.data = Some(data);
        self.source = Some(source);
        self.error = None;
        if source == DataSource::Live {
            self.loading = false;
        }
    }

    /// Records a failure; earlier data stays shown.
    pub fn fail(&mut self, error: String) {
        self.loading = false;
        self.error = Some(error);
    }
}

/// The queue: every row of the current saved view, its order and filter, selection and marks.
#[derive(Debug, Clone)]
pub struct QueueState {
    /// The saved view shown.
    pub view: SavedView,
    /// Rows as loaded.
    pub rows: Vec<QueueRow>,
    /// Order and filter over `rows`.
    pub list: FuzzyList,
    /// Selection in the filtered list.
    pub cursor: ListCursor,
    /// Sort column.
    pub sort: SortKey,
    /// Sort reversed.
    pub descending: bool,
    /// Marked tickets, by sys_id (marks survive sorting, filtering and reloads).
    pub marks: HashSet<String>,
    /// Where a `v` range started (sys_id), while one is open.
    pub range_anchor: Option<String>,
    /// Load status.
    pub loading: bool,
    /// While only the top of the view is shown (a preview, as the whole view loads): how many
    /// rows the whole view has.
    pub preview_total: Option<usize>,
    /// Where the rows came from.
    pub source: Option<DataSource>,
    /// The last load failed.
    pub error: Option<String>,
}

impl QueueState {
    fn new(view: SavedView) -> QueueState {
        QueueState {
            view,
            rows: Vec::new(),
            list: FuzzyList::default(),
            cursor: ListCursor::default(),
            sort: SortKey::Priority,
            descending: false,
            marks: HashSet::new(),
            range_anchor: None,
            loading: false,
            preview_total: None,
            source: None,
            error: None,
        }
    }

    /// Columns the filter searches, per row: what the table shows (and the caller's login).
    pub const FILTER_COLUMNS: usize = 7;

    /// The filter's columns of a row, as displayed (sanitised).
    pub fn filter_columns(row: &QueueRow) -> [std::borrow::Cow<'_, str>; 7] {
        [
            sanitize_line(&row.number),
            sanitize_line(&row.state),
            sanitize_line(&row.caller),
            // The login's domain is the same for everyone: searching it only adds noise.
            sanitize_line(row.caller_login.split('@').next().unwrap_or_default()),
            sanitize_line(&row.assignment_group),
            sanitize_line(&row.assigned_to),
            sanitize_line(&row.short_description),
        ]
    }

    /// The row at a position of the shown (sorted, filtered) list.
    pub fn row_at(&self, pos: usize) -> Option<&QueueRow> {
        self.list.visible().get(pos).map(|&i| &self.rows[i as usize])
    }

    /// The selected row.
    pub fn selected(&self) -> Option<&QueueRow> {
        self.row_at(self.cursor.selected)
    }

    /// How many rows the view has: all of them, also while only a preview of them is shown.
    pub fn total(&self) -> usize {
        self.preview_total.unwrap_or(self.rows.len())
    }

    /// Number of rows shown.
    pub fn shown(&self) -> usize {
        self.list.visible().len()
    }

    /// The order of all rows for the current sort.
    pub fn sorted_order(&self) -> Vec<u32> {
        let rows = &self.rows;
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        let far = DateTime::<Utc>::MAX_UTC;
        order.sort_by(|&a, &b| {
            let (x, y) = (&rows[a as usize], &rows[b as usize]);
            let prio = |r: &QueueRow| if r.priority == 0 { 9 } else { r.priority };
            let primary = match self.sort {
                // Ties on priority and age go by number, as the store's preview of the top of
                // the queue orders them: the whole view landing never swaps two rows on screen.
                SortKey::Priority => {
                    prio(x).cmp(&prio(y)).then(x.opened_at.cmp(&y.opened_at)).then(x.number.cmp(&y.number))
                }
                SortKey::Sla => {
                    (!x.sla_breached, x.sla_due.unwrap_or(far)).cmp(&(!y.sla_breached, y.sla_due.unwrap_or(far)))
                }
                SortKey::Age => x.opened_at.cmp(&y.opened_at).then(x.number.cmp(&y.number)),
                SortKey::Number => x.number.cmp(&y.number),
                SortKey::State => x.state.cmp(&y.state),
                SortKey::Caller => x.caller.to_lowercase().cmp(&y.caller.to_lowercase()),
                SortKey::Group => x.assignment_group.cmp(&y.assignment_group),
                SortKey::AssignedTo => x.assigned_to.cmp(&y.assigned_to),
            };
            let primary = if self.descending { primary.reverse() } else { primary };
            primary.then(a.cmp(&b))
        });
        order
    }
}

/// Which side of the ticket view has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketPane {
    /// The ticket: description, approvals, journal.
    Ticket,
    /// The caller's Okta account (its groups are selectable).
    Okta,
}

/// An open ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketScreen {
    /// Number (upper case), the key of [`State::tickets`].
    pub number: String,
    /// sys_id when known.
    pub sys_id: Option<String>,
    /// Caller's Okta login, once known.
    pub caller_login: Option<String>,
    /// Focused pane.
    pub focus: TicketPane,
    /// Scroll of the ticket pane, in lines.
    pub scroll: usize,
    /// Selection among the caller's groups.
    pub groups: ListCursor,
}

/// Which list of the user view has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserPane {
    /// Groups.
    Groups,
    /// Apps.
    Apps,
    /// System Log events.
    Events,
}

/// An open Okta user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserScreen {
    /// Login (lower case), the key of [`State::users`].
    pub login: String,
    /// Focused list.
    pub focus: UserPane,
    /// Selection in each list.
    pub cursors: [ListCursor; 3],
}

/// An open Okta group.
#[derive(Debug, Clone)]
pub struct GroupScreen {
    /// Name (lower case), the key of [`State::groups`].
    pub name: String,
    /// Members, filterable.
    pub members: FuzzyList,
    /// Selection among members.
    pub cursor: ListCursor,
}

/// One level of the breadcrumbs.
#[derive(Debug, Clone)]
pub enum Screen {
    /// The queue (always the bottom of the stack).
    Queue,
    /// A ticket beside its caller's Okta account.
    Ticket(TicketScreen),
    /// An Okta user.
    User(UserScreen),
    /// An Okta group.
    Group(GroupScreen),
    /// The audit log.
    Audit,
    /// Charts.
    Dashboard,
    /// Access requests the operator may decide.
    Inbox,
    /// One access request: steps and decisions so far.
    Request(RequestScreen),
    /// A bulk decision: progress and per-item results.
    Bulk,
    /// Grants expiring soon.
    Expiring,
    /// Members of catalog groups with no approved request.
    Orphans,
}

/// An open access request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestScreen {
    /// Its id.
    pub id: String,
    /// Scroll, in lines.
    pub scroll: usize,
}

impl Screen {
    /// The keymap contexts in force, most specific first.
    pub fn contexts(&self) -> &'static [Context] {
        match self {
            Screen::Queue => &[Context::Queue, Context::Marks, Context::Nav, Context::Global],
            Screen::Ticket(_) => &[Context::Ticket, Context::Nav, Context::Global],
            Screen::User(_) => &[Context::User, Context::Nav, Context::Global],
            Screen::Group(_) => &[Context::Group, Context::Nav, Context::Global],
            Screen::Audit => &[Context::Audit, Context::Nav, Context::Global],
            Screen::Dashboard => &[Context::Global],
            Screen::Inbox => &[Context::Inbox, Context::Marks, Context::Nav, Context::Global],
            Screen::Request(_) => &[Context::Inbox, Context::Nav, Context::Global],
            Screen::Bulk => &[Context::Bulk, Context::Nav, Context::Global],
            Screen::Expiring => &[Context::Expiring, Context::Nav, Context::Global],
            Screen::Orphans => &[Context::Orphans, Context::Nav, Context::Global],
        }
    }
}

/// The audit log view's data.
#[derive(Debug, Clone, Default)]
pub struct AuditState {
    /// The store-side filter of the rows shown.
    pub filter: AuditFilter,
    /// Events, newest first.
    pub rows: Vec<AuditRow>,
    /// Local fuzzy filter over the rows.
    pub list: FuzzyList,
    /// Selection.
    pub cursor: ListCursor,
    /// Chain status.
    pub verify: AuditVerify,
    /// A verification is running.
    pub verifying: bool,
    /// Load status.
    pub loading: bool,
    /// The last load failed.
    pub error: Option<String>,
}

/// A line of an access-request list: how it is known, marked and filtered.
pub trait AccessItem {
    /// Searchable columns per line.
    const COLUMNS: usize;
    /// The line's identity (marks survive reloads by it).
    fn key(&self) -> String;
    /// The columns the `/` filter searches, as displayed (sanitised).
    fn columns(&self) -> Vec<String>;
}

impl AccessItem for RequestRow {
    const COLUMNS: usize = 6;
    fn key(&self) -> String {
        self.request.id.clone()
    }
    fn columns(&self) -> Vec<String> {
        let r = &self.request;
        [&r.id, &r.entry, &r.requested_for, &r.requested_by, r.ticket.as_deref().unwrap_or(""), &r.justification]
            .map(|c| sanitize_line(c).into_owned())
            .to_vec()
    }
}

impl AccessItem for OrphanRow {
    const COLUMNS: usize = 4;
    fn key(&self) -> String {
        format!("{}\u{1f}{}", self.user, self.group)
    }
    fn columns(&self) -> Vec<String> {
        [&self.user, &self.group, &self.entry, &self.added_by].map(|c| sanitize_line(c).into_owned()).to_vec()
    }
}

/// An access-request list: rows, `/` filter, selection and marks.
#[derive(Debug, Clone)]
pub struct AccessListState<T> {
    /// Rows as loaded.
    pub rows: Vec<T>,
    /// Filter over `rows` (load order kept).
    pub list: FuzzyList,
    /// Selection in the filtered list.
    pub cursor: ListCursor,
    /// Marked lines, by key.
    pub marks: HashSet<String>,
    /// Where a `v` range started (key), while one is open.
    pub range_anchor: Option<String>,
    /// A load is on its way.
    pub loading: bool,
    /// The last load failed.
    pub error: Option<String>,
}

impl<T> Default for AccessListState<T> {
    fn default() -> Self {
        AccessListState {
            rows: Vec::new(),
            list: FuzzyList::default(),
            cursor: ListCursor::default(),
            marks: HashSet::new(),
            range_anchor: None,
            loading: false,
            error: None,
        }
    }
}

impl<T: AccessItem> AccessListState<T> {
    /// Replaces the rows, keeping the filter, the selected line and the marks still present.
    pub fn set_rows(&mut self, rows: Vec<T>, matcher: &mut Matcher, page: usize) {
        let selected = self.selected().map(AccessItem::key);
        let columns: Vec<String> = rows.iter().flat_map(AccessItem::columns).collect();
        let query = self.list.query().to_string();
        self.list = FuzzyList::new(T::COLUMNS, columns, (0..rows.len() as u32).collect());
        self.list.set_query(&query, matcher);
        let keys: HashSet<String> = rows.iter().map(AccessItem::key).collect();
        self.marks.retain(|k| keys.contains(k));
        self.rows = rows;
        self.loading = false;
        self.error = None;
        let pos = selected.and_then(|k| self.position(&k)).unwrap_or(self.cursor.selected);
        self.cursor.select(pos, self.shown(), page);
    }

    /// Position of a key in the shown list.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.list.visible().iter().position(|&i| self.rows[i as usize].key() == key)
    }

    /// The row at a position of the shown list.
    pub fn row_at(&self, pos: usize) -> Option<&T> {
        self.list.visible().get(pos).map(|&i| &self.rows[i as usize])
    }

    /// The selected row.
    pub fn selected(&self) -> Option<&T> {
        self.row_at(self.cursor.selected)
    }

    /// Number of rows shown.
    pub fn shown(&self) -> usize {
        self.list.visible().len()
    }

    /// The marked rows the filter shows, in list order.
    pub fn marked_shown(&self) -> Vec<&T> {
        self.list.visible().iter().map(|&i| &self.rows[i as usize]).filter(|r| self.marks.contains(&r.key())).collect()
    }
}

/// One item of a bulk decision.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem {
    /// Request id.
    pub id: String,
    /// What it is (`aws-prod-readonly for riley…`), sanitised.
    pub label: String,
    /// How it ended; `None` while running.
    pub outcome: Option<BulkOutcome>,
}

/// A bulk decision in progress or done.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRun {
    /// Answers of other runs are ignored.
    pub batch: u64,
    /// Approve or deny.
    pub verdict: Verdict,
    /// The comment.
    pub comment: String,
    /// Items, in the order they were marked.
    pub items: Vec<BulkItem>,
    /// Selection in the results.
    pub cursor: ListCursor,
}

impl BulkRun {
    /// Items finished.
    pub fn done(&self) -> usize {
        self.items.iter().filter(|i| i.outcome.is_some()).count()
    }

    /// Counts of (done, refused, failed).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for i in &self.items {
            match i.outcome {
                Some(BulkOutcome::Done(_)) => c.0 += 1,
                Some(BulkOutcome::Refused(_)) => c.1 += 1,
                Some(BulkOutcome::Failed(_)) => c.2 += 1,
                None => {}
            }
        }
        c
    }
}

/// The access-request screens' data.
#[derive(Debug, Clone, Default)]
pub struct AccessState {
    /// Requests the operator may decide.
    pub inbox: AccessListState<RequestRow>,
    /// Grants with an expiry, soonest first.
    pub expiring: AccessListState<RequestRow>,
    /// Orphan grants.
    pub orphans: AccessListState<OrphanRow>,
    /// The catalog, once loaded.
    pub catalog: Option<Vec<CatalogChoice>>,
    /// The current or last bulk decision.
    pub bulk: Option<BulkRun>,
    /// Next bulk run number.
    pub next_batch: u64,
}

impl AccessState {
    /// A request shown in the inbox or the expiry radar.
    pub fn request(&self, id: &str) -> Option<&RequestRow> {
        self.inbox.rows.iter().chain(&self.expiring.rows).find(|r| r.request.id == id)
    }
}

/// Fields of the request form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    /// For whom.
    For,
    /// Catalog entry (fuzzy-searchable).
    Entry,
    /// Duration.
    Duration,
    /// Justification.
    Justification,
}

impl FormField {
    /// Tab order.
    pub const ORDER: [FormField; 4] = [FormField::For, FormField::Entry, FormField::Duration, FormField::Justification];
}

/// Raising an access request.
#[derive(Debug, Clone)]
pub struct RequestForm {
    /// The ticket it is raised from.
    pub ticket: Option<String>,
    /// For whom (Okta login).
    pub for_login: Input,
    /// Filter over the catalog.
    pub query: Input,
    /// Catalog entries, filtered.
    pub entries: FuzzyList,
    /// Selected entry (position in the filtered list).
    pub entry: ListCursor,
    /// The entry to select once the catalog is loaded (an orphan's).
    pub pick: Option<String>,
    /// Duration as typed (`8h`); empty for the entry's maximum.
    pub duration: Input,
    /// Justification.
    pub justification: Input,
    /// Focused field.
    pub focus: FormField,
    /// Why it cannot be sent yet.
    pub problem: Option<String>,
    /// The preview of exactly what the form says now.
    pub preview: Option<PreviewInfo>,
    /// A preview was asked for.
    pub previewing: bool,
}

/// Approving or denying one or many requests.
#[derive(Debug, Clone)]
pub struct DecideForm {
    /// (id, label) of each request.
    pub targets: Vec<(String, String)>,
    /// Approve or deny.
    pub verdict: Verdict,
    /// The comment.
    pub comment: Input,
    /// Past the comment: the confirmation of a bulk decision.
    pub confirming: bool,
    /// Focused button while confirming (starts on Cancel).
    pub focus: ConfirmFocus,
    /// The count typed to confirm a large bulk decision.
    pub typed: Input,
    /// Why it cannot go ahead yet.
    pub problem: Option<String>,
}

/// What the bottom line is being used to type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `:` command.
    Command,
    /// `/` filter of the current list.
    Filter,
}

/// The bottom-line input.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// Command or filter.
    pub kind: PromptKind,
    /// The text.
    pub input: Input,
    /// Completions offered for a command, and the one chosen by Tab.
    pub completions: Vec<String>,
    /// Index into `completions` of the current choice.
    pub chosen: Option<usize>,
}

/// Focus of a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmFocus {
    /// Do nothing (where focus starts).
    Cancel,
    /// Go ahead.
    Confirm,
}

/// A question before a change that is hard to undo.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    /// Title (`Suspend riley.requester@example.com?`).
    pub title: String,
    /// What will happen, one line each.
    pub lines: Vec<String>,
    /// Label of the confirm button.
    pub confirm_label: String,
    /// Focused button.
    pub focus: ConfirmFocus,
    /// What runs when confirmed.
    pub commands: Vec<Command>,
}

/// Fields of the resolve form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveField {
    /// Close code list.
    Code,
    /// Close notes editor.
    Notes,
}

/// The resolve form.
#[derive(Debug, Clone)]
pub struct ResolveForm {
    /// The ticket.
    pub ticket: TicketRef,
    /// Close codes to choose from.
    pub codes: Vec<String>,
    /// Chosen code.
    pub code: usize,
    /// Close notes.
    pub notes: Editor,
    /// Focused field.
    pub focus: ResolveField,
    /// Why the form cannot be sent yet.
    pub problem: Option<String>,
}

/// A popup over the current view; it has the keyboard until closed.
#[derive(Debug, Clone)]
pub enum Popup {
    /// Keys of the current view.
    Help {
        /// Scroll, in lines.
        scroll: usize,
    },
    /// A yes/no question (focus starts on Cancel).
    Confirm(Confirm),
    /// Writing a work note or comment.
    Journal {
        /// The ticket.
        ticket: TicketRef,
        /// Work note or comment.
        kind: JournalKind,
        /// The text.
        editor: Editor,
    },
    /// Resolving a ticket.
    Resolve(ResolveForm),
    /// Choosing a new state.
    ChangeState {
        /// The ticket.
        ticket: TicketRef,
        /// States offered.
        choices: Vec<StateChoice>,
        /// Highlighted choice.
        selected: usize,
    },
    /// Approving or denying access requests.
    Decide(DecideForm),
    /// Raising an access request.
    RequestForm(Box<RequestForm>),
}

/// How serious a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something worked.
    Info,
    /// Worth a look.
    Warn,
    /// Something failed.
    Error,
}

/// A message in the status line.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Seriousness.
    pub level: Level,
    /// The message (already sanitised).
    pub text: String,
    /// When it appeared.
    pub at: DateTime<Utc>,
}

impl Notification {
    /// How long it stays: errors stay until the operator has had time to read them.
    pub fn ttl_secs(&self) -> i64 {
        match self.level {
            Level::Info => 6,
            Level::Warn => 10,
            Level::Error => 30,
        }
    }
}

/// A command sent and not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The command.
    pub command: Command,
    /// The engine confirmed it is durably queued.
    pub queued: bool,
}

/// The whole console.
#[derive(Debug)]
pub struct State {
    /// The clock (fixed in tests).
    pub now: DateTime<Utc>,
    /// Terminal size.
    pub width: u16,
    /// Terminal size.
    pub height: u16,
    /// The operator's user name.
    pub operator: String,
    /// `:as` took another persona's seat (the header then always shows who sits there).
    pub seat_taken: bool,
    /// What the console is connected to, for the header.
    pub instance: String,
    /// No change of anything may be sent.
    pub read_only: bool,
    /// Mouse support on.
    pub mouse: bool,
    /// Key bindings.
    pub keymap: Keymap,
    /// Available themes.
    pub themes: ThemeSet,
    /// Terminal colours.
    pub depth: ColorDepth,
    /// Current theme.
    pub theme: Theme,
    /// Close codes offered by the resolve form.
    pub close_codes: Vec<String>,
    /// Breadcrumbs; never empty, `Screen::Queue` at the bottom.
    pub screens: Vec<Screen>,
    /// The queue.
    pub queue: QueueState,
    /// Tickets seen, by upper-case number.
    pub tickets: HashMap<String, Loaded<TicketDetail>>,
    /// Okta users seen, by lower-case login.
    pub users: HashMap<String, Loaded<UserDetail>>,
    /// Okta groups seen, by lower-case name.
    pub groups: HashMap<String, Loaded<GroupDetail>>,
    /// Audit log.
    pub audit: AuditState,
    /// Dashboard figures.
    pub dashboard: Option<Dashboard>,
    /// Access requests: inbox, expiry radar, orphans, bulk runs.
    pub access: AccessState,
    /// Popup with the keyboard.
    pub popup: Option<Popup>,
    /// Bottom-line input.
    pub prompt: Option<Prompt>,
    /// Recent notifications, oldest first.
    pub notifications: VecDeque<Notification>,
    /// Commands in flight.
    pub pending: BTreeMap<CommandId, Pending>,
    /// Failed commands that can be retried, newest last.
    pub failed: Vec<Command>,
    /// Unsent journal text, by ticket sys_id and journal field (kept on cancel and on failure).
    pub drafts: HashMap<(String, &'static str), String>,
    /// A sync is running.
    pub syncing: bool,
    /// When the last sync finished, and its summary.
    pub last_sync: Option<(DateTime<Utc>, String)>,
    /// How often the console syncs by itself (`None`: only on `:sync`).
    pub sync_every: Option<chrono::Duration>,
    /// Sync once at start.
    pub sync_at_start: bool,
    /// When the console's own clock starts the next sync.
    pub next_sync: Option<DateTime<Utc>>,
    /// The running sync was started by the clock: its success is not announced.
    pub sync_quiet: bool,
    /// The last sync failed (a background sync failing again is not announced again).
    pub sync_failing: bool,
    /// Next command id.
    pub next_command: u64,
    /// Set by Quit: the runtime stops.
    pub quit: bool,
    /// Scratch for the filter.
    pub matcher: Matcher,
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `[keys]` is wrong.
    #[error(transparent)]
    Keys(#[from] KeymapError),
    /// A theme is wrong or missing.
    #[error(transparent)]
    Theme(#[from] ThemeError),
}

impl State {
    /// A fresh console for `config`, at `now`, on a terminal of `width`×`height`.
    pub fn new(config: &ConsoleConfig, now: DateTime<Utc>, width: u16, height: u16) -> Result<State, StartError> {
        let keymap = Keymap::new(config.keys.as_ref(), config.read_only)?;
        let themes = ThemeSet::load(config.themes_dir.as_deref())?;
        let depth = config.color_depth;
        let name = crate::tui::theme::startup_theme(config.theme.as_deref(), depth);
        let theme = themes.resolve(&name, depth)?;
        let mut state = State {
            now,
            width,
            height,
            operator: config.operator.clone(),
            seat_taken: false,
            instance: config.instance.clone(),
            read_only: config.read_only,
            mouse: config.mouse,
            keymap,
            themes,
            depth,
            theme,
            close_codes: config.close_codes.clone(),
            screens: vec![Screen::Queue],
            queue: QueueState::new(config.initial_view),
            tickets: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
            audit: AuditState::default(),
            dashboard: None,
            access: AccessState::default(),
            popup: None,
            prompt: None,
            notifications: VecDeque::new(),
            pending: BTreeMap::new(),
            failed: Vec::new(),
            drafts: HashMap::new(),
            syncing: false,
            last_sync: None,
            sync_every: config.sync_every.and_then(|d| chrono::Duration::from_std(d).ok()),
            sync_at_start: config.sync_at_start,
            next_sync: None,
            sync_quiet: false,
            sync_failing: false,
            next_command: 1,
            quit: false,
            matcher: Matcher::default(),
        };
        if state.theme.approximated {
            let text = format!(
                "theme {} wants {} colours; this terminal shows {}: colours approximated",
                state.theme.name,
                state.theme.min_colors,
                depth.colors()
            );
            state.notifications.push_back(Notification { level: Level::Warn, text, at: now });
        }
        Ok(state)
    }

    /// The screen on top of the breadcrumbs.
    pub fn screen(&self) -> &Screen {
        self.screens.last().unwrap_or(&Screen::Queue)
    }

    /// Whether a filter still has items to search ([`crate::tui::Action::ContinueSearch`]).
    pub fn searching(&self) -> bool {
        self.queue.list.searching()
            || self.audit.list.searching()
            || self.screens.iter().any(|s| matches!(s, Screen::Group(g) if g.members.searching()))
            || self.access.inbox.list.searching()
            || self.access.expiring.list.searching()
            || self.access.orphans.list.searching()
    }

    /// The newest notification still showing.
    pub fn notification(&self) -> Option<&Notification> {
        self.notifications.iter().rev().find(|n| (self.now - n.at).num_seconds() < n.ttl_secs())
    }
}
