//! The console's real [`EffectHandler`]: every effect answered from the engine — the local store
//! (cache, outbox, audit log) first, ServiceNow and Okta second.
//!
//! - Queues, the dashboard and the audit view come from the store alone: they are as fresh as the
//!   last sync, and the console says how old that is.
//! - A ticket, an Okta user or group is answered twice: at once from the cache, then live from
//!   the service, and the live copy is written back to the cache so the next look is fresh.
//! - Commands go through the engine's outbox (intent audited before anything is sent); the
//!   answer `CommandQueued` follows as soon as the command is durable, and the outcome when the
//!   engine's worker ([`Engine::work`], run beside the console by its caller) reports it.
//!
//! Nothing here blocks the console: each effect runs on its own task (see [`crate::tui::run`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use tokio::sync::broadcast;

use std::collections::HashMap;

use crate::domain::catalog::Target;
use crate::domain::request::{AccessRequest, RequestStatus, Verdict};
use crate::domain::{App, Group, TicketKind};
use crate::engine::access::NewRequest;
use crate::engine::sync::{SyncOptions, SyncReport};
use crate::engine::{self, Engine, EngineEvent, Finished};
use crate::store::{self, AssignedTo, AuditQuery, QueueFilter, QueueOrder, RequestFilter, StoreError, source};
use crate::tui::action::Action;
use crate::tui::effect::{
    AccessData, AccessList, AuditFilter, AuditRow, AuditVerify, BulkOutcome, CatalogChoice, Command, CommandId,
    Dashboard, DataSource, DayCount, Effect, EffectHandler, GroupDetail, OrphanRow, PreviewInfo, QueueRow, Reply,
    RequestDraft, RequestRow, SavedView, TicketDetail, UserDetail,
};
use crate::tui::state::SortKey;

/// System Log events shown beside an Okta user.
const USER_EVENTS: u32 = 20;
/// Days in the dashboard's opened/resolved chart.
const DASHBOARD_DAYS: u32 = 28;
/// Members of a group loaded from the cache (the console virtualises the list).
const GROUP_MEMBERS: u32 = 100_000;
/// A group with more cached members than this is not re-listed from Okta when opened: paging
/// through a huge group would spend the rate-limit budget the sync needs. The sync keeps it.
const LIVE_MEMBER_LIMIT: u64 = 2_000;
/// How long a command's task waits between looks at the outbox when it missed the engine's
/// event (a lagging subscription).
const OUTCOME_POLL: Duration = Duration::from_millis(500);

/// How `grantdesk demo` lets the console take another persona's seat (`:as LOGIN`): every
/// persona of the emulator signs in to ServiceNow with the demo password.
#[derive(Clone)]
pub struct DemoSeats {
    /// The emulator's ServiceNow URL.
    pub url: url::Url,
    /// The password every persona signs in with.
    pub password: crate::config::Secret,
}

impl DemoSeats {
    /// `base` operated by `login` (a ServiceNow user name or email), signed in as them.
    async fn engine_for(&self, base: &Engine, login: &str) -> Result<Engine, String> {
        let user = login.trim().split('@').next().unwrap_or_default().to_string();
        if user.is_empty() {
            return Err("usage: :as LOGIN (dana.desk, morgan.manager, alex.approver…)".into());
        }
        let sn = crate::servicenow::ServiceNowClient::new(&crate::config::ServiceNowConfig {
            url: self.url.clone(),
            auth: crate::config::ServiceNowAuth::Basic { user: user.clone(), password: self.password.clone() },
            ca_bundle: None,
            timeout: Duration::from_secs(30),
        })
        .map_err(|e| e.to_string())?;
        let me = sn.current_user().await.map_err(|e| format!("cannot sign in to the emulator as {user}: {e}"))?;
        let operator = engine::Operator { user_name: me.user_name, sys_id: me.sys_id, login: me.email, name: me.name };
        Ok(base.as_operator(sn, operator))
    }
}

/// The effect handler over an [`Engine`].
pub struct EngineHandler {
    /// The engine of whoever sits at the console now (`:as` changes it in the demo).
    seat: std::sync::RwLock<Engine>,
    /// Tells the outbox worker whose seat it works for.
    seat_tx: tokio::sync::watch::Sender<Engine>,
    /// Present in `grantdesk demo` only.
    seats: Option<DemoSeats>,
    /// Makes idempotency keys unique to this console session.
    session: String,
    /// The operator's ServiceNow assignment groups (sys_ids), asked once per operator.
    my_groups: tokio::sync::Mutex<Option<(String, Vec<String>)>>,
    /// The audit chain was verified once this session (the first audit view does it).
    verified: AtomicBool,
}

impl EngineHandler {
    /// A handler over `engine`.
    pub fn new(engine: Engine) -> EngineHandler {
        let (seat_tx, _) = tokio::sync::watch::channel(engine.clone());
        EngineHandler {
            seat: std::sync::RwLock::new(engine),
            seat_tx,
            seats: None,
            session: uuid::Uuid::new_v4().simple().to_string(),
            my_groups: tokio::sync::Mutex::new(None),
            verified: AtomicBool::new(false),
        }
    }

    /// Lets `:as LOGIN` take another persona's seat (`grantdesk demo` only).
    pub fn with_demo_seats(mut self, seats: DemoSeats) -> EngineHandler {
        self.seats = Some(seats);
        self
    }

