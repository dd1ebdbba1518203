//! The HTTP side of the client: one `reqwest::Client`, authentication (basic, or OAuth with
//! the token refreshed before it expires and once more on a 401), retries on 429/503 that honour
//! `Retry-After`, and Table/Aggregate API calls with offset paging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};
use url::Url;

use super::error::{Result, ServiceNowError};
use super::query::Query;
use super::record::Record;
use crate::config::{Secret, ServiceNowAuth, ServiceNowConfig};

/// How hard to retry throttled or unavailable calls.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub max_attempts: u32,
    /// First backoff when the service gives no `Retry-After`.
    pub base_delay: Duration,
    /// Longest backoff between attempts.
    pub max_delay: Duration,
    /// Longest `Retry-After` worth waiting for; longer asks fail at once as rate limited.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// `sysparm_display_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayValue {
    /// Stored values only (`false`, the default).
    #[default]
    Value,
    /// Display values only (`true`).
    Display,
    /// Both (`all`): every field becomes `{value, display_value}`.
    All,
}

impl DisplayValue {
    fn param(self) -> &'static str {
        match self {
            DisplayValue::Value => "false",
            DisplayValue::Display => "true",
            DisplayValue::All => "all",
        }
    }
}

/// What to fetch and how.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// `sysparm_fields` (empty: every field); dot-walking allowed.
    pub fields: Vec<String>,
    /// `sysparm_display_value`.
    pub display: DisplayValue,
    /// Records per request (`sysparm_limit` of each page).
    pub page_size: usize,
    /// Stop after this many records in all.
    pub limit: Option<usize>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { fields: Vec::new(), display: DisplayValue::Value, page_size: 500, limit: None }
    }
}

