//! The Okta client against the in-process emulator: every endpoint, pagination across many
//! pages, lifecycle operations with their System Log events, errors, 429 then success, OAuth.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt as _;
use grantdesk::config::{OktaAuth, OktaConfig, Secret};
use grantdesk::domain::UserStatus;
use grantdesk::emulator::{self, EmulatorOptions, RunningEmulator, Scale, Shared};
use grantdesk::okta::oig::NewAccessRequest;
use grantdesk::okta::{ClientOptions, GroupQuery, LogQuery, OktaClient, OktaError, UserQuery};

async fn start(configure: impl FnOnce(&Arc<Shared>)) -> RunningEmulator {
    let opts = EmulatorOptions::local(Scale::Demo, 1);
    let shared = emulator::build(&opts);
    configure(&shared);
    emulator::start_with(opts, shared).await.expect("emulator starts")
}

fn config(emu: &RunningEmulator, auth: OktaAuth) -> OktaConfig {
    OktaConfig { url: emu.base_url.parse().unwrap(), auth, ca_bundle: None, timeout: Duration::from_secs(20) }
}

fn ssws(emu: &RunningEmulator) -> OktaClient {
    OktaClient::new(&config(emu, OktaAuth::Ssws(Secret::new(emulator::DEMO_OKTA_TOKEN.into())))).unwrap()
}

fn jwt(emu: &RunningEmulator, scopes: &[&str]) -> OktaClient {
    let auth = OktaAuth::PrivateKeyJwt {
        client_id: emulator::okta::DEMO_CLIENT_ID.into(),
        private_key_pem: Secret::new(emulator::okta::DEMO_PRIVATE_KEY_PEM.into()),
        key_id: Some("demo".into()),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    OktaClient::new(&config(emu, auth)).unwrap()
}

const RILEY: &str = "riley.requester@example.com";

#[tokio::test]
async fn lists_every_user_across_many_pages() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let users = client.all_users(&UserQuery::all().limit(7)).await.unwrap();
    let (_, visible) = emu.shared.okta.user_counts();
    assert_eq!(users.len(), visible, "every non-deprovisioned user, once");
    assert!(users.len() / 7 > 50, "many pages were followed");
    assert!(users.windows(2).all(|w| w[0].id < w[1].id), "in id order, no repeats");
    assert!(users.iter().all(|u| u.status != UserStatus::Deprovisioned));
    assert_eq!(users[0].login, "dana.desk@example.com");
}

#[tokio::test]
async fn search_filter_q_and_incremental_sync() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let locked: Vec<String> = client
        .all_users(&UserQuery::search("status eq \"LOCKED_OUT\"").limit(3))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login)
        .collect();
    assert_eq!(locked, emu.shared.okta.logins_with_status("LOCKED_OUT"));
    assert!(locked.contains(&RILEY.to_string()));

    let deprovisioned = client.all_users(&UserQuery::filter("status eq \"DEPROVISIONED\"")).await.unwrap();
    assert_eq!(deprovisioned.len(), emu.shared.okta.logins_with_status("DEPROVISIONED").len());
    assert!(!deprovisioned.is_empty(), "filter includes DEPROVISIONED users");

    let riley = client.all_users(&UserQuery::filter(format!("profile.login eq \"{RILEY}\""))).await.unwrap();
    assert_eq!(riley.len(), 1);
    let finance = client.all_users(&UserQuery::search("profile.department eq \"finance\"")).await.unwrap();
    assert!(!finance.is_empty() && finance.iter().all(|u| u.department == "Finance"), "search values ignore case");

    let q = client.all_users(&UserQuery::starts_with("Riley")).await.unwrap();
    assert!(q.iter().any(|u| u.login == RILEY));
    assert!(q.len() <= 10, "q answers at most its default limit");

    // Incremental sync: only what changed after the mark, including the change just made.
    let mark = chrono::Utc::now() - chrono::Duration::seconds(2);
    let riley_id = emu.shared.okta.user_id(RILEY).unwrap();
    client.unlock_user(&riley_id).await.unwrap();
    let changed = client.all_users(&UserQuery::updated_since(mark)).await.unwrap();
    assert_eq!(changed.iter().map(|u| u.login.as_str()).collect::<Vec<_>>(), vec![RILEY]);
}

