//! `/api/v1/apps`: list, get, app users (list, assign → 200 AppUser, unassign → 204) and the
//! groups assigned to an app.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::State as OktaState;
use super::filter;
use super::http::{ApiError, ApiResult, Ctx, Params, json_response, no_content, page_links, strip_nulls, with_links};
use super::model::*;
use super::users::{caller_actor, user_json};
use crate::emulator::Shared;

pub(super) fn app_json(s: &OktaState, a: usize, base: &str) -> Value {
    strip_nulls(app_json_with_nulls(s, a, base))
}

fn app_json_with_nulls(s: &OktaState, a: usize, base: &str) -> Value {
    let app = &s.apps[a];
    let href = format!("{base}/api/v1/apps/{}", app.id);
    json!({
        "id": app.id,
        "orn": format!("orn:okta:idp:00oexamplecorp1d7:apps:{}:{}", app.name, app.id),
        "name": app.name,
        "label": app.label,
        "status": "ACTIVE",
        "lastUpdated": ts(app.last_updated),
        "created": ts(app.created),
        "accessibility": { "selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null },
        "visibility": { "autoLaunch": false, "autoSubmitToolbar": false, "hide": { "iOS": false, "web": false }, "appLinks": { app.name: true } },
        "features": [],
        "signOnMode": app.sign_on_mode,
        "credentials": { "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" }, "signing": {} },
        "settings": {
            "app": {},
            "notifications": { "vpn": { "network": { "connection": "DISABLED" }, "message": null, "helpUrl": null } },
            "manualProvisioning": false,
            "implicitAssignment": false,
            "notes": { "admin": null, "enduser": null }
        },
        "_links": {
            "appLinks": [{ "name": app.name, "href": format!("{base}/home/{}/{}/aln1d7", app.name, app.id), "type": "text/html" }],
            "groups": { "href": format!("{href}/groups") },
            "logo": [{ "name": "medium", "href": format!("{base}/assets/img/logos/{}.png", app.name), "type": "image/png" }],
            "users": { "href": format!("{href}/users") },
            "deactivate": { "href": format!("{href}/lifecycle/deactivate") },
            "self": { "href": href },
        }
    })
}

fn find_app(s: &OktaState, id: &str) -> Result<usize, ApiError> {
    s.idx.app_by_id.get(id).copied().ok_or_else(|| ApiError::not_found(id, "AppInstance"))
}

/// `GET /api/v1/apps`.
pub async fn list(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let limit = p.limit(20, 1, 200)?;
    let start = match p.get("after").filter(|a| !a.is_empty()) {
        Some(a) if a.len() == 20 && a.starts_with("0oa") => s.apps.partition_point(|x| x.id.as_str() <= a),
        Some(_) => return Err(ApiError::bad_paging()),
        None => 0,
    };
    let expr = match p.get("filter").filter(|v| !v.is_empty()) {
        Some(f) => {
            let e = filter::parse(f).map_err(|e| ApiError::bad_search(&e))?;
            for attr in e.attrs() {
                if !matches!(attr, "id" | "status" | "name" | "user.id" | "group.id") {
                    return Err(ApiError::bad_search(&format!("Filtering on {attr} is not supported")));
                }
            }
            Some(e)
        }
        None => None,
    };
    let needle = p.get("q").map(|q| q.to_lowercase());
    let mut page = Vec::new();
    for a in start..s.apps.len() {
        let app = &s.apps[a];
        if let Some(n) = &needle
            && !(app.name.to_lowercase().starts_with(n) || app.label.to_lowercase().starts_with(n))
        {
            continue;
        }
        if let Some(e) = &expr {
            let get = |attr: &str| -> Option<String> {
                Some(match attr {
                    "id" => app.id.clone(),
                    "status" => "ACTIVE".into(),
                    "name" => app.name.to_string(),
                    _ => return None,
                })
            };
            let matched = match filter::simple_eq(e, "user.id") {
                Some(uid) => s
                    .idx
                    .user_by_id
                    .get(uid)
                    .is_some_and(|u| app.direct.contains_key(u) || app.via_groups.contains_key(u)),
                None => match filter::simple_eq(e, "group.id") {
                    Some(gid) => s.idx.group_by_id.get(gid).is_some_and(|g| app.groups.contains_key(g)),
                    None => e.eval(&get, false),
                },
            };
            if !matched {
                continue;
            }
        }
        page.push(a);
        if page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|a| s.apps[*a].id.clone()) } else { None };
    let body: Vec<Value> = page.iter().map(|a| app_json(&s, *a, base)).collect();
    let links = page_links(base, "/api/v1/apps", &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}

