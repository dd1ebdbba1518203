//! What the access-request tests share: an in-process emulator, the real binary run as a persona
//! against it with its own store, clients and an in-process engine, and the bulk scene (many
//! `okta`-route requests) with the checks that it was applied exactly once.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Output, Stdio};
use std::time::Duration;

use futures::TryStreamExt as _;
use grantdesk::config::{OktaAuth, OktaConfig, Secret, ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::catalog::Catalog;
use grantdesk::domain::request::RequestStatus;
use grantdesk::emulator::{self, DEMO_OKTA_TOKEN, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::engine::access::NewRequest;
use grantdesk::engine::{Engine, EngineParts, Operator};
use grantdesk::okta::{LogQuery, OktaClient};
use grantdesk::servicenow::ServiceNowClient;
use grantdesk::store::{AuditQuery, CommandStatus, RequestFilter, Store};

/// The emulator over the demo world (seed 1), with `faults` injected if given (paused until the
/// test turns them on).
pub async fn start(faults: Option<&str>) -> RunningEmulator {
    let mut opts = EmulatorOptions::local(Scale::Demo, 1);
    opts.faults = faults.map(|f| f.parse().expect("a valid fault spec"));
    let emu = emulator::start(opts).await.expect("emulator starts");
    set_faults(&emu, false);
    emu
}

/// Turns the injected faults on or off.
pub fn set_faults(emu: &RunningEmulator, on: bool) {
    if let Some(f) = &emu.shared.faults {
        f.set_paused(!on);
    }
}

/// A ServiceNow client signed in as `user`.
pub fn sn_as(emu: &RunningEmulator, user: &str) -> ServiceNowClient {
    grantdesk::install_crypto_provider();
    ServiceNowClient::new(&ServiceNowConfig {
        url: emu.base_url.parse().unwrap(),
        auth: ServiceNowAuth::Basic { user: user.into(), password: Secret::new(DEMO_PASSWORD.into()) },
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap()
}

/// An Okta client with the emulator's API token.
pub fn okta(emu: &RunningEmulator) -> OktaClient {
    grantdesk::install_crypto_provider();
    OktaClient::new(&OktaConfig {
        url: emu.base_url.parse().unwrap(),
        auth: OktaAuth::Ssws(Secret::new(DEMO_OKTA_TOKEN.into())),
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap()
}

/// One operator's machine: a home folder, its store, and the catalog the binary reads.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub catalog: String,
}

impl Home {
    /// A home with the demo catalog.
    pub fn demo() -> Home {
        Home { dir: tempfile::tempdir().unwrap(), catalog: "demo".into() }
    }

    /// A home with the catalog in `toml`.
    pub fn with_catalog(toml: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.toml");
        std::fs::write(&path, toml).unwrap();
        Home { catalog: path.display().to_string(), dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite store the binary uses.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("grantdesk.db")
    }

    pub async fn store(&self) -> Store {
        Store::open(self.db().to_str().unwrap()).await.unwrap()
    }

    /// The catalog the binary loads.
    pub fn load_catalog(&self) -> Catalog {
        if self.catalog == "demo" {
            return Catalog::demo();
        }
        let text = std::fs::read_to_string(&self.catalog).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        Catalog::from_toml(v.get("catalog").unwrap()).unwrap()
    }

    fn command(&self, emu: &RunningEmulator, user: &str, args: &[&str]) -> Process {
        let mut cmd = Process::new(env!("CARGO_BIN_EXE_grantdesk"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("GRANTDESK_DB", self.db())
            .env("GRANTDESK_CATALOG", &self.catalog);
        for (k, v) in emu.environment() {
            cmd.env(k, v);
        }
        cmd.env("GRANTDESK_SERVICENOW_USER", user);
        cmd.args(args);
        cmd
    }

    /// Runs the binary as `user` and waits for it, off the runtime's threads (the in-process
    /// emulator keeps serving meanwhile).
    pub async fn run(&self, emu: &RunningEmulator, user: &str, args: &[&str]) -> Output {
        let mut cmd = self.command(emu, user, args);
        blocking(move || cmd.output().expect("the binary runs")).await
    }

    /// Starts the binary as `user` without waiting.
    pub fn spawn(&self, emu: &RunningEmulator, user: &str, args: &[&str]) -> Child {
        self.command(emu, user, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts")
    }

    /// An engine in this process on this home's store, operated by `user`.
    pub async fn engine(&self, emu: &RunningEmulator, user: &str) -> Engine {
        self.engine_with(emu, user, okta(emu)).await
    }

    /// An engine like [`Home::engine`] with its own Okta client.
    pub async fn engine_with(&self, emu: &RunningEmulator, user: &str, okta: OktaClient) -> Engine {
        let sn = sn_as(emu, user);
        let me = sn.current_user().await.unwrap();
        Engine::new(EngineParts {
            store: self.store().await,
            servicenow: Some(sn),
            okta: Some(okta),
            operator: Operator { user_name: me.user_name, sys_id: me.sys_id, login: me.email, name: me.name },
            read_only: false,
            catalog: self.load_catalog(),
        })
    }
}

/// Runs `f` in a blocking thread (the binary is run synchronously while the in-process emulator
/// keeps serving on the test's runtime).
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the run succeeded, showing its output if not.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

// ----- the bulk scene ----------------------------------------------------------------------------

/// Groups the bulk scene requests: all `okta`-route, any member of it-approvers-standard approves.
pub const BULK_GROUPS: [&str; 5] = ["zoom-users", "slack-guests", "vpn-atlas", "vpn-beacon", "vpn-comet"];

/// The approver of the bulk run.
pub const BULK_APPROVER: &str = "dana.desk";
/// Who raises the bulk requests (not an approver of them).
pub const BULK_RAISER: &str = "morgan.manager";

pub fn bulk_catalog() -> String {
    let mut s = String::new();
    for g in BULK_GROUPS {
        s.push_str(&format!(
            "[[catalog.entry]]\nname = \"{g}\"\ngroup = \"{g}\"\nroutes = [\"okta\"]\napproval = [{{ approver = \"group:it-approvers-standard\" }}]\n\n"
        ));
    }
    s
}

/// `n` (person, group) pairs where the person is not yet a member, round-robin over the groups,
/// leaving out the approver and the raiser.
pub fn bulk_pairs(emu: &RunningEmulator, n: usize) -> Vec<(String, String)> {
    let okta = &emu.shared.okta;
    let skip = [format!("{BULK_APPROVER}@example.com"), format!("{BULK_RAISER}@example.com")];
    let mut people: Vec<String> = okta.logins_with_status("ACTIVE");
    people.sort();
    people.retain(|p| !skip.contains(p));
    let members: HashMap<&str, HashSet<String>> =
        BULK_GROUPS.iter().map(|g| (*g, okta.group_member_logins(g).into_iter().collect())).collect();
    let mut pairs = Vec::new();
    'outer: for p in &people {
        for g in BULK_GROUPS {
            if !members[g].contains(p) {
                pairs.push((p.clone(), g.to_string()));
                if pairs.len() == n {
                    break 'outer;
                }
            }
        }
    }
    assert_eq!(pairs.len(), n, "the demo world has too few people for {n} requests");
    pairs
}

/// Raises a request for each pair through the engine (as the raiser), with faults off.
pub async fn raise_bulk(emu: &RunningEmulator, home: &Home, pairs: &[(String, String)]) -> Vec<String> {
    set_faults(emu, false);
    let engine = home.engine(emu, BULK_RAISER).await;
    let reqs: Vec<NewRequest> = pairs
        .iter()
        .map(|(who, g)| NewRequest {
            entry: g.clone(),
            requested_for: Some(who.clone()),
            ticket: None,
            justification: "bulk onboarding".into(),
            duration: None,
        })
        .collect();
    let raised = engine.raise_requests(&reqs).await.unwrap();
    let ids: Vec<String> = raised.into_iter().map(|r| r.expect("each request is raised").id).collect();
    // Raising queues nothing for the `okta` route.
    assert!(engine.store().commands(CommandStatus::Pending, 10).await.unwrap().is_empty());
    engine.store().close().await;
    ids
}

/// `group.user_membership.add` events per (user id, group id) published since `since`.
pub async fn membership_adds(
    emu: &RunningEmulator,
    since: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<(String, String), usize> {
    let q = LogQuery::between(since, chrono::Utc::now() + chrono::Duration::minutes(1))
        .filter("eventType eq \"group.user_membership.add\"")
        .limit(1000);
    let events: Vec<grantdesk::domain::LogEvent> = okta(emu).log_events(&q).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for e in events {
        let user = e.targets.iter().find(|t| t.kind == "User").map(|t| t.id.clone()).unwrap_or_default();
        let group = e.targets.iter().find(|t| t.kind == "UserGroup").map(|t| t.id.clone()).unwrap_or_default();
        *out.entry((user, group)).or_insert(0) += 1;
    }
    out
}

/// Checks the bulk scene ended applied exactly once: every request granted, every person a
/// member, one membership event per person and group since `since`, every outbox command done
/// with exactly one intent and one success outcome in the audit log, and the chain intact.
pub async fn assert_exactly_once(
    emu: &RunningEmulator,
    home: &Home,
    pairs: &[(String, String)],
    since: chrono::DateTime<chrono::Utc>,
) {
    set_faults(emu, false);
    let store = home.store().await;
    let requests = store.access_requests(&RequestFilter::default()).await.unwrap();
    assert_eq!(requests.len(), pairs.len());
    let not_granted: Vec<_> =
        requests.iter().filter(|r| r.status != RequestStatus::Granted).map(|r| (&r.id, r.status)).collect();
    assert!(not_granted.is_empty(), "requests not granted: {not_granted:?}");

    let adds = membership_adds(emu, since).await;
    let okta = &emu.shared.okta;
    for (who, g) in pairs {
        assert!(okta.group_member_logins(g).contains(who), "{who} is not a member of {g}");
        let key = (okta.user_id(who).unwrap(), okta.group_id(g).unwrap());
        assert_eq!(adds.get(&key).copied(), Some(1), "{who} in {g}: Okta must log exactly one membership add");
    }
    assert_eq!(adds.len(), pairs.len(), "no other membership was added");
    // Each grant carries the event that proves it.
    for r in &requests {
        assert!(r.external.grant_event.is_some(), "{} has no System Log proof", r.id);
    }

    for status in [CommandStatus::Pending, CommandStatus::InFlight, CommandStatus::Failed] {
        let left = store.commands(status, 10).await.unwrap();
        assert!(
            left.is_empty(),
            "commands left {status}: {:?}",
            left.iter().map(|c| (&c.idempotency_key, &c.last_error)).collect::<Vec<_>>()
        );
    }
    let done = store.commands(CommandStatus::Done, u32::MAX).await.unwrap();
    // One decision and one fulfilment per request.
    assert_eq!(done.len(), 2 * pairs.len(), "{} commands done", done.len());
    let records = store.audit_records(&AuditQuery { limit: u32::MAX, ..Default::default() }).await.unwrap();
    let mut by_key: HashMap<String, Vec<&str>> = HashMap::new();
    for r in &records {
        if let Some(k) = r.details_json().pointer("/command/idempotency_key").and_then(|v| v.as_str()) {
            by_key.entry(k.to_string()).or_default().push(r.outcome.as_str());
        }
    }
    for c in &done {
        let mut outcomes = by_key.get(&c.idempotency_key).cloned().unwrap_or_default();
        outcomes.sort();
        assert_eq!(outcomes, ["intent", "success"], "audit of {}", c.idempotency_key);
    }
    let v = store.verify_audit(None).await.unwrap();
    assert!(v.result.is_ok(), "audit chain: {:?}", v.result);
    store.close().await;
    let out = home.run(emu, BULK_APPROVER, &["audit", "verify"]).await;
    assert!(ok(&out).contains("audit log intact"), "{}", text(&out.stdout));
}
