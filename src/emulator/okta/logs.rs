//! `/api/v1/logs`: the System Log, with Okta's two kinds of query. A *polling* query (no `until`,
//! ascending) walks events in persistence order and always has a `next` link, even when empty;
//! a *bounded* query (`since` and `until`, or descending) is ordered by `published` and ends.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::filter;
use super::http::{ApiError, ApiResult, Params, json_response, page_links, strip_nulls, with_links};
use super::model::*;
use crate::emulator::Shared;

/// A System Log event as Okta returns it (unset properties omitted).
pub fn event_json(e: &LogEvent) -> Value {
    strip_nulls(event_json_with_nulls(e))
}

fn event_json_with_nulls(e: &LogEvent) -> Value {
    let geo = json!({
        "city": "London", "state": "England", "country": "United Kingdom", "postalCode": "EC1A",
        "geolocation": { "lat": 51.5164, "lon": -0.093 }
    });
    let targets: Vec<Value> = e
        .targets
        .iter()
        .map(|t| json!({ "id": t.id, "type": t.kind, "alternateId": t.alternate_id, "displayName": t.display_name, "detailEntry": null }))
        .collect();
    json!({
        "actor": { "id": e.actor.id, "type": e.actor.kind, "alternateId": e.actor.alternate_id, "displayName": e.actor.display_name, "detailEntry": null },
        "client": {
            "userAgent": { "rawUserAgent": "grantdesk-emulator", "os": "Unknown", "browser": "UNKNOWN" },
            "zone": null, "device": "Unknown", "id": null, "ipAddress": e.ip, "geographicalContext": geo,
        },
        "device": null,
        "authenticationContext": {
            "authenticationProvider": null, "credentialProvider": null, "credentialType": null, "issuer": null,
            "interface": null, "authenticationStep": 0, "rootSessionId": "unknown", "externalSessionId": "unknown",
        },
        "displayMessage": e.display_message,
        "eventType": e.event_type,
        "outcome": { "result": e.result, "reason": e.reason },
        "published": ts_millis(e.published_ms),
        "securityContext": { "asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null },
        "severity": e.severity,
        "debugContext": { "debugData": debug_data(e) },
        "legacyEventType": null,
        "transaction": { "type": e.transaction_type, "id": e.request_id, "detail": {} },
        "uuid": e.uuid,
        "version": "0",
        "request": { "ipChain": [{ "ip": e.ip, "geographicalContext": geo, "version": "V4", "source": null }] },
        "target": targets,
    })
}

fn debug_data(e: &LogEvent) -> Value {
    match &e.request_uri {
        Some(uri) => {
            json!({ "requestId": e.request_id, "requestUri": uri.split('?').next().unwrap_or(uri), "url": uri })
        }
        None => json!({ "requestId": e.request_id }),
    }
}

fn attr(e: &LogEvent, target: Option<&Target>, a: &str) -> Option<String> {
    Some(match a {
        "eventType" => e.event_type.to_string(),
        "severity" => e.severity.to_string(),
        "displayMessage" => e.display_message.to_string(),
        "uuid" => e.uuid.clone(),
        "actor.id" => e.actor.id.clone(),
        "actor.type" => e.actor.kind.to_string(),
        "actor.alternateId" => e.actor.alternate_id.clone(),
        "actor.displayName" => e.actor.display_name.clone(),
        "outcome.result" => e.result.to_string(),
        "outcome.reason" => e.reason.clone()?,
        "transaction.id" | "debugContext.debugData.requestId" => e.request_id.clone(),
        "transaction.type" => e.transaction_type.to_string(),
        "client.ipAddress" => e.ip.to_string(),
        "target.id" => target?.id.clone(),
        "target.type" => target?.kind.to_string(),
        "target.alternateId" => target?.alternate_id.clone(),
        "target.displayName" => target?.display_name.clone(),
        _ => return None,
    })
}

fn matches_filter(e: &LogEvent, f: &filter::Expr) -> bool {
    if e.targets.is_empty() {
        return f.eval(&|a| attr(e, None, a), false);
    }
    e.targets.iter().any(|t| f.eval(&|a| attr(e, Some(t), a), false))
}

fn matches_q(e: &LogEvent, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let mut hay = format!(
        "{} {} {} {} {} {}",
        e.event_type, e.display_message, e.actor.id, e.actor.alternate_id, e.actor.display_name, e.result
    );
    for t in &e.targets {
        hay.push(' ');
        hay.push_str(&format!("{} {} {}", t.id, t.alternate_id, t.display_name));
    }
    let hay = hay.to_lowercase();
    words.iter().all(|w| hay.contains(w.as_str()))
}

fn cursor(e: &LogEvent) -> String {
    format!("{}_{}", e.published_ms, e.seq)
}

fn parse_cursor(s: &str) -> Option<(i64, u64)> {
    let (ms, seq) = s.split_once('_')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// `GET /api/v1/logs`.
pub async fn list(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let now_ms = shared.okta.now_ms();
    let limit = p.limit(100, 0, 1000)?;
    let time = |k: &str| -> Result<Option<i64>, ApiError> {
        match p.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => parse_time(v)
                .map(|t| Some(t.timestamp_millis()))
                .ok_or_else(|| ApiError::validation(k).cause(format!("{k}: must be an ISO 8601 timestamp"))),
        }
    };
    let until = time("until")?;
    let since = time("since")?.unwrap_or(until.unwrap_or(now_ms) - 7 * 86_400_000);
    if since < now_ms - 180 * 86_400_000 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "E0000053",
            "Invalid parameter: The since parameter is over 180 days prior to the current day.",
        ));
    }
    let descending = match p.get("sortOrder") {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("ASCENDING") => false,
        Some(v) if v.eq_ignore_ascii_case("DESCENDING") => true,
        Some(_) => return Err(ApiError::validation("sortOrder").cause("sortOrder: must be ASCENDING or DESCENDING")),
    };
    let expr = match p.get("filter").filter(|v| !v.is_empty()) {
        Some(f) => {
            let e = filter::parse(f)
                .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "E0000053", format!("Invalid filter '{f}'")))?;
            if e.attrs().contains(&"published") {
                return Err(ApiError::bad_search(
                    "The published attribute cannot be used in a filter; use since and until.",
                ));
            }
            Some(e)
        }
        None => None,
    };
    let words: Vec<String> =
        p.get("q").map(|q| q.split_whitespace().map(str::to_lowercase).collect()).unwrap_or_default();
    if words.len() > 10 || words.iter().any(|w| w.chars().count() > 40) {
        return Err(ApiError::validation("q").cause("q: at most 10 keywords of at most 40 characters"));
    }
    let after = match p.get("after").filter(|v| !v.is_empty()) {
        Some(a) => Some(parse_cursor(a).ok_or_else(ApiError::bad_paging)?),
        None => None,
    };
    let keep = |e: &LogEvent| expr.as_ref().is_none_or(|f| matches_filter(e, f)) && matches_q(e, &words);

    let s = shared.okta.state();
    let polling = until.is_none() && !descending;
    let mut page: Vec<&LogEvent> = Vec::with_capacity(limit.min(1000) + 1);
    if polling {
        // Persistence order: everything after the cursor, or from `since` on.
        let start = match after {
            Some((_, seq)) => s.logs.partition_point(|e| e.seq <= seq),
            None => 0,
        };
        for e in &s.logs[start..] {
            if after.is_none() && e.published_ms < since {
                continue;
            }
            if keep(e) {
                page.push(e);
                if page.len() >= limit {
                    break;
                }
            }
        }
        let next_cursor = match page.last() {
            Some(e) => cursor(e),
            None => match (after, p.get("after")) {
                (Some(_), Some(a)) => a.to_string(),
                _ => {
                    // Nothing yet: resume after the newest event older than `since`.
                    let before = s.logs.partition_point(|e| e.published_ms < since);
                    match before.checked_sub(1).and_then(|i| s.logs.get(i)) {
                        Some(e) => cursor(e),
                        None => format!("{since}_0"),
                    }
                }
            },
        };
        let body: Vec<Value> = page.iter().map(|e| event_json(e)).collect();
        let links = page_links(base, "/api/v1/logs", &p, limit, Some(&next_cursor));
        return Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links));
    }

    // "Now" includes this very millisecond.
    let until = until.unwrap_or(now_ms + 1);
    let mut matched: Vec<&LogEvent> =
        s.logs.iter().filter(|e| e.published_ms >= since && e.published_ms < until).filter(|e| keep(e)).collect();
    matched.sort_by_key(|e| (e.published_ms, e.seq));
    if descending {
        matched.reverse();
    }
    let start = match after {
        Some(c) => matched
            .iter()
            .position(|e| if descending { (e.published_ms, e.seq) < c } else { (e.published_ms, e.seq) > c })
            .unwrap_or(matched.len()),
        None => 0,
    };
    page.extend(matched[start..].iter().take(limit + 1));
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|e| cursor(e)) } else { None };
    let body: Vec<Value> = page.iter().map(|e| event_json(e)).collect();
    let links = page_links(base, "/api/v1/logs", &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}
