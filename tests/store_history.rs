//! Grant history over the store, with data inserted through the store API: grantdesk's audit
//! events, cached Okta System Log events and cached ServiceNow requested items and approvals.

mod store_support;

use chrono::Duration;
use grantdesk::domain::audit::{AuditEvent, Outcome, action};
use grantdesk::domain::{ApprovalState, TicketKind, UserStatus};
use grantdesk::store::{Confirmation, GrantChange, HistoryTarget, Store, Watermark, source};
use serde_json::json;
use store_support::TestDb;
use store_support::fixtures::*;

/// riley.requester's story: AWS read-only through grantdesk (requested by dana, approved by morgan
/// and alex, applied with Okta request id req-aws, expired and removed), GitHub through a
/// ServiceNow request applied by someone in the Okta admin console, prod-admin granted with no
/// request at all, and a Salesforce request approved in ServiceNow but never applied.
async fn riley_world(store: &Store) {
    let t0 = now() - Duration::days(3);
    let morgan = user("morgan.manager", UserStatus::Active);
    let mut riley = user("riley.requester", UserStatus::LockedOut);
    riley.manager_id = morgan.id.clone();
    let sam = user("sam.security", UserStatus::Active);
    store.upsert_users(&[riley.clone(), morgan.clone(), sam.clone()]).await.unwrap();
    let (aws, gh, admin, zoom) =
        (group("aws-prod-readonly"), group("github-engineering"), group("aws-prod-admin"), group("zoom-users"));
    store.upsert_groups(&[aws.clone(), gh.clone(), admin.clone(), zoom.clone()]).await.unwrap();
    // Current state: GitHub, prod-admin and Zoom (Zoom predates the log); AWS read-only expired.
    store.replace_user_groups(&riley.id, &[gh.id.clone(), admin.id.clone(), zoom.id.clone()]).await.unwrap();
    store.replace_group_members(&admin.id, &[riley.id.clone(), sam.id.clone()]).await.unwrap();

    let ar = json!({"access_request": "ar-17"});
    let events = vec![
        AuditEvent::new("dana.desk", action::ACCESS_REQUEST_CREATE, Outcome::Success)
            .at(t0)
            .subject(&riley.login)
            .object(&aws.name)
            .ticket("RITM0010001")
            .details(json!({"access_request": "ar-17", "justification": "on call for the payments outage", "target_kind": "group", "duration": "8h"})),
        AuditEvent::new("morgan.manager", action::ACCESS_REQUEST_APPROVE, Outcome::Success)
            .at(t0 + Duration::minutes(10))
            .subject(&riley.login)
            .object(&aws.name)
            .details(ar.clone()),
        AuditEvent::new("alex.approver", action::ACCESS_REQUEST_APPROVE, Outcome::Success)
            .at(t0 + Duration::minutes(20))
            .subject(&riley.login)
            .object(&aws.name)
            .details(ar.clone()),
        AuditEvent::new("alex.approver", action::GRANT_ADD, Outcome::Intent)
            .at(t0 + Duration::minutes(20))
            .subject(&riley.login)
            .object(&aws.name)
            .ticket("RITM0010001")
            .details(json!({"access_request": "ar-17", "target_kind": "group"})),
        AuditEvent::new("alex.approver", action::GRANT_ADD, Outcome::Success)
            .at(t0 + Duration::minutes(21))
            .subject(&riley.login)
            .object(&aws.name)
            .ticket("RITM0010001")
            .request_id("req-aws")
            .details(json!({"access_request": "ar-17", "target_kind": "group", "target_id": aws.id,
                "expires_at": (t0 + Duration::minutes(21) + Duration::hours(8)).to_rfc3339()})),
        AuditEvent::new("grantdesk-worker", action::GRANT_REMOVE, Outcome::Success)
            .at(t0 + Duration::minutes(21) + Duration::hours(8))
            .subject(&riley.login)
            .object(&aws.name)
            .ticket("RITM0010001")
            .request_id("req-aws-rm")
            .details(json!({"access_request": "ar-17", "target_kind": "group", "reason": "expired"})),
        // Someone else's grant, which must not appear in riley's history.
        AuditEvent::new("dana.desk", action::GRANT_ADD, Outcome::Success)
            .at(t0)
            .subject(&sam.login)
            .object(&admin.name)
            .details(json!({"target_kind": "group", "justification": "security on-call"})),
    ];
    store.append_audit_batch(&events).await.unwrap();

    let add = "group.user_membership.add";
    store
        .insert_log_events(&[
            membership_event(
                "ev-aws-add",
                add,
                "grantdesk-svc",
                &riley,
                ("UserGroup", &aws.id, &aws.name),
                t0 + Duration::minutes(21) + Duration::seconds(1),
                "req-aws",
            ),
            membership_event(
                "ev-aws-rm",
                "group.user_membership.remove",
                "grantdesk-svc",
                &riley,
                ("UserGroup", &aws.id, &aws.name),
                t0 + Duration::hours(8) + Duration::minutes(22),
                "req-aws-rm",
            ),
            membership_event(
                "ev-gh",
                add,
                "it.admin",
                &riley,
                ("UserGroup", &gh.id, &gh.name),
                t0 + Duration::days(1),
                "req-gh",
            ),
            membership_event(
                "ev-admin",
                add,
                "it.admin",
                &riley,
                ("UserGroup", &admin.id, &admin.name),
                t0 + Duration::days(2),
                "req-admin",
            ),
        ])
        .await
        .unwrap();

    let mut ritm_gh = ticket(TicketKind::RequestedItem, 2);
    ritm_gh.caller_email = riley.login.clone();
    ritm_gh.cat_item = "github-engineering".into();
    ritm_gh.short_description = "Access to github-engineering".into();
    ritm_gh.opened_at = t0 + Duration::hours(20);
    let mut ritm_sf = ticket(TicketKind::RequestedItem, 3);
    ritm_sf.caller_email = riley.login.clone();
    ritm_sf.cat_item = "Salesforce".into();
    ritm_sf.approval = "approved".into();
    store.upsert_tickets(&[ritm_gh.clone(), ritm_sf.clone()]).await.unwrap();
    store
        .upsert_approvals(&[
            approval(&ritm_gh, 1, "Morgan Manager", ApprovalState::Approved),
            approval(&ritm_sf, 1, "Alex Approver", ApprovalState::Approved),
        ])
        .await
        .unwrap();
    store
        .set_watermark(&Watermark {
            source: source::OKTA_LOGS.into(),
            value: "2025-03-10T11:00:00.000Z".into(),
            last_id: "ev-admin".into(),
            synced_at: now() - Duration::minutes(4),
        })
        .await
        .unwrap();
}

