//! `/api/v1/users`: list (plain, `search`, `filter`, `q`), get by id or login, a user's groups,
//! app links and factors, and the lifecycle operations.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::filter::{self, Op};
use super::http::{
    ApiError, ApiResult, Caller, Ctx, Params, json_bytes_response, json_response, no_content, page_links, with_links,
};
use super::model::*;
use super::{State as OktaState, groups};
use crate::emulator::Shared;

/// Finds a user by id, login, or unambiguous login short name.
pub fn find_user(s: &OktaState, key: &str) -> Option<usize> {
    if let Some(i) = s.idx.user_by_id.get(key) {
        return Some(*i);
    }
    let lower = key.to_ascii_lowercase();
    if let Some(i) = s.idx.user_by_login.get(&lower) {
        return Some(*i);
    }
    if !lower.contains('@') {
        return s.idx.user_by_login.get(&format!("{lower}@example.com")).copied();
    }
    None
}

fn user_or_404(s: &OktaState, key: &str) -> Result<usize, ApiError> {
    find_user(s, key).ok_or_else(|| ApiError::not_found(key, "User"))
}

/// The actor of a change: the token's user, or the service app.
pub fn caller_actor(s: &OktaState, ctx: &Ctx) -> Actor {
    match &ctx.caller {
        Caller::Token { user } => s.user_actor(*user),
        Caller::Service { client_id } => Actor {
            id: client_id.clone(),
            kind: "PublicClientApp",
            alternate_id: client_id.clone(),
            display_name: "grantdesk service app".into(),
        },
    }
}

fn opt_ts(v: Option<Secs>) -> Value {
    v.map(|t| Value::String(ts(t))).unwrap_or(Value::Null)
}

/// A user as Okta returns it; collections carry only `_links.self`.
pub fn user_json(s: &OktaState, i: usize, base: &str, full_links: bool) -> Value {
    let u = &s.users[i];
    let p = &u.profile;
    let mut profile = Map::new();
    profile.insert("firstName".into(), json!(p.first_name));
    profile.insert("lastName".into(), json!(p.last_name));
    profile.insert("mobilePhone".into(), json!(p.mobile_phone));
    profile.insert("secondEmail".into(), Value::Null);
    profile.insert("login".into(), json!(p.login));
    profile.insert("email".into(), json!(p.email));
    profile.insert("displayName".into(), json!(format!("{} {}", p.first_name, p.last_name)));
    profile.insert("title".into(), json!(p.title));
    profile.insert("department".into(), json!(p.department));
    profile.insert("division".into(), json!(p.division));
    profile.insert("organization".into(), json!("Example Corp"));
    profile.insert("userType".into(), json!(p.user_type));
    profile.insert("employeeNumber".into(), json!(p.employee_number));
    profile.insert("costCenter".into(), json!(p.cost_center));
    profile.insert("city".into(), json!(p.city));
    if let Some(m) = &p.manager_id {
        profile.insert("managerId".into(), json!(m));
    }
    if let Some(m) = &p.manager {
        profile.insert("manager".into(), json!(m));
    }
    if let Some(end) = p.contract_end {
        profile.insert("contractEndDate".into(), json!(ts(end)[..10]));
    }
    let self_href = format!("{base}/api/v1/users/{}", u.id);
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": self_href }));
    if full_links {
        links.insert("schema".into(), json!({ "href": format!("{base}/api/v1/meta/schemas/user/oscexamplecorp1d7") }));
        links.insert("type".into(), json!({ "href": format!("{base}/api/v1/meta/types/user/otyexamplecorp01d7") }));
        let life = |op: &str| json!({ "href": format!("{self_href}/lifecycle/{op}"), "method": "POST" });
        let ops: &[(&str, &str)] = match u.status {
            Status::Active => &[
                ("suspend", "suspend"),
                ("deactivate", "deactivate"),
                ("resetPassword", "reset_password"),
                ("expirePassword", "expire_password"),
                ("resetFactors", "reset_factors"),
            ],
            Status::LockedOut => &[
                ("unlock", "unlock"),
                ("deactivate", "deactivate"),
                ("resetPassword", "reset_password"),
                ("expirePassword", "expire_password"),
                ("resetFactors", "reset_factors"),
            ],
            Status::Suspended => &[("unsuspend", "unsuspend"), ("deactivate", "deactivate")],
            Status::Staged => &[("activate", "activate"), ("deactivate", "deactivate")],
            Status::Provisioned | Status::Recovery => {
                &[("reactivate", "reactivate"), ("deactivate", "deactivate"), ("resetPassword", "reset_password")]
            }
            Status::PasswordExpired => &[
                ("suspend", "suspend"),
                ("deactivate", "deactivate"),
                ("resetPassword", "reset_password"),
                ("expirePassword", "expire_password"),
                ("resetFactors", "reset_factors"),
            ],
            Status::Deprovisioned => &[("activate", "activate")],
        };
        for (name, op) in ops {
            links.insert((*name).into(), life(op));
        }
        if matches!(u.status, Status::Active | Status::PasswordExpired) {
            links.insert(
                "changePassword".into(),
                json!({ "href": format!("{self_href}/credentials/change_password"), "method": "POST" }),
            );
            links.insert(
                "changeRecoveryQuestion".into(),
                json!({ "href": format!("{self_href}/credentials/change_recovery_question"), "method": "POST" }),
            );
        }
    }
    json!({
        "id": u.id,
        "status": u.status.as_str(),
        "created": ts(u.created),
        "activated": opt_ts(u.activated),
        "statusChanged": opt_ts(u.status_changed),
        "lastLogin": opt_ts(u.last_login),
        "lastUpdated": ts(u.last_updated),
        "passwordChanged": opt_ts(u.password_changed),
        "type": { "id": "otyexamplecorp01d7" },
        "profile": profile,
        "credentials": {
            "password": {},
            "emails": [{ "value": p.email, "status": "VERIFIED", "type": "PRIMARY" }],
            "provider": { "type": "OKTA", "name": "OKTA" }
        },
        "_links": links,
    })
}

