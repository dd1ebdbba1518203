//! Okta management API, System Log and OIG client.
//!
//! One [`OktaClient`] (cheap to clone, one `reqwest::Client` inside) per org. It authenticates
//! with an SSWS token or OAuth `private_key_jwt`, follows `Link` pagination as streams (taking
//! only path and query from each link, since Okta may name another host), keeps every rate-limit
//! bucket under its budget, bounds concurrency, retries safe requests on 5xx and dropped
//! connections, waits out a 429 until `X-Rate-Limit-Reset` by the server's `Date`, and reports
//! failures as [`OktaError`] with Okta's code, summary and request id.

mod auth;
mod error;
pub mod governor;
pub mod oig;
mod owners;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

pub use error::OktaError;
use governor::{Governor, RateHeaders, bucket_of};
pub use owners::GroupOwner;

use crate::config::OktaConfig;
use crate::domain::{App, AppAssignment, Group, LogEvent, OktaUser};
use auth::Credentials;

/// A result of the Okta client.
pub type Result<T> = std::result::Result<T, OktaError>;

/// Characters escaped in a path segment (ids are safe; logins may hold `@`, `+`, `/`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Escapes an id or login for use as one path segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Tuning of a client.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Requests in flight at once (Okta's org-wide concurrency limit is far higher).
    pub max_concurrency: usize,
    /// Extra attempts after a 429, a 5xx or a dropped connection.
    pub max_retries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions { max_concurrency: 8, max_retries: 4 }
    }
}

/// The Okta client.
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    creds: Credentials,
    governor: Governor,
    permits: Semaphore,
    options: ClientOptions,
}

/// A raw answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: bytes_body::Body,
}

mod bytes_body {
    /// Response bytes.
    pub type Body = Vec<u8>;
}

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    search: Option<String>,
    filter: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
}

impl UserQuery {
    /// Everyone a plain list shows (Okta leaves out DEPROVISIONED users).
    pub fn all() -> Self {
        UserQuery::default()
    }

    /// A `search` expression (`profile.department eq "Finance"`); includes DEPROVISIONED users.
    pub fn search(expr: impl Into<String>) -> Self {
        UserQuery { search: Some(expr.into()), ..Default::default() }
    }

    /// A `filter` expression (`status eq "LOCKED_OUT"`).
    pub fn filter(expr: impl Into<String>) -> Self {
        UserQuery { filter: Some(expr.into()), ..Default::default() }
    }

    /// Name/email starts with `text` (`q`); not paged by Okta, at most `limit` users.
    pub fn starts_with(text: impl Into<String>) -> Self {
        UserQuery { q: Some(text.into()), ..Default::default() }
    }

    /// Users changed after `t` (incremental sync), DEPROVISIONED ones included.
    pub fn updated_since(t: DateTime<Utc>) -> Self {
        UserQuery::filter(format!("lastUpdated gt \"{}\"", okta_time(t)))
    }

    /// Page size.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    fn path(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("search", &self.search), ("filter", &self.filter), ("q", &self.q)] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if let Some(l) = self.limit {
            q.append_pair("limit", &l.to_string());
        }
        with_query("/api/v1/users", q.finish())
    }
}

/// Which groups to list.
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    search: Option<String>,
    filter: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
}

impl GroupQuery {
    /// Every group.
    pub fn all() -> Self {
        GroupQuery::default()
    }

    /// A `search` expression (`type eq "OKTA_GROUP"`).
    pub fn search(expr: impl Into<String>) -> Self {
        GroupQuery { search: Some(expr.into()), ..Default::default() }
    }

    /// A `filter` expression.
    pub fn filter(expr: impl Into<String>) -> Self {
        GroupQuery { filter: Some(expr.into()), ..Default::default() }
    }

    /// Name starts with `text`.
    pub fn starts_with(text: impl Into<String>) -> Self {
        GroupQuery { q: Some(text.into()), ..Default::default() }
    }

    /// Groups whose profile or membership changed after `t` (incremental sync).
    pub fn updated_since(t: DateTime<Utc>) -> Self {
        let t = okta_time(t);
        GroupQuery::filter(format!("lastUpdated gt \"{t}\" or lastMembershipUpdated gt \"{t}\""))
    }

    /// Page size.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    fn path(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("search", &self.search), ("filter", &self.filter), ("q", &self.q)] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if let Some(l) = self.limit {
            q.append_pair("limit", &l.to_string());
        }
        with_query("/api/v1/groups", q.finish())
    }
}

