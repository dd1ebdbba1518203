//! What every Okta response shares: request ids, rate-limit buckets and headers, the concurrency
//! limit, authentication and scopes, error bodies, `Link` headers and query parsing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rand::RngExt as _;
use serde_json::{Value, json};

use super::{BudgetWindow, apps, groups, logs, oauth, oig, users};
use crate::emulator::Shared;

/// Who is calling, as established by the auth layer.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An SSWS API token, acting as the user who created it.
    Token { user: usize },
    /// An OAuth service app.
    Service { client_id: String },
}

/// Per-request context handed to handlers.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub caller: Caller,
    pub uri: String,
}

/// An error in Okta's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError { status, code, summary: summary.into(), causes: Vec::new() }
    }

    pub fn cause(mut self, summary: impl Into<String>) -> Self {
        self.causes.push(json!({ "errorSummary": summary.into() }));
        self
    }

    /// OIG's causes carry where and why.
    pub fn governance_cause(mut self, summary: &str, location: &str, reason: &str) -> Self {
        self.causes.push(json!({
            "domain": "governance", "errorSummary": summary, "location": location,
            "locationType": if location.starts_with('/') { "body" } else { "query" }, "reason": reason,
        }));
        self
    }

    pub fn not_found(id: &str, kind: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "E0000007", format!("Not found: Resource not found: {id} ({kind})"))
    }

    pub fn validation(what: &str) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "E0000001", format!("Api validation failed: {what}"))
    }

    pub fn bad_paging() -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "E0000029", "Invalid paging request.").cause("Invalid cursor.")
    }

    pub fn bad_search(reason: &str) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "E0000031", "Invalid search criteria.").cause(reason.to_string())
    }

    pub fn wrong_status() -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "E0000038", "This operation is not allowed in the user's current status.")
    }

    pub fn missing_param(name: &str) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "E0000028", "The request is missing a required parameter.")
            .cause(format!("{name}: The request is missing a required parameter."))
    }

    pub fn access_denied() -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "E0000006", "You do not have permission to perform the requested action")
    }
}

fn error_id() -> String {
    let mut rng = rand::rng();
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    let tail: String = (0..22).map(|_| A[rng.random_range(0..A.len())] as char).collect();
    format!("oae{tail}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id(),
            "errorCauses": self.causes,
        });
        (self.status, axum::Json(body)).into_response()
    }
}

/// Handler result.
pub type ApiResult = Result<Response, ApiError>;

/// A JSON response.
pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A JSON response from an already serialised body.
pub fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A JSON response with a `Link` header (`(url, rel)` pairs). Okta has sent both one header per
/// link and one comma-joined header; the joined form is the one every SDK parser reads (the
/// Python SDK looks at a single `Link` value).
pub fn with_links(mut r: Response, links: &[(String, &str)]) -> Response {
    let joined: Vec<String> = links.iter().map(|(url, rel)| format!("<{url}>; rel=\"{rel}\"")).collect();
    if !joined.is_empty()
        && let Ok(v) = HeaderValue::from_str(&joined.join(", "))
    {
        r.headers_mut().insert(header::LINK, v);
    }
    r
}

/// Drops `null` members recursively: Okta omits unset properties, and its spec declares most of
/// them non-nullable.
pub fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| (k, strip_nulls(x))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// 204 No Content.
pub fn no_content() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// Query parameters (last value wins, as Okta's own parsing does).
#[derive(Debug, Default, Clone)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn parse(q: Option<&str>) -> Self {
        Params(url::form_urlencoded::parse(q.unwrap_or("").as_bytes()).into_owned().collect())
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// `limit`, defaulted and clamped to `[min, max]`; a non-number is a validation error.
    pub fn limit(&self, default: usize, min: usize, max: usize) -> Result<usize, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(default),
            Some(v) => {
                let n: i64 =
                    v.trim().parse().map_err(|_| ApiError::validation("limit").cause("limit: must be a number"))?;
                if n < 0 { Ok(default) } else { Ok((n as usize).clamp(min, max)) }
            }
        }
    }

    /// The query string for a self/next link: the original parameters with `limit` set to the
    /// effective one and `after` replaced.
    pub fn link_query(&self, limit: usize, after: Option<&str>) -> String {
        let mut keys: Vec<&String> = self.0.keys().filter(|k| *k != "limit" && *k != "after").collect();
        keys.sort();
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for k in keys {
            ser.append_pair(k, &self.0[k]);
        }
        if let Some(a) = after {
            ser.append_pair("after", a);
        }
        ser.append_pair("limit", &limit.to_string());
        ser.finish()
    }
}