/// Collection-form user JSON already serialised, per user, beside the fields it was made from,
/// so a page of 1,000 group members is a copy rather than 1,000 JSON trees built and written.
/// Every run-time change to a user moves one of the key's fields, so a stale entry is never sent.
#[derive(Debug, Default)]
pub struct Rendered {
    base: String,
    users: Vec<Option<(RenderKey, Box<[u8]>)>>,
}

type RenderKey = (Status, Secs, Option<Secs>, Option<Secs>, Option<Secs>, Option<Secs>);

fn render_key(u: &User) -> RenderKey {
    (u.status, u.last_updated, u.activated, u.status_changed, u.last_login, u.password_changed)
}

/// A JSON array of the users at `page`, in collection form (as [`user_json`] without the
/// lifecycle links), byte for byte what serialising those values gives.
pub fn users_array(s: &mut OktaState, page: &[usize], base: &str) -> Vec<u8> {
    if s.rendered.base != base {
        s.rendered = Rendered { base: base.to_string(), users: Vec::new() };
    }
    if s.rendered.users.len() < s.users.len() {
        s.rendered.users.resize(s.users.len(), None);
    }
    let mut out = Vec::with_capacity(2 + page.len() * 1_400);
    out.push(b'[');
    for (k, &i) in page.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        let key = render_key(&s.users[i]);
        if !matches!(&s.rendered.users[i], Some((cached, _)) if *cached == key) {
            let bytes = serde_json::to_vec(&user_json(s, i, base, false)).unwrap_or_default();
            s.rendered.users[i] = Some((key, bytes.into_boxed_slice()));
        }
        if let Some((_, bytes)) = &s.rendered.users[i] {
            out.extend_from_slice(bytes);
        }
    }
    out.push(b']');
    out
}

