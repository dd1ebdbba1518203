//! `grantdesk demo`: the console on the built-in emulator, with a fresh store, as `dana.desk` —
//! no configuration, no accounts. The emulator runs in this process on a free loopback port.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use super::Globals;
use super::console::ConsoleArgs;
use crate::config::{OktaAuth, OktaConfig, Secret, ServiceNowAuth, ServiceNowConfig};
use crate::domain::catalog::Catalog;
use crate::emulator::{self, DEMO_OKTA_TOKEN, DEMO_PASSWORD, EmulatorOptions, Scale};
use crate::engine::sync::SyncOptions;
use crate::engine::{Engine, EngineParts, Operator};
use crate::okta::OktaClient;
use crate::servicenow::ServiceNowClient;
use crate::store::Store;
use crate::tui::{ConsoleConfig, SavedView};

/// Options of `grantdesk demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Size of the world: demo (about 500 people, 300 open tickets) or large (50,000 people,
    /// 100,000 tickets; its first sync takes a while).
    #[arg(long, value_enum, default_value = "demo")]
    pub scale: Scale,
    /// Seed of the world.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub console: ConsoleArgs,
    /// Write the emulator's `KEY=value` environment to FILE once it listens (for tests that look
    /// behind the console).
    #[arg(long, value_name = "FILE", hide = true)]
    pub emulator_env: Option<PathBuf>,
}

/// `top` holds the console options given before `demo` (`grantdesk --theme mono demo`).
pub(super) async fn run(mut args: DemoArgs, top: ConsoleArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    args.console = args.console.or(top);
    // A store named on the command line is used; GRANTDESK_DB (a real store, most likely) is not:
    // demo data must never land in an operator's real cache and audit log.
    let from_env = std::env::var("GRANTDESK_DB").ok();
    let db = globals.db.clone().filter(|d| from_env.as_deref() != Some(d.as_str()));
    let temp = match &db {
        Some(_) => None,
        None => {
            Some(tempfile::Builder::new().prefix("grantdesk-demo-").tempdir().context("creating a temporary folder")?)
        }
    };
    let location = match (&db, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().join("grantdesk.db").display().to_string(),
        (None, None) => anyhow::bail!("no store for the demo"),
    };
    let log = args.console.log.clone().or_else(|| match (&temp, &db) {
        (Some(t), _) => Some(t.path().join("console.log")),
        (None, Some(d)) if !d.starts_with("postgres") => Some(PathBuf::from(format!("{d}.log"))),
        _ => crate::tui::logging::default_path(),
    });
    let _log = match &log {
        Some(path) => Some(crate::tui::logging::to_file(path)?),
        None => None,
    };

    let (emu, store) = tokio::try_join!(
        async { emulator::start(EmulatorOptions::local(args.scale, args.seed)).await.context("starting the emulator") },
        async { Store::open(&location).await.context("opening the demo store") },
    )?;
    if let Some(path) = &args.emulator_env {
        let mut text = String::new();
        for (k, v) in emu.environment() {
            text.push_str(&format!("{k}={v}\n"));
        }
        let mut f = std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
        f.write_all(text.as_bytes())?;
    }
    tracing::info!("demo: emulator at {}, store at {}", emu.base_url, store.location());

    let engine = emulator_engine(&emu, emulator::world::Persona::Dana.user_name(), store, globals.read_only).await?;
    let me = engine.operator().clone();
    // The tickets first, so the queue shows them when the console opens; Okta follows in the
    // background (the console's first sync).
    if args.scale == Scale::Large {
        eprintln!("grantdesk demo: caching 100,000 tickets of the large world (once per store)…");
    }
    engine
        .sync(SyncOptions { servicenow: true, okta: false, full: false }, &|_| {})
        .await
        .context("the first sync of the demo tickets")?;

    let mut console = ConsoleConfig::new(&me.user_name, "demo");
    console.read_only = globals.read_only;
    // A broken or absent config file does not stop the demo; a good one still brings its theme and keys.
    if let Ok(cfg) = crate::config::Config::load(&crate::config::LoadOptions {
        path: globals.config.clone(),
        profile: globals.profile.clone(),
    }) {
        console.theme = cfg.theme.clone().or(console.theme);
        console.keys = cfg.keys.clone();
    }
    let console = args.console.apply(console, SavedView::UnassignedInMyGroups)?;
    let seats =
        crate::tui::handler::DemoSeats { url: emu.base_url.parse()?, password: Secret::new(DEMO_PASSWORD.into()) };
    let handler = crate::tui::handler::EngineHandler::new(engine).with_demo_seats(seats);
    let result = crate::tui::run_with_handler(console, handler).await;
    emu.shutdown();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// An engine on `store` operated by `user` (a seeded persona, signed in with the demo password)
/// against the emulator `emu`, with the demo catalog: how `grantdesk demo` and `grantdesk bench`
/// talk to an emulator in their own process.
pub(super) async fn emulator_engine(
    emu: &emulator::RunningEmulator,
    user: &str,
    store: Store,
    read_only: bool,
) -> anyhow::Result<Engine> {
    let url: url::Url = emu.base_url.parse().context("the emulator's URL")?;
    let sn = ServiceNowClient::new(&ServiceNowConfig {
        url: url.clone(),
        auth: ServiceNowAuth::Basic { user: user.into(), password: Secret::new(DEMO_PASSWORD.into()) },
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })?;
    let okta = OktaClient::new(&OktaConfig {
        url,
        auth: OktaAuth::Ssws(Secret::new(DEMO_OKTA_TOKEN.into())),
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })?;
    let me = sn.current_user().await.with_context(|| format!("asking the emulator who {user} is"))?;
    Ok(Engine::new(EngineParts {
        store,
        servicenow: Some(sn),
        okta: Some(okta),
        operator: Operator { user_name: me.user_name.clone(), sys_id: me.sys_id, login: me.email, name: me.name },
        read_only,
        catalog: Catalog::demo(),
    }))
}
