//! Cache speed on SQLite at the `large` world's size: the writes a full sync makes (pages of
//! tickets and users, group member listings, System Log pages) and the reads the console makes
//! at start (the first page of the queue, the whole queue, one ticket, one user).
//!
//! Targets (issues 4 and 5): a full sync of the large world spends ≤ 10 % of its time in the store;
//! the console's first frame from a warm store of the large world ≤ 100 ms.
//!
//! Run: `cargo bench --bench store`. A store with 100,000 tickets, 50,000 users, 3,000 groups and
//! 250,000 memberships is built once per run in a temporary folder.

use chrono::{DateTime, Duration, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use grantdesk::domain::{
    Group, GroupKind, LogActor, LogEvent, LogTarget, OktaUser, Reference, Ticket, TicketKind, UserStatus,
};
use grantdesk::store::{QueueFilter, QueueOrder, Store};

const TICKETS: usize = 100_000;
const USERS: usize = 50_000;
const GROUPS: usize = 3_000;
const MEMBERSHIPS: usize = 250_000;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-03-10T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn ticket(i: usize) -> Ticket {
    let kind = [TicketKind::Incident, TicketKind::Incident, TicketKind::Incident, TicketKind::RequestedItem][i % 4];
    let opened = t0() - Duration::minutes((i * 37 % 60_480) as i64);
    Ticket {
        sys_id: format!("{:032x}", i),
        number: format!("{}{:07}", if kind == TicketKind::Incident { "INC" } else { "RITM" }, 10_000 + i),
        kind,
        short_description: format!("Cannot access application {} after the password change", i % 300),
        description: "The caller reports that since this morning the application refuses the new password. \
                      Tried twice from the office network."
            .into(),
        state: ["1", "2", "3", "6", "7"][i % 5].into(),
        state_label: ["New", "In Progress", "On Hold", "Resolved", "Closed"][i % 5].into(),
        priority: (i % 5 + 1) as u8,
        active: i % 5 < 3,
        caller: Reference { sys_id: format!("u{}", i % USERS), display: format!("Person Number{}", i % USERS) },
        caller_email: format!("person.number{}@example.com", i % USERS),
        assignment_group: Reference { sys_id: format!("g{}", i % 4), display: "Service Desk".into() },
        assigned_to: if i % 3 == 0 {
            Reference::default()
        } else {
            Reference { sys_id: format!("a{}", i % 40), display: format!("Agent {}", i % 40) }
        },
        category: "access".into(),
        parent: Reference::default(),
        cat_item: String::new(),
        opened_at: opened,
        updated_at: opened + Duration::hours(1),
        updated_by: "dana.desk".into(),
        mod_count: 3,
        sla_due: Some(opened + Duration::hours(24)),
        sla_breached: i % 7 == 0,
        resolved_at: (i % 5 >= 3).then(|| opened + Duration::hours(1)),
        close_code: String::new(),
        close_notes: String::new(),
        approval: "not requested".into(),
    }
}

fn user(i: usize) -> OktaUser {
    OktaUser {
        id: format!("00u{i:017}"),
        login: format!("person.number{i}@example.com"),
        email: format!("person.number{i}@example.com"),
        first_name: "Person".into(),
        last_name: format!("Number{i}"),
        status: if i % 50 == 0 { UserStatus::LockedOut } else { UserStatus::Active },
        department: "Engineering".into(),
        title: "Engineer".into(),
        manager_id: format!("00u{:017}", i / 20),
        user_type: "employee".into(),
        created: t0() - Duration::days(400),
        last_updated: t0() - Duration::days(3),
        status_changed: None,
        last_login: Some(t0() - Duration::hours(5)),
        password_changed: None,
    }
}

fn group(i: usize) -> Group {
    Group {
        id: format!("00g{i:017}"),
        name: format!("group-{i:04}"),
        description: "A group".into(),
        kind: GroupKind::OktaGroup,
        created: t0() - Duration::days(300),
        last_updated: t0() - Duration::days(30),
        last_membership_updated: None,
    }
}

/// The members of group `g`: 250,000 memberships spread over 3,000 groups.
fn members(g: usize) -> Vec<String> {
    let per = MEMBERSHIPS / GROUPS + usize::from(g < MEMBERSHIPS % GROUPS);
    (0..per).map(|k| format!("00u{:017}", (g * 7919 + k * 104_729) % USERS)).collect()
}

fn log_event(i: usize) -> LogEvent {
    LogEvent {
        uuid: format!("{:032x}", i),
        published: t0() - Duration::seconds(i as i64),
        event_type: "group.user_membership.add".into(),
        display_message: "Add user to group membership".into(),
        severity: "INFO".into(),
        actor: LogActor {
            id: "00uadmin".into(),
            kind: "User".into(),
            alternate_id: "it.admin".into(),
            display_name: String::new(),
        },
        targets: vec![
            LogTarget {
                id: format!("00u{:017}", i % USERS),
                kind: "User".into(),
                alternate_id: format!("person.number{}@example.com", i % USERS),
                display_name: String::new(),
            },
            LogTarget {
                id: format!("00g{:017}", i % GROUPS),
                kind: "UserGroup".into(),
                alternate_id: "unknown".into(),
                display_name: format!("group-{:04}", i % GROUPS),
            },
        ],
        outcome: "SUCCESS".into(),
        outcome_reason: String::new(),
        request_id: format!("{i:032x}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn large_world(rt: &tokio::runtime::Runtime, store: &Store) {
    let started = std::time::Instant::now();
    for chunk in (0..TICKETS).collect::<Vec<_>>().chunks(1_000) {
        rt.block_on(store.upsert_tickets(&chunk.iter().map(|&i| ticket(i)).collect::<Vec<_>>())).unwrap();
    }
    for chunk in (0..USERS).collect::<Vec<_>>().chunks(200) {
        rt.block_on(store.upsert_users(&chunk.iter().map(|&i| user(i)).collect::<Vec<_>>())).unwrap();
    }
    rt.block_on(store.upsert_groups(&(0..GROUPS).map(group).collect::<Vec<_>>())).unwrap();
    for g in 0..GROUPS {
        rt.block_on(store.replace_group_members(&group(g).id, &members(g))).unwrap();
    }
    eprintln!(
        "wrote the large world's tickets, users, groups and memberships in {:.1?} (store time of a full sync)",
        started.elapsed()
    );
}

fn cache(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(Store::open(&dir.path().join("large.db").display().to_string())).unwrap();
    large_world(&rt, &store);

    let mut g = c.benchmark_group("store_read_large");
    g.sample_size(20);
    let active = QueueFilter { active: Some(true), ..Default::default() };
    g.bench_function("queue_first_page_200", |b| {
        b.iter(|| {
            let rows = rt.block_on(store.queue_page(&active, QueueOrder::Newest, 0, 200)).unwrap();
            assert_eq!(rows.len(), 200);
        })
    });
    g.bench_function("queue_count_active", |b| b.iter(|| rt.block_on(store.queue_count(&active)).unwrap()));
    g.throughput(Throughput::Elements(TICKETS as u64));
    g.bench_function("queue_all_100k", |b| {
        b.iter(|| {
            let rows = rt.block_on(store.queue_all(&QueueFilter::default(), QueueOrder::Newest)).unwrap();
            assert_eq!(rows.len(), TICKETS);
        })
    });
    g.sample_size(10);
    g.bench_function("queue_page_all_100k_row_by_row", |b| {
        b.iter(|| {
            let rows = rt.block_on(store.queue_page(&QueueFilter::default(), QueueOrder::Newest, 0, 0)).unwrap();
            assert_eq!(rows.len(), TICKETS);
        })
    });
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function("ticket_detail", |b| {
        b.iter(|| {
            k += 7919;
            rt.block_on(store.ticket(&ticket(k % TICKETS).number)).unwrap().unwrap()
        })
    });
    g.bench_function("user_detail", |b| {
        b.iter(|| {
            k += 7919;
            rt.block_on(store.user(&user(k % USERS).login, 20)).unwrap().unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("store_write_large");
    g.sample_size(20);
    let mut next = 0usize;
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("upsert_tickets_page_1000", |b| {
        b.iter_batched(
            || {
                next += 1_000;
                (next..next + 1_000).map(|i| ticket(i % TICKETS)).collect::<Vec<_>>()
            },
            |page| rt.block_on(store.upsert_tickets(&page)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Elements(200));
    g.bench_function("upsert_users_page_200", |b| {
        b.iter_batched(
            || {
                next += 200;
                (next..next + 200).map(|i| user(i % USERS)).collect::<Vec<_>>()
            },
            |page| rt.block_on(store.upsert_users(&page)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Elements((MEMBERSHIPS / GROUPS) as u64));
    g.bench_function("replace_group_members_83", |b| {
        b.iter_batched(
            || {
                next += 1;
                next % GROUPS
            },
            |gi| rt.block_on(store.replace_group_members(&group(gi).id, &members(gi))).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("insert_log_events_page_1000", |b| {
        b.iter_batched(
            || {
                next += 1_000;
                (next..next + 1_000).map(log_event).collect::<Vec<_>>()
            },
            |page| rt.block_on(store.insert_log_events(&page)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, cache);
criterion_main!(benches);
