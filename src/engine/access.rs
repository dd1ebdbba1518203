//! Access requests: raising them from a ticket, deciding them under the approval policy, and
//! fulfilling them through the routes — each step a command in the outbox, applied exactly once.
//!
//! The request lives in the store ([`crate::store::Store::change_access_request`] makes every
//! change a compare-and-set with its audit event). Decisions are checked twice: before a command
//! is written (so a refusal is immediate, audited, exit code 3) and again when it is applied,
//! inside the store's transaction (so two consoles deciding at once cannot both win — the second
//! is told who did).

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

use super::command::Command;
use super::directory::{Snapshot, group_by_name};
use super::{Applied, ApplyError, Engine, EngineError, Finished};
use crate::domain::audit::{AuditEvent, Outcome, action};
use crate::domain::catalog::{CatalogEntry, Route, Target, resolve_approvers};
use crate::domain::request::{AccessRequest, DecisionOutcome, RaiseError, Refusal, RequestStatus, Verdict};
use crate::okta::LogQuery;
use crate::store::{Command as OutboxCommand, RequestFilter};

/// What the operator asks for.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Catalog entry name, or the group/app name it grants.
    pub entry: String,
    /// For whom (Okta login); the ticket's caller when `None`.
    pub requested_for: Option<String>,
    /// The ticket it is raised from.
    pub ticket: Option<String>,
    /// Why.
    pub justification: String,
    /// How long (`None`: the entry's maximum, or permanent).
    pub duration: Option<Duration>,
}

/// What raising would do, shown before it is done.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The entry.
    pub entry: CatalogEntry,
    /// For whom.
    pub requested_for: String,
    /// Who would be asked, per step (logins).
    pub approvers: Vec<Vec<String>>,
    /// What approval would grant: the group's apps, or the app.
    pub grants: Vec<String>,
    /// The ticket (number), if any.
    pub ticket: Option<String>,
}

/// The idempotency keys of the route work of request `id` at `version`, as
/// [`Engine::queue_route_work`] writes them: `snrec:` (ServiceNow record of that version), `oig:`,
/// `fulfil:` and `revoke:`.
pub(crate) fn route_keys(id: &str, version: i64) -> [String; 4] {
    [format!("snrec:{id}:{version}"), format!("oig:{id}"), format!("fulfil:{id}"), format!("revoke:{id}")]
}

/// A fresh request id: `AR-` and eight characters, short enough to type.
pub fn new_request_id() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("AR-{}", &u[..8])
}

fn refused(e: impl std::fmt::Display) -> EngineError {
    EngineError::Refused(e.to_string())
}