#[tokio::test]
async fn user_details_groups_apps_and_factors() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let by_login = client.user(RILEY).await.unwrap();
    let by_id = client.user(&by_login.id).await.unwrap();
    assert_eq!(by_login, by_id);
    assert_eq!(by_login.status, UserStatus::LockedOut);
    assert_eq!(by_login.manager_id, emu.shared.okta.user_id("morgan.manager@example.com").unwrap());
    let mut groups: Vec<String> = client.user_groups(&by_id.id).await.unwrap().into_iter().map(|g| g.name).collect();
    let mut expected = emu.shared.okta.group_names_of(RILEY);
    groups.sort();
    expected.sort();
    assert_eq!(groups, expected);
    let mut apps: Vec<String> =
        client.user_app_links(&by_id.id).await.unwrap().into_iter().filter_map(|a| a.label).collect();
    let mut expected = emu.shared.okta.app_labels_of(RILEY);
    apps.sort();
    expected.sort();
    assert_eq!(apps, expected);
    let dana = client.user("dana.desk@example.com").await.unwrap();
    let factors = client.user_factors(&dana.id).await.unwrap();
    assert!(factors.iter().any(|f| f.factor_type.as_deref() == Some("push")));
    client.delete_factor(&dana.id, &factors[0].id).await.unwrap();
    assert_eq!(client.user_factors(&dana.id).await.unwrap().len(), factors.len() - 1);
    let err = client.delete_factor(&dana.id, &factors[0].id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("UserFactor"));
}

#[tokio::test]
async fn lifecycle_operations_change_status_and_are_logged() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let riley = client.user(RILEY).await.unwrap();
    client.unlock_user(&riley.id).await.unwrap();
    assert_eq!(client.user(&riley.id).await.unwrap().status, UserStatus::Active);
    let again = client.unlock_user(&riley.id).await.unwrap_err();
    assert_eq!(again.code(), Some("E0000032"));
    assert!(again.to_string().contains("The user is not locked out."), "{again}");
    assert!(again.request_id().is_some_and(|r| r.len() == 32));

    client.suspend_user(&riley.id).await.unwrap();
    assert_eq!(client.user(&riley.id).await.unwrap().status, UserStatus::Suspended);
    let wrong = client.suspend_user(&riley.id).await.unwrap_err();
    assert_eq!(wrong.code(), Some("E0000038"));
    client.unsuspend_user(&riley.id).await.unwrap();

    let link = client.reset_password_link(&riley.id).await.unwrap();
    assert!(link.starts_with(&emu.base_url) && link.contains("/reset_password/"), "{link}");
    assert_eq!(client.user(&riley.id).await.unwrap().status, UserStatus::Recovery);
    let expired = client.expire_password(&riley.id).await.unwrap();
    assert_eq!(expired.status, UserStatus::PasswordExpired);
    let temp = client.expire_password_with_temp(&riley.id).await.unwrap();
    assert_eq!(temp.len(), 8);
    client.reset_factors(&riley.id).await.unwrap();
    assert!(client.user_factors(&riley.id).await.unwrap().is_empty());

    let events = client.recent_events_about(&riley.id, 20).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    for t in [
        "user.account.unlock",
        "user.lifecycle.suspend",
        "user.lifecycle.unsuspend",
        "user.account.reset_password",
        "user.account.expire_password",
        "user.mfa.factor.reset_all",
    ] {
        let e = events.iter().find(|e| e.event_type == t).unwrap_or_else(|| panic!("{t} missing from {types:?}"));
        assert_eq!(e.actor.alternate_id, "dana.desk@example.com", "the token's owner is the actor");
        assert_eq!(e.targets[0].id, riley.id);
        assert_eq!(e.outcome, "SUCCESS");
        assert_eq!(e.request_id.len(), 32);
    }
    assert_eq!(types[0], "user.mfa.factor.reset_all", "newest first");
}

