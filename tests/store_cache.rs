//! The cache on both backends: batched upserts, deletions reflected, watermarks, and the queries
//! the console needs (queue, ticket, user, group, dashboard).

mod store_support;

use chrono::Duration;
use grantdesk::domain::{ApprovalState, JournalKind, Membership, TicketKind, UserStatus};
use grantdesk::store::{AssignedTo, CacheTable, QueueFilter, QueueOrder, Watermark, source};
use store_support::fixtures::*;
use store_support::{Kind, TestDb};

async fn tickets_round_trip_exactly_and_update_in_place(db: &TestDb) {
    let store = db.open().await;
    let mut t = ticket(TicketKind::Incident, 1);
    t.description = "Printer says \u{1b}[2J 'quoted' \"double\" ; DROP TABLE tickets; --\nline two".into();
    t.parent = reference("p1", "REQ0010001");
    t.sla_due = None;
    assert_eq!(store.upsert_tickets(std::slice::from_ref(&t)).await.unwrap(), 1);
    let got = store.ticket("inc0010001").await.unwrap().expect("by number, any case");
    assert_eq!(got.ticket, t, "the cache keeps remote text exactly (sanitising is the screen's job)");
    assert_eq!(store.ticket(&t.sys_id).await.unwrap().unwrap().ticket, t, "by sys_id");

    // A later version replaces the row, and a batch holding one record twice keeps the last.
    let mut newer = t.clone();
    newer.state = "2".into();
    newer.state_label = "In Progress".into();
    newer.mod_count = 2;
    let mut newest = newer.clone();
    newest.mod_count = 3;
    store.upsert_tickets(&[newer, newest.clone()]).await.unwrap();
    assert_eq!(store.ticket("INC0010001").await.unwrap().unwrap().ticket, newest);
    assert_eq!(store.cache_counts().await.unwrap().tickets, 1);
    assert_eq!(store.ticket("INC9999999").await.unwrap(), None);
}

async fn ticket_detail_has_journal_and_approvals(db: &TestDb) {
    let store = db.open().await;
    let ritm = ticket(TicketKind::RequestedItem, 7);
    store.upsert_tickets(std::slice::from_ref(&ritm)).await.unwrap();
    store
        .upsert_journal(&[
            journal(&ritm, 1, JournalKind::Comment, "please add me"),
            journal(&ritm, 2, JournalKind::WorkNote, "checking with the manager"),
        ])
        .await
        .unwrap();
    store
        .upsert_approvals(&[
            approval(&ritm, 1, "morgan.manager", ApprovalState::Approved),
            approval(&ritm, 2, "alex.approver", ApprovalState::Requested),
        ])
        .await
        .unwrap();
    let d = store.ticket("RITM0010007").await.unwrap().unwrap();
    assert_eq!(
        d.journal.iter().map(|j| j.value.as_str()).collect::<Vec<_>>(),
        ["checking with the manager", "please add me"]
    );
    assert_eq!(d.journal[0].kind, JournalKind::WorkNote);
    assert_eq!(d.approvals.len(), 2);
    assert_eq!(d.approvals[0].state, ApprovalState::Approved);
    assert_eq!(d.approvals[1].approver.display, "alex.approver");
    let items = store.requested_items_for("USER7@example.com").await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].1.len(), 2);
}

