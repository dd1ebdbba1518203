//! The command line: the same operations as the console, without the screen, for scripts and
//! cron. Every subcommand listed by `--help` works.
//!
//! Exit codes (ARCHITECTURE.md): 0 done; 1 failed (the message says why and what to do);
//! 2 usage; 3 refused by policy.

pub mod access;
mod audit;
pub mod bench;
mod bench_peer;
mod console;
mod demo;
mod emulator;
mod history;
mod sync;
mod ticket;
mod tickets;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::config::{Config, LoadOptions};

/// grantdesk — the ServiceNow queue beside Okta users and groups, access requests, approvals
/// and a tamper-evident audit log, in one terminal console.
#[derive(Debug, Parser)]
#[command(name = "grantdesk", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/grantdesk/config.toml).
    #[arg(long, global = true, value_name = "FILE", env = "GRANTDESK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Named profile from the config file (`[profiles.NAME]`).
    #[arg(long, global = true, value_name = "NAME", env = "GRANTDESK_PROFILE")]
    pub profile: Option<String>,
    /// Store: a SQLite path or a postgres:// URL (default: $XDG_DATA_HOME/grantdesk/grantdesk.db).
    #[arg(long, global = true, value_name = "PATH|URL", env = "GRANTDESK_DB")]
    pub db: Option<String>,
    /// Refuse every action that changes anything (the console hides them and shows a banner).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Console options (bare `grantdesk` opens the console).
    #[command(flatten)]
    pub console: console::ConsoleArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the built-in ServiceNow + Okta emulator over the seeded world.
    Emulator(emulator::EmulatorArgs),
    /// List Okta users (all, or matching an Okta search expression).
    Users(users::UsersArgs),
    /// Show one Okta user: profile, status, groups, apps and recent System Log events.
    User(users::UserArgs),
    /// The console on the built-in emulator with a fresh store, as dana.desk: no set-up.
    Demo(demo::DemoArgs),
    /// List tickets from the configured ServiceNow instance.
    Tickets(tickets::TicketsArgs),
    /// The access catalog: what can be requested, approved by whom, fulfilled how.
    Catalog(access::CatalogArgs),
    /// Raise an access request from a ticket (shows what it grants and who will be asked).
    Request(access::RequestArgs),
    /// List access requests (--pending, --mine: your approvals inbox).
    Requests(access::RequestsArgs),
    /// Approve access requests (IDs, or --all-pending in bulk) with a comment.
    Approve(access::DecideArgs),
    /// Deny access requests (IDs, or --all-pending in bulk) with a comment.
    Deny(access::DecideArgs),
    /// Members of catalog groups with no approved request on record.
    Orphans(access::OrphansArgs),
    /// Record in ServiceNow the Okta Identity Governance requests it has no record of (from the
    /// System Log cached by `sync`).
    Bridge(access::BridgeArgs),
    /// Run the background work: pending actions, approval timeouts, grant expiry, OIG tracking.
    Worker(access::WorkerArgs),
    /// Pull what changed in ServiceNow and Okta into the local store (--full: everything).
    Sync(sync::SyncArgs),
    /// Show a ticket, or triage it: assign to yourself, add a work note or comment, change its
    /// state, resolve it (each change audited, applied exactly once).
    Ticket(ticket::TicketArgs),
    /// The tamper-evident audit log: verify the hash chain, export it, print its head.
    Audit(audit::AuditArgs),
    /// Who gave a user (or a group's members) their access: when, by whom, approved by whom, why,
    /// on which ticket, until when — from the local store.
    History(history::HistoryArgs),
    /// Measure grantdesk's hot paths on the seeded world — console keystrokes and filter, start to
    /// first frame and memory, full and incremental sync, audit append/verify/history, bulk
    /// approval under a rate-limit budget — each figure beside its target.
    Bench(bench::BenchArgs),
    /// grantdesk's side of the side-by-side with the vendors' SDKs (`bench/peers/run.sh`).
    #[command(hide = true)]
    BenchPeer(bench_peer::BenchPeerArgs),
    /// Print shell completions.
    Completions {
        /// Shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// A refusal by policy (separation of duties, not an approver, read-only mode): exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PolicyRefusal(pub String);

/// Global options every command may need.
pub struct Globals {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--db`.
    pub db: Option<String>,
    /// `--read-only`.
    pub read_only: bool,
}

impl Globals {
    /// Loads the configuration (file, profile, environment), printing its warnings once.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let mut cfg = Config::load(&LoadOptions { path: self.config.clone(), profile: self.profile.clone() })?;
        for w in cfg.warnings.drain(..) {
            eprintln!("{w}");
        }
        if let Some(db) = &self.db {
            cfg.db = Some(db.clone());
        }
        Ok(cfg)
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    crate::install_crypto_provider();
    let globals = Globals {
        config: cli.config.clone(),
        profile: cli.profile.clone(),
        db: cli.db.clone(),
        read_only: cli.read_only,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli.command, cli.console, globals));
    match result {
        Ok(code) => code,
        // The reader went away (`grantdesk … | head`): stop quietly, as Unix tools do.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            if e.downcast_ref::<PolicyRefusal>().is_some() { ExitCode::from(3) } else { ExitCode::from(1) }
        }
    }
}

/// An error and its causes on one line, each cause said once.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    crate::domain::text::sanitize_line(&parts.join(": ")).into_owned()
}

async fn run(command: Option<Command>, console: console::ConsoleArgs, globals: Globals) -> anyhow::Result<ExitCode> {
    match command {
        None => console::run(console, &globals).await,
        Some(Command::Emulator(args)) => emulator::run(args, &globals).await,
        Some(Command::Users(args)) => users::run_users(args, &globals).await,
        Some(Command::User(args)) => users::run_user(args, &globals).await,
        Some(Command::Demo(args)) => demo::run(args, console, &globals).await,
        Some(Command::Tickets(args)) => tickets::run(args, &globals).await,
        Some(Command::Ticket(args)) => ticket::run(args, &globals).await,
        Some(Command::Sync(args)) => sync::run(args, &globals).await,
        Some(Command::Catalog(args)) => access::catalog(args, &globals).await,
        Some(Command::Request(args)) => access::request(args, &globals).await,
        Some(Command::Requests(args)) => access::requests(args, &globals).await,
        Some(Command::Approve(args)) => access::decide(args, crate::domain::request::Verdict::Approve, &globals).await,
        Some(Command::Deny(args)) => access::decide(args, crate::domain::request::Verdict::Deny, &globals).await,
        Some(Command::Orphans(args)) => access::orphans(args, &globals).await,
        Some(Command::Bridge(args)) => access::bridge(args, &globals).await,
        Some(Command::Worker(args)) => access::worker(args, &globals).await,
        Some(Command::Audit(args)) => audit::run(args, &globals).await,
        Some(Command::History(args)) => history::run(args, &globals).await,
        Some(Command::Bench(args)) => bench::run(args, &globals).await,
        Some(Command::BenchPeer(args)) => bench_peer::run(args, &globals).await,
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "grantdesk", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
