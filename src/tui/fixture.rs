//! A FIXTURE, not the product: an in-memory [`EffectHandler`] over generated data, for the
//! console's own tests and benchmarks. The real console runs on [`crate::tui::handler`], over the
//! store and the engine.
//!
//! The data is deterministic for a seed: Example Corp's personas (riley.requester LOCKED_OUT,
//! casey.contractor, …), thousands to 100,000 tickets spread over six weeks, journals, approvals,
//! Okta groups and apps, System Log events and an audit log. Commands change the data the way
//! the engine would (assign, state, journal, resolve, unlock, reset, suspend), check the
//! `mod_count` the operator saw, and write audit rows. Loads of tickets and users answer twice,
//! cache first and live second, like the store and the services will.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{
    App, Approval, ApprovalState, Group, GroupKind, JournalEntry, JournalKind, LogActor, LogEvent, LogTarget, OktaUser,
    Reference, Ticket, TicketKind, UserStatus,
};
use crate::tui::action::Action;
use crate::tui::effect::{
    AuditFilter, AuditRow, AuditVerify, Command, Dashboard, DataSource, DayCount, Effect, EffectHandler, GroupDetail,
    QueueRow, Reply, SavedView, TicketDetail, UserDetail,
};

/// The operator of the fixture world.
pub const OPERATOR: &str = "dana.desk";

const FIRST: &[&str] = &[
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena", "Mateo", "Nora",
    "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wes", "Xin", "Yara", "Zoe",
];
const LAST: &[&str] = &[
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Khan", "Lopez",
    "Müller", "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Young",
];
const DEPARTMENTS: &[&str] = &["Engineering", "Finance", "Sales", "People", "IT", "Security"];
const ASSIGNMENT_GROUPS: &[&str] = &["Service Desk", "IAM", "Network", "End User Computing"];
const OPERATOR_GROUPS: &[&str] = &["Service Desk", "IAM"];
const INCIDENTS: &[(&str, &str)] = &[
    ("Account locked out", "I cannot sign in since this morning; it says my account is locked."),
    ("Password reset needed", "My password expired while I was on leave."),
    ("Lost MFA device", "I lost my phone with Okta Verify on it and cannot sign in."),
    ("Cannot access Salesforce", "Salesforce says I am not assigned to the application."),
    ("Cannot access GitHub", "I get a 404 on the engineering organisation."),
    ("VPN disconnects every few minutes", "The VPN drops when I am on the office Wi-Fi."),
    ("Laptop will not boot", "Black screen after the update last night."),
    ("Onboarding: new starter accounts", "New starter next Monday needs the usual accounts."),
    ("Offboarding: leaver", "Please remove all access for a leaver on Friday."),
    ("Printer prints blank pages", "The third-floor printer feeds paper but prints nothing."),
];
const GROUPS: &[(&str, &str, &[&str])] = &[
    ("Everyone", "All users in the organisation", &[]),
    ("zoom-users", "Zoom licence", &["Zoom"]),
    ("slack-guests", "Slack guest access", &["Slack"]),
    ("github-engineering", "GitHub engineering organisation", &["GitHub"]),
    ("aws-prod-readonly", "AWS production read-only (8 h max)", &["AWS"]),
    ("aws-prod-admin", "AWS production administrators (4 h max)", &["AWS"]),
    ("salesforce", "Salesforce users", &["Salesforce.com"]),
    ("finance-netsuite", "NetSuite for Finance", &["NetSuite"]),
    ("it-approvers-standard", "Approvers of standard requests", &[]),
    ("dept-engineering", "Department: Engineering", &["GitHub", "Jira"]),
    ("dept-finance", "Department: Finance", &["NetSuite"]),
    ("dept-sales", "Department: Sales", &["Salesforce.com"]),
    ("dept-it", "Department: IT", &["Jira", "ServiceNow"]),
];
const APPS: &[&str] =
    &["Zoom", "Slack", "GitHub", "AWS", "Salesforce.com", "NetSuite", "Jira", "ServiceNow", "Google Workspace"];

/// The generated world and what commands changed in it.
#[derive(Debug, Clone)]
pub struct FixtureData {
    /// The clock the data is built around.
    pub now: DateTime<Utc>,
    /// Tickets, as queue rows.
    pub rows: Vec<QueueRow>,
    resolved_at: Vec<Option<DateTime<Utc>>>,
    close: HashMap<usize, (String, String)>,
    journal_added: HashMap<usize, Vec<JournalEntry>>,
    /// Okta users.
    pub users: Vec<OktaUser>,
    managers: Vec<Option<usize>>,
    memberships: Vec<Vec<usize>>,
    /// Okta groups.
    pub groups: Vec<Group>,
    /// Okta apps.
    pub apps: Vec<App>,
    events_added: HashMap<usize, Vec<LogEvent>>,
    /// Audit log, oldest first.
    pub audit: Vec<AuditRow>,
    by_login: HashMap<String, usize>,
    by_number: HashMap<String, usize>,
    /// Access requests, orphans and the catalog.
    pub access: access::FixtureAccess,
}

