//! Fault injection: `grantdesk emulator --faults 429=5%,5xx=5%,reset=2%,latency=20-200ms`.
//!
//! Real services throttle, fail and drop connections; grantdesk must apply every action exactly
//! once anyway. Faults are drawn from a ChaCha stream seeded with the world's seed, one draw per
//! request in arrival order, so a run is reproducible, and every injected fault is counted
//! (`GET /_emulator/stats`, and printed when the emulator stops).
//!
//! Each fault speaks the dialect of the service it hits: a 429 on a ServiceNow path carries
//! ServiceNow's error body and `Retry-After`; on an Okta path, `E0000047` with the
//! `X-Rate-Limit-*` headers and no `Retry-After`, as Okta does. A reset either drops the request
//! before it is handled or — the dangerous case for exactly-once — handles it and then drops the
//! response, so the caller cannot know whether its change was applied.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::{RngExt as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Probabilities (0.0–1.0) and latency range of the injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSpec {
    /// Share of requests answered 429.
    pub too_many: f64,
    /// Share answered 500/502/503.
    pub server_error: f64,
    /// Share whose connection is dropped.
    pub reset: f64,
    /// Added latency range, if any.
    pub latency: Option<(Duration, Duration)>,
}

impl std::str::FromStr for FaultSpec {
    type Err = String;

    /// Parses `429=5%,5xx=5%,reset=2%,latency=20-200ms`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = FaultSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| format!("`{part}`: expected KEY=VALUE (e.g. 429=5%)"))?;
            let pct = |v: &str| -> Result<f64, String> {
                let n: f64 = v
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| format!("`{part}`: `{v}` is not a percentage (e.g. 5%)"))?;
                if !(0.0..=100.0).contains(&n) {
                    return Err(format!("`{part}`: a percentage is between 0% and 100%"));
                }
                Ok(n / 100.0)
            };
            match key {
                "429" => spec.too_many = pct(value)?,
                "5xx" | "500" => spec.server_error = pct(value)?,
                "reset" => spec.reset = pct(value)?,
                "latency" => {
                    let v = value.trim_end_matches("ms");
                    let (lo, hi) = v.split_once('-').unwrap_or((v, v));
                    let ms = |x: &str| -> Result<u64, String> {
                        x.trim().parse().map_err(|_| format!("`{part}`: expected latency=MIN-MAXms (e.g. 20-200ms)"))
                    };
                    let (lo, hi) = (ms(lo)?, ms(hi)?);
                    if lo > hi {
                        return Err(format!("`{part}`: the minimum latency is above the maximum"));
                    }
                    spec.latency = Some((Duration::from_millis(lo), Duration::from_millis(hi)));
                }
                other => return Err(format!("unknown fault `{other}`; expected 429, 5xx, reset or latency")),
            }
        }
        if spec.too_many + spec.server_error + spec.reset > 1.0 {
            return Err("the fault percentages add up to more than 100%".into());
        }
        Ok(spec)
    }
}

/// Counters of injected faults.
#[derive(Debug, Default, Serialize)]
pub struct FaultCounts {
    /// Requests seen by the fault layer.
    pub requests: u64,
    /// 429s injected.
    pub too_many_requests: u64,
    /// 5xx injected.
    pub server_errors: u64,
    /// Connections dropped before the request was handled.
    pub resets_before: u64,
    /// Connections dropped after the request was handled (the response was lost).
    pub resets_after: u64,
    /// Requests delayed.
    pub delayed: u64,
}

/// The fault injector shared by every request.
#[derive(Debug)]
pub struct Faults {
    spec: FaultSpec,
    rng: Mutex<ChaCha8Rng>,
    requests: AtomicU64,
    too_many: AtomicU64,
    server_errors: AtomicU64,
    resets_before: AtomicU64,
    resets_after: AtomicU64,
    delayed: AtomicU64,
    paused: AtomicBool,
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    TooMany,
    ServerError(u16),
    ResetBefore,
    ResetAfter,
}

impl Faults {
    /// An injector for `spec`, reproducible under `seed`.
    pub fn new(spec: FaultSpec, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(99);
        Faults {
            spec,
            rng: Mutex::new(rng),
            requests: AtomicU64::new(0),
            too_many: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            resets_before: AtomicU64::new(0),
            resets_after: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            paused: AtomicBool::new(false),
        }
    }

    /// Stops (or resumes) injecting: a test sets its scene up without faults, then turns them on
    /// for the part under test. Paused requests draw nothing, so the fault sequence is unchanged.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    /// The counters so far.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            requests: self.requests.load(Ordering::Relaxed),
            too_many_requests: self.too_many.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            resets_before: self.resets_before.load(Ordering::Relaxed),
            resets_after: self.resets_after.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    fn draw(&self) -> (Fault, Option<Duration>) {
        let mut rng = match self.rng.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let x: f64 = rng.random_range(0.0..1.0);
        let s = &self.spec;
        let fault = if x < s.too_many {
            Fault::TooMany
        } else if x < s.too_many + s.server_error {
            Fault::ServerError([500, 502, 503][rng.random_range(0..3usize)])
        } else if x < s.too_many + s.server_error + s.reset {
            if rng.random_bool(0.5) { Fault::ResetBefore } else { Fault::ResetAfter }
        } else {
            Fault::None
        };
        let latency = s.latency.map(|(lo, hi)| {
            let ms = rng.random_range(lo.as_millis() as u64..=hi.as_millis() as u64);
            Duration::from_millis(ms)
        });
        (fault, latency)
    }
}