    /// The engine of whoever sits at the console now.
    pub fn engine(&self) -> Engine {
        self.seat.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The engine the outbox worker should work for, now and after every `:as`.
    pub fn seat_changes(&self) -> tokio::sync::watch::Receiver<Engine> {
        self.seat_tx.subscribe()
    }

    fn store(&self) -> store::Store {
        self.engine().store().clone()
    }

    // ---- queue

    /// The store's filter for a saved view (the meanings of [`SavedView::matches`]).
    async fn filter_of(&self, view: SavedView) -> Result<QueueFilter, String> {
        let engine = self.engine();
        let me = engine.operator();
        let active = QueueFilter { active: Some(true), ..QueueFilter::default() };
        Ok(match view {
            SavedView::MyOpen => QueueFilter { assigned_to: AssignedTo::Person(me.sys_id.clone()), ..active },
            SavedView::UnassignedInMyGroups => QueueFilter {
                assigned_to: AssignedTo::Nobody,
                assignment_groups: self.my_groups(&engine).await?,
                ..active
            },
            SavedView::AccessRequests => {
                QueueFilter { kinds: vec![TicketKind::Request, TicketKind::RequestedItem], ..active }
            }
            SavedView::BreachedSla => QueueFilter { sla_breached: Some(true), ..active },
            SavedView::AllOpen => active,
        })
    }

    /// The operator's assignment groups: asked of ServiceNow once; when it cannot answer, the
    /// groups of the tickets assigned to the operator in the cache stand in.
    async fn my_groups(&self, engine: &Engine) -> Result<Vec<String>, String> {
        let me = engine.operator();
        // Held while asking: the queue's preview and its whole load want the groups at the same
        // moment, and the second waits for the first's answer instead of asking ServiceNow again.
        let mut known = self.my_groups.lock().await;
        if let Some((who, groups)) = known.as_ref()
            && *who == me.sys_id
        {
            return Ok(groups.clone());
        }
        let live = match engine.servicenow() {
            Ok(sn) => sn.groups_of(&me.sys_id).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let groups = match live {
            Ok(groups) => groups.into_iter().map(|g| g.sys_id).collect(),
            Err(why) => {
                tracing::warn!("the operator's assignment groups from ServiceNow: {why}; using the cache");
                let mine = QueueFilter { assigned_to: AssignedTo::Person(me.sys_id.clone()), ..QueueFilter::default() };
                let rows = engine.store().queue_all(&mine, QueueOrder::Newest).await.map_err(|e| e.to_string())?;
                let mut groups: Vec<String> =
                    rows.into_iter().map(|r| r.group_sys_id).filter(|g| !g.is_empty()).collect();
                groups.sort();
                groups.dedup();
                groups
            }
        };
        *known = Some((me.sys_id.clone(), groups.clone()));
        Ok(groups)
    }

    async fn load_queue(&self, view: SavedView, reply: &Reply) {
        let answer = async {
            let filter = self.filter_of(view).await?;
            let rows = self.store().queue_all(&filter, QueueOrder::Newest).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(rows.into_iter().map(queue_row).collect::<Vec<_>>())
        };
        let action = match answer.await {
            Ok(rows) => Action::QueueLoaded { view, rows, source: self.cached_as_of(&tickets_source()).await },
            Err(error) => Action::QueueLoadFailed { view, error },
        };
        reply.send(action).await;
    }

    /// The top of a view in the console's sort, when the database can order by it (the preview
    /// is only worth having when it is quick: by an index, a screenful, no sorting of the rest).
    async fn preview_queue(&self, view: SavedView, sort: SortKey, descending: bool, limit: usize, reply: &Reply) {
        let order = match (sort, descending) {
            (SortKey::Priority, false) => QueueOrder::Priority,
            (SortKey::Age, false) => QueueOrder::Oldest,
            (SortKey::Age, true) => QueueOrder::Newest,
            (SortKey::Number, false) => QueueOrder::Number,
            _ => return,
        };
        let answer = async {
            let filter = self.filter_of(view).await?;
            let store = self.store();
            let (rows, total) =
                tokio::try_join!(store.queue_page(&filter, order, 0, limit as u64), store.queue_count(&filter))
                    .map_err(|e| e.to_string())?;
            Ok::<_, String>((rows, total))
        };
        // A failed preview says nothing: the whole view's load, asked beside it, reports.
        if let Ok((rows, total)) = answer.await {
            let rows = rows.into_iter().map(queue_row).collect();
            reply.send(Action::QueuePreview { view, rows, total: usize::try_from(total).unwrap_or(usize::MAX) }).await;
        }
    }

    /// When the cache last synced `sources` (the oldest of them); now when it never did, since
    /// then there is nothing stale to warn about.
    async fn cached_as_of(&self, sources: &[String]) -> DataSource {
        let marks = self.store().watermarks().await.unwrap_or_default();
        let as_of =
            marks.iter().filter(|w| sources.contains(&w.source)).map(|w| w.synced_at).min().unwrap_or_else(Utc::now);
        DataSource::Cache { as_of }
    }

    // ---- ticket

    async fn load_ticket(&self, number: &str, sys_id: Option<&str>, reply: &Reply) {
        let key = sys_id.unwrap_or(number);
        let cached = self.store().ticket(key).await.ok().flatten();
        if let Some(d) = &cached {
            let source = self.cached_as_of(&[source::servicenow(d.ticket.kind.table())]).await;
            if !reply.send(Action::TicketLoaded { detail: Box::new(ticket_detail(d.clone())), source }).await {
                return;
            }
        }
        match self.live_ticket(number, sys_id.or(cached.as_ref().map(|d| d.ticket.sys_id.as_str()))).await {
            Ok(detail) => {
                reply.send(Action::TicketLoaded { detail: Box::new(detail), source: DataSource::Live }).await;
            }
            Err(error) => {
                let error = if cached.is_some() { format!("{error} (showing the cached copy)") } else { error };
                reply.send(Action::TicketLoadFailed { number: number.to_string(), error }).await;
            }
        }
    }

    /// The ticket from ServiceNow with its journal and approvals, written back to the cache.
    async fn live_ticket(&self, number: &str, sys_id: Option<&str>) -> Result<TicketDetail, String> {
        let engine = self.engine();
        let sn = engine.servicenow().map_err(|e| e.to_string())?;
        let kind = TicketKind::from_number(number);
        let ticket = match (kind, sys_id) {
            (Some(kind), Some(id)) => sn.ticket(kind, id).await,
            _ => sn.ticket_by_number(number).await,
        }
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{number} does not exist in ServiceNow (or you may not read it)"))?;
        let (journal, approvals) = tokio::try_join!(sn.journal(&ticket.sys_id), sn.approvals_for(&ticket.sys_id))
            .map_err(|e| e.to_string())?;
        let store = self.store();
        let cached = async {
            store.upsert_tickets(std::slice::from_ref(&ticket)).await?;
            store.upsert_journal(&journal).await?;
            store.upsert_approvals(&approvals).await?;
            Ok::<_, StoreError>(())
        };
        if let Err(e) = cached.await {
            tracing::warn!("caching {number}: {e}");
        }
        Ok(TicketDetail { ticket, journal, approvals })
    }

    // ---- Okta user

    async fn load_user(&self, login: &str, reply: &Reply) {
        let cached = self.store().user(login, USER_EVENTS).await.ok().flatten();
        if let Some(d) = cached.clone() {
            let source = self.cached_as_of(&[source::OKTA_USERS.to_string()]).await;
            let detail = user_detail(d);
            if !reply.send(Action::UserLoaded { login: login.to_string(), detail: Box::new(detail), source }).await {
                return;
            }
        }
        match self.live_user(login, cached.as_ref()).await {
            Ok(detail) => {
                let action =
                    Action::UserLoaded { login: login.to_string(), detail: Box::new(detail), source: DataSource::Live };
                reply.send(action).await;
            }
            Err(error) => {
                let error = if cached.is_some() { format!("{error} (showing the cached copy)") } else { error };
                reply.send(Action::UserLoadFailed { login: login.to_string(), error }).await;
            }
        }
    }

    /// The user from Okta with groups, apps and recent events, written back to the cache.
    async fn live_user(&self, login: &str, cached: Option<&store::UserDetail>) -> Result<UserDetail, String> {
        let engine = self.engine();
        let okta = engine.okta().map_err(|e| e.to_string())?;
        let user = okta.user(login).await.map_err(|e| e.to_string())?;
        let (groups, links, events) = tokio::try_join!(
            okta.user_groups(&user.id),
            okta.user_app_links(&user.id),
            okta.recent_events_about(&user.id, USER_EVENTS as usize),
        )
        .map_err(|e| e.to_string())?;
        let store = self.store();
        // Apps: the links name them; the cache (or Okta, for one it has not seen) has the rest.
        let mut apps = Vec::new();
        for id in links.iter().filter_map(|l| l.app_instance_id.as_deref()) {
            let known = cached.and_then(|c| c.apps.iter().find(|(a, _)| a.id == id).map(|(a, _)| a.clone()));
            let app = match known {
                Some(a) => Some(a),
                None => match store.okta_app(id).await.ok().flatten() {
                    Some(a) => Some(a),
                    None => match okta.app(id).await {
                        Ok(a) => {
                            let _ = store.upsert_apps(std::slice::from_ref(&a)).await;
                            Some(a)
                        }
                        Err(e) => {
                            tracing::warn!("reading Okta app {id}: {e}");
                            None
                        }
                    },
                },
            };
            apps.extend(app);
        }
        apps.sort_by_key(|a: &App| a.label.to_lowercase());
        let manager = if user.manager_id.is_empty() {
            None
        } else {
            match store.okta_user(&user.manager_id).await.ok().flatten() {
                Some(m) => Some(m.display_name()),
                None => okta.user(&user.manager_id).await.ok().map(|m| m.display_name()),
            }
        };
        let write = async {
            store.upsert_users(std::slice::from_ref(&user)).await?;
            store.upsert_groups(&groups).await?;
            let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
            store.replace_user_groups(&user.id, &ids).await?;
            store.insert_log_events(&events).await?;
            Ok::<_, StoreError>(())
        };
        if let Err(e) = write.await {
            tracing::warn!("caching Okta user {login}: {e}");
        }
        let mut groups = groups;
        groups.sort_by_key(|g: &Group| g.name.to_lowercase());
        Ok(UserDetail { user, manager, groups, apps, events })
    }

    // ---- Okta group

    async fn load_group(&self, name: &str, reply: &Reply) {
        let cached = self.store().group(name, GROUP_MEMBERS).await.ok().flatten();
        if let Some(d) = &cached {
            let source = self.cached_as_of(&[source::OKTA_GROUPS.to_string()]).await;
            let detail = GroupDetail { group: d.group.clone(), members: d.members.clone(), apps: Vec::new() };
            if !reply.send(Action::GroupLoaded { name: name.to_string(), detail: Box::new(detail), source }).await {
                return;
            }
        }
        match self.live_group(name, cached.as_ref()).await {
            Ok(detail) => {
                let action =
                    Action::GroupLoaded { name: name.to_string(), detail: Box::new(detail), source: DataSource::Live };
                reply.send(action).await;
            }
            Err(error) => {
                let error = if cached.is_some() { format!("{error} (showing the cached copy)") } else { error };
                reply.send(Action::GroupLoadFailed { name: name.to_string(), error }).await;
            }
        }
    }

    /// The group from Okta with its apps and (unless huge) its members, written back to the cache.
    async fn live_group(&self, name: &str, cached: Option<&store::GroupDetail>) -> Result<GroupDetail, String> {
        let engine = self.engine();
        let okta = engine.okta().map_err(|e| e.to_string())?;
        let group = match cached {
            Some(c) => okta.group(&c.group.id).await.map_err(|e| e.to_string())?,
            None => {
                let expr = format!("profile.name eq \"{}\"", name.trim().replace('\\', "\\\\").replace('"', "\\\""));
                let found: Vec<Group> = okta
                    .groups(&crate::okta::GroupQuery::search(expr))
                    .try_collect()
                    .await
                    .map_err(|e| e.to_string())?;
                found
                    .into_iter()
                    .find(|g| g.name.eq_ignore_ascii_case(name.trim()))
                    .ok_or_else(|| format!("Okta has no group named {name}; check the spelling"))?
            }
        };
        let apps: Vec<App> = okta.group_apps(&group.id).try_collect().await.map_err(|e| e.to_string())?;
        let store = self.store();
        let huge = cached.is_some_and(|c| c.member_count > LIVE_MEMBER_LIMIT);
        let members = if huge {
            cached.map(|c| c.members.clone()).unwrap_or_default()
        } else {
            let members: Vec<crate::domain::OktaUser> =
                okta.group_members(&group.id).try_collect().await.map_err(|e| e.to_string())?;
            let write = async {
                store.upsert_users(&members).await?;
                let ids: Vec<String> = members.iter().map(|u| u.id.clone()).collect();
                store.replace_group_members(&group.id, &ids).await?;
                Ok::<_, StoreError>(())
            };
            if let Err(e) = write.await {
                tracing::warn!("caching the members of {name}: {e}");
            }
            members
        };
        if let Err(e) = async {
            store.upsert_groups(std::slice::from_ref(&group)).await?;
            store.upsert_apps(&apps).await
        }
        .await
        {
            tracing::warn!("caching group {name}: {e}");
        }
        let mut members = members;
        members.sort_by_key(|u| u.login.to_lowercase());
        Ok(GroupDetail { group, members, apps })
    }

    // ---- audit, dashboard

    async fn load_audit(&self, filter: AuditFilter, reply: &Reply) {
        let query = AuditQuery {
            text: Some(filter.text.clone()).filter(|t| !t.trim().is_empty()),
            limit: u32::try_from(filter.limit).unwrap_or(u32::MAX),
            ..AuditQuery::default()
        };
        match self.store().audit_records(&query).await {
            Ok(records) => {
                let rows = records.into_iter().map(audit_row).collect();
                if !reply.send(Action::AuditLoaded { filter, rows, verify: None }).await {
                    return;
                }
                // The first look at the log this session also checks its chain.
                if !self.verified.swap(true, Ordering::SeqCst) {
                    self.verify_audit(reply).await;
                }
            }
            Err(e) => {
                reply.send(Action::AuditLoadFailed { error: e.to_string() }).await;
            }
        }
    }

    async fn verify_audit(&self, reply: &Reply) {
        let verify = match self.store().verify_audit(None).await {
            Ok(v) => match v.result {
                Ok(events) => AuditVerify::Intact { events },
                Err(b) => AuditVerify::Broken { seq: b.seq, problem: format!("{}: {}", b.kind, b.explanation) },
            },
            Err(e) => AuditVerify::Broken { seq: 0, problem: format!("could not read the log: {e}") },
        };
        reply.send(Action::AuditVerified(verify)).await;
    }

    async fn load_dashboard(&self, reply: &Reply) {
        let now = Utc::now();
        let store = self.store();
        let figures = async {
            let active = QueueFilter { active: Some(true), ..QueueFilter::default() };
            let unassigned = QueueFilter { assigned_to: AssignedTo::Nobody, ..active.clone() };
            let breached = QueueFilter { sla_breached: Some(true), ..active.clone() };
            let (open, unassigned, breached, ages, days) = tokio::try_join!(
                store.queue_count(&active),
                store.queue_count(&unassigned),
                store.queue_count(&breached),
                store.age_histogram(now),
                store.opened_resolved_per_day(DASHBOARD_DAYS, now),
            )?;
            Ok::<_, StoreError>(Dashboard {
                open,
                unassigned,
                breached,
                age_histogram: ages.into_iter().map(|b| (b.label.to_string(), b.count)).collect(),
                per_day: days
                    .into_iter()
                    .map(|d| DayCount { day: d.day, opened: d.opened, resolved: d.resolved })
                    .collect(),
            })
        };
        match figures.await {
            Ok(d) => {
                reply.send(Action::DashboardLoaded(Box::new(d))).await;
            }
            // The dashboard is a glance, not a task: its failure is logged, not shouted.
            Err(e) => tracing::warn!("dashboard: {e}"),
        }
    }

    // ---- sync

    /// An incremental sync (the engine's): ServiceNow first, so the queue shows new tickets as
    /// soon as they are cached, then Okta; reported in a few words.
    async fn sync(&self, reply: &Reply) {
        let before = self.store().ticket_fingerprint().await.ok();
        let servicenow = SyncOptions { servicenow: true, okta: false, full: false };
        let mut sources = Vec::new();
        let mut seconds = 0.0;
        match self.sync_part(servicenow).await {
            Ok(report) => {
                seconds += report.seconds;
                sources.extend(report.sources);
            }
            Err(error) => {
                reply.send(Action::SyncFailed { error }).await;
                return;
            }
        }
        // An incremental sync re-reads the records at its watermark, so "fetched" is not
        // "changed": the cache itself says whether the queue is worth reloading.
        let after = self.store().ticket_fingerprint().await.ok();
        if !reply.send(Action::TicketsSynced { changed: before.is_none() || before != after }).await {
            return;
        }
        if self.engine().okta().is_ok() {
            match self.sync_part(SyncOptions { servicenow: false, okta: true, full: false }).await {
                Ok(report) => {
                    seconds += report.seconds;
                    sources.extend(report.sources);
                }
                Err(error) => {
                    reply.send(Action::SyncFailed { error: format!("Okta: {error}") }).await;
                    return;
                }
            }
        }
        let report = SyncReport { sources, requests: 0, seconds, store_seconds: 0.0, full: false };
        reply.send(Action::SyncFinished { summary: sync_summary(&report), queue_changed: false }).await;
    }

    async fn sync_part(&self, options: SyncOptions) -> Result<SyncReport, String> {
        let engine = self.engine();
        // `Engine::sync`'s future is not `Send` as rustc sees it (a higher-ranked lifetime in a
        // closure it holds across an await), so it cannot run on a spawned task; it runs on a
        // blocking thread driving it on this runtime instead, which never blocks the console.
        let runtime = tokio::runtime::Handle::current();
        let result =
            tokio::task::spawn_blocking(move || runtime.block_on(async move { engine.sync(options, &|_| {}).await }))
                .await;
        match result {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("the sync stopped unexpectedly: {e}")),
        }
    }

    // ---- commands

    async fn run_command(&self, id: CommandId, command: Command, reply: &Reply) {
        let engine = self.engine();
        if let Some(result) = run_access(&engine, &command).await {
            let action = match result {
                Ok(message) => Action::CommandSucceeded { id, message },
                Err(error) => Action::CommandFailed { id, error },
            };
            reply.send(action).await;
            return;
        }
        let Some(engine_command) = engine_command(&command) else {
            let error = format!("cannot {}: the engine has no such command", command.describe());
            reply.send(Action::CommandFailed { id, error }).await;
            return;
        };
        // Subscribed before submitting, so the outcome cannot slip past between the two.
        let mut events = engine.subscribe();
        let key = format!("console:{}:{}", self.session, id.0);
        let queued = match engine.submit(&engine_command, Some(key)).await {
            Ok(c) => c,
            Err(e) => {
                reply.send(Action::CommandFailed { id, error: e.to_string() }).await;
                return;
            }
        };
        if !reply.send(Action::CommandQueued { id }).await {
            return;
        }
        let finished = match self.outcome(queued.id, &mut events).await {
            Ok(f) => f,
            Err(e) => {
                let error = format!("{e}; the action stays in the outbox and is applied when the store answers again");
                reply.send(Action::CommandFailed { id, error }).await;
                return;
            }
        };
        match finished.result {
            Ok(summary) => {
                self.refresh_after(&command).await;
                reply.send(Action::CommandSucceeded { id, message: summary }).await;
            }
            Err(error) => {
                reply.send(Action::CommandFailed { id, error }).await;
            }
        }
    }

    /// Waits for the engine to finish outbox command `outbox_id`.
    async fn outcome(
        &self,
        outbox_id: i64,
        events: &mut broadcast::Receiver<EngineEvent>,
    ) -> Result<Finished, StoreError> {
        loop {
            match tokio::time::timeout(OUTCOME_POLL, events.recv()).await {
                Ok(Ok(EngineEvent::CommandFinished(f))) if f.id == outbox_id => return Ok(f),
                Ok(Ok(_)) => continue,
                // Missed events (lagging) or no news for a while: ask the outbox itself.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) => {}
            }
            if let Some(c) = self.store().command(outbox_id).await? {
                match c.status {
                    store::CommandStatus::Done => {
                        return Ok(Finished {
                            id: c.id,
                            key: c.idempotency_key,
                            description: c.kind,
                            result: Ok("done".into()),
                        });
                    }
                    store::CommandStatus::Failed => {
                        return Ok(Finished {
                            id: c.id,
                            key: c.idempotency_key,
                            description: c.kind,
                            result: Err(c.last_error),
                        });
                    }
                    _ => {}
                }
            }
        }
    }

    /// After a change: the ticket or user as it is now, into the cache, so the console's reload
    /// (from the cache) shows the change.
    async fn refresh_after(&self, command: &Command) {
        if let Some(t) = command.ticket()
            && let Err(e) = self.live_ticket(&t.number, Some(&t.sys_id)).await
        {
            tracing::warn!("re-reading {} after a change: {e}", t.number);
        }
        let engine = self.engine();
        if let Some(u) = command.user()
            && let Ok(okta) = engine.okta()
        {
            match okta.user(&u.id).await {
                Ok(user) => {
                    let _ = self.store().upsert_users(std::slice::from_ref(&user)).await;
                }
                Err(e) => tracing::warn!("re-reading {} after a change: {e}", u.login),
            }
        }
    }
}

impl EngineHandler {
    /// `:as LOGIN`: the demo's persona `login` takes the seat (the outbox worker follows).
    async fn switch(&self, login: &str) -> Action {
        let Some(seats) = &self.seats else {
            let me = self.engine().operator().user_name.clone();
            return Action::OperatorSwitchFailed(format!(
                ":as works in `grantdesk demo` only; this console is signed in to ServiceNow as {me} \
                 (start another with GRANTDESK_SERVICENOW_USER to act as someone else)"
            ));
        };
        match seats.engine_for(&self.engine(), login).await {
            Ok(engine) => {
                let user_name = engine.operator().user_name.clone();
                *self.seat.write().unwrap_or_else(|e| e.into_inner()) = engine.clone();
                self.seat_tx.send_replace(engine);
                tracing::info!("demo: the console now acts as {user_name}");
                Action::OperatorSwitched { user_name }
            }
            Err(e) => Action::OperatorSwitchFailed(e),
        }
    }
}

/// Decisions applied at once in a bulk run, as `grantdesk approve` does by default; the clients
/// pace the requests within the services' rate limits.
pub const BULK_CONCURRENCY: usize = 4;

/// The access commands, which the engine runs itself (raise, extend) or checks first (decide);
/// `None` for the others.
async fn run_access(engine: &Engine, command: &Command) -> Option<Result<String, String>> {
    let waiting = |r: &crate::domain::request::AccessRequest| {
        if r.runs_own_sequence() {
            format!("waiting on {}", r.current_approvers().join(", "))
        } else {
            "raised in Okta Identity Governance".to_string()
        }
    };
    Some(match command {
        Command::Decide { id, verdict, comment } => match decide_now(engine, id, *verdict, comment, None).await {
            BulkOutcome::Done(m) => Ok(m),
            BulkOutcome::Refused(e) | BulkOutcome::Failed(e) => Err(e),
        },
        Command::RaiseRequest(d) => match engine.raise_request(&new_request(d)).await {
            Ok(r) => Ok(format!("raised {} ({} for {}); {}", r.id, r.entry, r.requested_for, waiting(&r))),
            Err(e) => Err(e.to_string()),
        },
        Command::Extend { id, .. } => match engine.extend_request(id, "", None).await {
            Ok(r) => Ok(format!("raised {} to extend {id}; {}", r.id, waiting(&r))),
            Err(e) => Err(e.to_string()),
        },
        _ => return None,
    })
}

fn new_request(d: &RequestDraft) -> NewRequest {
    NewRequest {
        entry: d.entry.clone(),
        requested_for: Some(d.requested_for.clone()),
        ticket: d.ticket.clone(),
        justification: d.justification.clone(),
        duration: d.duration,
    }
}

/// Decides `id` now (policy check, outbox, apply) and settles what the decision queued
/// (fulfilment, the ServiceNow record), like `grantdesk approve`.
async fn decide_now(engine: &Engine, id: &str, verdict: Verdict, comment: &str, batch: Option<String>) -> BulkOutcome {
    match engine.decide(id, verdict, comment, batch).await {
        Ok(f) => match f.result {
            Ok(m) => {
                if let Err(e) = engine.settle(id).await {
                    tracing::warn!("settling {id} after the decision: {e}");
                }
                // The worker may have applied it first (its summary then reads "done"): say where
                // the request stands now instead.
                let now = engine.store().access_request(id).await.ok().flatten().map(|s| s.request);
                BulkOutcome::Done(now.map(|r| standing(&r)).unwrap_or(m))
            }
            // The apply step refuses with "cannot decide ID: why" (someone decided first, SoD).
            Err(e) if e.starts_with("cannot decide ") => BulkOutcome::Refused(e),
            Err(e) => BulkOutcome::Failed(e),
        },
        Err(engine::EngineError::Refused(m)) => BulkOutcome::Refused(m),
        Err(e) => BulkOutcome::Failed(e.to_string()),
    }
}

/// Where a request stands after a decision, in a few words.
fn standing(r: &AccessRequest) -> String {
    let id = &r.id;
    match r.status {
        RequestStatus::Pending => {
            format!("{id}: decision recorded; now waiting on {}", r.current_approvers().join(", "))
        }
        RequestStatus::Granted => format!("{id} approved; {} now has {}", r.requested_for, r.target),
        other => format!("{id} {other}"),
    }
}

/// Decides `ids`, [`BULK_CONCURRENCY`] at a time, answering each as it ends.
async fn bulk_decide(engine: &Engine, batch: u64, ids: Vec<String>, verdict: Verdict, comment: &str, reply: &Reply) {
    use futures::StreamExt as _;
    let tag = (ids.len() > 1).then(|| format!("batch-{}", uuid::Uuid::new_v4().simple()));
    let mut done = futures::stream::iter(ids)
        .map(|id| {
            let tag = tag.clone();
            async move {
                let outcome = decide_now(engine, &id, verdict, comment, tag).await;
                (id, outcome)
            }
        })
        .buffer_unordered(BULK_CONCURRENCY);
    while let Some((id, outcome)) = done.next().await {
        if !reply.send(Action::BulkItemDone { batch, id, outcome }).await {
            return;
        }
    }
    drop(done);
    if let Err(e) = engine.prove_grants().await {
        tracing::warn!("proving the grants of a bulk run: {e}");
    }
}

/// What approving `r` would grant: the group's apps (from Okta, once per group), or the app.
async fn blast_radius(engine: &Engine, cache: &mut HashMap<String, Vec<String>>, r: &AccessRequest) -> Vec<String> {
    let key = r.target.to_string();
    if let Some(v) = cache.get(&key) {
        return v.clone();
    }
    let v = match (&r.target, engine.okta()) {
        (Target::Group(g), Ok(okta)) => match engine::directory::group_by_name(okta, g).await {
            Ok(Some(group)) => {
                let apps: Vec<App> = okta.group_apps(&group.id).try_collect().await.unwrap_or_default();
                apps.into_iter().map(|a| a.label).collect()
            }
            _ => Vec::new(),
        },
        (Target::App(a), _) => vec![a.clone()],
        _ => Vec::new(),
    };
    cache.insert(key, v.clone());
    v
}

async fn with_radius(engine: &Engine, list: Vec<AccessRequest>) -> Vec<RequestRow> {
    let mut cache = HashMap::new();
    let mut rows = Vec::with_capacity(list.len());
    for request in list {
        let grants = blast_radius(engine, &mut cache, &request).await;
        rows.push(RequestRow { request, grants });
    }
    rows
}

/// An access list from the engine and its store.
async fn load_access(engine: &Engine, list: AccessList) -> Result<AccessData, String> {
    Ok(match list {
        AccessList::Inbox => {
            let rows = with_radius(engine, engine.my_inbox().await.map_err(|e| e.to_string())?).await;
            AccessData::Inbox { operator: engine.operator().user_name.clone(), rows }
        }
        AccessList::Expiring => {
            let filter = RequestFilter { statuses: vec![RequestStatus::Granted], ..Default::default() };
            let mut granted: Vec<AccessRequest> = engine
                .store()
                .access_requests(&filter)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|r| r.expires_at.is_some())
                .collect();
            granted.sort_by_key(|r| r.expires_at);
            AccessData::Expiring(with_radius(engine, granted).await)
        }
        AccessList::Orphans => {
            if engine.store().watermark(source::OKTA_MEMBERSHIPS).await.map_err(|e| e.to_string())?.is_none() {
                return Err("no Okta memberships in the store yet: ctrl-r syncs, then R reloads".into());
            }
            let found = crate::cli::access::find_orphans(engine).await.map_err(|e| e.to_string())?;
            AccessData::Orphans(
                found
                    .into_iter()
                    .map(|o| OrphanRow {
                        user: o.user,
                        entry: o.entry,
                        group: o.group,
                        since: o.since,
                        added_by: o.added_by,
                    })
                    .collect(),
            )
        }
        AccessList::Catalog => AccessData::Catalog(
            engine
                .catalog()
                .entries
                .iter()
                .map(|e| CatalogChoice {
                    name: e.name.clone(),
                    target: e.target.to_string(),
                    description: e.description.clone(),
                    max_duration: e.max_duration,
                    justification_required: e.justification_required,
                })
                .collect(),
        ),
    })
}

