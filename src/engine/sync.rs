//! Sync: pull what changed in ServiceNow and Okta into the local cache, so the console opens
//! instantly from what it already knows and keeps working when the services are slow or down.
//!
//! Each source keeps a watermark — ServiceNow `sys_updated_on` per table, Okta `lastUpdated`
//! for users and groups, the System Log poll cursor — and an incremental sync asks only for what
//! changed since: right after a sync, the next one makes a handful of requests. Deletions are
//! reflected: a full sync keeps only what it listed; an incremental one compares ServiceNow's
//! count of each table with the cache's and, when they differ, lists the sys_ids (one cheap
//! request per 10,000) to drop the deleted ones. Deactivated Okta users stay, as DEPROVISIONED.
//! Every page is written before the next is fetched and the watermark moves only after its page
//! is stored, so an interrupted sync resumes where it stopped.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use super::{Engine, EngineError};
use crate::domain::{AppAssignment, Ticket, TicketKind};
use crate::okta::{GroupQuery, UserQuery};
use crate::servicenow::{DisplayValue, ListOptions, Query, ServiceNowClient, journal_from_record};
use crate::store::{CacheTable, QueueFilter, Watermark, source};

/// What to sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Ignore watermarks and list everything (also drops what is gone).
    pub full: bool,
    /// Sync ServiceNow.
    pub servicenow: bool,
    /// Sync Okta.
    pub okta: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { full: false, servicenow: true, okta: true }
    }
}

/// Progress of one source, reported as pages arrive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// `servicenow:incident`, `okta:users`…
    pub source: String,
    /// Records fetched so far.
    pub done: u64,
    /// Records expected, when the service says.
    pub total: Option<u64>,
    /// Whether the source is finished.
    pub finished: bool,
}

/// What one source did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceReport {
    /// Source name.
    pub source: String,
    /// Records fetched and stored.
    pub fetched: u64,
    /// Records removed from the cache.
    pub removed: u64,
    /// Requests made.
    pub requests: u64,
    /// Time spent, in seconds.
    pub seconds: f64,
    /// Of that, time spent writing to the store, in seconds.
    pub store_seconds: f64,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    /// Per source.
    pub sources: Vec<SourceReport>,
    /// Requests made in all.
    pub requests: u64,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Time spent writing to the store, in seconds (the rest is the services and the network).
    pub store_seconds: f64,
    /// Whether it was a full sync.
    pub full: bool,
}

/// The ticket tables, in sync order.
const TICKET_KINDS: [TicketKind; 4] =
    [TicketKind::Incident, TicketKind::Request, TicketKind::RequestedItem, TicketKind::CatalogTask];

/// ServiceNow's date-time form (`yyyy-MM-dd HH:mm:ss`, UTC).
fn sn_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn remote(e: impl std::fmt::Display) -> EngineError {
    EngineError::Remote(e.to_string())
}

/// Group members a page: Okta's largest, so re-listing a changed group of thousands is a few
/// requests (an incremental sync after a membership change stays a handful), not dozens.
const MEMBER_PAGE: u32 = 1000;

/// How long the cache keeps System Log events, and how far back a first sync reaches.
pub const LOG_WINDOW: chrono::Duration = chrono::Duration::days(30);

struct Run<'a> {
    engine: &'a Engine,
    full: bool,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    store_us: AtomicU64,
    /// `store_us` when the last source reported: sources run one after another, so the store
    /// time since then is the reporting source's.
    reported_store_us: u64,
    reports: Vec<SourceReport>,
}

