//! The fixture's access requests (a FIXTURE, not the product): a deterministic approvals inbox,
//! granted requests expiring over the next days, orphan grants and the demo catalog, with
//! decisions, raises and extensions applied the way the engine would — including one request
//! someone else decides first (refused by policy) and one whose first attempt fails (retryable).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};

use super::{FixtureData, GROUPS, OPERATOR};
use crate::domain::catalog::{ApproverRule, Catalog, OnTimeout, Quorum, Route, Target};
use crate::domain::request::{AccessRequest, Decision, ExternalRefs, RequestStatus, StepProgress, Verdict};
use crate::tui::action::Action;
use crate::tui::effect::{
    AccessData, AccessList, BulkOutcome, CatalogChoice, Command, OrphanRow, PreviewInfo, RequestDraft, RequestRow,
};

/// The fixture's access-request data.
#[derive(Debug, Clone, Default)]
pub struct FixtureAccess {
    /// Requests (any status).
    pub requests: Vec<RequestRow>,
    /// Orphan grants.
    pub orphans: Vec<OrphanRow>,
    /// Requests another approver decides just before the operator does.
    decided_elsewhere: HashSet<String>,
    /// Requests whose next decision fails once (a 503), then works.
    flaky: HashSet<String>,
    /// Who sits at the console (`:as`).
    pub operator: String,
}

const ENTRIES: [(&str, &str); 6] = [
    ("aws-prod-readonly", "Investigating the INC backlog on production"),
    ("github-engineering", "Joining the platform team"),
    ("salesforce", "Covering the EMEA pipeline review"),
    ("zoom-users", "Customer calls"),
    ("finance-netsuite", "Quarter close"),
    ("slack-guests", "Agency collaboration"),
];

fn login(user: &str) -> String {
    format!("{user}@example.com")
}

fn rule_approvers(rule: &ApproverRule) -> Vec<String> {
    match rule {
        ApproverRule::Manager => vec![login("morgan.manager")],
        ApproverRule::GroupOwner | ApproverRule::AppOwner => vec![login("alex.approver")],
        ApproverRule::User(u) => vec![u.clone()],
        ApproverRule::GroupMember(_) => vec![login("sam.security"), login("alex.approver")],
    }
}

/// The apps a fixture group grants.
fn group_apps(group: &str) -> Vec<String> {
    GROUPS.iter().find(|g| g.0 == group).map(|g| g.2.iter().map(|a| (*a).to_string()).collect()).unwrap_or_default()
}

fn request(
    id: String,
    entry: &str,
    who: &str,
    by: &str,
    ticket: Option<String>,
    why: &str,
    at: DateTime<Utc>,
) -> RequestRow {
    let step = |rule: ApproverRule| StepProgress {
        approvers: rule_approvers(&rule),
        rule,
        quorum: Quorum::Any,
        timeout: Some(Duration::from_secs(24 * 3600)),
        on_timeout: OnTimeout::Escalate,
        escalated: false,
    };
    let request = AccessRequest {
        id,
        entry: entry.to_string(),
        target: Target::Group(entry.to_string()),
        routes: vec![Route::Okta, Route::ServiceNow],
        requested_for: who.to_string(),
        requested_by: by.to_string(),
        ticket,
        justification: why.to_string(),
        duration: Some(Duration::from_secs(8 * 3600)),
        created_at: at,
        status: RequestStatus::Pending,
        steps: vec![step(ApproverRule::Manager), step(ApproverRule::GroupOwner)],
        current_step: 0,
        step_started_at: at,
        decisions: Vec::new(),
        external: ExternalRefs::default(),
        granted_at: None,
        expires_at: None,
        revoked_at: None,
    };
    // The blast radius, as the engine's handler gives it: the group's apps.
    RequestRow { request, grants: group_apps(entry) }
}