/// What raising `draft` would do.
async fn preview(engine: &Engine, draft: RequestDraft) -> Result<PreviewInfo, String> {
    let (p, _) = engine.preview_request(&new_request(&draft)).await.map_err(|e| e.to_string())?;
    let steps = p.entry.approval.iter().zip(p.approvers).map(|(step, who)| (step.approvers.to_string(), who)).collect();
    Ok(PreviewInfo { draft, grants: p.grants, steps })
}

impl EffectHandler for EngineHandler {
    async fn handle(&self, effect: Effect, reply: Reply) {
        match effect {
            Effect::LoadQueue { view } => self.load_queue(view, &reply).await,
            Effect::PreviewQueue { view, sort, descending, rows } => {
                self.preview_queue(view, sort, descending, rows, &reply).await;
            }
            Effect::LoadTicket { number, sys_id } => self.load_ticket(&number, sys_id.as_deref(), &reply).await,
            Effect::LoadUser { login } => self.load_user(&login, &reply).await,
            Effect::LoadGroup { name } => self.load_group(&name, &reply).await,
            Effect::LoadAudit { filter } => self.load_audit(filter, &reply).await,
            Effect::VerifyAudit => {
                self.verified.store(true, Ordering::SeqCst);
                self.verify_audit(&reply).await;
            }
            Effect::LoadDashboard => self.load_dashboard(&reply).await,
            Effect::Sync => self.sync(&reply).await,
            Effect::RunCommand { id, command } => self.run_command(id, command, &reply).await,
            Effect::LoadAccess(list) => {
                let action = match load_access(&self.engine(), list).await {
                    Ok(data) => Action::AccessLoaded(data),
                    Err(error) => Action::AccessLoadFailed { list, error },
                };
                reply.send(action).await;
            }
            Effect::PreviewRequest(draft) => {
                let action = match preview(&self.engine(), draft).await {
                    Ok(p) => Action::PreviewLoaded(Box::new(p)),
                    Err(e) => Action::PreviewFailed(e),
                };
                reply.send(action).await;
            }
            Effect::BulkDecide { batch, ids, verdict, comment } => {
                bulk_decide(&self.engine(), batch, ids, verdict, &comment, &reply).await
            }
            Effect::SwitchOperator { login } => {
                let action = self.switch(&login).await;
                reply.send(action).await;
            }
        }
    }
}

