//! Bare `grantdesk`: the console on the configured ServiceNow and Okta instances.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use super::Globals;
use crate::engine::Engine;
use crate::tui::{ConsoleConfig, SavedView};

/// How often the console syncs in the background.
pub const SYNC_EVERY: Duration = Duration::from_secs(60);

/// Console options, accepted by bare `grantdesk` and by `grantdesk demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Theme: default, light, high-contrast, mono, or one of yours ($XDG_CONFIG_HOME/grantdesk/themes).
    #[arg(long, value_name = "NAME", env = "GRANTDESK_THEME")]
    pub theme: Option<String>,
    /// Capture the mouse (scroll, click to select); it stops the terminal's own text selection.
    #[arg(long)]
    pub mouse: bool,
    /// Saved view the queue opens on: my-open (the default), unassigned, access-requests, breached, all.
    #[arg(long, value_name = "NAME")]
    pub view: Option<String>,
    /// Log file (default: $XDG_STATE_HOME/grantdesk/console.log); the level comes from GRANTDESK_LOG.
    #[arg(long, value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
}

impl ConsoleArgs {
    /// These options, with `other`'s where these are not given.
    pub fn or(self, other: ConsoleArgs) -> ConsoleArgs {
        ConsoleArgs {
            theme: self.theme.or(other.theme),
            mouse: self.mouse || other.mouse,
            view: self.view.or(other.view),
            log: self.log.or(other.log),
        }
    }

    /// Applies the options to a console configuration; the queue opens on `view` unless told.
    pub fn apply(&self, mut console: ConsoleConfig, view: SavedView) -> anyhow::Result<ConsoleConfig> {
        if self.theme.is_some() {
            console.theme = self.theme.clone();
        }
        console.mouse |= self.mouse;
        console.initial_view = match &self.view {
            None => view,
            Some(name) => SavedView::parse(name).ok_or_else(|| {
                anyhow::anyhow!("no saved view `{name}`; try my-open, unassigned, access-requests, breached or all")
            })?,
        };
        console.sync_every = Some(SYNC_EVERY);
        console.sync_at_start = true;
        Ok(console)
    }
}

/// The host of a URL, for the console's header.
pub fn instance_name(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| url.to_string())
}

pub(super) async fn run(args: ConsoleArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let cfg = globals.load_config()?;
    let read_only = globals.read_only || cfg.read_only;
    let log = args.log.clone().or_else(crate::tui::logging::default_path);
    let _log = match &log {
        Some(path) => Some(crate::tui::logging::to_file(path)?),
        None => None,
    };
    let engine = Engine::connect(&cfg, read_only).await.context(
        "the console needs ServiceNow to say who you are; check GRANTDESK_SERVICENOW_URL and your credentials, \
         or try `grantdesk demo`",
    )?;
    let instance = engine.servicenow().map(|sn| instance_name(sn.base_url().as_str())).unwrap_or_default();
    let mut console = ConsoleConfig::new(&engine.operator().user_name, &instance).with_config(&cfg);
    console.read_only = read_only;
    let console = args.apply(console, SavedView::MyOpen)?;
    crate::tui::run_with_engine(console, engine).await?;
    Ok(ExitCode::SUCCESS)
}
