//! Okta Identity Governance v2 access requests: catalog entries (the `filter` is required),
//! request fields, conditions, settings, sequences, and requests with their lifecycle
//! `SUBMITTED → PENDING → APPROVED | DENIED`, fulfilled in Okta (membership or app assignment)
//! and revoked when a time-bound grant expires.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use rand::RngExt as _;
use serde_json::{Map, Value, json};

use super::State as OktaState;
use super::filter;
use super::http::{ApiError, ApiResult, Caller, Ctx, Params, json_response, with_links};
use super::model::*;
use super::world::{approvers, condition_for, iso_duration_secs};
use crate::emulator::Shared;

/// The id of the reserved justification field every entry asks for.
const JUSTIFICATION_FIELD: &str = "7c5f2d3e-8a1b-4c6d-9e0f-1a2b3c4d5e6f";
/// How a client-credentials caller appears as a request's creator.
const SERVICE_PRINCIPAL: &str = "pcagrantdeskdemo01d7";

fn entry_json(s: &OktaState, e: usize, base: &str) -> Value {
    let en = &s.entries[e];
    let href = format!("{base}/governance/api/v2/catalogs/default/entries/{}", en.id);
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": href }));
    links.insert("logo".into(), json!([{ "href": format!("{base}/assets/img/logos/{}.png", s.apps[en.app].name), "name": "medium", "type": "image/png" }]));
    if en.requestable {
        links.insert("createRequest".into(), json!({ "href": format!("{base}/governance/api/v2/requests") }));
    }
    let related = match en.scope {
        Scope::Group(g) => format!("{base}/api/v1/groups/{}", s.groups[g].id),
        Scope::App => format!("{base}/api/v1/apps/{}", s.apps[en.app].id),
    };
    links.insert("relatedEntity".into(), json!({ "href": related }));
    let mut v = json!({
        "id": en.id,
        "name": en.name,
        "description": en.description,
        "label": if en.parent.is_some() { "Resource Collection" } else { "Application" },
        "requestable": en.requestable,
        "_links": links,
    });
    if let Some(parent) = en.parent {
        v["parent"] = json!(s.entries[parent].id);
        links_insert(
            &mut v,
            "parent",
            format!("{base}/governance/api/v2/catalogs/default/entries/{}", s.entries[parent].id),
        );
    }
    v
}

fn links_insert(v: &mut Value, name: &str, href: String) {
    if let Some(l) = v.get_mut("_links").and_then(Value::as_object_mut) {
        l.insert(name.into(), json!({ "href": href }));
    }
}

fn envelope(data: Vec<Value>, self_href: String, next_href: Option<String>) -> axum::response::Response {
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": self_href }));
    let mut header_links = vec![(self_href, "self")];
    if let Some(n) = next_href {
        links.insert("next".into(), json!({ "href": n }));
        header_links.push((n, "next"));
    }
    with_links(json_response(StatusCode::OK, &json!({ "data": data, "_links": links })), &header_links)
}