/// A sync report in a few words: what was fetched (`fetched 12 tickets, 3 Okta users in 0.4 s`).
pub fn sync_summary(report: &SyncReport) -> String {
    let tickets = tickets_source();
    let mut fetched_tickets = 0u64;
    let mut parts: Vec<String> = Vec::new();
    for s in &report.sources {
        if tickets.contains(&s.source) {
            fetched_tickets += s.fetched;
            continue;
        }
        if s.fetched == 0 {
            continue;
        }
        let what = match s.source.as_str() {
            "servicenow:sysapproval_approver" => "approvals",
            "servicenow:sys_journal_field" => "journal entries",
            source::OKTA_USERS => "Okta users",
            source::OKTA_GROUPS => "Okta groups",
            source::OKTA_MEMBERSHIPS => "memberships",
            source::OKTA_APPS => "Okta apps",
            source::OKTA_LOGS => "System Log events",
            other => other,
        };
        parts.push(format!("{} {what}", s.fetched));
    }
    if fetched_tickets > 0 {
        parts.insert(0, format!("{fetched_tickets} tickets"));
    }
    let removed: u64 = report.sources.iter().map(|s| s.removed).sum();
    if removed > 0 {
        parts.push(format!("{removed} removed"));
    }
    let what = if parts.is_empty() { "nothing".to_string() } else { parts.join(", ") };
    format!("fetched {what} in {:.1} s", report.seconds)
}

