//! `/api/v1/groups`: list (`q`, `search`, `filter`, `expand=stats`), get, members, and membership
//! changes (OKTA_GROUP only, 204).

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::State as OktaState;
use super::filter::{self, Op};
use super::http::{
    ApiError, ApiResult, Ctx, Params, json_bytes_response, json_response, no_content, page_links, with_links,
};
use super::model::*;
use super::users::{caller_actor, find_user, users_array};
use crate::emulator::Shared;

/// A group as Okta returns it.
pub fn group_json(s: &OktaState, g: usize, base: &str, stats: bool) -> Value {
    let gr = &s.groups[g];
    let href = format!("{base}/api/v1/groups/{}", gr.id);
    let mut links = Map::new();
    links.insert(
        "logo".into(),
        json!([
            { "name": "medium", "href": format!("{base}/assets/img/logos/groups/okta-medium.png"), "type": "image/png" },
            { "name": "large", "href": format!("{base}/assets/img/logos/groups/okta-large.png"), "type": "image/png" }
        ]),
    );
    links.insert("users".into(), json!({ "href": format!("{href}/users") }));
    links.insert("apps".into(), json!({ "href": format!("{href}/apps") }));
    links.insert("self".into(), json!({ "href": href }));
    if let Some(a) = gr.source_app {
        links.insert("source".into(), json!({ "href": format!("{base}/api/v1/apps/{}", s.apps[a].id) }));
    }
    let mut v = json!({
        "id": gr.id,
        "created": ts(gr.created),
        "lastUpdated": ts(gr.last_updated),
        "lastMembershipUpdated": ts(gr.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": gr.kind.as_str(),
        "profile": { "name": gr.name, "description": gr.description },
        "_links": links,
    });
    if stats {
        let apps = s.apps.iter().filter(|a| a.groups.contains_key(&g)).count();
        v["_embedded"] = json!({ "stats": {
            "usersCount": s.idx.members[g].len(),
            "appsCount": apps,
            "groupPushMappingsCount": 0,
            "hasAdminPrivilege": false,
        }});
    }
    v
}

fn group_attr(s: &OktaState, g: usize, attr: &str) -> Option<String> {
    let gr = &s.groups[g];
    Some(match attr {
        "id" => gr.id.clone(),
        "type" => gr.kind.as_str().to_string(),
        "created" => ts(gr.created),
        "lastUpdated" => ts(gr.last_updated),
        "lastMembershipUpdated" => ts(gr.last_membership_updated),
        "profile.name" => gr.name.clone(),
        "profile.description" => gr.description.clone(),
        "source.id" => s.apps[gr.source_app?].id.clone(),
        _ => return None,
    })
}

/// Finds a group by id.
pub fn find_group(s: &OktaState, id: &str) -> Option<usize> {
    s.idx.group_by_id.get(id).copied()
}

/// `GET /api/v1/groups`.
pub async fn list(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let stats = p.get("expand").is_some_and(|e| e.split(',').any(|x| x == "stats"));
    if let Some(q) = p.get("q").filter(|v| !v.is_empty()) {
        let limit = p.limit(300, 1, 10_000)?;
        let needle = q.to_lowercase();
        let body: Vec<Value> = (0..s.groups.len())
            .filter(|g| s.groups[*g].name.to_lowercase().starts_with(&needle))
            .take(limit)
            .map(|g| group_json(&s, g, base, stats))
            .collect();
        let links = page_links(base, "/api/v1/groups", &p, limit, None);
        return Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links));
    }
    let limit = p.limit(10_000, 1, 10_000)?;
    let start = match p.get("after").filter(|a| !a.is_empty()) {
        Some(a) if a.len() == 20 && a.starts_with("00g") => s.groups.partition_point(|g| g.id.as_str() <= a),
        Some(_) => return Err(ApiError::bad_paging()),
        None => 0,
    };
    let (expr, ci) = if let Some(search) = p.get("search").filter(|v| !v.is_empty()) {
        let e = filter::parse(search).map_err(|e| ApiError::bad_search(&e))?;
        for (attr, op) in e.comparisons() {
            if op == Op::Co && !matches!(attr, "profile.name" | "profile.description") || op == Op::Ne {
                return Err(ApiError::bad_search(&format!("Operator not supported for {attr}")));
            }
        }
        (Some(e), true)
    } else if let Some(f) = p.get("filter").filter(|v| !v.is_empty()) {
        let e = filter::parse(f).map_err(|e| ApiError::bad_search(&e))?;
        for (attr, op) in e.comparisons() {
            let dates = matches!(attr, "lastUpdated" | "lastMembershipUpdated");
            let ok = matches!(attr, "id" | "type" | "lastUpdated" | "lastMembershipUpdated")
                && (op == Op::Eq || (dates && matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le)));
            if !ok {
                return Err(ApiError::bad_search(&format!("Filtering on {attr} with this operator is not supported")));
            }
        }
        (Some(e), false)
    } else {
        (None, false)
    };
    let mut page = Vec::with_capacity(limit.min(1000) + 1);
    for g in start..s.groups.len() {
        if let Some(e) = &expr
            && !e.eval(&|a| group_attr(&s, g, a), ci)
        {
            continue;
        }
        page.push(g);
        if page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|g| s.groups[*g].id.clone()) } else { None };
    let body: Vec<Value> = page.iter().map(|g| group_json(&s, *g, base, stats)).collect();
    let links = page_links(base, "/api/v1/groups", &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}

