//! `grantdesk sync [--full]`: pull what changed in ServiceNow and Okta into the local store.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Globals;
use crate::engine::Engine;
use crate::engine::sync::{Progress, SyncOptions};

/// Options of `grantdesk sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// List everything again (and drop what is gone), instead of only what changed.
    #[arg(long)]
    pub full: bool,
    /// Only ServiceNow.
    #[arg(long, conflicts_with = "okta_only")]
    pub servicenow_only: bool,
    /// Only Okta.
    #[arg(long)]
    pub okta_only: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(args: SyncArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let cfg = globals.load_config()?;
    let engine = Engine::connect(&cfg, globals.read_only || cfg.read_only).await?;
    let opts = SyncOptions { full: args.full, servicenow: !args.okta_only, okta: !args.servicenow_only };
    let tty = std::io::stderr().is_terminal() && !args.json;
    let bars = MultiProgress::new();
    let open: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let style = ProgressStyle::with_template("{spinner} {prefix:<28} {human_pos:>9} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let counted = ProgressStyle::with_template("{spinner} {prefix:<28} {bar:30} {human_pos:>7}/{human_len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let plain_last: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
    let progress = |p: Progress| {
        if tty {
            let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
            let bar = open.entry(p.source.clone()).or_insert_with(|| {
                let b = bars.add(ProgressBar::new_spinner());
                b.set_style(style.clone());
                b.set_prefix(p.source.clone());
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            });
            if let Some(total) = p.total {
                bar.set_style(counted.clone());
                bar.set_length(total);
            }
            bar.set_position(p.done);
            if p.finished {
                bar.finish_with_message("done");
            }
        } else if !args.json {
            // Plain lines for logs and pipes: one when a source finishes, and every 10,000.
            let mut last = plain_last.lock().unwrap_or_else(|e| e.into_inner());
            let prev = last.entry(p.source.clone()).or_insert(0);
            if p.finished || p.done >= *prev + 10_000 {
                *prev = p.done;
                let state = if p.finished { "done" } else { "…" };
                eprintln!("sync {}: {} records {state}", p.source, p.done);
            }
        }
    };
    let report = engine.sync(opts, &progress).await?;
    bars.clear().ok();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(
            out,
            "{:<31} {:>9} {:>8} {:>9} {:>9} {:>9}",
            "source", "fetched", "removed", "requests", "seconds", "store s"
        )?;
        for s in &report.sources {
            writeln!(
                out,
                "{:<31} {:>9} {:>8} {:>9} {:>9.1} {:>9.1}",
                s.source, s.fetched, s.removed, s.requests, s.seconds, s.store_seconds
            )?;
        }
        writeln!(
            out,
            "{} sync: {} requests in {:.1} s ({:.0} % of it in the store)",
            if report.full { "full" } else { "incremental" },
            report.requests,
            report.seconds,
            if report.seconds > 0.0 { 100.0 * report.store_seconds / report.seconds } else { 0.0 }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