async fn a_users_history_joins_all_three_sources(db: &TestDb) {
    let store = db.open().await;
    riley_world(&store).await;
    let h = store.grant_history(&HistoryTarget::User("Riley.Requester@example.com".into()), now()).await.unwrap();
    assert_eq!(h.status.as_deref(), Some("LOCKED_OUT"));
    let rows: Vec<(GrantChange, &str, &str, &str)> =
        h.entries.iter().map(|e| (e.change, e.target.as_str(), e.ticket.as_str(), e.by.as_str())).collect();
    assert_eq!(
        rows,
        [
            (GrantChange::Grant, "aws-prod-readonly", "RITM0010001", "alex.approver"),
            (GrantChange::Removal, "aws-prod-readonly", "RITM0010001", "grantdesk-worker"),
            (GrantChange::Grant, "github-engineering", "RITM0010002", "it.admin@example.com"),
            (GrantChange::Grant, "aws-prod-admin", "", "it.admin@example.com"),
            (GrantChange::Grant, "Salesforce", "RITM0010003", ""),
        ]
    );
    let aws = &h.entries[0];
    assert_eq!(aws.approved_by, ["morgan.manager", "alex.approver"]);
    assert_eq!(aws.justification, "on call for the payments outage");
    assert_eq!(aws.expires_at, Some(now() - Duration::days(3) + Duration::minutes(21) + Duration::hours(8)));
    assert!(matches!(&aws.okta, Confirmation::Confirmed { uuid, .. } if uuid == "ev-aws-add"));
    assert_eq!(h.entries[1].justification, "expired");
    assert!(matches!(&h.entries[1].okta, Confirmation::Confirmed { uuid, .. } if uuid == "ev-aws-rm"));
    let sf = &h.entries[4];
    assert_eq!((sf.okta.clone(), sf.approved_by.clone()), (Confirmation::NotSeen, vec!["Alex Approver".to_string()]));
    assert!(sf.note.contains("approved in ServiceNow"));
    assert_eq!(h.entries[2].approved_by, ["Morgan Manager"]);
    assert!(h.entries[3].note.contains("outside grantdesk"));
    // Zoom was granted before anything on record.
    assert_eq!(h.unexplained, ["zoom-users"]);
    let logs = h.freshness.iter().find(|f| f.source == "okta:logs").unwrap();
    assert_eq!(logs.synced_at, Some(now() - Duration::minutes(4)));
    assert!(h.freshness.iter().any(|f| f.source == "servicenow:sc_req_item" && f.synced_at.is_none()));
}

async fn a_groups_history_names_every_member_change(db: &TestDb) {
    let store = db.open().await;
    riley_world(&store).await;
    let h = store.grant_history(&HistoryTarget::Group("AWS-PROD-READONLY".into()), now()).await.unwrap();
    assert_eq!(h.entries.len(), 2, "{:#?}", h.entries);
    assert!(h.entries.iter().all(|e| e.user == "riley.requester@example.com"));
    assert_eq!(h.entries[0].justification, "on call for the payments outage", "found through the access request");
    assert_eq!(h.entries[0].approved_by, ["morgan.manager", "alex.approver"]);
    let admin = store.grant_history(&HistoryTarget::Group("aws-prod-admin".into()), now()).await.unwrap();
    let users: Vec<&str> = admin.entries.iter().map(|e| e.user.as_str()).collect();
    assert_eq!(users, ["sam.security@example.com", "riley.requester@example.com"]);
    assert!(admin.unexplained.is_empty(), "both members are explained: {:?}", admin.unexplained);
}

async fn an_unknown_user_has_an_empty_history(db: &TestDb) {
    let store = db.open().await;
    let h = store.grant_history(&HistoryTarget::User("nobody@example.com".into()), now()).await.unwrap();
    assert!(h.entries.is_empty());
    assert_eq!(h.status, None);
    assert!(h.freshness.iter().all(|f| f.synced_at.is_none()));
}

backend_tests!(
    a_users_history_joins_all_three_sources,
    a_groups_history_names_every_member_change,
    an_unknown_user_has_an_empty_history,
);
