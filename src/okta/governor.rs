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
    /// Budget left in the current window, less requests already sent and not yet answered.
    remaining: u32,
    /// Window end on the local clock, Unix seconds (fractional).
    reset_local: f64,
    /// When the budget being handed out becomes usable (the start of a window not yet begun).
    not_before: f64,
}

/// Per-bucket budgets shared by every request of one client.
#[derive(Debug, Default)]
pub struct Governor {
    buckets: Mutex<HashMap<String, Bucket>>,
}

fn now_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
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
            // A new window: the full budget again (the next response corrects the estimate).
            b.remaining = b.limit.saturating_sub(1);
            b.reset_local = now + 60.0;
            b.not_before = now;
            return Duration::ZERO;
        }
        if b.remaining > 0 {
            b.remaining -= 1;
            return Duration::from_secs_f64((b.not_before - now).max(0.0));
        }
        // Budget spent: wait for the reset, and count this request against the next window.
        b.not_before = b.reset_local;
        b.reset_local += 60.0;
        b.remaining = b.limit.saturating_sub(1);
        Duration::from_secs_f64((b.not_before - now).max(0.0))
    }

    /// Records a response's headers for `bucket`; `in_flight` are requests of the bucket sent
    /// but not yet answered, already counted by the server or about to be.
    pub fn observe(&self, bucket: &str, h: RateHeaders, in_flight: u32) {
        let now = now_f64();
        let offset = h.date.map(|d| d as f64 - now.floor()).unwrap_or(0.0);
        // Date has one-second resolution: add a second so the local reset is never early.
        let reset_local = h.reset as f64 - offset + 1.0;
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = h.remaining.saturating_sub(in_flight);
        match map.get_mut(bucket) {
            Some(b) if (b.reset_local - reset_local).abs() < 1.5 => {
                b.limit = h.limit;
                b.remaining = b.remaining.min(remaining);
            }
            // An answer from an older window than the one being handed out: nothing to learn.
            Some(b) if reset_local < b.reset_local => {}
            _ => {
                map.insert(bucket.to_string(), Bucket { limit: h.limit, remaining, reset_local, not_before: now });
            }
        }
    }

    /// After a 429: nothing more in `bucket` until its reset.
    pub fn exhausted(&self, bucket: &str, h: RateHeaders) {
        let now = now_f64();
        let offset = h.date.map(|d| d as f64 - now.floor()).unwrap_or(0.0);
        let reset_local = h.reset as f64 - offset + 1.0;
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(bucket.to_string(), Bucket { limit: h.limit.max(1), remaining: 0, reset_local, not_before: now });
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
