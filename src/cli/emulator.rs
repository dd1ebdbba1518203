//! `grantdesk emulator`: serve the built-in ServiceNow + Okta emulator.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Globals;
use crate::emulator::{self, EmulatorOptions, Scale, WorldSpec};

/// Options of `grantdesk emulator`.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Size of the seeded world.
    #[arg(long, value_enum, default_value = "demo")]
    pub scale: Scale,
    /// Seed of the world: the same seed (and epoch) gives byte-identical data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The "now" the world is built around, RFC 3339 (default: the start of the current hour).
    #[arg(long, value_name = "TIME")]
    pub epoch: Option<chrono::DateTime<chrono::Utc>>,
    /// Serve HTTPS with a generated self-signed certificate (its PEM path is printed).
    #[arg(long)]
    pub tls: bool,
    /// Where to write the certificate with --tls (default: a folder under the system temp dir).
    #[arg(long, value_name = "DIR", requires = "tls")]
    pub tls_dir: Option<PathBuf>,
    /// Okta rate-limit budget: requests per minute for every endpoint bucket.
    #[arg(long, value_name = "PER_MINUTE")]
    pub okta_rate_limit: Option<u32>,
    /// ServiceNow rate limit: requests per hour per user (off by default).
    #[arg(long, value_name = "PER_HOUR")]
    pub servicenow_rate_limit: Option<u32>,
    /// Inject faults, reproducibly under --seed, e.g. `429=5%,5xx=5%,reset=2%,latency=20-200ms`.
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<crate::emulator::faults::FaultSpec>,
}

pub(super) async fn run(args: EmulatorArgs, _globals: &Globals) -> anyhow::Result<ExitCode> {
    let mut spec = WorldSpec::new(args.scale, args.seed);
    if let Some(epoch) = args.epoch {
        spec = spec.with_epoch(epoch);
    }
    let tls_dir = args.tls.then(|| {
        args.tls_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("grantdesk-emulator-{}", std::process::id())))
    });
    let opts = EmulatorOptions {
        listen: args.listen,
        spec,
        tls_dir,
        okta_rate_limit: args.okta_rate_limit,
        servicenow_rate_limit: args.servicenow_rate_limit,
        faults: args.faults,
    };
    let running = emulator::start(opts).await.context("starting the emulator")?;
    {
        let mut out = std::io::stdout().lock();
        for (k, v) in running.environment() {
            writeln!(out, "{k}={v}")?;
        }
        out.flush()?;
    }
    eprintln!("grantdesk emulator: serving ServiceNow and Okta at {} — Ctrl-C to stop", running.base_url);
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    if let Some(f) = &running.shared.faults {
        let c = f.counts();
        eprintln!(
            "grantdesk emulator: {} requests; injected {} × 429, {} × 5xx, {} resets before and {} after handling, {} delayed",
            c.requests, c.too_many_requests, c.server_errors, c.resets_before, c.resets_after, c.delayed
        );
    }
    running.shutdown();
    Ok(ExitCode::SUCCESS)
}
