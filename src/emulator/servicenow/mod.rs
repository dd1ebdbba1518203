//! ServiceNow emulator: the Table API, Aggregate API, Batch API and `/oauth_token.do` over the
//! seeded world, written from the official docs and samples (`shared/reference/servicenow`).
//!
//! A generic table engine holds every table ([`store`]): interned string cells, a sys_id index,
//! equality indexes for the hot lookups and sort orders kept current on writes. Encoded queries
//! are parsed by [`query`] and evaluated by [`filter`]; [`render`] writes the JSON, [`write`]
//! applies inserts and updates with the platform's observable business rules, and [`api`]
//! dispatches requests (the Batch API re-enters it for each item). [`seed`] builds the world.

pub mod api;
pub mod filter;
pub mod query;
pub mod render;
pub mod schema;
pub mod seed;
pub mod store;
pub mod write;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine as _;
use chrono::{DateTime, SubsecRound, Utc};
use sha2::Digest as _;

use super::Shared;
use super::world::{People, Persona, WorldSpec};
use api::{Env, Principal, Req, Resp};
use seed::access::AccessRequest;
use store::Db;

/// Client id of the emulator's OAuth application (password, client-credentials and refresh
/// grants at `/oauth_token.do`).
pub const DEMO_OAUTH_CLIENT_ID: &str = "grantdesk-demo-client";
/// Client secret of the emulator's OAuth application.
pub const DEMO_OAUTH_CLIENT_SECRET: &str = "grantdesk-demo-secret";
/// Lifetime of issued access tokens, as in the documented token response.
pub const TOKEN_LIFETIME_SECS: u64 = 1799;
/// sys_id of the emulator's single rate-limit rule (`X-RateLimit-Rule`).
const RATE_RULE: &str = "0b0fd7e7c3a30110a6d3f6cd4e40dd2a";

/// Something the emulator does to the next request instead of serving it plainly, so tests
/// can see how a client copes with throttling, outages and ACL-filtered pages without waiting
/// for the real thing.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status (429, 500, 502, 503…) and, if given, `Retry-After` seconds.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` seconds to send.
        retry_after: Option<u32>,
    },
    /// Serve the next list but keep only the first `n` rows of the page, `X-Total-Count`
    /// unchanged: what a real instance does when ACLs hide rows after `sysparm_limit` applied.
    AclHidesRows(usize),
}

struct Token {
    user: String,
    expires: Instant,
}

#[derive(Default)]
struct Tokens {
    access: HashMap<String, Token>,
    refresh: HashMap<String, String>,
}

/// The ServiceNow side of the emulator.
pub struct ServiceNow {
    db: RwLock<Db>,
    epoch: DateTime<Utc>,
    history: Vec<AccessRequest>,
    tokens: Mutex<Tokens>,
    rate_limit: Option<u32>,
    rate: Mutex<HashMap<String, (i64, u32)>>,
    faults: Mutex<VecDeque<Fault>>,
    served: AtomicU64,
}

impl ServiceNow {
    /// Builds ServiceNow's tables from the world; `rate_limit` is requests per hour per user.
    pub fn build(spec: &WorldSpec, people: &People, rate_limit: Option<u32>) -> Self {
        let (mut db, history) = seed::build(spec, people);
        for (t, f) in [
            ("sys_journal_field", "element_id"),
            ("sysapproval_approver", "sysapproval"),
            ("sysapproval_approver", "approver"),
            ("sys_user", "user_name"),
            ("sys_user", "email"),
            ("sys_user_grmember", "user"),
            ("sys_user_grmember", "group"),
            ("incident", "number"),
            ("sc_request", "number"),
            ("sc_req_item", "number"),
            ("sc_task", "number"),
        ] {
            db.add_index(t, f);
        }
        for t in schema::TASK_TABLES {
            let Some(ti) = db.table_index(t) else { continue };
            let table = db.table_at(ti);
            let Some(col) = table.schema.col("number") else { continue };
            let max = table
                .rows()
                .filter_map(|r| {
                    let n = db.strings.get(table.cell(r, col));
                    n.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse::<u64>().ok()
                })
                .max()
                .unwrap_or(10_000);
            db.table_mut(ti).last_number = max;
        }
        ServiceNow {
            db: RwLock::new(db),
            epoch: spec.epoch,
            history,
            tokens: Mutex::new(Tokens::default()),
            rate_limit,
            rate: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            served: AtomicU64::new(0),
        }
    }