fn entries_query(s: &OktaState, p: &Params, base: &str, path: &str, visible: impl Fn(usize) -> bool) -> ApiResult {
    let Some(f) = p.get("filter").filter(|f| !f.is_empty()) else {
        return Err(ApiError::validation("filter").governance_cause(
            "The filter query parameter is required",
            "filter",
            "REQUIRED_PROPERTY_MISSING",
        ));
    };
    let expr = filter::parse(f).map_err(|e| {
        ApiError::validation("filter").governance_cause(&format!("Invalid filter: {e}"), "filter", "INVALID_FILTER")
    })?;
    if expr.attrs().iter().any(|a| *a != "parent") {
        return Err(ApiError::validation("filter").governance_cause(
            "Only `parent` can be filtered",
            "filter",
            "INVALID_FILTER",
        ));
    }
    let limit = p.limit(20, 1, 200)?;
    let needle = p.get("match").map(str::to_lowercase);
    if let Some(m) = &needle
        && !(3..=50).contains(&m.chars().count())
    {
        return Err(ApiError::validation("match").governance_cause(
            "match must be 3 to 50 characters",
            "match",
            "INVALID_DATA_TYPE",
        ));
    }
    let start = match p.get("after").filter(|a| !a.is_empty()) {
        Some(a) => s.entries.iter().position(|e| e.id == a).map(|i| i + 1).ok_or_else(ApiError::bad_paging)?,
        None => 0,
    };
    let mut page = Vec::new();
    for e in start..s.entries.len() {
        let en = &s.entries[e];
        let parent = en.parent.map(|p| s.entries[p].id.clone());
        if !expr.eval(&|_| parent.clone(), false) || !visible(e) {
            continue;
        }
        if let Some(m) = &needle
            && !(en.name.to_lowercase().contains(m) || en.description.to_lowercase().contains(m))
        {
            continue;
        }
        page.push(e);
        if page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let data = page.iter().map(|e| entry_json(s, *e, base)).collect();
    let self_href = format!("{base}{path}?{}", p.link_query(limit, p.get("after")));
    let next =
        more.then(|| format!("{base}{path}?{}", p.link_query(limit, page.last().map(|e| s.entries[*e].id.as_str()))));
    Ok(envelope(data, self_href, next))
}

/// `GET /governance/api/v2/catalogs/default/entries`.
pub async fn list_entries(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = shared.okta.state();
    entries_query(&s, &p, shared.base_url(), "/governance/api/v2/catalogs/default/entries", |_| true)
}

/// `GET /governance/api/v2/catalogs/default/user/{userId}/entries`: what that user may request.
pub async fn list_user_entries(
    State(shared): State<Arc<Shared>>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = shared.okta.state();
    let u = s.idx.user_by_id.get(&uid).copied().ok_or_else(|| ApiError::not_found(&uid, "User"))?;
    let path = format!("/governance/api/v2/catalogs/default/user/{uid}/entries");
    entries_query(&s, &p, shared.base_url(), &path, |e| {
        let en = &s.entries[e];
        if en.requestable {
            condition_for(&s.conditions, &s.idx, e, u).is_some()
        } else {
            // A parent shows when any of its children is requestable by the user.
            (0..s.entries.len())
                .any(|c| s.entries[c].parent == Some(e) && condition_for(&s.conditions, &s.idx, c, u).is_some())
        }
    })
}

/// `GET /governance/api/v2/catalogs/default/entries/{entryId}`.
pub async fn get_entry(State(shared): State<Arc<Shared>>, Path(eid): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let e = s.entries.iter().position(|e| e.id == eid).ok_or_else(|| ApiError::not_found(&eid, "CatalogEntry"))?;
    Ok(json_response(StatusCode::OK, &entry_json(&s, e, shared.base_url())))
}

/// `GET …/entries/{entryId}/users/{userId}/request-fields`.
pub async fn request_fields(State(shared): State<Arc<Shared>>, Path((eid, uid)): Path<(String, String)>) -> ApiResult {
    let s = shared.okta.state();
    let e = s.entries.iter().position(|e| e.id == eid).ok_or_else(|| ApiError::not_found(&eid, "CatalogEntry"))?;
    let u = s.idx.user_by_id.get(&uid).copied().ok_or_else(|| ApiError::not_found(&uid, "User"))?;
    let c = condition_for(&s.conditions, &s.idx, e, u).ok_or_else(|| {
        ApiError::validation("userId").governance_cause(
            "The user may not request this entry",
            "userId",
            "REQUEST_TYPE_SETTINGS",
        )
    })?;
    let mut data = vec![json!({
        "id": JUSTIFICATION_FIELD, "type": "TEXT", "required": true, "readOnly": false,
        "label": "What is the business justification for the request?",
    })];
    if let Some(d) = s.conditions[c].duration {
        data.push(
            json!({ "id": "ACCESS_DURATION", "type": "DURATION", "required": false, "readOnly": true, "value": d }),
        );
    }
    Ok(json_response(StatusCode::OK, &json!({ "data": data })))
}

fn principal_json(s: &OktaState, p: &Principal) -> Value {
    match p {
        Principal::User(u) => json!({ "type": "OKTA_USER", "externalId": s.users[*u].id }),
        Principal::Service(id) => json!({ "type": "UNKNOWN", "externalId": id }),
    }
}

fn principal_id(s: &OktaState, p: &Principal) -> String {
    match p {
        Principal::User(u) => s.users[*u].id.clone(),
        Principal::Service(id) => id.clone(),
    }
}

fn request_json(s: &OktaState, r: usize, base: &str) -> Value {
    let rq = &s.requests[r];
    let c = &s.conditions[rq.condition];
    let app = &s.apps[c.app];
    let (scope_id, scope_type) = match c.scope {
        Scope::Group(g) => (s.groups[g].id.clone(), "GROUP"),
        Scope::App => (app.id.clone(), "APPLICATION"),
    };
    let mut v = Map::new();
    v.insert("id".into(), json!(rq.id));
    v.insert("created".into(), json!(ts(rq.created)));
    v.insert("createdBy".into(), json!(principal_id(s, &rq.created_by)));
    v.insert("lastUpdated".into(), json!(ts(rq.last_updated)));
    v.insert("lastUpdatedBy".into(), json!(principal_id(s, &rq.created_by)));
    v.insert("status".into(), json!(rq.status.as_str()));
    v.insert("requestedBy".into(), principal_json(s, &rq.requested_by));
    v.insert("requestedFor".into(), json!({ "type": "OKTA_USER", "externalId": s.users[rq.requested_for].id }));
    v.insert(
        "requested".into(),
        json!({
            "entryId": s.entries[rq.entry].id, "resourceId": app.id, "resourceType": "APPLICATION",
            "accessScopeId": scope_id, "accessScopeType": scope_type,
        }),
    );
    let mut fields = Vec::new();
    if let Some(j) = &rq.justification {
        fields.push(json!({ "id": JUSTIFICATION_FIELD, "label": "What is the business justification for the request?", "type": "TEXT", "value": j }));
    }
    if let Principal::User(by) = rq.requested_by
        && by != rq.requested_for
    {
        fields
            .push(json!({ "id": "OKTA_REQUESTED_FOR", "type": "OKTA_USER_ID", "value": s.users[rq.requested_for].id }));
    }
    if !fields.is_empty() {
        v.insert("requesterFieldValues".into(), Value::Array(fields));
    }
    if let Some(d) = c.duration {
        v.insert("accessDuration".into(), json!(d));
    }
    let mut approval = json!({
        "type": "OKTA", "providerName": "Okta Access Requests", "providerDescription": "Okta Access Requests",
        "externalRequestId": rq.external_request_id, "permalinkId": rq.permalink_id,
    });
    if !rq.decisions.is_empty() && matches!(rq.status, ReqStatus::Approved | ReqStatus::Denied) {
        let last = rq.decisions.last().map(|d| d.decided_ms).unwrap_or(0);
        approval["status"] = json!(rq.status.as_str());
        approval["decided"] = json!(ts_millis(last));
        approval["decisions"] = rq
            .decisions
            .iter()
            .map(|d| {
                let p = &s.users[d.user].profile;
                json!({
                    "userId": s.users[d.user].id, "userName": format!("{} {}", p.first_name, p.last_name),
                    "decision": if d.approved { "APPROVED" } else { "DENIED" }, "decided": ts_millis(d.decided_ms),
                })
            })
            .collect();
    }
    v.insert("requestApproval".into(), approval);
    for (k, t) in [
        ("resolved", rq.resolved),
        ("granted", rq.granted),
        ("revoked", rq.revoked),
        ("revocationScheduled", rq.revocation_scheduled),
    ] {
        if let Some(t) = t {
            v.insert(k.into(), json!(ts(t)));
        }
    }
    if let Some(g) = rq.grant_status {
        v.insert("grantStatus".into(), json!(g));
    }
    if let Some(r) = rq.revocation_status {
        v.insert("revocationStatus".into(), json!(r));
    }
    let gov = format!("{base}/governance/api/v2");
    let mut links = Map::new();
    links.insert("catalogEntry".into(), json!({ "href": format!("{gov}/catalogs/default/entries/{}", s.entries[rq.entry].id), "type": "application/json" }));
    if rq.status != ReqStatus::Submitted {
        links.insert(
            "approvalSequence".into(),
            json!({ "href": format!("{gov}/resources/{}/request-sequences/{}", app.id, s.sequences[c.sequence].id), "type": "application/json" }),
        );
        links.insert(
            "requestCondition".into(),
            json!({ "href": format!("{gov}/resources/{}/request-conditions/{}", app.id, c.id), "type": "application/json" }),
        );
    }
    links.insert("self".into(), json!({ "href": format!("{gov}/requests/{}", rq.id), "type": "application/json" }));
    v.insert("_links".into(), Value::Object(links));
    Value::Object(v)
}

fn request_attr(s: &OktaState, r: usize, a: &str) -> Option<String> {
    let rq = &s.requests[r];
    let c = &s.conditions[rq.condition];
    Some(match a {
        "id" => rq.id.clone(),
        "status" => rq.status.as_str().to_string(),
        "created" => ts(rq.created),
        "lastUpdated" => ts(rq.last_updated),
        "requestedFor" | "requestedFor.externalId" => s.users[rq.requested_for].id.clone(),
        "requestedBy" | "requestedBy.externalId" => principal_id(s, &rq.requested_by),
        "resourceId" | "requested.resourceId" => s.apps[c.app].id.clone(),
        "resourceType" | "requested.resourceType" => "APPLICATION".into(),
        "accessScopeId" | "requested.accessScopeId" => match c.scope {
            Scope::Group(g) => s.groups[g].id.clone(),
            Scope::App => s.apps[c.app].id.clone(),
        },
        "accessScopeType" | "requested.accessScopeType" => match c.scope {
            Scope::Group(_) => "GROUP".into(),
            Scope::App => "APPLICATION".into(),
        },
        "entryId" | "requested.entryId" => s.entries[rq.entry].id.clone(),
        "grantStatus" => rq.grant_status?.to_string(),
        _ => return None,
    })
}

/// `GET /governance/api/v2/requests`.
pub async fn list_requests(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let limit = match p.get("limit") {
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "E0000029", "Invalid paging request")
                    .governance_cause("The `limit` parameter isn't valid.", "limit", "INVALID_DATA_TYPE"));
            }
        },
        None => 20,
    };
    let expr = match p.get("filter").filter(|f| !f.is_empty()) {
        Some(f) => Some(filter::parse(f).map_err(|e| {
            ApiError::validation("filter").governance_cause(&format!("Invalid filter: {e}"), "filter", "INVALID_FILTER")
        })?),
        None => None,
    };
    let mut order: Vec<usize> = (0..s.requests.len()).collect();
    if let Some(ob) = p.get("orderBy").filter(|o| !o.is_empty()) {
        let mut parts = ob.split_whitespace();
        let field = parts.next().unwrap_or("");
        let dir = parts.next().unwrap_or("asc");
        if !matches!(field, "created" | "lastUpdated" | "id") || !matches!(dir, "asc" | "desc") {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "E0000029", "Invalid paging request").governance_cause(
                "Invalid `orderBy` syntax",
                "orderBy",
                "INVALID_DATA_TYPE",
            ));
        }
        order.sort_by(|a, b| {
            let (x, y) = (&s.requests[*a], &s.requests[*b]);
            let o = match field {
                "created" => x.created.cmp(&y.created),
                "lastUpdated" => x.last_updated.cmp(&y.last_updated),
                _ => std::cmp::Ordering::Equal,
            };
            o.then(x.id.cmp(&y.id))
        });
        if dir == "desc" {
            order.reverse();
        }
    }
    let start = match p.get("after") {
        Some("") => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "E0000029", "Invalid paging request").governance_cause(
                "Empty value found for query parameter 'after'",
                "after",
                "EMPTY_PARAMETER",
            ));
        }
        Some(a) => order.iter().position(|r| s.requests[*r].id == a).map(|i| i + 1).ok_or_else(ApiError::bad_paging)?,
        None => 0,
    };
    let mut page = Vec::new();
    for r in &order[start..] {
        if let Some(e) = &expr
            && !e.eval(&|a| request_attr(&s, *r, a), false)
        {
            continue;
        }
        page.push(*r);
        if page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let path = "/governance/api/v2/requests";
    let data = page.iter().map(|r| request_json(&s, *r, base)).collect();
    let self_href = format!("{base}{path}?{}", p.link_query(limit, p.get("after")));
    let next =
        more.then(|| format!("{base}{path}?{}", p.link_query(limit, page.last().map(|r| s.requests[*r].id.as_str()))));
    Ok(envelope(data, self_href, next))
}

