//! Grant history: "who gave this person that access, when, why, on which ticket" — answered from
//! the store alone, so it works at 3 a.m. with the services down.
//!
//! Three sources are joined:
//! - grantdesk's own audit log: `grant.add` / `grant.remove` outcomes, with the access request's
//!   `access_request.create` (justification) and `access_request.approve` (approvers) events;
//! - the cached Okta System Log: `group.user_membership.*` and `application.user_membership.*`
//!   events, which prove a change happened in Okta (matched to the audit log by the Okta request
//!   id, or by user, target and time) and reveal changes made outside grantdesk;
//! - cached ServiceNow requested items and their approvals, which explain changes made outside
//!   grantdesk and show requests approved but never applied.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::cache::source;
use super::{QueryContext as _, Store, StoreError, on_pool};
use crate::domain::audit::{AuditRecord, action};
use crate::domain::{Approval, ApprovalState, LogEvent, Ticket};

/// Whose history to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum HistoryTarget {
    /// An Okta user, by login.
    User(String),
    /// An Okta group (or app), by name.
    Group(String),
}

/// A grant or a removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantChange {
    /// Access given.
    Grant,
    /// Access taken away.
    Removal,
}

/// Whether the Okta System Log shows the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Confirmation {
    /// An Okta event records it.
    Confirmed {
        /// The event's uuid.
        uuid: String,
        /// When Okta published it.
        published: DateTime<Utc>,
    },
    /// No matching Okta event in the cached log (not synced yet, older than the log, or never applied).
    NotSeen,
}

/// One grant or removal, with everything known about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantEntry {
    /// When it took effect.
    pub when: DateTime<Utc>,
    /// Grant or removal.
    pub change: GrantChange,
    /// The Okta login it concerns.
    pub user: String,
    /// The group or app.
    pub target: String,
    /// `group` or `app`.
    pub target_kind: String,
    /// Who applied it (a grantdesk operator or the Okta actor).
    pub by: String,
    /// Who approved it.
    pub approved_by: Vec<String>,
    /// Why.
    pub justification: String,
    /// The ticket it belongs to.
    pub ticket: String,
    /// When a time-bound grant ends.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether Okta's System Log confirms it.
    pub okta: Confirmation,
    /// Where the facts came from: `grantdesk`, `okta`, `servicenow`.
    pub sources: Vec<&'static str>,
    /// The grantdesk access request it fulfils (`AR-…`), if any.
    pub request: String,
    /// The ServiceNow record (RITM) of the request, if any.
    pub record: String,
    /// Anything the reader should know (empty when nothing).
    pub note: String,
}

/// How fresh one source of the answer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFreshness {
    /// `okta:logs`, `servicenow:sc_req_item`…
    pub source: String,
    /// Last successful sync, if any.
    pub synced_at: Option<DateTime<Utc>>,
}

/// The answer to `grantdesk history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantHistory {
    /// Whose history.
    pub target: HistoryTarget,
    /// The Okta status of the user (user history only, when cached).
    pub status: Option<String>,
    /// Grants and removals, oldest first.
    pub entries: Vec<GrantEntry>,
    /// Current access (user: groups and apps; group: member logins) with no grant on record.
    pub unexplained: Vec<String>,
    /// How many current accesses lack a record in total (`unexplained` lists at most 50).
    pub unexplained_total: usize,
    /// Freshness of the cached sources the answer rests on.
    pub freshness: Vec<SourceFreshness>,
    /// When the answer was computed.
    pub generated_at: DateTime<Utc>,
}

/// The cached sources history reads, for the freshness line.
const HISTORY_SOURCES: [&str; 4] =
    [source::OKTA_LOGS, source::OKTA_MEMBERSHIPS, "servicenow:sc_req_item", "servicenow:sysapproval_approver"];

/// Okta membership event types and what they mean.
fn okta_change(event_type: &str) -> Option<(GrantChange, &'static str)> {
    Some(match event_type {
        "group.user_membership.add" => (GrantChange::Grant, "group"),
        "group.user_membership.remove" => (GrantChange::Removal, "group"),
        "application.user_membership.add" => (GrantChange::Grant, "app"),
        "application.user_membership.remove" => (GrantChange::Removal, "app"),
        _ => return None,
    })
}

/// The System Log actor of everything Okta Identity Governance fulfils or revokes.
const OIG_ACTOR: &str = "Okta Access Requests";

/// The audit action of every change of a grantdesk access request after it was raised.
const ACCESS_REQUEST_UPDATE: &str = "access_request.update";

/// The marker grantdesk writes into the description of every RITM that records one of its
/// requests (`grantdesk request AR-…`, see `engine::routes::servicenow`).
const RITM_MARKER: &str = "grantdesk request ";

/// An Okta membership event reduced to what history needs.
struct OktaFact<'a> {
    event: &'a LogEvent,
    change: GrantChange,
    kind: &'static str,
    user: String,
    target: String,
    target_id: String,
}

impl OktaFact<'_> {
    fn by_oig(&self) -> bool {
        self.event.actor.alternate_id.eq_ignore_ascii_case(OIG_ACTOR)
            || self.event.actor.display_name.eq_ignore_ascii_case(OIG_ACTOR)
    }

    fn actor(&self) -> String {
        let a = &self.event.actor;
        if a.alternate_id.is_empty() { a.display_name.clone() } else { a.alternate_id.clone() }
    }

    fn is_about(&self, user: &str, target: &str, target_id: &str) -> bool {
        self.user.eq_ignore_ascii_case(user)
            && (self.target.eq_ignore_ascii_case(target) || (!target_id.is_empty() && self.target_id == target_id))
    }
}