impl<'a> Run<'a> {
    /// Times a store write (the figure `store_seconds` reports).
    async fn store<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
    ) -> Result<T, EngineError> {
        let t = Instant::now();
        let r = f.await;
        self.store_us.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(r?)
    }

    async fn watermark(&self, source: &str) -> Result<Option<Watermark>, EngineError> {
        if self.full {
            return Ok(None);
        }
        self.store(self.engine.store().watermark(source)).await
    }

    async fn set_watermark(&self, source: &str, value: String, last_id: String) -> Result<(), EngineError> {
        let w = Watermark { source: source.to_string(), value, last_id, synced_at: Utc::now() };
        self.store(self.engine.store().set_watermark(&w)).await
    }

    fn report(&mut self, source: &str, fetched: u64, removed: u64, requests: u64, started: Instant) {
        (self.progress)(Progress { source: source.to_string(), done: fetched, total: None, finished: true });
        let store_us = self.store_us.load(Ordering::Relaxed);
        let store = Duration::from_micros(store_us - self.reported_store_us.min(store_us));
        self.reported_store_us = store_us;
        self.reports.push(SourceReport {
            source: source.to_string(),
            fetched,
            removed,
            requests,
            seconds: started.elapsed().as_secs_f64(),
            store_seconds: store.as_secs_f64(),
        });
    }

    // ----- ServiceNow ------------------------------------------------------------------------

    /// Every sys_id of a table (for noticing deletions).
    async fn all_sys_ids(sn: &ServiceNowClient, table: &str, requests: &mut u64) -> Result<Vec<String>, EngineError> {
        let opts = ListOptions { page_size: 10_000, ..ListOptions::fields(&["sys_id"], DisplayValue::Value) };
        let q = Query::new().order_by("sys_id");
        let mut pages = std::pin::pin!(sn.pages(table, &q, &opts));
        let mut ids = Vec::new();
        while let Some(page) = pages.try_next().await.map_err(remote)? {
            *requests += 1;
            ids.extend(page.records.iter().map(|r| r.sys_id().to_string()));
        }
        Ok(ids)
    }

    async fn tickets(&mut self, sn: &ServiceNowClient, kind: TicketKind) -> Result<(), EngineError> {
        let started = Instant::now();
        let src = source::servicenow(kind.table());
        let since = self.watermark(&src).await?.and_then(|w| parse_time(&w.value));
        let query = match since {
            Some(t) => Query::new().ge("sys_updated_on", sn_time(t)).order_by("sys_updated_on"),
            None => Query::new().order_by("sys_updated_on"),
        };
        let opts = ServiceNowClient::ticket_list_options(kind, 1000);
        let mut requests = 0u64;
        let mut fetched = 0u64;
        let mut newest = since;
        let mut listed: Vec<String> = Vec::new();
        {
            let mut pages = std::pin::pin!(sn.ticket_pages(kind, &query, &opts));
            while let Some(page) = pages.try_next().await.map_err(remote)? {
                requests += 1;
                fetched += page.len() as u64;
                newest = newest.max(page.iter().map(|t: &Ticket| t.updated_at).max());
                if self.full {
                    listed.extend(page.iter().map(|t| t.sys_id.clone()));
                }
                self.store(self.engine.store().upsert_tickets(&page)).await?;
                (self.progress)(Progress { source: src.clone(), done: fetched, total: None, finished: false });
            }
        }
        let removed = if self.full {
            self.store(self.engine.store().retain(CacheTable::Tickets(kind), &listed)).await?
        } else {
            // Deletions leave no sys_updated_on: compare counts, and list ids only if they differ.
            requests += 1;
            let remote_count = sn.count_tickets(kind, &Query::new()).await.map_err(remote)?;
            let filter = QueueFilter { kinds: vec![kind], ..Default::default() };
            let cached = self.store(self.engine.store().queue_count(&filter)).await?;
            if remote_count != cached {
                let ids = Self::all_sys_ids(sn, kind.table(), &mut requests).await?;
                self.store(self.engine.store().retain(CacheTable::Tickets(kind), &ids)).await?
            } else {
                0
            }
        };
        if let Some(t) = newest {
            self.set_watermark(&src, t.to_rfc3339(), String::new()).await?;
        }
        self.report(&src, fetched, removed, requests, started);
        Ok(())
    }

    async fn approvals(&mut self, sn: &ServiceNowClient) -> Result<(), EngineError> {
        let started = Instant::now();
        let src = source::servicenow("sysapproval_approver");
        let since = self.watermark(&src).await?.and_then(|w| parse_time(&w.value));
        let mut query = Query::new();
        if let Some(t) = since {
            query = query.ge("sys_updated_on", sn_time(t));
        }
        let query = query.order_by("sys_updated_on");
        let mut requests = 0u64;
        let mut fetched = 0u64;
        let mut newest = since;
        let mut listed = Vec::new();
        let opts = ListOptions { page_size: 2000, ..crate::servicenow::approval_list_options() };
        {
            let mut pages = std::pin::pin!(sn.pages("sysapproval_approver", &query, &opts));
            while let Some(page) = pages.try_next().await.map_err(remote)? {
                requests += 1;
                let mut rows = Vec::with_capacity(page.records.len());
                for r in &page.records {
                    let a = crate::servicenow::approval_from_record(r).map_err(remote)?;
                    newest = newest.max(Some(a.updated_on));
                    rows.push(a);
                }
                fetched += rows.len() as u64;
                if self.full {
                    listed.extend(rows.iter().map(|a| a.sys_id.clone()));
                }
                self.store(self.engine.store().upsert_approvals(&rows)).await?;
                (self.progress)(Progress { source: src.clone(), done: fetched, total: None, finished: false });
            }
        }
        let removed =
            if self.full { self.store(self.engine.store().retain(CacheTable::Approvals, &listed)).await? } else { 0 };
        if let Some(t) = newest {
            self.set_watermark(&src, t.to_rfc3339(), String::new()).await?;
        }
        self.report(&src, fetched, removed, requests, started);
        Ok(())
    }

    async fn journal(&mut self, sn: &ServiceNowClient) -> Result<(), EngineError> {
        let started = Instant::now();
        let src = source::servicenow("sys_journal_field");
        let since = self.watermark(&src).await?.and_then(|w| parse_time(&w.value));
        let mut query = Query::new().one_of("element", ["work_notes", "comments"]);
        if let Some(t) = since {
            query = query.ge("sys_created_on", sn_time(t));
        }
        let query = query.order_by("sys_created_on");
        let opts = ListOptions {
            page_size: 5000,
            ..ListOptions::fields(
                &["sys_id", "element", "element_id", "value", "sys_created_on", "sys_created_by"],
                DisplayValue::Value,
            )
        };
        let mut requests = 0u64;
        let mut fetched = 0u64;
        let mut newest = since;
        {
            let mut pages = std::pin::pin!(sn.pages("sys_journal_field", &query, &opts));
            while let Some(page) = pages.try_next().await.map_err(remote)? {
                requests += 1;
                let rows: Vec<_> = page.records.iter().filter_map(journal_from_record).collect();
                newest = newest.max(rows.iter().map(|j| j.created_on).max());
                fetched += rows.len() as u64;
                self.store(self.engine.store().upsert_journal(&rows)).await?;
                (self.progress)(Progress { source: src.clone(), done: fetched, total: None, finished: false });
            }
        }
        if let Some(t) = newest {
            self.set_watermark(&src, t.to_rfc3339(), String::new()).await?;
        }
        self.report(&src, fetched, 0, requests, started);
        Ok(())
    }

    // ----- Okta ------------------------------------------------------------------------------

    async fn users(&mut self) -> Result<(), EngineError> {
        let started = Instant::now();
        let okta = self.engine.okta()?;
        let src = source::OKTA_USERS;
        let since = self.watermark(src).await?.and_then(|w| parse_time(&w.value));
        // A filter (unlike the plain list) includes DEPROVISIONED users, so deactivations show.
        let query = UserQuery::updated_since(since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)).limit(200);
        let mut stream = okta.users(&query).chunks(200);
        let (mut fetched, mut requests) = (0u64, 0u64);
        let mut newest = since;
        let mut listed = Vec::new();
        while let Some(chunk) = stream.next().await {
            requests += 1;
            let users: Vec<_> = chunk.into_iter().collect::<Result<_, _>>().map_err(remote)?;
            newest = newest.max(users.iter().map(|u| u.last_updated).max());
            fetched += users.len() as u64;
            if self.full {
                listed.extend(users.iter().map(|u| u.id.clone()));
            }
            self.store(self.engine.store().upsert_users(&users)).await?;
            (self.progress)(Progress { source: src.into(), done: fetched, total: None, finished: false });
        }
        let removed =
            if self.full { self.store(self.engine.store().retain(CacheTable::Users, &listed)).await? } else { 0 };
        if let Some(t) = newest {
            self.set_watermark(src, t.to_rfc3339(), String::new()).await?;
        }
        self.report(src, fetched, removed, requests.max(1), started);
        Ok(())
    }

    async fn groups_and_members(&mut self) -> Result<(), EngineError> {
        let started = Instant::now();
        let okta = self.engine.okta()?.clone();
        let src = source::OKTA_GROUPS;
        let since = self.watermark(src).await?.and_then(|w| parse_time(&w.value));
        let query = match since {
            Some(t) => GroupQuery::updated_since(t),
            None => GroupQuery::all(),
        }
        .limit(1000);
        let groups: Vec<_> = okta.groups(&query).try_collect().await.map_err(remote)?;
        let mut requests = (groups.len() as u64 / 1000) + 1;
        let newest = since
            .max(groups.iter().map(|g| g.last_updated.max(g.last_membership_updated.unwrap_or(g.last_updated))).max());
        self.store(self.engine.store().upsert_groups(&groups)).await?;
        let removed = if self.full {
            let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
            self.store(self.engine.store().retain(CacheTable::Groups, &ids)).await?
        } else {
            0
        };
        // Members of every group that changed (all of them on a full sync), a few at a time:
        // the client's governor keeps the pace within Okta's rate limits.
        let total = groups.len() as u64;
        let mut done = 0u64;
        let mut members = futures::stream::iter(groups.iter().map(|g| {
            let okta = okta.clone();
            let id = g.id.clone();
            async move {
                let m: Vec<String> =
                    okta.group_members_in_pages_of(&id, MEMBER_PAGE).map_ok(|u| u.id).try_collect().await?;
                Ok::<_, crate::okta::OktaError>((id, m))
            }
        }))
        .buffer_unordered(8);
        let mut memberships = 0u64;
        while let Some(r) = members.next().await {
            let (gid, ids) = r.map_err(remote)?;
            requests += 1 + ids.len() as u64 / u64::from(MEMBER_PAGE);
            memberships += ids.len() as u64;
            self.store(self.engine.store().replace_group_members(&gid, &ids)).await?;
            done += 1;
            (self.progress)(Progress {
                source: source::OKTA_MEMBERSHIPS.into(),
                done,
                total: Some(total),
                finished: false,
            });
        }
        if let Some(t) = newest {
            self.set_watermark(src, t.to_rfc3339(), String::new()).await?;
            self.set_watermark(source::OKTA_MEMBERSHIPS, t.to_rfc3339(), String::new()).await?;
        }
        self.report(src, groups.len() as u64, removed, requests, started);
        self.reports.push(SourceReport {
            source: source::OKTA_MEMBERSHIPS.into(),
            fetched: memberships,
            removed: 0,
            requests: 0,
            seconds: 0.0,
            store_seconds: 0.0,
        });
        Ok(())
    }

    async fn apps(&mut self, changed_apps: &BTreeSet<String>) -> Result<(), EngineError> {
        let started = Instant::now();
        let okta = self.engine.okta()?.clone();
        let src = source::OKTA_APPS;
        let apps: Vec<_> = okta.apps().try_collect().await.map_err(remote)?;
        let mut requests = 1u64;
        self.store(self.engine.store().upsert_apps(&apps)).await?;
        let ids: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
        let removed = self.store(self.engine.store().retain(CacheTable::Apps, &ids)).await?;
        // Assignments: every app on a full sync (or the first), otherwise the apps the System Log
        // says changed.
        let first = self.store(self.engine.store().watermark(source::OKTA_APP_ASSIGNMENTS)).await?.is_none();
        let which: Vec<String> = if self.full || first {
            ids.clone()
        } else {
            ids.iter().filter(|id| changed_apps.contains(*id)).cloned().collect()
        };
        let mut assignments = 0u64;
        for app_id in &which {
            let users: Vec<AppAssignment> = okta.app_users(app_id).try_collect().await.map_err(remote)?;
            requests += 1 + users.len() as u64 / 500;
            assignments += users.len() as u64;
            self.store(self.engine.store().replace_app_users(app_id, &users)).await?;
        }
        self.set_watermark(source::OKTA_APP_ASSIGNMENTS, Utc::now().to_rfc3339(), String::new()).await?;
        self.report(src, apps.len() as u64 + assignments, removed, requests, started);
        Ok(())
    }

    /// Polls the System Log from the stored cursor; returns the apps whose assignments changed.
    async fn logs(&mut self) -> Result<BTreeSet<String>, EngineError> {
        let started = Instant::now();
        let okta = self.engine.okta()?;
        let src = source::OKTA_LOGS;
        let mut poller = match self.watermark(src).await? {
            Some(w) if !w.last_id.is_empty() => okta.log_poller_at(&w.last_id),
            _ => okta.log_poller(Utc::now() - LOG_WINDOW, None),
        };
        let (mut fetched, mut requests) = (0u64, 0u64);
        let mut newest: Option<DateTime<Utc>> = None;
        let mut changed_apps = BTreeSet::new();
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let events = poller.poll().await.map_err(remote)?;
            requests += 1;
            // An open-ended ascending query always has a next link; a page with nothing new is
            // the end of what has been logged so far.
            let fresh: Vec<_> = events.into_iter().filter(|e| seen.insert(e.uuid.clone())).collect();
            if fresh.is_empty() {
                break;
            }
            for e in &fresh {
                if e.event_type.starts_with("application.user_membership.") {
                    changed_apps.extend(e.targets.iter().filter(|t| t.kind == "AppInstance").map(|t| t.id.clone()));
                }
            }
            newest = newest.max(fresh.iter().map(|e| e.published).max());
            fetched += fresh.len() as u64;
            self.store(self.engine.store().insert_log_events(&fresh)).await?;
            self.set_watermark(src, newest.map(|t| t.to_rfc3339()).unwrap_or_default(), poller.cursor().to_string())
                .await?;
            (self.progress)(Progress { source: src.into(), done: fetched, total: None, finished: false });
        }
        self.set_watermark(
            src,
            newest.map(|t| t.to_rfc3339()).unwrap_or_else(|| Utc::now().to_rfc3339()),
            poller.cursor().to_string(),
        )
        .await?;
        self.store(self.engine.store().prune_log_events(Utc::now() - LOG_WINDOW)).await?;
        self.report(src, fetched, 0, requests, started);
        Ok(changed_apps)
    }
}

impl Engine {
    /// Pulls what changed (or everything, with `full`) into the cache, reporting progress.
    pub async fn sync(
        &self,
        opts: SyncOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<SyncReport, EngineError> {
        let started = Instant::now();
        let mut run = Run {
            engine: self,
            full: opts.full,
            progress,
            store_us: AtomicU64::new(0),
            reported_store_us: 0,
            reports: Vec::new(),
        };
        if opts.servicenow {
            let sn = self.servicenow()?.clone();
            for kind in TICKET_KINDS {
                run.tickets(&sn, kind).await?;
            }
            run.approvals(&sn).await?;
            run.journal(&sn).await?;
        }
        if opts.okta && self.okta().is_ok() {
            let changed_apps = run.logs().await?;
            run.users().await?;
            run.groups_and_members().await?;
            run.apps(&changed_apps).await?;
        }
        Ok(SyncReport {
            requests: run.reports.iter().map(|r| r.requests).sum(),
            sources: run.reports,
            seconds: started.elapsed().as_secs_f64(),
            store_seconds: Duration::from_micros(run.store_us.load(Ordering::Relaxed)).as_secs_f64(),
            full: opts.full,
        })
    }
}