/// `GET /governance/api/v2/requests/{requestId}`.
pub async fn get_request(State(shared): State<Arc<Shared>>, Path(rid): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let r = s.request_by_id.get(&rid).copied().ok_or_else(|| ApiError::not_found(&rid, "AccessRequest"))?;
    Ok(json_response(StatusCode::OK, &request_json(&s, r, shared.base_url())))
}

/// `POST /governance/api/v2/requests` → 202 `SUBMITTED`.
pub async fn create_request(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    let req: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "E0000003", "The request body was not well-formed."))?;
    let entry_id = req.pointer("/requested/entryId").and_then(Value::as_str);
    let for_id = req.pointer("/requestedFor/externalId").and_then(Value::as_str);
    let (Some(entry_id), Some(for_id)) = (entry_id, for_id) else {
        let mut e = ApiError::validation("request");
        if entry_id.is_none() {
            e = e.governance_cause(
                "must have required property 'entryId'",
                "/requested/entryId",
                "REQUIRED_PROPERTY_MISSING",
            );
        }
        if for_id.is_none() {
            e = e.governance_cause(
                "must have required property 'externalId'",
                "/requestedFor/externalId",
                "REQUIRED_PROPERTY_MISSING",
            );
        }
        return Err(e);
    };
    let now_ms = shared.okta.now_ms();
    let now = now_ms / 1000;
    let delay = shared.okta.settings().decision_delay;
    let mut s = shared.okta.state();
    let Some(entry) = s.entries.iter().position(|e| e.id == entry_id && e.requestable) else {
        return Err(ApiError::validation("requested.entryId").governance_cause(
            &format!("No requestable catalog entry {entry_id}"),
            "/requested/entryId",
            "IDENTIFIER_NOT_FOUND",
        ));
    };
    let Some(for_user) = s.idx.user_by_id.get(for_id).copied() else {
        return Err(ApiError::validation("requestedFor.externalId").governance_cause(
            &format!("No user {for_id}"),
            "/requestedFor/externalId",
            "IDENTIFIER_NOT_FOUND",
        ));
    };
    let requested_by = match req.pointer("/requestedBy/externalId").and_then(Value::as_str) {
        Some(id) => match s.idx.user_by_id.get(id) {
            Some(u) => Principal::User(*u),
            None => {
                return Err(ApiError::validation("requestedBy.externalId").governance_cause(
                    &format!("No user {id}"),
                    "/requestedBy/externalId",
                    "IDENTIFIER_NOT_FOUND",
                ));
            }
        },
        None => match &ctx.caller {
            Caller::Token { user } => Principal::User(*user),
            Caller::Service { .. } => Principal::Service(SERVICE_PRINCIPAL.to_string()),
        },
    };
    let Some(cond) = condition_for(&s.conditions, &s.idx, entry, for_user) else {
        return Err(ApiError::validation("requestedFor").governance_cause(
            "The user is not allowed to request this entry",
            "/requestedFor/externalId",
            "REQUEST_TYPE_SETTINGS",
        ));
    };
    if let Principal::User(by) = requested_by
        && by != for_user
        && s.on_behalf_only_reports[s.conditions[cond].app]
        && s.managers[for_user] != Some(by)
    {
        return Err(ApiError::validation("requestedBy").governance_cause(
            "Requests on behalf of others are only allowed for direct reports for this resource",
            "/requestedBy/externalId",
            "REQUEST_TYPE_SETTINGS",
        ));
    }
    let justification = req
        .get("requesterFieldValues")
        .and_then(Value::as_array)
        .and_then(|v| v.iter().find(|f| f.get("id").and_then(Value::as_str) == Some(JUSTIFICATION_FIELD)))
        .and_then(|f| f.get("value").and_then(Value::as_str))
        .map(String::from);
    let seq = s.requests.len() as u64;
    let id = okta_id("req", 1_000_000 + seq, &mut s.rng);
    let external = hex24(&mut s.rng);
    s.requests.push(Request {
        id: id.clone(),
        created: now,
        created_by: requested_by.clone(),
        last_updated: now,
        status: ReqStatus::Submitted,
        requested_by,
        requested_for: for_user,
        entry,
        condition: cond,
        justification,
        resolved: None,
        grant_status: None,
        granted: None,
        revocation_status: None,
        revoked: None,
        revocation_scheduled: None,
        decisions: Vec::new(),
        permalink_id: seq + 1,
        external_request_id: external,
        decide_at: Some(now + delay.as_secs() as i64),
    });
    let r = s.requests.len() - 1;
    s.request_by_id.insert(id.clone(), r);
    let actor = super::users::caller_actor(&s, &ctx);
    let targets = vec![request_target(&s, r), s.user_target(for_user)];
    s.log(
        now_ms,
        "access.request.create",
        "Access request created",
        actor,
        targets,
        "SUCCESS",
        None,
        &ctx.request_id,
        Some(ctx.uri.clone()),
    );
    s.recompute_due();
    Ok(json_response(StatusCode::ACCEPTED, &request_json(&s, r, shared.base_url())))
}