/// A bounded System Log query (`since`..`until`), oldest or newest first.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    filter: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    newest_first: bool,
}

impl LogQuery {
    /// Events published in `[since, until)`.
    pub fn between(since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        LogQuery { since: Some(since), until: Some(until), ..Default::default() }
    }

    /// The most recent events first (Okta's default window is the last seven days).
    pub fn newest_first() -> Self {
        LogQuery { newest_first: true, ..Default::default() }
    }

    /// A SCIM filter (`target.id eq "00u…"`, `eventType sw "group."`).
    pub fn filter(mut self, expr: impl Into<String>) -> Self {
        self.filter = Some(expr.into());
        self
    }

    /// Keywords, all of which must appear.
    pub fn keywords(mut self, q: impl Into<String>) -> Self {
        self.q = Some(q.into());
        self
    }

    /// Start of the window.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }

    /// Page size (up to 1000).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    fn path(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(t) = self.since {
            q.append_pair("since", &okta_time(t));
        }
        // Without `until` an ascending query would be a polling query with no end; a descending
        // one ends at Okta's "now" by itself (and so sees events of this very millisecond).
        match self.until {
            Some(t) => q.append_pair("until", &okta_time(t)),
            None if !self.newest_first => q.append_pair("until", &okta_time(Utc::now() + chrono::Duration::seconds(1))),
            None => &mut q,
        };
        if let Some(f) = &self.filter {
            q.append_pair("filter", f);
        }
        if let Some(k) = &self.q {
            q.append_pair("q", k);
        }
        if let Some(l) = self.limit {
            q.append_pair("limit", &l.to_string());
        }
        q.append_pair("sortOrder", if self.newest_first { "DESCENDING" } else { "ASCENDING" });
        with_query("/api/v1/logs", q.finish())
    }
}

/// A System Log poller: an open-ended ascending query whose `next` link always exists, so each
/// [`LogPoller::poll`] returns what was logged since the previous one.
pub struct LogPoller {
    client: OktaClient,
    next: String,
}

impl LogPoller {
    /// Events logged since the previous poll (or since the start), oldest first.
    pub async fn poll(&mut self) -> Result<Vec<LogEvent>> {
        let a = self.client.get(&self.next).await?;
        let items: Vec<wire::LogEvent> = decode(&a, "the System Log")?;
        if let Some(next) = next_link(&a.headers) {
            self.next = next;
        }
        Ok(items.into_iter().map(wire::LogEvent::into_domain).collect())
    }

    /// Where the next poll starts (persist it to resume after a restart).
    pub fn cursor(&self) -> &str {
        &self.next
    }
}

/// Okta's timestamp form.
pub fn okta_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn with_query(path: &str, q: String) -> String {
    if q.is_empty() { path.to_string() } else { format!("{path}?{q}") }
}

/// The `rel="next"` link of a response, as path and query.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::LINK) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(',') {
            let mut pieces = part.split(';');
            let url = pieces.next()?.trim().trim_start_matches('<').trim_end_matches('>');
            if pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            }) {
                return Some(path_and_query(url));
            }
        }
    }
    None
}

/// Path and query of a link, absolute or relative.
fn path_and_query(link: &str) -> String {
    match url::Url::parse(link) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => link.to_string(),
    }
}

/// The answer's `Date`, Unix seconds.
fn date_header(h: &HeaderMap) -> Option<i64> {
    h.get(header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.timestamp())
}

fn rate_headers(h: &HeaderMap) -> Option<RateHeaders> {
    let num = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let date = date_header(h);
    Some(RateHeaders {
        limit: num("x-rate-limit-limit")? as u32,
        remaining: num("x-rate-limit-remaining")? as u32,
        reset: num("x-rate-limit-reset")?,
        date,
    })
}

fn decode<T: DeserializeOwned>(a: &Answer, what: &str) -> Result<T> {
    serde_json::from_slice(&a.body).map_err(|e| OktaError::Decode { what: what.to_string(), message: e.to_string() })
}

fn request_id(h: &HeaderMap) -> Option<String> {
    h.get("x-okta-request-id").and_then(|v| v.to_str().ok()).map(String::from)
}

impl OktaClient {
    /// A client for the configured org.
    pub fn new(cfg: &OktaConfig) -> Result<Self> {
        Self::with_options(cfg, ClientOptions::default())
    }

