//! The built-in emulator: a faithful, deterministic stand-in for ServiceNow's Table API, Okta's
//! management API and OIG's access-request API, over one seeded world.
//!
//! It shares no wire types or serialisation code with the clients (`crate::servicenow`,
//! `crate::okta`): each side is written from the reference on its own, so they cannot agree on a
//! wrong shape. Only `grantdesk emulator`, `grantdesk demo`, the tests and the benchmarks start it.

pub mod faults;
pub mod okta;
pub mod servicenow;
pub mod tls;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use axum::Router;

pub use world::{Scale, WorldSpec};

/// The password every seeded ServiceNow user signs in with (printed by the emulator).
pub const DEMO_PASSWORD: &str = "demo-password";
/// The Okta API token the emulator accepts (printed by the emulator).
pub const DEMO_OKTA_TOKEN: &str = "00demo-okta-api-token-for-the-emulator";

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The world to serve.
    pub spec: WorldSpec,
    /// Serve HTTPS with a generated self-signed certificate, written to this folder.
    pub tls_dir: Option<PathBuf>,
    /// Okta rate-limit budget override (requests per minute per bucket), if any.
    pub okta_rate_limit: Option<u32>,
    /// ServiceNow rate limit (requests per hour per user), if any; none by default.
    pub servicenow_rate_limit: Option<u32>,
    /// Faults to inject (`--faults`), if any.
    pub faults: Option<faults::FaultSpec>,
}

impl EmulatorOptions {
    /// Loopback on a free port, the demo world, seed 1.
    pub fn local(scale: Scale, seed: u64) -> Self {
        EmulatorOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            spec: WorldSpec::new(scale, seed),
            tls_dir: None,
            okta_rate_limit: None,
            servicenow_rate_limit: None,
            faults: None,
        }
    }
}

/// State shared by every handler of both services.
pub struct Shared {
    /// The world this emulator serves.
    pub spec: WorldSpec,
    /// `http(s)://host:port` once listening; links in responses point here.
    pub base_url: OnceLock<String>,
    /// The ServiceNow side.
    pub servicenow: servicenow::ServiceNow,
    /// The Okta side (management API and OIG).
    pub okta: okta::Okta,
    /// The fault injector, when `--faults` is set.
    pub faults: Option<Arc<faults::Faults>>,
    /// Time spent serving each kind of request, so benchmarks can show the emulator is not what
    /// they measure.
    pub serve_times: ServeTimes,
}

/// Handler time per route (ids in paths folded to `{id}`): count, total and longest, in µs.
#[derive(Debug, Default)]
pub struct ServeTimes(std::sync::Mutex<std::collections::BTreeMap<String, (u64, u64, u64)>>);

impl ServeTimes {
    fn record(&self, route: String, micros: u64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(route).or_default();
        e.0 += 1;
        e.1 += micros;
        e.2 = e.2.max(micros);
    }