/// A user attribute by the name `search`/`filter` use.
fn user_attr(u: &User, attr: &str) -> Option<String> {
    let p = &u.profile;
    Some(match attr {
        "id" => u.id.clone(),
        "status" => u.status.as_str().to_string(),
        "created" => ts(u.created),
        "activated" => ts(u.activated?),
        "statusChanged" => ts(u.status_changed?),
        "lastUpdated" => ts(u.last_updated),
        "lastLogin" => ts(u.last_login?),
        "passwordChanged" => ts(u.password_changed?),
        "type.id" => "otyexamplecorp01d7".into(),
        "profile.login" => p.login.clone(),
        "profile.email" => p.email.clone(),
        "profile.firstName" => p.first_name.clone(),
        "profile.lastName" => p.last_name.clone(),
        "profile.displayName" => format!("{} {}", p.first_name, p.last_name),
        "profile.title" => p.title.clone(),
        "profile.department" => p.department.clone(),
        "profile.division" => p.division.clone(),
        "profile.organization" => "Example Corp".into(),
        "profile.userType" => p.user_type.clone(),
        "profile.employeeNumber" => p.employee_number.clone(),
        "profile.costCenter" => p.cost_center.clone(),
        "profile.city" => p.city.clone(),
        "profile.mobilePhone" => p.mobile_phone.clone(),
        "profile.managerId" => p.manager_id.clone()?,
        "profile.manager" => p.manager.clone()?,
        _ => return None,
    })
}

const FILTER_ATTRS: [&str; 7] =
    ["status", "lastUpdated", "id", "profile.login", "profile.email", "profile.firstName", "profile.lastName"];

/// Users cursor: Okta's recorded form is `0` + the last user's id.
fn parse_cursor(after: &str) -> Result<&str, ApiError> {
    let id = if after.len() == 21 && after.starts_with("000u") { &after[1..] } else { after };
    if id.len() == 20 && id.starts_with("00u") && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ApiError::bad_paging())
    }
}