    /// A client with explicit tuning.
    pub fn with_options(cfg: &OktaConfig, options: ClientOptions) -> Result<Self> {
        crate::install_crypto_provider();
        let mut b = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("grantdesk/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &cfg.ca_bundle {
            let pem = std::fs::read(ca)
                .map_err(|e| OktaError::Setup(format!("cannot read CA bundle {}: {e}", ca.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| OktaError::Setup(format!("CA bundle {} is not PEM: {e}", ca.display())))?;
            b = b.tls_certs_merge(certs);
        }
        let http = b.build().map_err(|e| OktaError::Setup(e.to_string()))?;
        let mut base = cfg.url.clone();
        base.set_path("/");
        base.set_query(None);
        Ok(OktaClient {
            inner: Arc::new(Inner {
                http,
                base,
                creds: Credentials::from_config(&cfg.auth)?,
                governor: Governor::default(),
                permits: Semaphore::new(options.max_concurrency.max(1)),
                options,
            }),
        })
    }

    /// The org URL.
    pub fn base_url(&self) -> &url::Url {
        &self.inner.base
    }

    async fn authorize(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        Ok(match &self.inner.creds {
            Credentials::Ssws(t) => rb.header(header::AUTHORIZATION, format!("SSWS {}", t.expose())),
            Credentials::PrivateKeyJwt(j) => {
                let t = j.access_token(&self.inner.http, &self.inner.base).await?;
                rb.bearer_auth(t.expose())
            }
        })
    }

    /// Sends a request with pacing, retries and error mapping; `path` is path and query.
    async fn send(&self, method: Method, path: &str, body: Option<&serde_json::Value>) -> Result<Answer> {
        let url = self.inner.base.join(path).map_err(|e| OktaError::Setup(format!("bad path {path}: {e}")))?;
        let bucket = bucket_of(&method, url.path());
        // PUT (a membership, a full replacement) lands the same however often it is sent.
        let safe = method == Method::GET || method == Method::PUT;
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let wait = self.inner.governor.reserve(&bucket);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let permit = self.inner.permits.acquire().await.map_err(|e| OktaError::Setup(e.to_string()))?;
            // Taken with the permit, so tickets are numbered in the order requests go out.
            let ticket = self.inner.governor.ticket(&bucket);
            let mut rb =
                self.inner.http.request(method.clone(), url.clone()).header(header::ACCEPT, "application/json");
            rb = match body {
                Some(v) => rb.json(v),
                // Okta answers 411 to a POST or PUT without Content-Length.
                None if method != Method::GET && method != Method::DELETE => {
                    rb.header(header::CONTENT_TYPE, "application/json").body(Vec::<u8>::new())
                }
                None => rb,
            };
            rb = self.authorize(rb).await?;
            let sent_at = governor::now_f64();
            let sent = rb.send().await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    drop(permit);
                    if safe
                        && attempt <= self.inner.options.max_retries
                        && (e.is_connect() || e.is_request() || e.is_body())
                    {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(OktaError::Transport { url: url.to_string(), source: e });
                }
            };
            let received_at = governor::now_f64();
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = match resp.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) => {
                    drop(permit);
                    if safe && attempt <= self.inner.options.max_retries {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(OktaError::Transport { url: url.to_string(), source: e });
                }
            };
            drop(permit);
            let rate = rate_headers(&headers);
            if let Some(date) = rate.and_then(|h| h.date).or_else(|| date_header(&headers)) {
                self.inner.governor.clock(date, sent_at, received_at);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let h = rate.unwrap_or(RateHeaders {
                    limit: 0,
                    remaining: 0,
                    reset: Utc::now().timestamp() + 1,
                    date: None,
                });
                self.inner.governor.exhausted(&bucket, h);
                if attempt <= self.inner.options.max_retries {
                    // The governor holds this request (and the bucket's others) back until the
                    // reset, by the server's clock as the answers' `Date`s pin it down.
                    tracing::debug!(bucket, "Okta rate limit hit; waiting for the reset");
                    continue;
                }
                return Err(OktaError::RateLimited { attempts: attempt, request_id: request_id(&headers) });
            }
            if let Some(h) = rate {
                self.inner.governor.observe(&bucket, h, ticket.sent_after());
            }
            if status.is_server_error() && safe && attempt <= self.inner.options.max_retries {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED
                && !refreshed
                && let Credentials::PrivateKeyJwt(j) = &self.inner.creds
            {
                // The cached access token may have been revoked: fetch a fresh one once.
                refreshed = true;
                j.forget().await;
                continue;
            }
            let answer = Answer { status, headers, body };
            if !status.is_success() {
                return Err(error_from(&answer, &url));
            }
            return Ok(answer);
        }
    }