impl FixtureAccess {
    /// The access data of a fixture world.
    pub fn generate(data: &FixtureData) -> FixtureAccess {
        let now = data.now;
        let people: Vec<&str> = data.users.iter().skip(6).map(|u| u.login.as_str()).collect();
        let person = |k: usize| people.get(k % people.len().max(1)).copied().unwrap_or("riley.requester@example.com");
        let ticket = |k: usize| data.rows.get((k * 53) % data.rows.len().max(1)).map(|r| r.number.clone());
        let mut requests = Vec::new();
        for k in 0..14usize {
            let (entry, why) = ENTRIES[k % ENTRIES.len()];
            let at = now - Span::minutes((k as i64 + 1) * 173);
            let by = if k % 3 == 0 { login("riley.requester") } else { login("sam.security") };
            let mut r =
                request(format!("AR-{:08X}", 0x1A2B_0000 + k * 0x111), entry, person(k), &by, ticket(k), why, at);
            // The operator approves the first step (as a delegate of the manager) in the fixture.
            r.request.steps[0].approvers = vec![login(OPERATOR)];
            if k == 0 {
                r.request.requested_for = login("riley.requester");
            }
            requests.push(r);
        }
        for (k, hours) in [(0usize, 0.5f64), (1, 3.0), (2, 20.0), (3, 30.0), (4, 72.0), (5, 130.0)] {
            let (entry, why) = ENTRIES[(k + 2) % ENTRIES.len()];
            let granted = now - Span::hours(6);
            let who = if k == 0 { login("casey.contractor") } else { person(k + 20).to_string() };
            let mut r = request(
                format!("AR-{:08X}", 0x5E00_0000 + k * 0x1F),
                entry,
                &who,
                &login(OPERATOR),
                ticket(k + 7),
                why,
                granted - Span::hours(1),
            );
            r.request.status = RequestStatus::Granted;
            r.request.current_step = 2;
            r.request.decisions = r
                .request
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| Decision {
                    step: i,
                    approver: s.approvers[0].clone(),
                    verdict: Verdict::Approve,
                    comment: "ok".into(),
                    at: granted - Span::minutes(30 - i as i64 * 10),
                })
                .collect();
            r.request.granted_at = Some(granted);
            r.request.expires_at = Some(now + Span::minutes((hours * 60.0) as i64));
            requests.push(r);
        }
        let orphans = (0..5usize)
            .map(|k| {
                let (entry, _) = ENTRIES[k % ENTRIES.len()];
                OrphanRow {
                    user: person(k * 7 + 3).to_string(),
                    entry: entry.to_string(),
                    group: entry.to_string(),
                    since: (k % 2 == 0).then(|| now - Span::days(30 + k as i64 * 11)),
                    added_by: if k % 2 == 0 { "admin@example.com (Okta admin console)".into() } else { String::new() },
                }
            })
            .collect();
        let ids: Vec<String> = requests.iter().map(|r| r.request.id.clone()).collect();
        FixtureAccess {
            requests,
            orphans,
            decided_elsewhere: HashSet::from([ids[2].clone()]),
            flaky: HashSet::from([ids[4].clone()]),
            operator: OPERATOR.to_string(),
        }
    }

    fn me(&self) -> String {
        login(&self.operator)
    }

    fn inbox(&self) -> Vec<RequestRow> {
        let me = self.me();
        self.requests
            .iter()
            .filter(|r| r.request.status == RequestStatus::Pending && r.request.check(&me).is_ok())
            .cloned()
            .collect()
    }

    fn expiring(&self) -> Vec<RequestRow> {
        let mut v: Vec<RequestRow> = self
            .requests
            .iter()
            .filter(|r| r.request.status == RequestStatus::Granted && r.request.expires_at.is_some())
            .cloned()
            .collect();
        v.sort_by_key(|r| r.request.expires_at);
        v
    }

    fn catalog() -> Vec<CatalogChoice> {
        Catalog::demo()
            .entries
            .into_iter()
            .map(|e| CatalogChoice {
                name: e.name,
                target: e.target.to_string(),
                description: e.description,
                max_duration: e.max_duration,
                justification_required: e.justification_required,
            })
            .collect()
    }

    /// Decides `id` as the operator, the way the engine would.
    pub fn decide(&mut self, id: &str, verdict: Verdict, comment: &str, now: DateTime<Utc>) -> BulkOutcome {
        let me = self.me();
        if self.flaky.remove(id) {
            return BulkOutcome::Failed("Okta answered 503 Service Unavailable; nothing was changed".into());
        }
        let elsewhere = self.decided_elsewhere.remove(id);
        let Some(row) = self.requests.iter_mut().find(|r| r.request.id == id) else {
            return BulkOutcome::Failed(format!("no access request {id}"));
        };
        if elsewhere {
            // Another console got there first.
            row.request.status = RequestStatus::Denied;
            let approver = login("morgan.manager");
            row.request.decisions.push(Decision {
                step: 0,
                approver,
                verdict: Verdict::Deny,
                comment: "not needed".into(),
                at: now,
            });
        }
        match row.request.decide(&me, verdict, comment, now) {
            Ok(_) => {
                BulkOutcome::Done(format!("{id} {}", if verdict == Verdict::Approve { "approved" } else { "denied" }))
            }
            Err(refusal) => BulkOutcome::Refused(format!("cannot decide {id}: {refusal}")),
        }
    }

    /// Applies an access command; `None` for the others.
    pub fn apply(&mut self, command: &Command, now: DateTime<Utc>) -> Option<Result<String, String>> {
        Some(match command {
            Command::Decide { id, verdict, comment } => match self.decide(id, *verdict, comment, now) {
                BulkOutcome::Done(m) => Ok(m),
                BulkOutcome::Refused(e) | BulkOutcome::Failed(e) => Err(e),
            },
            Command::RaiseRequest(d) => {
                let id = format!("AR-{:08X}", 0x7700_0000 + self.requests.len());
                let me = self.me();
                let r = request(id.clone(), &d.entry, &d.requested_for, &me, d.ticket.clone(), &d.justification, now);
                let waiting = r.request.current_approvers().join(", ");
                self.requests.push(r);
                Ok(format!("raised {id} ({} for {}); waiting on {waiting}", d.entry, d.requested_for))
            }
            Command::Extend { id, .. } => {
                let Some(old) = self.requests.iter().find(|r| r.request.id == *id).cloned() else {
                    return Some(Err(format!("no access request {id}")));
                };
                let new = format!("AR-{:08X}", 0x7700_0000 + self.requests.len());
                let why = format!("Extension of {id}: {}", old.request.justification);
                let me = self.me();
                let q = &old.request;
                let r = request(new.clone(), &q.entry, &q.requested_for, &me, q.ticket.clone(), &why, now);
                self.requests.push(r);
                Ok(format!("raised {new} to extend {id}; waiting on morgan.manager@example.com"))
            }
            _ => return None,
        })
    }

    fn preview(&self, data: &FixtureData, draft: &RequestDraft) -> Result<PreviewInfo, String> {
        if data.user_detail(&draft.requested_for).is_none() {
            return Err(format!("{} is not an Okta user", draft.requested_for));
        }
        let catalog = Catalog::demo();
        let entry =
            catalog.entry(&draft.entry).ok_or_else(|| format!("`{}` is not in the access catalog", draft.entry))?;
        let mut grants = vec![format!("membership of {}", entry.target.name())];
        grants.extend(group_apps(entry.target.name()).into_iter().map(|a| format!("app {a}")));
        let steps = entry.approval.iter().map(|s| (s.approvers.to_string(), rule_approvers(&s.approvers))).collect();
        Ok(PreviewInfo { draft: draft.clone(), grants, steps })
    }
}