fn request_target(s: &OktaState, r: usize) -> Target {
    let rq = &s.requests[r];
    Target {
        id: rq.id.clone(),
        kind: "AccessRequest",
        alternate_id: rq.id.clone(),
        display_name: s.entries[rq.entry].name.clone(),
    }
}

fn oar_actor() -> Actor {
    Actor {
        id: "0oaoktaaccessrequest".into(),
        kind: "PublicClientApp",
        alternate_id: "Okta Access Requests".into(),
        display_name: "Okta Access Requests".into(),
    }
}

/// Moves requests along: SUBMITTED → PENDING at once; decisions when due; fulfilment on approval;
/// revocation when a time-bound grant's schedule passes.
pub fn process_due(s: &mut OktaState, now: Secs, delay: Duration) {
    for r in 0..s.requests.len() {
        let status = s.requests[r].status;
        if status == ReqStatus::Submitted && s.requests[r].created <= now {
            let rq = &mut s.requests[r];
            rq.status = ReqStatus::Pending;
            rq.last_updated = now.max(rq.created);
            if rq.decide_at.is_none() {
                rq.decide_at = Some(rq.created + delay.as_secs() as i64);
            }
        }
        if s.requests[r].status == ReqStatus::Pending && s.requests[r].decide_at.is_some_and(|d| d <= now) {
            decide(s, r);
        }
        let rq = &s.requests[r];
        if rq.status == ReqStatus::Approved
            && rq.revocation_status.is_none()
            && let Some(at) = rq.revocation_scheduled.filter(|at| *at <= now)
        {
            revoke(s, r, at);
        }
    }
}

