//! `grantdesk console-preview` (hidden): the console over the in-memory FIXTURE handler, to look
//! at the views before `grantdesk demo` is wired to the emulator, store and engine. Remove it when
//! `demo` lands.

use std::process::ExitCode;
use std::time::Duration;

use super::Globals;
use crate::tui::fixture::{FixtureData, FixtureHandler, OPERATOR};
use crate::tui::{ConsoleConfig, SavedView};

/// Options of `grantdesk console-preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// How many tickets to generate.
    #[arg(long, default_value_t = 5000)]
    pub tickets: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Refuse every change and show the read-only banner.
    #[arg(long)]
    pub read_only: bool,
    /// Capture the mouse (scroll, click to select).
    #[arg(long)]
    pub mouse: bool,
    /// Theme (default, light, high-contrast, mono, or one of yours).
    #[arg(long, env = "GRANTDESK_THEME")]
    pub theme: Option<String>,
    /// Delay of "live" answers after the cached ones, to watch refreshes happen.
    #[arg(long, default_value = "300ms")]
    pub latency: humantime::Duration,
    /// Make every change fail, to see failures and retries.
    #[arg(long)]
    pub fail_commands: bool,
    /// Saved view to open on.
    #[arg(long, default_value = "all")]
    pub view: String,
}

pub(super) async fn run(args: PreviewArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let cfg = globals.load_config()?;
    let mut console = ConsoleConfig::new(OPERATOR, "fixture").with_config(&cfg);
    console.read_only |= args.read_only;
    console.mouse = args.mouse;
    if args.theme.is_some() {
        console.theme = args.theme.clone();
    }
    console.initial_view = SavedView::parse(&args.view).ok_or_else(|| {
        anyhow::anyhow!("no saved view `{}`; try my-open, unassigned, access-requests, breached, all", args.view)
    })?;
    let data = FixtureData::generate(args.tickets, args.seed, chrono::Utc::now());
    let handler = FixtureHandler::new(data).with_latency(Duration::from(args.latency));
    if args.fail_commands {
        handler.fail_commands(Some("the fixture was started with --fail-commands".into()));
    }
    crate::tui::run(console, handler).await?;
    Ok(ExitCode::SUCCESS)
}
