//! The access-request history of the seeded world: who asked for which catalog entry, who was
//! asked to approve, and what they decided. It is a pure function of the world spec and the
//! people, public so the Okta side can give every approved request its matching membership and
//! pick its orphan grants among people with no request on record.

use chrono::{DateTime, Duration, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::emulator::world::{Department, Employment, People, Persona, Scale, WorldSpec};

/// What a catalog entry grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Membership of an Okta group.
    OktaGroup,
    /// Assignment to an Okta app.
    OktaApp,
}

/// The approval sequence of a catalog entry (WORLD.md, default catalog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approvers {
    /// Any member of `it-approvers-standard`.
    ItApproversStandard,
    /// The requester's manager.
    Manager,
    /// The manager, then the group owner.
    ManagerThenOwner,
    /// The manager, then `sam.security`.
    ManagerThenSecurity,
    /// The group (or app) owner.
    Owner,
}

/// One requestable entry of the default catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Okta group name or app key.
    pub name: &'static str,
    /// Group or app.
    pub kind: EntryKind,
    /// Approval sequence.
    pub approvers: Approvers,
    /// Maximum duration in hours; `None` is permanent.
    pub max_hours: Option<u32>,
}

/// WORLD.md's default catalog.
pub const CATALOG: [CatalogEntry; 7] = [
    CatalogEntry {
        name: "zoom-users",
        kind: EntryKind::OktaGroup,
        approvers: Approvers::ItApproversStandard,
        max_hours: None,
    },
    CatalogEntry {
        name: "slack-guests",
        kind: EntryKind::OktaGroup,
        approvers: Approvers::ItApproversStandard,
        max_hours: None,
    },
    CatalogEntry {
        name: "github-engineering",
        kind: EntryKind::OktaGroup,
        approvers: Approvers::Manager,
        max_hours: None,
    },
    CatalogEntry {
        name: "aws-prod-readonly",
        kind: EntryKind::OktaGroup,
        approvers: Approvers::ManagerThenOwner,
        max_hours: Some(8),
    },
    CatalogEntry {
        name: "aws-prod-admin",
        kind: EntryKind::OktaGroup,
        approvers: Approvers::ManagerThenSecurity,
        max_hours: Some(4),
    },
    CatalogEntry { name: "salesforce", kind: EntryKind::OktaApp, approvers: Approvers::Owner, max_hours: None },
    CatalogEntry {
        name: "finance-netsuite",
        kind: EntryKind::OktaGroup,
        approvers: Approvers::Owner,
        max_hours: Some(90 * 24),
    },
];

/// The catalog entry called `name`.
pub fn entry(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.name == name)
}

/// Members of the Okta group `it-approvers-standard`: dana.desk and the first three other IT
/// employees who are service-desk analysts or systems administrators. Both emulators must use
/// this list so ServiceNow's approval rows and Okta's group agree.
pub fn it_approvers_standard(people: &People) -> Vec<usize> {
    let mut v = vec![Persona::Dana.index()];
    v.extend(
        people
            .people
            .iter()
            .filter(|p| {
                p.persona.is_none()
                    && p.department == Department::It
                    && p.employment == Employment::Employee
                    && matches!(p.title.as_str(), "Service Desk Analyst" | "Systems Administrator")
            })
            .take(3)
            .map(|p| p.index),
    );
    v
}

/// Members of the Okta group `security-approvers`: sam.security and the first two other
/// security engineers.
pub fn security_approvers(people: &People) -> Vec<usize> {
    let mut v = vec![Persona::Sam.index()];
    v.extend(
        people
            .people
            .iter()
            .filter(|p| {
                p.persona.is_none()
                    && p.department == Department::Security
                    && p.employment == Employment::Employee
                    && p.title == "Security Engineer"
            })
            .take(2)
            .map(|p| p.index),
    );
    v
}

/// The head of a department (the person holding its head title).
pub fn department_head(people: &People, dept: Department) -> Option<usize> {
    people
        .people
        .iter()
        .find(|p| {
            p.department == dept && p.manager.is_some_and(|m| people.people[m].manager.is_none()) && p.persona.is_none()
        })
        .map(|p| p.index)
}

/// Owner of a catalog entry: alex.approver, except `finance-netsuite` (the head of Finance).
pub fn owner(people: &People, entry: &CatalogEntry) -> usize {
    if entry.name == "finance-netsuite" {
        department_head(people, Department::Finance).unwrap_or(Persona::Alex.index())
    } else {
        Persona::Alex.index()
    }
}

