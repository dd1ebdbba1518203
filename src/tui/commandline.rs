//! The `:` command line: what each command means and what Tab offers to complete it with.

use std::collections::BTreeSet;

use crate::tui::action::Action;
use crate::tui::effect::SavedView;
use crate::tui::state::State;

/// The commands, with their argument and what they do (shown by completion and in help).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("q", "", "quit"),
    ("quit", "", "quit"),
    ("view", "NAME", "switch the queue to a saved view"),
    ("ticket", "NUMBER", "open a ticket"),
    ("user", "LOGIN", "open an Okta user"),
    ("group", "NAME", "open an Okta group"),
    ("audit", "[TEXT]", "audit log, optionally filtered"),
    ("verify", "", "verify the audit hash chain"),
    ("dashboard", "", "charts of the queue"),
    ("inbox", "", "access requests waiting for your decision"),
    ("request", "", "request access (from the open ticket)"),
    ("expiring", "", "grants expiring soon"),
    ("orphans", "", "members of catalog groups with no approved request"),
    ("as", "LOGIN", "take another persona's seat (demo only)"),
    ("theme", "NAME", "switch theme"),
    ("sync", "", "sync with ServiceNow and Okta now"),
    ("refresh", "", "reload what is on screen"),
    ("retry", "", "retry the last failed change"),
    ("help", "", "keys of this view"),
];

/// What a command line means, or why it means nothing.
pub fn parse(line: &str) -> Result<Action, String> {
    let line = line.trim().trim_start_matches(':').trim();
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    let need = |usage: &str| -> Result<&str, String> {
        if arg.is_empty() { Err(format!("usage: :{cmd} {usage}")) } else { Ok(arg) }
    };
    Ok(match cmd {
        "" => return Err("type a command; Tab completes, :help lists keys".into()),
        "q" | "q!" | "quit" | "qa" => Action::Quit,
        "view" | "v" => {
            let name = need("NAME (my-open, unassigned, access-requests, breached, all)")?;
            let view = SavedView::parse(name).ok_or_else(|| {
                format!("no saved view `{name}`; views: {}", SavedView::ALL.map(|v| v.slug()).join(", "))
            })?;
            Action::ShowView(view)
        }
        "ticket" | "t" => Action::OpenTicket { number: need("NUMBER")?.to_ascii_uppercase(), sys_id: None },
        "user" | "u" => Action::OpenUser(need("LOGIN")?.to_string()),
        "group" | "g" => Action::OpenGroup(need("NAME")?.to_string()),
        "audit" => Action::SearchAudit(arg.to_string()),
        "verify" => Action::VerifyAudit,
        "dashboard" | "dash" => Action::ShowDashboard,
        "inbox" => Action::ShowInbox,
        "request" => Action::RequestAccess,
        "expiring" => Action::ShowExpiring,
        "orphans" => Action::ShowOrphans,
        "as" => Action::SwitchOperator(need("LOGIN")?.to_string()),
        "theme" => Action::SetTheme(need("NAME")?.to_string()),
        "sync" => Action::Sync,
        "refresh" => Action::Refresh,
        "retry" => Action::Retry,
        "help" | "h" => Action::ShowHelp,
        other => {
            return Err(format!("unknown command `:{other}`; Tab lists commands"));
        }
    })
}

/// Candidates for the word being typed: command names first, then the command's argument.
pub fn complete(line: &str, state: &State) -> Vec<String> {
    let line = line.trim_start_matches(':');
    let Some((cmd, arg)) = line.split_once(' ') else {
        return COMMANDS
            .iter()
            .map(|(c, _, _)| *c)
            .filter(|c| c.starts_with(line) && *c != "q")
            .map(String::from)
            .collect();
    };
    let arg_lower = arg.trim_start().to_lowercase();
    let prefixed = |items: Vec<String>| -> Vec<String> {
        items.into_iter().filter(|i| i.to_lowercase().starts_with(&arg_lower)).take(50).collect()
    };
    match cmd {
        "view" | "v" => prefixed(SavedView::ALL.iter().map(|v| v.slug().to_string()).collect()),
        "theme" => prefixed(state.themes.names()),
        "as" => prefixed(crate::emulator::world::Persona::ALL.iter().map(|p| p.user_name().to_string()).collect()),
        "user" | "u" => {
            let mut logins: BTreeSet<String> = state.users.keys().cloned().collect();
            logins.extend(
                state.queue.rows.iter().filter(|r| !r.caller_login.is_empty()).map(|r| r.caller_login.to_lowercase()),
            );
            prefixed(logins.into_iter().collect())
        }
        "group" | "g" => {
            let mut names: BTreeSet<String> = BTreeSet::new();
            for user in state.users.values().filter_map(|u| u.data.as_ref()) {
                names.extend(user.groups.iter().map(|g| g.name.clone()));
            }
            names.extend(state.groups.values().filter_map(|g| g.data.as_ref()).map(|g| g.group.name.clone()));
            prefixed(names.into_iter().collect())
        }
        "ticket" | "t" => {
            let upper = arg_lower.to_ascii_uppercase();
            let mut numbers: Vec<String> = state
                .queue
                .rows
                .iter()
                .filter(|r| r.number.starts_with(&upper))
                .take(50)
                .map(|r| r.number.clone())
                .collect();
            numbers.sort();
            numbers
        }
        _ => Vec::new(),
    }
}

/// The line with its last word replaced by `candidate`.
pub fn apply(line: &str, candidate: &str) -> String {
    match line.rsplit_once(' ') {
        Some((head, _)) => format!("{head} {candidate}"),
        None => {
            let takes_arg = COMMANDS.iter().any(|(c, a, _)| *c == candidate && !a.is_empty());
            if takes_arg { format!("{candidate} ") } else { candidate.to_string() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_to_actions() {
        assert_eq!(parse("q"), Ok(Action::Quit));
        assert_eq!(parse(":view breached"), Ok(Action::ShowView(SavedView::BreachedSla)));
        assert_eq!(parse("view my open"), Ok(Action::ShowView(SavedView::MyOpen)));
        assert_eq!(parse("view acc"), Ok(Action::ShowView(SavedView::AccessRequests)));
        assert_eq!(parse("ticket inc0010001"), Ok(Action::OpenTicket { number: "INC0010001".into(), sys_id: None }));
        assert_eq!(
            parse("user riley.requester@example.com"),
            Ok(Action::OpenUser("riley.requester@example.com".into()))
        );
        assert_eq!(parse("audit riley"), Ok(Action::SearchAudit("riley".into())));
        assert_eq!(parse("audit"), Ok(Action::SearchAudit(String::new())));
        assert_eq!(parse("inbox"), Ok(Action::ShowInbox));
        assert_eq!(parse(":as morgan.manager"), Ok(Action::SwitchOperator("morgan.manager".into())));
        assert!(parse("as").unwrap_err().contains("usage: :as LOGIN"));
    }

    #[test]
    fn mistakes_say_what_to_type() {
        assert!(parse("user").unwrap_err().contains("usage: :user LOGIN"));
        assert!(parse("view nope").unwrap_err().contains("my-open"));
        assert!(parse("frobnicate").unwrap_err().contains("unknown command"));
    }

    #[test]
    fn apply_replaces_the_last_word() {
        assert_eq!(apply("vi", "view"), "view ");
        assert_eq!(apply("sy", "sync"), "sync");
        assert_eq!(apply("view br", "breached"), "view breached");
    }
}
