//! `grantdesk bench-peer` (hidden): grantdesk's side of the side-by-side with the vendors' SDKs
//! (`bench/peers/run.sh`). It lists what the peer scripts list, through grantdesk's own clients,
//! and prints the time spent inside the process (configuration read and clients built before
//! the clock starts, exactly as the peer scripts start theirs after import and set-up) with the
//! record counts, so both sides are timed the same way and their counts can be compared.

use std::process::ExitCode;
use std::time::Instant;

use futures::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::json;

use super::Globals;
use crate::domain::TicketKind;
use crate::okta::{GroupQuery, OktaClient, UserQuery};
use crate::servicenow::{Query, ServiceNowClient};

/// What to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Every Okta user, every group, and the members of every group.
    OktaListing,
    /// Every open incident (`active=true`) with the fields the console reads.
    ServicenowOpenTickets,
}

/// Options of `grantdesk bench-peer`.
#[derive(Debug, clap::Args)]
pub struct BenchPeerArgs {
    /// The listing to time.
    #[arg(value_enum)]
    pub workload: Workload,
    /// Records a page: group members for Okta (users are always 200, Okta's maximum),
    /// `sysparm_limit` for ServiceNow.
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,
    /// Requests in flight at once (1: one page after another).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(args: BenchPeerArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let cfg = globals.load_config()?;
    let concurrency = args.concurrency.max(1);
    let report = match args.workload {
        Workload::OktaListing => {
            let client = OktaClient::new(&cfg.okta()?)?;
            okta_listing(&client, args.page_size.clamp(1, 1000) as u32, concurrency).await?
        }
        Workload::ServicenowOpenTickets => {
            let client = ServiceNowClient::new(&cfg.servicenow()?)?;
            open_tickets(&client, args.page_size.clamp(1, 10_000), concurrency).await?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let counts = report["counts"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
        println!("{:.3} s: {}", report["seconds"].as_f64().unwrap_or(0.0), counts.unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

/// Users (200 a page), groups (Okta's default page) and the members of every group
/// (`member_page` a page, `concurrency` groups at once).
async fn okta_listing(client: &OktaClient, member_page: u32, concurrency: usize) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let users = client.users(&UserQuery::all().limit(200)).try_fold(0usize, |n, _| async move { Ok(n + 1) }).await?;
    let groups: Vec<String> = client.groups(&GroupQuery::all()).map_ok(|g| g.id).try_collect().await?;
    let memberships =
        stream::iter(groups.iter().map(|g| {
            client.group_members_in_pages_of(g, member_page).try_fold(0usize, |n, _| async move { Ok(n + 1) })
        }))
        .buffer_unordered(concurrency)
        .try_fold(0usize, |total, n| async move { Ok(total + n) })
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "workload": "okta-listing",
        "seconds": seconds,
        "counts": { "users": users, "groups": groups.len(), "memberships": memberships },
        "member_page": member_page,
        "concurrency": concurrency,
    }))
}

/// Every open incident: the first page tells the total (`X-Total-Count`); the remaining pages
/// are then fetched by offset, `concurrency` at a time, and mapped into tickets.
async fn open_tickets(client: &ServiceNowClient, page: usize, concurrency: usize) -> anyhow::Result<serde_json::Value> {
    let kind = TicketKind::Incident;
    let query = Query::new().eq("active", true);
    let opts = ServiceNowClient::ticket_list_options(kind, page);
    let started = Instant::now();
    let mut tickets = 0usize;
    let first = client.list_page(kind.table(), &query, &opts, 0, page).await?;
    let total = first.total;
    tickets += map_tickets(kind, &first.records)?;
    let mut requests = 1usize;
    match total {
        Some(total) => {
            let offsets: Vec<usize> = (1..total.div_ceil(page)).map(|k| k * page).collect();
            requests += offsets.len();
            let pages = stream::iter(offsets.into_iter().map(|offset| {
                let (query, opts) = (&query, &opts);
                async move { client.list_page(kind.table(), query, opts, offset, page).await }
            }))
            .buffered(concurrency);
            let mut pages = std::pin::pin!(pages);
            while let Some(p) = pages.try_next().await? {
                tickets += map_tickets(kind, &p.records)?;
            }
        }
        None => {
            // No total: page until an empty page, one after another.
            let mut offset = page;
            loop {
                let p = client.list_page(kind.table(), &query, &opts, offset, page).await?;
                requests += 1;
                if p.records.is_empty() {
                    break;
                }
                tickets += map_tickets(kind, &p.records)?;
                offset += page;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "workload": "servicenow-open-tickets",
        "seconds": seconds,
        "counts": { "tickets": tickets },
        "requests": requests,
        "page_size": page,
        "concurrency": concurrency,
        "fields": crate::servicenow::ticket_fields(kind),
        "display_value": "all",
    }))
}

fn map_tickets(kind: TicketKind, records: &[crate::servicenow::Record]) -> anyhow::Result<usize> {
    let mut n = 0;
    for r in records {
        crate::servicenow::ticket_from_record(kind, r)?;
        n += 1;
    }
    Ok(n)
}