impl FixtureData {
    /// Answers the access effects; `None` for the others.
    pub(super) fn answer_access(&mut self, effect: &crate::tui::effect::Effect) -> Option<Vec<Action>> {
        use crate::tui::effect::Effect;
        let now = self.now;
        Some(match effect {
            Effect::LoadAccess(list) => vec![Action::AccessLoaded(match list {
                AccessList::Inbox => {
                    AccessData::Inbox { operator: self.access.operator.clone(), rows: self.access.inbox() }
                }
                AccessList::Expiring => AccessData::Expiring(self.access.expiring()),
                AccessList::Orphans => AccessData::Orphans(self.access.orphans.clone()),
                AccessList::Catalog => AccessData::Catalog(FixtureAccess::catalog()),
            })],
            Effect::PreviewRequest(draft) => match self.access.preview(self, draft) {
                Ok(p) => vec![Action::PreviewLoaded(Box::new(p))],
                Err(e) => vec![Action::PreviewFailed(e)],
            },
            Effect::BulkDecide { batch, ids, verdict, comment } => ids
                .iter()
                .map(|id| Action::BulkItemDone {
                    batch: *batch,
                    id: id.clone(),
                    outcome: self.access.decide(id, *verdict, comment, now),
                })
                .collect(),
            Effect::SwitchOperator { login } => {
                let user = login.trim().split('@').next().unwrap_or_default().to_string();
                if crate::emulator::world::Persona::ALL.iter().any(|p| p.user_name() == user) {
                    self.access.operator = user.clone();
                    vec![Action::OperatorSwitched { user_name: user }]
                } else {
                    vec![Action::OperatorSwitchFailed(format!("cannot sign in as {user}: no such persona"))]
                }
            }
            _ => return None,
        })
    }
}
