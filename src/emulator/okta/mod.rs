//! Okta management API, System Log and OIG access-request emulator.
//!
//! Follows `okta-api.md` and Okta's OpenAPI files: ids with Okta's prefixes, `_links`, `.000Z`
//! timestamps, `Link` pagination with per-endpoint limits, Okta's error bodies, per-bucket rate
//! limits with `X-Rate-Limit-*` on every response, a concurrency limit, SSWS and OAuth
//! (`private_key_jwt`) with per-operation scopes, System Log events for every change, and OIG v2
//! requests decided by the seeded approvers.
//!
//! Time: the seeded data is built around `spec.epoch`; changes made at run time are stamped with
//! the emulator clock, the wall clock plus an offset tests can advance ([`Okta::advance_clock`])
//! so expiries happen without anyone sleeping.

mod apps;
pub mod filter;
mod groups;
mod http;
mod logs;
pub mod model;
mod oauth;
mod oig;
mod owners;
mod users;
pub mod world;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Shared;
use super::world::{People, Persona, WorldSpec};
use model::*;

pub use oauth::{DEMO_CLIENT_ID, DEMO_PRIVATE_KEY_PEM, DEMO_PUBLIC_KEY_PEM};

/// Default delay before the seeded approvers decide an OIG request.
pub const DEFAULT_DECISION_DELAY: Duration = Duration::from_secs(3);
/// Okta's org-wide concurrency limit for API traffic.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 75;

/// The Okta side of the emulator.
pub struct Okta {
    state: Mutex<State>,
    limiter: Mutex<HashMap<&'static str, (i64, u32)>>,
    /// Rate-limit windows already over, with what each bucket used of its budget.
    windows_past: Mutex<Vec<BudgetWindow>>,
    settings: Mutex<Settings>,
    oauth: Mutex<oauth::OAuthState>,
    inflight: AtomicUsize,
    requests: AtomicU64,
    rate_limited: AtomicU64,
}

/// Knobs tests and the CLI turn.
#[derive(Debug, Clone)]
struct Settings {
    rate_limit: Option<u32>,
    rate_window_secs: i64,
    concurrency_limit: usize,
    decision_delay: Duration,
    clock_offset: i64,
    inject_429: u32,
    inject_500: u32,
}

/// Counters the emulator keeps about its own traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OktaStats {
    /// Requests received on Okta paths.
    pub requests: u64,
    /// 429 responses sent (rate or concurrency limit).
    pub rate_limited: u64,
}

/// One rate-limit window of one bucket: how much of its budget was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetWindow {
    /// The bucket (`/api/v1/groups/{id}`…).
    pub bucket: &'static str,
    /// When the window began (Unix seconds).
    pub start: i64,
    /// Requests let through in it.
    pub used: u32,
    /// Its budget.
    pub budget: u32,
}

/// A membership or assignment change in the System Log, as tests compare it with ServiceNow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// When Okta published it (ms since the Unix epoch).
    pub published_ms: i64,
    /// `group.user_membership.add`, `application.user_membership.remove`…
    pub event_type: String,
    /// The actor's alternate id (a login, or the app's name).
    pub actor: String,
    /// Login of the user concerned.
    pub user: String,
    /// Group name or app label.
    pub target: String,
}

/// An OIG access request, as tests compare it with ServiceNow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OigRequestSummary {
    /// Request id.
    pub id: String,
    /// Login of the person the access is for.
    pub requested_for: String,
    /// Catalog entry name (the group's name, or the app's label).
    pub entry: String,
    /// `APPROVED`, `DENIED`, `PENDING`…
    pub status: String,
    /// Creation time (s).
    pub created: Secs,
    /// When the access was granted (s).
    pub granted: Option<Secs>,
    /// When a time-bound grant ends (s).
    pub revocation_scheduled: Option<Secs>,
    /// Logins of the approvers who decided, in order.
    pub approvers: Vec<String>,
}

/// The mutable Okta world.
pub struct State {
    pub(crate) users: Vec<User>,
    pub(crate) groups: Vec<Group>,
    pub(crate) apps: Vec<App>,
    pub(crate) idx: Indexes,
    pub(crate) logs: Vec<LogEvent>,
    pub(crate) sequences: Vec<Sequence>,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) requests: Vec<Request>,
    pub(crate) request_by_id: HashMap<String, usize>,
    pub(crate) named: world::Named,
    pub(crate) orphans: Vec<(usize, usize)>,
    pub(crate) on_behalf_only_reports: Vec<bool>,
    pub(crate) managers: Vec<Option<usize>>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) next_au: u64,
    pub(crate) next_log_seq: u64,
    /// Earliest emulator time at which an OIG request has something due.
    pub(crate) next_due: Option<Secs>,
    /// Users' list JSON, serialised once.
    pub(crate) rendered: users::Rendered,
}

