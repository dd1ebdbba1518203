//! How fast the Okta emulator serves list pages of the `large` world (50,000 users, 3,000
//! groups, 250,000 memberships), over loopback HTTP as a client sees them, and how long the Okta
//! half of the world takes to build.
//!
//! `cargo bench --bench okta_emulator`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use grantdesk::emulator::okta::Okta;
use grantdesk::emulator::world::people;
use grantdesk::emulator::{self, EmulatorOptions, Scale, WorldSpec};

fn pages(c: &mut Criterion) {
    grantdesk::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut opts = EmulatorOptions::local(Scale::Large, 1);
    // No budget gets in the way of measuring.
    opts.okta_rate_limit = Some(u32::MAX);
    let emu = rt.block_on(emulator::start(opts)).unwrap();
    let http = reqwest::Client::new();
    let base = emu.base_url.clone();
    let mid = emu.shared.okta.user_id("riley.requester@example.com").unwrap();
    let deep: String = rt.block_on(async {
        // A cursor half-way through the user list.
        let r = http
            .get(format!("{base}/api/v1/users?limit=200&search=profile.employeeNumber%20eq%20%22125000%22"))
            .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        v[0]["id"].as_str().unwrap_or(&mid).to_string()
    });
    let everyone = emu.shared.okta.group_id("Everyone").unwrap();
    let paths = [
        ("users: first page of 200", "/api/v1/users?limit=200".to_string()),
        ("users: page of 200 half-way through", format!("/api/v1/users?limit=200&after={deep}")),
        (
            "users: filter status eq SUSPENDED",
            "/api/v1/users?filter=status%20eq%20%22SUSPENDED%22&limit=200".to_string(),
        ),
        ("users: get by login", "/api/v1/users/riley.requester@example.com".to_string()),
        ("groups: page of 200", "/api/v1/groups?limit=200".to_string()),
        (
            "group members: Everyone, 200 half-way through",
            format!("/api/v1/groups/{everyone}/users?limit=200&after={deep}"),
        ),
        ("logs: 100 newest", "/api/v1/logs?limit=100&sortOrder=DESCENDING".to_string()),
    ];
    let mut g = c.benchmark_group("okta emulator, large world");
    g.measurement_time(Duration::from_secs(4));
    for (name, path) in paths {
        let url = format!("{base}{path}");
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let r = http
                    .get(&url)
                    .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap()
            })
        });
    }
    g.finish();
}

fn build(c: &mut Criterion) {
    let spec = WorldSpec::new(Scale::Large, 1);
    let people = people::generate(&spec);
    let mut g = c.benchmark_group("okta world build");
    g.sample_size(10);
    g.bench_function("large (Okta side, people given)", |b| b.iter(|| Okta::build(&spec, &people, None)));
    g.finish();
}

criterion_group!(benches, pages, build);
criterion_main!(benches);