fn is_servicenow(path: &str) -> bool {
    path.starts_with("/api/now") || path.starts_with("/oauth_token.do")
}

fn dropped_body() -> Body {
    Body::from_stream(futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault injected: connection reset",
        ))
    }))
}

/// A response whose connection is cut before any byte of it is written.
fn reset_response() -> Response {
    let mut r = Response::new(dropped_body());
    *r.status_mut() = StatusCode::OK;
    r
}

fn too_many(path: &str) -> Response {
    let now = chrono::Utc::now();
    if is_servicenow(path) {
        let body = serde_json::json!({
            "error": {
                "message": "Rate limit exceeded",
                "detail": "The maximum number of requests allowed within the rate limit window has been exceeded"
            },
            "status": "failure"
        });
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let h = r.headers_mut();
        h.insert("Retry-After", HeaderValue::from_static("1"));
        h.insert("X-RateLimit-Limit", HeaderValue::from_static("1000"));
        h.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
        if let Ok(v) = HeaderValue::from_str(&(now.timestamp() + 1).to_string()) {
            h.insert("X-RateLimit-Reset", v);
        }
        r
    } else {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let body = serde_json::json!({
            "errorCode": "E0000047",
            "errorSummary": "API call exceeded rate limit due to too many requests.",
            "errorLink": "E0000047",
            "errorId": format!("oae{}", &id[..22]),
            "errorCauses": []
        });
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let h = r.headers_mut();
        h.insert("X-Rate-Limit-Limit", HeaderValue::from_static("600"));
        h.insert("X-Rate-Limit-Remaining", HeaderValue::from_static("0"));
        if let Ok(v) = HeaderValue::from_str(&(now.timestamp() + 1).to_string()) {
            h.insert("X-Rate-Limit-Reset", v);
        }
        if let Ok(v) = HeaderValue::from_str(&now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
            h.insert("Date", v);
        }
        if let Ok(v) = HeaderValue::from_str(&id) {
            h.insert("X-Okta-Request-Id", v);
        }
        r
    }
}

fn server_error(path: &str, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if is_servicenow(path) {
        let body = serde_json::json!({
            "error": {"message": "Internal server error", "detail": "fault injected by the emulator"},
            "status": "failure"
        });
        (code, axum::Json(body)).into_response()
    } else {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let body = serde_json::json!({
            "errorCode": "E0000009",
            "errorSummary": "Internal Server Error",
            "errorLink": "E0000009",
            "errorId": format!("oae{}", &id[..22]),
            "errorCauses": []
        });
        (code, axum::Json(body)).into_response()
    }
}

/// The middleware: draws a fault for each request and applies it.
pub async fn inject(State(faults): State<std::sync::Arc<Faults>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_emulator/") || path.starts_with("/__emulator/") || faults.paused.load(Ordering::SeqCst) {
        return next.run(request).await;
    }
    faults.requests.fetch_add(1, Ordering::Relaxed);
    let (fault, latency) = faults.draw();
    if let Some(d) = latency {
        faults.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(d).await;
    }
    match fault {
        Fault::None => next.run(request).await,
        Fault::TooMany => {
            faults.too_many.fetch_add(1, Ordering::Relaxed);
            too_many(&path)
        }
        Fault::ServerError(status) => {
            faults.server_errors.fetch_add(1, Ordering::Relaxed);
            server_error(&path, status)
        }
        Fault::ResetBefore => {
            faults.resets_before.fetch_add(1, Ordering::Relaxed);
            reset_response()
        }
        Fault::ResetAfter => {
            let _applied = next.run(request).await;
            faults.resets_after.fetch_add(1, Ordering::Relaxed);
            reset_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_the_documented_form() {
        let s: FaultSpec = "429=5%,5xx=5%,reset=2%,latency=20-200ms".parse().unwrap();
        assert_eq!(s.too_many, 0.05);
        assert_eq!(s.server_error, 0.05);
        assert_eq!(s.reset, 0.02);
        assert_eq!(s.latency, Some((Duration::from_millis(20), Duration::from_millis(200))));
        assert!("429=5".parse::<FaultSpec>().is_ok());
        assert!("404=5%".parse::<FaultSpec>().unwrap_err().contains("unknown fault"));
        assert!("429=150%".parse::<FaultSpec>().is_err());
        assert!("latency=9-2ms".parse::<FaultSpec>().is_err());
        assert!("429=60%,5xx=60%".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn draws_are_reproducible_and_near_their_rates() {
        let spec: FaultSpec = "429=5%,5xx=5%,reset=2%".parse().unwrap();
        let a = Faults::new(spec, 7);
        let b = Faults::new(spec, 7);
        let da: Vec<Fault> = (0..10_000).map(|_| a.draw().0).collect();
        let db: Vec<Fault> = (0..10_000).map(|_| b.draw().0).collect();
        assert_eq!(da, db);
        let n429 = da.iter().filter(|f| **f == Fault::TooMany).count();
        let resets = da.iter().filter(|f| matches!(f, Fault::ResetBefore | Fault::ResetAfter)).count();
        assert!((400..600).contains(&n429), "{n429}");
        assert!((120..280).contains(&resets), "{resets}");
    }
}