fn new_request_id(s: &mut OktaState) -> String {
    format!("{:032x}", s.rng.random::<u128>())
}

fn decide(s: &mut OktaState, r: usize) {
    let at = s.requests[r].decide_at.unwrap_or(s.requests[r].created);
    let cond = s.requests[r].condition;
    let who = s.requests[r].requested_for;
    let c = s.conditions[cond].clone();
    let managers = s.managers.clone();
    let deciders = approvers(&s.sequences[c.sequence], &c, &s.groups, &s.apps, &s.idx, |u| managers[u], who);
    let approve = c.decision == Decision::Approve;
    let decisions: Vec<DecisionRec> = if approve {
        deciders
            .iter()
            .enumerate()
            .map(|(k, u)| DecisionRec { user: *u, approved: true, decided_ms: at * 1000 + k as i64 })
            .collect()
    } else {
        deciders.iter().take(1).map(|u| DecisionRec { user: *u, approved: false, decided_ms: at * 1000 }).collect()
    };
    let last = decisions.last().map(|d| d.user).unwrap_or(who);
    {
        let rq = &mut s.requests[r];
        rq.decisions = decisions;
        rq.status = if approve { ReqStatus::Approved } else { ReqStatus::Denied };
        rq.resolved = Some(at);
        rq.last_updated = at;
    }
    let rid = new_request_id(s);
    let targets = vec![request_target(s, r), s.user_target(who)];
    let actor = s.user_actor(last);
    let reason = if approve { "APPROVED" } else { "DENIED" };
    s.log(
        at * 1000,
        "access.request.resolve",
        "Access request resolved",
        actor,
        targets,
        "SUCCESS",
        Some(reason.into()),
        &rid,
        None,
    );
    if !approve {
        return;
    }
    // Fulfilment in Okta.
    let rid = new_request_id(s);
    match c.scope {
        Scope::Group(g) => {
            if s.add_member(g, who, at) {
                let targets = vec![s.user_target(who), s.group_target(g)];
                s.log(
                    at * 1000 + 500,
                    "group.user_membership.add",
                    "Add user to group membership",
                    oar_actor(),
                    targets,
                    "SUCCESS",
                    None,
                    &rid,
                    None,
                );
            }
        }
        Scope::App => {
            if s.assign_app(c.app, who, at) {
                let targets = vec![s.user_target(who), s.app_target(c.app)];
                s.log(
                    at * 1000 + 500,
                    "application.user_membership.add",
                    "Add user to application membership",
                    oar_actor(),
                    targets,
                    "SUCCESS",
                    None,
                    &rid,
                    None,
                );
            }
        }
    }
    let rq = &mut s.requests[r];
    rq.grant_status = Some("GRANTED");
    rq.granted = Some(at);
    rq.revocation_scheduled = c.duration.and_then(iso_duration_secs).map(|d| at + d);
}