/// A decision on one approval step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

/// One approval step: who is asked, and (once decided) by whom, what and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// People asked (any one of them decides the step).
    pub approvers: Vec<usize>,
    /// When the step started (its approval rows were set to `requested`); `None` if not yet.
    pub asked_at: Option<DateTime<Utc>>,
    /// The decision, who made it and when.
    pub decision: Option<(Decision, usize, DateTime<Utc>)>,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Waiting on an approver.
    Pending,
    /// Approved; access granted (`granted_at` on the request).
    Approved,
    /// Rejected by an approver.
    Rejected,
}

/// One access request of the history (a ServiceNow RITM).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequest {
    /// Position in the history (also orders the RITM numbers with the other requested items).
    pub id: usize,
    /// The person the access is for.
    pub requested_for: usize,
    /// Who raised it (the person themselves, or a service-desk agent on their behalf).
    pub opened_by: usize,
    /// The catalog entry.
    pub entry: &'static CatalogEntry,
    /// When it was raised.
    pub opened_at: DateTime<Utc>,
    /// Why.
    pub justification: String,
    /// Requested duration in hours (`None`: permanent).
    pub duration_hours: Option<u32>,
    /// The approval steps, in order.
    pub steps: Vec<Step>,
    /// Overall state.
    pub outcome: Outcome,
    /// When the access was granted (approved requests only).
    pub granted_at: Option<DateTime<Utc>>,
    /// Raised through Okta Identity Governance (the ServiceNow record mirrors it).
    pub via_oig: bool,
}

const JUSTIFICATIONS: &[&str] = &[
    "Needed for the quarterly close",
    "Joining the on-call rotation next week",
    "Investigating a production incident with the platform team",
    "New project kickoff with an external partner",
    "Customer demo on Thursday",
    "Migrating reports to the new workspace",
    "Covering for a colleague on leave",
    "Onboarding: role requires it",
    "Audit evidence collection",
    "Debugging a billing discrepancy",
];

const REJECTIONS: &[&str] = &[
    "Not needed for this role - use the read-only group instead",
    "Please raise this through your manager first",
    "Duplicate of an existing request",
    "Production admin access requires a change ticket",
    "Access is limited to the finance team",
];

/// A reason an approver gives when rejecting, deterministic per request.
pub fn rejection_reason(req: &AccessRequest) -> &'static str {
    REJECTIONS[req.id % REJECTIONS.len()]
}

/// Approval rows the history should produce at each scale (with the story requests).
fn target_approvals(scale: Scale) -> usize {
    match scale {
        Scale::Demo => 150,
        Scale::Large => 18_500,
    }
}

fn alex_inbox(scale: Scale) -> usize {
    match scale {
        Scale::Demo => 25,
        Scale::Large => 300,
    }
}

fn dana_standard(scale: Scale) -> usize {
    match scale {
        Scale::Demo => 4,
        Scale::Large => 20,
    }
}

