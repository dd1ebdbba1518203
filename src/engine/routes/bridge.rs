//! The bridge of pattern D: access given through Okta Identity Governance that ServiceNow has no
//! record of gets one, so ServiceNow stays the record of every service request.
//!
//! [`find_unrecorded`] reads the cached System Log (what `grantdesk sync` pulled): for each
//! catalog group or app, the OIG requests seen in `access.request.*` events that were resolved,
//! with the membership or assignment Okta's access-request service made for them. A request is
//! left alone when ServiceNow already knows it — a requested item for the same person mentioning
//! the same group or app around that time, the bridge's own marker, or a grantdesk request that
//! raised it and has its RITM. Changes an administrator made directly in Okta are not requests:
//! they stay orphan grants (`grantdesk orphans`), never laundered into a record.
//!
//! Each bridge is a command in the outbox keyed by the OIG request id, applied exactly once: the
//! RITM (closed complete, or closed incomplete when OIG denied it) is found again by its marker
//! before one is created, and carries the work note naming the System Log events and their actors
//! in the same call that creates it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::catalog::Target;
use crate::domain::{LogEvent, TicketKind};
use crate::engine::command::Command;
use crate::engine::{Applied, ApplyError, Engine, EngineError};
use crate::servicenow::{DisplayValue, ListOptions, Query};
use crate::store::RequestFilter;

/// The actor Okta names on the changes its access-request service makes.
const OKTA_ACCESS_REQUESTS: &str = "Okta Access Requests";

/// A System Log event, as the bridge quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRef {
    /// Event uuid.
    pub uuid: String,
    /// Event type.
    pub event_type: String,
    /// Who (login or app name).
    pub actor: String,
    /// When Okta published it.
    pub published: DateTime<Utc>,
}

impl LogRef {
    fn of(e: &LogEvent) -> LogRef {
        let actor = if e.actor.alternate_id.is_empty() || e.actor.alternate_id == "unknown" {
            e.actor.display_name.clone()
        } else {
            e.actor.alternate_id.clone()
        };
        LogRef { uuid: e.uuid.clone(), event_type: e.event_type.clone(), actor, published: e.published }
    }
}

/// An OIG access request the System Log shows, with no ServiceNow record yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaRequestSeen {
    /// The OIG request id.
    pub oig_request: String,
    /// The grantdesk catalog entry of its group or app.
    pub entry: String,
    /// The group or app.
    pub target: Target,
    /// Okta login of the person it was for.
    pub user: String,
    /// Whether OIG approved it.
    pub approved: bool,
    /// `access.request.create`, if the log still holds it.
    pub created: Option<LogRef>,
    /// `access.request.resolve`.
    pub resolved: LogRef,
    /// The membership or assignment Okta made for it, if approved and seen.
    pub granted: Option<LogRef>,
    /// The grantdesk request that raised it in OIG, if one did.
    pub grantdesk_request: Option<String>,
}

impl OktaRequestSeen {
    /// The text a RITM recording it carries, so it is found again (never recorded twice).
    pub fn marker(&self) -> String {
        marker(&self.oig_request)
    }

    /// The work note: what Okta did, event by event.
    fn note(&self) -> String {
        let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let mut lines = vec![format!(
            "Recorded from the Okta System Log by grantdesk: {} had no ServiceNow record.",
            self.marker()
        )];
        if let Some(c) = &self.created {
            lines.push(format!(
                "{} asked for {} for {} at {} (event {} by {}).",
                c.actor,
                self.target,
                self.user,
                at(c.published),
                c.uuid,
                c.actor
            ));
        }
        let r = &self.resolved;
        lines.push(format!(
            "{} {} it at {} (event {} by {}).",
            r.actor,
            if self.approved { "approved" } else { "denied" },
            at(r.published),
            r.uuid,
            r.actor
        ));
        match &self.granted {
            Some(g) => lines.push(format!(
                "Okta gave {} {} at {} (event {} {} by {}).",
                self.user,
                self.target,
                at(g.published),
                g.event_type,
                g.uuid,
                g.actor
            )),
            None if self.approved => lines.push("No grant event was seen in the System Log.".into()),
            None => {}
        }
        lines.join("\n")
    }
}

fn marker(oig_request: &str) -> String {
    format!("Okta access request {oig_request}")
}

fn store_err(e: crate::store::StoreError) -> EngineError {
    EngineError::Store(e)
}

