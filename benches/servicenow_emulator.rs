//! The ServiceNow emulator must never be what a benchmark measures: a list page of the large
//! world (100,000 tickets) is served in a few milliseconds. These figures show it, without HTTP
//! (the dispatcher the HTTP handler calls), and how long the large world takes to build.
//!
//! `cargo bench --bench servicenow_emulator`

use std::hint::black_box;

use chrono::TimeZone;
use criterion::{Criterion, criterion_group, criterion_main};
use grantdesk::emulator::servicenow::ServiceNow;
use grantdesk::emulator::world::{Scale, WorldSpec, people};

const BASE: &str = "http://127.0.0.1:1";

fn spec() -> WorldSpec {
    WorldSpec::new(Scale::Large, 1).with_epoch(chrono::Utc.with_ymd_and_hms(2025, 3, 12, 15, 0, 0).unwrap())
}

fn pages(c: &mut Criterion) {
    let spec = spec();
    let sn = ServiceNow::build(&spec, &people::generate(&spec), None);
    let mut get = |name: &str, path: &str| {
        // Warm the cached sort order once, as a running emulator would have.
        let (status, _, body) = sn.handle_as("dana.desk", "GET", path, b"", BASE);
        assert_eq!(status, 200, "{name}: {body}");
        c.bench_function(name, |b| b.iter(|| black_box(sn.handle_as("dana.desk", "GET", path, b"", BASE))));
    };
    get(
        "list 100 active incidents newest first (value)",
        "table/incident?sysparm_limit=100&sysparm_query=active%3Dtrue%5EORDERBYDESCsys_updated_on",
    );
    get(
        "list 100 active incidents newest first (display_value=all)",
        "table/incident?sysparm_limit=100&sysparm_display_value=all&sysparm_exclude_reference_link=true&sysparm_query=active%3Dtrue%5EORDERBYDESCsys_updated_on",
    );
    get(
        "list 100 by number, page 200 (offset 20000)",
        "table/incident?sysparm_limit=100&sysparm_offset=20000&sysparm_query=ORDERBYnumber",
    );
    get(
        "list 100 updated since a watermark (sync)",
        "table/incident?sysparm_limit=100&sysparm_query=sys_updated_on%3E%3D2025-03-10%2000%3A00%3A00%5EORDERBYsys_updated_on",
    );
    get(
        "LIKE over 70k incidents, 100 rows",
        "table/incident?sysparm_limit=100&sysparm_query=short_descriptionLIKEvpn%5EORDERBYnumber",
    );
    get(
        "dot-walked condition (assignment_group.name)",
        "table/incident?sysparm_limit=100&sysparm_query=assignment_group.name%3DService%20Desk%5Eactive%3Dtrue%5EORDERBYDESCsys_updated_on",
    );
    get("count active incidents (Aggregate API)", "stats/incident?sysparm_count=true&sysparm_query=active%3Dtrue");
    let some = sn.find("incident", "priority", "1").into_iter().next().map(|r| r["sys_id"].clone()).unwrap_or_default();
    get(
        "journal of one ticket (indexed)",
        &format!("table/sys_journal_field?sysparm_query=element_id%3D{some}%5EORDERBYDESCsys_created_on"),
    );
}

fn build(c: &mut Criterion) {
    let spec = spec();
    let people = people::generate(&spec);
    let mut g = c.benchmark_group("world");
    g.sample_size(10);
    g.bench_function("build the large ServiceNow world (50k users, 100k tickets)", |b| {
        b.iter(|| black_box(ServiceNow::build(&spec, &people, None)))
    });
    g.finish();
}

criterion_group!(benches, pages, build);
criterion_main!(benches);