/// Every ServiceNow table the queue is made of.
fn tickets_source() -> Vec<String> {
    [TicketKind::Incident, TicketKind::Request, TicketKind::RequestedItem, TicketKind::CatalogTask]
        .iter()
        .map(|k| source::servicenow(k.table()))
        .collect()
}

/// A store row as the console's queue row. `assigned_to_user` carries the assignee's sys_id:
/// the store knows people by sys_id, and the console only compares it.
/// A queue line of the store as the console shows it.
pub fn queue_row(r: store::QueueRow) -> QueueRow {
    QueueRow {
        sys_id: r.sys_id,
        number: r.number,
        kind: r.kind,
        priority: r.priority,
        state: r.state_label,
        active: r.active,
        opened_at: r.opened_at,
        sla_due: r.sla_due,
        sla_breached: r.sla_breached,
        caller: r.caller,
        caller_login: r.caller_email,
        assignment_group: r.group,
        assigned_to: r.assigned_to,
        assigned_to_user: r.assigned_sys_id,
        short_description: r.short_description,
        mod_count: r.mod_count,
    }
}

fn ticket_detail(d: store::TicketDetail) -> TicketDetail {
    TicketDetail { ticket: d.ticket, journal: d.journal, approvals: d.approvals }
}

fn user_detail(d: store::UserDetail) -> UserDetail {
    UserDetail {
        manager: d.manager.map(|m| m.display_name()),
        groups: d.groups,
        apps: d.apps.into_iter().map(|(a, _)| a).collect(),
        events: d.events,
        user: d.user,
    }
}

