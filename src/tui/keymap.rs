//! Key bindings: defaults in code, every one remappable from the config's `[keys]` table, and
//! the `?` help and the hint line generated from the same table (gitui/yazi: one source).
//!
//! # The `[keys]` format
//!
//! One sub-table per context, each mapping a command name to a key, a list of keys, or an empty
//! list (unbound). A binding replaces that command's defaults; commands not named keep theirs.
//!
//! ```toml
//! [keys.queue]
//! assign_to_me = "m"          # one key
//! resolve = ["r", "ctrl-x"]   # several
//! comment = []                # unbound
//! [keys.nav]
//! down = ["j", "down", "ctrl-n"]
//! ```
//!
//! Keys are written `a`, `A`, `?`, `enter`, `esc`, `tab`, `shift-tab`, `space`, `backspace`,
//! `delete`, `up`, `down`, `left`, `right`, `home`, `end`, `pgup`, `pgdown`, `insert`, `f1`…`f12`,
//! with optional `ctrl-`, `alt-` and `shift-` prefixes (`ctrl-r`, `alt-enter`). Contexts stack:
//! the current view's context is looked up first, then the lists' contexts, then `global`; two
//! commands of one context may not share a key.
//!
//! In read-only mode every command that changes something is removed from the map, so its key
//! does nothing and neither help nor hints mention it.

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::action::Action;
use crate::tui::effect::SavedView;

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Everywhere.
    Global,
    /// Every list and scrollable pane: movement, open, filter.
    Nav,
    /// Lists whose lines can be marked for bulk actions.
    Marks,
    /// The queue.
    Queue,
    /// A ticket with the caller's Okta account.
    Ticket,
    /// An Okta user.
    User,
    /// An Okta group.
    Group,
    /// The audit log.
    Audit,
    /// The approvals inbox and an access request.
    Inbox,
    /// A bulk decision's results.
    Bulk,
    /// The expiry radar.
    Expiring,
    /// Orphan grants.
    Orphans,
}

impl Context {
    /// Every context, in help order.
    pub const ALL: [Context; 12] = [
        Context::Queue,
        Context::Ticket,
        Context::User,
        Context::Group,
        Context::Audit,
        Context::Inbox,
        Context::Bulk,
        Context::Expiring,
        Context::Orphans,
        Context::Marks,
        Context::Nav,
        Context::Global,
    ];

    /// Its name in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Nav => "nav",
            Context::Marks => "marks",
            Context::Queue => "queue",
            Context::Ticket => "ticket",
            Context::User => "user",
            Context::Group => "group",
            Context::Audit => "audit",
            Context::Inbox => "inbox",
            Context::Bulk => "bulk",
            Context::Expiring => "expiring",
            Context::Orphans => "orphans",
        }
    }

    fn parse(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A key with its modifiers, normalised so `G` and `shift-g` are one chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift only for keys that have no shifted character).
    pub mods: KeyModifiers,
}

impl KeyChord {
    /// A chord from a key and modifiers, normalised.
    pub fn new(code: KeyCode, mods: KeyModifiers) -> KeyChord {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            c => c,
        };
        KeyChord { code, mods }
    }

    /// The chord of a key event.
    pub fn from_event(ev: &KeyEvent) -> KeyChord {
        KeyChord::new(ev.code, ev.modifiers)
    }

    /// Parses `ctrl-r`, `G`, `enter`, `shift-tab`…
    pub fn parse(s: &str) -> Result<KeyChord, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let prefix = ["ctrl-", "alt-", "shift-"].into_iter().find(|p| lower.starts_with(p) && rest.len() > p.len());
            match prefix {
                Some("ctrl-") => mods |= KeyModifiers::CONTROL,
                Some("alt-") => mods |= KeyModifiers::ALT,
                Some(_) => mods |= KeyModifiers::SHIFT,
                None => break,
            }
            rest = &rest[prefix.map_or(0, str::len)..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) { c.to_ascii_lowercase() } else { c })
            }
            (None, _) => return Err(format!("`{s}` is not a key")),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdown" | "pgdn" | "pagedown" => KeyCode::PageDown,
                f if f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => return Err(format!("`{s}` is not a key")),
            },
        };
        Ok(KeyChord::new(code, mods))
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdown"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One bindable command.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Where it applies.
    pub context: Context,
    /// Its name in `[keys.CONTEXT]`.
    pub name: &'static str,
    /// What it does.
    pub action: Action,
    /// Default keys.
    pub defaults: &'static [&'static str],
    /// One line for help.
    pub desc: &'static str,
    /// Changes something remote: removed in read-only mode.
    pub changes: bool,
}