/// The OIG requests for catalog groups and apps in the cached System Log that ServiceNow has no
/// record of (and that are not queued for the bridge already), oldest first.
pub async fn find_unrecorded(engine: &Engine) -> Result<Vec<OktaRequestSeen>, EngineError> {
    let store = engine.store();
    let mut out: Vec<OktaRequestSeen> = Vec::new();
    for entry in &engine.catalog().entries {
        let (name, id) = match &entry.target {
            Target::Group(g) => (g.clone(), store.okta_group(g).await.map_err(store_err)?.map(|g| g.id)),
            Target::App(a) => (a.clone(), store.okta_app(a).await.map_err(store_err)?.map(|a| a.id)),
        };
        let mut keys = vec![name.as_str()];
        if let Some(id) = &id {
            keys.push(id.as_str());
        }
        let events = store.log_events_for_target(&keys, "").await.map_err(store_err)?;
        // The access.request.* events of each OIG request for this entry, by request id.
        let mut requests: BTreeMap<String, Vec<&LogEvent>> = BTreeMap::new();
        for e in events.iter().filter(|e| e.event_type.starts_with("access.request.")) {
            if let Some(t) = e.targets.iter().find(|t| t.kind == "AccessRequest")
                && t.display_name.eq_ignore_ascii_case(&name)
            {
                requests.entry(t.id.clone()).or_default().push(e);
            }
        }
        let grants: Vec<&LogEvent> = events
            .iter()
            .filter(|e| {
                matches!(e.event_type.as_str(), "group.user_membership.add" | "application.user_membership.add")
                    && (e.actor.alternate_id == OKTA_ACCESS_REQUESTS || e.actor.display_name == OKTA_ACCESS_REQUESTS)
            })
            .collect();
        let mine = store
            .access_requests(&RequestFilter { target: Some(entry.target.name().to_string()), ..Default::default() })
            .await
            .map_err(store_err)?;
        for (rid, evs) in requests {
            let Some(resolve) = evs.iter().find(|e| e.event_type == "access.request.resolve") else { continue };
            let Some(user) = resolve.targets.iter().find(|t| t.kind == "User") else { continue };
            let login = user.alternate_id.to_ascii_lowercase();
            let approved = resolve.outcome_reason.eq_ignore_ascii_case("APPROVED");
            let created = evs.iter().find(|e| e.event_type == "access.request.create").map(|e| LogRef::of(e));
            let granted = grants
                .iter()
                .filter(|g| {
                    approved
                        && g.targets.iter().any(|t| t.kind == "User" && t.id == user.id)
                        && g.published >= resolve.published - chrono::Duration::minutes(1)
                        && g.published <= resolve.published + chrono::Duration::days(1)
                })
                .min_by_key(|g| g.published)
                .map(|g| LogRef::of(g));
            let raised_by_us = mine.iter().find(|r| r.external.oig_request_id.as_deref() == Some(rid.as_str()));
            if raised_by_us.is_some_and(|r| r.external.ritm.is_some()) {
                continue;
            }
            let seen = OktaRequestSeen {
                oig_request: rid.clone(),
                entry: entry.name.clone(),
                target: entry.target.clone(),
                user: login,
                approved,
                created,
                resolved: LogRef::of(resolve),
                granted,
                grantdesk_request: raised_by_us.map(|r| r.id.clone()),
            };
            if next_key(engine, &seen.oig_request).await?.is_none()
                || has_servicenow_record(engine, &seen, &name).await?
            {
                continue;
            }
            out.push(seen);
        }
    }
    out.sort_by(|a, b| a.resolved.published.cmp(&b.resolved.published).then(a.oig_request.cmp(&b.oig_request)));
    Ok(out)
}

/// The outbox key for bridging OIG request `oig_request` now: `bridge:ID` the first time; after a
/// bridge that failed for good, a fresh key naming the failed command (`bridge:ID:FAILED`), so the
/// bridge is retried (the RITM's marker still keeps ServiceNow from getting two). `None` while a
/// bridge is queued, running or done.
async fn next_key(engine: &Engine, oig_request: &str) -> Result<Option<String>, EngineError> {
    let mut key = format!("bridge:{oig_request}");
    loop {
        match engine.store().command_by_key(&key).await.map_err(store_err)? {
            None => return Ok(Some(key)),
            Some(c) if c.status == crate::store::CommandStatus::Failed => {
                key = format!("bridge:{oig_request}:{}", c.id)
            }
            Some(_) => return Ok(None),
        }
    }
}

/// Whether the cached ServiceNow requested items already record `seen`: the bridge's marker, or
/// an item for the same person mentioning the group or app, opened from a week before the request
/// to a day after its decision.
async fn has_servicenow_record(engine: &Engine, seen: &OktaRequestSeen, name: &str) -> Result<bool, EngineError> {
    let items = engine.store().requested_items_for(&seen.user).await.map_err(store_err)?;
    let start = seen.created.as_ref().map(|c| c.published).unwrap_or(seen.resolved.published);
    let from = start - chrono::Duration::days(7);
    let to = seen.resolved.published + chrono::Duration::days(1);
    let name = name.to_lowercase();
    let marker = seen.marker();
    Ok(items.iter().any(|(t, _)| {
        t.description.contains(&marker)
            || ((t.short_description.to_lowercase().contains(&name)
                || t.description.to_lowercase().contains(&name)
                || t.cat_item.to_lowercase().contains(&name))
                && t.opened_at >= from
                && t.opened_at <= to)
    }))
}

