//! `grantdesk tickets`: list tickets from the configured ServiceNow instance.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use futures::TryStreamExt as _;

use super::Globals;
use crate::domain::text::sanitize_line;
use crate::domain::{Ticket, TicketKind};
use crate::servicenow::{ListOptions, Query, ServiceNowClient, ticket_from_record};

/// Which ticket table to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableArg {
    /// Incidents (INC…).
    Incident,
    /// Service-catalog requests (REQ…).
    #[value(name = "sc_request")]
    ScRequest,
    /// Requested items (RITM…).
    #[value(name = "sc_req_item")]
    ScReqItem,
    /// Catalog tasks (SCTASK…).
    #[value(name = "sc_task")]
    ScTask,
}

impl TableArg {
    fn kind(self) -> TicketKind {
        match self {
            TableArg::Incident => TicketKind::Incident,
            TableArg::ScRequest => TicketKind::Request,
            TableArg::ScReqItem => TicketKind::RequestedItem,
            TableArg::ScTask => TicketKind::CatalogTask,
        }
    }
}

/// Options of `grantdesk tickets`.
#[derive(Debug, clap::Args)]
pub struct TicketsArgs {
    /// ServiceNow encoded query, e.g. 'priority=1^active=true' (default: active=true). Without
    /// ORDERBY the newest updates come first.
    #[arg(long, short, value_name = "ENCODED")]
    pub query: Option<String>,
    /// Ticket table to list.
    #[arg(long, value_enum, default_value = "incident")]
    pub table: TableArg,
    /// At most N tickets; 0 lists every match.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// Print JSON Lines (one ticket object per line) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Levenshtein distance, for "did you mean" on misspelt field names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// ServiceNow ignores conditions on unknown fields and returns everything; a person who typed
/// `priorty=1` wants to hear about the typo instead. The fields of one record are the table's.
async fn check_fields(sn: &ServiceNowClient, kind: TicketKind, query: &Query) -> anyhow::Result<()> {
    let sample =
        sn.list_page(kind.table(), &Query::new(), &crate::servicenow::ListOptions::default(), 0, 1).await?.records;
    let Some(record) = sample.first() else { return Ok(()) };
    for field in query.fields() {
        let head = field.split('.').next().unwrap_or(field);
        if record.has(head) {
            continue;
        }
        let suggestion = record.0.keys().min_by_key(|k| distance(head, k)).filter(|k| distance(head, k) <= 2);
        anyhow::bail!(
            "invalid --query: `{head}` is not a field of {}{}",
            kind.table(),
            suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
        );
    }
    Ok(())
}

fn cut(s: &str, width: usize) -> String {
    let clean = sanitize_line(s);
    if clean.chars().count() <= width {
        return clean.into_owned();
    }
    let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn print_table(out: &mut impl std::io::Write, tickets: &[Ticket], width: Option<usize>) -> std::io::Result<()> {
    let headers = ["NUMBER", "PRI", "STATE", "OPENED", "CALLER", "GROUP", "ASSIGNED TO", "SHORT DESCRIPTION"];
    let rows: Vec<[String; 8]> = tickets
        .iter()
        .map(|t| {
            let name =
                |r: &crate::domain::Reference| if r.display.is_empty() { r.sys_id.clone() } else { r.display.clone() };
            [
                t.number.clone(),
                if t.priority == 0 { String::new() } else { t.priority.to_string() },
                t.state_label.clone(),
                t.opened_at.format("%Y-%m-%d %H:%M").to_string(),
                name(&t.caller),
                name(&t.assignment_group),
                name(&t.assigned_to),
                t.short_description.clone(),
            ]
        })
        .collect();
    // Column widths from the content, each capped so one long name cannot push the rest away.
    let caps = [14, 3, 18, 16, 22, 20, 22, usize::MAX];
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(sanitize_line(cell).chars().count()).min(caps[i]);
        }
    }
    if let Some(total) = width {
        let fixed: usize = widths[..7].iter().map(|w| w + 2).sum();
        widths[7] = widths[7].min(total.saturating_sub(fixed).max(10));
    }
    let line = |cells: Vec<String>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let cell = cut(c, widths[i]);
            if i + 1 < cells.len() {
                s.push_str(&format!("{:<w$}  ", cell, w = widths[i]));
            } else {
                s.push_str(&cell);
            }
        }
        let mut s = s.trim_end().to_string();
        if let Some(total) = width {
            if s.chars().count() > total {
                s = s.chars().take(total).collect();
            }
        }
        s
    };
    writeln!(out, "{}", line(headers.iter().map(|h| h.to_string()).collect()))?;
    for r in rows {
        writeln!(out, "{}", line(r.to_vec()))?;
    }
    Ok(())
}

