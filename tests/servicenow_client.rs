//! The ServiceNow client against the in-process emulator: every operation later parts call,
//! paging, authentication (basic, OAuth password with refresh, client credentials), retries on
//! 429/503, TLS with a CA bundle, and errors that say what happened without leaking secrets.
//! Results are checked against the emulator's own data.

use std::time::Duration;

use futures::TryStreamExt as _;
use grantdesk::config::{Secret, ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::{ApprovalState, JournalKind, TicketKind};
use grantdesk::emulator::servicenow::{DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET, Fault};
use grantdesk::emulator::{self, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::servicenow::{ListOptions, Query, QueryValue, RetryPolicy, ServiceNowClient, ServiceNowError};

async fn start() -> RunningEmulator {
    emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.expect("emulator starts")
}

fn config(emu: &RunningEmulator, auth: ServiceNowAuth) -> ServiceNowConfig {
    ServiceNowConfig {
        url: emu.base_url.parse().unwrap(),
        auth,
        ca_bundle: emu.ca_pem_path.clone(),
        timeout: Duration::from_secs(20),
    }
}

fn basic(user: &str, password: &str) -> ServiceNowAuth {
    ServiceNowAuth::Basic { user: user.into(), password: Secret::new(password.into()) }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

fn client(emu: &RunningEmulator, user: &str) -> ServiceNowClient {
    ServiceNowClient::new(&config(emu, basic(user, DEMO_PASSWORD))).unwrap().with_retry(fast())
}

fn sys_id_of(emu: &RunningEmulator, user_name: &str) -> String {
    emu.shared.servicenow.find("sys_user", "user_name", user_name)[0]["sys_id"].clone()
}

#[tokio::test]
async fn lists_exactly_the_matching_tickets_across_pages() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let q = Query::new().eq("active", true).eq("priority", 2u8).order_by("number");
    let opts = ListOptions { page_size: 7, ..ServiceNowClient::ticket_list_options(TicketKind::Incident, 7) };
    let mut pages = 0;
    let mut got = Vec::new();
    let mut stream = std::pin::pin!(sn.ticket_pages(TicketKind::Incident, &q, &opts));
    while let Some(page) = stream.try_next().await.unwrap() {
        pages += 1;
        got.extend(page);
    }
    let mut want: Vec<String> = emu
        .shared
        .servicenow
        .find("incident", "priority", "2")
        .into_iter()
        .filter(|r| r["active"] == "true")
        .map(|r| r["number"].clone())
        .collect();
    want.sort();
    let numbers: Vec<String> = got.iter().map(|t| t.number.clone()).collect();
    assert_eq!(numbers, want);
    assert!(pages > 2, "several pages");
    let riley = got.iter().find(|t| t.caller_email == "riley.requester@example.com").unwrap();
    assert_eq!(riley.short_description, "Locked out of Okta - cannot sign in");
    assert_eq!(riley.caller.display, "Riley Requester");
    assert_eq!(riley.caller_email, "riley.requester@example.com");
    assert_eq!(riley.assignment_group.display, "Service Desk");
    assert_eq!((riley.state.as_str(), riley.state_label.as_str(), riley.priority), ("1", "New", 2));
    assert!(riley.assigned_to.is_empty());
    assert_eq!(sn.count_tickets(TicketKind::Incident, &q).await.unwrap(), want.len() as u64);
}

#[tokio::test]
async fn a_short_page_is_not_the_end() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let q = Query::new().eq("priority", 1u8).order_by("number");
    let all = sn.list("incident", &q, &ListOptions { page_size: 5, ..Default::default() }).await.unwrap();
    assert!(all.len() > 10);
    // ACLs hide most rows of the first page: the client must still read on to the total.
    emu.shared.servicenow.inject_faults([Fault::AclHidesRows(1)]);
    let partial = sn.list("incident", &q, &ListOptions { page_size: 5, ..Default::default() }).await.unwrap();
    assert_eq!(partial.len(), all.len() - 4);
    assert_eq!(partial.last().unwrap().sys_id(), all.last().unwrap().sys_id());
}

#[tokio::test]
async fn reads_one_ticket_by_id_and_by_number() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let ritm = &emu.shared.servicenow.find("sc_req_item", "requested_for", &sys_id_of(&emu, "riley.requester"))[0];
    let t = sn.ticket(TicketKind::RequestedItem, &ritm["sys_id"]).await.unwrap().unwrap();
    assert_eq!(t.short_description, "Access request: aws-prod-readonly for Riley Requester");
    assert_eq!(t.approval, "requested");
    assert_eq!(t.caller_email, "riley.requester@example.com");
    assert_eq!(t.parent.sys_id, ritm["request"]);
    assert_eq!(t.cat_item, "Access: aws-prod-readonly");
    let by_number = sn.ticket_by_number(&t.number.to_lowercase()).await.unwrap().unwrap();
    assert_eq!(by_number.sys_id, t.sys_id);
    assert!(sn.ticket(TicketKind::Incident, "0123456789abcdef0123456789abcdef").await.unwrap().is_none());
    assert!(sn.ticket_by_number("INC9999999").await.unwrap().is_none());
    let task = emu.shared.servicenow.find("sc_task", "state", "3").into_iter().next().unwrap();
    let task = sn.ticket(TicketKind::CatalogTask, &task["sys_id"]).await.unwrap().unwrap();
    assert!(task.caller_email.ends_with("@example.com"), "sc_task reaches its caller through the RITM");
}