/// Builds the access-request history. Deterministic: ChaCha8 stream 2 of the world seed, times
/// from the epoch only.
pub fn history(spec: &WorldSpec, people: &People) -> Vec<AccessRequest> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(2);
    let epoch = spec.epoch;
    let p = &people.people;
    let it_std = it_approvers_standard(people);
    let sam = Persona::Sam.index();
    let riley = Persona::Riley.index();
    let casey = Persona::Casey.index();
    let morgan = Persona::Morgan.index();
    let dana = Persona::Dana.index();
    let manager_of = |i: usize| p[i].manager;
    // Random requesters: anyone but the personas and the CEO.
    let pick_person = |rng: &mut ChaCha8Rng| loop {
        let i = rng.random_range(Persona::ALL.len()..p.len());
        if p[i].manager.is_some() {
            return i;
        }
    };
    let steps_for = |entry: &CatalogEntry, who: usize| -> Vec<Vec<usize>> {
        let mgr = manager_of(who).into_iter().collect::<Vec<_>>();
        let own = owner(people, entry);
        match entry.approvers {
            Approvers::ItApproversStandard => vec![it_std.iter().copied().filter(|&a| a != who).collect()],
            Approvers::Manager => vec![mgr],
            Approvers::ManagerThenOwner => vec![mgr, vec![own]],
            Approvers::ManagerThenSecurity => vec![mgr, vec![sam]],
            Approvers::Owner => vec![vec![own]],
        }
        .into_iter()
        .filter(|s: &Vec<usize>| !s.is_empty() && !s.contains(&who))
        .collect()
    };

    let mut out: Vec<AccessRequest> = Vec::new();
    let push = |out: &mut Vec<AccessRequest>, mut r: AccessRequest| {
        r.id = out.len();
        out.push(r);
    };
    let justification = |rng: &mut ChaCha8Rng| JUSTIFICATIONS[rng.random_range(0..JUSTIFICATIONS.len())].to_string();
    let duration = |e: &CatalogEntry| e.max_hours;

    // Riley: aws-prod-readonly, waiting on morgan (step 1); alex (step 2) not yet asked.
    let e = entry("aws-prod-readonly").unwrap_or(&CATALOG[3]);
    let opened = epoch - Duration::minutes(95);
    push(
        &mut out,
        AccessRequest {
            id: 0,
            requested_for: riley,
            opened_by: riley,
            entry: e,
            opened_at: opened,
            justification: "On-call this week: need to read production CloudWatch logs".into(),
            duration_hours: Some(8),
            steps: vec![
                Step { approvers: vec![morgan], asked_at: Some(opened), decision: None },
                Step { approvers: vec![Persona::Alex.index()], asked_at: None, decision: None },
            ],
            outcome: Outcome::Pending,
            granted_at: None,
            via_oig: false,
        },
    );

    // Casey: aws-prod-admin through OIG, approved by morgan then sam; the grant expires within
    // the day, and ServiceNow holds the closed RITM.
    let e = entry("aws-prod-admin").unwrap_or(&CATALOG[4]);
    let opened = epoch - Duration::minutes(150);
    push(
        &mut out,
        AccessRequest {
            id: 0,
            requested_for: casey,
            opened_by: casey,
            entry: e,
            opened_at: opened,
            justification: "Deploying the payments hotfix to production".into(),
            duration_hours: Some(4),
            steps: vec![
                Step {
                    approvers: vec![morgan],
                    asked_at: Some(opened),
                    decision: Some((Decision::Approved, morgan, opened + Duration::minutes(20))),
                },
                Step {
                    approvers: vec![sam],
                    asked_at: Some(opened + Duration::minutes(20)),
                    decision: Some((Decision::Approved, sam, opened + Duration::minutes(55))),
                },
            ],
            outcome: Outcome::Approved,
            granted_at: Some(opened + Duration::minutes(56)),
            via_oig: true,
        },
    );

    // Alex's inbox: aws-prod-readonly (manager already approved) and Salesforce requests.
    for n in 0..alex_inbox(spec.scale) {
        let who = pick_person(&mut rng);
        let e = if n % 3 == 2 { entry("salesforce") } else { entry("aws-prod-readonly") }.unwrap_or(&CATALOG[3]);
        let opened = epoch - Duration::minutes(rng.random_range(30..(5 * 24 * 60)));
        let steps = steps_for(e, who);
        let mut built = Vec::new();
        let mut t = opened;
        for (i, approvers) in steps.iter().enumerate() {
            if i + 1 < steps.len() {
                let at = t + Duration::minutes(rng.random_range(10..600));
                let by = approvers[0];
                built.push(Step {
                    approvers: approvers.clone(),
                    asked_at: Some(t),
                    decision: Some((Decision::Approved, by, at)),
                });
                t = at;
            } else {
                built.push(Step { approvers: approvers.clone(), asked_at: Some(t.min(epoch)), decision: None });
            }
        }
        push(
            &mut out,
            AccessRequest {
                id: 0,
                requested_for: who,
                opened_by: who,
                entry: e,
                opened_at: opened,
                justification: justification(&mut rng),
                duration_hours: duration(e),
                steps: built,
                outcome: Outcome::Pending,
                granted_at: None,
                via_oig: false,
            },
        );
    }

    // Dana: standard requests (zoom-users / slack-guests) asked of every it-approvers-standard
    // member at once, raised by dana on the callers' behalf for some.
    for n in 0..dana_standard(spec.scale) {
        let who = pick_person(&mut rng);
        let e = if n % 2 == 0 { entry("zoom-users") } else { entry("slack-guests") }.unwrap_or(&CATALOG[0]);
        let opened = epoch - Duration::minutes(rng.random_range(15..(2 * 24 * 60)));
        let approvers: Vec<usize> = it_std.iter().copied().filter(|&a| a != who).collect();
        push(
            &mut out,
            AccessRequest {
                id: 0,
                requested_for: who,
                opened_by: if n % 2 == 0 { who } else { dana },
                entry: e,
                opened_at: opened,
                justification: justification(&mut rng),
                duration_hours: None,
                steps: vec![Step { approvers, asked_at: Some(opened), decision: None }],
                outcome: Outcome::Pending,
                granted_at: None,
                via_oig: false,
            },
        );
    }

    // Morgan: a few more manager approvals from the team; sam: second steps waiting.
    let team: Vec<usize> = people.reports_of(morgan).map(|p| p.index).filter(|&i| i != riley && i != casey).collect();
    for n in 0..3.min(team.len()) {
        let who = team[n * 5 % team.len()];
        let e = entry("github-engineering").unwrap_or(&CATALOG[2]);
        let opened = epoch - Duration::minutes(rng.random_range(60..(3 * 24 * 60)));
        push(
            &mut out,
            AccessRequest {
                id: 0,
                requested_for: who,
                opened_by: who,
                entry: e,
                opened_at: opened,
                justification: justification(&mut rng),
                duration_hours: None,
                steps: vec![Step { approvers: vec![morgan], asked_at: Some(opened), decision: None }],
                outcome: Outcome::Pending,
                granted_at: None,
                via_oig: false,
            },
        );
    }
    for _ in 0..3 {
        let who = pick_person(&mut rng);
        let e = entry("aws-prod-admin").unwrap_or(&CATALOG[4]);
        let opened = epoch - Duration::minutes(rng.random_range(120..(2 * 24 * 60)));
        let Some(mgr) = manager_of(who) else { continue };
        let approved = opened + Duration::minutes(rng.random_range(10..100));
        push(
            &mut out,
            AccessRequest {
                id: 0,
                requested_for: who,
                opened_by: who,
                entry: e,
                opened_at: opened,
                justification: justification(&mut rng),
                duration_hours: Some(4),
                steps: vec![
                    Step {
                        approvers: vec![mgr],
                        asked_at: Some(opened),
                        decision: Some((Decision::Approved, mgr, approved)),
                    },
                    Step { approvers: vec![sam], asked_at: Some(approved), decision: None },
                ],
                outcome: Outcome::Pending,
                granted_at: None,
                via_oig: false,
            },
        );
    }

    // Sam's decided second steps: one approved, one rejected, at every scale.
    for (days, decision) in [(5, Decision::Approved), (3, Decision::Rejected)] {
        let who = pick_person(&mut rng);
        let Some(mgr) = manager_of(who) else { continue };
        let e = entry("aws-prod-admin").unwrap_or(&CATALOG[4]);
        let opened = epoch - Duration::days(days) - Duration::minutes(rng.random_range(0..600));
        let step1 = opened + Duration::minutes(rng.random_range(10..120));
        let step2 = step1 + Duration::minutes(rng.random_range(10..240));
        let approved = decision == Decision::Approved;
        push(
            &mut out,
            AccessRequest {
                id: 0,
                requested_for: who,
                opened_by: who,
                entry: e,
                opened_at: opened,
                justification: justification(&mut rng),
                duration_hours: Some(4),
                steps: vec![
                    Step {
                        approvers: vec![mgr],
                        asked_at: Some(opened),
                        decision: Some((Decision::Approved, mgr, step1)),
                    },
                    Step { approvers: vec![sam], asked_at: Some(step1), decision: Some((decision, sam, step2)) },
                ],
                outcome: if approved { Outcome::Approved } else { Outcome::Rejected },
                granted_at: approved.then(|| step2 + Duration::minutes(2)),
                via_oig: true,
            },
        );
    }

    // History over the last six weeks until the approval rows reach the scale's target.
    let rows = |out: &[AccessRequest]| -> usize {
        out.iter().map(|r| r.steps.iter().map(|s| s.approvers.len()).sum::<usize>()).sum()
    };
    let mut count = rows(&out);
    while count < target_approvals(spec.scale) {
        let who = pick_person(&mut rng);
        let e = &CATALOG[rng.random_range(0..CATALOG.len())];
        let steps = steps_for(e, who);
        if steps.is_empty() {
            continue;
        }
        let opened = epoch - Duration::minutes(rng.random_range(6 * 60..(42 * 24 * 60)));
        let rejected_at = if rng.random_ratio(1, 6) { Some(rng.random_range(0..steps.len())) } else { None };
        let mut built = Vec::new();
        let mut t = opened;
        let mut outcome = Outcome::Approved;
        for (i, approvers) in steps.iter().enumerate() {
            let at = t + Duration::minutes(rng.random_range(5..(36 * 60)));
            let by = approvers[rng.random_range(0..approvers.len())];
            let decision = if rejected_at == Some(i) { Decision::Rejected } else { Decision::Approved };
            built.push(Step { approvers: approvers.clone(), asked_at: Some(t), decision: Some((decision, by, at)) });
            t = at;
            if decision == Decision::Rejected {
                outcome = Outcome::Rejected;
                break;
            }
        }
        count += built.iter().map(|s| s.approvers.len()).sum::<usize>();
        let granted_at = (outcome == Outcome::Approved).then(|| t + Duration::minutes(rng.random_range(1..90)));
        let duration_hours = match e.max_hours {
            Some(h) if h > 24 => Some(h),
            Some(h) => Some(rng.random_range(1..=h)),
            None => None,
        };
        let via_oig = e.name == "aws-prod-admin" || e.name == "salesforce";
        push(
            &mut out,
            AccessRequest {
                id: 0,
                requested_for: who,
                opened_by: if rng.random_ratio(1, 4) { dana } else { who },
                entry: e,
                opened_at: opened,
                justification: justification(&mut rng),
                duration_hours,
                steps: built,
                outcome,
                granted_at,
                via_oig,
            },
        );
    }
    out
}