async fn the_queue_filters_orders_and_pages(db: &TestDb) {
    let store = db.open().await;
    let mut all = Vec::new();
    for i in 0..40 {
        all.push(ticket(TicketKind::Incident, i));
    }
    for i in 0..10 {
        all.push(ticket(TicketKind::RequestedItem, i));
    }
    all[5].active = false;
    all[5].close_code = "Solution provided".into();
    store.upsert_tickets(&all).await.unwrap();

    let everything = QueueFilter::default();
    assert_eq!(store.queue_count(&everything).await.unwrap(), 50);
    let page = store.queue_page(&everything, QueueOrder::Newest, 0, 10).await.unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.windows(2).all(|w| w[0].opened_at >= w[1].opened_at), "newest first");
    let rest = store.queue_page(&everything, QueueOrder::Newest, 10, 0).await.unwrap();
    assert_eq!(rest.len(), 40, "limit 0 means the rest");
    assert!(!rest.iter().any(|r| page.iter().any(|p| p.sys_id == r.sys_id)), "pages do not overlap");

    let active_incidents = QueueFilter { active: Some(true), kinds: vec![TicketKind::Incident], ..Default::default() };
    assert_eq!(store.queue_count(&active_incidents).await.unwrap(), 39);
    let ritms = QueueFilter { kinds: vec![TicketKind::RequestedItem], ..Default::default() };
    let rows = store.queue_page(&ritms, QueueOrder::Number, 0, 0).await.unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r.kind == TicketKind::RequestedItem && r.number.starts_with("RITM")));
    assert!(rows.windows(2).all(|w| w[0].number < w[1].number));

    let iam = QueueFilter { assignment_groups: vec!["g-iam".into()], ..Default::default() };
    assert_eq!(store.queue_count(&iam).await.unwrap(), 25);
    let both = QueueFilter { assignment_groups: vec!["g-iam".into(), "g-desk".into()], ..Default::default() };
    assert_eq!(store.queue_count(&both).await.unwrap(), 50);
    let unassigned = QueueFilter { assigned_to: AssignedTo::Nobody, ..Default::default() };
    let expected_unassigned = (0..40).filter(|i| i % 3 == 0).count() + (0..10).filter(|i| i % 3 == 0).count();
    assert_eq!(store.queue_count(&unassigned).await.unwrap(), expected_unassigned as u64);
    let mine = QueueFilter { assigned_to: AssignedTo::Person("dana".into()), ..Default::default() };
    assert_eq!(store.queue_count(&mine).await.unwrap(), 50 - expected_unassigned as u64);
    let breached = QueueFilter { sla_breached: Some(true), ..Default::default() };
    let rows = store.queue_page(&breached, QueueOrder::Oldest, 0, 0).await.unwrap();
    assert!(rows.iter().all(|r| r.sla_breached));
    assert!(rows.windows(2).all(|w| w[0].opened_at <= w[1].opened_at), "oldest first");
    let caller = QueueFilter { caller_email: Some("User3@Example.com".into()), ..Default::default() };
    assert_eq!(store.queue_count(&caller).await.unwrap(), 2);

    let by_priority = store.queue_page(&everything, QueueOrder::Priority, 0, 0).await.unwrap();
    assert!(by_priority.windows(2).all(|w| w[0].priority <= w[1].priority));
    let by_sla = store.queue_page(&everything, QueueOrder::SlaDue, 0, 0).await.unwrap();
    assert!(by_sla.windows(2).all(|w| w[0].sla_due <= w[1].sla_due));
    let by_update = store.queue_page(&everything, QueueOrder::Updated, 0, 0).await.unwrap();
    assert!(by_update.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));

    // The fast whole-queue load gives exactly what the database-ordered pages give.
    for filter in [everything.clone(), active_incidents, iam, unassigned, breached, caller] {
        for order in [
            QueueOrder::Newest,
            QueueOrder::Oldest,
            QueueOrder::Priority,
            QueueOrder::Updated,
            QueueOrder::SlaDue,
            QueueOrder::Number,
        ] {
            let fast = store.queue_all(&filter, order).await.unwrap();
            let paged = store.queue_page(&filter, order, 0, 0).await.unwrap();
            assert_eq!(fast, paged, "{filter:?} {order:?}");
        }
    }
    let nothing = QueueFilter { caller_email: Some("nobody@example.com".into()), ..Default::default() };
    assert!(store.queue_all(&nothing, QueueOrder::Newest).await.unwrap().is_empty());
}

/// Migration 0006 rewrites every cached queue line in SQL; what it writes must be exactly what
/// the binary writes, or the console would load a corrupt queue after an upgrade.
async fn the_migration_writes_queue_lines_as_the_binary_does(db: &TestDb) {
    let store = db.open().await;
    let mut tickets: Vec<_> = (0..30).map(|i| ticket(TicketKind::Incident, i)).collect();
    tickets[1].short_description = "ünïcödé ✓ 12:34 \u{1b}[2J".into();
    tickets[2].caller_email = String::new();
    tickets[3].sla_due = None;
    tickets[4].priority = 0;
    tickets[5].mod_count = 12_345;
    tickets[6].active = false;
    tickets[7].assigned_to = reference("", "");
    store.upsert_tickets(&tickets).await.unwrap();
    let everything = QueueFilter::default();
    let before = store.queue_all(&everything, QueueOrder::Number).await.unwrap();
    assert_eq!(before.len(), 30);
    assert_eq!((before[5].mod_count, before[1].caller_email.as_str()), (12_345, "user1@example.com"));
    db.try_raw("UPDATE tickets SET queue_line = ''").await.unwrap();
    assert!(store.queue_all(&everything, QueueOrder::Number).await.unwrap().is_empty());
    let sql = match db.kind {
        Kind::Sqlite => include_str!("../migrations/sqlite/0006_queue_line_caller_mod_count.sql"),
        Kind::Postgres => include_str!("../migrations/postgres/0006_queue_line_caller_mod_count.sql"),
    };
    db.try_raw(sql).await.unwrap();
    assert_eq!(store.queue_all(&everything, QueueOrder::Number).await.unwrap(), before);
}