/// Self (and next, when there is more) links for a list page.
pub fn page_links(
    base: &str,
    path: &str,
    p: &Params,
    limit: usize,
    next_after: Option<&str>,
) -> Vec<(String, &'static str)> {
    let self_after = p.get("after");
    let mut links = vec![(format!("{base}{path}?{}", p.link_query(limit, self_after)), "self")];
    if let Some(a) = next_after {
        links.push((format!("{base}{path}?{}", p.link_query(limit, Some(a))), "next"));
    }
    links
}

/// A rate-limit bucket: a key, Okta's per-minute budget, and the OAuth scope an operation needs.
struct Class {
    bucket: &'static str,
    limit: u32,
    scope: Option<&'static str>,
}

fn classify(method: &Method, path: &str) -> Class {
    let read = method == Method::GET;
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let c = |bucket, limit, scope| Class { bucket, limit, scope: Some(scope) };
    if path.starts_with("/oauth2/") {
        return Class { bucket: "/oauth2/v1", limit: 2000, scope: None };
    }
    if path.starts_with("/governance/") {
        let scope = if path.contains("/tasks") {
            if read { "okta.accessRequests.tasks.read" } else { "okta.accessRequests.tasks.manage" }
        } else if path.contains("/catalogs/") {
            "okta.accessRequests.catalog.read"
        } else if path.contains("request-conditions")
            || path.contains("request-settings")
            || path.contains("request-sequences")
        {
            if read { "okta.accessRequests.condition.read" } else { "okta.accessRequests.condition.manage" }
        } else if read {
            "okta.accessRequests.request.read"
        } else {
            "okta.accessRequests.request.manage"
        };
        return c("/governance/api/v2", 300, scope);
    }
    match seg.get(2).copied() {
        Some("users") => {
            let scope = if read { "okta.users.read" } else { "okta.users.manage" };
            if seg.len() == 3 {
                c("/api/v1/users", 600, scope)
            } else if read && seg.len() == 4 {
                c("/api/v1/users/{id}:GET", 2000, scope)
            } else {
                c("/api/v1/users/{id}", 600, scope)
            }
        }
        Some("groups") => {
            let scope = if read { "okta.groups.read" } else { "okta.groups.manage" };
            if seg.len() == 3 { c("/api/v1/groups", 500, scope) } else { c("/api/v1/groups/{id}", 1000, scope) }
        }
        Some("apps") => {
            let scope = if read { "okta.apps.read" } else { "okta.apps.manage" };
            if seg.len() == 3 { c("/api/v1/apps", 100, scope) } else { c("/api/v1/apps/{id}", 500, scope) }
        }
        Some("logs") => c("/api/v1/logs", 120, "okta.logs.read"),
        _ => c("/api/v1", 1200, "okta.users.read"),
    }
}

struct InflightGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn set_rate_headers(h: &mut HeaderMap, limit: u32, remaining: u32, reset: i64) {
    h.insert("x-rate-limit-limit", HeaderValue::from(limit));
    h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    h.insert("x-rate-limit-reset", HeaderValue::from(reset));
}

fn common_headers(h: &mut HeaderMap, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-okta-request-id", v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("p3p", HeaderValue::from_static("CP=\"HONK\""));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::DATE) {
        let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        if let Ok(v) = HeaderValue::from_str(&date) {
            h.insert(header::DATE, v);
        }
    }
}