impl Okta {
    /// Builds Okta's data from the world. `rate_limit` (per minute) overrides every bucket.
    pub fn build(spec: &WorldSpec, people: &People, rate_limit: Option<u32>) -> Self {
        let b = world::build(spec, people);
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(19);
        let request_by_id = b.requests.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        let next_log_seq = b.logs.len() as u64 + 1;
        let mut state = State {
            users: b.users,
            groups: b.groups,
            apps: b.apps,
            idx: b.idx,
            logs: b.logs,
            sequences: b.sequences,
            conditions: b.conditions,
            entries: b.entries,
            requests: b.requests,
            request_by_id,
            named: b.named,
            orphans: b.orphans,
            on_behalf_only_reports: b.on_behalf_only_reports,
            managers: people.people.iter().map(|p| p.manager).collect(),
            rng,
            next_au: 1_000_000,
            next_log_seq,
            next_due: None,
            rendered: users::Rendered::default(),
        };
        state.recompute_due();
        Okta {
            state: Mutex::new(state),
            limiter: Mutex::new(HashMap::new()),
            windows_past: Mutex::new(Vec::new()),
            settings: Mutex::new(Settings {
                rate_limit,
                rate_window_secs: 60,
                concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
                decision_delay: DEFAULT_DECISION_DELAY,
                clock_offset: 0,
                inject_429: 0,
                inject_500: 0,
            }),
            oauth: Mutex::new(oauth::OAuthState::default()),
            inflight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The emulator clock (wall clock plus any advance), in seconds.
    pub fn now_secs(&self) -> Secs {
        chrono::Utc::now().timestamp() + self.settings().clock_offset
    }

    /// The emulator clock in milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.settings().clock_offset * 1000
    }

    /// Moves the emulator clock forward (expiries and decisions fall due; nobody sleeps).
    pub fn advance_clock(&self, by: Duration) {
        self.settings().clock_offset += by.as_secs() as i64;
    }

    /// How long the seeded approvers take to decide a new OIG request (zero: at the next request).
    pub fn set_decision_delay(&self, delay: Duration) {
        self.settings().decision_delay = delay;
    }

    /// Changes every rate-limit bucket's budget (requests per minute); `None` restores Okta's.
    pub fn set_rate_limit(&self, per_minute: Option<u32>) {
        self.settings().rate_limit = per_minute;
    }

    /// Shortens the rate-limit window from Okta's minute (tests of pacing that must not take
    /// minutes); budgets then apply per window of `secs` seconds.
    pub fn set_rate_limit_window(&self, secs: u32) {
        self.settings().rate_window_secs = i64::from(secs.max(1));
    }

    /// Changes the number of requests served at once before 429s.
    pub fn set_concurrency_limit(&self, limit: usize) {
        self.settings().concurrency_limit = limit.max(1);
    }

    /// Answers the next `count` requests with 429 E0000047 (reset one second ahead).
    pub fn inject_rate_limit(&self, count: u32) {
        self.settings().inject_429 += count;
    }

    /// Answers the next `count` requests with 500 E0000009, as an Okta outage would.
    pub fn inject_server_error(&self, count: u32) {
        self.settings().inject_500 += count;
    }

    /// Every rate-limit window of `bucket` that saw a request, oldest first (the current one last,
    /// with its budget as configured now), so a benchmark can tell how much budget a run used.
    pub fn budget_windows(&self, bucket: &str) -> Vec<BudgetWindow> {
        let mut out: Vec<BudgetWindow> = self
            .windows_past
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|w| w.bucket == bucket)
            .copied()
            .collect();
        let (window_secs, budget) = {
            let s = self.settings();
            (s.rate_window_secs, s.rate_limit)
        };
        let l = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((key, (window, used))) = l.get_key_value(bucket) {
            out.push(BudgetWindow {
                bucket: key,
                start: window * window_secs,
                used: *used,
                budget: budget.unwrap_or(out.last().map(|w| w.budget).unwrap_or(0)),
            });
        }
        out
    }