impl ListOptions {
    /// Options fetching `fields` with `display` values.
    pub fn fields(fields: &[&str], display: DisplayValue) -> Self {
        ListOptions { fields: fields.iter().map(|f| f.to_string()).collect(), display, ..Default::default() }
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page {
    /// The records.
    pub records: Vec<Record>,
    /// Offset of the first record.
    pub offset: usize,
    /// `X-Total-Count`: records matching the query across all pages, when sent.
    pub total: Option<usize>,
}

enum Grant {
    Password { client_id: String, client_secret: Secret, user: String, password: Secret },
    ClientCredentials { client_id: String, client_secret: Secret },
}

struct Token {
    access: Secret,
    refresh: Option<Secret>,
    expires_at: Instant,
}

enum Auth {
    Basic { user: String, password: Secret },
    OAuth { grant: Grant, token: tokio::sync::Mutex<Option<Token>> },
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    timeout: Duration,
}

/// A ServiceNow instance, signed in. Cheap to clone; clones share one HTTP client and token.
#[derive(Clone)]
pub struct ServiceNowClient {
    inner: Arc<Inner>,
    retry: RetryPolicy,
}

/// A response that arrived with a success status.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// The innermost cause of a transport error, in words, and whether TLS failed.
fn transport_cause(e: &reqwest::Error, timeout: Duration) -> (String, bool) {
    if e.is_timeout() {
        return (format!("no answer within {}s (servicenow.timeout_secs)", timeout.as_secs()), false);
    }
    let mut inner: &dyn std::error::Error = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    let text = inner.to_string();
    let lower = text.to_ascii_lowercase();
    let tls = lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake");
    let text = if lower.contains("connection refused") {
        "connection refused".to_string()
    } else if lower.contains("dns") || lower.contains("failed to lookup") || lower.contains("name or service not known")
    {
        format!("the host name does not resolve ({text})")
    } else {
        text
    };
    (crate::domain::text::sanitize_line(&text).into_owned(), tls)
}

impl ServiceNowError {
    /// The error a non-2xx answer stands for, read from ServiceNow's error body
    /// (`{"error":{"message","detail"},"status":"failure"}`).
    pub fn from_response(status: u16, method: &str, path: &str, body: &str) -> ServiceNowError {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (message, detail) = error_parts(body, code);
        if status == 429 {
            return ServiceNowError::RateLimited {
                status,
                method: method.into(),
                path: path.into(),
                message,
                detail,
                retry_after: None,
            };
        }
        ServiceNowError::Api { status, method: method.into(), path: path.into(), message, detail }
    }
}

fn error_parts(body: &str, status: StatusCode) -> (String, String) {
    let fallback = || status.canonical_reason().unwrap_or("error").to_string();
    let Ok(v) = serde_json::from_str::<Value>(body) else { return (fallback(), String::new()) };
    let err = &v["error"];
    let text = |x: &Value| match x {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let message = text(&err["message"]);
    let detail = text(&err["detail"]);
    let message = if message.is_empty() { fallback() } else { message };
    (
        crate::domain::text::sanitize_line(&message).into_owned(),
        crate::domain::text::sanitize_line(&detail).into_owned(),
    )
}

impl ServiceNowClient {
    /// Builds the client from validated settings (one HTTP client, the CA bundle and timeout
    /// applied). No request is made until the first call.
    pub fn new(cfg: &ServiceNowConfig) -> Result<Self> {
        crate::install_crypto_provider();
        let mut base = cfg.url.clone();
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ServiceNowError::Setup(
                "servicenow.url must not contain a user or password; set servicenow.user and the password instead"
                    .into(),
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("grantdesk/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                ServiceNowError::Setup(format!("cannot read servicenow.ca_bundle {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ServiceNowError::Setup(format!("servicenow.ca_bundle {} is not a PEM bundle: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(ServiceNowError::Setup(format!(
                    "servicenow.ca_bundle {} holds no certificate",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| ServiceNowError::Setup(format!("cannot set up HTTPS: {e}")))?;
        let auth = match &cfg.auth {
            ServiceNowAuth::Basic { user, password } => Auth::Basic { user: user.clone(), password: password.clone() },
            ServiceNowAuth::OAuthPassword { client_id, client_secret, user, password } => Auth::OAuth {
                grant: Grant::Password {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    user: user.clone(),
                    password: password.clone(),
                },
                token: tokio::sync::Mutex::new(None),
            },
            ServiceNowAuth::OAuthClientCredentials { client_id, client_secret } => Auth::OAuth {
                grant: Grant::ClientCredentials { client_id: client_id.clone(), client_secret: client_secret.clone() },
                token: tokio::sync::Mutex::new(None),
            },
        };
        Ok(ServiceNowClient {
            inner: Arc::new(Inner { http, base, auth, timeout: cfg.timeout }),
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy (tests use short waits).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The instance URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The user name the client signs in as, when the grant names one (not for client
    /// credentials: ask [`ServiceNowClient::current_user`]).
    pub fn user_name(&self) -> Option<&str> {
        match &self.inner.auth {
            Auth::Basic { user, .. } => Some(user),
            Auth::OAuth { grant: Grant::Password { user, .. }, .. } => Some(user),
            Auth::OAuth { grant: Grant::ClientCredentials { .. }, .. } => None,
        }
    }

    fn origin(&self) -> String {
        self.inner.base.as_str().trim_end_matches('/').to_string()
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        url
    }

    /// A bearer token, fetched or refreshed when missing or about to expire.
    async fn bearer(&self, force: bool) -> Result<Option<String>> {
        let Auth::OAuth { grant, token } = &self.inner.auth else { return Ok(None) };
        let mut slot = token.lock().await;
        if let Some(t) = slot.as_ref() {
            if !force && t.expires_at > Instant::now() + Duration::from_secs(60) {
                return Ok(Some(t.access.expose().to_string()));
            }
        }
        let refresh = slot.as_ref().and_then(|t| t.refresh.clone());
        let fresh = match refresh {
            Some(r) => match self.token_request(grant, Some(&r)).await {
                Ok(t) => t,
                // A refused refresh token: sign in again from scratch.
                Err(ServiceNowError::OAuth { .. }) => self.token_request(grant, None).await?,
                Err(e) => return Err(e),
            },
            None => self.token_request(grant, None).await?,
        };
        let access = fresh.access.expose().to_string();
        *slot = Some(fresh);
        Ok(Some(access))
    }

    async fn token_request(&self, grant: &Grant, refresh: Option<&Secret>) -> Result<Token> {
        let url = self.url(&["oauth_token.do"]);
        let (name, form): (&'static str, Vec<(&str, &str)>) = match (grant, refresh) {
            (Grant::Password { client_id, client_secret, .. }, Some(r))
            | (Grant::ClientCredentials { client_id, client_secret }, Some(r)) => (
                "refresh_token",
                vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose()),
                    ("refresh_token", r.expose()),
                ],
            ),
            (Grant::Password { client_id, client_secret, user, password }, None) => (
                "password",
                vec![
                    ("grant_type", "password"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose()),
                    ("username", user),
                    ("password", password.expose()),
                ],
            ),
            (Grant::ClientCredentials { client_id, client_secret }, None) => (
                "client_credentials",
                vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose()),
                ],
            ),
        };
        let resp =
            self.inner.http.post(url).header(ACCEPT, "application/json").form(&form).send().await.map_err(|e| {
                let (cause, tls) = transport_cause(&e, Duration::from_secs(30));
                ServiceNowError::Transport { url: self.origin(), cause, tls }
            })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let reason = [v["error"].as_str(), v["error_description"].as_str()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            return Err(ServiceNowError::OAuth {
                grant: name,
                status: status.as_u16(),
                reason: crate::domain::text::sanitize_line(&reason).into_owned(),
            });
        }
        let t = TokenResponse::parse(&body)?;
        // A lifetime the server got wrong (negative, absurd) must not break the client.
        let lifetime = Duration::from_secs_f64(t.expires_in.unwrap_or(1799.0).clamp(0.0, 86_400.0));
        Ok(Token {
            access: t.access_token,
            refresh: t.refresh_token.or_else(|| refresh.cloned()),
            expires_at: Instant::now() + lifetime,
        })
    }

    /// Sends one API request with authentication and retries; errors for any non-2xx.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        params: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        let url = self.url(segments);
        let path = url.path().to_string();
        let retry = &self.retry;
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE);
        let mut attempt = 0u32;
        let mut reauthed = false;
        loop {
            attempt += 1;
            let mut req = self.inner.http.request(method.clone(), url.clone()).header(ACCEPT, "application/json");
            if !params.is_empty() {
                req = req.query(params);
            }
            if let Some(b) = body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.to_string());
            }
            req = match &self.inner.auth {
                Auth::Basic { user, password } => req.basic_auth(user, Some(password.expose())),
                Auth::OAuth { .. } => match self.bearer(false).await? {
                    Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
                    None => req,
                },
            };
            let backoff = || {
                let exp = retry.base_delay.saturating_mul(1 << (attempt - 1).min(16));
                let capped = exp.min(retry.max_delay);
                // Up to a quarter of jitter so clients that failed together do not retry together.
                let jitter = capped.as_millis() as u64 / 4;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos() as u64)
                    .unwrap_or(0);
                let extra = if jitter > 0 { nanos % jitter } else { 0 };
                capped + Duration::from_millis(extra)
            };
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    if idempotent && attempt < retry.max_attempts && (e.is_connect() || e.is_timeout()) {
                        tokio::time::sleep(backoff()).await;
                        continue;
                    }
                    let (cause, tls) = transport_cause(&e, self.inner.timeout);
                    return Err(ServiceNowError::Transport { url: self.origin(), cause, tls });
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let text = resp.text().await.unwrap_or_default();
            if status.is_success() {
                return Ok(Reply { status, headers, body: text });
            }
            if status == StatusCode::UNAUTHORIZED && !reauthed && matches!(self.inner.auth, Auth::OAuth { .. }) {
                // The token may have been revoked or expired early: get a new one once.
                reauthed = true;
                self.bearer(true).await?;
                attempt -= 1;
                continue;
            }
            let (message, detail) = error_parts(&text, status);
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                let asked = retry_after(&headers);
                let wait = asked.unwrap_or_else(backoff);
                if attempt < retry.max_attempts && wait <= retry.max_retry_after {
                    tracing::debug!(
                        status = status.as_u16(),
                        wait_ms = wait.as_millis() as u64,
                        "ServiceNow throttled; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                if status == StatusCode::TOO_MANY_REQUESTS || asked.is_some() {
                    return Err(ServiceNowError::RateLimited {
                        status: status.as_u16(),
                        method: method.to_string(),
                        path,
                        message,
                        detail,
                        retry_after: asked,
                    });
                }
            }
            return Err(ServiceNowError::Api {
                status: status.as_u16(),
                method: method.to_string(),
                path,
                message,
                detail,
            });
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, method: &str, path: &str, body: &str) -> Result<T> {
        #[derive(serde::Deserialize)]
        struct Envelope<T> {
            result: T,
        }
        serde_json::from_str::<Envelope<T>>(body).map(|e| e.result).map_err(|e| ServiceNowError::Decode {
            method: method.into(),
            path: path.into(),
            problem: format!("{e}"),
        })
    }

    fn record_params(opts: &ListOptions) -> Vec<(&'static str, String)> {
        let mut p = vec![("sysparm_display_value", opts.display.param().to_string())];
        if !opts.fields.is_empty() {
            p.push(("sysparm_fields", opts.fields.join(",")));
        }
        p
    }

    /// One page of `table` matching `query`: `limit` records from `offset`.
    pub async fn list_page(
        &self,
        table: &str,
        query: &Query,
        opts: &ListOptions,
        offset: usize,
        limit: usize,
    ) -> Result<Page> {
        let mut params = Self::record_params(opts);
        params.push(("sysparm_query", query.encode()?));
        params.push(("sysparm_limit", limit.max(1).to_string()));
        params.push(("sysparm_offset", offset.to_string()));
        params.push(("sysparm_suppress_pagination_header", "true".into()));
        let reply = self.send(Method::GET, &["api", "now", "table", table], &params, None).await?;
        let total =
            reply.headers.get("x-total-count").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let path = format!("/api/now/table/{table}");
        let records: Vec<Record> = self.decode("GET", &path, &reply.body)?;
        Ok(Page { records, offset, total })
    }

    /// Pages of `table` matching `query`, fetched as the stream is read. Paging follows the
    /// offset and `X-Total-Count`: a short (or empty) page before the total is not the end,
    /// since the instance applies `sysparm_limit` before ACLs.
    pub fn pages<'a>(
        &'a self,
        table: &'a str,
        query: &'a Query,
        opts: &'a ListOptions,
    ) -> impl Stream<Item = Result<Page>> + 'a {
        struct State {
            offset: usize,
            fetched: usize,
            done: bool,
        }
        futures::stream::try_unfold(State { offset: 0, fetched: 0, done: false }, move |mut st| async move {
            if st.done {
                return Ok(None);
            }
            let want = match opts.limit {
                Some(l) if st.fetched >= l => return Ok(None),
                Some(l) => opts.page_size.min(l - st.fetched),
                None => opts.page_size,
            };
            let mut page = self.list_page(table, query, opts, st.offset, want).await?;
            if let Some(l) = opts.limit {
                page.records.truncate(l - st.fetched);
            }
            st.fetched += page.records.len();
            st.offset += want;
            st.done = match page.total {
                Some(total) => st.offset >= total,
                // Without a total the only end marker left is an empty page.
                None => page.records.is_empty(),
            };
            Ok(Some((page, st)))
        })
    }

    /// Every record of `table` matching `query` (all pages, up to `opts.limit`).
    pub async fn list(&self, table: &str, query: &Query, opts: &ListOptions) -> Result<Vec<Record>> {
        use futures::TryStreamExt as _;
        let mut out = Vec::new();
        let mut pages = std::pin::pin!(self.pages(table, query, opts));
        while let Some(page) = pages.try_next().await? {
            out.extend(page.records);
        }
        Ok(out)
    }

    /// The record `sys_id` of `table`, `None` when it does not exist (or an ACL hides it).
    pub async fn get(&self, table: &str, sys_id: &str, opts: &ListOptions) -> Result<Option<Record>> {
        let params = Self::record_params(opts);
        match self.send(Method::GET, &["api", "now", "table", table, sys_id], &params, None).await {
            Ok(reply) => Ok(Some(self.decode("GET", &format!("/api/now/table/{table}/{sys_id}"), &reply.body)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Inserts a record (`POST`, 201) and returns it as stored.
    pub async fn create(&self, table: &str, fields: &Map<String, Value>, opts: &ListOptions) -> Result<Record> {
        let params = Self::record_params(opts);
        let body = Value::Object(fields.clone());
        let reply = self.send(Method::POST, &["api", "now", "table", table], &params, Some(&body)).await?;
        let _ = reply.status;
        self.decode("POST", &format!("/api/now/table/{table}"), &reply.body)
    }

    /// Changes only the given fields (`PATCH`) and returns the updated record.
    pub async fn update(
        &self,
        table: &str,
        sys_id: &str,
        fields: &Map<String, Value>,
        opts: &ListOptions,
    ) -> Result<Record> {
        let params = Self::record_params(opts);
        let body = Value::Object(fields.clone());
        let reply = self.send(Method::PATCH, &["api", "now", "table", table, sys_id], &params, Some(&body)).await?;
        self.decode("PATCH", &format!("/api/now/table/{table}/{sys_id}"), &reply.body)
    }

    /// Deletes a record (`DELETE`, 204).
    pub async fn delete(&self, table: &str, sys_id: &str) -> Result<()> {
        self.send(Method::DELETE, &["api", "now", "table", table, sys_id], &[], None).await.map(|_| ())
    }

    /// Counts of the records of `table` matching `query`, grouped by `field` (Aggregate API
    /// with `sysparm_group_by`): one row per value, with its display value.
    pub async fn count_by(&self, table: &str, query: &Query, field: &str) -> Result<Vec<super::record::StatsRow>> {
        let params = [
            ("sysparm_count", "true".to_string()),
            ("sysparm_query", query.encode()?),
            ("sysparm_group_by", field.to_string()),
            ("sysparm_display_value", "all".to_string()),
        ];
        let reply = self.send(Method::GET, &["api", "now", "stats", table], &params, None).await?;
        self.decode("GET", &format!("/api/now/stats/{table}"), &reply.body)
    }

    /// How many records of `table` match `query` (Aggregate API).
    pub async fn count(&self, table: &str, query: &Query) -> Result<u64> {
        let params = [("sysparm_count", "true".to_string()), ("sysparm_query", query.encode()?)];
        let reply = self.send(Method::GET, &["api", "now", "stats", table], &params, None).await?;
        let path = format!("/api/now/stats/{table}");
        let v: Value = self.decode("GET", &path, &reply.body)?;
        let count = &v["stats"]["count"];
        count.as_str().and_then(|s| s.parse().ok()).or_else(|| count.as_u64()).ok_or_else(|| ServiceNowError::Decode {
            method: "GET".into(),
            path,
            problem: "no stats.count in the result".into(),
        })
    }
}

/// What `/oauth_token.do` answers: the tokens (never printed) and their lifetime.
#[derive(serde::Deserialize)]
pub struct TokenResponse {
    #[serde(deserialize_with = "secret")]
    access_token: Secret,
    #[serde(default, deserialize_with = "optional_secret")]
    refresh_token: Option<Secret>,
    /// Seconds the access token lives (1799 on a stock instance).
    pub expires_in: Option<f64>,
    /// Granted scope (`useraccount`).
    #[serde(default)]
    pub scope: Option<String>,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Secret, D::Error> {
    <String as serde::Deserialize>::deserialize(d).map(Secret::new)
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Secret>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(|o| o.map(Secret::new))
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish()
    }
}

impl TokenResponse {
    /// Reads a token response body.
    pub fn parse(body: &str) -> Result<TokenResponse> {
        serde_json::from_str(body).map_err(|e| ServiceNowError::Decode {
            method: "POST".into(),
            path: "/oauth_token.do".into(),
            problem: format!("not a token response ({e})"),
        })
    }

    /// Whether a refresh token came with it.
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token.is_some()
    }
}

/// One request inside a Batch API call.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// Identifies the reply.
    pub id: String,
    /// HTTP method (`GET`, `POST`, `PATCH`, `DELETE`…).
    pub method: String,
    /// Path and query relative to the instance (`/api/now/table/incident/<sys_id>?…`).
    pub url: String,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl BatchRequest {
    /// A `PATCH` of `fields` on a record, answered with `sysparm_fields`/display values as given.
    pub fn update(
        id: impl Into<String>,
        table: &str,
        sys_id: &str,
        fields: Map<String, Value>,
        opts: &ListOptions,
    ) -> Self {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in ServiceNowClient::record_params(opts) {
            q.append_pair(k, &v);
        }
        // The characters a path segment must escape (RFC 3986), and nothing more.
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
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
        let seg = |s: &str| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string();
        BatchRequest {
            id: id.into(),
            method: "PATCH".into(),
            url: format!("/api/now/table/{}/{}?{}", seg(table), seg(sys_id), q.finish()),
            body: Some(Value::Object(fields)),
        }
    }
}

impl BatchRequest {
    /// The request as the Batch API documents it (`id`, `method`, `url`, `headers`, base64
    /// `body`, `exclude_response_headers`).
    pub fn wire(&self) -> Value {
        use base64::Engine as _;
        let mut item = serde_json::json!({
            "id": self.id,
            "method": self.method,
            "url": self.url,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Accept", "value": "application/json"},
            ],
            "exclude_response_headers": true,
        });
        if let Some(b) = &self.body {
            item["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(b.to_string()));
        }
        item
    }
}

/// Reads a Batch API answer: its `batch_request_id` and the serviced requests (bodies decoded
/// from base64; a body that does not decode is kept empty).
pub fn parse_batch_response(body: &str) -> Result<(String, Vec<BatchReply>)> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let v: Value = serde_json::from_str(body).map_err(|e| ServiceNowError::Decode {
        method: "POST".into(),
        path: "/api/now/v1/batch".into(),
        problem: e.to_string(),
    })?;
    let text = |x: &Value| match x {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let replies = v["serviced_requests"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let raw: String = s["body"].as_str().unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
                    let body = b64.decode(&raw).unwrap_or_default();
                    BatchReply {
                        id: text(&s["id"]),
                        status: s["status_code"].as_u64().unwrap_or(0) as u16,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((text(&v["batch_request_id"]), replies))
}

/// The answer to one [`BatchRequest`].
#[derive(Debug, Clone)]
pub struct BatchReply {
    /// The request's id.
    pub id: String,
    /// HTTP status of the inner request.
    pub status: u16,
    /// Its body, decoded from base64.
    pub body: String,
}

impl BatchReply {
    /// The inner request's outcome as a result: the `result` on success, the error otherwise.
    pub fn into_result<T: serde::de::DeserializeOwned>(self, method: &str, path: &str) -> Result<T> {
        if (200..300).contains(&self.status) {
            #[derive(serde::Deserialize)]
            struct Envelope<T> {
                result: T,
            }
            return serde_json::from_str::<Envelope<T>>(&self.body).map(|e| e.result).map_err(|e| {
                ServiceNowError::Decode { method: method.into(), path: path.into(), problem: e.to_string() }
            });
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (message, detail) = error_parts(&self.body, status);
        Err(ServiceNowError::Api { status: self.status, method: method.into(), path: path.into(), message, detail })
    }
}

impl ServiceNowClient {
    /// Sends several requests in one Batch API call (`POST /api/now/v1/batch`), re-sending any
    /// the instance left unserviced (size or time limits) up to twice more.
    pub async fn batch(&self, requests: &[BatchRequest]) -> Result<Vec<BatchReply>> {
        let mut pending: Vec<&BatchRequest> = requests.iter().collect();
        let mut replies = Vec::with_capacity(requests.len());
        for round in 0..3u32 {
            if pending.is_empty() {
                break;
            }
            let items: Vec<Value> = pending.iter().map(|r| r.wire()).collect();
            let batch_id = format!("grantdesk-{round}");
            let body = serde_json::json!({"batch_request_id": batch_id, "rest_requests": items});
            let reply = self.send(Method::POST, &["api", "now", "v1", "batch"], &[], Some(&body)).await?;
            let (_, served) = parse_batch_response(&reply.body)?;
            for s in served {
                pending.retain(|r| r.id != s.id);
                replies.push(s);
            }
        }
        if let Some(left) = pending.first() {
            return Err(ServiceNowError::Decode {
                method: "POST".into(),
                path: "/api/now/v1/batch".into(),
                problem: format!(
                    "{} request(s) left unserviced after three rounds (first: {})",
                    pending.len(),
                    left.id
                ),
            });
        }
        Ok(replies)
    }
}