fn okta_fact(e: &LogEvent) -> Option<OktaFact<'_>> {
    let (change, kind) = okta_change(&e.event_type)?;
    let user = e.targets.iter().find(|t| t.kind == "User")?;
    let target = e.targets.iter().find(|t| t.kind != "User" && t.kind != "AppUser")?;
    let name = if !target.display_name.is_empty() { &target.display_name } else { &target.alternate_id };
    Some(OktaFact {
        event: e,
        change,
        kind,
        user: user.alternate_id.clone(),
        target: name.clone(),
        target_id: target.id.clone(),
    })
}

/// An Okta Identity Governance decision as the System Log records it (`access.request.resolve`):
/// the actor is the (last) approver, the targets the OIG request and the person it is for.
struct OigDecision<'a> {
    event: &'a LogEvent,
    user: String,
    approver: String,
    request: String,
    entry: String,
}

fn oig_decision(e: &LogEvent) -> Option<OigDecision<'_>> {
    if e.event_type != "access.request.resolve" || !e.outcome_reason.eq_ignore_ascii_case("APPROVED") {
        return None;
    }
    let user = e.targets.iter().find(|t| t.kind == "User")?;
    let request = e.targets.iter().find(|t| t.kind == "AccessRequest");
    Some(OigDecision {
        event: e,
        user: user.alternate_id.clone(),
        approver: if e.actor.alternate_id.is_empty() {
            e.actor.display_name.clone()
        } else {
            e.actor.alternate_id.clone()
        },
        request: request.map(|r| r.id.clone()).unwrap_or_default(),
        entry: request.map(|r| r.display_name.clone()).unwrap_or_default(),
    })
}

/// What grantdesk's audit log says about one of its access requests.
#[derive(Default)]
struct RequestFacts {
    created: Option<DateTime<Utc>>,
    justification: String,
    approvers: Vec<String>,
    /// The RITM that records it in ServiceNow (route `servicenow`).
    record: String,
}

fn json_strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The same person whether named by ServiceNow user name (`alex.approver`) or Okta login
/// (`alex.approver@example.com`): grantdesk's events use the first, its decisions the second.
fn person_key(s: &str) -> String {
    s.split('@').next().unwrap_or(s).trim().to_lowercase()
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !item.is_empty() && !list.iter().any(|x| person_key(x) == person_key(item)) {
        list.push(item.to_string());
    }
}

/// The grantdesk request a RITM records, from the marker in its description.
fn grantdesk_request_of(t: &Ticket) -> Option<String> {
    let at = t.description.find(RITM_MARKER)? + RITM_MARKER.len();
    let id: String =
        t.description[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!id.is_empty()).then_some(id)
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|t| t.with_timezone(&Utc))
}