/// `GET /api/v1/users`.
pub async fn list(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let mut s = shared.okta.state();

    if let Some(q) = p.get("q").filter(|v| !v.is_empty()) {
        // Starts-with on first name, last name and email; no DEPROVISIONED; no pagination.
        let limit = p.limit(10, 1, 200)?;
        let needle = q.to_lowercase();
        let hits: Vec<Value> = s
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.status != Status::Deprovisioned)
            .filter(|(_, u)| {
                u.profile.first_name.to_lowercase().starts_with(&needle)
                    || u.profile.last_name.to_lowercase().starts_with(&needle)
                    || u.profile.email.to_lowercase().starts_with(&needle)
            })
            .take(limit)
            .map(|(i, _)| user_json(&s, i, base, false))
            .collect();
        let links = page_links(base, "/api/v1/users", &p, limit, None);
        return Ok(with_links(json_response(StatusCode::OK, &Value::Array(hits)), &links));
    }

    let limit = p.limit(200, 1, 200)?;
    let start = match p.get("after").filter(|a| !a.is_empty()) {
        Some(a) => {
            let id = parse_cursor(a)?;
            s.users.partition_point(|u| u.id.as_str() <= id)
        }
        None => 0,
    };
    let (expr, case_insensitive, include_deprovisioned) = if let Some(search) =
        p.get("search").filter(|v| !v.is_empty())
    {
        let e = filter::parse(search).map_err(|e| ApiError::bad_search(&e))?;
        for (attr, op) in e.comparisons() {
            let co_ok = matches!(attr, "profile.firstName" | "profile.lastName" | "profile.email" | "profile.login");
            if op == Op::Ne || (op == Op::Co && !co_ok) || op == Op::Ew {
                return Err(ApiError::bad_search(&format!("Operator not supported for {attr}")));
            }
        }
        (Some(e), true, true)
    } else if let Some(f) = p.get("filter").filter(|v| !v.is_empty()) {
        let e = filter::parse(f).map_err(|e| ApiError::bad_search(&e))?;
        if e.has_not() {
            return Err(ApiError::bad_search("`not` is not supported in filter"));
        }
        for (attr, op) in e.comparisons() {
            let ok = FILTER_ATTRS.contains(&attr)
                && (op == Op::Eq || (attr == "lastUpdated" && matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le)));
            if !ok {
                return Err(ApiError::bad_search(&format!("Filtering on {attr} with this operator is not supported")));
            }
        }
        (Some(e), false, true)
    } else {
        (None, false, false)
    };

    // `sortBy` (search only): every match ordered by the attribute, ties by id; the cursor is
    // the last user's id, looked up in that order.
    if let (Some(e), Some(sort_by)) = (&expr, p.get("sortBy").filter(|v| !v.is_empty()))
        && p.get("search").is_some()
    {
        let descending = p.get("sortOrder").is_some_and(|o| o.eq_ignore_ascii_case("desc"));
        let mut all: Vec<(Option<String>, usize)> = (0..s.users.len())
            .filter(|i| e.eval(&|a| user_attr(&s.users[*i], a), true))
            .map(|i| (user_attr(&s.users[i], sort_by), i))
            .collect();
        all.sort();
        if descending {
            all.reverse();
        }
        let from = match p.get("after").filter(|a| !a.is_empty()) {
            Some(a) => {
                let id = parse_cursor(a)?;
                all.iter().position(|(_, i)| s.users[*i].id == id).map(|k| k + 1).ok_or_else(ApiError::bad_paging)?
            }
            None => 0,
        };
        let page: Vec<usize> = all[from..].iter().take(limit).map(|(_, i)| *i).collect();
        let more = all.len() > from + page.len();
        let next = if more { page.last().map(|i| format!("0{}", s.users[*i].id)) } else { None };
        let body = users_array(&mut s, &page, base);
        let links = page_links(base, "/api/v1/users", &p, limit, next.as_deref());
        return Ok(with_links(json_bytes_response(StatusCode::OK, body), &links));
    }

    let mut page: Vec<usize> = Vec::with_capacity(limit + 1);
    let status_only = expr
        .as_ref()
        .and_then(|e| filter::simple_eq(e, "status"))
        .map(|v| if case_insensitive { Status::parse(v) } else { Status::ALL.into_iter().find(|s| s.as_str() == v) });
    match (&expr, status_only) {
        (Some(_), Some(Some(st))) => {
            page.extend(s.idx.users_by_status[st.index()].range(start..).take(limit + 1).copied());
        }
        (Some(_), Some(None)) => {}
        (Some(e), None) => {
            for i in start..s.users.len() {
                let u = &s.users[i];
                if e.eval(&|a| user_attr(u, a), case_insensitive) {
                    page.push(i);
                    if page.len() > limit {
                        break;
                    }
                }
            }
        }
        (None, _) => {
            for i in start..s.users.len() {
                if include_deprovisioned || s.users[i].status != Status::Deprovisioned {
                    page.push(i);
                    if page.len() > limit {
                        break;
                    }
                }
            }
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more { page.last().map(|i| format!("0{}", s.users[*i].id)) } else { None };
    let body = users_array(&mut s, &page, base);
    let links = page_links(base, "/api/v1/users", &p, limit, next.as_deref());
    Ok(with_links(json_bytes_response(StatusCode::OK, body), &links))
}

/// `GET /api/v1/users/{id}`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let s = shared.okta.state();
    let i = if id == "me" {
        match ctx.caller {
            Caller::Token { user } => user,
            Caller::Service { .. } => return Err(ApiError::not_found("me", "User")),
        }
    } else {
        user_or_404(&s, &id)?
    };
    Ok(json_response(StatusCode::OK, &user_json(&s, i, shared.base_url(), true)))
}

/// `GET /api/v1/users/{id}/groups`: every group, no pagination header (as recorded).
pub async fn groups(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let i = user_or_404(&s, &id)?;
    let base = shared.base_url();
    let body: Vec<Value> = s.idx.groups_of[i].iter().map(|g| groups::group_json(&s, *g, base, false)).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(body)))
}