fn lower(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

impl Engine {
    /// The catalog entry named `name` (or granting the group/app `name`).
    pub fn catalog_entry(&self, name: &str) -> Result<&CatalogEntry, EngineError> {
        let c = self.catalog();
        c.entry(name)
            .or_else(|| c.entry_for(&Target::Group(name.to_string())))
            .or_else(|| c.entries.iter().find(|e| matches!(&e.target, Target::App(a) if a.eq_ignore_ascii_case(name))))
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "`{name}` is not in the access catalog; `grantdesk catalog` lists what can be requested"
                ))
            })
    }

    /// The person a ticket is for (its caller's Okta login).
    async fn caller_of(&self, ticket: &str) -> Result<String, EngineError> {
        let sn = self.servicenow()?;
        let t = sn
            .ticket_by_number(ticket)
            .await
            .map_err(|e| EngineError::Remote(e.to_string()))?
            .ok_or_else(|| EngineError::Remote(format!("{ticket} does not exist in ServiceNow")))?;
        if t.caller_email.is_empty() {
            return Err(EngineError::Remote(format!(
                "{ticket} has no caller email; say who the access is for with --for"
            )));
        }
        Ok(lower(&t.caller_email))
    }

    /// Who a request is for: the login given, or the ticket's caller.
    async fn requested_for_of(&self, req: &NewRequest) -> Result<String, EngineError> {
        match (&req.requested_for, &req.ticket) {
            (Some(f), _) => Ok(lower(f)),
            (None, Some(t)) => self.caller_of(t).await,
            (None, None) => {
                Err(EngineError::Refused("say who the access is for (--for LOGIN) or give --ticket".into()))
            }
        }
    }

    /// What raising `req` would do: who would be asked and what it would grant.
    pub async fn preview_request(&self, req: &NewRequest) -> Result<(Preview, Snapshot), EngineError> {
        let entry = self.catalog_entry(&req.entry)?.clone();
        let requested_for = self.requested_for_of(req).await?;
        let snap = self.snapshot_for(&entry, &requested_for, &self.operator().login.to_ascii_lowercase()).await?;
        if !crate::domain::catalog::Directory::user_exists(&snap, &requested_for) {
            return Err(EngineError::Remote(format!("{requested_for} is not an Okta user")));
        }
        let approvers = resolve_approvers(&entry, &requested_for, &snap);
        let grants = match &entry.target {
            Target::Group(g) => match snap.group(g) {
                Some(group) => {
                    let apps: Vec<crate::domain::App> = self
                        .okta()?
                        .group_apps(&group.id)
                        .try_collect()
                        .await
                        .map_err(|e| EngineError::Remote(e.to_string()))?;
                    let mut v: Vec<String> = vec![format!("membership of {g}")];
                    v.extend(apps.into_iter().map(|a| format!("app {}", a.label)));
                    v
                }
                None => vec![format!("membership of {g}")],
            },
            Target::App(a) => vec![format!("app {a}")],
        };
        Ok((Preview { entry, requested_for, approvers, grants, ticket: req.ticket.clone() }, snap))
    }

    /// Raises a request: checks the policy (who may request it, justification, duration),
    /// resolves the approvers, stores it with its audit event, and queues the route work
    /// (ServiceNow record, OIG request). Returns the request.
    pub async fn raise_request(&self, req: &NewRequest) -> Result<AccessRequest, EngineError> {
        let (preview, snap) = self.preview_request(req).await?;
        self.raise_with(req, &preview.entry, &preview.requested_for, &snap).await
    }

    /// Raises many requests, each like [`Engine::raise_request`], with one directory snapshot
    /// grown from request to request: the approvers, groups and managers they share are fetched
    /// from Okta once, not once per request. One result per request, in order.
    pub async fn raise_requests(
        &self,
        reqs: &[NewRequest],
    ) -> Result<Vec<Result<AccessRequest, EngineError>>, EngineError> {
        let me = self.operator().login.to_ascii_lowercase();
        let mut builder = super::directory::Builder::new(self.okta()?);
        let mut out = Vec::with_capacity(reqs.len());
        for req in reqs {
            let one = async {
                let entry = self.catalog_entry(&req.entry)?.clone();
                let requested_for = self.requested_for_of(req).await?;
                builder.for_request(&entry, &requested_for, &me).await?;
                let snap = builder.snapshot();
                if !crate::domain::catalog::Directory::user_exists(snap, &requested_for) {
                    return Err(EngineError::Remote(format!("{requested_for} is not an Okta user")));
                }
                self.raise_with(req, &entry, &requested_for, snap).await
            };
            out.push(one.await);
        }
        Ok(out)
    }

    /// Raises `req` for `requested_for` under the policy, with the directory in `snap`.
    async fn raise_with(
        &self,
        req: &NewRequest,
        entry: &CatalogEntry,
        requested_for: &str,
        snap: &Snapshot,
    ) -> Result<AccessRequest, EngineError> {
        let me = self.operator().clone();
        let mut event = AuditEvent::new(me.user_name.clone(), action::ACCESS_REQUEST_CREATE, Outcome::Success);
        event.subject = requested_for.to_string();
        event.object = entry.target.name().to_string();
        event.ticket = req.ticket.clone().unwrap_or_default();
        if self.read_only() {
            event.outcome = Outcome::Refused;
            event.details = json!({"reason": "read-only mode", "entry": entry.name});
            self.store().append_audit(&event).await?;
            return Err(refused("read-only mode: cannot raise access requests"));
        }
        let id = new_request_id();
        let raised = AccessRequest::raise(
            id.clone(),
            entry,
            requested_for,
            &me.login.to_ascii_lowercase(),
            req.ticket.clone(),
            &req.justification,
            req.duration,
            Utc::now(),
            snap,
        );
        let mut request = match raised {
            Ok(r) => r,
            Err(e) => {
                event.outcome = Outcome::Refused;
                event.details = json!({"reason": e.to_string(), "entry": entry.name});
                self.store().append_audit(&event).await?;
                return Err(match e {
                    RaiseError::NotRequestable { .. } | RaiseError::NoApprover { .. } => refused(e),
                    other => EngineError::Invalid(other.to_string()),
                });
            }
        };
        // The Okta ids are known now; fulfilment then needs no lookup.
        request.external.okta_user_id = snap.user_id(requested_for).map(str::to_string);
        request.external.okta_target_id = match &entry.target {
            Target::Group(g) => snap.group(g).map(|g| g.id.clone()),
            Target::App(a) => snap.app(a).map(|a| a.id.clone()),
        };
        event.details = json!({
            "access_request": request.id,
            "entry": request.entry,
            "target_kind": request.target.kind(),
            "justification": request.justification,
            "duration": request.duration.map(crate::domain::request::human_duration),
            "route": request.routes.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "approvers": request.steps.iter().map(|s| s.approvers.clone()).collect::<Vec<_>>(),
        });
        self.store().insert_access_request(&request, &event).await?;
        self.queue_route_work(&request, 1).await?;
        Ok(request)
    }

    /// Queues what the routes must do after a change of `request` (its `version`-th): mirror it
    /// in ServiceNow, raise it in OIG, fulfil it in Okta. Keys make each of these idempotent.
    async fn queue_route_work(&self, request: &AccessRequest, version: i64) -> Result<(), EngineError> {
        let id = request.id.clone();
        if request.routes.contains(&Route::ServiceNow) {
            self.submit(&Command::RecordInServiceNow { request_id: id.clone() }, Some(format!("snrec:{id}:{version}")))
                .await?;
        }
        if request.routes.contains(&Route::Oig) && request.external.oig_request_id.is_none() {
            self.submit(&Command::RaiseInOig { request_id: id.clone() }, Some(format!("oig:{id}"))).await?;
        }
        if request.status == RequestStatus::Approved && request.routes.contains(&Route::Okta) {
            self.submit(&Command::Fulfil { request_id: id.clone() }, Some(format!("fulfil:{id}"))).await?;
        }
        Ok(())
    }

    /// The decision key: one decision per approver per step.
    fn decision_key(request: &AccessRequest, approver: &str) -> String {
        format!("decide:{}:{}:{}", request.id, approver, request.current_step)
    }

    /// Checks the policy for the operator deciding `id`, and queues the decision. A refusal is
    /// audited and returned as [`EngineError::Refused`] (exit code 3).
    pub async fn submit_decision(
        &self,
        id: &str,
        verdict: Verdict,
        comment: &str,
        batch: Option<String>,
    ) -> Result<OutboxCommand, EngineError> {
        let stored =
            self.store().access_request(id).await?.ok_or_else(|| {
                EngineError::Invalid(format!("no access request {id}; `grantdesk requests` lists them"))
            })?;
        let r = stored.request;
        let me = self.operator().login.to_ascii_lowercase();
        let command = Command::Decide {
            request_id: id.to_string(),
            verdict,
            comment: comment.to_string(),
            batch,
            approver: Some(me.clone()),
        };
        let check = if self.read_only() {
            Err("read-only mode".to_string())
        } else if !r.runs_own_sequence() {
            Err(format!("{id} is approved in Okta Identity Governance, not in grantdesk"))
        } else {
            r.check(&me).map_err(|e| e.to_string())
        };
        if let Err(reason) = check {
            let mut e = self.intent(&command).await;
            e.outcome = Outcome::Refused;
            e.details["reason"] = Value::String(reason.clone());
            self.store().append_audit(&e).await?;
            return Err(EngineError::Refused(format!("cannot decide {id}: {reason}")));
        }
        self.submit(&command, Some(Self::decision_key(&r, &me))).await
    }

    /// Decides `id` now (the CLI's path): policy check, outbox, apply, outcome.
    pub async fn decide(
        &self,
        id: &str,
        verdict: Verdict,
        comment: &str,
        batch: Option<String>,
    ) -> Result<Finished, EngineError> {
        let queued = self.submit_decision(id, verdict, comment, batch).await?;
        self.run_queued(queued).await
    }

    /// Requests the operator may decide now, oldest first.
    pub async fn my_inbox(&self) -> Result<Vec<AccessRequest>, EngineError> {
        let me = self.operator().login.to_ascii_lowercase();
        let pending = self
            .store()
            .access_requests(&RequestFilter { statuses: vec![RequestStatus::Pending], ..Default::default() })
            .await?;
        let mut mine: Vec<AccessRequest> =
            pending.into_iter().filter(|r| r.runs_own_sequence() && r.check(&me).is_ok()).collect();
        mine.sort_by_key(|r| r.created_at);
        Ok(mine)
    }

    /// Time passing: step timeouts (escalate or expire) and grants reaching their expiry (queued
    /// for removal). Returns how many requests changed or were queued.
    pub async fn tick_requests(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let mut n = 0;
        for r in self.store().grants_expiring_before(now).await? {
            if r.routes.contains(&Route::Okta) {
                self.submit(
                    &Command::Revoke { request_id: r.id.clone(), reason: "expired".into() },
                    Some(format!("revoke:{}", r.id)),
                )
                .await?;
                n += 1;
            }
        }
        let pending = self
            .store()
            .access_requests(&RequestFilter { statuses: vec![RequestStatus::Pending], ..Default::default() })
            .await?;
        for r in pending {
            let Some(step) = r.steps.get(r.current_step) else { continue };
            let Some(timeout) = step.timeout.and_then(|t| chrono::Duration::from_std(t).ok()) else { continue };
            if !r.runs_own_sequence() || now < r.step_started_at + timeout {
                continue;
            }
            let entry = match self.catalog_entry(&r.entry) {
                Ok(e) => e.clone(),
                Err(_) => continue,
            };
            let snap = self.snapshot_for(&entry, &r.requested_for, &r.requested_by).await?;
            let operator = self.operator().user_name.clone();
            let changed = self
                .store()
                .change_access_request(&r.id, |req| {
                    let out = req.tick(now, &snap)?;
                    let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
                    e.subject = req.requested_for.clone();
                    e.object = req.target.name().to_string();
                    e.ticket = req.ticket.clone().unwrap_or_default();
                    e.details = match out {
                        crate::domain::request::TickOutcome::Escalated { step, added } => {
                            json!({"access_request": req.id, "escalated_step": step + 1, "added_approvers": added, "by": "timeout"})
                        }
                        crate::domain::request::TickOutcome::Expired { step } => {
                            json!({"access_request": req.id, "status": "expired", "expired_at_step": step + 1, "by": "timeout"})
                        }
                    };
                    Some(e)
                })
                .await?;
            if changed.written {
                n += 1;
                if changed.request.routes.contains(&Route::ServiceNow) {
                    let v = self.store().access_request(&r.id).await?.map(|s| s.version).unwrap_or(0);
                    self.queue_route_work(&changed.request, v).await?;
                }
            }
        }
        Ok(n)
    }
}