#[tokio::test]
async fn updates_notes_and_the_journal() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let inc = sn
        .tickets(
            TicketKind::Incident,
            &Query::new().eq("caller_id.user_name", "riley.requester").eq("active", true),
            None,
        )
        .await
        .unwrap()
        .remove(0);
    let dana = sys_id_of(&emu, "dana.desk");
    let updated =
        sn.update_ticket(TicketKind::Incident, &inc.sys_id, &[("assigned_to", &dana), ("state", "2")]).await.unwrap();
    assert_eq!(updated.mod_count, inc.mod_count + 1);
    assert_eq!(updated.assigned_to.display, "Dana Desk");
    assert_eq!(updated.state_label, "In Progress");
    assert_eq!(updated.updated_by, "dana.desk");
    let noted =
        sn.add_journal(TicketKind::Incident, &inc.sys_id, JournalKind::WorkNote, "Unlocked in Okta").await.unwrap();
    assert_eq!(noted.mod_count, inc.mod_count + 2);
    sn.add_journal(TicketKind::Incident, &inc.sys_id, JournalKind::Comment, "You can sign in again").await.unwrap();
    let journal = sn.journal(&inc.sys_id).await.unwrap();
    assert_eq!(journal.len(), 2);
    assert_eq!((journal[0].kind, journal[0].value.as_str()), (JournalKind::Comment, "You can sign in again"));
    assert_eq!((journal[1].kind, journal[1].created_by.as_str()), (JournalKind::WorkNote, "dana.desk"));
    assert_eq!(emu.shared.servicenow.record("incident", &inc.sys_id).unwrap()["state"], "2");

    // Changes since a watermark: the sync query finds exactly what moved.
    let since = updated.updated_at;
    let q = ServiceNowClient::updated_since(since).eq("caller_id.user_name", "riley.requester");
    let moved = sn.tickets(TicketKind::Incident, &q, None).await.unwrap();
    assert_eq!(moved.iter().map(|t| t.sys_id.as_str()).collect::<Vec<_>>(), [inc.sys_id.as_str()]);

    // The journal sync sees both entries; the id listing sees every incident.
    let recent = sn.journal_since(since).await.unwrap();
    assert!(recent.iter().any(|j| j.ticket_sys_id == inc.sys_id && j.value == "Unlocked in Okta"));
    assert!(recent.iter().all(|j| j.created_on >= since));
    let ids = sn.ticket_ids(TicketKind::Incident).await.unwrap();
    assert_eq!(ids.len(), emu.shared.servicenow.count("incident").unwrap());

    // Resolving without a code and notes is refused with the instance's message.
    let err = sn.update_ticket(TicketKind::Incident, &inc.sys_id, &[("state", "6")]).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    let text = err.to_string();
    assert!(text.contains("close_code") && text.contains("close_notes"), "{text}");
    let resolved = sn
        .update_ticket(
            TicketKind::Incident,
            &inc.sys_id,
            &[("state", "6"), ("close_code", "Solution provided"), ("close_notes", "Unlocked")],
        )
        .await
        .unwrap();
    assert_eq!(resolved.state_label, "Resolved");
    assert_eq!(resolved.close_code, "Solution provided");
}