/// Joins the three sources into entries, oldest first. Pure: the store gathers, this decides.
///
/// - A grantdesk grant (`grant.add`/`grant.remove` outcome) is one entry, confirmed by the Okta
///   event its details name (`okta_event`), or one with its request id, or one for the same user,
///   target and direction shortly after; the RITM that records its request in ServiceNow
///   (`servicenow_record`, or the `grantdesk request AR-…` marker in a RITM's description) is
///   the same grant, not another one.
/// - A grantdesk request routed through Okta Identity Governance changes through
///   `access_request.update` events (`route: "oig"`, `status: granted|revoked`); the Okta event
///   OIG's fulfilment logged is joined to it, with OIG's deciders as approvers.
/// - Any other Okta change is explained by an OIG decision in the System Log (fulfilled by
///   `Okta Access Requests`), else by a ServiceNow request, else flagged as made outside.
/// - A ServiceNow request approved but followed by no grant is listed as such.
pub fn assemble(audit: &[AuditRecord], okta: &[LogEvent], requests: &[(Ticket, Vec<Approval>)]) -> Vec<GrantEntry> {
    // What grantdesk's own events say about each access request.
    let mut ars: HashMap<String, RequestFacts> = HashMap::new();
    for r in audit {
        let Some(ar) = r.detail_str("access_request") else { continue };
        let f = ars.entry(ar).or_default();
        if r.action == action::ACCESS_REQUEST_CREATE && r.outcome == "success" {
            f.created = r.time();
            if let Some(j) = r.detail_str("justification") {
                f.justification = j;
            }
        }
        if r.action == action::ACCESS_REQUEST_APPROVE && r.outcome == "success" {
            push_unique(&mut f.approvers, &r.operator);
        }
        if let Some(n) = r.detail_str("servicenow_record").filter(|n| !n.is_empty()) {
            f.record = n;
        }
    }
    let cached_ritm = |number: &str| requests.iter().any(|(t, _)| t.number.eq_ignore_ascii_case(number));

    let facts: Vec<OktaFact> = okta.iter().filter_map(okta_fact).collect();
    let decisions: Vec<OigDecision> = okta.iter().filter_map(oig_decision).collect();
    let mut used = vec![false; facts.len()];
    let mut entries = Vec::new();

    for r in audit {
        let change = match r.action.as_str() {
            action::GRANT_ADD => GrantChange::Grant,
            action::GRANT_REMOVE => GrantChange::Removal,
            _ => continue,
        };
        if r.outcome != "success" {
            continue;
        }
        let Some(when) = r.time() else { continue };
        let details = r.details_json();
        let request = r.detail_str("access_request").unwrap_or_default();
        let known = ars.get(&request);
        let mut approved_by = json_strings(details.get("approvers"));
        for a in known.into_iter().flat_map(|f| &f.approvers) {
            push_unique(&mut approved_by, a);
        }
        let target_kind = r.detail_str("target_kind").unwrap_or_else(|| "group".into());
        let target_id = r.detail_str("target_id").unwrap_or_default();
        // The Okta event grantdesk saw for this very change; failing that, the one carrying the
        // same request id; failing that, the same user, target and direction shortly after.
        let proof = r.detail_str("okta_event").unwrap_or_default();
        let free = |i: usize, f: &OktaFact| !used[i] && f.change == change;
        let matched = facts
            .iter()
            .enumerate()
            .position(|(i, f)| free(i, f) && !proof.is_empty() && f.event.uuid == proof)
            .or_else(|| {
                facts
                    .iter()
                    .enumerate()
                    .position(|(i, f)| free(i, f) && !r.request_id.is_empty() && f.event.request_id == r.request_id)
            })
            .or_else(|| {
                facts.iter().enumerate().position(|(i, f)| {
                    free(i, f)
                        && f.is_about(&r.subject, &r.object, &target_id)
                        && f.event.published >= when - Duration::minutes(10)
                        && f.event.published <= when + Duration::hours(24)
                })
            });
        let okta = match matched {
            Some(i) => {
                used[i] = true;
                Confirmation::Confirmed { uuid: facts[i].event.uuid.clone(), published: facts[i].event.published }
            }
            None => Confirmation::NotSeen,
        };
        let record = r
            .detail_str("servicenow_record")
            .filter(|n| !n.is_empty())
            .or_else(|| known.map(|f| f.record.clone()).filter(|n| !n.is_empty()))
            .unwrap_or_default();
        let mut sources = vec!["grantdesk"];
        if matches!(okta, Confirmation::Confirmed { .. }) {
            sources.push("okta");
        }
        if !record.is_empty() && cached_ritm(&record) {
            sources.push("servicenow");
        }
        entries.push(GrantEntry {
            when,
            change,
            user: r.subject.clone(),
            target: r.object.clone(),
            target_kind,
            by: r.operator.clone(),
            approved_by,
            // A removal's "why" is its reason (expired, revoked); a grant's is the justification.
            justification: match change {
                GrantChange::Removal => r.detail_str("reason").or_else(|| r.detail_str("justification")),
                GrantChange::Grant => r
                    .detail_str("justification")
                    .or_else(|| known.map(|f| f.justification.clone()).filter(|j| !j.is_empty())),
            }
            .unwrap_or_default(),
            ticket: r.ticket.clone(),
            expires_at: parse_time(r.detail_str("expires_at")),
            okta,
            sources,
            request,
            record,
            note: String::new(),
        });
    }

    // grantdesk requests routed through Okta Identity Governance: OIG grants and revokes, and
    // grantdesk records what it saw as `access_request.update` events.
    let mut oig_seen: HashSet<(String, GrantChange)> = HashSet::new();
    for r in audit {
        if r.action != ACCESS_REQUEST_UPDATE
            || r.outcome != "success"
            || r.detail_str("route").as_deref() != Some("oig")
        {
            continue;
        }
        let change = match r.detail_str("status").as_deref() {
            Some("granted") => GrantChange::Grant,
            Some("revoked") => GrantChange::Removal,
            _ => continue,
        };
        let request = r.detail_str("access_request").unwrap_or_default();
        if !oig_seen.insert((request.clone(), change)) {
            continue;
        }
        let Some(noticed) = r.time() else { continue };
        let details = r.details_json();
        let known = ars.get(&request);
        let oig_request = r.detail_str("oig_request").unwrap_or_default();
        // OIG acted before grantdesk noticed: between the request being raised and shortly after.
        let earliest = known.and_then(|f| f.created).unwrap_or(noticed - Duration::days(30)) - Duration::minutes(10);
        let matched = facts.iter().enumerate().position(|(i, f)| {
            !used[i]
                && f.change == change
                && f.is_about(&r.subject, &r.object, "")
                && f.event.published >= earliest
                && f.event.published <= noticed + Duration::hours(1)
        });
        let mut approved_by = json_strings(details.get("decided_by"));
        for d in decisions.iter().filter(|d| !oig_request.is_empty() && d.request == oig_request) {
            push_unique(&mut approved_by, &d.approver);
        }
        for a in known.into_iter().flat_map(|f| &f.approvers) {
            push_unique(&mut approved_by, a);
        }
        let (when, by, okta, kind) = match matched {
            Some(i) => {
                used[i] = true;
                let f = &facts[i];
                let confirmed = Confirmation::Confirmed { uuid: f.event.uuid.clone(), published: f.event.published };
                (f.event.published, f.actor(), confirmed, f.kind.to_string())
            }
            None => (noticed, "Okta Identity Governance".to_string(), Confirmation::NotSeen, String::new()),
        };
        let mut sources = vec!["grantdesk"];
        if matches!(okta, Confirmation::Confirmed { .. }) {
            sources.push("okta");
        }
        let record = known.map(|f| f.record.clone()).unwrap_or_default();
        entries.push(GrantEntry {
            when,
            change,
            user: r.subject.clone(),
            target: r.object.clone(),
            target_kind: if kind.is_empty() {
                r.detail_str("target_kind").unwrap_or_else(|| "group".into())
            } else {
                kind
            },
            by,
            approved_by,
            justification: match change {
                GrantChange::Grant => known.map(|f| f.justification.clone()).unwrap_or_default(),
                GrantChange::Removal => "access ended in Okta Identity Governance".into(),
            },
            ticket: r.ticket.clone(),
            expires_at: if change == GrantChange::Grant { parse_time(r.detail_str("expires_at")) } else { None },
            okta,
            sources,
            request,
            record,
            note: if oig_request.is_empty() {
                "routed through Okta Identity Governance".into()
            } else {
                format!("routed through Okta Identity Governance (OIG request {oig_request})")
            },
        });
    }

    // RITMs that record grantdesk's own requests are those requests, not further grants.
    let grantdesk_ritms: HashSet<String> = ars
        .values()
        .map(|f| f.record.to_ascii_uppercase())
        .chain(entries.iter().map(|e| e.record.to_ascii_uppercase()))
        .filter(|n| !n.is_empty())
        .collect();
    let is_grantdesks = |t: &Ticket| {
        grantdesk_ritms.contains(&t.number.to_ascii_uppercase())
            || grantdesk_request_of(t).is_some_and(|ar| ars.contains_key(&ar))
    };

    // Okta changes grantdesk did not make: explained, where possible, by an OIG decision or a
    // ServiceNow request.
    let mut requests_used: HashSet<&str> = HashSet::new();
    for (i, f) in facts.iter().enumerate() {
        if used[i] {
            continue;
        }
        let by = f.actor();
        let base = GrantEntry {
            when: f.event.published,
            change: f.change,
            user: f.user.clone(),
            target: f.target.clone(),
            target_kind: f.kind.to_string(),
            by,
            approved_by: Vec::new(),
            justification: String::new(),
            ticket: String::new(),
            expires_at: None,
            okta: Confirmation::Confirmed { uuid: f.event.uuid.clone(), published: f.event.published },
            sources: vec!["okta"],
            request: String::new(),
            record: String::new(),
            note: String::new(),
        };
        if f.by_oig() {
            let entry = match f.change {
                GrantChange::Grant => {
                    // The decision that led to it: the same person, approved shortly before; one
                    // naming the target first.
                    let window = |d: &&OigDecision| {
                        d.user.eq_ignore_ascii_case(&f.user)
                            && d.event.published <= f.event.published + Duration::minutes(1)
                            && d.event.published >= f.event.published - Duration::days(1)
                    };
                    let names = |d: &&OigDecision| {
                        // "GitHub Engineering" names github-engineering.
                        let fold = |s: &str| -> String {
                            s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
                        };
                        let (e, t) = (fold(&d.entry), fold(&f.target));
                        !e.is_empty() && !t.is_empty() && (e.contains(&t) || t.contains(&e))
                    };
                    let decision = decisions
                        .iter()
                        .filter(window)
                        .filter(names)
                        .max_by_key(|d| d.event.published)
                        .or_else(|| decisions.iter().filter(window).max_by_key(|d| d.event.published));
                    match decision {
                        Some(d) => GrantEntry {
                            approved_by: vec![d.approver.clone()],
                            note: format!("granted by Okta Identity Governance (OIG request {})", d.request),
                            ..base
                        },
                        None => GrantEntry {
                            note: "granted by Okta Identity Governance; its decision is not in the cached log".into(),
                            ..base
                        },
                    }
                }
                GrantChange::Removal => {
                    GrantEntry { note: "removed by Okta Identity Governance (the grant ended)".into(), ..base }
                }
            };
            entries.push(entry);
            continue;
        }
        let request = (f.change == GrantChange::Grant)
            .then(|| {
                requests
                    .iter()
                    .filter(|(t, _)| {
                        !is_grantdesks(t)
                            && t.caller_email.eq_ignore_ascii_case(&f.user)
                            && mentions(t, &f.target)
                            && t.opened_at <= f.event.published
                    })
                    .max_by_key(|(t, _)| t.opened_at)
            })
            .flatten();
        entries.push(match request {
            Some((t, approvals)) => {
                requests_used.insert(t.sys_id.as_str());
                GrantEntry {
                    approved_by: approvers_of(approvals),
                    justification: t.short_description.clone(),
                    ticket: t.number.clone(),
                    record: t.number.clone(),
                    sources: vec!["okta", "servicenow"],
                    ..base
                }
            }
            None if f.change == GrantChange::Grant => {
                GrantEntry { note: "made outside grantdesk; no request on record".into(), ..base }
            }
            None => base,
        });
    }

    // Requests approved in ServiceNow that no grant follows. A RITM grantdesk wrote to record its
    // own request (route `servicenow`) is that request, told above, not a second grant.
    let mut recorded_tickets: HashSet<String> = entries.iter().map(|e| e.ticket.to_ascii_uppercase()).collect();
    recorded_tickets
        .extend(audit.iter().filter_map(|r| r.detail_str("servicenow_record")).map(|t| t.to_ascii_uppercase()));
    for (t, approvals) in requests {
        if requests_used.contains(t.sys_id.as_str())
            || recorded_tickets.contains(&t.number.to_ascii_uppercase())
            || is_grantdesks(t)
        {
            continue;
        }
        let approved = t.approval == "approved"
            || (!approvals.is_empty() && approvals.iter().all(|a| a.state == ApprovalState::Approved));
        if !approved {
            continue;
        }
        let when = approvals.iter().map(|a| a.updated_on).max().unwrap_or(t.updated_at);
        let marker = grantdesk_request_of(t);
        entries.push(GrantEntry {
            when,
            change: GrantChange::Grant,
            user: t.caller_email.clone(),
            target: if t.cat_item.is_empty() { t.short_description.clone() } else { t.cat_item.clone() },
            target_kind: "request".into(),
            by: String::new(),
            approved_by: approvers_of(approvals),
            justification: t.short_description.clone(),
            ticket: t.number.clone(),
            expires_at: None,
            okta: Confirmation::NotSeen,
            sources: vec!["servicenow"],
            request: marker.clone().unwrap_or_default(),
            record: t.number.clone(),
            note: match marker {
                Some(ar) => format!(
                    "approved in ServiceNow; raised by grantdesk as {ar}, which this store has no record of; \
                     no grant seen in Okta"
                ),
                None => "approved in ServiceNow; no grant seen in Okta or grantdesk".into(),
            },
        });
    }

    entries.sort_by(|a, b| a.when.cmp(&b.when).then_with(|| a.target.cmp(&b.target)));
    entries
}