/// The layer every Okta route runs through.
async fn okta_layer(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let okta = &shared.okta;
    okta.requests.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("{:032x}", rand::rng().random::<u128>());
    let path = req.uri().path().to_string();
    let class = classify(req.method(), &path);
    let wall = chrono::Utc::now().timestamp();

    // Concurrency: requests in flight beyond the org's limit get a 429 reporting the
    // concurrent limit (limit and remaining both 0, which is how the SDKs recognise it).
    let inflight = okta.inflight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InflightGuard(&okta.inflight);
    let (conc_limit, budget, injected, window_secs) = {
        let mut s = okta.settings();
        let injected = s.inject_429 > 0;
        if injected {
            s.inject_429 -= 1;
        }
        (s.concurrency_limit, s.rate_limit.unwrap_or(class.limit), injected, s.rate_window_secs)
    };
    if inflight > conc_limit {
        okta.rate_limited.fetch_add(1, Ordering::Relaxed);
        let mut r = rate_limited_response();
        set_rate_headers(r.headers_mut(), 0, 0, wall + 1);
        common_headers(r.headers_mut(), &request_id);
        return r;
    }

    // Per-bucket fixed windows, a minute long as Okta's.
    let (remaining, reset, allowed) = {
        let mut l = okta.limiter.lock().unwrap_or_else(|e| e.into_inner());
        let window = wall / window_secs;
        let entry = l.entry(class.bucket).or_insert((window, 0));
        if entry.0 != window {
            okta.windows_past.lock().unwrap_or_else(|e| e.into_inner()).push(BudgetWindow {
                bucket: class.bucket,
                start: entry.0 * window_secs,
                used: entry.1,
                budget,
            });
            *entry = (window, 0);
        }
        let allowed = entry.1 < budget && !injected;
        if allowed {
            entry.1 += 1;
        }
        let reset = if injected { wall + 1 } else { (window + 1) * window_secs };
        (budget.saturating_sub(entry.1), reset, allowed)
    };
    let finish = |mut r: Response, remaining: u32| {
        set_rate_headers(r.headers_mut(), budget, remaining, reset);
        common_headers(r.headers_mut(), &request_id);
        r
    };
    if !allowed {
        okta.rate_limited.fetch_add(1, Ordering::Relaxed);
        return finish(rate_limited_response(), 0);
    }

    let failing = {
        let mut s = okta.settings();
        let f = s.inject_500 > 0;
        if f {
            s.inject_500 -= 1;
        }
        f
    };
    if failing {
        let e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "E0000009", "Internal Server Error");
        return finish(e.into_response(), remaining);
    }

    // Authentication (the token endpoint authenticates the client itself).
    let caller = if path.starts_with("/oauth2/") {
        Caller::Token { user: okta.state().token_owner() }
    } else {
        match authenticate(okta, req.headers(), class.scope, &path) {
            Ok(c) => c,
            Err(r) => return finish(*r, remaining),
        }
    };
    okta.tick();
    let uri = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or(path);
    req.extensions_mut().insert(Ctx { request_id: request_id.clone(), caller, uri });
    let resp = next.run(req).await;
    finish(resp, remaining)
}

fn rate_limited_response() -> Response {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "E0000047", "API call exceeded rate limit due to too many requests.")
        .into_response()
}

fn authenticate(
    okta: &super::Okta,
    headers: &HeaderMap,
    scope: Option<&'static str>,
    path: &str,
) -> Result<Caller, Box<Response>> {
    let invalid = || {
        let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided").into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("SSWS realm=\"Okta\""));
        Box::new(r)
    };
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Okta's Python SDK 3.4 sends `SSWS<token>` without the space; Okta accepts both.
    if let Some(token) = auth.strip_prefix("SSWS") {
        if token.trim() == crate::emulator::DEMO_OKTA_TOKEN {
            return Ok(Caller::Token { user: okta.state().token_owner() });
        }
        return Err(invalid());
    }
    if let Some(token) = auth.strip_prefix("Bearer ") {
        let now = okta.now_secs();
        let o = okta.oauth.lock().unwrap_or_else(|e| e.into_inner());
        let Some(t) = o.tokens.get(token.trim()) else { return Err(invalid()) };
        if t.expires <= now {
            return Err(invalid());
        }
        if let Some(scope) = scope
            && !t.scopes.iter().any(|s| s == scope)
        {
            let mut r = ApiError::access_denied().into_response();
            let www = format!(
                "Bearer realm=\"Okta\", scope=\"{scope}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{path}\""
            );
            if let Ok(v) = HeaderValue::from_str(&www) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return Err(Box::new(r));
        }
        return Ok(Caller::Service { client_id: t.client_id.clone() });
    }
    Err(invalid())
}

/// Emulator control: inject 429s and read counters, for tests running in another process.
async fn control_inject(State(shared): State<Arc<Shared>>, q: axum::extract::RawQuery) -> Response {
    let p = Params::parse(q.0.as_deref());
    let n = p.get("count").and_then(|v| v.parse().ok()).unwrap_or(1);
    shared.okta.inject_rate_limit(n);
    json_response(StatusCode::OK, &json!({ "injected": n }))
}