    /// `{route: {requests, total_us, max_us}}`.
    pub fn snapshot(&self) -> serde_json::Value {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .map(|(k, (n, total, max))| {
                (k.clone(), serde_json::json!({ "requests": n, "total_us": total, "max_us": max }))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// `GET /api/v1/groups/00g…/users` → `GET /api/v1/groups/{id}/users`: long id-like segments
/// (Okta ids, sys_ids, logins) folded so one route gathers every request of its kind.
fn route_of(method: &axum::http::Method, path: &str) -> String {
    let segs: Vec<&str> = path.split('/').map(|s| if s.len() >= 16 || s.contains('@') { "{id}" } else { s }).collect();
    format!("{method} {}", segs.join("/"))
}

/// Times every request's handler (the whole answer is built before it returns).
async fn time_request(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = route_of(req.method(), req.uri().path());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    shared.serve_times.record(route, started.elapsed().as_micros() as u64);
    resp
}

impl Shared {
    /// The emulator's own base URL (falls back to loopback before it listens, e.g. in unit tests).
    pub fn base_url(&self) -> &str {
        self.base_url.get().map(String::as_str).unwrap_or("http://127.0.0.1")
    }
}

/// Builds the world and both services' state.
pub fn build(opts: &EmulatorOptions) -> Arc<Shared> {
    let people = world::people::generate(&opts.spec);
    let servicenow = servicenow::ServiceNow::build(&opts.spec, &people, opts.servicenow_rate_limit);
    let okta = okta::Okta::build(&opts.spec, &people, opts.okta_rate_limit);
    let faults = opts.faults.map(|f| Arc::new(faults::Faults::new(f, opts.spec.seed)));
    Arc::new(Shared {
        spec: opts.spec,
        base_url: OnceLock::new(),
        servicenow,
        okta,
        faults,
        serve_times: ServeTimes::default(),
    })
}

/// The HTTP routes of both services.
pub fn router(shared: Arc<Shared>) -> Router {
    let services = Router::new().merge(servicenow::router(shared.clone())).merge(okta::router(shared.clone()));
    let services = match &shared.faults {
        Some(f) => services.layer(axum::middleware::from_fn_with_state(f.clone(), faults::inject)),
        None => services,
    };
    let services = services.layer(axum::middleware::from_fn_with_state(shared.clone(), time_request));
    let admin = Router::new().route("/_emulator/stats", axum::routing::get(stats)).with_state(shared);
    services.merge(admin)
}

/// Emulator-only statistics (not part of either real API): injected faults so far.
async fn stats(axum::extract::State(shared): axum::extract::State<Arc<Shared>>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "faults": shared.faults.as_ref().map(|f| f.counts()),
        "served": shared.serve_times.snapshot(),
    }))
}

/// A running emulator.
pub struct RunningEmulator {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://…` or `https://…`.
    pub base_url: String,
    /// PEM of the self-signed certificate when serving HTTPS.
    pub ca_pem_path: Option<PathBuf>,
    /// The shared state (tests read the emulator's own data through it).
    pub shared: Arc<Shared>,
    handle: axum_server::Handle<SocketAddr>,
}

impl RunningEmulator {
    /// The `KEY=value` environment a console needs to talk to this emulator.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("GRANTDESK_SERVICENOW_URL".to_string(), self.base_url.clone()),
            ("GRANTDESK_SERVICENOW_USER".to_string(), world::Persona::Dana.user_name().to_string()),
            ("GRANTDESK_SERVICENOW_PASSWORD".to_string(), DEMO_PASSWORD.to_string()),
            ("GRANTDESK_OKTA_URL".to_string(), self.base_url.clone()),
            ("GRANTDESK_OKTA_TOKEN".to_string(), DEMO_OKTA_TOKEN.to_string()),
            // The access catalog of the seeded world (WORLD.md), for `grantdesk request` and friends.
            ("GRANTDESK_CATALOG".to_string(), "demo".to_string()),
        ];
        if let Some(ca) = &self.ca_pem_path {
            env.push(("GRANTDESK_CA_BUNDLE".to_string(), ca.display().to_string()));
        }
        env
    }

    /// Stops serving (in-flight requests finish).
    pub fn shutdown(&self) {
        self.handle.graceful_shutdown(Some(std::time::Duration::from_secs(1)));
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Builds the world and starts serving it on the current tokio runtime.
pub async fn start(opts: EmulatorOptions) -> anyhow::Result<RunningEmulator> {
    let shared = tokio::task::spawn_blocking({
        let opts = opts.clone();
        move || build(&opts)
    })
    .await
    .context("building the seeded world")?;
    start_with(opts, shared).await
}

/// Starts serving an already built world.
pub async fn start_with(opts: EmulatorOptions, shared: Arc<Shared>) -> anyhow::Result<RunningEmulator> {
    let handle: axum_server::Handle<SocketAddr> = axum_server::Handle::new();
    let app = router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let listener = std::net::TcpListener::bind(opts.listen)
        .with_context(|| format!("cannot listen on {}: is the port in use?", opts.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (scheme, ca_pem_path) = match &opts.tls_dir {
        Some(dir) => {
            let cert = tls::SelfSigned::generate(dir)?;
            let config =
                axum_server::tls_rustls::RustlsConfig::from_pem(cert.cert_pem.into_bytes(), cert.key_pem.into_bytes())
                    .await
                    .context("loading the generated TLS certificate")?;
            // TCP_NODELAY: without it a response written in two parts waits out the client's
            // delayed ACK (~40 ms a request), and a benchmark would measure that, not the server.
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
                .acceptor(axum_server::accept::NoDelayAcceptor::new());
            let server = axum_server::from_tcp(listener)?.acceptor(acceptor).handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!("emulator (https) stopped: {e}");
                }
            });
            ("https", Some(cert.pem_path))
        }
        None => {
            let server = axum_server::from_tcp(listener)?
                .acceptor(axum_server::accept::NoDelayAcceptor::new())
                .handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!("emulator (http) stopped: {e}");
                }
            });
            ("http", None)
        }
    };
    let base_url = format!("{scheme}://{addr}");
    let _ = shared.base_url.set(base_url.clone());
    Ok(RunningEmulator { addr, base_url, ca_pem_path, shared, handle })
}