/// `GET /api/v1/users/{id}/appLinks`: apps assigned directly or through groups.
pub async fn app_links(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let i = user_or_404(&s, &id)?;
    let base = shared.base_url();
    let mut out = Vec::new();
    for (k, a) in s.apps.iter().enumerate() {
        let assignment = if let Some(d) = a.direct.get(&i) {
            d.id.clone()
        } else if a.via_groups.contains_key(&i) {
            derived_assignment_id(k, i)
        } else {
            continue;
        };
        out.push(json!({
            "id": s.users[i].id,
            "label": a.label,
            "linkUrl": format!("{base}/home/{}/{}/{}", a.name, a.id, "alnexamplecorp1d7"),
            "logoUrl": format!("{base}/assets/img/logos/{}.png", a.name),
            "appName": a.name,
            "appInstanceId": a.id,
            "appAssignmentId": assignment,
            "credentialsSetup": false,
            "hidden": false,
            "sortOrder": k,
        }));
    }
    Ok(json_response(StatusCode::OK, &Value::Array(out)))
}

/// A stable assignment id for a group-derived app assignment.
pub fn derived_assignment_id(app: usize, user: usize) -> String {
    format!("0ua{:06}{:08}1d7", app, user)
}

fn factor_json(u: &User, f: &Factor, base: &str) -> Value {
    let profile: Map<String, Value> = f.profile.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
    json!({
        "id": f.id,
        "factorType": f.factor_type,
        "provider": f.provider,
        "vendorName": f.vendor_name,
        "status": f.status,
        "created": ts(f.created),
        "lastUpdated": ts(f.last_updated),
        "profile": profile,
        "_links": {
            "self": { "href": format!("{base}/api/v1/users/{}/factors/{}", u.id, f.id), "hints": { "allow": ["GET", "DELETE"] } },
            "user": { "href": format!("{base}/api/v1/users/{}", u.id), "hints": { "allow": ["GET"] } },
        }
    })
}

/// `GET /api/v1/users/{id}/factors`.
pub async fn factors(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let i = user_or_404(&s, &id)?;
    let u = &s.users[i];
    let body: Vec<Value> = u.factors.iter().map(|f| factor_json(u, f, shared.base_url())).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(body)))
}

/// `GET /api/v1/users/{id}/factors/{factorId}`.
pub async fn factor(State(shared): State<Arc<Shared>>, Path((id, fid)): Path<(String, String)>) -> ApiResult {
    let s = shared.okta.state();
    let i = user_or_404(&s, &id)?;
    let u = &s.users[i];
    let f = u.factors.iter().find(|f| f.id == fid).ok_or_else(|| ApiError::not_found(&fid, "UserFactor"))?;
    Ok(json_response(StatusCode::OK, &factor_json(u, f, shared.base_url())))
}

/// `DELETE /api/v1/users/{id}/factors/{factorId}` → 204.
pub async fn delete_factor(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, fid)): Path<(String, String)>,
) -> ApiResult {
    let now_ms = shared.okta.now_ms();
    let mut s = shared.okta.state();
    let i = user_or_404(&s, &id)?;
    let pos =
        s.users[i].factors.iter().position(|f| f.id == fid).ok_or_else(|| ApiError::not_found(&fid, "UserFactor"))?;
    s.users[i].factors.remove(pos);
    s.users[i].last_updated = now_ms / 1000;
    let actor = caller_actor(&s, &ctx);
    let target = s.user_target(i);
    s.log(
        now_ms,
        "user.mfa.factor.deactivate",
        "Reset factor for user",
        actor,
        vec![target],
        "SUCCESS",
        None,
        &ctx.request_id,
        Some(ctx.uri.clone()),
    );
    Ok(no_content())
}