/// The built-in commands and their default keys.
pub fn specs() -> Vec<Spec> {
    use Context::*;
    let s = |context, name, action, defaults, desc, changes| Spec { context, name, action, defaults, desc, changes };
    vec![
        s(Global, "quit", Action::Quit, &["q"], "quit", false),
        s(Global, "help", Action::ShowHelp, &["?"], "show the keys of this view", false),
        s(Global, "command_line", Action::OpenCommandLine, &[":"], "command line (:view :user :ticket :theme…)", false),
        s(Global, "back", Action::Back, &["esc"], "back / close", false),
        s(Global, "next_pane", Action::NextPane, &["tab"], "next pane", false),
        s(Global, "prev_pane", Action::PrevPane, &["shift-tab"], "previous pane", false),
        s(Global, "refresh", Action::Refresh, &["R"], "reload what is on screen", false),
        s(Global, "sync", Action::Sync, &["ctrl-r"], "sync with ServiceNow and Okta now", false),
        s(Global, "dashboard", Action::ShowDashboard, &["D"], "dashboard", false),
        s(Global, "audit", Action::ShowAudit, &["A"], "audit log", false),
        s(Global, "retry", Action::Retry, &["T"], "retry the last failed change", true),
        s(Nav, "up", Action::Up, &["up", "k"], "up", false),
        s(Nav, "down", Action::Down, &["down", "j"], "down", false),
        s(Nav, "top", Action::Top, &["g", "home"], "first line", false),
        s(Nav, "bottom", Action::Bottom, &["G", "end"], "last line", false),
        s(Nav, "page_up", Action::PageUp, &["pgup", "ctrl-b"], "page up", false),
        s(Nav, "page_down", Action::PageDown, &["pgdown", "ctrl-f"], "page down", false),
        s(Nav, "open", Action::Open, &["enter"], "open", false),
        s(Nav, "filter", Action::OpenFilter, &["/"], "fuzzy filter", false),
        s(Marks, "toggle_mark", Action::ToggleMark, &["space"], "mark / unmark", false),
        s(Marks, "mark_range", Action::MarkRange, &["v"], "mark a range (v … v)", false),
        s(Marks, "clear_marks", Action::ClearMarks, &["u"], "clear marks", false),
        s(Marks, "mark_all", Action::MarkAllShown, &["*"], "mark every line the filter shows", false),
        s(Queue, "view_my_open", Action::ShowView(SavedView::MyOpen), &["1"], "view: my open", false),
        s(
            Queue,
            "view_unassigned",
            Action::ShowView(SavedView::UnassignedInMyGroups),
            &["2"],
            "view: unassigned in my groups",
            false,
        ),
        s(
            Queue,
            "view_access_requests",
            Action::ShowView(SavedView::AccessRequests),
            &["3"],
            "view: access requests",
            false,
        ),
        s(Queue, "view_breached", Action::ShowView(SavedView::BreachedSla), &["4"], "view: breached SLA", false),
        s(Queue, "view_all", Action::ShowView(SavedView::AllOpen), &["5"], "view: all open", false),
        s(Queue, "sort", Action::CycleSort, &["s"], "sort by next column", false),
        s(Queue, "reverse_sort", Action::ReverseSort, &["S"], "reverse sort", false),
        s(Queue, "open_caller", Action::OpenCaller, &["o"], "caller's Okta account", false),
        s(Queue, "inbox", Action::ShowInbox, &["i"], "approvals inbox", false),
        s(Queue, "assign_to_me", Action::AssignToMe, &["a"], "assign marked/selected to me", true),
        s(Queue, "change_state", Action::ChangeState, &["e"], "change state", true),
        s(Queue, "work_note", Action::AddWorkNote, &["n"], "add work note", true),
        s(Queue, "comment", Action::AddComment, &["c"], "add comment", true),
        s(Queue, "resolve", Action::Resolve, &["r"], "resolve", true),
        s(Ticket, "open_caller", Action::OpenCaller, &["u"], "caller's Okta account", false),
        s(Ticket, "assign_to_me", Action::AssignToMe, &["a"], "assign to me", true),
        s(Ticket, "change_state", Action::ChangeState, &["e"], "change state", true),
        s(Ticket, "work_note", Action::AddWorkNote, &["n"], "add work note", true),
        s(Ticket, "comment", Action::AddComment, &["c"], "add comment", true),
        s(Ticket, "resolve", Action::Resolve, &["r"], "resolve", true),
        s(Ticket, "request_access", Action::RequestAccess, &["+"], "request access for the caller", true),
        s(Ticket, "unlock", Action::Unlock, &["U"], "Okta: unlock caller", true),
        s(Ticket, "reset_password", Action::ResetPassword, &["P"], "Okta: reset caller's password", true),
        s(Ticket, "suspend", Action::Suspend, &["S"], "Okta: suspend caller", true),
        s(Ticket, "unsuspend", Action::Unsuspend, &["Z"], "Okta: unsuspend caller", true),
        s(User, "unlock", Action::Unlock, &["U"], "unlock", true),
        s(User, "reset_password", Action::ResetPassword, &["P"], "reset password", true),
        s(User, "suspend", Action::Suspend, &["S"], "suspend", true),
        s(User, "unsuspend", Action::Unsuspend, &["Z"], "unsuspend", true),
        s(Audit, "verify", Action::VerifyAudit, &["V"], "verify the hash chain", false),
        s(Inbox, "approve", Action::Approve, &["a"], "approve marked/selected (with a comment)", true),
        s(Inbox, "deny", Action::Deny, &["d"], "deny marked/selected (with a comment)", true),
        s(Inbox, "expiring", Action::ShowExpiring, &["x"], "expiry radar", false),
        s(Bulk, "retry_failed", Action::RetryBulk, &["T"], "decide the failed items again", true),
        s(Expiring, "extend", Action::ExtendGrant, &["x"], "raise an extension request", true),
        s(Orphans, "request_access", Action::RequestAccess, &["+"], "raise a request to regularise", true),
    ]
}