    async fn get(&self, path: &str) -> Result<Answer> {
        self.send(Method::GET, path, None).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        let a = self.get(path).await?;
        decode(&a, what)
    }

    /// Pages of a `Link`-paginated list, flattened.
    fn paged<W, U, F>(&self, first: String, what: &'static str, map: F) -> BoxStream<'static, Result<U>>
    where
        W: DeserializeOwned + Send + 'static,
        U: Send + 'static,
        F: Fn(W) -> U + Send + Sync + 'static,
    {
        let client = self.clone();
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(path) = next else { return Ok(None) };
                let a = client.get(&path).await?;
                let items: Vec<W> = decode(&a, what)?;
                let next = next_link(&a.headers).filter(|n| *n != path);
                Ok(Some((items, next)))
            }
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .map_ok(map)
        .boxed()
    }

    // ----- users -----------------------------------------------------------------------------

    /// Users matching `query`, page after page.
    pub fn users(&self, query: &UserQuery) -> BoxStream<'static, Result<OktaUser>> {
        self.paged(query.path(), "the user list", wire::User::into_domain)
    }

    /// Every user matching `query`, collected.
    pub async fn all_users(&self, query: &UserQuery) -> Result<Vec<OktaUser>> {
        self.users(query).try_collect().await
    }

    /// A user by id or login.
    pub async fn user(&self, id_or_login: &str) -> Result<OktaUser> {
        let u: wire::User = self.get_json(&format!("/api/v1/users/{}", segment(id_or_login)), "the user").await?;
        Ok(u.into_domain())
    }

    /// The groups of a user.
    pub async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>> {
        let g: Vec<wire::Group> =
            self.get_json(&format!("/api/v1/users/{}/groups", segment(user_id)), "the user's groups").await?;
        Ok(g.into_iter().map(wire::Group::into_domain).collect())
    }

    /// The apps of a user (direct and through groups).
    pub async fn user_app_links(&self, user_id: &str) -> Result<Vec<wire::AppLink>> {
        self.get_json(&format!("/api/v1/users/{}/appLinks", segment(user_id)), "the user's apps").await
    }

    /// The MFA factors of a user.
    pub async fn user_factors(&self, user_id: &str) -> Result<Vec<wire::Factor>> {
        self.get_json(&format!("/api/v1/users/{}/factors", segment(user_id)), "the user's factors").await
    }

    /// Removes one MFA factor.
    pub async fn delete_factor(&self, user_id: &str, factor_id: &str) -> Result<()> {
        self.send(Method::DELETE, &format!("/api/v1/users/{}/factors/{}", segment(user_id), segment(factor_id)), None)
            .await?;
        Ok(())
    }

    async fn lifecycle(&self, user_id: &str, op: &str) -> Result<Answer> {
        self.send(Method::POST, &format!("/api/v1/users/{}/lifecycle/{op}", segment(user_id)), None).await
    }

    /// Unlocks a LOCKED_OUT user (E0000032 if the user is not locked out).
    pub async fn unlock_user(&self, user_id: &str) -> Result<()> {
        self.lifecycle(user_id, "unlock").await.map(|_| ())
    }

    /// Suspends an ACTIVE user.
    pub async fn suspend_user(&self, user_id: &str) -> Result<()> {
        self.lifecycle(user_id, "suspend").await.map(|_| ())
    }

    /// Unsuspends a SUSPENDED user.
    pub async fn unsuspend_user(&self, user_id: &str) -> Result<()> {
        self.lifecycle(user_id, "unsuspend").await.map(|_| ())
    }

    /// Starts a password reset without email; returns the one-time reset link to hand over.
    pub async fn reset_password_link(&self, user_id: &str) -> Result<String> {
        let a = self.lifecycle(user_id, "reset_password?sendEmail=false").await?;
        let t: wire::ResetPasswordToken = decode(&a, "the reset-password answer")?;
        t.reset_password_url.ok_or_else(|| OktaError::Decode {
            what: "the reset-password answer".into(),
            message: "no resetPasswordUrl".into(),
        })
    }

    /// Starts a password reset that Okta emails to the user.
    pub async fn reset_password_by_email(&self, user_id: &str) -> Result<()> {
        self.lifecycle(user_id, "reset_password?sendEmail=true").await.map(|_| ())
    }

    /// Expires the password (the user must change it at next sign-in); returns the user.
    pub async fn expire_password(&self, user_id: &str) -> Result<OktaUser> {
        let a = self.lifecycle(user_id, "expire_password").await?;
        let u: wire::User = decode(&a, "the user")?;
        Ok(u.into_domain())
    }

    /// Expires the password and returns a temporary one.
    pub async fn expire_password_with_temp(&self, user_id: &str) -> Result<String> {
        let a = self.lifecycle(user_id, "expire_password_with_temp_password").await?;
        let t: wire::TempPassword = decode(&a, "the temporary password")?;
        t.temp_password.ok_or_else(|| OktaError::Decode {
            what: "the temporary password".into(),
            message: "no tempPassword".into(),
        })
    }

    /// Resets every MFA enrolment of the user.
    pub async fn reset_factors(&self, user_id: &str) -> Result<()> {
        self.lifecycle(user_id, "reset_factors").await.map(|_| ())
    }

    // ----- groups ----------------------------------------------------------------------------

    /// Groups matching `query`.
    pub fn groups(&self, query: &GroupQuery) -> BoxStream<'static, Result<Group>> {
        self.paged(query.path(), "the group list", wire::Group::into_domain)
    }

    /// A group by id.
    pub async fn group(&self, group_id: &str) -> Result<Group> {
        let g: wire::Group = self.get_json(&format!("/api/v1/groups/{}", segment(group_id)), "the group").await?;
        Ok(g.into_domain())
    }

    /// Members of a group, 200 a page (Okta's recommended page size).
    pub fn group_members(&self, group_id: &str) -> BoxStream<'static, Result<OktaUser>> {
        self.group_members_in_pages_of(group_id, 200)
    }

    /// Members of a group, `limit` a page (Okta allows up to 1000): fewer requests against the
    /// rate limit when every membership of the org is read.
    pub fn group_members_in_pages_of(&self, group_id: &str, limit: u32) -> BoxStream<'static, Result<OktaUser>> {
        self.paged(
            format!("/api/v1/groups/{}/users?limit={limit}", segment(group_id)),
            "the group members",
            wire::User::into_domain,
        )
    }

    /// Adds a user to an OKTA_GROUP (idempotent).
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.send(Method::PUT, &format!("/api/v1/groups/{}/users/{}", segment(group_id), segment(user_id)), None)
            .await?;
        Ok(())
    }

    /// Removes a user from an OKTA_GROUP (idempotent).
    pub async fn remove_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.send(Method::DELETE, &format!("/api/v1/groups/{}/users/{}", segment(group_id), segment(user_id)), None)
            .await?;
        Ok(())
    }

    // ----- apps ------------------------------------------------------------------------------

    /// Every app.
    pub fn apps(&self) -> BoxStream<'static, Result<App>> {
        self.paged("/api/v1/apps?limit=200".to_string(), "the app list", wire::App::into_domain)
    }

    /// An app by id.
    pub async fn app(&self, app_id: &str) -> Result<App> {
        let a: wire::App = self.get_json(&format!("/api/v1/apps/{}", segment(app_id)), "the app").await?;
        Ok(a.into_domain())
    }

    /// Everyone assigned to an app, directly (`USER`) or through a group (`GROUP`).
    pub fn app_users(&self, app_id: &str) -> BoxStream<'static, Result<AppAssignment>> {
        let id = app_id.to_string();
        self.paged(
            format!("/api/v1/apps/{}/users?limit=500", segment(app_id)),
            "the app users",
            move |u: wire::AppUser| u.into_domain(&id),
        )
    }

    /// Assigns a user to an app directly.
    pub async fn assign_app_user(&self, app_id: &str, user_id: &str) -> Result<AppAssignment> {
        let body = serde_json::json!({ "id": user_id, "scope": "USER" });
        let a = self.send(Method::POST, &format!("/api/v1/apps/{}/users", segment(app_id)), Some(&body)).await?;
        let u: wire::AppUser = decode(&a, "the app assignment")?;
        Ok(u.into_domain(app_id))
    }

    /// Removes a user's direct assignment to an app.
    pub async fn unassign_app_user(&self, app_id: &str, user_id: &str) -> Result<()> {
        self.send(Method::DELETE, &format!("/api/v1/apps/{}/users/{}", segment(app_id), segment(user_id)), None)
            .await?;
        Ok(())
    }

    /// Groups assigned to an app.
    pub fn app_groups(&self, app_id: &str) -> BoxStream<'static, Result<wire::AppGroup>> {
        self.paged(format!("/api/v1/apps/{}/groups?limit=200", segment(app_id)), "the app groups", |g| g)
    }

    // ----- System Log ------------------------------------------------------------------------

    /// Events of a bounded query, page after page.
    pub fn log_events(&self, query: &LogQuery) -> BoxStream<'static, Result<LogEvent>> {
        self.paged(query.path(), "the System Log", wire::LogEvent::into_domain)
    }

    /// The last `n` events about a user (as actor or target), newest first.
    pub async fn recent_events_about(&self, user_id: &str, n: usize) -> Result<Vec<LogEvent>> {
        let q = LogQuery::newest_first()
            .filter(format!("target.id eq \"{user_id}\" or actor.id eq \"{user_id}\""))
            .since(Utc::now() - chrono::Duration::days(90))
            .limit(n.clamp(1, 1000) as u32);
        self.log_events(&q).take(n).try_collect().await
    }

    /// A poller of events logged from `since` on, optionally filtered.
    pub fn log_poller(&self, since: DateTime<Utc>, filter: Option<&str>) -> LogPoller {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("since", &okta_time(since));
        if let Some(f) = filter {
            q.append_pair("filter", f);
        }
        q.append_pair("sortOrder", "ASCENDING");
        LogPoller { client: self.clone(), next: with_query("/api/v1/logs", q.finish()) }
    }

    /// A poller resuming at a saved [`LogPoller::cursor`].
    pub fn log_poller_at(&self, cursor: &str) -> LogPoller {
        LogPoller { client: self.clone(), next: cursor.to_string() }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(5)))
}