impl AccessRequest {
    /// When a granted time-bound access ends (`None` when permanent or not granted).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.granted_at? + Duration::hours(self.duration_hours? as i64))
    }

    /// Whether the access this request granted is still in force at `t`: approved, granted
    /// before `t`, and not expired.
    pub fn grants_at(&self, t: DateTime<Utc>) -> bool {
        self.outcome == Outcome::Approved
            && self.granted_at.is_some_and(|g| g <= t)
            && self.expires_at().is_none_or(|e| e > t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::people;
    use chrono::TimeZone;

    fn spec() -> WorldSpec {
        WorldSpec::new(Scale::Demo, 7).with_epoch(Utc.with_ymd_and_hms(2025, 3, 12, 15, 0, 0).unwrap())
    }

    #[test]
    fn stories_are_present() {
        let spec = spec();
        let people = people::generate(&spec);
        let h = history(&spec, &people);
        let riley = &h[0];
        assert_eq!(riley.requested_for, Persona::Riley.index());
        assert_eq!(riley.entry.name, "aws-prod-readonly");
        assert_eq!(riley.steps[0].approvers, vec![Persona::Morgan.index()]);
        assert_eq!(riley.outcome, Outcome::Pending);
        let casey = &h[1];
        assert_eq!(casey.requested_for, Persona::Casey.index());
        assert!(casey.grants_at(spec.epoch));
        let alex_pending = h
            .iter()
            .filter(|r| r.outcome == Outcome::Pending)
            .filter(|r| {
                r.steps.iter().any(|s| {
                    s.decision.is_none() && s.asked_at.is_some() && s.approvers.contains(&Persona::Alex.index())
                })
            })
            .count();
        assert!((20..=30).contains(&alex_pending), "alex has {alex_pending} pending");
        assert!(h.iter().any(|r| r.outcome == Outcome::Rejected));
        let sam = Persona::Sam.index();
        for d in [Decision::Approved, Decision::Rejected] {
            assert!(
                h.iter().any(|r| r.steps.iter().any(|s| s.decision.is_some_and(|(x, by, _)| x == d && by == sam))),
                "sam has {d:?} history"
            );
        }
        assert!(h.iter().any(|r| r.outcome == Outcome::Approved && r.requested_for > 5));
        // Nobody approves their own request.
        for r in &h {
            for s in &r.steps {
                assert!(!s.approvers.contains(&r.requested_for), "{r:?}");
            }
        }
    }

    #[test]
    fn approver_groups_hold_their_personas() {
        let spec = spec();
        let people = people::generate(&spec);
        let std = it_approvers_standard(&people);
        assert_eq!(std.len(), 4);
        assert_eq!(std[0], Persona::Dana.index());
        assert_eq!(security_approvers(&people)[0], Persona::Sam.index());
        let head = department_head(&people, Department::Finance).unwrap();
        assert_eq!(people.people[head].title, "Chief Financial Officer");
    }
}