#[tokio::test]
async fn creates_requests_and_decides_approvals() {
    let emu = start().await;
    let dana = client(&emu, "dana.desk");
    let riley = sys_id_of(&emu, "riley.requester");
    let req = dana
        .create_ticket(TicketKind::Request, &[("requested_for", &riley), ("short_description", "Access for Riley")])
        .await
        .unwrap();
    assert!(req.number.starts_with("REQ"));
    let ritm = dana
        .create_ticket(
            TicketKind::RequestedItem,
            &[
                ("request", &req.sys_id),
                ("requested_for", &riley),
                ("short_description", "Access request: zoom-users for Riley Requester"),
            ],
        )
        .await
        .unwrap();
    assert!(ritm.number.starts_with("RITM"));
    assert_eq!(ritm.parent.sys_id, req.sys_id);
    assert_eq!(ritm.caller.display, "Riley Requester");
    assert_eq!(emu.shared.servicenow.record("sc_req_item", &ritm.sys_id).unwrap()["request"], req.sys_id);

    let alex = client(&emu, "alex.approver");
    let inbox = alex.my_pending_approvals().await.unwrap();
    assert_eq!(inbox.len(), 25);
    let first = &inbox[0];
    let decided = alex.decide_approval(&first.sys_id, &ApprovalState::Approved, "Fine for a week").await.unwrap();
    assert_eq!(decided.state, ApprovalState::Approved);
    assert_eq!(decided.approver.display, "Alex Approver");
    let rows = alex.approvals_for(&first.document.sys_id).await.unwrap();
    assert!(rows.iter().any(|a| a.sys_id == first.sys_id && a.state == ApprovalState::Approved));
    let comments = alex.journal(&first.sys_id).await.unwrap();
    assert_eq!(comments[0].value, "Fine for a week");
    assert_eq!(alex.my_pending_approvals().await.unwrap().len(), 24);

    // Bulk: the rest of the inbox in one Batch API call, one result each.
    let rest: Vec<_> = alex.my_pending_approvals().await.unwrap();
    let decisions: Vec<(&str, ApprovalState, &str)> =
        rest.iter().map(|a| (a.sys_id.as_str(), ApprovalState::Rejected, "Not this quarter")).collect();
    let results = alex.decide_approvals(&decisions).await.unwrap();
    assert_eq!(results.len(), 24);
    for r in &results {
        assert!(r.as_ref().is_ok_and(|a| a.state == ApprovalState::Rejected), "{r:?}");
    }
    assert!(alex.my_pending_approvals().await.unwrap().is_empty());
    for a in &rest {
        assert_eq!(emu.shared.servicenow.record("sysapproval_approver", &a.sys_id).unwrap()["state"], "rejected");
    }
    let bad =
        alex.decide_approvals(&[("ffffffffffffffffffffffffffffffff", ApprovalState::Approved, "")]).await.unwrap();
    assert!(bad[0].as_ref().is_err_and(|e| e.is_not_found()));
}

#[tokio::test]
async fn users_groups_and_who_am_i() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let me = sn.current_user().await.unwrap();
    assert_eq!((me.user_name.as_str(), me.email.as_str()), ("dana.desk", "dana.desk@example.com"));
    let riley = sn.user_by_name("riley.requester").await.unwrap().unwrap();
    assert_eq!(riley.manager.display, "Morgan Manager");
    assert_eq!(riley.department.display, "Engineering");
    let same = sn.user_by_email("riley.requester@example.com").await.unwrap().unwrap();
    assert_eq!(same.sys_id, riley.sys_id);
    assert!(sn.user_by_name("nobody.at.all").await.unwrap().is_none());
    let groups = sn.groups_of(&me.sys_id).await.unwrap();
    assert_eq!(groups.iter().map(|g| g.display.as_str()).collect::<Vec<_>>(), ["Service Desk"]);
    let mine = sn.tickets(TicketKind::Incident, &Query::new().eq("assigned_to", QueryValue::me()), None).await.unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|t| t.assigned_to.sys_id == me.sys_id));
}

#[tokio::test]
async fn oauth_password_grant_refreshes_expired_tokens() {
    let emu = start().await;
    let auth = ServiceNowAuth::OAuthPassword {
        client_id: DEMO_OAUTH_CLIENT_ID.into(),
        client_secret: Secret::new(DEMO_OAUTH_CLIENT_SECRET.into()),
        user: "alex.approver".into(),
        password: Secret::new(DEMO_PASSWORD.into()),
    };
    let sn = ServiceNowClient::new(&config(&emu, auth)).unwrap().with_retry(fast());
    assert_eq!(sn.current_user().await.unwrap().user_name, "alex.approver");
    emu.shared.servicenow.expire_tokens();
    // The expired token is refused once; the client refreshes and carries on.
    assert_eq!(sn.my_pending_approvals().await.unwrap().len(), 25);

    let cc = ServiceNowAuth::OAuthClientCredentials {
        client_id: DEMO_OAUTH_CLIENT_ID.into(),
        client_secret: Secret::new(DEMO_OAUTH_CLIENT_SECRET.into()),
    };
    let sn = ServiceNowClient::new(&config(&emu, cc)).unwrap();
    assert_eq!(sn.current_user().await.unwrap().user_name, "dana.desk", "the demo client's application user");
}

