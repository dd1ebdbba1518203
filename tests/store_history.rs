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

/// jordan's story, shaped like the engine writes it: a request raised from an incident and
/// recorded in ServiceNow as a RITM (route `servicenow` + `okta`), and one routed through Okta
/// Identity Governance, which OIG fulfilled (System Log actor `Okta Access Requests`).
async fn grantdesk_requests_show_once_whatever_their_route(db: &TestDb) {
    let store = db.open().await;
    let t0 = now() - Duration::days(2);
    let jordan = user("jordan.lee", UserStatus::Active);
    store.upsert_users(std::slice::from_ref(&jordan)).await.unwrap();
    let (aws, gh) = (group("aws-prod-readonly"), group("github-engineering"));
    store.upsert_groups(&[aws.clone(), gh.clone()]).await.unwrap();
    store.replace_user_groups(&jordan.id, &[aws.id.clone(), gh.id.clone()]).await.unwrap();

    let (sn_ar, oig_ar) = ("AR-5E1F0A22", "AR-0160BEEF");
    let update = |at, ar: &str, target: &str, details: serde_json::Value| {
        AuditEvent::new("dana.desk", "access_request.update", Outcome::Success)
            .at(at)
            .subject(&jordan.login)
            .object(target)
            .ticket("INC0010077")
            .details({
                let mut d = details;
                d["access_request"] = json!(ar);
                d
            })
    };
    let events = vec![
        AuditEvent::new("dana.desk", action::ACCESS_REQUEST_CREATE, Outcome::Success)
            .at(t0)
            .subject(&jordan.login)
            .object(&aws.name)
            .ticket("INC0010077")
            .details(json!({"access_request": sn_ar, "justification": "month-end reports",
                            "route": ["servicenow", "okta"], "target_kind": "group"})),
        update(t0 + Duration::minutes(1), sn_ar, &aws.name, json!({"servicenow_record": "RITM0010050"})),
        AuditEvent::new("morgan.manager", action::ACCESS_REQUEST_APPROVE, Outcome::Success)
            .at(t0 + Duration::minutes(30))
            .subject(&jordan.login)
            .object(&aws.name)
            .ticket("INC0010077")
            .details(json!({"access_request": sn_ar})),
        AuditEvent::new("grantdesk", action::GRANT_ADD, Outcome::Success)
            .at(t0 + Duration::minutes(31))
            .subject(&jordan.login)
            .object(&aws.name)
            .ticket("INC0010077")
            .details(json!({"access_request": sn_ar, "target_kind": "group", "target_id": aws.id,
                            "approvers": ["morgan.manager@example.com"], "route": "okta",
                            "servicenow_record": "RITM0010050", "okta_event": "ev-sn-add", "expires_at": null})),
        AuditEvent::new("dana.desk", action::ACCESS_REQUEST_CREATE, Outcome::Success)
            .at(t0 + Duration::hours(2))
            .subject(&jordan.login)
            .object(&gh.name)
            .ticket("INC0010077")
            .details(json!({"access_request": oig_ar, "justification": "release week", "route": ["oig"],
                            "target_kind": "group"})),
        update(t0 + Duration::hours(2), oig_ar, &gh.name, json!({"oig_request": "oigreq-9"})),
        update(
            t0 + Duration::hours(5),
            oig_ar,
            &gh.name,
            json!({"status": "granted", "oig_request": "oigreq-9", "decided_by": ["alex.approver@example.com"],
                   "route": "oig", "expires_at": (t0 + Duration::days(7)).to_rfc3339()}),
        ),
    ];
    store.append_audit_batch(&events).await.unwrap();

    let mut oig_add = membership_event(
        "ev-oig-add",
        "group.user_membership.add",
        "unused",
        &jordan,
        ("UserGroup", &gh.id, &gh.name),
        t0 + Duration::hours(4),
        "req-oig",
    );
    oig_add.actor.alternate_id = "Okta Access Requests".into();
    oig_add.actor.display_name = "Okta Access Requests".into();
    oig_add.actor.kind = "PublicClientApp".into();
    let mut resolve = membership_event(
        "ev-oig-resolve",
        "access.request.resolve",
        "alex.approver",
        &jordan,
        ("AccessRequest", "oigreq-9", "GitHub Engineering"),
        t0 + Duration::hours(4) - Duration::seconds(1),
        "req-resolve",
    );
    resolve.outcome_reason = "APPROVED".into();
    store
        .insert_log_events(&[
            membership_event(
                "ev-sn-add",
                "group.user_membership.add",
                "grantdesk-svc",
                &jordan,
                ("UserGroup", &aws.id, &aws.name),
                t0 + Duration::minutes(31),
                "req-sn",
            ),
            resolve,
            oig_add,
        ])
        .await
        .unwrap();
    // The RITM grantdesk filed, approved in ServiceNow by the same decision.
    let mut ritm = ticket(TicketKind::RequestedItem, 50);
    ritm.caller_email = jordan.login.clone();
    ritm.short_description = format!("Access request: aws-prod-readonly for {}", jordan.login);
    ritm.description = format!("dana.desk requested group aws-prod-readonly.\n\ngrantdesk request {sn_ar}");
    ritm.approval = "approved".into();
    ritm.opened_at = t0 + Duration::minutes(1);
    store.upsert_tickets(std::slice::from_ref(&ritm)).await.unwrap();
    store.upsert_approvals(&[approval(&ritm, 1, "Morgan Manager", ApprovalState::Approved)]).await.unwrap();

    let h = store.grant_history(&HistoryTarget::User(jordan.login.clone()), now()).await.unwrap();
    assert_eq!(h.entries.len(), 2, "one entry per grant: {:#?}", h.entries);
    let sn = &h.entries[0];
    assert_eq!(
        (sn.target.as_str(), sn.request.as_str(), sn.record.as_str(), sn.ticket.as_str()),
        ("aws-prod-readonly", sn_ar, "RITM0010050", "INC0010077")
    );
    assert_eq!(sn.sources, ["grantdesk", "okta", "servicenow"]);
    assert_eq!(sn.approved_by, ["morgan.manager@example.com"]);
    assert!(matches!(&sn.okta, Confirmation::Confirmed { uuid, .. } if uuid == "ev-sn-add"));
    let oig = &h.entries[1];
    assert_eq!(
        (oig.target.as_str(), oig.request.as_str(), oig.by.as_str()),
        (gh.name.as_str(), oig_ar, "Okta Access Requests")
    );
    assert_eq!(oig.approved_by, ["alex.approver@example.com"]);
    assert_eq!(oig.justification, "release week");
    assert_eq!(oig.expires_at, Some(t0 + Duration::days(7)));
    assert!(matches!(&oig.okta, Confirmation::Confirmed { uuid, .. } if uuid == "ev-oig-add"));
    assert!(h.entries.iter().all(|e| !e.note.contains("outside grantdesk") && !e.note.contains("no grant seen")));
    assert!(h.unexplained.is_empty(), "{:?}", h.unexplained);

    // The group's view says the same.
    let g = store.grant_history(&HistoryTarget::Group(gh.name.clone()), now()).await.unwrap();
    assert_eq!(g.entries.len(), 1, "{:#?}", g.entries);
    assert_eq!(g.entries[0].approved_by, ["alex.approver@example.com"]);
    let a = store.grant_history(&HistoryTarget::Group(aws.name.clone()), now()).await.unwrap();
    assert_eq!(a.entries.len(), 1, "the RITM is the same grant: {:#?}", a.entries);
    assert_eq!(a.entries[0].record, "RITM0010050");
}

backend_tests!(
    grantdesk_requests_show_once_whatever_their_route,
    a_users_history_joins_all_three_sources,
    a_groups_history_names_every_member_change,
    an_unknown_user_has_an_empty_history,
);