fn audit_row(r: crate::domain::audit::AuditRecord) -> AuditRow {
    AuditRow {
        seq: r.seq,
        at: r.time().unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        operator: r.operator,
        action: r.action,
        subject: r.subject,
        object: r.object,
        ticket: r.ticket,
        outcome: r.outcome,
        details: r.details,
    }
}

/// The console's command as the engine's (serialisable, written to the outbox); `None` for the
/// access commands, which the engine runs through its own entry points.
pub fn engine_command(c: &Command) -> Option<engine::Command> {
    let t = |t: &crate::tui::effect::TicketRef| engine::TicketRef {
        sys_id: t.sys_id.clone(),
        number: t.number.clone(),
        kind: t.kind,
        mod_count: t.mod_count,
    };
    let u = |u: &crate::tui::effect::UserRef| engine::UserRef { id: u.id.clone(), login: u.login.clone() };
    Some(match c {
        Command::AssignToMe { ticket } => engine::Command::AssignToMe { ticket: t(ticket) },
        Command::ChangeState { ticket, state } => {
            engine::Command::ChangeState { ticket: t(ticket), state: state.value.clone(), label: state.label.clone() }
        }
        Command::AddJournal { ticket, kind, text } => {
            engine::Command::AddJournal { ticket: t(ticket), journal: *kind, text: text.clone() }
        }
        Command::Resolve { ticket, close_code, close_notes } => engine::Command::Resolve {
            ticket: t(ticket),
            close_code: close_code.clone(),
            close_notes: close_notes.clone(),
        },
        Command::UnlockUser { user } => engine::Command::UnlockUser { user: u(user) },
        Command::ResetPassword { user } => engine::Command::ResetPassword { user: u(user) },
        Command::SuspendUser { user } => engine::Command::SuspendUser { user: u(user) },
        Command::UnsuspendUser { user } => engine::Command::UnsuspendUser { user: u(user) },
        Command::Decide { .. } | Command::RaiseRequest(_) | Command::Extend { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JournalKind;
    use crate::tui::effect::{StateChoice, TicketRef, UserRef};

    #[test]
    fn console_commands_keep_everything_the_engine_checks() {
        let ticket =
            TicketRef { sys_id: "abc".into(), number: "INC0010001".into(), kind: TicketKind::Incident, mod_count: 7 };
        let note = Command::AddJournal { ticket: ticket.clone(), kind: JournalKind::WorkNote, text: "a\nb".into() };
        let e = engine_command(&note).unwrap();
        assert_eq!(e.kind(), "add_journal");
        assert_eq!(e.ticket().map(|t| (t.sys_id.as_str(), t.mod_count)), Some(("abc", 7)));
        assert_eq!(e.describe(), note.describe());
        let state =
            Command::ChangeState { ticket, state: StateChoice { value: "2".into(), label: "In Progress".into() } };
        assert!(matches!(engine_command(&state).unwrap(), engine::Command::ChangeState { state, label, .. }
            if state == "2" && label == "In Progress"));
        let unlock = Command::UnlockUser { user: UserRef { id: "00u1".into(), login: "riley@example.com".into() } };
        let e = engine_command(&unlock).unwrap();
        assert_eq!(e.user().map(|u| u.id.as_str()), Some("00u1"));
        assert_eq!(e.describe(), unlock.describe());
    }
}
