//! Access requests end to end, one scenario per fulfilment route, through the real binary playing
//! each persona against the in-process emulator (all personas share one store, as a team does):
//! `okta` (zoom-users), `okta` + `servicenow` (aws-prod-readonly), `oig` (aws-prod-admin,
//! Salesforce), `servicenow` + `okta` (finance-netsuite); the approval policy (separation of
//! duties, not an approver, two consoles at once); and the bridge of pattern D.

mod access_support;

use std::collections::HashSet;
use std::time::Duration;

use access_support::{Home, ok, okta, set_faults, sn_as, start, text};
use grantdesk::domain::request::RequestStatus;
use grantdesk::domain::{ApprovalState, JournalKind, Ticket, TicketKind};
use grantdesk::servicenow::{DisplayValue, ListOptions, Query, ServiceNowClient};
use grantdesk::store::AuditQuery;
use serde_json::Value;

const DANA: &str = "dana.desk";
const RILEY: &str = "riley.requester@example.com";

/// The user name a login signs in to ServiceNow with.
fn user_name(login: &str) -> &str {
    login.split('@').next().unwrap()
}

/// Riley's open "locked out" incident, where the demo story starts.
async fn rileys_incident(sn: &ServiceNowClient) -> Ticket {
    let q = Query::new()
        .like("short_description", "Locked out")
        .eq("active", "true")
        .eq("caller_id.user_name", "riley.requester");
    sn.tickets(TicketKind::Incident, &q, Some(1)).await.unwrap().into_iter().next().expect("riley's incident")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON on stdout")
}

/// An active person outside `group` and the personas.
fn outsider(emu: &grantdesk::emulator::RunningEmulator, group: &str) -> String {
    let members: HashSet<String> = emu.shared.okta.group_member_logins(group).into_iter().collect();
    let mut people = emu.shared.okta.logins_with_status("ACTIVE");
    people.sort();
    people
        .into_iter()
        .find(|p| !members.contains(p) && !p.contains(".desk@") && !p.contains("approver") && !p.contains("manager"))
        .expect("someone outside the group")
}

/// The work notes of a record, oldest first, as (author, text).
async fn work_notes(sn: &ServiceNowClient, sys_id: &str) -> Vec<(String, String)> {
    let mut notes: Vec<_> = sn
        .journal(sys_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JournalKind::WorkNote)
        .map(|j| (j.created_by, j.value))
        .collect();
    notes.reverse();
    notes
}