fn error_from(a: &Answer, url: &url::Url) -> OktaError {
    let rid = request_id(&a.headers);
    let Ok(body) = serde_json::from_slice::<wire::ErrorBody>(&a.body) else {
        return http_error(a, url);
    };
    let Some(code) = body.error_code.clone() else {
        return http_error(a, url);
    };
    let summary = body.error_summary.clone().unwrap_or_default();
    if code == "E0000011" || a.status == StatusCode::UNAUTHORIZED {
        return OktaError::InvalidToken { code, summary, request_id: rid };
    }
    if a.status == StatusCode::FORBIDDEN
        && let Some(scope) = insufficient_scope(&a.headers)
    {
        return OktaError::MissingScope { scope, code, request_id: rid };
    }
    if code == "E0000007" {
        return OktaError::NotFound { code, summary, request_id: rid };
    }
    let causes = body.error_causes.unwrap_or_default().into_iter().filter_map(|c| c.error_summary).collect();
    OktaError::Api { status: a.status.as_u16(), code, summary, causes, request_id: rid }
}

fn http_error(a: &Answer, url: &url::Url) -> OktaError {
    let text = String::from_utf8_lossy(&a.body);
    let body: String = crate::domain::text::sanitize_line(&text).chars().take(200).collect();
    let mut shown = url.clone();
    shown.set_query(None);
    OktaError::Http { status: a.status.as_u16(), url: shown.to_string(), body }
}