#[path = "fixture_access.rs"]
pub mod access;

fn sys_id(prefix: u8, n: usize) -> String {
    format!("{prefix:02x}{n:030x}")
}

impl FixtureData {
    /// A world of `tickets` tickets (and about one person per two tickets, 200 to 5,000) around
    /// `now`, the same for the same seed.
    pub fn generate(tickets: usize, seed: u64, now: DateTime<Utc>) -> FixtureData {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let apps: Vec<App> = APPS
            .iter()
            .enumerate()
            .map(|(i, label)| App {
                id: format!("0oa{i:017}"),
                name: label.to_ascii_lowercase().replace([' ', '.'], "_"),
                label: (*label).to_string(),
                status: "ACTIVE".into(),
                created: now - Span::days(900),
                last_updated: now - Span::days(30),
            })
            .collect();
        let groups: Vec<Group> = GROUPS
            .iter()
            .enumerate()
            .map(|(i, (name, desc, _))| Group {
                id: format!("00g{i:017}"),
                name: (*name).to_string(),
                description: (*desc).to_string(),
                kind: if *name == "Everyone" { GroupKind::BuiltIn } else { GroupKind::OktaGroup },
                created: now - Span::days(1000),
                last_updated: now - Span::days(100),
                last_membership_updated: Some(now - Span::hours(3 + i as i64)),
            })
            .collect();

        let personas: &[(&str, &str, &str, &str, UserStatus)] = &[
            ("dana.desk", "Dana", "Desk", "IT", UserStatus::Active),
            ("alex.approver", "Alex", "Approver", "Security", UserStatus::Active),
            ("morgan.manager", "Morgan", "Manager", "Engineering", UserStatus::Active),
            ("riley.requester", "Riley", "Requester", "Engineering", UserStatus::LockedOut),
            ("sam.security", "Sam", "Security", "Security", UserStatus::Active),
            ("casey.contractor", "Casey", "Contractor", "Engineering", UserStatus::Active),
        ];
        let n_users = (tickets / 2).clamp(200, 5000);
        let mut users = Vec::with_capacity(n_users);
        let mut seen = HashMap::new();
        for i in 0..n_users {
            let (user_name, first, last, dept, status) = if let Some(p) = personas.get(i) {
                (p.0.to_string(), p.1.to_string(), p.2.to_string(), p.3.to_string(), p.4.clone())
            } else {
                let first = FIRST[rng.random_range(0..FIRST.len())];
                let last = LAST[rng.random_range(0..LAST.len())];
                let base = format!("{}.{}", first.to_lowercase(), last.to_lowercase().replace('ü', "u"));
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                let user_name = if *n == 1 { base } else { format!("{base}{n}") };
                let status = match rng.random_range(0..100) {
                    0..=2 => UserStatus::LockedOut,
                    3 => UserStatus::Suspended,
                    4 => UserStatus::PasswordExpired,
                    5 => UserStatus::Deprovisioned,
                    _ => UserStatus::Active,
                };
                (
                    user_name,
                    first.to_string(),
                    last.to_string(),
                    DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())].to_string(),
                    status,
                )
            };
            let login = format!("{user_name}@example.com");
            users.push(OktaUser {
                id: format!("00u{i:017}"),
                login: login.clone(),
                email: login,
                first_name: first,
                last_name: last,
                status,
                title: match dept.as_str() {
                    "Engineering" => "Software Engineer",
                    "IT" => "Service Desk Analyst",
                    "Security" => "Security Engineer",
                    "Finance" => "Accountant",
                    "Sales" => "Account Executive",
                    _ => "People Partner",
                }
                .into(),
                department: dept,
                manager_id: String::new(),
                user_type: if user_name == "casey.contractor" || rng.random_range(0..20) == 0 {
                    "Contractor".into()
                } else {
                    "Employee".into()
                },
                created: now - Span::days(rng.random_range(30..1500)),
                last_updated: now - Span::days(rng.random_range(0..30)),
                status_changed: Some(now - Span::hours(rng.random_range(1..2000))),
                last_login: (rng.random_range(0..30) != 0).then(|| now - Span::minutes(rng.random_range(5..20_000))),
                password_changed: Some(now - Span::days(rng.random_range(1..120))),
            });
        }
        let managers: Vec<Option<usize>> = (0..n_users)
            .map(|i| {
                if i == 3 || i == 5 {
                    Some(2)
                } else if i > 5 {
                    Some(2 + i % 4)
                } else {
                    None
                }
            })
            .collect();
        let group_index = |name: &str| GROUPS.iter().position(|(n, _, _)| *n == name).unwrap_or(0);
        let memberships: Vec<Vec<usize>> = users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut gs = vec![0];
                let dept_group = match u.department.as_str() {
                    "Engineering" => Some("dept-engineering"),
                    "Finance" => Some("dept-finance"),
                    "Sales" => Some("dept-sales"),
                    "IT" => Some("dept-it"),
                    _ => None,
                };
                gs.extend(dept_group.map(group_index));
                if i % 3 == 0 {
                    gs.push(group_index("zoom-users"));
                }
                if u.department == "Engineering" && i % 2 == 0 {
                    gs.push(group_index("github-engineering"));
                }
                if i == 0 {
                    gs.push(group_index("it-approvers-standard"));
                }
                if i == 5 {
                    gs.push(group_index("aws-prod-readonly"));
                }
                if i % 7 == 0 && u.department == "Sales" {
                    gs.push(group_index("salesforce"));
                }
                gs.sort_unstable();
                gs.dedup();
                gs
            })
            .collect();

        let mut rows = Vec::with_capacity(tickets);
        let mut resolved_at = Vec::with_capacity(tickets);
        let window: i32 = 42 * 24 * 60;
        for i in 0..tickets {
            let kind = if i % 5 == 4 { TicketKind::RequestedItem } else { TicketKind::Incident };
            let prefix = if kind == TicketKind::Incident { "INC" } else { "RITM" };
            let number = format!("{prefix}{:07}", 10_001 + i);
            let caller_ix = if i < 2 { 3 } else { rng.random_range(0..n_users) };
            let caller = &users[caller_ix];
            let (mut short, _) = INCIDENTS[rng.random_range(0..INCIDENTS.len())];
            let access_target = GROUPS[rng.random_range(1..8)].0;
            let short_owned;
            if kind == TicketKind::RequestedItem {
                short_owned = format!("Access request: {access_target} for {}", caller.first_name);
                short = &short_owned;
            }
            let opened_at = now - Span::minutes(rng.random_range(10..window).into());
            let priority: u8 = match rng.random_range(0..100) {
                0..=3 => 1,
                4..=19 => 2,
                20..=64 => 3,
                65..=89 => 4,
                _ => 5,
            };
            let sla_hours = [0, 8, 24, 120, 240, 480][usize::from(priority)];
            let sla_due = Some(opened_at + Span::hours(sla_hours));
            let age_days = (now - opened_at).num_days();
            let active = rng.random_range(0..100)
                < if age_days < 3 {
                    85
                } else if age_days < 10 {
                    30
                } else {
                    3
                };
            let state = if active {
                ["New", "In Progress", "In Progress", "On Hold"][rng.random_range(0..4)]
            } else {
                ["Resolved", "Closed"][rng.random_range(0..2)]
            };
            let group = ASSIGNMENT_GROUPS[rng.random_range(0..ASSIGNMENT_GROUPS.len())];
            let assignee =
                (state != "New" && rng.random_range(0..100) < 80).then(|| rng.random_range(0..6.min(n_users)));
            let assignee = if i == 0 { Some(0) } else { assignee };
            let resolved = (!active)
                .then(|| opened_at + Span::minutes(rng.random_range(30..(now - opened_at).num_minutes().max(31))));
            let mut row = QueueRow {
                sys_id: sys_id(if kind == TicketKind::Incident { 1 } else { 2 }, i),
                number,
                kind,
                priority,
                state: state.into(),
                active,
                opened_at,
                sla_due,
                sla_breached: active && sla_due.is_some_and(|d| d < now),
                caller: caller.display_name(),
                caller_login: caller.login.clone(),
                assignment_group: group.into(),
                assigned_to: assignee.map(|a| users[a].display_name()).unwrap_or_default(),
                assigned_to_user: assignee
                    .map(|a| users[a].login.trim_end_matches("@example.com").to_string())
                    .unwrap_or_default(),
                short_description: short.to_string(),
                mod_count: rng.random_range(0..8),
            };
            if i == 0 {
                row.short_description = "Account locked out".into();
                row.state = "In Progress".into();
                row.priority = 2;
                row.active = true;
                row.assignment_group = "Service Desk".into();
                row.opened_at = now - Span::hours(3);
                row.sla_due = Some(now + Span::hours(5));
                row.sla_breached = false;
            }
            if i == 1 {
                row.short_description = "Printer shows \u{1b}[2Jgarbage\u{7}".into();
                row.active = true;
                row.state = "New".into();
                row.assigned_to.clear();
                row.assigned_to_user.clear();
                row.assignment_group = "Service Desk".into();
            }
            rows.push(row);
            resolved_at.push(if rows[i].active { None } else { resolved });
        }
        let by_login = users.iter().enumerate().map(|(i, u)| (u.login.to_lowercase(), i)).collect();
        let by_number = rows.iter().enumerate().map(|(i, r)| (r.number.clone(), i)).collect();
        let mut data = FixtureData {
            now,
            rows,
            resolved_at,
            close: HashMap::new(),
            journal_added: HashMap::new(),
            users,
            managers,
            memberships,
            groups,
            apps,
            events_added: HashMap::new(),
            audit: Vec::new(),
            by_login,
            by_number,
            access: Default::default(),
        };
        data.access = access::FixtureAccess::generate(&data);
        for k in 0..400usize {
            let at = now - Span::minutes(((400 - k) * 97) as i64);
            let ticket = data.rows[(k * 37) % data.rows.len()].number.clone();
            let subject = data.users[(k * 13) % data.users.len()].login.clone();
            let (action, object) = match k % 4 {
                0 => ("ticket.assign", ticket.clone()),
                1 => ("ticket.work_note", ticket.clone()),
                2 => ("okta.user.unlock", String::new()),
                _ => ("access.request.approve", "zoom-users".to_string()),
            };
            data.push_audit(AuditRow {
                seq: 0,
                at,
                operator: ["dana.desk", "alex.approver"][k % 2].into(),
                action: action.into(),
                subject,
                object,
                ticket,
                outcome: "success".into(),
                details: "{}".into(),
            });
        }
        data
    }

    fn push_audit(&mut self, mut row: AuditRow) {
        row.seq = self.audit.len() as u64 + 1;
        self.audit.push(row);
    }

    /// Rows of a saved view for the fixture's operator.
    pub fn view_rows(&self, view: SavedView) -> Vec<QueueRow> {
        let groups: Vec<String> = OPERATOR_GROUPS.iter().map(|s| (*s).to_string()).collect();
        self.rows.iter().filter(|r| view.matches(r, OPERATOR, &groups)).cloned().collect()
    }

    fn ticket_rng(i: usize) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(ticket_seed(i))
    }

    /// A ticket with its journal and approvals.
    pub fn ticket_detail(&self, number: &str) -> Option<TicketDetail> {
        let &i = self.by_number.get(&number.to_ascii_uppercase())?;
        let r = &self.rows[i];
        let mut rng = Self::ticket_rng(i);
        let caller_ix = self.by_login.get(&r.caller_login.to_lowercase()).copied();
        let description = if i == 1 {
            "Every page starts with \u{1b}[2J\u{1b}]0;pwned\u{7} and then nothing.\r\nNot my fault!".to_string()
        } else if r.kind == TicketKind::RequestedItem {
            format!("{} needs this for their project. Requested through the service portal.", r.caller)
        } else {
            INCIDENTS
                .iter()
                .find(|(s, _)| *s == r.short_description)
                .map_or("See short description.".into(), |(_, d)| (*d).to_string())
        };
        let mut journal: Vec<JournalEntry> = (0..rng.random_range(0..4usize))
            .map(|k| JournalEntry {
                sys_id: format!("j{i:x}-{k}"),
                ticket_sys_id: r.sys_id.clone(),
                kind: if k % 2 == 0 { JournalKind::WorkNote } else { JournalKind::Comment },
                value: [
                    "Called the user, no answer.",
                    "User confirms the problem started this morning.",
                    "Waiting for the vendor.",
                    "Asked for a screenshot.",
                ][k % 4]
                    .into(),
                created_on: r.opened_at + Span::minutes(20 * (k as i64 + 1)),
                created_by: if k % 2 == 0 {
                    OPERATOR.into()
                } else {
                    r.caller_login.trim_end_matches("@example.com").into()
                },
            })
            .collect();
        journal.extend(self.journal_added.get(&i).cloned().unwrap_or_default());
        let approvals = if r.kind == TicketKind::RequestedItem {
            vec![
                Approval {
                    sys_id: format!("a{i:x}-1"),
                    approver: Reference { sys_id: sys_id(3, 2), display: "Morgan Manager".into() },
                    document: Reference { sys_id: r.sys_id.clone(), display: r.number.clone() },
                    state: ApprovalState::Approved,
                    comments: "Fine for the project.".into(),
                    created_on: r.opened_at,
                    updated_on: r.opened_at + Span::hours(2),
                },
                Approval {
                    sys_id: format!("a{i:x}-2"),
                    approver: Reference { sys_id: sys_id(3, 1), display: "Alex Approver".into() },
                    document: Reference { sys_id: r.sys_id.clone(), display: r.number.clone() },
                    state: if r.active { ApprovalState::Requested } else { ApprovalState::Approved },
                    comments: String::new(),
                    created_on: r.opened_at + Span::hours(2),
                    updated_on: r.opened_at + Span::hours(2),
                },
            ]
        } else {
            Vec::new()
        };
        let (close_code, close_notes) = self.close.get(&i).cloned().unwrap_or_default();
        let ticket = Ticket {
            sys_id: r.sys_id.clone(),
            number: r.number.clone(),
            kind: r.kind,
            short_description: r.short_description.clone(),
            description,
            state: String::new(),
            state_label: r.state.clone(),
            priority: r.priority,
            active: r.active,
            caller: Reference {
                sys_id: caller_ix.map(|c| sys_id(3, c)).unwrap_or_default(),
                display: r.caller.clone(),
            },
            caller_email: r.caller_login.clone(),
            assignment_group: Reference { sys_id: sys_id(4, 0), display: r.assignment_group.clone() },
            assigned_to: Reference {
                sys_id: if r.assigned_to.is_empty() { String::new() } else { sys_id(3, 0) },
                display: r.assigned_to.clone(),
            },
            category: if r.kind == TicketKind::RequestedItem { "access".into() } else { "inquiry".into() },
            parent: Reference::default(),
            cat_item: if r.kind == TicketKind::RequestedItem { "Access request".into() } else { String::new() },
            opened_at: r.opened_at,
            updated_at: r.opened_at + Span::minutes(90),
            updated_by: OPERATOR.into(),
            mod_count: r.mod_count,
            sla_due: r.sla_due,
            sla_breached: r.sla_breached,
            resolved_at: (!r.active).then_some(r.opened_at + Span::minutes(90)),
            close_code,
            close_notes,
            approval: if r.kind == TicketKind::RequestedItem { "requested".into() } else { "not requested".into() },
        };
        Some(TicketDetail { ticket, journal, approvals })
    }

    /// An Okta user with groups, apps and System Log events, by login or id.
    pub fn user_detail(&self, login: &str) -> Option<UserDetail> {
        let key = login.trim().to_lowercase();
        let key = if key.contains('@') { key } else { format!("{key}@example.com") };
        let i = self.by_login.get(&key).copied().or_else(|| self.users.iter().position(|u| u.id == login))?;
        let user = self.users[i].clone();
        let groups: Vec<Group> = self.memberships[i].iter().map(|&g| self.groups[g].clone()).collect();
        let mut apps: Vec<App> = Vec::new();
        for &g in &self.memberships[i] {
            for label in GROUPS[g].2 {
                if let Some(app) = self.apps.iter().find(|a| a.label == *label)
                    && !apps.iter().any(|x| x.id == app.id)
                {
                    apps.push(app.clone());
                }
            }
        }
        let mut events = Vec::new();
        let target = LogTarget {
            id: user.id.clone(),
            kind: "User".into(),
            alternate_id: user.login.clone(),
            display_name: user.display_name(),
        };
        let me = LogActor {
            id: user.id.clone(),
            kind: "User".into(),
            alternate_id: user.login.clone(),
            display_name: user.display_name(),
        };
        if let Some(t) = user.last_login {
            events.push(self.event(i, 0, t, "user.session.start", "User login to Okta", &me, &target, "SUCCESS"));
        }
        if user.status == UserStatus::LockedOut {
            let t = self.now - Span::minutes(200);
            for k in 0..3 {
                events.push(self.event(
                    i,
                    1 + k,
                    t + Span::minutes(k as i64),
                    "user.session.start",
                    "User login to Okta",
                    &me,
                    &target,
                    "FAILURE",
                ));
            }
            events.push(self.event(
                i,
                9,
                t + Span::minutes(3),
                "user.account.lock",
                "Max sign in attempts exceeded",
                &me,
                &target,
                "SUCCESS",
            ));
        }
        events.extend(self.events_added.get(&i).cloned().unwrap_or_default());
        let manager = self.managers[i].map(|m| self.users[m].display_name());
        Some(UserDetail { user, manager, groups, apps, events })
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        user: usize,
        k: usize,
        at: DateTime<Utc>,
        ty: &str,
        msg: &str,
        actor: &LogActor,
        target: &LogTarget,
        outcome: &str,
    ) -> LogEvent {
        LogEvent {
            uuid: format!("{user:08x}-{k:04x}"),
            published: at,
            event_type: ty.into(),
            display_message: msg.into(),
            severity: if outcome == "FAILURE" { "WARN".into() } else { "INFO".into() },
            actor: actor.clone(),
            targets: vec![target.clone()],
            outcome: outcome.into(),
            outcome_reason: String::new(),
            request_id: format!("req{user:x}{k:x}"),
        }
    }

    /// An Okta group with members and apps, by name or id.
    pub fn group_detail(&self, name: &str) -> Option<GroupDetail> {
        let g = self.groups.iter().position(|g| g.name.eq_ignore_ascii_case(name.trim()) || g.id == name)?;
        let members = self
            .memberships
            .iter()
            .enumerate()
            .filter(|(_, gs)| gs.contains(&g))
            .map(|(u, _)| self.users[u].clone())
            .collect();
        let apps = GROUPS[g].2.iter().filter_map(|l| self.apps.iter().find(|a| a.label == *l).cloned()).collect();
        Some(GroupDetail { group: self.groups[g].clone(), members, apps })
    }

    /// Figures for the dashboard.
    pub fn dashboard(&self) -> Dashboard {
        let open: Vec<&QueueRow> = self.rows.iter().filter(|r| r.active).collect();
        let buckets: [(&str, i64); 6] =
            [("<1d", 1), ("1-3d", 3), ("3-7d", 7), ("1-2w", 14), ("2-4w", 28), (">4w", i64::MAX)];
        let mut hist: Vec<(String, u64)> = buckets.iter().map(|(l, _)| ((*l).to_string(), 0)).collect();
        for r in &open {
            let days = (self.now - r.opened_at).num_days();
            let b = buckets.iter().position(|(_, max)| days < *max).unwrap_or(buckets.len() - 1);
            hist[b].1 += 1;
        }
        let today = self.now.date_naive();
        let per_day = (0..28)
            .rev()
            .map(|d| {
                let day = today - Span::days(d);
                DayCount {
                    day,
                    opened: self.rows.iter().filter(|r| r.opened_at.date_naive() == day).count() as u64,
                    resolved: self.resolved_at.iter().flatten().filter(|t| t.date_naive() == day).count() as u64,
                }
            })
            .collect();
        Dashboard {
            open: open.len() as u64,
            unassigned: open.iter().filter(|r| r.assigned_to.is_empty()).count() as u64,
            breached: open.iter().filter(|r| r.sla_breached).count() as u64,
            age_histogram: hist,
            per_day,
        }
    }

    fn audit_rows(&self, filter: &AuditFilter) -> Vec<AuditRow> {
        let text = filter.text.to_lowercase();
        self.audit
            .iter()
            .rev()
            .filter(|r| {
                text.is_empty()
                    || [&r.operator, &r.action, &r.subject, &r.object, &r.ticket]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&text))
            })
            .take(if filter.limit == 0 { usize::MAX } else { filter.limit })
            .cloned()
            .collect()
    }

    /// Applies a command as the engine would; `Err` says why it was refused.
    pub fn apply(&mut self, command: &Command) -> Result<String, String> {
        let now = self.now;
        if let Some(result) = self.access.apply(command, now) {
            return result;
        }
        let audit_ticket = command.ticket().map(|t| t.number.clone()).unwrap_or_default();
        let audit_subject = command.user().map(|u| u.login.clone()).unwrap_or_default();
        let result = self.apply_inner(command);
        let (outcome, details) = match &result {
            Ok(_) => ("success", "{}".to_string()),
            Err(e) => ("failure", format!("{{\"error\":{e:?}}}")),
        };
        let action = match command {
            Command::AssignToMe { .. } => "ticket.assign",
            Command::ChangeState { .. } => "ticket.state",
            Command::AddJournal { kind: JournalKind::WorkNote, .. } => "ticket.work_note",
            Command::AddJournal { .. } => "ticket.comment",
            Command::Resolve { .. } => "ticket.resolve",
            Command::UnlockUser { .. } => "okta.user.unlock",
            Command::ResetPassword { .. } => "okta.user.reset_password",
            Command::SuspendUser { .. } => "okta.user.suspend",
            Command::UnsuspendUser { .. } => "okta.user.unsuspend",
            Command::Decide { .. } | Command::RaiseRequest(_) | Command::Extend { .. } => "access_request",
        };
        self.push_audit(AuditRow {
            seq: 0,
            at: now,
            operator: OPERATOR.into(),
            action: action.into(),
            subject: audit_subject,
            object: audit_ticket.clone(),
            ticket: audit_ticket,
            outcome: outcome.into(),
            details,
        });
        result
    }

    fn apply_inner(&mut self, command: &Command) -> Result<String, String> {
        if let Some(t) = command.ticket() {
            let &i = self.by_number.get(&t.number).ok_or_else(|| format!("{} no longer exists", t.number))?;
            let row = &mut self.rows[i];
            let journal_only = matches!(command, Command::AddJournal { .. });
            if !journal_only && row.mod_count != t.mod_count {
                return Err(format!(
                    "{} changed since you read it (update {} → {}); R reloads it, then try again",
                    t.number, t.mod_count, row.mod_count
                ));
            }
            row.mod_count += 1;
            return Ok(match command {
                Command::AssignToMe { .. } => {
                    row.assigned_to = "Dana Desk".into();
                    row.assigned_to_user = OPERATOR.into();
                    if row.state == "New" {
                        row.state = "In Progress".into();
                    }
                    format!("{} assigned to {OPERATOR}", t.number)
                }
                Command::ChangeState { state, .. } => {
                    row.state.clone_from(&state.label);
                    row.active = !matches!(state.label.as_str(), "Canceled" | "Closed Incomplete");
                    format!("{} is now {}", t.number, state.label)
                }
                Command::AddJournal { kind, text, .. } => {
                    let entry = JournalEntry {
                        sys_id: format!("added-{}", self.audit.len()),
                        ticket_sys_id: t.sys_id.clone(),
                        kind: *kind,
                        value: text.clone(),
                        created_on: self.now,
                        created_by: OPERATOR.into(),
                    };
                    self.journal_added.entry(i).or_default().push(entry);
                    format!(
                        "{} added to {}",
                        if *kind == JournalKind::WorkNote { "work note" } else { "comment" },
                        t.number
                    )
                }
                Command::Resolve { close_code, close_notes, .. } => {
                    row.state = "Resolved".into();
                    row.active = false;
                    self.resolved_at[i] = Some(self.now);
                    self.close.insert(i, (close_code.clone(), close_notes.clone()));
                    format!("{} resolved ({close_code})", t.number)
                }
                _ => unreachable!("ticket commands only"),
            });
        }
        let u = command.user().ok_or("nothing to apply")?;
        let &i =
            self.by_login.get(&u.login.to_lowercase()).ok_or_else(|| format!("Okta user {} not found", u.login))?;
        let now = self.now;
        let user = &mut self.users[i];
        let (new_status, ty, message) = match command {
            Command::UnlockUser { .. } if user.status == UserStatus::LockedOut => {
                (UserStatus::Active, "user.account.unlock_by_admin", format!("{} unlocked", u.login))
            }
            Command::UnlockUser { .. } => {
                return Err(format!("{} is not locked out (status {})", u.login, user.status));
            }
            Command::ResetPassword { .. } => {
                (UserStatus::Recovery, "user.account.reset_password", format!("password reset sent to {}", u.login))
            }
            Command::SuspendUser { .. } => {
                (UserStatus::Suspended, "user.lifecycle.suspend", format!("{} suspended", u.login))
            }
            Command::UnsuspendUser { .. } => {
                (UserStatus::Active, "user.lifecycle.unsuspend", format!("{} unsuspended", u.login))
            }
            _ => return Err("not an Okta command".into()),
        };
        user.status = new_status;
        user.status_changed = Some(now);
        let target = LogTarget {
            id: user.id.clone(),
            kind: "User".into(),
            alternate_id: user.login.clone(),
            display_name: user.display_name(),
        };
        let actor = LogActor {
            id: "00u0".into(),
            kind: "User".into(),
            alternate_id: format!("{OPERATOR}@example.com"),
            display_name: "Dana Desk".into(),
        };
        let k = self.events_added.get(&i).map_or(0, Vec::len) + 100;
        let ev = self.event(i, k, now, ty, &message, &actor, &target, "SUCCESS");
        self.events_added.entry(i).or_default().push(ev);
        Ok(message)
    }

    /// The answers to an effect, in the order a real handler would send them.
    pub fn answer(&mut self, effect: &Effect) -> Vec<Action> {
        if let Some(answers) = self.answer_access(effect) {
            return answers;
        }
        let cached = DataSource::Cache { as_of: self.now - Span::minutes(5) };
        match effect {
            Effect::LoadQueue { view } => {
                let rows = self.view_rows(*view);
                vec![Action::QueueLoaded { view: *view, rows, source: DataSource::Live }]
            }
            // The fixture's views are small: the whole view answers at once.
            Effect::PreviewQueue { .. } => Vec::new(),
            Effect::LoadTicket { number, .. } => match self.ticket_detail(number) {
                Some(d) => vec![
                    Action::TicketLoaded { detail: Box::new(d.clone()), source: cached },
                    Action::TicketLoaded { detail: Box::new(d), source: DataSource::Live },
                ],
                None => vec![Action::TicketLoadFailed {
                    number: number.clone(),
                    error: "no such ticket in ServiceNow".into(),
                }],
            },
            Effect::LoadUser { login } => match self.user_detail(login) {
                Some(d) => vec![
                    Action::UserLoaded { login: login.clone(), detail: Box::new(d.clone()), source: cached },
                    Action::UserLoaded { login: login.clone(), detail: Box::new(d), source: DataSource::Live },
                ],
                None => vec![Action::UserLoadFailed {
                    login: login.clone(),
                    error: "Okta has no user with this login (E0000007); check the spelling".into(),
                }],
            },
            Effect::LoadGroup { name } => match self.group_detail(name) {
                Some(d) => {
                    vec![Action::GroupLoaded { name: name.clone(), detail: Box::new(d), source: DataSource::Live }]
                }
                None => vec![Action::GroupLoadFailed {
                    name: name.clone(),
                    error: "Okta has no group with this name".into(),
                }],
            },
            Effect::LoadAudit { filter } => {
                vec![Action::AuditLoaded { filter: filter.clone(), rows: self.audit_rows(filter), verify: None }]
            }
            Effect::VerifyAudit => vec![Action::AuditVerified(AuditVerify::Intact { events: self.audit.len() as u64 })],
            Effect::LoadDashboard => vec![Action::DashboardLoaded(Box::new(self.dashboard()))],
            Effect::Sync => {
                vec![Action::SyncFinished { summary: "nothing new (fixture)".into(), queue_changed: false }]
            }
            Effect::RunCommand { id, command } => match self.apply(command) {
                Ok(message) => vec![Action::CommandQueued { id: *id }, Action::CommandSucceeded { id: *id, message }],
                Err(error) => vec![Action::CommandQueued { id: *id }, Action::CommandFailed { id: *id, error }],
            },
            Effect::LoadAccess(_)
            | Effect::PreviewRequest(_)
            | Effect::BulkDecide { .. }
            | Effect::SwitchOperator { .. } => Vec::new(),
        }
    }
}