#[tokio::test(flavor = "multi_thread")]
async fn okta_route_any_standard_approver_grants_zoom_once() {
    let emu = start(None).await;
    let home = Home::demo();
    let sn = sn_as(&emu, DANA);
    let inc = rileys_incident(&sn).await;
    let who = outsider(&emu, "zoom-users");
    let approver = emu
        .shared
        .okta
        .group_member_logins("it-approvers-standard")
        .into_iter()
        .find(|l| !l.starts_with("dana."))
        .unwrap();

    let raised = json(
        &home
            .run(
                &emu,
                DANA,
                &[
                    "request",
                    "--ticket",
                    &inc.number,
                    "--for",
                    &who,
                    "--group",
                    "zoom-users",
                    "--justification",
                    "customer calls",
                    "--json",
                ],
            )
            .await,
    );
    let id = raised["request"]["id"].as_str().unwrap().to_string();
    assert_eq!(raised["request"]["status"], "pending");
    let step: Vec<&str> =
        raised["request"]["steps"][0]["approvers"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(step.contains(&approver.as_str()) && !step.contains(&"dana.desk@example.com"), "{step:?}");
    assert_eq!(raised["route_work"], Value::Array(vec![]), "the okta route records nothing elsewhere");

    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let out = home.run(&emu, user_name(&approver), &["approve", &id, "--comment", "ok for Zoom"]).await;
    let stdout = ok(&out);
    assert!(stdout.contains(&format!("{who} now has group zoom-users")), "{stdout}");
    assert!(emu.shared.okta.group_member_logins("zoom-users").contains(&who));

    let adds = access_support::membership_adds(&emu, before).await;
    let key = (emu.shared.okta.user_id(&who).unwrap(), emu.shared.okta.group_id("zoom-users").unwrap());
    assert_eq!(adds.get(&key), Some(&1));
    let store = home.store().await;
    let r = store.access_request(&id).await.unwrap().unwrap().request;
    assert_eq!(r.status, RequestStatus::Granted);
    assert_eq!(r.decisions[0].approver, approver);
    assert!(r.expires_at.is_none(), "zoom-users is permanent");
    // The grant's proof is the very event Okta logged.
    let proof = r.external.grant_event.clone().expect("the System Log event is recorded");
    let q = grantdesk::okta::LogQuery::between(before, chrono::Utc::now() + chrono::Duration::minutes(1))
        .filter(format!("eventType eq \"group.user_membership.add\" and target.id eq \"{}\"", key.0));
    let logged: Vec<grantdesk::domain::LogEvent> =
        futures::TryStreamExt::try_collect(okta(&emu).log_events(&q)).await.unwrap();
    assert_eq!(logged.iter().map(|e| e.uuid.as_str()).collect::<Vec<_>>(), [proof.as_str()]);
    let grant = store
        .audit_records(&AuditQuery { subject: Some(who.clone()), limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.action == "grant.add" && a.outcome == "success")
        .expect("a grant.add outcome");
    assert_eq!(grant.operator, user_name(&approver));
    assert_eq!(grant.ticket, inc.number);
    let proved = store
        .audit_records(&AuditQuery { subject: Some(who.clone()), limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .any(|a| a.details_json()["okta_event"] == proof.as_str());
    assert!(proved, "the proof is in the audit log");
}

#[tokio::test(flavor = "multi_thread")]
async fn okta_and_servicenow_route_tells_the_story_in_both_and_in_history() {
    let emu = start(None).await;
    let home = Home::demo();
    let sn = sn_as(&emu, DANA);
    let inc = rileys_incident(&sn).await;
    let raised = json(
        &home
            .run(
                &emu,
                DANA,
                &[
                    "request",
                    "--ticket",
                    &inc.number,
                    "--group",
                    "aws-prod-readonly",
                    "--justification",
                    "read prod logs",
                    "--json",
                ],
            )
            .await,
    );
    let id = raised["request"]["id"].as_str().unwrap().to_string();
    assert_eq!(raised["request"]["requested_for"], RILEY, "the ticket's caller by default");
    let ritm_number = raised["request"]["external"]["ritm"].as_str().expect("a RITM records it").to_string();
    let ritm = sn.ticket_by_number(&ritm_number).await.unwrap().unwrap();
    let raw = sn
        .get("sc_req_item", &ritm.sys_id, &ListOptions::fields(&["parent", "request"], DisplayValue::Value))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.value("parent"), inc.sys_id, "the RITM hangs off the incident");
    assert_eq!(raw.value("request"), ritm.parent.sys_id, "and belongs to its REQ");
    assert_eq!((ritm.state.as_str(), ritm.approval.as_str()), ("1", "requested"));
    let rows = sn.approvals_for(&ritm.sys_id).await.unwrap();
    assert_eq!(rows.len(), 1, "only the first step is asked yet");
    assert_eq!(
        (rows[0].approver.display.as_str(), rows[0].state.clone()),
        ("Morgan Manager", ApprovalState::Requested)
    );

    // Out of order: the group owner is not asked yet.
    let early = home.run(&emu, "alex.approver", &["approve", &id, "--comment", "fine"]).await;
    assert_eq!(early.status.code(), Some(3), "{}", text(&early.stderr));
    ok(&home.run(&emu, "morgan.manager", &["approve", &id, "--comment", "manager ok"]).await);
    let rows = sn.approvals_for(&ritm.sys_id).await.unwrap();
    assert_eq!(rows.len(), 2);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let out = ok(&home.run(&emu, "alex.approver", &["approve", &id, "--comment", "owner ok"]).await);
    assert!(out.contains("now has group aws-prod-readonly until"), "{out}");

    // Okta: the membership, logged once, and its event recorded on the request.
    assert!(emu.shared.okta.group_member_logins("aws-prod-readonly").contains(&RILEY.to_string()));
    let adds = access_support::membership_adds(&emu, before).await;
    assert_eq!(adds.values().sum::<usize>(), 1);
    let store = home.store().await;
    let r = store.access_request(&id).await.unwrap().unwrap().request;
    assert_eq!(r.status, RequestStatus::Granted);
    let proof = r.external.grant_event.clone().expect("the grant's System Log event");
    let expires = r.expires_at.expect("aws-prod-readonly is time-bound");
    assert_eq!(expires - r.granted_at.unwrap(), chrono::Duration::hours(8));

    // ServiceNow: approval rows mirror the sequence, a work note per decision and for the
    // fulfilment (each once), the RITM closed complete, and the incident told once.
    let rows = sn.approvals_for(&ritm.sys_id).await.unwrap();
    let got: Vec<(&str, ApprovalState)> = rows.iter().map(|a| (a.approver.display.as_str(), a.state.clone())).collect();
    assert_eq!(got, [("Morgan Manager", ApprovalState::Approved), ("Alex Approver", ApprovalState::Approved)]);
    let comments = sn.journal(&rows[1].sys_id).await.unwrap();
    assert!(comments.iter().any(|j| j.kind == JournalKind::Comment && j.value == "owner ok"), "{comments:?}");
    let notes = work_notes(&sn, &ritm.sys_id).await;
    let marked = |m: &str| notes.iter().filter(|(_, t)| t.contains(&format!("[{id} {m}]"))).collect::<Vec<_>>();
    assert_eq!(marked("#d1").len(), 1);
    assert_eq!(marked("#d1")[0].0, "morgan.manager");
    assert!(marked("#d1")[0].1.contains("manager ok"));
    assert_eq!(marked("#d2").len(), 1);
    assert_eq!(marked("#d2")[0].0, "alex.approver");
    assert_eq!(marked("#grant").len(), 1);
    assert!(marked("#grant")[0].1.contains(&proof), "{:?}", marked("#grant"));
    assert_eq!(notes.len(), 3, "{notes:?}");
    let ritm = sn.ticket_by_number(&ritm_number).await.unwrap().unwrap();
    assert_eq!((ritm.state.as_str(), ritm.approval.as_str()), ("3", "approved"));
    let told = work_notes(&sn, &inc.sys_id).await;
    assert_eq!(
        told.iter().filter(|(_, t)| t.contains(&format!("[{id} #raised]")) && t.contains(&ritm_number)).count(),
        1
    );

    // History, from the store after a sync: one grant, with its approvers, ticket and proof.
    ok(&home.run(&emu, DANA, &["sync"]).await);
    let h = json(&home.run(&emu, DANA, &["history", "--user", RILEY, "--json"]).await);
    let entries = h["entries"].as_array().unwrap();
    let grants: Vec<&Value> = entries.iter().filter(|e| e["target"] == "aws-prod-readonly").collect();
    assert_eq!(grants.len(), 1, "{grants:#?}");
    let g = grants[0];
    assert_eq!(g["ticket"], inc.number.as_str());
    assert_eq!(g["justification"], "read prod logs");
    assert_eq!(g["approved_by"], serde_json::json!(["morgan.manager@example.com", "alex.approver@example.com"]));
    assert_eq!(g["okta"]["uuid"], proof.as_str());
    assert!(g["expires_at"].is_string());
    assert!(
        !entries.iter().any(|e| e["ticket"] == ritm_number.as_str()),
        "the RITM is this request, not another grant"
    );
    let table = ok(&home.run(&emu, DANA, &["history", "--user", RILEY]).await);
    assert!(
        table.contains("aws-prod-readonly") && table.contains("confirmed") && table.contains(&inc.number),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oig_route_is_raised_for_the_caller_and_tracked_to_its_end() {
    let emu = start(None).await;
    // The seeded approvers decide at the next request instead of after a few seconds.
    emu.shared.okta.set_decision_delay(Duration::ZERO);
    let home = Home::demo();
    let sn = sn_as(&emu, DANA);
    let inc = rileys_incident(&sn).await;

    // Riley is an engineer: OIG's condition approves production admin for engineers.
    let admin = json(
        &home
            .run(
                &emu,
                DANA,
                &[
                    "request",
                    "--ticket",
                    &inc.number,
                    "--group",
                    "aws-prod-admin",
                    "--justification",
                    "on-call",
                    "--json",
                ],
            )
            .await,
    );
    let admin_id = admin["request"]["id"].as_str().unwrap().to_string();
    let oig_id =
        admin["request"]["external"]["oig_request_id"].as_str().unwrap_or_else(|| panic!("{admin}")).to_string();
    let refused = home.run(&emu, "morgan.manager", &["approve", &admin_id, "--comment", "ok"]).await;
    assert_eq!(refused.status.code(), Some(3));
    assert!(text(&refused.stdout).contains("Okta Identity Governance"), "{}", text(&refused.stdout));

    // Someone outside Engineering: denied by OIG.
    let engineers: HashSet<String> = emu.shared.okta.group_member_logins("dept-engineering").into_iter().collect();
    let mut people = emu.shared.okta.logins_with_status("ACTIVE");
    people.sort();
    let outsider = people.into_iter().find(|p| !engineers.contains(p) && !p.contains(".desk@")).unwrap();
    let denied = json(
        &home
            .run(
                &emu,
                DANA,
                &["request", "--for", &outsider, "--group", "aws-prod-admin", "--justification", "curious", "--json"],
            )
            .await,
    );
    let denied_id = denied["request"]["id"].as_str().unwrap().to_string();

    // An app, approved by its owner in OIG.
    let seller = emu
        .shared
        .okta
        .logins_with_status("ACTIVE")
        .into_iter()
        .filter(|l| !emu.shared.okta.app_labels_of(l).contains(&"Salesforce".to_string()) && !l.contains(".desk@"))
        .min()
        .unwrap();
    let sf = json(
        &home
            .run(
                &emu,
                DANA,
                &["request", "--for", &seller, "--app", "salesforce", "--justification", "new account rep", "--json"],
            )
            .await,
    );
    let sf_id = sf["request"]["id"].as_str().unwrap().to_string();

    let out = home.run(&emu, DANA, &["worker", "--once"]).await;
    ok(&out);
    let store = home.store().await;
    let r = store.access_request(&admin_id).await.unwrap().unwrap().request;
    assert_eq!(r.status, RequestStatus::Granted, "{}", text(&out.stderr));
    assert_eq!(emu.shared.okta.request_status(&oig_id), Some(("APPROVED".into(), Some("GRANTED".into()))));
    assert!(emu.shared.okta.group_member_logins("aws-prod-admin").contains(&RILEY.to_string()));
    let until = r.expires_at.expect("OIG's grant is time-bound");
    assert_eq!(until - r.granted_at.unwrap(), chrono::Duration::hours(8));
    assert_eq!(store.access_request(&denied_id).await.unwrap().unwrap().request.status, RequestStatus::Denied);
    assert!(!emu.shared.okta.group_member_logins("aws-prod-admin").contains(&outsider));
    assert_eq!(store.access_request(&sf_id).await.unwrap().unwrap().request.status, RequestStatus::Granted);
    assert!(emu.shared.okta.app_labels_of(&seller).contains(&"Salesforce".to_string()));

    // OIG ends the grant at its expiry; the next round sees it.
    emu.shared.okta.advance_clock(Duration::from_secs(9 * 3600));
    ok(&home.run(&emu, DANA, &["worker", "--once"]).await);
    let r = store.access_request(&admin_id).await.unwrap().unwrap().request;
    assert_eq!(r.status, RequestStatus::Revoked);
    assert!(!emu.shared.okta.group_member_logins("aws-prod-admin").contains(&RILEY.to_string()));
    let trail: Vec<String> = store
        .audit_records(&AuditQuery { subject: Some(RILEY.into()), limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.details_json()["access_request"] == admin_id.as_str())
        .filter_map(|a| a.details_json()["status"].as_str().map(String::from))
        .collect();
    assert!(trail.contains(&"granted".to_string()) && trail.contains(&"revoked".to_string()), "{trail:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn servicenow_and_okta_route_for_finance_is_recorded_then_granted() {
    let emu = start(None).await;
    let home = Home::demo();
    let sn = sn_as(&emu, DANA);
    let okta = okta(&emu);
    let gid = emu.shared.okta.group_id("finance-netsuite").unwrap();
    let owners = okta.group_owners(&gid).await.unwrap();
    let head = okta.user(&owners[0].id).await.unwrap().login;
    let members: HashSet<String> = emu.shared.okta.group_member_logins("finance-netsuite").into_iter().collect();
    let who = emu
        .shared
        .okta
        .group_member_logins("dept-finance")
        .into_iter()
        .find(|l| *l != head && !members.contains(l) && emu.shared.okta.user_status(l).as_deref() == Some("ACTIVE"))
        .expect("someone in Finance without NetSuite");

    let preview = json(
        &home
            .run(
                &emu,
                DANA,
                &[
                    "request",
                    "--for",
                    &who,
                    "--group",
                    "finance-netsuite",
                    "--justification",
                    "month end",
                    "--dry-run",
                    "--json",
                ],
            )
            .await,
    );
    assert_eq!(preview["approvers"], serde_json::json!([[head.clone()]]));
    // Not requestable outside Finance.
    let refused = home
        .run(&emu, DANA, &["request", "--for", RILEY, "--group", "finance-netsuite", "--justification", "month end"])
        .await;
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));

    let raised = json(
        &home
            .run(
                &emu,
                DANA,
                &["request", "--for", &who, "--group", "finance-netsuite", "--justification", "month end", "--json"],
            )
            .await,
    );
    let id = raised["request"]["id"].as_str().unwrap().to_string();
    let ritm_number = raised["request"]["external"]["ritm"].as_str().expect("recorded first").to_string();
    let ritm = sn.ticket_by_number(&ritm_number).await.unwrap().unwrap();
    assert_eq!(ritm.caller_email, who);
    assert_eq!(ritm.approval, "requested");
    let rows = sn.approvals_for(&ritm.sys_id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, ApprovalState::Requested);

    ok(&home.run(&emu, user_name(&head), &["approve", &id, "--comment", "approved for close"]).await);
    assert!(emu.shared.okta.group_member_logins("finance-netsuite").contains(&who));
    let r = home.store().await.access_request(&id).await.unwrap().unwrap().request;
    assert_eq!(r.status, RequestStatus::Granted);
    assert_eq!(r.expires_at.unwrap() - r.granted_at.unwrap(), chrono::Duration::days(90));
    let ritm = sn.ticket_by_number(&ritm_number).await.unwrap().unwrap();
    assert_eq!((ritm.state.as_str(), ritm.approval.as_str()), ("3", "approved"));
    let rows = sn.approvals_for(&ritm.sys_id).await.unwrap();
    assert_eq!(rows[0].state, ApprovalState::Approved);
    let notes = work_notes(&sn, &ritm.sys_id).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].1.starts_with(&format!("[{id} #d1]")) && notes[0].0 == user_name(&head));
    assert!(
        notes[1].1.starts_with(&format!("[{id} #grant]"))
            && notes[1].1.contains(r.external.grant_event.as_deref().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_refuses_self_approval_raisers_and_strangers_and_audits_it() {
    let emu = start(None).await;
    let home = Home::demo();
    // Dana raises production read-only access for alex (who owns the group).
    let raised = json(
        &home
            .run(
                &emu,
                DANA,
                &[
                    "request",
                    "--for",
                    "alex.approver@example.com",
                    "--group",
                    "aws-prod-readonly",
                    "--justification",
                    "audit",
                    "--json",
                ],
            )
            .await,
    );
    let id = raised["request"]["id"].as_str().unwrap().to_string();
    for (who, why) in [
        ("alex.approver", "cannot decide a request for themselves"),
        (DANA, "raised this request and cannot decide it"),
        ("riley.requester", "is not an approver of step 1"),
    ] {
        let out = home.run(&emu, who, &["approve", &id, "--comment", "let me"]).await;
        assert_eq!(out.status.code(), Some(3), "{who}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains(why), "{who}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains("refused by policy"), "{}", text(&out.stderr));
    }
    let store = home.store().await;
    let refusals: Vec<(String, String)> = store
        .audit_records(&AuditQuery { limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.outcome == "refused" && a.action == "access_request.approve")
        .map(|a| (a.operator.clone(), a.details_json()["reason"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    assert!(refusals.iter().any(|(op, r)| op == "alex.approver" && r.contains("separation of duties")));
    let r = store.access_request(&id).await.unwrap().unwrap().request;
    assert!(r.decisions.is_empty() && r.status == RequestStatus::Pending);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_consoles_approving_at_once_one_wins_and_the_other_is_told_who() {
    let emu = start(None).await;
    let home = Home::demo();
    let who = outsider(&emu, "zoom-users");
    let raised = json(
        &home
            .run(
                &emu,
                "alex.approver",
                &["request", "--for", &who, "--group", "zoom-users", "--justification", "calls", "--json"],
            )
            .await,
    );
    let id = raised["request"]["id"].as_str().unwrap().to_string();
    let other = emu
        .shared
        .okta
        .group_member_logins("it-approvers-standard")
        .into_iter()
        .find(|l| !l.starts_with("dana."))
        .unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let a = home.spawn(&emu, DANA, &["approve", &id, "--comment", "from console A"]);
    let b = home.spawn(&emu, user_name(&other), &["approve", &id, "--comment", "from console B"]);
    let (a, b) = access_support::blocking(move || (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())).await;
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(3)),
        "{codes:?}\n{}\n{}",
        text(&a.stdout),
        text(&b.stdout)
    );
    let (winner, loser) = if a.status.success() { ("dana.desk@example.com", &b) } else { (other.as_str(), &a) };
    let told = text(&loser.stdout);
    assert!((told.contains("already approved") || told.contains("already granted")) && told.contains(winner), "{told}");
    let r = home.store().await.access_request(&id).await.unwrap().unwrap().request;
    assert_eq!(r.decisions.len(), 1);
    assert_eq!(r.decisions[0].approver, winner);
    assert_eq!(r.status, RequestStatus::Granted);
    assert_eq!(access_support::membership_adds(&emu, before).await.values().sum::<usize>(), 1);
}

/// Raises `n` OIG requests straight in Okta for engineers (production admin, which OIG decides
/// by its own conditions), and lets the seeded approvers decide them.
async fn self_service_oig_requests(emu: &grantdesk::emulator::RunningEmulator, n: usize) {
    use futures::TryStreamExt as _;
    use grantdesk::okta::oig::NewAccessRequest;
    emu.shared.okta.set_decision_delay(Duration::ZERO);
    let client = okta(emu);
    let mut engineers = emu.shared.okta.group_member_logins("dept-engineering");
    engineers.sort();
    let mut raised = 0;
    for login in engineers.iter().filter(|l| !l.starts_with("riley.") && !l.starts_with("casey.")) {
        if raised == n {
            break;
        }
        let user = client.user(login).await.unwrap();
        if user.status != grantdesk::domain::UserStatus::Active {
            continue;
        }
        let parents: Vec<grantdesk::okta::oig::CatalogEntry> =
            client.catalog_entries_for(&user.id, "not(parent pr)").try_collect().await.unwrap();
        let mut entry = None;
        for p in &parents {
            let filter = format!("parent eq \"{}\"", p.id);
            let kids: Vec<grantdesk::okta::oig::CatalogEntry> =
                client.catalog_entries_for(&user.id, &filter).try_collect().await.unwrap();
            entry = kids.into_iter().find(|k| k.name.as_deref() == Some("aws-prod-admin"));
            if entry.is_some() {
                break;
            }
        }
        let Some(entry) = entry else { continue };
        client
            .create_access_request(&NewAccessRequest {
                entry_id: entry.id,
                requested_for: user.id.clone(),
                requested_by: None,
                fields: vec![("justification".into(), "asked in the Okta dashboard".into())],
            })
            .await
            .unwrap();
        raised += 1;
    }
    assert_eq!(raised, n, "engineers who can ask OIG for aws-prod-admin");
    // The next request lets the seeded approvers decide.
    let _: Vec<grantdesk::okta::oig::AccessRequest> = client.access_requests(None).try_collect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bridge_records_each_oig_request_once_even_when_answers_are_lost() {
    // Connections dropped before and after ServiceNow handles a call: a RITM may be created
    // without the caller hearing of it.
    let emu = start(Some("reset=20%")).await;
    let home = Home::demo();
    let sn = sn_as(&emu, DANA);
    let none = home.run(&emu, DANA, &["bridge"]).await;
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("grantdesk sync"), "{}", text(&none.stderr));
    // People who asked Okta directly (the OIG dashboard), so ServiceNow never heard of it.
    self_service_oig_requests(&emu, 6).await;
    ok(&home.run(&emu, DANA, &["sync"]).await);

    let found =
        json(&home.run(&emu, DANA, &["bridge", "--dry-run", "--json"]).await)["found"].as_array().unwrap().clone();
    assert!(found.len() >= 5, "the seeded OIG history has requests ServiceNow never saw: {}", found.len());
    // Casey's on-call grant has its RITM already.
    assert!(!found.iter().any(|f| f["user"] == "casey.contractor@example.com"), "{found:#?}");
    // Direct grants by an administrator are orphans, not requests.
    assert!(found.iter().all(|f| f["resolved"]["event_type"] == "access.request.resolve"));

    set_faults(&emu, true);
    let mut runs = 0;
    loop {
        runs += 1;
        let out = home.run(&emu, DANA, &["bridge"]).await;
        if out.status.success() {
            break;
        }
        assert!(runs < 8, "bridge keeps failing: {}", text(&out.stderr));
    }
    set_faults(&emu, false);
    let counts = emu.shared.faults.as_ref().unwrap().counts();
    assert!(counts.resets_after > 0, "{counts:?}");

    let q = Query::new().like("description", "Okta access request req");
    let ritms = sn.tickets(TicketKind::RequestedItem, &q, None).await.unwrap();
    assert_eq!(ritms.len(), found.len(), "one RITM per OIG request, never two");
    for f in &found {
        let id = f["oig_request"].as_str().unwrap();
        let mine: Vec<&Ticket> =
            ritms.iter().filter(|t| t.description.contains(&format!("Okta access request {id}"))).collect();
        assert_eq!(mine.len(), 1, "{id}");
        let t = mine[0];
        let approved = f["approved"].as_bool().unwrap();
        assert_eq!(t.state, if approved { "3" } else { "4" });
        assert_eq!(t.caller_email, f["user"].as_str().unwrap());
        let notes = work_notes(&sn, &t.sys_id).await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].1.contains(f["resolved"]["uuid"].as_str().unwrap()));
        if let Some(g) = f["granted"].as_object() {
            assert!(notes[0].1.contains(g["uuid"].as_str().unwrap()) && notes[0].1.contains("Okta Access Requests"));
        }
    }
    // Once recorded, never again: not by the command, not by the worker.
    ok(&home.run(&emu, DANA, &["sync"]).await);
    let again = ok(&home.run(&emu, DANA, &["bridge"]).await);
    assert!(again.contains("has a ServiceNow record"), "{again}");
    ok(&home.run(&emu, DANA, &["worker", "--once"]).await);
    assert_eq!(sn.tickets(TicketKind::RequestedItem, &q, None).await.unwrap().len(), found.len());
}
