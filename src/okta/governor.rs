//! Rate-limit governor: keeps each Okta bucket under its budget by reading
//! `X-Rate-Limit-Limit/Remaining/Reset` and holding requests back until the window resets,
//! instead of finding the limit with a 429. Time is the server's: the offset between Okta's
//! `Date` and the local clock turns `X-Rate-Limit-Reset` into a local instant.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What one response said about its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-Rate-Limit-Limit`.
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: u32,
    /// `X-Rate-Limit-Reset`, Unix seconds on the server's clock.
    pub reset: i64,
    /// The server's `Date`, Unix seconds, if sent.
    pub date: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: u32,
    /// Budget left in the window being handed out, less requests sent and not yet answered.
    remaining: u32,
    /// `X-Rate-Limit-Reset` of that window, once a response from it has been seen.
    reset_server: Option<i64>,
    /// The newest `X-Rate-Limit-Reset` seen: answers from older windows teach nothing.
    last_reset: i64,
    /// End of the window being handed out, on the local clock (Unix seconds, fractional).
    reset_local: f64,
    /// When that window's budget becomes usable (later than now when it has not begun).
    not_before: f64,
    /// Window length, learnt from consecutive resets (Okta's are a minute).
    window: f64,
}

/// Per-bucket budgets shared by every request of one client.
#[derive(Debug, Default)]
pub struct Governor {
    buckets: Mutex<HashMap<String, Bucket>>,
}

fn now_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The local instant of a server reset: the server's `Date` tells the clock offset; `Date` has
/// one-second resolution, so a second is added and the local reset is never early.
fn local_reset(h: &RateHeaders, now: f64) -> f64 {
    let offset = h.date.map(|d| d as f64 - now.floor()).unwrap_or(0.0);
    h.reset as f64 - offset + 1.0
}

/// The rate-limit bucket of a request: Okta budgets by endpoint family, so ids become `{id}`.
pub fn bucket_of(method: &reqwest::Method, path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    out.push_str(method.as_str());
    out.push(' ');
    for (i, seg) in path.trim_matches('/').split('/').enumerate() {
        out.push('/');
        // Segments 0..3 name the API (`api/v1/users`); later ones are ids or sub-resources.
        let id_like = i >= 3 && seg.len() >= 12 && seg.chars().any(|c| c.is_ascii_digit());
        out.push_str(if id_like || seg.contains('@') { "{id}" } else { seg });
    }
    out
}

impl Governor {
    /// How long to wait before sending a request in `bucket`; reserves one unit of budget.
    pub fn reserve(&self, bucket: &str) -> Duration {
        let now = now_f64();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = map.get_mut(bucket) else { return Duration::ZERO };
        if now >= b.reset_local {
            // A window began that no answer has described yet: assume the full budget and the
            // usual length; the next answer corrects both.
            while b.reset_local <= now {
                b.reset_local += b.window;
            }
            b.remaining = b.limit.saturating_sub(1);
            b.reset_server = None;
            b.not_before = now;
            return Duration::ZERO;
        }
        if b.remaining > 0 {
            b.remaining -= 1;
            return Duration::from_secs_f64((b.not_before - now).max(0.0));
        }
        // Budget spent: wait for the reset, and count this request against the next window.
        b.not_before = b.reset_local;
        b.reset_local += b.window;
        b.reset_server = None;
        b.remaining = b.limit.saturating_sub(1);
        Duration::from_secs_f64((b.not_before - now).max(0.0))
    }

    /// Records a response's headers for `bucket`; `in_flight` are other requests of the bucket
    /// sent and not yet answered, which the server may not have counted yet.
    pub fn observe(&self, bucket: &str, h: RateHeaders, in_flight: u32) {
        let now = now_f64();
        let reset_local = local_reset(&h, now);
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = h.remaining.saturating_sub(in_flight);
        let Some(b) = map.get_mut(bucket) else {
            map.insert(
                bucket.to_string(),
                Bucket {
                    limit: h.limit,
                    remaining,
                    reset_server: Some(h.reset),
                    last_reset: h.reset,
                    reset_local,
                    not_before: now,
                    window: 60.0,
                },
            );
            return;
        };
        b.limit = h.limit;
        if b.reset_server == Some(h.reset) {
            b.remaining = b.remaining.min(remaining);
        } else if h.reset > b.last_reset {
            // The first answer from a newer window.
            // Consecutive resets are a window apart, or several after an idle spell: keep the
            // smallest gap seen (Okta's windows are a minute; tests use shorter ones).
            let gap = (h.reset - b.last_reset) as f64;
            if gap >= 1.0 {
                b.window = b.window.min(gap);
            }
            b.remaining = if b.reset_server.is_none() { b.remaining.min(remaining) } else { remaining };
            b.reset_server = Some(h.reset);
            b.last_reset = h.reset;
            b.reset_local = reset_local;
        }
        // Otherwise a late answer from an older window: nothing to learn.
    }

    /// After a 429: nothing more in `bucket` until its reset.
    pub fn exhausted(&self, bucket: &str, h: RateHeaders) {
        let now = now_f64();
        let reset_local = local_reset(&h, now);
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let window = map.get(bucket).map(|b| b.window).unwrap_or(60.0);
        map.insert(
            bucket.to_string(),
            Bucket {
                limit: h.limit.max(1),
                remaining: 0,
                reset_server: Some(h.reset),
                last_reset: h.reset,
                reset_local,
                not_before: now,
                window,
            },
        );
    }

    /// Seconds to wait after a 429 carrying these headers: `reset - Date + 1`, as Okta's SDKs do.
    pub fn backoff_after_429(h: &RateHeaders) -> Duration {
        let date = h.date.unwrap_or_else(|| now_f64() as i64);
        Duration::from_secs((h.reset - date + 1).clamp(1, 120) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_collapse_into_one_bucket() {
        let m = reqwest::Method::GET;
        assert_eq!(bucket_of(&m, "/api/v1/users"), "GET /api/v1/users");
        assert_eq!(bucket_of(&m, "/api/v1/users/00u000001PQYG0hA61d7"), "GET /api/v1/users/{id}");
        assert_eq!(bucket_of(&m, "/api/v1/users/riley@example.com/groups"), "GET /api/v1/users/{id}/groups");
    }

    #[test]
    fn spent_budget_waits_for_the_reset() {
        let g = Governor::default();
        let now = now_f64() as i64;
        g.observe("b", RateHeaders { limit: 2, remaining: 1, reset: now + 30, date: Some(now) }, 0);
        assert_eq!(g.reserve("b"), Duration::ZERO);
        let wait = g.reserve("b");
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(32), "{wait:?}");
        let also = g.reserve("b");
        assert!(also >= wait - Duration::from_millis(50), "a second waiter must not jump the window: {also:?}");
    }
}
