//! `Engine::sync` against the in-process emulator, on SQLite and PostgreSQL: a first sync fills
//! the cache, a second makes only a handful of requests, and deletions, suspensions and
//! membership changes made in the services are reflected.

mod store_support;

use std::time::Duration;

use futures::TryStreamExt as _;
use grantdesk::config::{OktaAuth, OktaConfig, Secret, ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::{TicketKind, UserStatus};
use grantdesk::emulator::{self, DEMO_OKTA_TOKEN, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::engine::sync::{Progress, SyncOptions};
use grantdesk::engine::{Engine, EngineParts, Operator};
use grantdesk::okta::OktaClient;
use grantdesk::servicenow::{Query, ServiceNowClient};
use grantdesk::store::{QueueFilter, Store};
use store_support::TestDb;

async fn engine(emu: &RunningEmulator, store: Store) -> (Engine, ServiceNowClient, OktaClient) {
    grantdesk::install_crypto_provider();
    let sn = ServiceNowClient::new(&ServiceNowConfig {
        url: emu.base_url.parse().unwrap(),
        auth: ServiceNowAuth::Basic { user: "dana.desk".into(), password: Secret::new(DEMO_PASSWORD.into()) },
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    let okta = OktaClient::new(&OktaConfig {
        url: emu.base_url.parse().unwrap(),
        auth: OktaAuth::Ssws(Secret::new(DEMO_OKTA_TOKEN.into())),
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    let me = sn.current_user().await.unwrap();
    let engine = Engine::new(EngineParts {
        store,
        servicenow: Some(sn.clone()),
        okta: Some(okta.clone()),
        operator: Operator { user_name: me.user_name, sys_id: me.sys_id, login: me.email, name: me.name },
        read_only: false,
        catalog: Default::default(),
    });
    (engine, sn, okta)
}

fn quiet(_: Progress) {}

async fn first_then_incremental(db: &TestDb) {
    let emu = emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.unwrap();
    let (engine, sn, okta) = engine(&emu, db.open().await).await;
    let first = engine.sync(SyncOptions::default(), &quiet).await.unwrap();
    let store = engine.store();

    // The cache holds what the services hold.
    let incidents = sn.count_tickets(TicketKind::Incident, &Query::new()).await.unwrap();
    let cached =
        store.queue_count(&QueueFilter { kinds: vec![TicketKind::Incident], ..Default::default() }).await.unwrap();
    assert_eq!(cached, incidents);
    let users: Vec<_> = okta
        .users(&grantdesk::okta::UserQuery::updated_since(chrono::DateTime::UNIX_EPOCH))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(store.cache_counts().await.unwrap().users, users.len() as u64);
    let riley = store.user("riley.requester@example.com", 20).await.unwrap().expect("riley cached");
    assert_eq!(riley.user.status, UserStatus::LockedOut);
    assert!(!riley.groups.is_empty() && !riley.events.is_empty());

    // Right after, an incremental sync is a handful of requests.
    let second = engine.sync(SyncOptions::default(), &quiet).await.unwrap();
    assert!(second.requests <= 16, "second sync made {} requests: {:?}", second.requests, second.sources);
    assert!(second.requests * 5 < first.requests, "first {} vs second {}", first.requests, second.requests);
}

async fn changes_and_deletions_are_reflected(db: &TestDb) {
    let emu = emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.unwrap();
    let (engine, sn, okta) = engine(&emu, db.open().await).await;
    engine.sync(SyncOptions::default(), &quiet).await.unwrap();
    let store = engine.store();

    // Someone deletes an incident, suspends a user and adds a membership in the services.
    let victim =
        sn.tickets(TicketKind::Incident, &Query::new().eq("active", "false"), Some(1)).await.unwrap().remove(0);
    sn.delete("incident", &victim.sys_id).await.unwrap();
    let sam = okta.user("sam.security@example.com").await.unwrap();
    okta.suspend_user(&sam.id).await.unwrap();
    let zoom = grantdesk::engine::directory::group_by_name(&okta, "zoom-users").await.unwrap().unwrap();
    let before: Vec<String> = okta.group_members(&zoom.id).map_ok(|u| u.id).try_collect().await.unwrap();
    assert!(!before.contains(&sam.id));
    okta.add_group_member(&zoom.id, &sam.id).await.unwrap();

    let report = engine.sync(SyncOptions::default(), &quiet).await.unwrap();
    let incidents = report.sources.iter().find(|s| s.source == "servicenow:incident").unwrap();
    assert_eq!(incidents.removed, 1, "{report:?}");
    assert!(store.ticket(&victim.sys_id).await.unwrap().is_none(), "deleted incident left behind");
    let sam_cached = store.user(&sam.id, 5).await.unwrap().unwrap();
    assert_eq!(sam_cached.user.status, UserStatus::Suspended);
    assert!(sam_cached.groups.iter().any(|g| g.name == "zoom-users"));
    assert!(report.requests < 40, "{report:?}");
}

backend_tests!(first_then_incremental, changes_and_deletions_are_reflected);