pub(super) async fn run(args: TicketsArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let kind = args.table.kind();
    let mut query = match &args.query {
        Some(q) => Query::parse(q.trim()).context("invalid --query")?,
        None => Query::new().eq("active", true),
    };
    if !query.is_ordered() {
        query = query.order_by_desc("sys_updated_on");
    }
    query.encode().context("invalid --query")?;
    let cfg = globals.load_config()?.servicenow()?;
    let sn = ServiceNowClient::new(&cfg)?;
    if args.query.is_some() {
        check_fields(&sn, kind, &query).await?;
    }
    let limit = (args.limit > 0).then_some(args.limit);
    let opts = ListOptions { limit, ..ServiceNowClient::ticket_list_options(kind, limit.unwrap_or(1000).min(1000)) };
    let mut pages = std::pin::pin!(sn.pages(kind.table(), &query, &opts));
    let mut total = None;
    let mut tickets = Vec::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Some(page) = pages.try_next().await? {
        total = page.total.or(total);
        for r in &page.records {
            let t = ticket_from_record(kind, r)?;
            if args.json {
                // JSON escapes control characters, so remote text is inert here too.
                writeln!(out, "{}", serde_json::to_string(&t)?)?;
            } else {
                tickets.push(t);
            }
        }
        if args.json {
            out.flush()?;
        }
    }
    if !args.json {
        let width = std::io::stdout()
            .is_terminal()
            .then(|| crossterm::terminal::size().ok().map(|(w, _)| w as usize))
            .flatten();
        if tickets.is_empty() {
            eprintln!("no {} matches {}", kind.table(), query);
        } else {
            print_table(&mut out, &tickets, width)?;
        }
    }
    out.flush()?;
    let shown = if args.json { None } else { Some(tickets.len()) };
    if let (Some(total), Some(limit)) = (total, limit) {
        if total > limit {
            eprintln!("showing {} of {total} {}; --limit 0 lists them all", shown.unwrap_or(limit), kind.table());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_near_misses() {
        assert_eq!(distance("priorty", "priority"), 1);
        assert_eq!(distance("state", "state"), 0);
    }

    #[test]
    fn table_is_sanitised_and_fits_the_width() {
        let t = Ticket {
            sys_id: "x".into(),
            number: "INC0010001".into(),
            kind: TicketKind::Incident,
            short_description: "Printer \u{1b}[2J on fire and a very long description that goes on".into(),
            description: String::new(),
            state: "1".into(),
            state_label: "New".into(),
            priority: 1,
            active: true,
            caller: crate::domain::Reference { sys_id: "u".into(), display: "Riley\nRequester".into() },
            caller_email: String::new(),
            assignment_group: Default::default(),
            assigned_to: Default::default(),
            category: String::new(),
            parent: Default::default(),
            cat_item: String::new(),
            opened_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            updated_by: String::new(),
            mod_count: 0,
            sla_due: None,
            sla_breached: false,
            close_code: String::new(),
            close_notes: String::new(),
            approval: String::new(),
        };
        let mut buf = Vec::new();
        print_table(&mut buf, &[t], Some(80)).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("Riley Requester"));
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
