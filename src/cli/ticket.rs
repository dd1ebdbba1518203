//! `grantdesk ticket NUMBER`: show a ticket, or triage it — assign it to yourself, add a work
//! note or comment, change its state, resolve it. Every change goes through the outbox and the
//! audit log (intent before, outcome after), and is refused, not overwritten, when the ticket was
//! changed since you last saw it.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use super::{Globals, PolicyRefusal};
use crate::domain::text::{sanitize, sanitize_line};
use crate::domain::{JournalKind, Ticket, TicketKind};
use crate::engine::{Command, Engine, EngineError, TicketRef};
use crate::servicenow::{DisplayValue, ListOptions, Query};

/// Options of `grantdesk ticket`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("change").multiple(false).args(["assign_to_me", "note", "comment", "state", "resolve"])))]
pub struct TicketArgs {
    /// Ticket number (INC…, REQ…, RITM…, SCTASK…).
    pub number: String,
    /// Assign the ticket to yourself.
    #[arg(long)]
    pub assign_to_me: bool,
    /// Add a work note (visible to agents only).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Add a comment (visible to the caller).
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Move the ticket to another state, by label or value (e.g. "In Progress" or 2).
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Resolve the ticket (needs --close-code and --close-notes).
    #[arg(long, requires_all = ["close_code", "close_notes"])]
    pub resolve: bool,
    /// Resolution code, e.g. "Solution provided".
    #[arg(long, value_name = "CODE", requires = "resolve")]
    pub close_code: Option<String>,
    /// Resolution notes.
    #[arg(long, value_name = "TEXT", requires = "resolve")]
    pub close_notes: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(args: TicketArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let cfg = globals.load_config()?;
    let engine = Engine::connect(&cfg, globals.read_only || cfg.read_only).await?;
    let sn = engine.servicenow()?;
    let number = args.number.trim().to_ascii_uppercase();
    if TicketKind::from_number(&number).is_none() {
        anyhow::bail!("`{}` is not a ticket number; expected INC…, REQ…, RITM… or SCTASK…", args.number);
    }
    let live = sn
        .ticket_by_number(&number)
        .await?
        .with_context(|| format!("{number} does not exist in ServiceNow (or you may not read it)"))?;
    // What the operator "saw": the cached copy when there is one, so a change made since their
    // last sync is noticed rather than overwritten.
    let cached = engine.store().ticket(&live.sys_id).await?.map(|d| d.ticket);
    let seen = cached.as_ref().unwrap_or(&live);
    let tref = TicketRef {
        sys_id: live.sys_id.clone(),
        number: live.number.clone(),
        kind: live.kind,
        mod_count: seen.mod_count,
    };

    let command = if args.assign_to_me {
        Some(Command::AssignToMe { ticket: tref })
    } else if let Some(text) = args.note.as_deref() {
        Some(Command::AddJournal { ticket: tref, journal: JournalKind::WorkNote, text: nonempty(text, "--note")? })
    } else if let Some(text) = args.comment.as_deref() {
        Some(Command::AddJournal { ticket: tref, journal: JournalKind::Comment, text: nonempty(text, "--comment")? })
    } else if let Some(state) = args.state.as_deref() {
        let (value, label) = resolve_state(&engine, live.kind, state).await?;
        if value == crate::engine::apply::STATE_RESOLVED && live.kind == TicketKind::Incident {
            anyhow::bail!("to resolve, use --resolve --close-code CODE --close-notes TEXT");
        }
        Some(Command::ChangeState { ticket: tref, state: value, label })
    } else if args.resolve {
        Some(Command::Resolve {
            ticket: tref,
            close_code: nonempty(args.close_code.as_deref().unwrap_or(""), "--close-code")?,
            close_notes: nonempty(args.close_notes.as_deref().unwrap_or(""), "--close-notes")?,
        })
    } else {
        None
    };

    let Some(command) = command else {
        // Show: refresh the cache with what is live, so a following change compares against it.
        let journal = sn.journal(&live.sys_id).await?;
        let approvals = sn.approvals_for(&live.sys_id).await?;
        engine.store().upsert_tickets(std::slice::from_ref(&live)).await?;
        engine.store().upsert_journal(&journal).await?;
        engine.store().upsert_approvals(&approvals).await?;
        print_ticket(&live, &journal, &approvals, args.json)?;
        return Ok(ExitCode::SUCCESS);
    };

    let finished = match engine.run(&command, None).await {
        Ok(f) => f,
        Err(EngineError::Refused(m)) => return Err(PolicyRefusal(m).into()),
        Err(e) => return Err(e.into()),
    };
    // Keep the cache in step with what was just written.
    if let Ok(Some(now)) = sn.ticket(live.kind, &live.sys_id).await {
        engine.store().upsert_tickets(std::slice::from_ref(&now)).await?;
    }
    let mut out = std::io::stdout().lock();
    match &finished.result {
        Ok(summary) => {
            if args.json {
                writeln!(out, "{}", json!({"ok": true, "outbox_id": finished.id, "summary": summary}))?;
            } else {
                writeln!(out, "{}", sanitize_line(summary))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            if args.json {
                writeln!(out, "{}", json!({"ok": false, "outbox_id": finished.id, "error": why}))?;
            }
            anyhow::bail!("could not {}: {why}", finished.description)
        }
    }
}

fn nonempty(text: &str, flag: &str) -> anyhow::Result<String> {
    let t = text.trim();
    if t.is_empty() {
        anyhow::bail!("{flag} needs some text");
    }
    Ok(t.to_string())
}

/// Maps a state label or value to the table's `state` choice, from `sys_choice`.
async fn resolve_state(engine: &Engine, kind: TicketKind, wanted: &str) -> anyhow::Result<(String, String)> {
    let sn = engine.servicenow()?;
    let q = Query::new().eq("name", kind.table()).eq("element", "state").eq("inactive", "false").order_by("sequence");
    let mut choices = sn.list("sys_choice", &q, &ListOptions::fields(&["value", "label"], DisplayValue::Value)).await?;
    if choices.is_empty() && kind != TicketKind::Incident {
        // Catalog tables inherit task's states.
        let q = Query::new().eq("name", "task").eq("element", "state").eq("inactive", "false").order_by("sequence");
        choices = sn.list("sys_choice", &q, &ListOptions::fields(&["value", "label"], DisplayValue::Value)).await?;
    }
    let w = wanted.trim();
    for c in &choices {
        if c.value("value") == w || c.value("label").eq_ignore_ascii_case(w) {
            return Ok((c.value("value").to_string(), c.value("label").to_string()));
        }
    }
    let known: Vec<String> = choices.iter().map(|c| format!("{} ({})", c.value("label"), c.value("value"))).collect();
    anyhow::bail!("`{w}` is not a state of {}; choose one of: {}", kind.table(), known.join(", "))
}

fn print_ticket(
    t: &Ticket,
    journal: &[crate::domain::JournalEntry],
    approvals: &[crate::domain::Approval],
    as_json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if as_json {
        let v = json!({"ticket": t, "journal": journal, "approvals": approvals});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let s = |x: &str| sanitize_line(x).into_owned();
    writeln!(out, "{}  {}", s(&t.number), s(&t.short_description))?;
    writeln!(out, "  state     {} (priority {})", s(&t.state_label), t.priority)?;
    writeln!(out, "  caller    {} {}", s(&t.caller.display), s(&t.caller_email))?;
    writeln!(out, "  group     {}", s(&t.assignment_group.display))?;
    writeln!(
        out,
        "  assigned  {}",
        if t.assigned_to.is_empty() { "(unassigned)".to_string() } else { s(&t.assigned_to.display) }
    )?;
    writeln!(out, "  opened    {}", t.opened_at.format("%Y-%m-%d %H:%M UTC"))?;
    writeln!(
        out,
        "  updated   {} by {} (update {})",
        t.updated_at.format("%Y-%m-%d %H:%M UTC"),
        s(&t.updated_by),
        t.mod_count
    )?;
    if !t.close_code.is_empty() {
        writeln!(out, "  resolved  {}: {}", s(&t.close_code), s(&t.close_notes))?;
    }
    if !t.description.trim().is_empty() {
        writeln!(out)?;
        for line in sanitize(&t.description).lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if !approvals.is_empty() {
        writeln!(out, "\napprovals")?;
        for a in approvals {
            writeln!(out, "  {:<12} {}  {}", a.state.value(), s(&a.approver.display), s(&a.comments))?;
        }
    }
    if !journal.is_empty() {
        writeln!(out, "\njournal (newest first)")?;
        for j in journal {
            let kind = match j.kind {
                JournalKind::WorkNote => "work note",
                JournalKind::Comment => "comment",
            };
            writeln!(out, "  {} {} — {}", j.created_on.format("%Y-%m-%d %H:%M"), s(&j.created_by), kind)?;
            for line in sanitize(&j.value).lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(())
}