/// `GET /api/v1/groups/{groupId}`.
pub async fn get_one(State(shared): State<Arc<Shared>>, Path(gid): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = shared.okta.state();
    let g = find_group(&s, &gid).ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
    let stats = p.get("expand").is_some_and(|e| e.contains("stats"));
    Ok(json_response(StatusCode::OK, &group_json(&s, g, shared.base_url(), stats)))
}

/// `GET /api/v1/groups/{groupId}/users`.
pub async fn members(State(shared): State<Arc<Shared>>, Path(gid): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let mut s = shared.okta.state();
    let g = find_group(&s, &gid).ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
    let limit = p.limit(1000, 1, 1000)?;
    let start = match p.get("after").filter(|a| !a.is_empty()) {
        Some(a) if a.len() == 20 && a.starts_with("00u") => s.users.partition_point(|u| u.id.as_str() <= a),
        Some(_) => return Err(ApiError::bad_paging()),
        None => 0,
    };
    let mut page: Vec<usize> = s.idx.members[g].range(start..).take(limit + 1).copied().collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|u| s.users[*u].id.clone()) } else { None };
    let path = format!("/api/v1/groups/{}/users", s.groups[g].id);
    let body = users_array(&mut s, &page, base);
    let links = page_links(base, &path, &p, limit, next.as_deref());
    Ok(with_links(json_bytes_response(StatusCode::OK, body), &links))
}

fn membership_target(s: &OktaState, gid: &str, uid: &str) -> Result<(usize, usize), ApiError> {
    let g = find_group(s, gid).ok_or_else(|| ApiError::not_found(gid, "UserGroup"))?;
    let u = find_user(s, uid).filter(|u| s.users[*u].id == uid).ok_or_else(|| ApiError::not_found(uid, "User"))?;
    if s.groups[g].kind != GroupType::Okta {
        return Err(ApiError::validation("group").cause(format!(
            "Group memberships of {} groups are managed by their source and cannot be changed",
            s.groups[g].kind.as_str()
        )));
    }
    Ok((g, u))
}

/// `PUT /api/v1/groups/{groupId}/users/{userId}` → 204.
pub async fn add_member(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((gid, uid)): Path<(String, String)>,
) -> ApiResult {
    let now_ms = shared.okta.now_ms();
    let mut s = shared.okta.state();
    let (g, u) = membership_target(&s, &gid, &uid)?;
    if s.add_member(g, u, now_ms / 1000) {
        let actor = caller_actor(&s, &ctx);
        let targets = vec![s.user_target(u), s.group_target(g)];
        s.log(
            now_ms,
            "group.user_membership.add",
            "Add user to group membership",
            actor,
            targets,
            "SUCCESS",
            None,
            &ctx.request_id,
            Some(ctx.uri.clone()),
        );
    }
    Ok(no_content())
}

/// `DELETE /api/v1/groups/{groupId}/users/{userId}` → 204.
pub async fn remove_member(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((gid, uid)): Path<(String, String)>,
) -> ApiResult {
    let now_ms = shared.okta.now_ms();
    let mut s = shared.okta.state();
    let (g, u) = membership_target(&s, &gid, &uid)?;
    if s.remove_member(g, u, now_ms / 1000) {
        let actor = caller_actor(&s, &ctx);
        let targets = vec![s.user_target(u), s.group_target(g)];
        s.log(
            now_ms,
            "group.user_membership.remove",
            "Remove user from group membership",
            actor,
            targets,
            "SUCCESS",
            None,
            &ctx.request_id,
            Some(ctx.uri.clone()),
        );
    }
    Ok(no_content())
}
