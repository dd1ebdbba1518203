//! Rate-limit governor: keeps each Okta bucket under its budget by reading
//! `X-Rate-Limit-Limit/Remaining/Reset` and holding requests back until the window resets,
//! instead of finding the limit with a 429. Time is the server's: the offset between Okta's
//! `Date` and the local clock turns `X-Rate-Limit-Reset` into a local instant.
//!
//! `Date` has whole seconds, so one answer tells the offset only to within a second — waiting a
//! whole second longer than needed at every reset (and after every 429). Each answer bounds the
//! offset, though: the server's clock read `Date` at some instant between sending and receiving.
//! The bounds of many answers together pin the offset down to about a round trip, and a reset is
//! then waited out to within that, never early.

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
    /// Bounds `(low, high)` on the server clock's offset from ours (server = local + offset),
    /// narrowed by every answer's `Date`; `None` before the first.
    offset: Mutex<Option<(f64, f64)>>,
    /// Requests sent and not yet answered, per bucket, by the order they were sent in.
    outstanding: Mutex<HashMap<String, std::collections::BTreeSet<u64>>>,
    /// The next [`Ticket`]'s number.
    next_ticket: std::sync::atomic::AtomicU64,
}

/// A request sent in a bucket and not yet answered (until the ticket is dropped). An answer's
/// `X-Rate-Limit-Remaining` counts the requests the server had seen by then: those sent before
/// this one, and not those sent after it — which [`Ticket::sent_after`] counts, so the budget left
/// is known exactly rather than guessed low by every request in flight.
#[derive(Debug)]
pub struct Ticket<'a> {
    governor: &'a Governor,
    bucket: String,
    number: u64,
}

impl Ticket<'_> {
    /// Requests of the bucket sent after this one and not yet answered.
    pub fn sent_after(&self) -> u32 {
        let o = self.governor.outstanding.lock().unwrap_or_else(|e| e.into_inner());
        o.get(&self.bucket).map(|s| s.range(self.number + 1..).count()).unwrap_or(0).try_into().unwrap_or(u32::MAX)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut o = self.governor.outstanding.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = o.get_mut(&self.bucket) {
            s.remove(&self.number);
        }
    }
}

/// Margin added to a reset computed from the offset's bounds: the server's limiter and the clock
/// that writes `Date` may disagree by a little.
const RESET_MARGIN: f64 = 0.05;

/// Seconds since the Unix epoch on the local clock, fractional.
pub fn now_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The local instant of a server reset, before any answer's timing is known: the server's `Date`
/// tells the clock offset; `Date` has one-second resolution, so a second is added and the local
/// reset is never early.
fn coarse_local_reset(h: &RateHeaders, now: f64) -> f64 {
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
    /// A request of `bucket` is being sent now: outstanding until the ticket is dropped.
    pub fn ticket(&self, bucket: &str) -> Ticket<'_> {
        let number = self.next_ticket.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut o = self.outstanding.lock().unwrap_or_else(|e| e.into_inner());
        o.entry(bucket.to_string()).or_default().insert(number);
        Ticket { governor: self, bucket: bucket.to_string(), number }
    }

    /// Records the timing of an answer: sent at `sent`, received at `received` (local clock,
    /// [`now_f64`]), carrying `Date: date`. The server's clock read `date` (whole seconds) at some
    /// instant in between, so its offset from ours lies in `(date - received, date + 1 - sent)`.
    pub fn clock(&self, date: i64, sent: f64, received: f64) {
        let (lo, hi) = (date as f64 - received, date as f64 + 1.0 - sent);
        let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *o = Some(match *o {
            Some((l, h)) if l.max(lo) <= h.min(hi) => (l.max(lo), h.min(hi)),
            // The first answer, or bounds that no longer meet (a clock was stepped): start over.
            _ => (lo, hi),
        });
    }

    /// The local instant of the server's reset `h.reset`: never early, and — once answers have
    /// pinned the clock offset down — late by little more than a round trip.
    fn local_reset(&self, h: &RateHeaders, now: f64) -> f64 {
        let o = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        match o {
            // The latest the server's clock can be behind ours: its reset comes no earlier.
            Some((lo, _)) if h.date.is_some() => (h.reset as f64 - lo + RESET_MARGIN).min(coarse_local_reset(h, now)),
            Some((lo, _)) => h.reset as f64 - lo + RESET_MARGIN,
            None => coarse_local_reset(h, now),
        }
    }

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

    /// Records a response's headers for `bucket`; `in_flight` are the bucket's requests sent
    /// after this one and not yet answered ([`Ticket::sent_after`]), which the server had not
    /// counted yet.
    pub fn observe(&self, bucket: &str, h: RateHeaders, in_flight: u32) {
        let now = now_f64();
        let reset_local = self.local_reset(&h, now);
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
        let reset_local = self.local_reset(&h, now);
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
    fn answers_pin_the_server_clock_down_so_a_reset_is_waited_out_not_overshot() {
        let g = Governor::default();
        let now = now_f64();
        // The server's clock runs 10.3 s ahead of ours; answers come back in 10 ms.
        let off = 10.3;
        for k in 0..30 {
            let sent = now - 3.0 + f64::from(k) * 0.1;
            let received = sent + 0.01;
            g.clock(((sent + received) / 2.0 + off).floor() as i64, sent, received);
        }
        let server_now = now + off;
        let reset = server_now.floor() as i64 + 2;
        g.exhausted("b", RateHeaders { limit: 10, remaining: 0, reset, date: Some(server_now.floor() as i64) });
        let wait = g.reserve("b").as_secs_f64();
        let exact = reset as f64 - off - now;
        assert!(wait >= exact - 0.02, "never before the reset: {wait} < {exact}");
        assert!(wait <= exact + 0.2, "not a second late either: {wait} vs {exact}");
    }

    #[test]
    fn the_budget_left_discounts_only_requests_sent_after_the_answered_one() {
        let g = Governor::default();
        let now = now_f64() as i64;
        let (first, second, third) = (g.ticket("b"), g.ticket("b"), g.ticket("b"));
        assert_eq!((first.sent_after(), second.sent_after(), third.sent_after()), (2, 1, 0));
        // The server had counted the first when it answered; the other two are on their way.
        g.observe("b", RateHeaders { limit: 10, remaining: 9, reset: now + 30, date: Some(now) }, first.sent_after());
        drop(first);
        assert_eq!(second.sent_after(), 1);
        // 10 - 3 = 7 more may go now, not fewer; the eighth waits for the reset.
        for i in 0..7 {
            assert_eq!(g.reserve("b"), Duration::ZERO, "request {i}");
        }
        assert!(g.reserve("b") > Duration::from_secs(25));
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