/// `GET /api/v1/apps/{appId}`.
pub async fn get_one(State(shared): State<Arc<Shared>>, Path(aid): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let a = find_app(&s, &aid)?;
    Ok(json_response(StatusCode::OK, &app_json(&s, a, shared.base_url())))
}

fn app_user_json(s: &OktaState, a: usize, u: usize, base: &str, expand: bool) -> Option<Value> {
    let app = &s.apps[a];
    let user = &s.users[u];
    let (scope, created, updated) = match app.direct.get(&u) {
        Some(d) => ("USER", d.created, d.last_updated),
        None if app.via_groups.contains_key(&u) => {
            let t = app
                .groups
                .keys()
                .filter(|g| s.idx.members[**g].contains(&u))
                .map(|g| s.groups[*g].last_membership_updated.min(user.last_updated.max(user.created)))
                .min()
                .unwrap_or(user.created);
            ("GROUP", t.max(user.created), t.max(user.created))
        }
        None => return None,
    };
    let status = if user.status == Status::Deprovisioned { "INACTIVE" } else { "ACTIVE" };
    let mut v = json!({
        "id": user.id,
        "created": ts(created),
        "lastUpdated": ts(updated),
        "scope": scope,
        "status": status,
        "statusChanged": ts(created),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": { "userName": user.profile.login },
        "profile": {},
        "_links": {
            "app": { "href": format!("{base}/api/v1/apps/{}", app.id) },
            "user": { "href": format!("{base}/api/v1/users/{}", user.id) },
        }
    });
    if expand {
        v["_embedded"] = json!({ "user": user_json(s, u, base, false) });
    }
    Some(v)
}

/// `GET /api/v1/apps/{appId}/users`.
pub async fn users(State(shared): State<Arc<Shared>>, Path(aid): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let a = find_app(&s, &aid)?;
    let limit = p.limit(50, 1, 500)?;
    let start = match p.get("after").filter(|x| !x.is_empty()) {
        Some(x) if x.len() == 20 && x.starts_with("00u") => s.users.partition_point(|u| u.id.as_str() <= x),
        Some(_) => return Err(ApiError::bad_paging()),
        None => 0,
    };
    let expand = p.get("expand") == Some("user");
    let needle = p.get("q").filter(|v| !v.is_empty()).map(|v| v.to_lowercase());
    let app = &s.apps[a];
    let mut d = app.direct.range(start..).map(|(k, _)| *k).peekable();
    let mut g = app.via_groups.range(start..).map(|(k, _)| *k).peekable();
    let mut page = Vec::new();
    loop {
        let next = match (d.peek().copied(), g.peek().copied()) {
            (None, None) => break,
            (Some(x), None) => {
                d.next();
                x
            }
            (None, Some(y)) => {
                g.next();
                y
            }
            (Some(x), Some(y)) => {
                if x <= y {
                    d.next();
                }
                if y <= x {
                    g.next();
                }
                x.min(y)
            }
        };
        if let Some(n) = &needle {
            let pr = &s.users[next].profile;
            if ![&pr.login, &pr.first_name, &pr.last_name, &pr.email].iter().any(|f| f.to_lowercase().starts_with(n)) {
                continue;
            }
        }
        page.push(next);
        if page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|u| s.users[*u].id.clone()) } else { None };
    let body: Vec<Value> = page.iter().filter_map(|u| app_user_json(&s, a, *u, base, expand)).collect();
    let path = format!("/api/v1/apps/{}/users", s.apps[a].id);
    let links = page_links(base, &path, &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}