fn revoke(s: &mut OktaState, r: usize, at: Secs) {
    let cond = s.requests[r].condition;
    let who = s.requests[r].requested_for;
    let c = s.conditions[cond].clone();
    let rid = new_request_id(s);
    match c.scope {
        Scope::Group(g) => {
            if s.remove_member(g, who, at) {
                let targets = vec![s.user_target(who), s.group_target(g)];
                s.log(
                    at * 1000,
                    "group.user_membership.remove",
                    "Remove user from group membership",
                    oar_actor(),
                    targets,
                    "SUCCESS",
                    None,
                    &rid,
                    None,
                );
            }
        }
        Scope::App => {
            if s.apps[c.app].direct.remove(&who).is_some() {
                let targets = vec![s.user_target(who), s.app_target(c.app)];
                s.log(
                    at * 1000,
                    "application.user_membership.remove",
                    "Remove user from application membership",
                    oar_actor(),
                    targets,
                    "SUCCESS",
                    None,
                    &rid,
                    None,
                );
            }
        }
    }
    let rq = &mut s.requests[r];
    rq.revocation_status = Some("REVOKED");
    rq.revoked = Some(at);
    rq.last_updated = at;
}

fn condition_json(s: &OktaState, c: usize, base: &str) -> Value {
    let co = &s.conditions[c];
    let app = &s.apps[co.app];
    let requesters = match &co.requesters {
        Requesters::Everyone => json!({ "type": "EVERYONE" }),
        Requesters::Groups(gs) => {
            json!({ "type": "GROUPS", "groups": gs.iter().map(|g| json!({ "id": s.groups[*g].id })).collect::<Vec<_>>() })
        }
    };
    let scope = match co.scope {
        Scope::Group(g) => json!({ "type": "GROUPS", "groups": [{ "id": s.groups[g].id }] }),
        Scope::App => json!({ "type": "RESOURCE_DEFAULT" }),
    };
    let mut v = json!({
        "id": co.id,
        "name": co.name,
        "description": co.description,
        "priority": co.priority,
        "status": "ACTIVE",
        "requesterSettings": requesters,
        "accessScopeSettings": scope,
        "approvalSequenceId": s.sequences[co.sequence].id,
        "created": ts(co.created),
        "createdBy": s.users[super::super::world::Persona::Alex.index()].id,
        "lastUpdated": ts(co.created),
        "lastUpdatedBy": s.users[super::super::world::Persona::Alex.index()].id,
        "_links": { "self": { "href": format!("{base}/governance/api/v2/resources/{}/request-conditions/{}", app.id, co.id) } },
    });
    if let Some(d) = co.duration {
        v["accessDurationSettings"] = json!({ "type": "ADMIN_FIXED_DURATION", "duration": d });
    }
    v
}

fn resource(s: &OktaState, id: &str) -> Result<usize, ApiError> {
    let id = id.rsplit(':').next().unwrap_or(id);
    s.idx.app_by_id.get(id).copied().ok_or_else(|| ApiError::not_found(id, "Resource"))
}