async fn control_stats(State(shared): State<Arc<Shared>>) -> Response {
    let s = shared.okta.stats();
    json_response(StatusCode::OK, &json!({ "requests": s.requests, "rateLimited": s.rate_limited }))
}

async fn control_advance(State(shared): State<Arc<Shared>>, q: axum::extract::RawQuery) -> Response {
    let p = Params::parse(q.0.as_deref());
    let secs: u64 = p.get("seconds").and_then(|v| v.parse().ok()).unwrap_or(0);
    shared.okta.advance_clock(std::time::Duration::from_secs(secs));
    json_response(StatusCode::OK, &json!({ "advancedSeconds": secs }))
}

async fn control_decision_delay(State(shared): State<Arc<Shared>>, q: axum::extract::RawQuery) -> Response {
    let p = Params::parse(q.0.as_deref());
    let secs: u64 = p.get("seconds").and_then(|v| v.parse().ok()).unwrap_or(0);
    shared.okta.set_decision_delay(std::time::Duration::from_secs(secs));
    json_response(StatusCode::OK, &json!({ "decisionDelaySeconds": secs }))
}

/// All Okta routes.
pub fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v1/users", get(users::list))
        .route("/api/v1/users/{id}", get(users::get_one))
        .route("/api/v1/users/{id}/groups", get(users::groups))
        .route("/api/v1/users/{id}/appLinks", get(users::app_links))
        .route("/api/v1/users/{id}/factors", get(users::factors))
        .route("/api/v1/users/{id}/factors/{fid}", get(users::factor).delete(users::delete_factor))
        .route("/api/v1/users/{id}/lifecycle/{op}", post(users::lifecycle))
        .route("/api/v1/groups", get(groups::list))
        .route("/api/v1/groups/{gid}", get(groups::get_one))
        .route("/api/v1/groups/{gid}/users", get(groups::members))
        .route("/api/v1/groups/{gid}/users/{uid}", put(groups::add_member).delete(groups::remove_member))
        .route("/api/v1/groups/{gid}/owners", get(super::owners::owners))
        .route("/api/v1/groups/{gid}/apps", get(super::owners::apps))
        .route("/api/v1/apps", get(apps::list))
        .route("/api/v1/apps/{aid}", get(apps::get_one))
        .route("/api/v1/apps/{aid}/users", get(apps::users).post(apps::assign))
        .route("/api/v1/apps/{aid}/users/{uid}", get(apps::app_user).delete(apps::unassign))
        .route("/api/v1/apps/{aid}/groups", get(apps::groups))
        .route("/api/v1/logs", get(logs::list))
        .route("/oauth2/v1/token", post(oauth::token))
        .route("/governance/api/v2/catalogs/default/entries", get(oig::list_entries))
        .route("/governance/api/v2/catalogs/default/entries/{eid}", get(oig::get_entry))
        .route("/governance/api/v2/catalogs/default/user/{uid}/entries", get(oig::list_user_entries))
        .route("/governance/api/v2/catalogs/default/entries/{eid}/users/{uid}/request-fields", get(oig::request_fields))
        .route("/governance/api/v2/requests", get(oig::list_requests).post(oig::create_request))
        .route("/governance/api/v2/requests/{rid}", get(oig::get_request))
        .route("/governance/api/v2/resources/{resource}/request-conditions", get(oig::list_conditions))
        .route("/governance/api/v2/resources/{resource}/request-conditions/{cid}", get(oig::get_condition))
        .route("/governance/api/v2/resources/{resource}/request-settings", get(oig::resource_settings))
        .route("/governance/api/v2/resources/{resource}/request-sequences", get(oig::list_sequences))
        .route("/governance/api/v2/request-settings", get(oig::org_settings))
        .route("/governance/api/v2/tasks", get(oig::list_tasks))
        .route("/governance/api/v2/tasks/{tid}", get(oig::get_task))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), okta_layer));
    let control = Router::new()
        .route("/__emulator/okta/inject-429", post(control_inject))
        .route("/__emulator/okta/stats", get(control_stats))
        .route("/__emulator/okta/advance-clock", post(control_advance))
        .route("/__emulator/okta/decision-delay", post(control_decision_delay));
    api.merge(control).with_state(shared)
}