    /// The emulator's clock: the wall clock, never before the world's epoch, whole seconds.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now().max(self.epoch).trunc_subsecs(0)
    }

    /// The access-request history the requested items were built from (for the Okta side and
    /// tests).
    pub fn access_history(&self) -> &[AccessRequest] {
        &self.history
    }

    /// Number of `/api/now` requests answered so far (faults and refusals included).
    pub fn requests_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Answers the next requests with these faults, in order.
    pub fn inject_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).extend(faults);
    }

    /// Expires every issued access token now (refresh tokens stay valid), so tests can watch a
    /// client refresh.
    pub fn expire_tokens(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let past = Instant::now().checked_sub(StdDuration::from_secs(1)).unwrap_or_else(Instant::now);
        for tok in t.access.values_mut() {
            tok.expires = past;
        }
    }

    fn read_db(&self) -> std::sync::RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_db(&self) -> std::sync::RwLockWriteGuard<'_, Db> {
        self.db.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of live records in `table` (`None` if the table is not emulated).
    pub fn count(&self, table: &str) -> Option<usize> {
        self.read_db().table(table).map(|t| t.len())
    }

    /// Every record of `table` whose `field` equals `value`, as field → value maps (the
    /// emulator's own view of its data, for tests that check a client's results).
    pub fn find(&self, table: &str, field: &str, value: &str) -> Vec<BTreeMap<String, String>> {
        let db = self.read_db();
        let Some(ti) = db.table_index(table) else { return Vec::new() };
        let t = db.table_at(ti);
        let (Some(col), Some(sym)) = (t.schema.col(field), db.strings.lookup(value)) else { return Vec::new() };
        t.indexed_rows(col, sym).into_iter().map(|r| row_map(&db, ti, r)).collect()
    }

    /// The record `sys_id` of `table`, as a field → value map.
    pub fn record(&self, table: &str, sys_id: &str) -> Option<BTreeMap<String, String>> {
        let db = self.read_db();
        let sym = db.strings.lookup(sys_id)?;
        let (ti, row) = db.resolve(table, sym)?;
        Some(row_map(&db, ti, row))
    }

    /// SHA-256 of a canonical dump of every table: table by table in schema order, rows in
    /// storage order, every field as length-prefixed name and value. Equal worlds, equal hash.
    pub fn canonical_hash(&self) -> String {
        let db = self.read_db();
        let mut h = sha2::Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        for t in db.tables() {
            put(t.name());
            for r in t.rows() {
                for (c, f) in t.schema.fields.iter().enumerate() {
                    put(f.name);
                    put(db.strings.get(t.cell(r, c)));
                }
            }
        }
        hex::encode(h.finalize())
    }

    /// Serves one `/api/now/...` request as `user_name` without HTTP (benchmarks, tests):
    /// returns status, extra headers and body.
    pub fn handle_as(
        &self,
        user_name: &str,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        base_url: &str,
    ) -> (u16, Vec<(String, String)>, String) {
        let Some(principal) = self.principal_for(user_name) else {
            let r = unauthorized();
            return (r.status, r.headers, r.body.unwrap_or_default());
        };
        let req = Req::new(method, path_and_query, Vec::new(), body.to_vec());
        let r = self.dispatch(&req, &principal, base_url);
        (r.status, r.headers, r.body.unwrap_or_default())
    }

    fn dispatch(&self, req: &Req, principal: &Principal, base_url: &str) -> Resp {
        let env = Env { base_url, principal, now: self.now() };
        if api::is_write(req) {
            api::write(&mut self.write_db(), req, &env)
        } else {
            api::read(&self.read_db(), req, &env)
        }
    }

    fn principal_for(&self, user_name: &str) -> Option<Principal> {
        let db = self.read_db();
        let t = db.table("sys_user")?;
        let (un, active, id) = (t.schema.col("user_name")?, t.schema.col("active")?, t.schema.col("sys_id")?);
        let sym = db.strings.lookup(user_name)?;
        let row = *t.indexed_rows(un, sym).first()?;
        (db.strings.get(t.cell(row, active)) == "true").then(|| Principal {
            sys_id: db.strings.get(t.cell(row, id)).to_string(),
            user_name: user_name.to_string(),
        })
    }

    /// Who is calling: HTTP basic with any active user and the demo password, or a bearer token
    /// from `/oauth_token.do`.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Principal> {
        let auth = headers.get("authorization")?.to_str().ok()?;
        let (scheme, cred) = auth.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(cred.trim()).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, pass) = decoded.split_once(':')?;
            return (pass == super::DEMO_PASSWORD).then(|| self.principal_for(user)).flatten();
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let user = {
                let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                let tok = tokens.access.get(cred.trim())?;
                (tok.expires > Instant::now()).then(|| tok.user.clone())?
            };
            return self.principal_for(&user);
        }
        None
    }

    /// Counts a request against the hourly budget: `Err` with the 429 when over it; the
    /// rate-limit headers either way.
    fn rate_check(&self, user: &str) -> (Vec<(String, String)>, Option<Resp>) {
        let Some(limit) = self.rate_limit else { return (Vec::new(), None) };
        let now = Utc::now().timestamp();
        let window = now - now.rem_euclid(3600);
        let reset = window + 3600;
        let mut rate = self.rate.lock().unwrap_or_else(|e| e.into_inner());
        let entry = rate.entry(user.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        let headers = vec![
            ("X-RateLimit-Limit".to_string(), limit.to_string()),
            ("X-RateLimit-Reset".to_string(), reset.to_string()),
            ("X-RateLimit-Rule".to_string(), RATE_RULE.to_string()),
        ];
        if entry.1 > limit {
            let mut r = rate_limited(limit);
            r.headers.push(("Retry-After".into(), (reset - now).max(1).to_string()));
            return (headers, Some(r));
        }
        (headers, None)
    }

    fn next_fault(&self) -> Option<Fault> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
    }

    fn token(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> (u16, serde_json::Value) {
        let denied = || (401, serde_json::json!({"error_description": "access_denied", "error": "server_error"}));
        // Client credentials come in the form or in a basic Authorization header.
        let (mut id, mut secret) = (form.get("client_id").cloned(), form.get("client_secret").cloned());
        if let Some((user, pass)) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
            .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c.trim()).ok())
            .and_then(|d| String::from_utf8(d).ok())
            .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())))
        {
            id.get_or_insert(user);
            secret.get_or_insert(pass);
        }
        if id.as_deref() != Some(DEMO_OAUTH_CLIENT_ID) || secret.as_deref() != Some(DEMO_OAUTH_CLIENT_SECRET) {
            return denied();
        }
        let user = match form.get("grant_type").map(String::as_str) {
            Some("password") => {
                let (Some(u), Some(p)) = (form.get("username"), form.get("password")) else { return denied() };
                if p != super::DEMO_PASSWORD || self.principal_for(u).is_none() {
                    return denied();
                }
                u.clone()
            }
            // The OAuth application user of the demo client is the default operator.
            Some("client_credentials") => Persona::Dana.user_name().to_string(),
            Some("refresh_token") => {
                let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                match form.get("refresh_token").and_then(|r| tokens.refresh.get(r)) {
                    Some(u) => u.clone(),
                    None => return denied(),
                }
            }
            _ => {
                return (
                    400,
                    serde_json::json!({"error_description": "unsupported_grant_type", "error": "unsupported_grant_type"}),
                );
            }
        };
        let access = token_string();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.access.insert(
            access.clone(),
            Token { user: user.clone(), expires: Instant::now() + StdDuration::from_secs(TOKEN_LIFETIME_SECS) },
        );
        let mut body = serde_json::json!({
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
            "access_token": access,
        });
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            let refresh = match form.get("refresh_token") {
                Some(r) => r.clone(),
                None => token_string(),
            };
            tokens.refresh.insert(refresh.clone(), user);
            body["refresh_token"] = serde_json::Value::String(refresh);
        }
        (200, body)
    }
}