fn mentions(t: &Ticket, target: &str) -> bool {
    let target = target.to_lowercase();
    !target.is_empty()
        && (t.cat_item.to_lowercase().contains(&target)
            || t.short_description.to_lowercase().contains(&target)
            || t.description.to_lowercase().contains(&target))
}

fn approvers_of(approvals: &[Approval]) -> Vec<String> {
    let mut out = Vec::new();
    for a in approvals.iter().filter(|a| a.state == ApprovalState::Approved) {
        push_unique(&mut out, &a.approver.display);
    }
    out
}

const UNEXPLAINED_SHOWN: usize = 50;

impl Store {
    /// Every grant and removal for a user or a group, from the store alone.
    pub async fn grant_history(&self, target: &HistoryTarget, now: DateTime<Utc>) -> Result<GrantHistory, StoreError> {
        let mut freshness = Vec::new();
        for s in HISTORY_SOURCES {
            freshness.push(SourceFreshness {
                source: s.to_string(),
                synced_at: self.watermark(s).await?.map(|w| w.synced_at),
            });
        }
        let (status, entries, unexplained) = match target {
            HistoryTarget::User(login) => self.user_history(login).await?,
            HistoryTarget::Group(name) => self.group_history(name).await?,
        };
        let unexplained_total = unexplained.len();
        Ok(GrantHistory {
            target: target.clone(),
            status,
            entries,
            unexplained: unexplained.into_iter().take(UNEXPLAINED_SHOWN).collect(),
            unexplained_total,
            freshness,
            generated_at: now,
        })
    }