/// `GET /api/v1/apps/{appId}/users/{userId}`.
pub async fn app_user(
    State(shared): State<Arc<Shared>>,
    Path((aid, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = shared.okta.state();
    let a = find_app(&s, &aid)?;
    let u = s.idx.user_by_id.get(&uid).copied().ok_or_else(|| ApiError::not_found(&uid, "AppUser"))?;
    let v = app_user_json(&s, a, u, shared.base_url(), p.get("expand") == Some("user"))
        .ok_or_else(|| ApiError::not_found(&uid, "AppUser"))?;
    Ok(json_response(StatusCode::OK, &v))
}

/// `POST /api/v1/apps/{appId}/users` → 200 with the AppUser.
pub async fn assign(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(aid): Path<String>,
    body: Bytes,
) -> ApiResult {
    let req: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "E0000003", "The request body was not well-formed."))?;
    let uid = req
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation("id").cause("id: The field cannot be left blank"))?;
    let now_ms = shared.okta.now_ms();
    let mut s = shared.okta.state();
    let a = find_app(&s, &aid)?;
    let u = s.idx.user_by_id.get(uid).copied().ok_or_else(|| ApiError::not_found(uid, "User"))?;
    if s.assign_app(a, u, now_ms / 1000) {
        let actor = caller_actor(&s, &ctx);
        let targets = vec![s.user_target(u), s.app_target(a)];
        s.log(
            now_ms,
            "application.user_membership.add",
            "Add user to application membership",
            actor,
            targets,
            "SUCCESS",
            None,
            &ctx.request_id,
            Some(ctx.uri.clone()),
        );
    }
    let v = app_user_json(&s, a, u, shared.base_url(), false).unwrap_or(Value::Null);
    Ok(json_response(StatusCode::OK, &v))
}

/// `DELETE /api/v1/apps/{appId}/users/{userId}` → 204.
pub async fn unassign(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((aid, uid)): Path<(String, String)>,
) -> ApiResult {
    let now_ms = shared.okta.now_ms();
    let mut s = shared.okta.state();
    let a = find_app(&s, &aid)?;
    let u = s.idx.user_by_id.get(&uid).copied().ok_or_else(|| ApiError::not_found(&uid, "AppUser"))?;
    if s.apps[a].direct.remove(&u).is_none() {
        if s.apps[a].via_groups.contains_key(&u) {
            return Err(ApiError::validation("scope")
                .cause("The user is assigned to this app through a group; remove the group membership instead."));
        }
        return Err(ApiError::not_found(&uid, "AppUser"));
    }
    let actor = caller_actor(&s, &ctx);
    let targets = vec![s.user_target(u), s.app_target(a)];
    s.log(
        now_ms,
        "application.user_membership.remove",
        "Remove user from application membership",
        actor,
        targets,
        "SUCCESS",
        None,
        &ctx.request_id,
        Some(ctx.uri.clone()),
    );
    Ok(no_content())
}

/// `GET /api/v1/apps/{appId}/groups`.
pub async fn groups(State(shared): State<Arc<Shared>>, Path(aid): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let a = find_app(&s, &aid)?;
    let limit = p.limit(20, 20, 200)?;
    let start = match p.get("after").filter(|x| !x.is_empty()) {
        Some(x) if x.len() == 20 && x.starts_with("00g") => s.groups.partition_point(|g| g.id.as_str() <= x),
        Some(_) => return Err(ApiError::bad_paging()),
        None => 0,
    };
    let app = &s.apps[a];
    let mut page: Vec<(usize, u32)> = app.groups.range(start..).map(|(g, p)| (*g, *p)).take(limit + 1).collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|(g, _)| s.groups[*g].id.clone()) } else { None };
    let body: Vec<Value> = page
        .iter()
        .map(|(g, prio)| {
            json!({
                "id": s.groups[*g].id,
                "lastUpdated": ts(s.groups[*g].last_updated.max(app.created)),
                "priority": prio,
                "profile": {},
                "_links": {
                    "app": { "href": format!("{base}/api/v1/apps/{}", app.id) },
                    "self": { "href": format!("{base}/api/v1/apps/{}/groups/{}", app.id, s.groups[*g].id) },
                    "group": { "href": format!("{base}/api/v1/groups/{}", s.groups[*g].id) },
                }
            })
        })
        .collect();
    let path = format!("/api/v1/apps/{}/groups", app.id);
    let links = page_links(base, &path, &p, limit, next.as_deref());
    Ok(with_links(json_response(StatusCode::OK, &Value::Array(body)), &links))
}
