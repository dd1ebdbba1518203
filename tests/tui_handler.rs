//! The console's real effect handler over the engine, the store and the in-process emulator:
//! every effect answered as the console expects — queues from the cache, tickets and users from
//! the cache then live, commands through the outbox and the audit log, failures explained.

use std::time::Duration;

use grantdesk::config::{OktaAuth, OktaConfig, Secret, ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::request::Verdict;
use grantdesk::domain::{JournalKind, TicketKind, UserStatus};
use grantdesk::emulator::{self, DEMO_OKTA_TOKEN, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::engine::sync::SyncOptions;
use grantdesk::engine::{Engine, EngineParts, Operator};
use grantdesk::servicenow::{Query, ServiceNowClient};
use grantdesk::store::Store;
use grantdesk::tui::Action;
use grantdesk::tui::effect::{
    AccessData, AccessList, AuditFilter, AuditVerify, BulkOutcome, Command, CommandId, DataSource, Effect,
    EffectHandler as _, QueueRow, Reply, RequestDraft, RequestRow, SavedView, StateChoice, TicketRef,
};
use grantdesk::tui::handler::{DemoSeats, EngineHandler};
use tokio::sync::mpsc;

struct World {
    _emu: RunningEmulator,
    _dir: tempfile::TempDir,
    sn: ServiceNowClient,
    handler: EngineHandler,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The demo world, synced into a fresh store, with the engine's worker running.
async fn world() -> World {
    world_with(Default::default(), false).await
}

/// The demo world with `catalog`; with `seats`, `:as` takes the personas' seats as in
/// `grantdesk demo`, and the worker follows the seat.
async fn world_with(catalog: grantdesk::domain::catalog::Catalog, seats: bool) -> World {
    grantdesk::install_crypto_provider();
    let emu = emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("grantdesk.db").to_str().unwrap()).await.unwrap();
    let sn = ServiceNowClient::new(&ServiceNowConfig {
        url: emu.base_url.parse().unwrap(),
        auth: ServiceNowAuth::Basic { user: "dana.desk".into(), password: Secret::new(DEMO_PASSWORD.into()) },
        ca_bundle: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    let okta = grantdesk::okta::OktaClient::new(&OktaConfig {
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
        okta: Some(okta),
        operator: Operator { user_name: me.user_name, sys_id: me.sys_id, login: me.email, name: me.name },
        read_only: false,
        catalog,
    });
    engine.sync(SyncOptions::default(), &|_| {}).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut handler = EngineHandler::new(engine);
    if seats {
        let url = emu.base_url.parse().unwrap();
        handler = handler.with_demo_seats(DemoSeats { url, password: Secret::new(DEMO_PASSWORD.into()) });
    }
    grantdesk::tui::spawn_seat_worker(&handler, stopped);
    World { _emu: emu, _dir: dir, sn, handler, stop: Some(stop) }
}

/// Every answer the handler gives to one effect, in order.
async fn answers(w: &World, effect: Effect) -> Vec<Action> {
    let (tx, mut rx) = mpsc::channel(64);
    w.handler.handle(effect, Reply::new(tx)).await;
    let mut out = Vec::new();
    while let Ok(a) = rx.try_recv() {
        out.push(a);
    }
    out
}

async fn queue(w: &World, view: SavedView) -> Vec<QueueRow> {
    match answers(w, Effect::LoadQueue { view }).await.as_slice() {
        [Action::QueueLoaded { view: v, rows, source: DataSource::Cache { .. } }] if *v == view => rows.clone(),
        other => panic!("unexpected answer to LoadQueue {view:?}: {other:?}"),
    }
}

fn rileys(rows: &[QueueRow]) -> QueueRow {
    rows.iter()
        .find(|r| r.short_description.starts_with("Locked out of Okta"))
        .cloned()
        .expect("riley's locked-out incident is in the queue")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_views_come_from_the_cache_with_what_commands_need() {
    let w = world().await;
    let all = queue(&w, SavedView::AllOpen).await;
    let open_incidents = w.sn.count_tickets(TicketKind::Incident, &Query::new().eq("active", "true")).await.unwrap();
    assert!(all.iter().filter(|r| r.kind == TicketKind::Incident).count() as u64 == open_incidents);
    assert!(all.iter().all(|r| r.active));
    let riley = rileys(&all);
    assert_eq!(riley.caller_login, "riley.requester@example.com");
    let live = w.sn.ticket(TicketKind::Incident, &riley.sys_id).await.unwrap().unwrap();
    assert_eq!(riley.mod_count, live.mod_count, "commands from the queue carry the mod_count the operator saw");

    let mine = queue(&w, SavedView::MyOpen).await;
    assert!(!mine.is_empty(), "dana has tickets in the demo world");
    let dana = w.sn.current_user().await.unwrap();
    assert!(
        mine.iter().all(|r| r.assigned_to == dana.name),
        "{:?}",
        mine.iter().map(|r| &r.assigned_to).collect::<Vec<_>>()
    );

    let unassigned = queue(&w, SavedView::UnassignedInMyGroups).await;
    let groups: Vec<String> = w.sn.groups_of(&dana.sys_id).await.unwrap().into_iter().map(|g| g.display).collect();
    assert!(!unassigned.is_empty());
    assert!(unassigned.iter().all(|r| r.assigned_to.is_empty() && groups.contains(&r.assignment_group)));

    let requests = queue(&w, SavedView::AccessRequests).await;
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| matches!(r.kind, TicketKind::Request | TicketKind::RequestedItem)));
    let breached = queue(&w, SavedView::BreachedSla).await;
    assert!(breached.iter().all(|r| r.sla_breached));
    assert!(breached.len() < all.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_and_its_callers_account_come_from_the_cache_then_live() {
    let w = world().await;
    let riley = rileys(&queue(&w, SavedView::AllOpen).await);
    let got =
        answers(&w, Effect::LoadTicket { number: riley.number.clone(), sys_id: Some(riley.sys_id.clone()) }).await;
    match got.as_slice() {
        [
            Action::TicketLoaded { detail: cached, source: DataSource::Cache { .. } },
            Action::TicketLoaded { detail: live, source: DataSource::Live },
        ] => {
            assert_eq!(cached.ticket.number, riley.number);
            assert_eq!(live.ticket.caller_email, "riley.requester@example.com");
            assert_eq!(live.journal.len(), cached.journal.len());
        }
        other => panic!("{other:?}"),
    }
    // `:ticket NUMBER` without a sys_id works too.
    let by_number = answers(&w, Effect::LoadTicket { number: riley.number.to_lowercase(), sys_id: None }).await;
    assert!(matches!(by_number.last(), Some(Action::TicketLoaded { source: DataSource::Live, .. })), "{by_number:?}");

    let user = answers(&w, Effect::LoadUser { login: "riley.requester@example.com".into() }).await;
    match user.as_slice() {
        [
            Action::UserLoaded { detail: cached, source: DataSource::Cache { .. }, .. },
            Action::UserLoaded { detail: live, source: DataSource::Live, .. },
        ] => {
            assert_eq!(cached.user.status, UserStatus::LockedOut);
            assert_eq!(live.user.status, UserStatus::LockedOut);
            assert!(!live.groups.is_empty() && !live.apps.is_empty(), "groups and apps beside the account");
            assert_eq!(live.manager.as_deref(), cached.manager.as_deref());
            assert!(live.manager.is_some(), "riley has a manager");
        }
        other => panic!("{other:?}"),
    }

    let missing = answers(&w, Effect::LoadUser { login: "nobody.here@example.com".into() }).await;
    assert!(matches!(missing.as_slice(), [Action::UserLoadFailed { error, .. }] if !error.is_empty()), "{missing:?}");
    let no_ticket = answers(&w, Effect::LoadTicket { number: "INC9999999".into(), sys_id: None }).await;
    assert!(
        matches!(no_ticket.as_slice(), [Action::TicketLoadFailed { error, .. }] if error.contains("does not exist")),
        "{no_ticket:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_opens_with_members_and_apps() {
    let w = world().await;
    let user = answers(&w, Effect::LoadUser { login: "riley.requester@example.com".into() }).await;
    let Some(Action::UserLoaded { detail, .. }) = user.last() else { panic!("{user:?}") };
    let name = detail.groups[0].name.clone();
    let got = answers(&w, Effect::LoadGroup { name: name.to_uppercase() }).await;
    match got.as_slice() {
        [
            Action::GroupLoaded { source: DataSource::Cache { .. }, .. },
            Action::GroupLoaded { detail, source: DataSource::Live, .. },
        ] => {
            assert_eq!(detail.group.name, name);
            assert!(detail.members.iter().any(|m| m.login == "riley.requester@example.com"));
        }
        other => panic!("{other:?}"),
    }
    let missing = answers(&w, Effect::LoadGroup { name: "no such group".into() }).await;
    assert!(
        matches!(missing.as_slice(), [Action::GroupLoadFailed { error, .. }] if error.contains("no group")),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_queued_applied_audited_and_failures_say_why() {
    let w = world().await;
    let riley = rileys(&queue(&w, SavedView::AllOpen).await);
    let text = "Called Riley.\nUnlocking the account now.";
    let note = Command::AddJournal { ticket: riley.ticket_ref(), kind: JournalKind::WorkNote, text: text.into() };
    let got = answers(&w, Effect::RunCommand { id: CommandId(1), command: note }).await;
    match got.as_slice() {
        [Action::CommandQueued { id: CommandId(1) }, Action::CommandSucceeded { id: CommandId(1), message }] => {
            assert!(message.contains("work note added"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let journal = w.sn.journal(&riley.sys_id).await.unwrap();
    assert_eq!(journal.iter().filter(|j| j.kind == JournalKind::WorkNote && j.value == text).count(), 1);
    // The cache already has it, so the console's reload shows it.
    let cached =
        answers(&w, Effect::LoadTicket { number: riley.number.clone(), sys_id: Some(riley.sys_id.clone()) }).await;
    let Some(Action::TicketLoaded { detail, source: DataSource::Cache { .. } }) = cached.first() else {
        panic!("{cached:?}")
    };
    assert!(detail.journal.iter().any(|j| j.value == text));

    // A stale mod_count fails, says why, and changes nothing.
    let stale = TicketRef { mod_count: riley.mod_count.saturating_sub(1), ..riley.ticket_ref() };
    let state =
        Command::ChangeState { ticket: stale, state: StateChoice { value: "3".into(), label: "On Hold".into() } };
    let got = answers(&w, Effect::RunCommand { id: CommandId(2), command: state }).await;
    match got.as_slice() {
        [Action::CommandQueued { .. }, Action::CommandFailed { id: CommandId(2), error }] => {
            assert!(error.contains("since you saw it") && error.contains("nothing was overwritten"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_ne!(w.sn.ticket(TicketKind::Incident, &riley.sys_id).await.unwrap().unwrap().state, "3");

    // The audit view finds both, newest first, and the chain verifies on the first look.
    let filter = AuditFilter { text: riley.number.clone(), limit: 100 };
    let got = answers(&w, Effect::LoadAudit { filter: filter.clone() }).await;
    match got.as_slice() {
        [
            Action::AuditLoaded { filter: f, rows, verify: None },
            Action::AuditVerified(AuditVerify::Intact { events }),
        ] => {
            assert_eq!(f, &filter);
            let outcomes: Vec<(&str, &str)> = rows.iter().map(|r| (r.action.as_str(), r.outcome.as_str())).collect();
            assert_eq!(
                outcomes,
                [
                    ("ticket.state", "failure"),
                    ("ticket.state", "intent"),
                    ("ticket.work_note", "success"),
                    ("ticket.work_note", "intent")
                ]
            );
            assert!(rows.iter().all(|r| r.operator == "dana.desk" && r.ticket == riley.number));
            assert_eq!(*events, 4);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_sync_answer() {
    let w = world().await;
    let got = answers(&w, Effect::LoadDashboard).await;
    let [Action::DashboardLoaded(d)] = got.as_slice() else { panic!("{got:?}") };
    let all = queue(&w, SavedView::AllOpen).await;
    assert_eq!(d.open, all.len() as u64);
    assert_eq!(d.unassigned, all.iter().filter(|r| r.assigned_to.is_empty()).count() as u64);
    assert_eq!(d.age_histogram.iter().map(|b| b.1).sum::<u64>(), d.open);
    assert_eq!(d.per_day.len(), 28);
    assert!(d.per_day.iter().any(|day| day.opened > 0));

    // Right after a sync, another finds nothing new and does not ask for a queue reload.
    let got = answers(&w, Effect::Sync).await;
    match got.as_slice() {
        [Action::TicketsSynced { changed: false }, Action::SyncFinished { summary, queue_changed: false }] => {
            assert!(summary.starts_with("fetched"), "{summary}");
        }
        other => panic!("{other:?}"),
    }
    // Someone changes a ticket in ServiceNow: the next sync says the queue is worth reloading.
    let riley = rileys(&all);
    let changed = w.sn.update_ticket(TicketKind::Incident, &riley.sys_id, &[("state", "3")]).await.unwrap();
    assert_eq!(changed.state_label, "On Hold");
    let got = answers(&w, Effect::Sync).await;
    assert!(
        matches!(got.as_slice(), [Action::TicketsSynced { changed: true }, Action::SyncFinished { .. }]),
        "{got:?}"
    );
    let after = rileys(&queue(&w, SavedView::AllOpen).await);
    assert_eq!(after.state, "On Hold");
    assert!(after.mod_count > riley.mod_count);
}

async fn switch(w: &World, login: &str) {
    let got = answers(w, Effect::SwitchOperator { login: login.into() }).await;
    assert!(matches!(got.as_slice(), [Action::OperatorSwitched { user_name }] if user_name == login), "{got:?}");
}

async fn inbox(w: &World) -> Vec<RequestRow> {
    match answers(w, Effect::LoadAccess(AccessList::Inbox)).await.as_slice() {
        [Action::AccessLoaded(AccessData::Inbox { operator, rows })] => {
            assert_eq!(*operator, w.handler.engine().operator().user_name, "the inbox of whoever sits there");
            rows.clone()
        }
        other => panic!("{other:?}"),
    }
}

async fn run(w: &World, id: u64, command: Command) -> Result<String, String> {
    match answers(w, Effect::RunCommand { id: CommandId(id), command }).await.as_slice() {
        [Action::CommandSucceeded { message, .. }] => Ok(message.clone()),
        [Action::CommandFailed { error, .. }] => Err(error.clone()),
        other => panic!("{other:?}"),
    }
}

/// Issue 6's Done-means story in one console, through the console's own effects: as dana.desk,
/// raise `aws-prod-readonly` for riley from riley's ticket (after the preview); `:as
/// morgan.manager` approve; `:as alex.approver` approve; the membership is in Okta and every step
/// is in the audit log under the name of whoever took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_story_plays_in_one_console_with_as() {
    let w = world_with(grantdesk::domain::catalog::Catalog::demo(), true).await;
    let riley = rileys(&queue(&w, SavedView::AllOpen).await);
    let draft = RequestDraft {
        ticket: Some(riley.number.clone()),
        requested_for: "riley.requester@example.com".into(),
        entry: "aws-prod-readonly".into(),
        duration: None,
        justification: "Investigating the production incident".into(),
    };
    let preview = match answers(&w, Effect::PreviewRequest(draft.clone())).await.as_slice() {
        [Action::PreviewLoaded(p)] => (**p).clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(preview.draft, draft);
    assert!(preview.grants.iter().any(|g| g == "membership of aws-prod-readonly"), "{:?}", preview.grants);
    assert_eq!(preview.steps.len(), 2);
    assert_eq!(preview.steps[0].1, vec!["morgan.manager@example.com".to_string()], "riley's manager first");
    assert!(preview.steps[1].1.contains(&"alex.approver@example.com".to_string()), "{:?}", preview.steps);

    let raised = run(&w, 1, Command::RaiseRequest(draft)).await.unwrap();
    assert!(raised.contains("waiting on morgan.manager@example.com"), "{raised}");
    let id = raised.split_whitespace().nth(1).unwrap().to_string();
    assert!(id.starts_with("AR-"), "{raised}");
    assert!(inbox(&w).await.iter().all(|r| r.request.id != id), "dana raised it: not hers to decide");

    // Outside the demo's seats nobody else's seat can be taken; in the demo it can.
    switch(&w, "morgan.manager").await;
    let mine = inbox(&w).await;
    let row = mine.iter().find(|r| r.request.id == id).expect("in morgan's inbox");
    assert!(row.grants.iter().any(|g| g == "AWS"), "blast radius: the group's apps {:?}", row.grants);
    let step1 = Command::Decide { id: id.clone(), verdict: Verdict::Approve, comment: "ok as manager".into() };
    let said = run(&w, 2, step1.clone()).await.unwrap();
    assert!(said.contains("now waiting on") && said.contains("alex.approver"), "{said}");
    let again = run(&w, 3, step1).await;
    assert!(again.is_err(), "a second decision of the same step is refused: {again:?}");

    switch(&w, "alex.approver").await;
    let said = run(&w, 4, Command::Decide { id: id.clone(), verdict: Verdict::Approve, comment: "ok as owner".into() })
        .await
        .unwrap();
    assert!(said.contains("approved"), "{said}");

    // Fulfilment follows at once (settled by the console, or by the worker when it got there
    // first): granted within moments, and the membership is in Okta.
    let engine = w.handler.engine();
    let mut stored = engine.store().access_request(&id).await.unwrap().unwrap().request;
    for _ in 0..40 {
        if stored.status == grantdesk::domain::request::RequestStatus::Granted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        stored = engine.store().access_request(&id).await.unwrap().unwrap().request;
    }
    assert_eq!(stored.status, grantdesk::domain::request::RequestStatus::Granted);
    let okta = engine.okta().unwrap();
    let user = okta.user("riley.requester@example.com").await.unwrap();
    let groups = okta.user_groups(&user.id).await.unwrap();
    assert!(groups.iter().any(|g| g.name == "aws-prod-readonly"), "riley is in aws-prod-readonly now");
    assert_eq!(
        stored.decisions.iter().map(|d| d.approver.as_str()).collect::<Vec<_>>(),
        ["morgan.manager@example.com", "alex.approver@example.com"]
    );
    // ServiceNow has the requested item with a work note per decision and the fulfilment (the
    // worker, following the seat, writes them: waited for, not assumed).
    let mut notes = Vec::new();
    for _ in 0..40 {
        let r = engine.store().access_request(&id).await.unwrap().unwrap().request;
        if let Some(ritm) = &r.external.ritm_sys_id {
            notes = w.sn.journal(ritm).await.unwrap().into_iter().map(|j| j.value).collect::<Vec<_>>();
            if notes.iter().any(|n| n.contains("#grant]")) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for want in ["morgan.manager@example.com approved step 1", "alex.approver@example.com approved step 2", "Fulfilled"]
    {
        assert!(notes.iter().any(|n| n.contains(want)), "no work note with {want:?} in {notes:#?}");
    }
    // The audit log names who took each step.
    let filter = AuditFilter { text: "riley.requester@example.com".into(), limit: 500 };
    let audit = answers(&w, Effect::LoadAudit { filter }).await;
    let Some(Action::AuditLoaded { rows, .. }) = audit.first() else { panic!("{audit:?}") };
    let rows: Vec<_> = rows.iter().filter(|r| r.details.contains(&id)).collect();
    for who in ["dana.desk", "morgan.manager", "alex.approver"] {
        assert!(rows.iter().any(|r| r.operator == who && r.outcome == "success"), "{who} in {rows:#?}");
    }
    assert!(rows.iter().any(|r| r.operator == "morgan.manager" && r.outcome == "refused"), "the repeat is audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_is_refused_outside_the_demo_and_bulk_lists_refusals() {
    let w = world_with(grantdesk::domain::catalog::Catalog::demo(), false).await;
    let got = answers(&w, Effect::SwitchOperator { login: "morgan.manager".into() }).await;
    assert!(
        matches!(got.as_slice(), [Action::OperatorSwitchFailed(e)] if e.contains("grantdesk demo") && e.contains("dana.desk")),
        "{got:?}"
    );
    assert_eq!(w.handler.engine().operator().user_name, "dana.desk");

    // Dana raises a request, then tries to decide it in bulk with an unknown one: both are
    // listed, neither silently skipped.
    let draft = RequestDraft {
        ticket: None,
        requested_for: "riley.requester@example.com".into(),
        entry: "aws-prod-readonly".into(),
        duration: Some(std::time::Duration::from_secs(3600)),
        justification: "on call".into(),
    };
    let raised = run(&w, 1, Command::RaiseRequest(draft)).await.unwrap();
    let id = raised.split_whitespace().nth(1).unwrap().to_string();
    let ids = vec![id.clone(), "AR-NOPE0000".to_string()];
    let got =
        answers(&w, Effect::BulkDecide { batch: 7, ids, verdict: Verdict::Approve, comment: "bulk".into() }).await;
    assert_eq!(got.len(), 2, "{got:?}");
    for a in &got {
        match a {
            Action::BulkItemDone { batch: 7, id: i, outcome: BulkOutcome::Refused(why) } if *i == id => {
                assert!(why.contains("separation of duties"), "{why}")
            }
            Action::BulkItemDone { batch: 7, id: i, outcome: BulkOutcome::Failed(why) } if i == "AR-NOPE0000" => {
                assert!(why.contains("no access request"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