    /// Traffic counters.
    pub fn stats(&self) -> OktaStats {
        OktaStats {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// Withdraws a scope from the demo service app (tokens asking for it are refused; tokens
    /// already issued keep the scopes they were granted, as Okta's do until they expire).
    pub fn revoke_scope(&self, scope: &str) {
        self.oauth.lock().unwrap_or_else(|e| e.into_inner()).revoked.insert(scope.to_string());
    }

    /// Withdraws a scope from every token issued so far too (an admin revoking grants at once).
    pub fn revoke_scope_everywhere(&self, scope: &str) {
        let mut o = self.oauth.lock().unwrap_or_else(|e| e.into_inner());
        o.revoked.insert(scope.to_string());
        for t in o.tokens.values_mut() {
            t.scopes.retain(|s| s != scope);
        }
    }

    /// Okta id of the user with this login.
    pub fn user_id(&self, login: &str) -> Option<String> {
        let s = self.state();
        s.idx.user_by_login.get(&login.to_ascii_lowercase()).map(|i| s.users[*i].id.clone())
    }

    /// Status of the user with this login.
    pub fn user_status(&self, login: &str) -> Option<String> {
        let s = self.state();
        s.idx.user_by_login.get(&login.to_ascii_lowercase()).map(|i| s.users[*i].status.as_str().to_string())
    }

    /// Number of users, and of users a plain list shows (all but DEPROVISIONED).
    pub fn user_counts(&self) -> (usize, usize) {
        let s = self.state();
        let deprov = s.idx.users_by_status[Status::Deprovisioned.index()].len();
        (s.users.len(), s.users.len() - deprov)
    }

    /// Logins of users in `status`.
    pub fn logins_with_status(&self, status: &str) -> Vec<String> {
        let s = self.state();
        let Some(st) = Status::parse(status) else { return Vec::new() };
        s.idx.users_by_status[st.index()].iter().map(|i| s.users[*i].profile.login.clone()).collect()
    }

    /// Ids of the catalog groups of WORLD.md, in [`world::CATALOG_GROUPS`] order.
    pub fn catalog_group_ids(&self) -> Vec<String> {
        let s = self.state();
        s.named.catalog.iter().map(|g| s.groups[*g].id.clone()).collect()
    }

    /// Id of the group named `name`.
    pub fn group_id(&self, name: &str) -> Option<String> {
        let s = self.state();
        s.groups.iter().find(|g| g.name == name).map(|g| g.id.clone())
    }

    /// Logins of the members of the group named `name`, in id order.
    pub fn group_member_logins(&self, name: &str) -> Vec<String> {
        let s = self.state();
        let Some(g) = s.groups.iter().position(|g| g.name == name) else { return Vec::new() };
        s.idx.members[g].iter().map(|u| s.users[*u].profile.login.clone()).collect()
    }

    /// Names of the groups of the user with this login.
    pub fn group_names_of(&self, login: &str) -> Vec<String> {
        let s = self.state();
        let Some(u) = s.idx.user_by_login.get(&login.to_ascii_lowercase()) else { return Vec::new() };
        s.idx.groups_of[*u].iter().map(|g| s.groups[*g].name.clone()).collect()
    }

    /// Number of groups and of memberships.
    pub fn group_counts(&self) -> (usize, usize) {
        let s = self.state();
        (s.groups.len(), s.idx.members.iter().map(|m| m.len()).sum())
    }

    /// Id of the app with this integration name (`salesforce`, `github`…).
    pub fn app_id(&self, name: &str) -> Option<String> {
        let s = self.state();
        s.apps.iter().find(|a| a.name == name).map(|a| a.id.clone())
    }

    /// Labels of the apps assigned to the user with this login (directly or through groups).
    pub fn app_labels_of(&self, login: &str) -> Vec<String> {
        let s = self.state();
        let Some(u) = s.idx.user_by_login.get(&login.to_ascii_lowercase()) else { return Vec::new() };
        s.apps
            .iter()
            .filter(|a| a.direct.contains_key(u) || a.via_groups.contains_key(u))
            .map(|a| a.label.to_string())
            .collect()
    }

    /// Logins of the owners of the group with this name.
    pub fn group_owner_logins(&self, name: &str) -> Vec<String> {
        let s = self.state();
        let Some(g) = s.groups.iter().position(|g| g.name == name) else { return Vec::new() };
        s.groups[g].owners.iter().map(|u| s.users[*u].profile.login.clone()).collect()
    }

    /// Ids of the apps assigned to the group with this name, ascending.
    pub fn group_app_ids(&self, name: &str) -> Vec<String> {
        let s = self.state();
        let Some(g) = s.groups.iter().position(|g| g.name == name) else { return Vec::new() };
        let mut ids: Vec<String> = s.apps.iter().filter(|a| a.groups.contains_key(&g)).map(|a| a.id.clone()).collect();
        ids.sort();
        ids
    }

    /// (login, group name) of each orphan grant: catalog memberships no request ever approved.
    pub fn orphan_grants(&self) -> Vec<(String, String)> {
        let s = self.state();
        s.orphans.iter().map(|(u, g)| (s.users[*u].profile.login.clone(), s.groups[*g].name.clone())).collect()
    }

    /// Event types of the System Log events naming `user_id` as actor or target, oldest first.
    pub fn log_event_types_about(&self, user_id: &str) -> Vec<String> {
        let s = self.state();
        s.logs
            .iter()
            .filter(|e| e.actor.id == user_id || e.targets.iter().any(|t| t.id == user_id))
            .map(|e| e.event_type.to_string())
            .collect()
    }

    /// Every System Log event that adds or removes a group membership or an app assignment,
    /// oldest first: what proves (or disproves) that an approved request was fulfilled.
    pub fn access_events(&self) -> Vec<AccessEvent> {
        let s = self.state();
        s.logs
            .iter()
            .filter(|e| e.event_type.contains("user_membership."))
            .map(|e| AccessEvent {
                published_ms: e.published_ms,
                event_type: e.event_type.to_string(),
                actor: e.actor.alternate_id.clone(),
                user: e.targets.iter().find(|t| t.kind == "User").map(|t| t.alternate_id.clone()).unwrap_or_default(),
                target: e.targets.iter().find(|t| t.kind != "User").map(|t| t.display_name.clone()).unwrap_or_default(),
            })
            .collect()
    }

    /// Every OIG access request, in creation order.
    pub fn oig_requests(&self) -> Vec<OigRequestSummary> {
        let s = self.state();
        s.requests
            .iter()
            .map(|r| OigRequestSummary {
                id: r.id.clone(),
                requested_for: s.users[r.requested_for].profile.login.clone(),
                entry: s.entries[r.entry].name.clone(),
                status: r.status.as_str().to_string(),
                created: r.created,
                granted: r.granted,
                revocation_scheduled: r.revocation_scheduled,
                approvers: r.decisions.iter().map(|d| s.users[d.user].profile.login.clone()).collect(),
            })
            .collect()
    }

    /// Number of System Log events.
    pub fn log_count(&self) -> usize {
        self.state().logs.len()
    }

    /// Status and grant status of an OIG request.
    pub fn request_status(&self, id: &str) -> Option<(String, Option<String>)> {
        let s = self.state();
        s.request_by_id.get(id).map(|i| {
            let r = &s.requests[*i];
            (r.status.as_str().to_string(), r.grant_status.map(String::from))
        })
    }

    /// A digest of the whole Okta world, for determinism checks.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        let s = self.state();
        let mut h = sha2::Sha256::new();
        for u in &s.users {
            h.update(format!("{u:?}\n").as_bytes());
        }
        for g in &s.groups {
            h.update(format!("{g:?}\n").as_bytes());
        }
        for (g, m) in s.idx.members.iter().enumerate() {
            h.update(format!("{g}:{m:?}\n").as_bytes());
        }
        for a in &s.apps {
            h.update(format!("{a:?}\n").as_bytes());
        }
        for e in &s.logs {
            h.update(format!("{e:?}\n").as_bytes());
        }
        for x in &s.conditions {
            h.update(format!("{x:?}\n").as_bytes());
        }
        for x in &s.entries {
            h.update(format!("{x:?}\n").as_bytes());
        }
        for x in &s.requests {
            h.update(format!("{x:?}\n").as_bytes());
        }
        for x in &s.sequences {
            h.update(format!("{x:?}\n").as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Runs OIG decisions, fulfilments and expiries that are due at the emulator's time.
    pub(crate) fn tick(&self) {
        let now = self.now_secs();
        let delay = self.settings().decision_delay;
        let mut s = self.state();
        if s.next_due.is_none_or(|d| d > now) {
            return;
        }
        oig::process_due(&mut s, now, delay);
        s.recompute_due();
    }
}

impl State {
    pub(crate) fn recompute_due(&mut self) {
        self.next_due = self
            .requests
            .iter()
            .filter_map(|r| match r.status {
                // SUBMITTED moves to PENDING at the next request; PENDING waits for the decision.
                ReqStatus::Submitted => Some(r.created),
                ReqStatus::Pending => Some(r.decide_at.unwrap_or(r.created)),
                ReqStatus::Approved if r.revocation_status.is_none() => r.revocation_scheduled,
                _ => None,
            })
            .min();
    }

    pub(crate) fn user_actor(&self, u: usize) -> Actor {
        let p = &self.users[u].profile;
        Actor {
            id: self.users[u].id.clone(),
            kind: "User",
            alternate_id: p.login.clone(),
            display_name: format!("{} {}", p.first_name, p.last_name),
        }
    }

    pub(crate) fn user_target(&self, u: usize) -> Target {
        let p = &self.users[u].profile;
        Target {
            id: self.users[u].id.clone(),
            kind: "User",
            alternate_id: p.login.clone(),
            display_name: format!("{} {}", p.first_name, p.last_name),
        }
    }

    pub(crate) fn group_target(&self, g: usize) -> Target {
        Target {
            id: self.groups[g].id.clone(),
            kind: "UserGroup",
            alternate_id: "unknown".into(),
            display_name: self.groups[g].name.clone(),
        }
    }

    pub(crate) fn app_target(&self, a: usize) -> Target {
        let app = &self.apps[a];
        Target {
            id: app.id.clone(),
            kind: "AppInstance",
            alternate_id: app.label.to_string(),
            display_name: app.label.to_string(),
        }
    }

    /// Appends a System Log event.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn log(
        &mut self,
        now_ms: i64,
        event_type: &'static str,
        display_message: &'static str,
        actor: Actor,
        targets: Vec<Target>,
        result: &'static str,
        reason: Option<String>,
        request_id: &str,
        request_uri: Option<String>,
    ) {
        use rand::RngExt as _;
        let seq = self.next_log_seq;
        self.next_log_seq += 1;
        let bytes: [u8; 16] = self.rng.random();
        self.logs.push(LogEvent {
            seq,
            uuid: uuid::Builder::from_random_bytes(bytes).into_uuid().to_string(),
            published_ms: now_ms,
            event_type,
            display_message,
            severity: if result == "FAILURE" { "WARN" } else { "INFO" },
            actor,
            targets,
            result,
            reason,
            request_id: request_id.to_string(),
            request_uri,
            ip: "127.0.0.1",
            transaction_type: "WEB",
        });
    }

    /// Adds `u` to group `g`; false if already a member.
    pub(crate) fn add_member(&mut self, g: usize, u: usize, now: Secs) -> bool {
        if !self.idx.members[g].insert(u) {
            return false;
        }
        self.idx.groups_of[u].insert(g);
        self.groups[g].last_membership_updated = now;
        for a in self.apps.iter_mut() {
            if a.groups.contains_key(&g) {
                *a.via_groups.entry(u).or_insert(0) += 1;
            }
        }
        true
    }

    /// Removes `u` from group `g`; false if not a member.
    pub(crate) fn remove_member(&mut self, g: usize, u: usize, now: Secs) -> bool {
        if !self.idx.members[g].remove(&u) {
            return false;
        }
        self.idx.groups_of[u].remove(&g);
        self.groups[g].last_membership_updated = now;
        for a in self.apps.iter_mut() {
            if a.groups.contains_key(&g)
                && let Some(c) = a.via_groups.get_mut(&u)
            {
                *c -= 1;
                if *c == 0 {
                    a.via_groups.remove(&u);
                }
            }
        }
        true
    }

    /// Assigns `u` to app `a` directly; false if already assigned directly.
    pub(crate) fn assign_app(&mut self, a: usize, u: usize, now: Secs) -> bool {
        if self.apps[a].direct.contains_key(&u) {
            return false;
        }
        self.next_au += 1;
        let id = okta_id("0ua", self.next_au, &mut self.rng);
        self.apps[a].direct.insert(u, AppUser { id, created: now, last_updated: now, external_id: None });
        true
    }

    /// Sets a user's status, keeping the status index current.
    pub(crate) fn set_status(&mut self, u: usize, status: Status, now: Secs) {
        let old = self.users[u].status;
        self.idx.users_by_status[old.index()].remove(&u);
        self.idx.users_by_status[status.index()].insert(u);
        let user = &mut self.users[u];
        user.status = status;
        user.status_changed = Some(now);
        user.last_updated = now;
    }

    /// The user a token acts for when it is an SSWS token: the help-desk admin persona.
    pub(crate) fn token_owner(&self) -> usize {
        Persona::Dana.index()
    }
}

/// Okta's routes, under `/api/v1`, `/oauth2/v1` and `/governance/api`, plus the emulator's own
/// control paths under `/__emulator/okta` (fault injection and counters for out-of-process tests).
pub fn router(shared: Arc<Shared>) -> Router {
    http::router(shared)
}