    async fn user_history(&self, login: &str) -> Result<(Option<String>, Vec<GrantEntry>, Vec<String>), StoreError> {
        let user = self.okta_user(login).await?;
        let login = user.as_ref().map_or_else(|| login.to_string(), |u| u.login.clone());
        let mut audit = self.audit_records_for_subject(&login).await?;
        if login != login.to_lowercase() {
            audit.extend(self.audit_records_for_subject(&login.to_lowercase()).await?);
            audit.sort_by_key(|r| r.seq);
        }
        let mut keys = vec![login.as_str()];
        if let Some(u) = &user {
            keys.push(u.id.as_str());
        }
        let okta = self.log_events_for_target(&keys, "").await?;
        let requests = self.requested_items_for(&login).await?;
        let entries = assemble(&audit, &okta, &requests);

        // Current access that no grant entry explains.
        let mut unexplained = Vec::new();
        if let Some(u) = &user {
            let detail = self.user(&u.id, 0).await?;
            let granted: HashSet<String> =
                entries.iter().filter(|e| e.change == GrantChange::Grant).map(|e| e.target.to_lowercase()).collect();
            if let Some(d) = detail {
                for g in d.groups.iter().filter(|g| g.kind != crate::domain::GroupKind::BuiltIn) {
                    if !granted.contains(&g.name.to_lowercase()) {
                        unexplained.push(g.name.clone());
                    }
                }
                for (a, _) in &d.apps {
                    if !granted.contains(&a.label.to_lowercase()) && !granted.contains(&a.name.to_lowercase()) {
                        unexplained.push(a.label.clone());
                    }
                }
            }
        }
        Ok((user.map(|u| u.status.to_string()), entries, unexplained))
    }

    async fn group_history(&self, name: &str) -> Result<(Option<String>, Vec<GrantEntry>, Vec<String>), StoreError> {
        let group = self.okta_group(name).await?;
        let app = if group.is_none() { self.okta_app(name).await? } else { None };
        let display = group
            .as_ref()
            .map(|g| g.name.clone())
            .or_else(|| app.as_ref().map(|a| a.label.clone()))
            .unwrap_or_else(|| name.to_string());
        let mut audit = self.audit_records_for_object(&display).await?;
        if let Some(a) = &app
            && a.name != display
        {
            audit.extend(self.audit_records_for_object(&a.name).await?);
        }
        // The access requests those grants belong to are filed under the user, not the group.
        let requests_ids: HashSet<String> = audit.iter().filter_map(|r| r.detail_str("access_request")).collect();
        let subjects: HashSet<String> = audit.iter().map(|r| r.subject.clone()).collect();
        for s in &subjects {
            for r in self.audit_records_for_subject(s).await? {
                if r.object != display
                    && r.detail_str("access_request").is_some_and(|a| requests_ids.contains(&a))
                    && !audit.iter().any(|x| x.seq == r.seq)
                {
                    audit.push(r);
                }
            }
        }
        audit.sort_by_key(|r| r.seq);
        let mut keys = vec![display.as_str()];
        let id = group.as_ref().map(|g| g.id.clone()).or_else(|| app.as_ref().map(|a| a.id.clone()));
        if let Some(id) = &id {
            keys.push(id.as_str());
        }
        let mut okta = self.log_events_for_target(&keys, "").await?;
        // Okta Identity Governance's decisions name the person and the OIG request, not the group:
        // fetch those of the people OIG gave it to.
        let oig_users: Vec<String> = okta
            .iter()
            .filter_map(okta_fact)
            .filter(|f| f.by_oig() && f.change == GrantChange::Grant)
            .map(|f| f.user)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !oig_users.is_empty() {
            let users: Vec<&str> = oig_users.iter().map(String::as_str).collect();
            okta.extend(self.log_events_for_target(&users, "access.request.").await?);
        }
        let requests = self.requested_items_mentioning(&display).await?;
        let entries = assemble(&audit, &okta, &requests);

        let mut unexplained = Vec::new();
        if let Some(g) = &group {
            let granted: HashSet<String> =
                entries.iter().filter(|e| e.change == GrantChange::Grant).map(|e| e.user.to_lowercase()).collect();
            const LOGINS: &str = "SELECT u.login FROM memberships m JOIN okta_users u ON u.id = m.user_id \
                                  WHERE m.group_id = $1 ORDER BY lower(u.login)";
            let logins: Vec<String> = on_pool!(self, p => sqlx::query_scalar(LOGINS).bind(&g.id).fetch_all(p).await
                .ctx("reading a group's members"))?;
            if g.kind != crate::domain::GroupKind::BuiltIn {
                unexplained = logins.into_iter().filter(|l| !granted.contains(&l.to_lowercase())).collect();
            }
        }
        Ok((None, entries, unexplained))
    }