async fn deletions_are_reflected(db: &TestDb) {
    let store = db.open().await;
    let incidents: Vec<_> = (0..10).map(|i| ticket(TicketKind::Incident, i)).collect();
    let ritm = ticket(TicketKind::RequestedItem, 1);
    store.upsert_tickets(&incidents).await.unwrap();
    store.upsert_tickets(std::slice::from_ref(&ritm)).await.unwrap();
    store.upsert_journal(&[journal(&incidents[3], 1, JournalKind::WorkNote, "x")]).await.unwrap();
    store.upsert_approvals(&[approval(&incidents[3], 1, "alex", ApprovalState::Requested)]).await.unwrap();

    // A full listing of incidents without 3 and 4 removes them (and 3's journal and approvals),
    // and leaves the other kinds alone.
    let listed: Vec<String> = incidents
        .iter()
        .filter(|t| !t.number.ends_with("3") && !t.number.ends_with("4"))
        .map(|t| t.sys_id.clone())
        .collect();
    assert_eq!(store.retain(CacheTable::Tickets(TicketKind::Incident), &listed).await.unwrap(), 2);
    assert_eq!(store.ticket(&incidents[3].number).await.unwrap(), None);
    assert!(store.ticket(&ritm.number).await.unwrap().is_some());
    let counts = store.cache_counts().await.unwrap();
    assert_eq!((counts.tickets, counts.journal_entries, counts.approvals), (9, 0, 0));
    assert_eq!(
        store.remove(CacheTable::Tickets(TicketKind::Incident), &[incidents[0].sys_id.clone()]).await.unwrap(),
        1
    );
    assert_eq!(store.cache_counts().await.unwrap().tickets, 8);

    // Okta: a deactivated user stays, marked; a deleted one goes with its memberships and apps.
    let (riley, casey) = (user("riley.requester", UserStatus::LockedOut), user("casey.contractor", UserStatus::Active));
    let zoom = group("zoom-users");
    let slack = app("slack", "Slack");
    store.upsert_users(&[riley.clone(), casey.clone()]).await.unwrap();
    store.upsert_groups(std::slice::from_ref(&zoom)).await.unwrap();
    store.upsert_apps(std::slice::from_ref(&slack)).await.unwrap();
    store.replace_group_members(&zoom.id, &[riley.id.clone(), casey.id.clone()]).await.unwrap();
    store.upsert_app_assignments(&[assignment(&slack, &riley), assignment(&slack, &casey)]).await.unwrap();
    let mut gone = casey.clone();
    gone.status = UserStatus::Deprovisioned;
    store.upsert_users(std::slice::from_ref(&gone)).await.unwrap();
    assert_eq!(store.okta_user(&casey.login).await.unwrap().unwrap().status, UserStatus::Deprovisioned);
    assert_eq!(store.retain(CacheTable::Users, std::slice::from_ref(&riley.id)).await.unwrap(), 1);
    assert_eq!(store.okta_user(&casey.login).await.unwrap(), None);
    assert_eq!(store.group_member_ids(&zoom.id).await.unwrap(), vec![riley.id.clone()]);
    assert_eq!(store.cache_counts().await.unwrap().app_assignments, 1);
    // Removing a group takes its memberships; removing an app its assignments.
    store.remove(CacheTable::Groups, std::slice::from_ref(&zoom.id)).await.unwrap();
    store.remove(CacheTable::Apps, std::slice::from_ref(&slack.id)).await.unwrap();
    let counts = store.cache_counts().await.unwrap();
    assert_eq!((counts.groups, counts.memberships, counts.apps, counts.app_assignments), (0, 0, 0, 0));
}

