//! `/api/v1/groups/{groupId}/owners` (listGroupOwners) and `/api/v1/groups/{groupId}/apps`
//! (listAssignedApplicationsForGroup): who owns a group — the approver of a "group owner" step —
//! and which apps membership gives, shown before an access request is raised.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::apps::app_json;
use super::filter::{self, Op};
use super::groups::find_group;
use super::http::{ApiError, ApiResult, Params, json_response, page_links, with_links};
use super::model::ts;
use crate::emulator::Shared;

/// `GET /api/v1/groups/{groupId}/owners`: `GroupOwner` objects (users here; Okta also allows
/// groups as owners), in owner-id order, paged by `after` (an owner id) with `Link` headers, and
/// filtered by `search` on `type` (the one attribute the spec offers it for).
pub async fn owners(State(shared): State<Arc<Shared>>, Path(gid): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let g = find_group(&s, &gid).ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
    let limit = p.limit(1000, 1, 1000)?;
    let search = match p.get("search").filter(|v| !v.is_empty()) {
        Some(text) => {
            let e = filter::parse(text).map_err(|e| ApiError::bad_search(&e))?;
            for (attr, op) in e.comparisons() {
                if attr != "type" || op != Op::Eq {
                    return Err(ApiError::bad_search(&format!("Filtering owners on {attr} is not supported")));
                }
            }
            Some(e)
        }
        None => None,
    };
    let after = p.get("after").filter(|a| !a.is_empty());
    let mut owners: Vec<usize> = s.groups[g]
        .owners
        .iter()
        .copied()
        .filter(|u| after.is_none_or(|a| s.users[*u].id.as_str() > a))
        .filter(|_| search.as_ref().is_none_or(|e| e.eval(&|attr| (attr == "type").then(|| "USER".to_string()), true)))
        .collect();
    owners.sort_by(|a, b| s.users[*a].id.cmp(&s.users[*b].id));
    let more = owners.len() > limit;
    owners.truncate(limit);
    let next = if more { owners.last().map(|u| s.users[*u].id.clone()) } else { None };
    let body: Vec<Value> = owners
        .iter()
        .map(|u| {
            let user = &s.users[*u];
            json!({
                "id": user.id,
                "type": "USER",
                "resolved": true,
                "originType": "OKTA_DIRECTORY",
                "displayName": format!("{} {}", user.profile.first_name, user.profile.last_name),
                "lastUpdated": ts(s.groups[g].last_updated),
            })
        })
        .collect();
    let path = format!("/api/v1/groups/{}/owners", s.groups[g].id);
    let links = page_links(base, &path, &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}

/// `GET /api/v1/groups/{groupId}/apps`: the apps assigned to the group, paged by app id.
pub async fn apps(State(shared): State<Arc<Shared>>, Path(gid): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let g = find_group(&s, &gid).ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
    let limit = p.limit(20, 1, 200)?;
    let after = p.get("after").filter(|a| !a.is_empty());
    if let Some(a) = after
        && !(a.len() == 20 && a.starts_with("0oa"))
    {
        return Err(ApiError::bad_paging());
    }
    let mut assigned: Vec<usize> = (0..s.apps.len())
        .filter(|a| s.apps[*a].groups.contains_key(&g))
        .filter(|a| after.is_none_or(|c| s.apps[*a].id.as_str() > c))
        .collect();
    assigned.sort_by(|a, b| s.apps[*a].id.cmp(&s.apps[*b].id));
    let more = assigned.len() > limit;
    assigned.truncate(limit);
    let next = if more { assigned.last().map(|a| s.apps[*a].id.clone()) } else { None };
    let body: Vec<Value> = assigned.iter().map(|a| app_json(&s, *a, base)).collect();
    let path = format!("/api/v1/groups/{}/apps", s.groups[g].id);
    let links = page_links(base, &path, &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}