/// Queues a bridge command for each unrecorded OIG request (or, with `dry_run`, only lists them).
pub async fn queue(engine: &Engine, dry_run: bool) -> Result<Vec<OktaRequestSeen>, EngineError> {
    let found = find_unrecorded(engine).await?;
    if !dry_run {
        for seen in &found {
            let Some(key) = next_key(engine, &seen.oig_request).await? else { continue };
            engine.submit(&Command::BridgeOktaRequest { seen: Box::new(seen.clone()) }, Some(key)).await?;
        }
    }
    Ok(found)
}

fn obj(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
}

/// Records `seen` in ServiceNow: finds its RITM by marker, or creates the REQ and the closed RITM
/// with the work note in one call each; links it to the grantdesk request that raised it.
pub async fn record(engine: &Engine, seen: &OktaRequestSeen) -> Result<Applied, ApplyError> {
    let sn = engine.servicenow()?;
    let marker = seen.marker();
    let found =
        sn.tickets(TicketKind::RequestedItem, &Query::new().like("description", marker.as_str()), Some(1)).await?;
    let (number, sys_id, already) = match found.into_iter().next() {
        Some(t) => (t.number, t.sys_id, true),
        None => {
            let for_id = sn.user_by_email(&seen.user).await?.map(|u| u.sys_id).unwrap_or_default();
            let short = format!("Access request: {} for {} (Okta Identity Governance)", seen.entry, seen.user);
            let ours = seen
                .grantdesk_request
                .as_ref()
                .map(|id| format!("\nRaised by grantdesk request {id}."))
                .unwrap_or_default();
            let description = format!(
                "{} was {} {} through Okta Identity Governance.{ours}\n\n{marker}",
                seen.user,
                if seen.approved { "given" } else { "refused" },
                seen.target
            );
            let opts = ListOptions::fields(&["sys_id", "number"], DisplayValue::Value);
            let reqs = sn.list("sc_request", &Query::new().like("description", marker.as_str()), &opts).await?;
            let req_sys_id = match reqs.first() {
                Some(r) => r.sys_id().to_string(),
                None => sn
                    .create(
                        "sc_request",
                        &obj(&[
                            ("requested_for", &for_id),
                            ("short_description", &short),
                            ("description", &description),
                        ]),
                        &opts,
                    )
                    .await?
                    .sys_id()
                    .to_string(),
            };
            let parent = match seen.grantdesk_request.as_deref() {
                Some(id) => match engine.store().access_request(id).await {
                    Ok(Some(s)) => match s.request.ticket {
                        Some(num) => sn.ticket_by_number(&num).await?.map(|t| t.sys_id),
                        None => None,
                    },
                    _ => None,
                },
                None => None,
            };
            let note = seen.note();
            let (approval, state) = if seen.approved { ("approved", "3") } else { ("rejected", "4") };
            let mut fields = vec![
                ("request", req_sys_id.as_str()),
                ("requested_for", for_id.as_str()),
                ("short_description", short.as_str()),
                ("description", description.as_str()),
                ("approval", approval),
                ("state", state),
                ("work_notes", note.as_str()),
            ];
            if let Some(p) = &parent {
                fields.push(("parent", p.as_str()));
            }
            let ritm = sn.create_ticket(TicketKind::RequestedItem, &fields).await?;
            (ritm.number, ritm.sys_id, false)
        }
    };
    if let Some(id) = &seen.grantdesk_request {
        let operator = engine.operator().user_name.clone();
        let (n, s) = (number.clone(), sys_id.clone());
        engine
            .store()
            .change_access_request(id, |req| {
                if req.external.ritm.is_some() {
                    return None;
                }
                req.external.ritm = Some(n.clone());
                req.external.ritm_sys_id = Some(s.clone());
                let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
                e.subject = req.requested_for.clone();
                e.object = req.target.name().to_string();
                e.ticket = req.ticket.clone().unwrap_or_default();
                e.details = json!({"access_request": req.id, "servicenow_record": n, "oig_request": seen.oig_request});
                Some(e)
            })
            .await
            .map_err(|e| ApplyError::Transient(e.to_string()))?;
    }
    Ok(Applied {
        summary: format!(
            "Okta access request {} ({} for {}) {} {number}",
            seen.oig_request,
            seen.entry,
            seen.user,
            if already { "was already recorded as" } else { "recorded as" }
        ),
        request_id: None,
        details: json!({"oig_request": seen.oig_request, "servicenow_record": number, "already": already,
                        "okta_events": [seen.created.as_ref().map(|c| &c.uuid), Some(&seen.resolved.uuid),
                                        seen.granted.as_ref().map(|g| &g.uuid)]}),
    })
}