/// A `[keys]` problem, naming the key in the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config `{path}`: {problem}")]
pub struct KeymapError {
    /// `keys.queue.assign_to_me`.
    pub path: String,
    /// What is wrong and what is expected.
    pub problem: String,
}

/// The effective bindings.
#[derive(Debug, Clone)]
pub struct Keymap {
    specs: Vec<Spec>,
    keys: Vec<Vec<KeyChord>>,
    lookup: HashMap<(Context, KeyChord), usize>,
}

impl Keymap {
    /// The defaults, with `[keys]` overrides applied; read-only drops every changing command.
    pub fn new(overrides: Option<&toml::Table>, read_only: bool) -> Result<Keymap, KeymapError> {
        let all = specs();
        let specs: Vec<Spec> = all.iter().filter(|s| !(read_only && s.changes)).cloned().collect();
        let mut keys: Vec<Vec<KeyChord>> =
            specs.iter().map(|s| s.defaults.iter().filter_map(|k| KeyChord::parse(k).ok()).collect()).collect();
        if let Some(table) = overrides {
            for (ctx_name, value) in table {
                let Some(ctx) = Context::parse(ctx_name) else {
                    return Err(KeymapError {
                        path: format!("keys.{ctx_name}"),
                        problem: format!(
                            "unknown section; expected one of {}",
                            Context::ALL.map(|c| c.name()).join(", ")
                        ),
                    });
                };
                let Some(section) = value.as_table() else {
                    return Err(KeymapError {
                        path: format!("keys.{ctx_name}"),
                        problem: "expected a table of command = \"key\"".into(),
                    });
                };
                for (cmd, value) in section {
                    let path = format!("keys.{ctx_name}.{cmd}");
                    let known = all.iter().find(|s| s.context == ctx && s.name == cmd);
                    if known.is_none() {
                        let names: Vec<&str> = all.iter().filter(|s| s.context == ctx).map(|s| s.name).collect();
                        return Err(KeymapError {
                            path,
                            problem: format!("unknown command; commands of [keys.{ctx_name}]: {}", names.join(", ")),
                        });
                    }
                    let chords = parse_keys(value).map_err(|problem| KeymapError { path: path.clone(), problem })?;
                    // In read-only mode a changing command is gone; its binding is accepted and ignored.
                    if let Some(i) = specs.iter().position(|s| s.context == ctx && s.name == cmd) {
                        keys[i] = chords;
                    }
                }
            }
        }
        let mut lookup = HashMap::new();
        for (i, spec) in specs.iter().enumerate() {
            for chord in &keys[i] {
                if let Some(&j) = lookup.get(&(spec.context, *chord)) {
                    let other: &Spec = &specs[j];
                    return Err(KeymapError {
                        path: format!("keys.{}.{}", spec.context.name(), spec.name),
                        problem: format!(
                            "`{chord}` is already bound to `{}` in [keys.{}]; bind one of them to another key",
                            other.name,
                            spec.context.name()
                        ),
                    });
                }
                lookup.insert((spec.context, *chord), i);
            }
        }
        Ok(Keymap { specs, keys, lookup })
    }

