use std::collections::HashMap;
use std::time::Duration;

use chrono::TimeZone as _;

use super::*;
use crate::domain::catalog::{Catalog, Step};

/// A small directory: riley reports to morgan, morgan to vp, alex owns the groups.
struct Dir {
    managers: HashMap<&'static str, &'static str>,
    groups: HashMap<&'static str, Vec<&'static str>>,
    owners: HashMap<&'static str, Vec<&'static str>>,
}

fn dir() -> Dir {
    Dir {
        managers: HashMap::from([
            ("riley", "morgan"),
            ("casey", "morgan"),
            ("morgan", "vp"),
            ("alex", "it-head"),
            ("dana", "it-head"),
            ("sam", "ciso"),
        ]),
        groups: HashMap::from([
            ("dept-engineering", vec!["riley", "casey", "morgan"]),
            ("it-approvers-standard", vec!["dana", "alex"]),
            ("aws-prod-readonly", vec![]),
        ]),
        owners: HashMap::from([("aws-prod-readonly", vec!["alex"]), ("zoom-users", vec!["alex"])]),
    }
}

impl Directory for Dir {
    fn user_exists(&self, login: &str) -> bool {
        self.managers.contains_key(login) || self.managers.values().any(|m| *m == login)
    }
    fn group_exists(&self, group: &str) -> bool {
        self.groups.contains_key(group) || self.owners.contains_key(group)
    }
    fn app_exists(&self, _app: &str) -> bool {
        true
    }
    fn manager_of(&self, login: &str) -> Option<String> {
        self.managers.get(login).map(|s| s.to_string())
    }
    fn group_owners(&self, group: &str) -> Vec<String> {
        self.owners.get(group).map(|v| v.iter().map(|s| s.to_string()).collect()).unwrap_or_default()
    }
    fn group_members(&self, group: &str) -> Vec<String> {
        self.groups.get(group).map(|v| v.iter().map(|s| s.to_string()).collect()).unwrap_or_default()
    }
    fn groups_of(&self, login: &str) -> Vec<String> {
        self.groups.iter().filter(|(_, m)| m.contains(&login)).map(|(g, _)| g.to_string()).collect()
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn entry(steps: Vec<Step>) -> CatalogEntry {
    CatalogEntry {
        name: "aws-prod-readonly".into(),
        target: Target::Group("aws-prod-readonly".into()),
        description: String::new(),
        requestable_by: vec!["dept-engineering".into()],
        approval: steps,
        max_duration: Some(Duration::from_secs(8 * 3600)),
        justification_required: true,
        routes: vec![Route::Okta, Route::ServiceNow],
        owners: vec![],
    }
}

fn step(rule: ApproverRule) -> Step {
    Step { approvers: rule, quorum: Quorum::Any, timeout: None, on_timeout: OnTimeout::Escalate }
}

fn manager_then_owner() -> CatalogEntry {
    entry(vec![step(ApproverRule::Manager), step(ApproverRule::GroupOwner)])
}

fn raise(e: &CatalogEntry, by: &str) -> AccessRequest {
    AccessRequest::raise("r1".into(), e, "riley", by, Some("RITM0010001".into()), "on-call", None, t0(), &dir())
        .unwrap()
}

#[test]
fn two_step_sequence_runs_manager_then_owner() {
    let mut r = raise(&manager_then_owner(), "dana");
    assert_eq!(r.current_approvers(), ["morgan"]);
    assert_eq!(r.duration, Some(Duration::from_secs(8 * 3600)), "time-bound entries default to their maximum");
    let out = r.decide("morgan", Verdict::Approve, "ok", t0()).unwrap();
    assert_eq!(out, DecisionOutcome::StepPassed { next: 1, approvers: vec!["alex".into()] });
    assert_eq!(r.decide("alex", Verdict::Approve, "ok", t0()).unwrap(), DecisionOutcome::Approved);
    assert_eq!(r.status, RequestStatus::Approved);
    assert_eq!(r.approvers_so_far(), ["morgan", "alex"]);
}

#[test]
fn nobody_approves_for_themselves() {
    let mut r = raise(&entry(vec![step(ApproverRule::GroupMember("dept-engineering".into()))]), "dana");
    assert_eq!(r.decide("riley", Verdict::Approve, "", t0()), Err(Refusal::SelfApproval { approver: "riley".into() }));
    assert_eq!(r.status, RequestStatus::Pending);
    assert!(r.decisions.is_empty());
}

#[test]
fn nobody_approves_a_request_they_raised() {
    let e = entry(vec![step(ApproverRule::GroupMember("it-approvers-standard".into()))]);
    let mut r = raise(&e, "dana");
    assert!(!r.current_approvers().contains(&"dana".to_string()), "the raiser is not an eligible approver");
    assert_eq!(
        r.decide("dana", Verdict::Approve, "", t0()),
        Err(Refusal::RaisedByApprover { approver: "dana".into() })
    );
    assert!(r.decide("alex", Verdict::Approve, "", t0()).is_ok());
}

#[test]
fn manager_who_raised_it_is_escalated_to_their_manager() {
    let r = raise(&manager_then_owner(), "morgan");
    assert_eq!(r.current_approvers(), ["vp"]);
    assert!(r.steps[0].escalated);
}

#[test]
fn outsiders_are_refused_and_told_who_may() {
    let mut r = raise(&manager_then_owner(), "dana");
    match r.decide("alex", Verdict::Approve, "", t0()) {
        Err(Refusal::NotAnApprover { step: 1, approvers, .. }) => assert_eq!(approvers, "morgan"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_denial_ends_the_request_and_late_deciders_learn_who_won() {
    let mut r = raise(&manager_then_owner(), "dana");
    assert_eq!(r.decide("morgan", Verdict::Deny, "not needed", t0()).unwrap(), DecisionOutcome::Denied);
    assert_eq!(
        r.decide("morgan", Verdict::Approve, "", t0()),
        Err(Refusal::NotPending { status: RequestStatus::Denied, by: Some("morgan".into()) })
    );
}

#[test]
fn quorum_all_waits_for_everyone() {
    let mut e = entry(vec![step(ApproverRule::GroupMember("it-approvers-standard".into()))]);
    e.approval[0].quorum = Quorum::All;
    let mut r = raise(&e, "sam");
    assert_eq!(r.decide("alex", Verdict::Approve, "", t0()).unwrap(), DecisionOutcome::Recorded);
    assert_eq!(
        r.decide("alex", Verdict::Approve, "", t0()),
        Err(Refusal::AlreadyDecided { approver: "alex".into(), step: 1 })
    );
    assert_eq!(r.decide("dana", Verdict::Approve, "", t0()).unwrap(), DecisionOutcome::Approved);
}

#[test]
fn timeout_escalates_once_then_expires() {
    let mut e = manager_then_owner();
    e.approval[0].timeout = Some(Duration::from_secs(3600));
    let mut r = raise(&e, "dana");
    let d = dir();
    assert_eq!(r.tick(t0() + chrono::Duration::minutes(59), &d), None);
    assert_eq!(
        r.tick(t0() + chrono::Duration::minutes(61), &d),
        Some(TickOutcome::Escalated { step: 0, added: vec!["vp".into()] })
    );
    assert_eq!(r.current_approvers(), ["morgan", "vp"]);
    assert!(r.decide("vp", Verdict::Approve, "escalated to me", t0() + chrono::Duration::minutes(62)).is_ok());

    let mut e = manager_then_owner();
    e.approval[0].timeout = Some(Duration::from_secs(3600));
    e.approval[0].on_timeout = OnTimeout::Expire;
    let mut r = raise(&e, "dana");
    assert_eq!(r.tick(t0() + chrono::Duration::hours(2), &d), Some(TickOutcome::Expired { step: 0 }));
    assert_eq!(r.status, RequestStatus::Expired);
    assert!(matches!(r.decide("morgan", Verdict::Approve, "", t0()), Err(Refusal::NotPending { .. })));
}

#[test]
fn raise_checks_requestability_justification_and_duration() {
    let e = manager_then_owner();
    let d = dir();
    let err = AccessRequest::raise("x".into(), &e, "alex", "dana", None, "why", None, t0(), &d).unwrap_err();
    assert!(matches!(err, RaiseError::NotRequestable { .. }), "{err}");
    let err = AccessRequest::raise("x".into(), &e, "riley", "dana", None, "  ", None, t0(), &d).unwrap_err();
    assert!(matches!(err, RaiseError::JustificationRequired { .. }));
    let err = AccessRequest::raise(
        "x".into(),
        &e,
        "riley",
        "dana",
        None,
        "why",
        Some(Duration::from_secs(9 * 3600)),
        t0(),
        &d,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "aws-prod-readonly may be granted for at most 8h; 9h was asked");
}

#[test]
fn granted_access_expires_after_its_duration() {
    let mut r = raise(&manager_then_owner(), "dana");
    r.decide("morgan", Verdict::Approve, "", t0()).unwrap();
    r.decide("alex", Verdict::Approve, "", t0()).unwrap();
    r.mark_granted(t0());
    assert_eq!(r.expires_at, Some(t0() + chrono::Duration::hours(8)));
    assert!(!r.is_due_for_removal(t0() + chrono::Duration::hours(7)));
    assert!(r.is_due_for_removal(t0() + chrono::Duration::hours(8)));
}

#[test]
fn demo_catalog_validates_against_a_directory_and_reports_unknowns() {
    let c = Catalog::demo();
    let problems = c.validate(&dir());
    // The toy directory lacks most demo groups: each is reported by entry name.
    assert!(problems.iter().any(|p| p.entry == "finance-netsuite" && p.problem.contains("finance-netsuite")));
    assert!(problems.iter().any(|p| p.problem.contains("sam.security@example.com")));
}
