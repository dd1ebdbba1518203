//! Extending time-bound access: a new request through the same approvals; when the old grant
//! expires, the access the extension gave stays in Okta.

use std::time::Duration;

use futures::TryStreamExt as _;
use grantdesk::config::{OktaAuth, OktaConfig, Secret, ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::catalog::Catalog;
use grantdesk::domain::request::{RequestStatus, Verdict};
use grantdesk::emulator::{self, DEMO_OKTA_TOKEN, DEMO_PASSWORD, EmulatorOptions, Scale};
use grantdesk::engine::access::NewRequest;
use grantdesk::engine::{Engine, EngineParts, Operator};
use grantdesk::okta::OktaClient;
use grantdesk::servicenow::ServiceNowClient;
use grantdesk::store::Store;

async fn seat(base: &str, user: &str) -> (ServiceNowClient, Operator) {
    let sn = ServiceNowClient::new(&ServiceNowConfig {
        url: base.parse().unwrap(),
        auth: ServiceNowAuth::Basic { user: user.into(), password: Secret::new(DEMO_PASSWORD.into()) },
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    let me = sn.current_user().await.unwrap();
    (sn, Operator { user_name: me.user_name, sys_id: me.sys_id, login: me.email, name: me.name })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extension_keeps_the_access_when_the_old_grant_expires() {
    grantdesk::install_crypto_provider();
    let emu = emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("g.db").to_str().unwrap()).await.unwrap();
    let okta = OktaClient::new(&OktaConfig {
        url: emu.base_url.parse().unwrap(),
        auth: OktaAuth::Ssws(Secret::new(DEMO_OKTA_TOKEN.into())),
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    let (sn, dana) = seat(&emu.base_url, "dana.desk").await;
    let desk = Engine::new(EngineParts {
        store,
        servicenow: Some(sn),
        okta: Some(okta.clone()),
        operator: dana,
        read_only: false,
        catalog: Catalog::demo(),
    });
    let (sn_m, morgan) = seat(&emu.base_url, "morgan.manager").await;
    let morgan = desk.as_operator(sn_m, morgan);
    let (sn_a, alex) = seat(&emu.base_url, "alex.approver").await;
    let alex = desk.as_operator(sn_a, alex);

    let approve_all = |id: String| {
        let (morgan, alex) = (morgan.clone(), alex.clone());
        async move {
            morgan.decide(&id, Verdict::Approve, "ok", None).await.unwrap();
            alex.decide(&id, Verdict::Approve, "ok", None).await.unwrap();
            alex.drain().await.unwrap();
        }
    };
    let first = desk
        .raise_request(&NewRequest {
            entry: "aws-prod-readonly".into(),
            requested_for: Some("riley.requester@example.com".into()),
            ticket: None,
            justification: "incident bridge".into(),
            duration: Some(Duration::from_secs(3600)),
        })
        .await
        .unwrap();
    desk.drain().await.unwrap();
    approve_all(first.id.clone()).await;
    let first_now = desk.store().access_request(&first.id).await.unwrap().unwrap().request;
    assert_eq!(first_now.status, RequestStatus::Granted);

    let ext = desk.extend_request(&first.id, "still on call", None).await.unwrap();
    assert!(ext.justification.starts_with(&format!("Extension of {}", first.id)));
    desk.drain().await.unwrap();
    approve_all(ext.id.clone()).await;
    let ext_now = desk.store().access_request(&ext.id).await.unwrap().unwrap().request;
    assert_eq!(ext_now.status, RequestStatus::Granted, "the access was already there; the extension is granted");
    assert_eq!(ext_now.duration, Some(Duration::from_secs(8 * 3600)));

    // Two hours on, the first grant is due; the extension is not.
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    assert_eq!(desk.tick_requests(later).await.unwrap(), 1);
    let done = desk.drain().await.unwrap();
    assert!(done.iter().any(|f| f.result.as_ref().is_ok_and(|m| m.contains("keeps"))), "{done:?}");
    let first_end = desk.store().access_request(&first.id).await.unwrap().unwrap().request;
    assert_eq!(first_end.status, RequestStatus::Revoked);

    let group = grantdesk::engine::directory::group_by_name(&okta, "aws-prod-readonly").await.unwrap().unwrap();
    let riley = okta.user("riley.requester@example.com").await.unwrap();
    let members: Vec<String> = okta.group_members(&group.id).map_ok(|u| u.id).try_collect().await.unwrap();
    assert!(members.contains(&riley.id), "riley keeps aws-prod-readonly through the extension");
    assert!(desk.store().verify_audit(None).await.unwrap().result.is_ok());
}