fn token_string() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{a}{b}"))
}

fn row_map(db: &Db, ti: usize, row: store::RowId) -> BTreeMap<String, String> {
    let t = db.table_at(ti);
    t.schema
        .fields
        .iter()
        .enumerate()
        .map(|(c, f)| (f.name.to_string(), db.strings.get(t.cell(row, c)).to_string()))
        .collect()
}

fn unauthorized() -> Resp {
    Resp {
        status: 401,
        headers: vec![("WWW-Authenticate".into(), "BASIC realm=\"Service-now\"".into())],
        body: Some(api::error_body("User Not Authenticated", Some("Required to provide Auth information"))),
    }
}

fn rate_limited(limit: u32) -> Resp {
    Resp {
        status: 429,
        headers: Vec::new(),
        body: Some(api::error_body(
            "Rate limit exceeded",
            Some(&format!("Rate limit of {limit} requests per hour for Table API exceeded")),
        )),
    }
}

/// Keeps the first `n` records of a list body.
fn hide_rows(body: &mut String, n: usize) {
    if let Ok(serde_json::Value::Object(mut v)) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(serde_json::Value::Array(rows)) = v.get_mut("result") {
            rows.truncate(n);
        }
        *body = serde_json::Value::Object(v).to_string();
    }
}

fn into_response(r: Resp, head: bool) -> Response {
    let mut resp = match r.body {
        Some(body) if !head => body.into_response(),
        _ => ().into_response(),
    };
    *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if r.status != 204 {
        h.insert("content-type", HeaderValue::from_static("application/json;charset=UTF-8"));
    }
    h.insert("pragma", HeaderValue::from_static("no-store,no-cache"));
    h.insert("cache-control", HeaderValue::from_static("no-cache,no-store,must-revalidate,max-age=-1"));
    h.insert("expires", HeaderValue::from_static("0"));
    for (k, v) in r.headers {
        if let (Ok(name), Ok(value)) = (axum::http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            h.append(name, value);
        }
    }
    resp
}

