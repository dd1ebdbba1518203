//! Query parsing: the ServiceNow encoded queries grantdesk sends, encoded by its client and
//! parsed as the emulator does for every list request, and the Okta `search`/`filter` expressions its client sends, parsed as the emulator
//! parses them.
//!
//! `cargo bench --bench query` (compare a change with `-- --save-baseline before` then
//! `-- --baseline before`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use grantdesk::emulator::okta::filter as okta_filter;
use grantdesk::emulator::servicenow::query as sn_query;
use grantdesk::servicenow::{Query, QueryValue};

/// What the console and sync ask ServiceNow, built with the client's own query builder.
fn servicenow_queries() -> Vec<(&'static str, String)> {
    let groups =
        ["287ebd7da9fe198100f92cc8d1d2154e", "8a4dde73c6112278017a6a4baf547aa7", "d625dccec0a8016700a222a0f7900d06"];
    let q = |name, query: Query| (name, query.encode().expect("a valid query"));
    vec![
        q("open_unassigned_in_my_groups", {
            Query::new()
                .eq("active", true)
                .is_empty("assigned_to")
                .one_of("assignment_group", groups)
                .order_by_desc("opened_at")
        }),
        q("sync_since_watermark", Query::new().ge("sys_updated_on", "2025-03-12 15:00:00").order_by("sys_updated_on")),
        q(
            "journal_since",
            Query::new()
                .one_of("element", ["work_notes", "comments"])
                .ge("sys_created_on", "2025-03-12 15:00:00")
                .order_by("sys_created_on"),
        ),
        q(
            "search_or_new_query",
            Query::new()
                .like("short_description", "vpn")
                .or_eq("priority", 1u32)
                .eq("active", true)
                .new_query()
                .starts_with("caller_id.email", "riley")
                .ge("opened_at", QueryValue::days_ago_start(7))
                .order_by("priority")
                .order_by_desc("opened_at"),
        ),
    ]
}

/// What the Okta client sends in `search` and `filter`.
const OKTA_EXPRESSIONS: [(&str, &str); 5] = [
    ("group_by_name", r#"profile.name eq "aws-prod-readonly""#),
    ("users_updated_since", r#"lastUpdated gt "2025-03-12T15:00:00.000Z""#),
    (
        "groups_updated_since",
        r#"lastUpdated gt "2025-03-12T15:00:00.000Z" or lastMembershipUpdated gt "2025-03-12T15:00:00.000Z""#,
    ),
    ("log_grant_proof", r#"eventType eq "group.user_membership.add" and target.id eq "00u1a2b3c4d5e6f7g8h9""#),
    (
        "user_search",
        r#"(profile.department eq "Engineering" or profile.department sw "Fin") and status eq "ACTIVE" and not(profile.email co "contractor")"#,
    ),
];

fn servicenow(c: &mut Criterion) {
    let mut g = c.benchmark_group("servicenow_encoded_query");
    for (name, encoded) in servicenow_queries() {
        g.bench_function(format!("parse/{name}"), |b| b.iter(|| black_box(sn_query::parse(black_box(&encoded)))));
    }
    g.finish();
}

fn okta(c: &mut Criterion) {
    let mut g = c.benchmark_group("okta_expression");
    for (name, expr) in OKTA_EXPRESSIONS {
        assert!(okta_filter::parse(expr).is_ok(), "{name} parses");
        g.bench_function(format!("parse/{name}"), |b| b.iter(|| black_box(okta_filter::parse(black_box(expr)))));
    }
    g.finish();
}

criterion_group!(benches, servicenow, okta);
criterion_main!(benches);
