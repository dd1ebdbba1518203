//! The full-screen console (ratatui + crossterm).
//!
//! Shape (gitui/television/yazi, see the design's STYLE.md):
//! - [`action::Action`] is everything that can happen; [`update::update`] is the only code that
//!   changes the [`state::State`], and it is pure: it returns [`effect::Effect`]s instead of
//!   doing I/O.
//! - [`view::render`] draws a frame from `&State` and never changes it.
//! - [`run`] owns the terminal and the loop: it turns terminal events into actions, hands effects
//!   to the caller's [`EffectHandler`] on tokio tasks, feeds their answers back, and draws only
//!   when something changed, at most every 10 ms, each frame wrapped in synchronized output.
//! - [`effect`] is the contract with the rest of grantdesk; [`handler`] fulfils it over the
//!   engine and its store ([`run_with_engine`] is how `grantdesk` and `grantdesk demo` start the
//!   console); [`fixture`] is an in-memory handler over generated data for tests and benchmarks —
//!   a fixture, not the product.

pub mod action;
pub mod commandline;
pub mod editor;
pub mod effect;
pub mod filter;
pub mod fixture;
pub mod handler;
pub mod keymap;
pub mod layout;
pub mod logging;
pub mod state;
mod terminal;
pub mod theme;
pub mod update;
pub mod view;

use std::path::PathBuf;
use std::time::Duration;

pub use action::Action;
pub use effect::{Command, Effect, EffectHandler, Reply, SavedView};
pub use state::State;
pub use terminal::run;
pub use theme::ColorDepth;
pub use update::{Effects, update};

/// Close codes offered when resolving, per the reference (current ServiceNow releases); an
/// instance with its own list sets [`ConsoleConfig::close_codes`].
pub const DEFAULT_CLOSE_CODES: &[&str] = &[
    "Solution provided",
    "Workaround provided",
    "Resolved by caller",
    "User error",
    "Known error",
    "Duplicate",
    "Resolved by change",
    "Resolved by problem",
];

/// How the console starts.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The operator's ServiceNow user name (`dana.desk`), shown in the header and used for "me".
    pub operator: String,
    /// What the console is connected to, for the header (`acme.service-now.com`, `demo`).
    pub instance: String,
    /// Refuse every change and show a permanent banner.
    pub read_only: bool,
    /// Capture the mouse (scroll, click to select). Off by default: it breaks terminal selection.
    pub mouse: bool,
    /// Theme name (`--theme`, `GRANTDESK_THEME`, config); `NO_COLOR` overrides with `mono`.
    pub theme: Option<String>,
    /// Folder of user themes (`*.toml`), which may replace built-in ones.
    pub themes_dir: Option<PathBuf>,
    /// The config's `[keys]` table.
    pub keys: Option<toml::Table>,
    /// Colours the terminal shows (detected from the environment by [`ConsoleConfig::new`]).
    pub color_depth: ColorDepth,
    /// The saved view the queue opens on.
    pub initial_view: SavedView,
    /// Close codes offered by the resolve form.
    pub close_codes: Vec<String>,
    /// Sync in the background this often (`None`: only on `:sync`).
    pub sync_every: Option<std::time::Duration>,
    /// Start a background sync as soon as the console opens.
    pub sync_at_start: bool,
}

impl ConsoleConfig {
    /// Defaults for an operator, with colours detected from the environment and user themes from
    /// `$XDG_CONFIG_HOME/grantdesk/themes`.
    pub fn new(operator: &str, instance: &str) -> ConsoleConfig {
        let themes_dir = crate::config::default_path().and_then(|p| p.parent().map(|d| d.join("themes")));
        ConsoleConfig {
            operator: operator.to_string(),
            instance: instance.to_string(),
            read_only: false,
            mouse: false,
            theme: None,
            themes_dir,
            keys: None,
            color_depth: ColorDepth::detect(|k| std::env::var(k).ok()),
            initial_view: SavedView::MyOpen,
            close_codes: DEFAULT_CLOSE_CODES.iter().map(|s| (*s).to_string()).collect(),
            sync_every: None,
            sync_at_start: false,
        }
    }

    /// Takes theme, read-only mode and `[keys]` from the loaded configuration.
    pub fn with_config(mut self, config: &crate::config::Config) -> ConsoleConfig {
        self.theme = config.theme.clone().or(self.theme);
        self.read_only |= config.read_only;
        self.keys = config.keys.clone();
        self
    }
}

/// Runs the console over `engine` until the operator quits: the real [`handler::EngineHandler`],
/// with the engine's outbox worker applying commands in the background. A command still being
/// applied at quit gets a moment to finish; one that does not is resumed by the next start (the
/// outbox is durable and every apply checks the remote state first).
pub async fn run_with_engine(config: ConsoleConfig, engine: crate::engine::Engine) -> anyhow::Result<()> {
    run_with_handler(config, handler::EngineHandler::new(engine)).await
}

/// Like [`run_with_engine`] over a prepared handler (`grantdesk demo` gives it the personas'
/// seats). The outbox worker works for whoever sits at the console: after `:as` it applies the
/// new operator's commands as them.
pub async fn run_with_handler(config: ConsoleConfig, handler: handler::EngineHandler) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = spawn_seat_worker(&handler, stopped);
    let result = run(config, handler).await;
    let _ = stop.send(());
    if tokio::time::timeout(Duration::from_secs(5), worker).await.is_err() {
        tracing::warn!("the outbox worker was still applying a command at quit; the next start resumes it");
    }
    result
}

/// The outbox worker of whoever sits at `handler`'s console, restarted for the new operator
/// after each `:as`, until `stopped` resolves (or the handler is gone).
pub fn spawn_seat_worker(
    handler: &handler::EngineHandler,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let mut seats = handler.seat_changes();
    tokio::spawn(async move {
        loop {
            let engine = seats.borrow_and_update().clone();
            let mut switched = false;
            engine
                .work(async {
                    tokio::select! {
                        _ = &mut stopped => {}
                        changed = seats.changed() => switched = changed.is_ok(),
                    }
                })
                .await;
            if !switched {
                return;
            }
        }
    })
}