/// `GET /governance/api/v2/resources/{resourceId}/request-conditions`.
pub async fn list_conditions(State(shared): State<Arc<Shared>>, Path(res): Path<String>) -> ApiResult {
    let base = shared.base_url();
    let s = shared.okta.state();
    let a = resource(&s, &res)?;
    let data: Vec<Value> =
        (0..s.conditions.len()).filter(|c| s.conditions[*c].app == a).map(|c| condition_json(&s, c, base)).collect();
    let href = format!("{base}/governance/api/v2/resources/{}/request-conditions", s.apps[a].id);
    Ok(envelope(data, href, None))
}

/// `GET /governance/api/v2/resources/{resourceId}/request-conditions/{id}`.
pub async fn get_condition(State(shared): State<Arc<Shared>>, Path((res, cid)): Path<(String, String)>) -> ApiResult {
    let s = shared.okta.state();
    let a = resource(&s, &res)?;
    let c = (0..s.conditions.len())
        .find(|c| s.conditions[*c].app == a && s.conditions[*c].id == cid)
        .ok_or_else(|| ApiError::not_found(&cid, "RequestCondition"))?;
    Ok(json_response(StatusCode::OK, &condition_json(&s, c, shared.base_url())))
}

/// `GET /governance/api/v2/resources/{resourceId}/request-settings`.
pub async fn resource_settings(State(shared): State<Arc<Shared>>, Path(res): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let a = resource(&s, &res)?;
    let only_reports = s.on_behalf_only_reports[a];
    let v = json!({
        "validAccessScopeSettings": [{ "type": "RESOURCE_DEFAULT" }, { "type": "GROUPS" }],
        "validRequesterSettings": [{ "type": "EVERYONE" }, { "type": "GROUPS" }],
        "validAccessDurationSettings": {
            "required": false, "maximumDays": 365, "maximumHours": 72, "maximumWeeks": 52,
            "supportedTypes": [{ "type": "ADMIN_FIXED_DURATION" }, { "type": "REQUESTER_SPECIFIED_DURATION" }]
        },
        "validRiskSettings": { "supportedTypes": [] },
        "validRequestOnBehalfOfSettings": [{ "type": "EVERYONE" }, { "type": "DIRECT_REPORT" }],
        "requestOnBehalfOfSettings": if only_reports { json!({ "allowed": true, "onlyFor": ["DIRECT_REPORT"] }) } else { json!({ "allowed": true }) },
    });
    Ok(json_response(StatusCode::OK, &v))
}

/// `GET /governance/api/v2/resources/{resourceId}/request-sequences`.
pub async fn list_sequences(State(shared): State<Arc<Shared>>, Path(res): Path<String>) -> ApiResult {
    let base = shared.base_url();
    let s = shared.okta.state();
    let a = resource(&s, &res)?;
    let mut used: Vec<usize> = s.conditions.iter().filter(|c| c.app == a).map(|c| c.sequence).collect();
    used.sort_unstable();
    used.dedup();
    let data = used
        .iter()
        .map(|q| {
            let sq = &s.sequences[*q];
            json!({
                "id": sq.id, "name": sq.name, "description": sq.description,
                "compatibleResourceTypes": ["APP", "GROUP"],
                "link": format!("{base}/next/sequences/{}", sq.id),
            })
        })
        .collect();
    let href = format!("{base}/governance/api/v2/resources/{}/request-sequences", s.apps[a].id);
    Ok(envelope(data, href, None))
}

/// `GET /governance/api/v2/request-settings`: the org's settings, as recorded.
pub async fn org_settings() -> ApiResult {
    Ok(json_response(
        StatusCode::OK,
        &json!({ "subprocessorsAcknowledged": true, "provisioningStatus": "PROVISIONED", "requestExperiences": ["CATALOG", "ADMIN_ROLES"], "longTimePastProvisioned": false }),
    ))
}

/// An approval task, derived from a request's approval steps: OPEN for the approver whose
/// decision is awaited, COMPLETED with the decision once given.
struct TaskView {
    id: String,
    request: usize,
    assignee: usize,
    status: &'static str,
    created: Secs,
    updated: Secs,
    value: Option<&'static str>,
}

fn task_id(request_id: &str, step: usize) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(format!("{request_id}:{step}").as_bytes());
    hex::encode(&d[..12])
}