fn insufficient_scope(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::WWW_AUTHENTICATE)?.to_str().ok()?;
    if !v.contains("insufficient_scope") {
        return None;
    }
    let start = v.find("scope=\"")? + 7;
    let end = v[start..].find('"')? + start;
    Some(v[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_takes_path_and_query_from_either_header_form() {
        let mut h = HeaderMap::new();
        h.append(header::LINK, "<https://x.okta.com/api/v1/users?limit=2>; rel=\"self\"".parse().unwrap());
        h.append(
            header::LINK,
            "<https://x-admin.okta.com/api/v1/users?after=000u1&limit=2>; rel=\"next\"".parse().unwrap(),
        );
        assert_eq!(next_link(&h).as_deref(), Some("/api/v1/users?after=000u1&limit=2"));
        let mut one = HeaderMap::new();
        one.insert(
            header::LINK,
            "<https://a/x?limit=1>; rel=\"self\", <https://a/x?after=b&limit=1>; rel=\"next\"".parse().unwrap(),
        );
        assert_eq!(next_link(&one).as_deref(), Some("/x?after=b&limit=1"));
        let mut none = HeaderMap::new();
        none.insert(header::LINK, "<https://a/x?limit=1>; rel=\"self\"".parse().unwrap());
        assert_eq!(next_link(&none), None);
    }

    #[test]
    fn logins_are_escaped_as_one_segment() {
        assert_eq!(segment("a/b c@example.com"), "a%2Fb%20c@example.com");
    }
}