async fn a_user_with_groups_apps_manager_and_events(db: &TestDb) {
    let store = db.open().await;
    let morgan = user("morgan.manager", UserStatus::Active);
    let mut riley = user("riley.requester", UserStatus::LockedOut);
    riley.manager_id = morgan.id.clone();
    let (zoom, eng) = (group("zoom-users"), group("Engineering"));
    let (gh, slack) = (app("github", "GitHub"), app("slack", "Slack"));
    store.upsert_users(&[riley.clone(), morgan.clone()]).await.unwrap();
    store.upsert_groups(&[zoom.clone(), eng.clone()]).await.unwrap();
    store.upsert_apps(&[gh.clone(), slack.clone()]).await.unwrap();
    store.replace_user_groups(&riley.id, &[zoom.id.clone(), eng.id.clone()]).await.unwrap();
    store.add_memberships(&[Membership { group_id: eng.id.clone(), user_id: morgan.id.clone() }]).await.unwrap();
    store.replace_user_apps(&riley.id, &[assignment(&slack, &riley), assignment(&gh, &riley)]).await.unwrap();
    let t0 = now() - Duration::hours(5);
    let mut events = Vec::new();
    for k in 0..8 {
        events.push(membership_event(
            &format!("ev{k}"),
            "group.user_membership.add",
            "alex.approver",
            &riley,
            ("UserGroup", &zoom.id, "zoom-users"),
            t0 + Duration::minutes(k),
            &format!("req{k}"),
        ));
    }
    events.push(events[0].clone()); // a page seen twice
    assert_eq!(store.insert_log_events(&events).await.unwrap(), 8);
    assert_eq!(store.insert_log_events(&events[..3]).await.unwrap(), 0, "already cached events are skipped");

    let d = store.user("RILEY.requester@example.com", 5).await.unwrap().expect("by login, any case");
    assert_eq!(d.user, riley);
    assert_eq!(d.manager.as_ref().map(|m| m.login.as_str()), Some("morgan.manager@example.com"));
    assert_eq!(d.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Engineering", "zoom-users"]);
    assert_eq!(d.apps.iter().map(|(a, _)| a.label.as_str()).collect::<Vec<_>>(), ["GitHub", "Slack"]);
    assert_eq!(d.apps[0].1.scope, "USER");
    assert_eq!(d.events.len(), 5);
    assert_eq!(d.events[0].uuid, "ev7", "newest first");
    assert_eq!(d.events[0].targets[1].display_name, "zoom-users");
    assert_eq!(store.user(&riley.id, 0).await.unwrap().unwrap().user.login, riley.login, "by id");
    assert_eq!(store.user("nobody@example.com", 5).await.unwrap(), None);

    let g = store.group("ENGINEERING", 1).await.unwrap().unwrap();
    assert_eq!((g.group.name.as_str(), g.member_count, g.members.len()), ("Engineering", 2, 1));
    assert_eq!(g.members[0].login, "morgan.manager@example.com", "members by login");
    assert_eq!(store.okta_app("slack").await.unwrap().unwrap().id, slack.id);
    assert_eq!(store.okta_app("GitHub").await.unwrap().unwrap().id, gh.id);

    // Membership changes from the System Log.
    store.remove_memberships(&[Membership { group_id: zoom.id.clone(), user_id: riley.id.clone() }]).await.unwrap();
    assert_eq!(store.user(&riley.login, 0).await.unwrap().unwrap().groups.len(), 1);
    store.remove_app_assignments(&[(slack.id.clone(), riley.id.clone())]).await.unwrap();
    assert_eq!(store.user(&riley.login, 0).await.unwrap().unwrap().apps.len(), 1);

    assert_eq!(store.prune_log_events(t0 + Duration::minutes(4)).await.unwrap(), 4);
    assert_eq!(store.cache_counts().await.unwrap().log_events, 4);
    assert_eq!(store.user(&riley.login, 50).await.unwrap().unwrap().events.len(), 4);
}

async fn watermarks_record_where_sync_stopped(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.watermark(source::OKTA_USERS).await.unwrap(), None);
    let w = Watermark {
        source: source::servicenow("incident"),
        value: "2025-03-10 11:59:58".into(),
        last_id: "abc".into(),
        synced_at: now(),
    };
    store.set_watermark(&w).await.unwrap();
    let logs = Watermark {
        source: source::OKTA_LOGS.into(),
        value: "2025-03-10T11:59:00.000Z".into(),
        last_id: "uuid-1".into(),
        synced_at: now(),
    };
    store.set_watermark(&logs).await.unwrap();
    let moved = Watermark { value: "2025-03-10 12:05:00".into(), synced_at: now() + Duration::minutes(5), ..w };
    store.set_watermark(&moved).await.unwrap();
    assert_eq!(store.watermark("servicenow:incident").await.unwrap(), Some(moved.clone()));
    assert_eq!(store.watermarks().await.unwrap(), vec![logs, moved]);
    store.clear_watermarks().await.unwrap();
    assert!(store.watermarks().await.unwrap().is_empty());
}

