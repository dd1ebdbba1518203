//! `grantdesk history (--user LOGIN | --group NAME) [--json]`: who gave this access, when, why,
//! on which ticket — from the local store, so it answers when the services are down.

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::Globals;
use super::audit::open_store;
use crate::domain::text::sanitize_line;
use crate::store::{Confirmation, GrantChange, GrantHistory, HistoryTarget, age_in_words};

/// Options of `grantdesk history`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("whose").required(true).args(["user", "group"])))]
pub struct HistoryArgs {
    /// An Okta user's login (their email).
    #[arg(long, value_name = "LOGIN")]
    user: Option<String>,
    /// An Okta group's (or app's) name.
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(args: HistoryArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let target = match (args.user, args.group) {
        (Some(u), _) => HistoryTarget::User(u),
        (None, Some(g)) => HistoryTarget::Group(g),
        (None, None) => anyhow::bail!("pass --user LOGIN or --group NAME"),
    };
    let store = open_store(globals).await?;
    let history = store.grant_history(&target, Utc::now()).await?;
    store.close().await;
    if args.json {
        super::audit::print_json(&history)?;
    } else {
        print!("{}", render(&history));
    }
    Ok(ExitCode::SUCCESS)
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// Truncates to `width` characters with an ellipsis.
fn cell(s: &str, width: usize) -> String {
    let s = sanitize_line(s);
    if s.chars().count() <= width {
        format!("{s:width$}")
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The plain-text report: a freshness line, one row per change, details beneath.
pub fn render(h: &GrantHistory) -> String {
    let mut out = String::new();
    let (whose, name) = match &h.target {
        HistoryTarget::User(u) => ("user", u.as_str()),
        HistoryTarget::Group(g) => ("group", g.as_str()),
    };
    let _ = write!(out, "Grant history for {whose} {}", sanitize_line(name));
    if let Some(status) = &h.status {
        let _ = write!(out, " (Okta status {})", sanitize_line(status));
    }
    out.push('\n');
    let mut fresh = vec!["audit log: local, current".to_string()];
    for f in &h.freshness {
        fresh.push(match f.synced_at {
            Some(t) => format!("{}: synced {} ago", f.source, age_in_words(t, h.generated_at)),
            None => format!("{}: never synced", f.source),
        });
    }
    let _ = writeln!(out, "Data: {}", fresh.join("; "));
    out.push('\n');
    if h.entries.is_empty() {
        out.push_str("No grants or removals on record.\n");
    } else {
        let _ = writeln!(
            out,
            "{:16}  {:7}  {:24}  {:24}  {:16}  {:24}  {:11}  {:16}  OKTA LOG",
            "WHEN (UTC)", "CHANGE", "USER", "ACCESS", "BY", "APPROVED BY", "TICKET", "EXPIRES"
        );
        for e in &h.entries {
            let change = match e.change {
                GrantChange::Grant => "grant",
                GrantChange::Removal => "removal",
            };
            let okta = match &e.okta {
                Confirmation::Confirmed { .. } => "confirmed",
                Confirmation::NotSeen => "not seen",
            };
            let _ = writeln!(
                out,
                "{:16}  {:7}  {}  {}  {}  {}  {}  {:16}  {okta}",
                when(e.when),
                change,
                cell(&e.user, 24),
                cell(&e.target, 24),
                cell(if e.by.is_empty() { "-" } else { &e.by }, 16),
                cell(if e.approved_by.is_empty() { "-".to_string() } else { e.approved_by.join(", ") }.as_str(), 24),
                cell(if e.ticket.is_empty() { "-" } else { &e.ticket }, 11),
                e.expires_at.map(when).unwrap_or_else(|| "-".into()),
            );
            if !e.justification.is_empty() {
                let _ = writeln!(out, "    why: {}", sanitize_line(&e.justification));
            }
            match (e.request.is_empty(), e.record.is_empty()) {
                (false, false) => {
                    let _ = writeln!(
                        out,
                        "    request: {}, recorded in ServiceNow as {}",
                        sanitize_line(&e.request),
                        sanitize_line(&e.record)
                    );
                }
                (false, true) => {
                    let _ = writeln!(out, "    request: {}", sanitize_line(&e.request));
                }
                (true, false) if e.record != e.ticket => {
                    let _ = writeln!(out, "    ServiceNow record: {}", sanitize_line(&e.record));
                }
                _ => {}
            }
            if !e.note.is_empty() {
                let _ = writeln!(out, "    note: {}", sanitize_line(&e.note));
            }
        }
    }
    if h.unexplained_total > 0 {
        let what = match h.target {
            HistoryTarget::User(_) => "Current access with no grant on record",
            HistoryTarget::Group(_) => "Current members with no grant on record",
        };
        let list: Vec<String> = h.unexplained.iter().map(|s| sanitize_line(s).into_owned()).collect();
        let more = h.unexplained_total.saturating_sub(h.unexplained.len());
        let _ = write!(out, "\n{what} ({}): {}", h.unexplained_total, list.join(", "));
        if more > 0 {
            let _ = write!(out, " and {more} more");
        }
        out.push('\n');
    }
    out
}
