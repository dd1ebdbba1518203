//! `grantdesk audit verify | export | checkpoint`: the audit log from the command line.

use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::Globals;
use crate::domain::audit::Checkpoint;
use crate::domain::text::sanitize_line;
use crate::store::{ExportFormat, Store, TimeRange};

/// `grantdesk audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain: exit 0 with the count when intact, 1 naming the first broken
    /// sequence number and what is wrong (changed, missing, inserted, reordered).
    Verify {
        /// Also require a head recorded earlier elsewhere (`SEQ:HASH`, as `audit checkpoint`
        /// prints it): catches a log cut short or rewritten as a whole.
        #[arg(long, value_name = "SEQ:HASH", conflicts_with = "witness")]
        checkpoint: Option<Checkpoint>,
        /// Also require the latest checkpoint written to this ServiceNow ticket by `audit
        /// checkpoint --ticket` (read from the ticket's work notes).
        #[arg(long, value_name = "NUMBER")]
        witness: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export events: CSV for auditors, JSON lines shaped like Okta System Log events for a SIEM.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Only events at or after this time: RFC 3339, a date (YYYY-MM-DD, UTC) or an age (`7d`, `12h`).
        #[arg(long, value_name = "WHEN", value_parser = parse_when)]
        since: Option<DateTime<Utc>>,
        /// Only events before this time (same forms as --since).
        #[arg(long, value_name = "WHEN", value_parser = parse_when)]
        until: Option<DateTime<Utc>>,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Print the current head of the chain (sequence and hash), or write it as a work note on a
    /// ServiceNow ticket. Check the log against it later with `audit verify --checkpoint` (or
    /// `--witness NUMBER`).
    Checkpoint {
        /// Write the head as a work note on this ticket (through the outbox, audited).
        #[arg(long, value_name = "NUMBER")]
        ticket: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Strips control characters and escape sequences from what goes to a terminal. The export
/// writes one whole record per `write` call, so no character is ever split between two calls.
/// Files and pipes get the exact bytes.
struct TerminalSafe<W: Write>(W);

impl<W: Write> Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(crate::domain::text::sanitize(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Prints JSON for a script, or — on a terminal — with remote text made harmless.
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    if std::io::stdout().is_terminal() {
        println!("{}", crate::domain::text::sanitize(&text));
    } else {
        println!("{text}");
    }
    Ok(())
}

/// Parses `--since`/`--until`: RFC 3339, a UTC date, or an age before now.
pub(crate) fn parse_when(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(|| format!("`{s}` is not a valid date"));
    }
    if let Ok(age) = humantime::parse_duration(s) {
        let age = chrono::Duration::from_std(age).map_err(|_| format!("`{s}` is too long ago"))?;
        return Ok(Utc::now() - age);
    }
    Err(format!("`{s}` is not a time: use RFC 3339 (2025-03-01T09:00:00Z), a date (2025-03-01) or an age (7d, 12h)"))
}

/// Opens the configured store (`--db`, `GRANTDESK_DB`, the config file, or the default path).
pub(crate) async fn open_store(globals: &Globals) -> anyhow::Result<Store> {
    let config = globals.load_config()?;
    let location = config
        .db_location()
        .context("no store location: pass --db or set GRANTDESK_DB (no data folder could be found for the default)")?;
    Ok(Store::open(&location).await?)
}

pub(super) async fn run(args: AuditArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Checkpoint { ticket: Some(number), json } = &args.command {
        return checkpoint_to_ticket(globals, number, *json).await;
    }
    let store = open_store(globals).await?;
    let code = match args.command {
        AuditCommand::Verify { checkpoint, witness: None, json } => verify(&store, checkpoint, None, json).await?,
        AuditCommand::Verify { witness: Some(number), json, .. } => {
            let found = read_witness(globals, &number).await;
            match found {
                Ok(w) => verify(&store, Some(w.checkpoint), Some(&w), json).await?,
                Err(e) => {
                    store.close().await;
                    return Err(e);
                }
            }
        }
        AuditCommand::Export { format, since, until, output } => {
            let range = TimeRange { since, until };
            match output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(
                        std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
                    );
                    let n = store.export_audit(format, range, &mut file).await?;
                    file.flush().with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("exported {n} audit events to {}", path.display());
                }
                None if std::io::stdout().is_terminal() => {
                    let mut out = TerminalSafe(std::io::BufWriter::new(std::io::stdout()));
                    store.export_audit(format, range, &mut out).await?;
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout());
                    store.export_audit(format, range, &mut out).await?;
                }
            }
            ExitCode::SUCCESS
        }
        AuditCommand::Checkpoint { json, .. } => {
            let head = store.audit_head().await?;
            match (head, json) {
                (Some(h), false) => {
                    println!("{h}");
                    eprintln!(
                        "audit head: sequence {} hash {} — keep it elsewhere and check later with \
                         `grantdesk audit verify --checkpoint {h}`",
                        h.seq, h.hash
                    );
                }
                (Some(h), true) => println!(
                    "{}",
                    serde_json::json!({"sequence": h.seq, "hash": h.hash.to_hex(), "checkpoint": h.to_string()})
                ),
                (None, false) => println!("the audit log is empty: nothing to checkpoint yet"),
                (None, true) => println!("{}", serde_json::json!({"sequence": 0, "hash": null})),
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

/// A checkpoint read back from a ticket's work notes.
struct Witness {
    checkpoint: Checkpoint,
    ticket: String,
    written_by: String,
    written_at: DateTime<Utc>,
}

/// Writes the head as a work note on `number`, through the outbox: the intent and outcome are
/// `audit.checkpoint` events. The head written is the one before the intent is appended.
async fn checkpoint_to_ticket(globals: &Globals, number: &str, json: bool) -> anyhow::Result<ExitCode> {
    use crate::engine::{Command, Engine, EngineError, TicketRef};
    let cfg = globals.load_config()?;
    let engine = Engine::connect(&cfg, globals.read_only || cfg.read_only).await?;
    let Some(head) = engine.store().audit_head().await? else {
        anyhow::bail!("the audit log is empty: nothing to checkpoint yet");
    };
    let sn = engine.servicenow()?;
    let t = sn
        .ticket_by_number(number)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{} does not exist in ServiceNow", sanitize_line(number)))?;
    let command = Command::AuditCheckpoint {
        ticket: TicketRef { sys_id: t.sys_id.clone(), number: t.number.clone(), kind: t.kind, mod_count: t.mod_count },
        sequence: head.seq,
        hash: head.hash.to_hex(),
    };
    let key = format!("checkpoint:{}:{}", t.number, head);
    let finished = match engine.run(&command, Some(key)).await {
        Ok(f) => f,
        Err(EngineError::Refused(m)) => return Err(super::PolicyRefusal(m).into()),
        Err(e) => return Err(e.into()),
    };
    engine.store().close().await;
    match finished.result {
        Ok(summary) if json => {
            println!(
                "{}",
                serde_json::json!({"ok": true, "ticket": t.number, "sequence": head.seq, "hash": head.hash.to_hex(),
                                   "checkpoint": head.to_string(), "summary": summary})
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(summary) => {
            println!("{}", sanitize_line(&summary));
            eprintln!("check the log against it later with `grantdesk audit verify --witness {}`", t.number);
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => anyhow::bail!("could not {}: {why}", finished.description),
    }
}

/// The latest checkpoint work note on ticket `number`.
async fn read_witness(globals: &Globals, number: &str) -> anyhow::Result<Witness> {
    let cfg = globals.load_config()?;
    let sn = crate::servicenow::ServiceNowClient::new(&cfg.servicenow()?)?;
    let t = sn
        .ticket_by_number(number)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{} does not exist in ServiceNow", sanitize_line(number)))?;
    let journal = sn.journal(&t.sys_id).await.context("reading the witness ticket's work notes")?;
    journal
        .iter()
        .filter(|e| e.kind == crate::domain::JournalKind::WorkNote)
        .filter_map(|e| {
            Checkpoint::from_witness_note(&e.value).map(|c| Witness {
                checkpoint: c,
                ticket: t.number.clone(),
                written_by: e.created_by.clone(),
                written_at: e.created_on,
            })
        })
        .max_by_key(|w| (w.written_at, w.checkpoint.seq))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} holds no audit checkpoint work note; write one with `grantdesk audit checkpoint --ticket {}`",
                t.number,
                t.number
            )
        })
}

async fn verify(
    store: &Store,
    checkpoint: Option<Checkpoint>,
    witness: Option<&Witness>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let v = store.verify_audit(checkpoint).await?;
    let head = v.head.map(|h| h.to_string());
    if let (Some(w), false) = (witness, json) {
        println!(
            "witness: {} work note by {} at {}: checkpoint {}",
            sanitize_line(&w.ticket),
            sanitize_line(&w.written_by),
            w.written_at.format("%Y-%m-%d %H:%M UTC"),
            w.checkpoint
        );
    }
    match (&v.result, json) {
        (Ok(n), false) => {
            println!("audit log intact: {n} events verified ({})", store.location());
            if let Some(h) = &head {
                println!("head: {h}");
            }
            if checkpoint.is_some() {
                println!("checkpoint found in the log");
            }
        }
        (Err(b), false) => {
            println!("AUDIT LOG BROKEN at sequence {} ({}): {}", b.seq, b.kind, b.explanation);
            match v.head {
                Some(h) => println!("events 1 to {} verify; everything from {} on cannot be trusted", h.seq, b.seq),
                None => println!("no event before the break verifies"),
            }
        }
        (Ok(n), true) => {
            println!(
                "{}",
                serde_json::json!({"intact": true, "events": n, "head": head,
                                   "witness": witness.map(|w| serde_json::json!({"ticket": w.ticket,
                                       "checkpoint": w.checkpoint.to_string(), "written_by": w.written_by,
                                       "written_at": w.written_at}))})
            );
        }
        (Err(b), true) => println!(
            "{}",
            serde_json::json!({
                "intact": false,
                "sequence": b.seq,
                "problem": b.kind.as_str(),
                "explanation": b.explanation,
                "verified_head": head,
            })
        ),
    }
    Ok(if v.result.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_three_forms() {
        assert_eq!(parse_when("2025-03-01T09:00:00Z").unwrap().to_rfc3339(), "2025-03-01T09:00:00+00:00");
        assert_eq!(parse_when("2025-03-01").unwrap().to_rfc3339(), "2025-03-01T00:00:00+00:00");
        let week = parse_when("7d").unwrap();
        let expected = Utc::now() - chrono::Duration::days(7);
        assert!((week - expected).num_seconds().abs() < 5);
        assert!(parse_when("last tuesday").unwrap_err().contains("RFC 3339"));
    }
}