    /// Requested items whose catalog item, summary or description mentions `name`, with approvals.
    pub async fn requested_items_mentioning(&self, name: &str) -> Result<Vec<(Ticket, Vec<Approval>)>, StoreError> {
        const SQL: &str = "SELECT sys_id FROM tickets WHERE kind = 'requested_item' AND \
                           (instr(lower(cat_item), lower($1)) > 0 OR instr(lower(short_description), lower($1)) > 0 \
                           OR instr(lower(description), lower($1)) > 0) ORDER BY opened_us DESC";
        const PG: &str = "SELECT sys_id FROM tickets WHERE kind = 'requested_item' AND \
                          (strpos(lower(cat_item), lower($1)) > 0 OR strpos(lower(short_description), lower($1)) > 0 \
                          OR strpos(lower(description), lower($1)) > 0) ORDER BY opened_us DESC";
        if name.trim().is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = match &self.backend {
            super::Backend::Sqlite(p) => {
                sqlx::query_scalar(SQL).bind(name).fetch_all(p).await.ctx("finding requested items")?
            }
            super::Backend::Postgres(p) => {
                sqlx::query_scalar(PG).bind(name).fetch_all(p).await.ctx("finding requested items")?
            }
        };
        let mut out = Vec::new();
        for id in ids {
            if let Some(d) = self.ticket(&id).await? {
                out.push((d.ticket, d.approvals));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{AuditEvent, Outcome, seal_chain};
    use crate::domain::{LogActor, LogTarget, Reference, TicketKind};
    use serde_json::json;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-01T09:00:00Z").unwrap().with_timezone(&Utc) + Duration::hours(h)
    }

    fn okta_event(uuid: &str, kind: &str, group: &str, at: DateTime<Utc>, request_id: &str) -> LogEvent {
        LogEvent {
            uuid: uuid.into(),
            published: at,
            event_type: kind.into(),
            display_message: String::new(),
            severity: "INFO".into(),
            actor: LogActor {
                id: "00usvc".into(),
                kind: "PublicClientApp".into(),
                alternate_id: "grantdesk-svc".into(),
                display_name: String::new(),
            },
            targets: vec![
                LogTarget {
                    id: "00uriley".into(),
                    kind: "User".into(),
                    alternate_id: "riley@example.com".into(),
                    display_name: "Riley".into(),
                },
                LogTarget {
                    id: format!("00g{group}"),
                    kind: "UserGroup".into(),
                    alternate_id: "unknown".into(),
                    display_name: group.into(),
                },
            ],
            outcome: "SUCCESS".into(),
            outcome_reason: String::new(),
            request_id: request_id.into(),
        }
    }

    fn ritm(number: &str, item: &str, approval: &str, at: DateTime<Utc>) -> Ticket {
        Ticket {
            sys_id: format!("sys-{number}"),
            number: number.into(),
            kind: TicketKind::RequestedItem,
            short_description: format!("Access to {item}"),
            description: String::new(),
            state: "1".into(),
            state_label: "Open".into(),
            priority: 4,
            active: true,
            caller: Reference::default(),
            caller_email: "riley@example.com".into(),
            assignment_group: Reference::default(),
            assigned_to: Reference::default(),
            category: String::new(),
            parent: Reference::default(),
            cat_item: item.into(),
            opened_at: at,
            updated_at: at,
            updated_by: String::new(),
            mod_count: 0,
            sla_due: None,
            sla_breached: false,
            resolved_at: None,
            close_code: String::new(),
            close_notes: String::new(),
            approval: approval.into(),
        }
    }

    fn approved_by(ticket: &Ticket, who: &str, at: DateTime<Utc>) -> Approval {
        Approval {
            sys_id: format!("{}-{who}", ticket.sys_id),
            approver: Reference { sys_id: who.into(), display: who.into() },
            document: Reference { sys_id: ticket.sys_id.clone(), display: ticket.number.clone() },
            state: ApprovalState::Approved,
            comments: String::new(),
            created_on: at,
            updated_on: at,
        }
    }

    #[test]
    fn a_grantdesk_grant_is_joined_with_its_request_and_its_okta_event() {
        let events = vec![
            AuditEvent::new("dana.desk", action::ACCESS_REQUEST_CREATE, Outcome::Success)
                .at(t(0))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("RITM0010001")
                .details(json!({"access_request": "ar1", "justification": "on call this week"})),
            AuditEvent::new("morgan.manager", action::ACCESS_REQUEST_APPROVE, Outcome::Success)
                .at(t(1))
                .subject("riley@example.com")
                .details(json!({"access_request": "ar1"})),
            AuditEvent::new("alex.approver", action::ACCESS_REQUEST_APPROVE, Outcome::Success)
                .at(t(2))
                .subject("riley@example.com")
                .details(json!({"access_request": "ar1"})),
            AuditEvent::new("alex.approver", action::GRANT_ADD, Outcome::Success)
                .at(t(2))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("RITM0010001")
                .request_id("req-1")
                .details(
                    json!({"access_request": "ar1", "target_kind": "group", "expires_at": "2025-03-01T19:00:00Z"}),
                ),
            AuditEvent::new("grantdesk", action::GRANT_REMOVE, Outcome::Success)
                .at(t(10))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .details(json!({"access_request": "ar1", "target_kind": "group", "reason": "expired"})),
        ];
        let audit = seal_chain(None, &events).unwrap();
        let okta = vec![
            okta_event("e1", "group.user_membership.add", "aws-prod-readonly", t(2) + Duration::seconds(1), "req-1"),
            okta_event(
                "e2",
                "group.user_membership.remove",
                "aws-prod-readonly",
                t(10) + Duration::seconds(2),
                "req-9",
            ),
        ];
        let entries = assemble(&audit, &okta, &[]);
        assert_eq!(entries.len(), 2, "{entries:#?}");
        let g = &entries[0];
        assert_eq!((g.change, g.by.as_str(), g.ticket.as_str()), (GrantChange::Grant, "alex.approver", "RITM0010001"));
        assert_eq!(g.approved_by, ["morgan.manager", "alex.approver"]);
        assert_eq!(g.justification, "on call this week");
        assert_eq!(g.expires_at, Some(t(10)));
        assert!(matches!(&g.okta, Confirmation::Confirmed { uuid, .. } if uuid == "e1"));
        let r = &entries[1];
        assert_eq!((r.change, r.justification.as_str()), (GrantChange::Removal, "expired"));
        assert!(
            matches!(&r.okta, Confirmation::Confirmed { uuid, .. } if uuid == "e2"),
            "matched by user, group and time"
        );
    }

    #[test]
    fn changes_outside_grantdesk_are_explained_by_servicenow_or_flagged() {
        let approved = ritm("RITM0010002", "github-engineering", "approved", t(0));
        let approvals = vec![approved_by(&approved, "morgan.manager", t(1))];
        let never_applied = ritm("RITM0010003", "salesforce", "approved", t(0));
        let na_approvals = vec![approved_by(&never_applied, "alex.approver", t(2))];
        let pending = ritm("RITM0010004", "zoom-users", "requested", t(0));
        let okta = vec![
            okta_event("e1", "group.user_membership.add", "github-engineering", t(3), "r1"),
            okta_event("e2", "group.user_membership.add", "aws-prod-admin", t(4), "r2"),
        ];
        let requests = vec![(approved, approvals), (never_applied, na_approvals), (pending, vec![])];
        let entries = assemble(&[], &okta, &requests);
        assert_eq!(entries.len(), 3, "{entries:#?}");
        let na = &entries[0];
        assert_eq!((na.ticket.as_str(), na.okta.clone()), ("RITM0010003", Confirmation::NotSeen));
        assert!(na.note.contains("no grant seen"));
        let gh = &entries[1];
        assert_eq!((gh.target.as_str(), gh.ticket.as_str()), ("github-engineering", "RITM0010002"));
        assert_eq!(gh.approved_by, ["morgan.manager"]);
        assert_eq!(gh.sources, ["okta", "servicenow"]);
        let orphan = &entries[2];
        assert_eq!((orphan.target.as_str(), orphan.ticket.as_str()), ("aws-prod-admin", ""));
        assert!(orphan.note.contains("outside grantdesk"));
    }

    #[test]
    fn failed_and_intended_grants_are_not_grants() {
        let events = vec![
            AuditEvent::new("dana.desk", action::GRANT_ADD, Outcome::Intent).at(t(0)).subject("riley@example.com"),
            AuditEvent::new("dana.desk", action::GRANT_ADD, Outcome::Failure).at(t(0)).subject("riley@example.com"),
        ];
        assert!(assemble(&seal_chain(None, &events).unwrap(), &[], &[]).is_empty());
    }

    fn oig_actor() -> LogActor {
        LogActor {
            id: "0oaoar".into(),
            kind: "PublicClientApp".into(),
            alternate_id: OIG_ACTOR.into(),
            display_name: OIG_ACTOR.into(),
        }
    }

    fn oig_resolve(uuid: &str, request: &str, entry: &str, approver: &str, at: DateTime<Utc>) -> LogEvent {
        let mut e = okta_event(uuid, "access.request.resolve", "unused", at, "");
        e.actor = LogActor {
            id: format!("00u{approver}"),
            kind: "User".into(),
            alternate_id: approver.into(),
            display_name: approver.into(),
        };
        e.targets[1] = LogTarget {
            id: request.into(),
            kind: "AccessRequest".into(),
            alternate_id: request.into(),
            display_name: entry.into(),
        };
        e.outcome_reason = "APPROVED".into();
        e
    }

    #[test]
    fn a_grantdesk_request_recorded_in_servicenow_is_one_grant() {
        let ar = "AR-1A2B3C4D";
        let events = vec![
            AuditEvent::new("dana.desk", action::ACCESS_REQUEST_CREATE, Outcome::Success)
                .at(t(0))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("INC0010001")
                .details(json!({"access_request": ar, "justification": "payments outage"})),
            AuditEvent::new("dana.desk", "access_request.update", Outcome::Success)
                .at(t(0))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .details(json!({"access_request": ar, "servicenow_record": "RITM0010009"})),
            AuditEvent::new("morgan.manager", action::ACCESS_REQUEST_APPROVE, Outcome::Success)
                .at(t(1))
                .subject("riley@example.com")
                .details(json!({"access_request": ar})),
            AuditEvent::new("morgan.manager", action::GRANT_ADD, Outcome::Success)
                .at(t(1))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("INC0010001")
                .details(json!({"access_request": ar, "target_kind": "group", "okta_event": "e-proof",
                                "approvers": ["morgan.manager@example.com"], "servicenow_record": "RITM0010009",
                                "expires_at": null})),
        ];
        let audit = seal_chain(None, &events).unwrap();
        // Two Okta events would match by user, group and time; the one grantdesk saw is named.
        let okta = vec![
            okta_event("e-other", "group.user_membership.add", "aws-prod-readonly", t(1), ""),
            okta_event("e-proof", "group.user_membership.add", "aws-prod-readonly", t(1) + Duration::seconds(3), ""),
        ];
        // The RITM grantdesk filed, approved in ServiceNow by the same decision…
        let mut ritm9 = ritm("RITM0010009", "", "approved", t(0));
        ritm9.short_description = "Access request: aws-prod-readonly for riley@example.com".into();
        ritm9.description = format!("dana requested group aws-prod-readonly.\n\ngrantdesk request {ar}");
        let a9 = vec![approved_by(&ritm9, "Morgan Manager", t(1))];
        // …and a RITM raised by hand then taken over by grantdesk (marker only).
        let mut ritm3 = ritm("RITM0010003", "aws-prod-readonly", "approved", t(0));
        ritm3.description = format!("please\n\ngrantdesk request {ar}");
        let a3 = vec![approved_by(&ritm3, "Morgan Manager", t(1))];
        let entries = assemble(&audit, &okta, &[(ritm9, a9), (ritm3, a3)]);
        let grants: Vec<_> = entries.iter().filter(|e| !e.ticket.is_empty()).collect();
        assert_eq!(grants.len(), 1, "{entries:#?}");
        let g = grants[0];
        assert_eq!((g.request.as_str(), g.record.as_str(), g.ticket.as_str()), (ar, "RITM0010009", "INC0010001"));
        assert_eq!(g.sources, ["grantdesk", "okta", "servicenow"]);
        assert_eq!(g.approved_by, ["morgan.manager@example.com"], "one person, named once");
        assert_eq!(g.expires_at, None);
        assert!(matches!(&g.okta, Confirmation::Confirmed { uuid, .. } if uuid == "e-proof"));
        assert!(entries.iter().all(|e| !e.note.contains("no grant seen")), "{entries:#?}");
        // The other Okta event is a second add grantdesk did not make.
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().any(|e| e.note.contains("outside grantdesk")));
    }

    #[test]
    fn oig_routed_grants_show_their_approvers() {
        let ar = "AR-0160A11D";
        let events = vec![
            AuditEvent::new("dana.desk", action::ACCESS_REQUEST_CREATE, Outcome::Success)
                .at(t(0))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("INC0010002")
                .details(json!({"access_request": ar, "justification": "quarter close", "route": ["oig"]})),
            AuditEvent::new("dana.desk", "access_request.update", Outcome::Success)
                .at(t(0))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("INC0010002")
                .details(json!({"access_request": ar, "oig_request": "oig-77"})),
            AuditEvent::new("dana.desk", "access_request.update", Outcome::Success)
                .at(t(3))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("INC0010002")
                .details(json!({"access_request": ar, "status": "granted", "oig_request": "oig-77",
                                "decided_by": ["morgan.manager@example.com"], "route": "oig",
                                "expires_at": "2025-03-02T09:00:00Z"})),
            AuditEvent::new("dana.desk", "access_request.update", Outcome::Success)
                .at(t(30))
                .subject("riley@example.com")
                .object("aws-prod-readonly")
                .ticket("INC0010002")
                .details(json!({"access_request": ar, "status": "revoked", "oig_request": "oig-77", "route": "oig"})),
        ];
        let audit = seal_chain(None, &events).unwrap();
        let mut add = okta_event("o1", "group.user_membership.add", "aws-prod-readonly", t(2), "");
        add.actor = oig_actor();
        let mut remove = okta_event("o2", "group.user_membership.remove", "aws-prod-readonly", t(24), "");
        remove.actor = oig_actor();
        let okta =
            vec![oig_resolve("d1", "oig-77", "AWS prod read-only", "alex.approver@example.com", t(2)), add, remove];
        let entries = assemble(&audit, &okta, &[]);
        assert_eq!(entries.len(), 2, "{entries:#?}");
        let g = &entries[0];
        assert_eq!((g.change, g.when, g.by.as_str()), (GrantChange::Grant, t(2), OIG_ACTOR));
        assert_eq!(g.approved_by, ["morgan.manager@example.com", "alex.approver@example.com"]);
        assert_eq!(
            (g.justification.as_str(), g.ticket.as_str(), g.request.as_str()),
            ("quarter close", "INC0010002", ar)
        );
        assert_eq!(g.expires_at, Some(t(24)));
        assert!(matches!(&g.okta, Confirmation::Confirmed { uuid, .. } if uuid == "o1"));
        assert!(g.note.contains("Okta Identity Governance") && !g.note.contains("outside"), "{}", g.note);
        let r = &entries[1];
        assert_eq!((r.change, r.when), (GrantChange::Removal, t(24)));
        assert!(matches!(&r.okta, Confirmation::Confirmed { uuid, .. } if uuid == "o2"));
    }

    #[test]
    fn oig_grants_made_outside_grantdesk_are_explained_by_the_system_log() {
        let mut add = okta_event("o1", "group.user_membership.add", "github-engineering", t(5), "");
        add.actor = oig_actor();
        let okta = vec![
            oig_resolve("d1", "oig-2", "GitHub Engineering", "alex.approver@example.com", t(4)),
            // Later, but about something else.
            oig_resolve("d0", "oig-1", "salesforce", "sam.security@example.com", t(5) - Duration::seconds(1)),
            add,
        ];
        let entries = assemble(&[], &okta, &[]);
        assert_eq!(entries.len(), 1, "{entries:#?}");
        let e = &entries[0];
        assert_eq!(e.approved_by, ["alex.approver@example.com"]);
        assert_eq!(e.by, OIG_ACTOR);
        assert!(e.note.contains("oig-2") && !e.note.contains("outside grantdesk"), "{}", e.note);
    }
}