fn tasks(s: &OktaState) -> Vec<TaskView> {
    let mut out = Vec::new();
    for (r, rq) in s.requests.iter().enumerate() {
        match rq.status {
            ReqStatus::Submitted | ReqStatus::Pending => {
                // Steps already decided, then the one waiting.
                for (k, d) in rq.decisions.iter().enumerate() {
                    out.push(TaskView {
                        id: task_id(&rq.id, k),
                        request: r,
                        assignee: d.user,
                        status: "COMPLETED",
                        created: rq.created,
                        updated: d.decided_ms / 1000,
                        value: Some(if d.approved { "APPROVED" } else { "DENIED" }),
                    });
                }
                let c = &s.conditions[rq.condition];
                let first = approvers(
                    &s.sequences[c.sequence],
                    c,
                    &s.groups,
                    &s.apps,
                    &s.idx,
                    |u| s.managers[u],
                    rq.requested_for,
                );
                let step = rq.decisions.len();
                let opened = rq.decisions.last().map_or(rq.created, |d| d.decided_ms / 1000);
                if let Some(a) = first.get(step) {
                    out.push(TaskView {
                        id: task_id(&rq.id, step),
                        request: r,
                        assignee: *a,
                        status: "OPEN",
                        created: opened,
                        updated: opened,
                        value: None,
                    });
                }
            }
            _ => {
                for (k, d) in rq.decisions.iter().enumerate() {
                    out.push(TaskView {
                        id: task_id(&rq.id, k),
                        request: r,
                        assignee: d.user,
                        status: "COMPLETED",
                        created: rq.created,
                        updated: d.decided_ms / 1000,
                        value: Some(if d.approved { "APPROVED" } else { "DENIED" }),
                    });
                }
            }
        }
    }
    out
}

fn task_json(s: &OktaState, t: &TaskView) -> Value {
    let rq = &s.requests[t.request];
    let assignee = json!({ "externalId": s.users[t.assignee].id, "type": "OKTA_USER" });
    let mut v = json!({
        "id": t.id,
        "assignees": [assignee],
        "status": t.status,
        "label": format!("Approve access to {} for {} {}", s.entries[rq.entry].name, s.users[rq.requested_for].profile.first_name, s.users[rq.requested_for].profile.last_name),
        "requestId": rq.id,
        "createdAt": ts(t.created),
        "updatedAt": ts(t.updated),
        "type": "APPROVAL",
    });
    if let Some(value) = t.value {
        v["value"] = json!(value);
        v["completedBy"] = assignee;
    }
    v
}

fn task_attr(s: &OktaState, t: &TaskView, a: &str) -> Option<String> {
    Some(match a {
        "id" => t.id.clone(),
        "status" => t.status.to_string(),
        "type" => "APPROVAL".into(),
        "assigneeId" => s.users[t.assignee].id.clone(),
        "requestId" => s.requests[t.request].id.clone(),
        "createdAt" => ts(t.created),
        "updatedAt" => ts(t.updated),
        _ => return None,
    })
}

/// `GET /governance/api/v2/tasks` (read-only: the seeded approvers resolve tasks themselves).
pub async fn list_tasks(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let base = shared.base_url();
    let s = shared.okta.state();
    let limit = p.limit(20, 1, 200)?;
    let expr = match p.get("filter").filter(|f| !f.is_empty()) {
        Some(f) => Some(filter::parse(f).map_err(|e| {
            ApiError::validation("filter").governance_cause(&format!("Invalid filter: {e}"), "filter", "INVALID_FILTER")
        })?),
        None => None,
    };
    let mut all = tasks(&s);
    if let Some(ob) = p.get("orderBy").filter(|o| !o.is_empty()) {
        let mut parts = ob.split_whitespace();
        let (field, dir) = (parts.next().unwrap_or(""), parts.next().unwrap_or("asc"));
        if !matches!(field, "createdAt" | "updatedAt") || !matches!(dir, "asc" | "desc") {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "E0000029", "Invalid paging request").governance_cause(
                "Invalid `orderBy` syntax",
                "orderBy",
                "INVALID_DATA_TYPE",
            ));
        }
        all.sort_by_key(|t| if field == "createdAt" { t.created } else { t.updated });
        if dir == "desc" {
            all.reverse();
        }
    }
    let start = match p.get("after").filter(|a| !a.is_empty()) {
        Some(a) => all.iter().position(|t| t.id == a).map(|i| i + 1).ok_or_else(ApiError::bad_paging)?,
        None => 0,
    };
    let mut page = Vec::new();
    for t in &all[start..] {
        if let Some(e) = &expr
            && !e.eval(&|a| task_attr(&s, t, a), false)
        {
            continue;
        }
        page.push(t);
        if page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    let path = "/governance/api/v2/tasks";
    let data = page.iter().map(|t| task_json(&s, t)).collect();
    let self_href = format!("{base}{path}?{}", p.link_query(limit, p.get("after")));
    let next = more.then(|| format!("{base}{path}?{}", p.link_query(limit, page.last().map(|t| t.id.as_str()))));
    Ok(envelope(data, self_href, next))
}

/// `GET /governance/api/v2/tasks/{taskId}`.
pub async fn get_task(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> ApiResult {
    let s = shared.okta.state();
    let all = tasks(&s);
    let t = all.iter().find(|t| t.id == tid).ok_or_else(|| ApiError::not_found(&tid, "Task"))?;
    Ok(json_response(StatusCode::OK, &task_json(&s, t)))
}