/// When the last decision was made (the request's approval), or when it was raised.
fn approved_at(r: &AccessRequest) -> DateTime<Utc> {
    r.decisions.last().map(|d| d.at).unwrap_or(r.created_at)
}

impl Engine {
    /// Finds the Okta System Log events that prove grants recorded without one (granted in the
    /// last day) — one System Log query per group or app, not one per grant — and records each
    /// on its request with an audit event. Returns how many were proved.
    pub async fn prove_grants(&self) -> Result<usize, EngineError> {
        let okta = self.okta()?;
        let cutoff = Utc::now() - chrono::Duration::days(1);
        let granted = self
            .store()
            .access_requests(&RequestFilter { statuses: vec![RequestStatus::Granted], ..Default::default() })
            .await?;
        let mut by_target: std::collections::BTreeMap<(String, &'static str), Vec<AccessRequest>> = Default::default();
        for r in granted {
            if r.external.grant_event.is_some()
                || !r.routes.contains(&Route::Okta)
                || r.granted_at.is_none_or(|g| g < cutoff)
                || r.external.okta_user_id.is_none()
            {
                continue;
            }
            let Some(target_id) = r.external.okta_target_id.clone() else { continue };
            let kind = match r.target {
                Target::Group(_) => "group.user_membership.add",
                Target::App(_) => "application.user_membership.add",
            };
            by_target.entry((target_id, kind)).or_default().push(r);
        }
        let mut proved = 0;
        for ((target_id, kind), mut reqs) in by_target {
            reqs.sort_by_key(approved_at);
            let Some(first) = reqs.first().map(approved_at) else { continue };
            let q = LogQuery::between(first - chrono::Duration::minutes(5), Utc::now() + chrono::Duration::minutes(1))
                .filter(format!("eventType eq \"{kind}\" and target.id eq \"{target_id}\""))
                .limit(1000);
            let events: Vec<crate::domain::LogEvent> =
                okta.log_events(&q).try_collect().await.map_err(|e| EngineError::Remote(e.to_string()))?;
            let mut used: std::collections::HashSet<&str> = Default::default();
            // Request id → the event proving its grant.
            let mut proofs: std::collections::HashMap<String, String> = Default::default();
            for r in &reqs {
                let user_id = r.external.okta_user_id.clone().unwrap_or_default();
                let after = approved_at(r) - chrono::Duration::minutes(5);
                let Some(e) = events.iter().find(|e| {
                    !used.contains(e.uuid.as_str()) && e.published >= after && e.targets.iter().any(|t| t.id == user_id)
                }) else {
                    continue;
                };
                used.insert(e.uuid.as_str());
                proofs.insert(r.id.clone(), e.uuid.clone());
            }
            // One transaction for the group's proofs: a bulk run's thousand grants are proved in a
            // handful of commits, not a thousand.
            let ids: Vec<&str> = reqs.iter().map(|r| r.id.as_str()).filter(|id| proofs.contains_key(*id)).collect();
            let operator = self.operator().user_name.clone();
            let changed = self
                .store()
                .change_access_requests(&ids, |req| {
                    let uuid = proofs.get(&req.id)?;
                    if req.external.grant_event.is_some() {
                        return None;
                    }
                    req.external.grant_event = Some(uuid.clone());
                    Some(update_event(
                        &operator,
                        req,
                        json!({"access_request": req.id, "okta_event": uuid, "proves": "grant"}),
                    ))
                })
                .await?;
            proved += changed.iter().filter(|c| c.written).count();
        }
        Ok(proved)
    }
}

/// Applies an access-request command.
pub async fn apply(engine: &Engine, command: &Command, claimed: &OutboxCommand) -> Result<Applied, ApplyError> {
    match command {
        Command::Decide { request_id, verdict, comment, batch, approver } => {
            let me = approver.clone().unwrap_or_else(|| engine.operator().login.to_ascii_lowercase());
            decide(engine, request_id, *verdict, comment, batch.as_deref(), &me, &claimed.operator).await
        }
        Command::Fulfil { request_id } => fulfil(engine, request_id).await,
        Command::Revoke { request_id, reason } => revoke(engine, request_id, reason).await,
        Command::RecordInServiceNow { request_id } => super::routes::servicenow::record(engine, request_id).await,
        Command::RaiseInOig { request_id } => super::routes::oig::raise(engine, request_id).await,
        _ => Err(ApplyError::Permanent(format!("{} is not an access-request command", command.kind()))),
    }
}

async fn load(engine: &Engine, id: &str) -> Result<(AccessRequest, i64), ApplyError> {
    let s = engine
        .store()
        .access_request(id)
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?
        .ok_or_else(|| ApplyError::Permanent(format!("no access request {id}")))?;
    Ok((s.request, s.version))
}

fn update_event(operator: &str, r: &AccessRequest, details: Value) -> AuditEvent {
    let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
    e.subject = r.requested_for.clone();
    e.object = r.target.name().to_string();
    e.ticket = r.ticket.clone().unwrap_or_default();
    e.details = details;
    e
}

async fn decide(
    engine: &Engine,
    id: &str,
    verdict: Verdict,
    comment: &str,
    batch: Option<&str>,
    me: &str,
    operator: &str,
) -> Result<Applied, ApplyError> {
    let now = Utc::now();
    let mut result: Option<Result<DecisionOutcome, Refusal>> = None;
    let mut already = false;
    let changed = engine
        .store()
        .change_access_request(id, |r| {
            // A retry after the decision was stored (crash before completing): already done.
            if r.decisions.iter().any(|d| d.approver == me && d.verdict == verdict && d.comment == comment) {
                already = true;
                return None;
            }
            let out = r.decide(me, verdict, comment, now);
            let details = match &out {
                Ok(o) => json!({"access_request": r.id, "decision": format!("{verdict:?}").to_lowercase(),
                                "result": format!("{o:?}"), "status": r.status.as_str(), "step": r.current_step + 1,
                                "batch": batch}),
                Err(_) => Value::Null,
            };
            let write = out.is_ok();
            result = Some(out);
            write.then(|| update_event(operator, r, details))
        })
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?;
    let request = changed.request;
    let summary = match result {
        _ if already => format!("your decision on {id} was already recorded"),
        Some(Ok(DecisionOutcome::Recorded)) => {
            format!("{id}: your approval is recorded; others of this step must approve too")
        }
        Some(Ok(DecisionOutcome::StepPassed { next, approvers })) => {
            format!("{id}: step {} approved; now waiting on {}", next, approvers.join(", "))
        }
        Some(Ok(DecisionOutcome::Approved)) => format!("{id} approved"),
        Some(Ok(DecisionOutcome::Denied)) => format!("{id} denied"),
        Some(Err(refusal)) => return Err(ApplyError::Refused(format!("cannot decide {id}: {refusal}"))),
        None => return Err(ApplyError::Permanent(format!("no decision was made on {id}"))),
    };
    let version = engine.store().access_request(id).await.ok().flatten().map(|s| s.version).unwrap_or(0);
    engine.queue_route_work(&request, version).await.map_err(ApplyError::from)?;
    Ok(Applied {
        summary,
        request_id: None,
        details: json!({"access_request": id, "comment": comment, "status": request.status.as_str(), "batch": batch}),
    })
}

/// The Okta ids of the user and the target of a request: those recorded when it was raised, or
/// looked up (requests raised before grantdesk recorded them).
async fn okta_ids(engine: &Engine, r: &AccessRequest) -> Result<(String, String), ApplyError> {
    if let (Some(u), Some(t)) = (&r.external.okta_user_id, &r.external.okta_target_id) {
        return Ok((u.clone(), t.clone()));
    }
    let okta = engine.okta()?;
    let user = okta.user(&r.requested_for).await?;
    let target = match &r.target {
        Target::Group(g) => {
            group_by_name(okta, g).await?.ok_or_else(|| ApplyError::Permanent(format!("Okta has no group {g}")))?.id
        }
        Target::App(a) => {
            let apps: Vec<crate::domain::App> = okta.apps().try_collect().await?;
            apps.into_iter()
                .find(|x| x.label.eq_ignore_ascii_case(a) || x.name.eq_ignore_ascii_case(a))
                .ok_or_else(|| ApplyError::Permanent(format!("Okta has no app {a}")))?
                .id
        }
    };
    Ok((user.id, target))
}

/// Whether the user has the target now.
async fn has_access(engine: &Engine, r: &AccessRequest, user_id: &str, target_id: &str) -> Result<bool, ApplyError> {
    let okta = engine.okta()?;
    Ok(match &r.target {
        Target::Group(_) => okta.user_groups(user_id).await?.iter().any(|g| g.id == target_id),
        Target::App(_) => {
            okta.user_app_links(user_id).await?.iter().any(|l| l.app_instance_id.as_deref() == Some(target_id))
        }
    })
}

/// The System Log event that proves a change (`*.user_membership.add/remove`) of `user_id` in
/// `target_id` at or after `since`, if Okta has logged it yet.
async fn log_proof(
    engine: &Engine,
    r: &AccessRequest,
    user_id: &str,
    target_id: &str,
    add: bool,
    since: DateTime<Utc>,
) -> Option<String> {
    let okta = engine.okta().ok()?;
    let kind = match (&r.target, add) {
        (Target::Group(_), true) => "group.user_membership.add",
        (Target::Group(_), false) => "group.user_membership.remove",
        (Target::App(_), true) => "application.user_membership.add",
        (Target::App(_), false) => "application.user_membership.remove",
    };
    let q = LogQuery::between(since - chrono::Duration::minutes(5), Utc::now() + chrono::Duration::minutes(1))
        .filter(format!("eventType eq \"{kind}\" and target.id eq \"{user_id}\""));
    let events: Vec<crate::domain::LogEvent> = okta.log_events(&q).try_collect().await.ok()?;
    events.into_iter().rev().find(|e| e.targets.iter().any(|t| t.id == target_id)).map(|e| e.uuid)
}

fn grant_details(r: &AccessRequest, target_id: &str, proof: &Option<String>, already: Option<bool>) -> Value {
    json!({
        "access_request": r.id,
        "target_kind": r.target.kind(),
        "target_id": target_id,
        "expires_at": r.expires_at.map(|t| t.to_rfc3339()),
        "approvers": r.approvers_so_far(),
        "justification": r.justification,
        "route": "okta",
        "servicenow_record": r.external.ritm,
        "okta_event": proof,
        "already": already,
    })
}

async fn fulfil(engine: &Engine, id: &str) -> Result<Applied, ApplyError> {
    let (r, _) = load(engine, id).await?;
    match r.status {
        RequestStatus::Approved => {}
        RequestStatus::Granted => {
            return Ok(Applied {
                summary: format!("{id} is already granted"),
                request_id: None,
                details: json!({"access_request": id, "already": true}),
            });
        }
        other => return Err(ApplyError::Permanent(format!("{id} is {other}, not approved: nothing to grant"))),
    }
    let (user_id, target_id) = okta_ids(engine, &r).await?;
    let approved_at = r.decisions.last().map(|d| d.at).unwrap_or(r.created_at);
    let okta = engine.okta()?;
    let already = match &r.target {
        // Adding a member is a PUT, which lands once however often it is sent (and Okta logs
        // the change once): nothing to look up first, one request per grant.
        Target::Group(_) => {
            okta.add_group_member(&target_id, &user_id).await?;
            None
        }
        // Assigning an app is a POST: look first, so a retry after a lost answer is not sent twice.
        Target::App(_) => {
            let has = has_access(engine, &r, &user_id, &target_id).await?;
            if !has {
                okta.assign_app_user(&target_id, &user_id).await?;
            }
            Some(has)
        }
    };
    // The System Log event that proves the grant: looked up now when a ServiceNow work note will
    // quote it; otherwise later and in bulk ([`Engine::prove_grants`]: one System Log query per
    // group, where a query per grant would spend the log's small rate limit on every approval).
    let proof = if r.routes.contains(&Route::ServiceNow) {
        log_proof(engine, &r, &user_id, &target_id, true, approved_at).await
    } else {
        None
    };
    let now = Utc::now();
    let operator = engine.operator().user_name.clone();
    let changed = engine
        .store()
        .change_access_request(id, |req| {
            if req.status != RequestStatus::Approved {
                return None;
            }
            req.mark_granted(now);
            req.external.grant_event = proof.clone();
            Some(update_event(&operator, req, json!({"access_request": req.id, "status": "granted", "expires_at": req.expires_at.map(|t| t.to_rfc3339()), "okta_event": proof})))
        })
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?;
    let r = changed.request;
    let version = engine.store().access_request(id).await.ok().flatten().map(|s| s.version).unwrap_or(0);
    engine.queue_route_work(&r, version).await.map_err(ApplyError::from)?;
    let until = r.expires_at.map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
    Ok(Applied {
        summary: format!("{} now has {}{until}", r.requested_for, r.target),
        request_id: None,
        details: grant_details(&r, &target_id, &proof, already),
    })
}

async fn revoke(engine: &Engine, id: &str, reason: &str) -> Result<Applied, ApplyError> {
    let (r, _) = load(engine, id).await?;
    match r.status {
        RequestStatus::Granted => {}
        RequestStatus::Revoked => {
            return Ok(Applied {
                summary: format!("{id} is already removed"),
                request_id: None,
                details: json!({"access_request": id, "already": true}),
            });
        }
        other => return Err(ApplyError::Permanent(format!("{id} is {other}: there is no grant to remove"))),
    }
    if let Some(by) = super::extend::superseding(engine, &r).await? {
        return super::extend::retire(engine, &r, &by, reason).await;
    }
    let (user_id, target_id) = okta_ids(engine, &r).await?;
    let present = has_access(engine, &r, &user_id, &target_id).await?;
    if present {
        let okta = engine.okta()?;
        match &r.target {
            Target::Group(_) => okta.remove_group_member(&target_id, &user_id).await?,
            Target::App(_) => okta.unassign_app_user(&target_id, &user_id).await?,
        }
    }
    let started = Utc::now();
    let proof = log_proof(engine, &r, &user_id, &target_id, false, started - chrono::Duration::minutes(1)).await;
    let operator = engine.operator().user_name.clone();
    let now = Utc::now();
    let changed = engine
        .store()
        .change_access_request(id, |req| {
            if req.status != RequestStatus::Granted {
                return None;
            }
            req.status = RequestStatus::Revoked;
            req.revoked_at = Some(now);
            req.external.revoke_event = proof.clone();
            Some(update_event(
                &operator,
                req,
                json!({"access_request": req.id, "status": "revoked", "reason": reason, "okta_event": proof}),
            ))
        })
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?;
    let version = engine.store().access_request(id).await.ok().flatten().map(|s| s.version).unwrap_or(0);
    engine.queue_route_work(&changed.request, version).await.map_err(ApplyError::from)?;
    Ok(Applied {
        summary: format!("{} no longer has {} ({reason})", r.requested_for, r.target),
        request_id: None,
        details: json!({"access_request": id, "target_kind": r.target.kind(), "target_id": target_id, "reason": reason,
                        "okta_event": proof, "already": !present}),
    })
}