/// Seed of a ticket's own generator (journal length and the like).
const fn ticket_seed(i: usize) -> u64 {
    0x7151_c0de_u64 ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The fixture as an [`EffectHandler`]. Answers come at once unless a latency is set (the
/// preview sets one so "cached, refreshing…" can be seen), and commands can be made to fail.
#[derive(Debug, Clone)]
pub struct FixtureHandler {
    data: Arc<Mutex<FixtureData>>,
    latency: Duration,
    fail: Arc<Mutex<Option<String>>>,
}

impl FixtureHandler {
    /// A handler over generated data.
    pub fn new(data: FixtureData) -> FixtureHandler {
        FixtureHandler { data: Arc::new(Mutex::new(data)), latency: Duration::ZERO, fail: Arc::new(Mutex::new(None)) }
    }

    /// Delays live answers (not cached ones) by `latency`.
    pub fn with_latency(mut self, latency: Duration) -> FixtureHandler {
        self.latency = latency;
        self
    }

    /// From now on every command fails with `error` (None: commands work again).
    pub fn fail_commands(&self, error: Option<String>) {
        if let Ok(mut f) = self.fail.lock() {
            *f = error;
        }
    }

    /// The data as it is now.
    pub fn data(&self) -> Arc<Mutex<FixtureData>> {
        Arc::clone(&self.data)
    }

    /// The answers to an effect, computed at once.
    pub fn answer(&self, effect: &Effect) -> Vec<Action> {
        if let Effect::RunCommand { id, .. } = effect
            && let Some(error) = self.fail.lock().ok().and_then(|f| f.clone())
        {
            return vec![Action::CommandFailed { id: *id, error }];
        }
        match self.data.lock() {
            Ok(mut d) => d.answer(effect),
            Err(_) => Vec::new(),
        }
    }
}

impl EffectHandler for FixtureHandler {
    async fn handle(&self, effect: Effect, reply: Reply) {
        let answers = self.answer(&effect);
        for action in answers {
            let live = !matches!(
                &action,
                Action::TicketLoaded { source: DataSource::Cache { .. }, .. }
                    | Action::UserLoaded { source: DataSource::Cache { .. }, .. }
                    | Action::CommandQueued { .. }
            );
            if live && !self.latency.is_zero() {
                tokio::time::sleep(self.latency).await;
            }
            if !reply.send(action).await {
                return;
            }
        }
    }
}

/// A fixed clock for tests and snapshots: 2026-03-02 09:30 UTC.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).single().unwrap_or_default()
}

/// Drives a console over the fixture without a terminal or a runtime: every effect is answered
/// at once, in order, until nothing is left to do. For tests and benchmarks.
#[derive(Debug)]
pub struct Harness {
    /// The console.
    pub state: crate::tui::State,
    /// The fixture behind it.
    pub handler: FixtureHandler,
    /// Every effect asked for, in order.
    pub effects: Vec<Effect>,
}

impl Harness {
    /// A console of `width`×`height` over `tickets` generated tickets at [`fixed_now`], started.
    pub fn new(config: &crate::tui::ConsoleConfig, tickets: usize, width: u16, height: u16) -> Harness {
        let now = fixed_now();
        let state = match crate::tui::State::new(config, now, width, height) {
            Ok(s) => s,
            Err(e) => panic!("fixture console does not start: {e}"),
        };
        let handler = FixtureHandler::new(FixtureData::generate(tickets, 7, now));
        let mut h = Harness { state, handler, effects: Vec::new() };
        h.act(Action::Start);
        h
    }

    /// A test configuration: no user themes, no `[keys]`, the given theme and colours.
    pub fn config(theme: &str, depth: crate::tui::ColorDepth) -> crate::tui::ConsoleConfig {
        let mut c = crate::tui::ConsoleConfig::new(OPERATOR, "fixture");
        c.themes_dir = None;
        c.theme = Some(theme.to_string());
        c.color_depth = depth;
        c.initial_view = SavedView::AllOpen;
        c
    }

    /// Applies an action and answers every effect that follows.
    pub fn act(&mut self, action: Action) {
        let mut queue = std::collections::VecDeque::from([action]);
        let mut steps = 0;
        while let Some(a) = queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "the console and the fixture keep answering each other");
            let fx = crate::tui::update(&mut self.state, a);
            for effect in fx.effects {
                queue.extend(self.handler.answer(&effect));
                self.effects.push(effect);
            }
            if queue.is_empty() && self.state.searching() {
                queue.push_back(Action::ContinueSearch);
            }
        }
    }

    /// Presses keys written as in `[keys]`, separated by spaces (`"j j enter"`, `"ctrl-s"`).
    pub fn press(&mut self, keys: &str) {
        for k in keys.split_whitespace() {
            let chord = match crate::tui::keymap::KeyChord::parse(k) {
                Ok(c) => c,
                Err(e) => panic!("{e}"),
            };
            self.act(Action::Key(crossterm::event::KeyEvent::new(chord.code, chord.mods)));
        }
    }

    /// Types text character by character.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let code = if c == '\n' { crossterm::event::KeyCode::Enter } else { crossterm::event::KeyCode::Char(c) };
            self.act(Action::Key(crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE)));
        }
    }

    /// Draws a frame on an off-screen terminal of the state's size.
    pub fn render(&self) -> ratatui::buffer::Buffer {
        let backend = ratatui::backend::TestBackend::new(self.state.width, self.state.height);
        let mut terminal = match ratatui::Terminal::new(backend) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        if let Err(e) = terminal.draw(|f| crate::tui::view::render(f, &self.state)) {
            panic!("{e}");
        }
        terminal.backend().buffer().clone()
    }

    /// The frame as text, one line per row.
    pub fn screen(&self) -> String {
        let buf = self.render();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }
}