#[tokio::test]
async fn refused_credentials_say_so_without_the_secret() {
    let emu = start().await;
    let wrong = "hunter2-not-the-password";
    let sn = ServiceNowClient::new(&config(&emu, basic("dana.desk", wrong))).unwrap();
    let err = sn.current_user().await.unwrap_err();
    assert!(err.is_unauthorized());
    let text = format!("{err} {err:?}");
    assert!(text.contains("User Not Authenticated"), "{text}");
    assert!(!text.contains(wrong));

    let secret = "s3cr3t-client-secret";
    let auth = ServiceNowAuth::OAuthPassword {
        client_id: DEMO_OAUTH_CLIENT_ID.into(),
        client_secret: Secret::new(secret.into()),
        user: "dana.desk".into(),
        password: Secret::new(wrong.into()),
    };
    let err = ServiceNowClient::new(&config(&emu, auth)).unwrap().current_user().await.unwrap_err();
    assert!(matches!(err, ServiceNowError::OAuth { status: 401, .. }), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(secret) && !text.contains(wrong), "{text}");
}

#[tokio::test]
async fn throttling_is_retried_as_the_service_asks() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let before = emu.shared.servicenow.requests_served();
    emu.shared.servicenow.inject_faults([
        Fault::Status { status: 429, retry_after: Some(1) },
        Fault::Status { status: 503, retry_after: None },
    ]);
    let me = sn.current_user().await.unwrap();
    assert_eq!(me.user_name, "dana.desk");
    assert_eq!(emu.shared.servicenow.requests_served() - before, 3, "two refusals, then the answer");

    // A wait longer than the policy allows fails at once, saying how long the service asked.
    emu.shared.servicenow.inject_faults([Fault::Status { status: 429, retry_after: Some(3600) }]);
    let err = sn.current_user().await.unwrap_err();
    match &err {
        ServiceNowError::RateLimited { retry_after, detail, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert!(detail.contains("requests per hour"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Too many refusals in a row: the last one is reported.
    let policy = RetryPolicy { max_attempts: 2, ..fast() };
    let sn = sn.with_retry(policy);
    emu.shared.servicenow.inject_faults((0..2).map(|_| Fault::Status { status: 503, retry_after: None }));
    let err = sn.current_user().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
}

#[tokio::test]
async fn unreachable_instances_are_named() {
    let cfg = ServiceNowConfig {
        url: "http://127.0.0.1:9".parse().unwrap(),
        auth: basic("dana.desk", DEMO_PASSWORD),
        ca_bundle: None,
        timeout: Duration::from_secs(5),
    };
    let sn = ServiceNowClient::new(&cfg).unwrap().with_retry(RetryPolicy { max_attempts: 1, ..fast() });
    let err = sn.current_user().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ServiceNowError::Transport { .. }));
    assert!(text.contains("127.0.0.1:9") && text.contains("refused"), "{text}");
}

#[tokio::test]
async fn https_with_the_emulators_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EmulatorOptions::local(Scale::Demo, 1);
    opts.tls_dir = Some(dir.path().to_path_buf());
    let emu = emulator::start(opts).await.unwrap();
    assert!(emu.base_url.starts_with("https://"));
    let sn = client(&emu, "dana.desk");
    assert_eq!(sn.current_user().await.unwrap().user_name, "dana.desk");
    // Without the bundle the certificate is not trusted, and the error says where to look.
    let cfg = ServiceNowConfig { ca_bundle: None, ..config(&emu, basic("dana.desk", DEMO_PASSWORD)) };
    let err = ServiceNowClient::new(&cfg).unwrap().with_retry(fast()).current_user().await.unwrap_err();
    assert!(err.to_string().contains("ca_bundle"), "{err}");
}

#[tokio::test]
async fn broken_queries_never_reach_the_instance() {
    let emu = start().await;
    let sn = client(&emu, "dana.desk");
    let before = emu.shared.servicenow.requests_served();
    let err = sn
        .tickets(TicketKind::Incident, &Query::new().eq("short_description", "a^active=false"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceNowError::Query(_)), "{err:?}");
    assert_eq!(emu.shared.servicenow.requests_served(), before);
}