    /// The action bound to a key, looking through `chain` in order.
    pub fn action(&self, chain: &[Context], chord: KeyChord) -> Option<&Action> {
        chain.iter().find_map(|ctx| self.lookup.get(&(*ctx, chord))).map(|&i| &self.specs[i].action)
    }

    /// Whether a command (by context and name) is bound at all — false in read-only mode for
    /// changing commands.
    pub fn has(&self, context: Context, name: &str) -> bool {
        self.specs.iter().position(|s| s.context == context && s.name == name).is_some_and(|i| !self.keys[i].is_empty())
    }

    /// The first key of a command, for hints (`enter`), or `None` when unbound.
    pub fn keys_of(&self, context: Context, name: &str) -> Option<String> {
        let i = self.specs.iter().position(|s| s.context == context && s.name == name)?;
        self.keys[i].first().map(|k| k.to_string())
    }

    /// Help for a chain of contexts: per context, (keys, description) of each bound command.
    /// A key shadowed by an earlier context is left out.
    pub fn help(&self, chain: &[Context]) -> Vec<(Context, Vec<(String, &'static str)>)> {
        let mut out = Vec::new();
        for (depth, ctx) in chain.iter().enumerate() {
            let mut lines = Vec::new();
            for (i, spec) in self.specs.iter().enumerate().filter(|(_, s)| s.context == *ctx) {
                let live: Vec<String> = self.keys[i]
                    .iter()
                    .filter(|k| !chain[..depth].iter().any(|c| self.lookup.contains_key(&(*c, **k))))
                    .map(|k| k.to_string())
                    .collect();
                if !live.is_empty() {
                    lines.push((live.join(" "), spec.desc));
                }
            }
            if !lines.is_empty() {
                out.push((*ctx, lines));
            }
        }
        out
    }
}

fn parse_keys(value: &toml::Value) -> Result<Vec<KeyChord>, String> {
    let expect = "expected a key like \"a\", \"ctrl-r\", \"enter\", \"f5\", a list of them, or [] to unbind";
    let one = |s: &str| KeyChord::parse(s).map_err(|e| format!("{e}; {expect}"));
    match value {
        toml::Value::String(s) => Ok(vec![one(s)?]),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| format!("{v} is not a string; {expect}")).and_then(one))
            .collect(),
        other => Err(format!("{other} is not a key; {expect}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        let t: toml::Table = toml::from_str(s).unwrap();
        t["keys"].as_table().unwrap().clone()
    }

    fn key(s: &str) -> KeyChord {
        KeyChord::parse(s).unwrap()
    }

    #[test]
    fn defaults_resolve_through_the_chain() {
        let km = Keymap::new(None, false).unwrap();
        let chain = [Context::Queue, Context::Marks, Context::Nav, Context::Global];
        assert_eq!(km.action(&chain, key("j")), Some(&Action::Down));
        assert_eq!(km.action(&chain, key("a")), Some(&Action::AssignToMe));
        assert_eq!(km.action(&chain, key("q")), Some(&Action::Quit));
        assert_eq!(km.action(&chain, key("x")), None);
    }

    #[test]
    fn shift_and_uppercase_are_the_same_chord() {
        assert_eq!(KeyChord::new(KeyCode::Char('g'), KeyModifiers::SHIFT), key("G"));
        assert_eq!(key("shift-g"), key("G"));
        assert_eq!(KeyChord::new(KeyCode::Tab, KeyModifiers::SHIFT), key("shift-tab"));
        assert_eq!(key("ctrl-R"), key("ctrl-r"));
        assert_eq!(key("space").to_string(), "space");
        assert_eq!(key("ctrl-r").to_string(), "ctrl-r");
    }

    #[test]
    fn overrides_replace_a_commands_keys() {
        let km = Keymap::new(Some(&table("[keys.queue]\nassign_to_me = \"m\"\ncomment = []")), false).unwrap();
        let chain = [Context::Queue, Context::Marks, Context::Nav, Context::Global];
        assert_eq!(km.action(&chain, key("m")), Some(&Action::AssignToMe));
        assert_eq!(km.action(&chain, key("a")), None);
        assert_eq!(km.action(&chain, key("c")), None);
        assert!(!km.has(Context::Queue, "comment"));
    }

    #[test]
    fn bad_configs_name_the_key() {
        let err = Keymap::new(Some(&table("[keys.qeue]\nopen = \"o\"")), false).unwrap_err();
        assert_eq!(err.path, "keys.qeue");
        assert!(err.problem.contains("queue"), "{err}");

        let err = Keymap::new(Some(&table("[keys.queue]\nasign = \"o\"")), false).unwrap_err();
        assert_eq!(err.path, "keys.queue.asign");
        assert!(err.problem.contains("assign_to_me"), "{err}");

        let err = Keymap::new(Some(&table("[keys.nav]\ndown = \"ctrl-\"")), false).unwrap_err();
        assert_eq!(err.path, "keys.nav.down");

        let err = Keymap::new(Some(&table("[keys.nav]\ndown = \"hyper-j\"")), false).unwrap_err();
        assert!(err.to_string().contains("keys.nav.down"), "{err}");

        let err = Keymap::new(Some(&table("[keys.queue]\nresolve = \"a\"")), false).unwrap_err();
        assert!(err.problem.contains("assign_to_me") || err.problem.contains("resolve"), "{err}");

        let err = Keymap::new(Some(&table("[keys.queue]\nresolve = 3")), false).unwrap_err();
        assert_eq!(err.path, "keys.queue.resolve");
    }

    #[test]
    fn read_only_removes_changing_commands_from_keys_and_help() {
        let km = Keymap::new(None, true).unwrap();
        let chain = [Context::Ticket, Context::Nav, Context::Global];
        assert_eq!(km.action(&chain, key("n")), None);
        assert_eq!(km.action(&chain, key("U")), None);
        assert_eq!(km.action(&chain, key("u")), Some(&Action::OpenCaller));
        let help = km.help(&chain);
        assert!(help.iter().flat_map(|(_, l)| l).all(|(_, d)| !d.contains("unlock") && !d.contains("note")));
    }

    #[test]
    fn help_leaves_out_shadowed_keys() {
        let km = Keymap::new(Some(&table("[keys.queue]\nsort = \"j\"")), false).unwrap();
        let help = km.help(&[Context::Queue, Context::Nav]);
        let nav = &help.iter().find(|(c, _)| *c == Context::Nav).unwrap().1;
        let down = nav.iter().find(|(_, d)| *d == "down").unwrap();
        assert_eq!(down.0, "down");
    }
}
