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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// An Okta membership event reduced to what history needs.
struct OktaFact<'a> {
    event: &'a LogEvent,
    change: GrantChange,
    kind: &'static str,
    user: String,
    target: String,
    target_id: String,
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

fn json_strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !item.is_empty() && !list.iter().any(|x| x.eq_ignore_ascii_case(item)) {
        list.push(item.to_string());
    }
}

/// Joins the three sources into entries, oldest first. Pure: the store gathers, this decides.
pub fn assemble(audit: &[AuditRecord], okta: &[LogEvent], requests: &[(Ticket, Vec<Approval>)]) -> Vec<GrantEntry> {
    // What access requests say: justification and approvers, by request id.
    let mut justification: HashMap<String, String> = HashMap::new();
    let mut approvers: HashMap<String, Vec<String>> = HashMap::new();
    for r in audit {
        let Some(ar) = r.detail_str("access_request") else { continue };
        if r.action == action::ACCESS_REQUEST_CREATE
            && let Some(j) = r.detail_str("justification")
        {
            justification.insert(ar.clone(), j);
        }
        if r.action == action::ACCESS_REQUEST_APPROVE && r.outcome == "success" {
            push_unique(approvers.entry(ar).or_default(), &r.operator);
        }
    }

    let facts: Vec<OktaFact> = okta.iter().filter_map(okta_fact).collect();
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
        let mut approved_by = json_strings(details.get("approvers"));
        for a in approvers.get(&request).into_iter().flatten() {
            // Approve events name the operator by user name; the grant names approvers by login
            // (`user@domain`): the same person once.
            if !approved_by.iter().any(|x| x.split('@').next().is_some_and(|u| u.eq_ignore_ascii_case(a))) {
                push_unique(&mut approved_by, a);
            }
        }
        let target_kind = r.detail_str("target_kind").unwrap_or_else(|| "group".into());
        let target_id = r.detail_str("target_id").unwrap_or_default();
        // The Okta event of this very call carries the same request id; failing that, the same
        // user, target and direction shortly after.
        let matched = facts.iter().enumerate().position(|(i, f)| {
            !used[i] && !r.request_id.is_empty() && f.event.request_id == r.request_id && f.change == change
        });
        let matched = matched.or_else(|| {
            facts.iter().enumerate().position(|(i, f)| {
                !used[i]
                    && f.change == change
                    && f.user.eq_ignore_ascii_case(&r.subject)
                    && (f.target.eq_ignore_ascii_case(&r.object) || (!target_id.is_empty() && f.target_id == target_id))
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
        let mut sources = vec!["grantdesk"];
        if matches!(okta, Confirmation::Confirmed { .. }) {
            sources.push("okta");
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
                GrantChange::Grant => r.detail_str("justification").or_else(|| justification.get(&request).cloned()),
            }
            .unwrap_or_default(),
            ticket: r.ticket.clone(),
            expires_at: r
                .detail_str("expires_at")
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc)),
            okta,
            sources,
            note: String::new(),
        });
    }

    // Okta changes grantdesk did not make: explained, where possible, by a ServiceNow request.
    let mut requests_used: HashSet<&str> = HashSet::new();
    for (i, f) in facts.iter().enumerate() {
        if used[i] {
            continue;
        }
        let request = (f.change == GrantChange::Grant)
            .then(|| {
                requests
                    .iter()
                    .filter(|(t, _)| {
                        t.caller_email.eq_ignore_ascii_case(&f.user)
                            && mentions(t, &f.target)
                            && t.opened_at <= f.event.published
                    })
                    .max_by_key(|(t, _)| t.opened_at)
            })
            .flatten();
        let (ticket, approved_by, justification, mut sources) = match request {
            Some((t, approvals)) => {
                requests_used.insert(t.sys_id.as_str());
                (t.number.clone(), approvers_of(approvals), t.short_description.clone(), vec!["okta", "servicenow"])
            }
            None => (String::new(), Vec::new(), String::new(), vec!["okta"]),
        };
        sources.dedup();
        let note = if request.is_none() && f.change == GrantChange::Grant {
            "made outside grantdesk; no request on record".to_string()
        } else {
            String::new()
        };
        entries.push(GrantEntry {
            when: f.event.published,
            change: f.change,
            user: f.user.clone(),
            target: f.target.clone(),
            target_kind: f.kind.to_string(),
            by: if f.event.actor.alternate_id.is_empty() {
                f.event.actor.display_name.clone()
            } else {
                f.event.actor.alternate_id.clone()
            },
            approved_by,
            justification,
            ticket,
            expires_at: None,
            okta: Confirmation::Confirmed { uuid: f.event.uuid.clone(), published: f.event.published },
            sources,
            note,
        });
    }

    // Requests approved in ServiceNow that no grant follows. A RITM grantdesk wrote to record its
    // own request (route `servicenow`) is that request, told above, not a second grant.
    let mut recorded_tickets: HashSet<String> = entries.iter().map(|e| e.ticket.to_ascii_uppercase()).collect();
    recorded_tickets
        .extend(audit.iter().filter_map(|r| r.detail_str("servicenow_record")).map(|t| t.to_ascii_uppercase()));
    for (t, approvals) in requests {
        if requests_used.contains(t.sys_id.as_str()) || recorded_tickets.contains(&t.number.to_ascii_uppercase()) {
            continue;
        }
        let approved = t.approval == "approved"
            || (!approvals.is_empty() && approvals.iter().all(|a| a.state == ApprovalState::Approved));
        if !approved {
            continue;
        }
        let when = approvals.iter().map(|a| a.updated_on).max().unwrap_or(t.updated_at);
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
            note: "approved in ServiceNow; no grant seen in Okta or grantdesk".into(),
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
        let okta = self.log_events_for_target(&keys, "").await?;
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
}