#[tokio::test]
async fn groups_members_and_membership_changes() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let groups: Vec<_> = client.groups(&GroupQuery::all().limit(10)).try_collect().await.unwrap();
    assert_eq!(groups.len(), emu.shared.okta.group_counts().0);
    let okta_groups: Vec<_> = client.groups(&GroupQuery::search("type eq \"APP_GROUP\"")).try_collect().await.unwrap();
    assert!(okta_groups.iter().all(|g| g.name.starts_with("dept-")) && okta_groups.len() == 6);
    let aws: Vec<_> = client.groups(&GroupQuery::starts_with("aws-prod")).try_collect().await.unwrap();
    assert_eq!(aws.len(), 2);
    let admin = aws.iter().find(|g| g.name == "aws-prod-admin").unwrap();
    let members: Vec<String> = client.group_members(&admin.id).map_ok(|u| u.login).try_collect().await.unwrap();
    assert_eq!(members, emu.shared.okta.group_member_logins("aws-prod-admin"));

    let mark = chrono::Utc::now() - chrono::Duration::seconds(2);
    let riley = client.user(RILEY).await.unwrap();
    client.add_group_member(&admin.id, &riley.id).await.unwrap();
    client.add_group_member(&admin.id, &riley.id).await.unwrap();
    assert!(emu.shared.okta.group_member_logins("aws-prod-admin").contains(&RILEY.to_string()));
    let changed: Vec<_> = client.groups(&GroupQuery::updated_since(mark)).try_collect().await.unwrap();
    assert_eq!(changed.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["aws-prod-admin"]);
    client.remove_group_member(&admin.id, &riley.id).await.unwrap();
    assert!(!emu.shared.okta.group_member_logins("aws-prod-admin").contains(&RILEY.to_string()));
    let events = client.recent_events_about(&riley.id, 5).await.unwrap();
    assert_eq!(events[0].event_type, "group.user_membership.remove");
    assert_eq!(
        events[1].event_type, "group.user_membership.add",
        "the repeated add changed nothing and logged nothing"
    );
    assert_eq!(events[1].targets[1].display_name, "aws-prod-admin");

    let dept = okta_groups[0].clone();
    let err = client.add_group_member(&dept.id, &riley.id).await.unwrap_err();
    assert_eq!(err.code(), Some("E0000001"), "APP_GROUP memberships belong to their source: {err}");
    let missing = client.group("00g0000000000000n0pe").await.unwrap_err();
    assert!(missing.is_not_found());
}