async fn dashboard_counts(db: &TestDb) {
    let store = db.open().await;
    // Opened 0..71 hours ago: 12 today (12:00 now), 24 yesterday, 24 the day before, 12 before that.
    let mut tickets: Vec<_> = (0..72).map(|i| ticket(TicketKind::Incident, i)).collect();
    // Six closed, all last updated an hour ago: four resolved today, two resolved yesterday
    // (closed today) — "resolved per day" counts the day of `resolved_at`, not of the last update.
    for (i, t) in tickets.iter_mut().take(6).enumerate() {
        t.close_code = "Solution provided".into();
        t.active = false;
        t.updated_at = now() - Duration::hours(1);
        t.resolved_at = Some(now() - Duration::hours(if i < 4 { 1 } else { 20 }));
    }
    let mut old = ticket(TicketKind::Incident, 1000);
    old.opened_at = now() - Duration::days(40);
    tickets.push(old);
    store.upsert_tickets(&tickets).await.unwrap();
    let days = store.opened_resolved_per_day(3, now()).await.unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[2].day, now().date_naive());
    assert_eq!(days.iter().map(|d| d.opened).collect::<Vec<_>>(), [24, 24, 13]);
    assert_eq!(days.iter().map(|d| d.resolved).collect::<Vec<_>>(), [0, 2, 4]);
    let read = store.ticket(&tickets[5].sys_id).await.unwrap().unwrap().ticket;
    assert_eq!(read.resolved_at, tickets[5].resolved_at, "resolved_at round-trips through the cache");
    let hist = store.age_histogram(now()).await.unwrap();
    let counts: Vec<(&str, u64)> = hist.iter().map(|b| (b.label, b.count)).collect();
    // Active only: 72 - 6 closed = 66 in the last 3 days, plus the 40-day-old one.
    assert_eq!(counts, [("< 1d", 24 - 6), ("1–3d", 48), ("3–7d", 0), ("1–2w", 0), ("2–4w", 0), ("≥ 4w", 1)]);
}

async fn large_batches_are_chunked(db: &TestDb) {
    let store = db.open().await;
    let tickets: Vec<_> = (0..5_000).map(|i| ticket(TicketKind::Incident, i)).collect();
    assert_eq!(store.upsert_tickets(&tickets).await.unwrap(), 5_000);
    let users: Vec<_> = (0..4_500).map(|i| user(&format!("user.{i}"), UserStatus::Active)).collect();
    store.upsert_users(&users).await.unwrap();
    let everyone = group("Everyone");
    store.upsert_groups(std::slice::from_ref(&everyone)).await.unwrap();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    store.replace_group_members(&everyone.id, &ids).await.unwrap();
    let counts = store.cache_counts().await.unwrap();
    assert_eq!((counts.tickets, counts.users, counts.memberships), (5_000, 4_500, 4_500));
    assert_eq!(store.queue_page(&QueueFilter::default(), QueueOrder::Newest, 0, 0).await.unwrap().len(), 5_000);
    assert_eq!(store.retain(CacheTable::Users, &ids[..4_000]).await.unwrap(), 500);
    assert_eq!(store.cache_counts().await.unwrap().memberships, 4_000);
}

backend_tests!(
    tickets_round_trip_exactly_and_update_in_place,
    ticket_detail_has_journal_and_approvals,
    the_queue_filters_orders_and_pages,
    the_migration_writes_queue_lines_as_the_binary_does,
    deletions_are_reflected,
    a_user_with_groups_apps_manager_and_events,
    watermarks_record_where_sync_stopped,
    dashboard_counts,
    large_batches_are_chunked,
);