/// `POST /api/v1/users/{id}/lifecycle/{op}`.
pub async fn lifecycle(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, op)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let now_ms = shared.okta.now_ms();
    let now = now_ms / 1000;
    let base = shared.base_url();
    let mut s = shared.okta.state();
    let i = user_or_404(&s, &id)?;
    let status = s.users[i].status;
    let flag = |k: &str| p.get(k).map(|v| v.eq_ignore_ascii_case("true"));
    let rng_token = || {
        use rand::RngExt as _;
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut r = rand::rng();
        (0..20).map(|_| A[r.random_range(0..A.len())] as char).collect::<String>()
    };
    let (event, message, new_status, body): (&'static str, &'static str, Option<Status>, Value) = match op.as_str() {
        "unlock" => {
            if status != Status::LockedOut {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "E0000032", "Unlock is not allowed for this user.")
                    .cause("The user is not locked out."));
            }
            ("user.account.unlock", "Unlock user account", Some(Status::Active), json!({}))
        }
        "suspend" => {
            if !matches!(status, Status::Active | Status::PasswordExpired) {
                return Err(ApiError::wrong_status());
            }
            ("user.lifecycle.suspend", "Suspend user", Some(Status::Suspended), json!({}))
        }
        "unsuspend" => {
            if status != Status::Suspended {
                return Err(ApiError::wrong_status());
            }
            ("user.lifecycle.unsuspend", "Unsuspend user", Some(Status::Active), json!({}))
        }
        "reset_password" => {
            let Some(send) = flag("sendEmail") else { return Err(ApiError::missing_param("sendEmail")) };
            if !matches!(
                status,
                Status::Active | Status::LockedOut | Status::PasswordExpired | Status::Recovery | Status::Provisioned
            ) {
                return Err(ApiError::wrong_status());
            }
            let body = if send {
                json!({})
            } else {
                json!({ "resetPasswordUrl": format!("{base}/reset_password/{}", rng_token()) })
            };
            ("user.account.reset_password", "Reset password for user", Some(Status::Recovery), body)
        }
        "expire_password" | "expire_password_with_temp_password" => {
            if !matches!(status, Status::Active | Status::LockedOut | Status::PasswordExpired | Status::Recovery) {
                return Err(ApiError::wrong_status());
            }
            let temp = op == "expire_password_with_temp_password" || flag("tempPassword") == Some(true);
            let body = if temp { json!({ "tempPassword": rng_token()[..8].to_string() }) } else { Value::Null };
            ("user.account.expire_password", "User password expired by admin", Some(Status::PasswordExpired), body)
        }
        "reset_factors" => {
            if matches!(status, Status::Deprovisioned | Status::Staged) {
                return Err(ApiError::wrong_status());
            }
            s.users[i].factors.clear();
            ("user.mfa.factor.reset_all", "Reset all factors for user", None, json!({}))
        }
        "deactivate" => {
            if status == Status::Deprovisioned {
                return Err(ApiError::wrong_status());
            }
            ("user.lifecycle.deactivate", "Deactivate Okta user", Some(Status::Deprovisioned), json!({}))
        }
        "activate" => {
            if !matches!(status, Status::Staged | Status::Deprovisioned) {
                return Err(ApiError::wrong_status());
            }
            let token = rng_token();
            let body = if flag("sendEmail") == Some(false) {
                json!({ "activationUrl": format!("{base}/welcome/{token}"), "activationToken": token })
            } else {
                json!({})
            };
            ("user.lifecycle.activate", "Activate Okta user", Some(Status::Provisioned), body)
        }
        "reactivate" => {
            if !matches!(status, Status::Provisioned | Status::Recovery) {
                return Err(ApiError::wrong_status());
            }
            let token = rng_token();
            let body = json!({ "activationUrl": format!("{base}/welcome/{token}"), "activationToken": token });
            ("user.lifecycle.reactivate", "Reactivate Okta user", Some(Status::Provisioned), body)
        }
        other => return Err(ApiError::not_found(other, "LifecycleOperation")),
    };
    if let Some(st) = new_status {
        s.set_status(i, st, now);
        if st == Status::Recovery || st == Status::PasswordExpired {
            s.users[i].password_changed = Some(now);
        }
        if st == Status::Provisioned && s.users[i].activated.is_none() {
            s.users[i].activated = Some(now);
        }
    } else {
        s.users[i].last_updated = now;
    }
    let actor = caller_actor(&s, &ctx);
    let target = s.user_target(i);
    s.log(now_ms, event, message, actor, vec![target], "SUCCESS", None, &ctx.request_id, Some(ctx.uri.clone()));
    let body = if body.is_null() { user_json(&s, i, base, true) } else { body };
    Ok(json_response(StatusCode::OK, &body))
}