#[tokio::test]
async fn apps_assignments_and_app_groups() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let apps: Vec<_> = client.apps().try_collect().await.unwrap();
    assert!(apps.iter().any(|a| a.name == "salesforce" && a.label == "Salesforce"));
    let workday = apps.iter().find(|a| a.name == "workday").unwrap();
    let assigned: Vec<_> = client.app_users(&workday.id).try_collect().await.unwrap();
    assert_eq!(assigned.len(), emu.shared.okta.group_member_logins("Everyone").len(), "through Everyone");
    assert!(assigned.iter().all(|a| a.scope == "GROUP"));
    let groups: Vec<_> = client.app_groups(&workday.id).try_collect().await.unwrap();
    assert_eq!(groups.len(), 1);

    let salesforce = apps.iter().find(|a| a.name == "salesforce").unwrap();
    let riley = client.user(RILEY).await.unwrap();
    let a = client.assign_app_user(&salesforce.id, &riley.id).await.unwrap();
    assert_eq!((a.scope.as_str(), a.user_id.as_str()), ("USER", riley.id.as_str()));
    assert!(emu.shared.okta.app_labels_of(RILEY).contains(&"Salesforce".to_string()));
    client.unassign_app_user(&salesforce.id, &riley.id).await.unwrap();
    assert!(!emu.shared.okta.app_labels_of(RILEY).contains(&"Salesforce".to_string()));
    let types: Vec<String> =
        client.recent_events_about(&riley.id, 2).await.unwrap().into_iter().map(|e| e.event_type).collect();
    assert_eq!(types, ["application.user_membership.remove", "application.user_membership.add"]);
    assert!(client.app("0oa00000000000nope00").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn system_log_bounded_queries_and_polling() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let now = chrono::Utc::now();
    let week: Vec<_> = client
        .log_events(&LogQuery::between(now - chrono::Duration::days(7), now).limit(50))
        .try_collect()
        .await
        .unwrap();
    assert!(week.len() > 50, "several pages");
    assert!(week.windows(2).all(|w| w[0].published <= w[1].published), "oldest first");
    let locks: Vec<_> = client
        .log_events(&LogQuery::newest_first().filter("eventType eq \"user.account.lock\"").keywords("riley"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].actor.alternate_id, RILEY);

    let mut poller = client.log_poller(now - chrono::Duration::seconds(1), Some("eventType sw \"group.\""));
    assert!(poller.poll().await.unwrap().is_empty(), "nothing yet");
    let riley = client.user(RILEY).await.unwrap();
    let zoom = emu.shared.okta.group_id("zoom-users").unwrap();
    client.add_group_member(&zoom, &riley.id).await.unwrap();
    let batch = poller.poll().await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].event_type, "group.user_membership.add");
    assert!(poller.poll().await.unwrap().is_empty(), "each event once");
    client.remove_group_member(&zoom, &riley.id).await.unwrap();
    let mut resumed = client.log_poller_at(poller.cursor());
    assert_eq!(resumed.poll().await.unwrap()[0].event_type, "group.user_membership.remove");
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_request_succeeds() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    emu.shared.okta.inject_rate_limit(1);
    let user = client.user(RILEY).await.unwrap();
    assert_eq!(user.login, RILEY);
    assert_eq!(emu.shared.okta.stats().rate_limited, 1);

    let stubborn = OktaClient::with_options(
        &config(&emu, OktaAuth::Ssws(Secret::new(emulator::DEMO_OKTA_TOKEN.into()))),
        ClientOptions { max_concurrency: 2, max_retries: 0 },
    )
    .unwrap();
    emu.shared.okta.inject_rate_limit(1);
    let err = stubborn.user(RILEY).await.unwrap_err();
    assert!(matches!(err, OktaError::RateLimited { .. }), "{err}");
    assert_eq!(err.code(), Some("E0000047"));
}

#[tokio::test]
async fn listing_under_a_tight_budget_never_meets_a_429() {
    // Two-second windows with a budget of 4 stand in for Okta's minute so the test takes seconds.
    let emu = start(|s| {
        s.okta.set_rate_limit(Some(4));
        s.okta.set_rate_limit_window(2);
    })
    .await;
    let client = ssws(&emu);
    let users = client.all_users(&UserQuery::all().limit(40)).await.unwrap();
    let (_, visible) = emu.shared.okta.user_counts();
    assert_eq!(users.len(), visible);
    let stats = emu.shared.okta.stats();
    assert!(stats.requests >= 12, "{stats:?}");
    assert_eq!(stats.rate_limited, 0, "the governor kept under the budget");
}

#[tokio::test]
async fn reads_are_retried_through_server_errors_and_writes_are_not() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    emu.shared.okta.inject_server_error(2);
    assert_eq!(client.user(RILEY).await.unwrap().login, RILEY, "a GET survives two 500s");
    let riley = emu.shared.okta.user_id(RILEY).unwrap();
    emu.shared.okta.inject_server_error(1);
    let err = client.unlock_user(&riley).await.unwrap_err();
    assert_eq!(err.code(), Some("E0000009"), "a POST is not repeated blindly: {err}");
    assert_eq!(emu.shared.okta.user_status(RILEY).as_deref(), Some("LOCKED_OUT"));
}