async fn api_handler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sn = &shared.servicenow;
    sn.served.fetch_add(1, Ordering::Relaxed);
    let head = method == Method::HEAD;
    let mut hide_after = None;
    match sn.next_fault() {
        Some(Fault::Status { status, retry_after }) => {
            let mut r = match status {
                429 => rate_limited(sn.rate_limit.unwrap_or(100)),
                s => Resp { status: s, headers: Vec::new(), body: Some(api::error_body("Service Unavailable", None)) },
            };
            if let Some(secs) = retry_after {
                r.headers.push(("Retry-After".into(), secs.to_string()));
            }
            return into_response(r, head);
        }
        Some(Fault::AclHidesRows(n)) => hide_after = Some(n),
        None => {}
    }
    let Some(principal) = sn.authenticate(&headers) else { return into_response(unauthorized(), head) };
    let (rate_headers, refused) = sn.rate_check(&principal.user_name);
    let mut resp = match refused {
        Some(r) => r,
        None => {
            let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let hdrs: Vec<(String, String)> = headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let method = if head { "GET" } else { method.as_str() };
            let req = Req::new(method, path_and_query, hdrs, body.to_vec());
            let base = shared.base_url().to_string();
            let mut r = sn.dispatch(&req, &principal, &base);
            if let (Some(n), Some(body)) = (hide_after, r.body.as_mut()) {
                hide_rows(body, n);
            }
            r
        }
    };
    resp.headers.extend(rate_headers);
    into_response(resp, head)
}

async fn token_handler(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let (status, json) = shared.servicenow.token(&headers, &form);
    let mut resp = json.to_string().into_response();
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json;charset=UTF-8"));
    resp
}

/// ServiceNow's routes: `/api/now/...` and `/oauth_token.do`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/now/{*rest}", any(api_handler))
        .route("/oauth_token.do", post(token_handler))
        .with_state(shared)
}

#[cfg(test)]
mod tests;