#[tokio::test]
async fn the_concurrency_limit_is_survived() {
    let emu = start(|s| s.okta.set_concurrency_limit(2)).await;
    let client = OktaClient::with_options(
        &config(&emu, OktaAuth::Ssws(Secret::new(emulator::DEMO_OKTA_TOKEN.into()))),
        ClientOptions { max_concurrency: 8, max_retries: 6 },
    )
    .unwrap();
    let logins = emu.shared.okta.group_member_logins("it-approvers-standard");
    let fetches = logins.iter().map(|l| client.user(l));
    let users = futures::future::try_join_all(fetches).await.unwrap();
    assert_eq!(users.len(), logins.len());
}

#[tokio::test]
async fn wrong_token_and_unknown_user_are_one_clear_error() {
    let emu = start(|_| {}).await;
    let bad = OktaClient::new(&config(&emu, OktaAuth::Ssws(Secret::new("not-the-token".into())))).unwrap();
    let err = bad.user(RILEY).await.unwrap_err();
    assert!(matches!(err, OktaError::InvalidToken { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("E0000011") && msg.contains("GRANTDESK_OKTA_TOKEN") && !msg.contains("not-the-token"),
        "{msg}"
    );
    let missing = ssws(&emu).user("nobody@example.com").await.unwrap_err();
    assert_eq!(missing.code(), Some("E0000007"));
    assert!(missing.to_string().contains("nobody@example.com (User)"));
}

#[tokio::test]
async fn oauth_private_key_jwt_scopes_expiry_and_revocation() {
    let emu = start(|_| {}).await;
    let full = jwt(&emu, &["okta.users.read", "okta.groups.read", "okta.logs.read"]);
    let riley = full.user(RILEY).await.unwrap();
    assert!(!full.user_groups(&riley.id).await.unwrap().is_empty());
    assert!(!full.recent_events_about(&riley.id, 3).await.unwrap().is_empty());

    let narrow = jwt(&emu, &["okta.users.read"]);
    let err = narrow.recent_events_about(&riley.id, 3).await.unwrap_err();
    match &err {
        OktaError::MissingScope { scope, .. } => assert_eq!(scope, "okta.logs.read"),
        other => panic!("expected a missing scope, got {other}"),
    }
    let err = narrow.unlock_user(&riley.id).await.unwrap_err();
    assert!(err.to_string().contains("okta.users.manage"), "{err}");

    emu.shared.okta.revoke_scope("okta.logs.read");
    let revoked = jwt(&emu, &["okta.users.read", "okta.logs.read"]);
    let err = revoked.user(RILEY).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("invalid_scope") && msg.contains("okta.logs.read"), "{msg}");

    // The emulator's clock moves an hour on: a five-minute assertion signed now has expired.
    emu.shared.okta.advance_clock(Duration::from_secs(3600));
    let late = jwt(&emu, &["okta.users.read"]);
    let err = late.user(RILEY).await.unwrap_err();
    assert!(err.to_string().contains("The client_assertion token is expired."), "{err}");
}

#[tokio::test]
async fn oig_catalog_requests_decisions_fulfilment_and_expiry() {
    let emu = start(|s| s.okta.set_decision_delay(Duration::ZERO)).await;
    let client = ssws(&emu);
    let top: Vec<_> = client.catalog_entries("not(parent pr)").try_collect().await.unwrap();
    let names: Vec<&str> = top.iter().filter_map(|e| e.name.as_deref()).collect();
    for n in ["Zoom", "Slack", "GitHub Enterprise", "AWS", "Salesforce", "NetSuite"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let aws = top.iter().find(|e| e.name.as_deref() == Some("AWS")).unwrap();
    let children: Vec<_> = client.catalog_entries(&format!("parent eq \"{}\"", aws.id)).try_collect().await.unwrap();
    let readonly = children.iter().find(|e| e.name.as_deref() == Some("aws-prod-readonly")).unwrap();
    let group_id = emu.shared.okta.group_id("aws-prod-readonly").unwrap();
    assert_eq!(readonly.related_entity(), Some(format!("/api/v1/groups/{group_id}")));
    let err = client.catalog_entries("").try_collect::<Vec<_>>().await.unwrap_err();
    assert_eq!(err.code(), Some("E0000001"), "the filter is required");

    let aws_app = emu.shared.okta.app_id("amazon_aws").unwrap();
    let conditions = client.request_conditions(&aws_app).await.unwrap();
    assert!(conditions.iter().any(|c| c.access_duration_settings.is_some()));

    let riley = client.user(RILEY).await.unwrap();
    let created = client
        .create_access_request(&NewAccessRequest {
            entry_id: readonly.id.clone(),
            requested_for: riley.id.clone(),
            requested_by: None,
            fields: vec![("7c5f2d3e-8a1b-4c6d-9e0f-1a2b3c4d5e6f".into(), "On call this week".into())],
        })
        .await
        .unwrap();
    assert_eq!(created.status.as_deref(), Some("SUBMITTED"));
    let decided = client.access_request(&created.id).await.unwrap();
    let tasks: Vec<_> =
        client.access_request_tasks(Some(&format!("requestId eq \"{}\"", created.id))).try_collect().await.unwrap();
    assert_eq!(tasks.len(), 2, "manager, then group owner");
    assert!(tasks.iter().all(|t| t.status.as_deref() == Some("COMPLETED") && t.value.as_deref() == Some("APPROVED")));
    assert_eq!(decided.status.as_deref(), Some("APPROVED"));
    assert_eq!(decided.grant_status.as_deref(), Some("GRANTED"));
    let decisions = decided.request_approval.as_ref().and_then(|a| a.decisions.clone()).unwrap();
    assert_eq!(decisions[0].user_id.as_deref(), Some(riley.manager_id.as_str()), "manager first");
    assert!(emu.shared.okta.group_member_logins("aws-prod-readonly").contains(&RILEY.to_string()));
    assert!(decided.revocation_scheduled.is_some(), "eight-hour access");

    // A sales person asking for NetSuite meets a condition that always denies.
    let sales = client
        .all_users(&UserQuery::search("profile.department eq \"Sales\" and status eq \"ACTIVE\"").limit(5))
        .await
        .unwrap();
    let seller = sales
        .iter()
        .find(|u| !emu.shared.okta.group_names_of(&u.login).contains(&"finance-netsuite".to_string()))
        .unwrap();
    let netsuite_top = top.iter().find(|e| e.name.as_deref() == Some("NetSuite")).unwrap();
    let netsuite: Vec<_> =
        client.catalog_entries(&format!("parent eq \"{}\"", netsuite_top.id)).try_collect().await.unwrap();
    let denied = client
        .create_access_request(&NewAccessRequest {
            entry_id: netsuite[0].id.clone(),
            requested_for: seller.id.clone(),
            requested_by: Some(seller.id.clone()),
            fields: vec![],
        })
        .await
        .unwrap();
    assert_eq!(client.access_request(&denied.id).await.unwrap().status.as_deref(), Some("DENIED"));
    // NetSuite allows requests on behalf of others only for direct reports.
    let err = client
        .create_access_request(&NewAccessRequest {
            entry_id: netsuite[0].id.clone(),
            requested_for: seller.id.clone(),
            requested_by: Some(riley.id.clone()),
            fields: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("E0000001"), "{err}");
    // Salesforce is requested as the app itself: approval assigns the app.
    let sf = top.iter().find(|e| e.name.as_deref() == Some("Salesforce")).unwrap();
    let app_req = client
        .create_access_request(&NewAccessRequest {
            entry_id: sf.id.clone(),
            requested_for: riley.id.clone(),
            requested_by: None,
            fields: vec![],
        })
        .await
        .unwrap();
    assert_eq!(client.access_request(&app_req.id).await.unwrap().grant_status.as_deref(), Some("GRANTED"));
    assert!(emu.shared.okta.app_labels_of(RILEY).contains(&"Salesforce".to_string()));
    let all_denied: Vec<_> = client.access_requests(Some("status eq \"DENIED\"")).try_collect().await.unwrap();
    assert!(all_denied.iter().any(|r| r.id == denied.id));
    assert!(all_denied.iter().all(|r| r.status.as_deref() == Some("DENIED")));

    // Eight hours later the grant is removed.
    emu.shared.okta.advance_clock(Duration::from_secs(9 * 3600));
    let later = client.access_request(&created.id).await.unwrap();
    assert_eq!(later.revocation_status.as_deref(), Some("REVOKED"));
    assert!(!emu.shared.okta.group_member_logins("aws-prod-readonly").contains(&RILEY.to_string()));
    let types = emu.shared.okta.log_event_types_about(&riley.id);
    for t in
        ["access.request.create", "access.request.resolve", "group.user_membership.add", "group.user_membership.remove"]
    {
        assert!(types.iter().any(|x| x == t), "{t} missing");
    }
}

#[tokio::test]
async fn pending_requests_show_an_open_task_for_the_first_approver() {
    let emu = start(|_| {}).await; // the default delay: approvers take a few seconds
    let client = ssws(&emu);
    let riley = client.user(RILEY).await.unwrap();
    let zoom_top: Vec<_> = client.catalog_entries("not(parent pr)").try_collect().await.unwrap();
    let zoom = zoom_top.iter().find(|e| e.name.as_deref() == Some("Zoom")).unwrap();
    let zoom_users: Vec<_> = client.catalog_entries(&format!("parent eq \"{}\"", zoom.id)).try_collect().await.unwrap();
    let r = client
        .create_access_request(&NewAccessRequest {
            entry_id: zoom_users[0].id.clone(),
            requested_for: riley.id.clone(),
            requested_by: None,
            fields: vec![],
        })
        .await
        .unwrap();
    assert_eq!(client.access_request(&r.id).await.unwrap().status.as_deref(), Some("PENDING"));
    let open: Vec<_> = client.access_request_tasks(Some("status eq \"OPEN\"")).try_collect().await.unwrap();
    let task = open.iter().find(|t| t.request_id.as_deref() == Some(r.id.as_str())).unwrap();
    let dana = emu.shared.okta.user_id("dana.desk@example.com").unwrap();
    let assignee = task.assignees.as_ref().unwrap()[0].external_id.clone();
    assert_eq!(assignee.as_deref(), Some(dana.as_str()), "the first of it-approvers-standard");
}

#[tokio::test]
async fn casey_holds_aws_admin_through_an_approved_request_expiring_within_the_day() {
    let emu = start(|_| {}).await;
    let client = ssws(&emu);
    let casey = client.user("casey.contractor@example.com").await.unwrap();
    let reqs: Vec<_> =
        client.access_requests(Some(&format!("requestedFor eq \"{}\"", casey.id))).try_collect().await.unwrap();
    let grant =
        reqs.iter().find(|r| r.grant_status.as_deref() == Some("GRANTED") && r.revocation_status.is_none()).unwrap();
    assert_eq!(grant.status.as_deref(), Some("APPROVED"));
    let expires = grant.revocation_scheduled.unwrap();
    let epoch = emu.shared.spec.epoch;
    assert!(expires > epoch && expires < epoch + chrono::Duration::hours(24), "{expires}");
    let group = emu.shared.okta.group_id("aws-prod-admin").unwrap();
    assert_eq!(grant.requested.as_ref().and_then(|r| r.access_scope_id.clone()), Some(group));
}
