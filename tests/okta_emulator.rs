//! The Okta emulator over raw HTTP: the headers, links and error bodies Okta's own SDKs depend on.

use grantdesk::emulator::{self, EmulatorOptions, RunningEmulator, Scale};
use reqwest::StatusCode;
use serde_json::Value;

async fn start() -> RunningEmulator {
    grantdesk::install_crypto_provider();
    emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.unwrap()
}

fn http() -> reqwest::Client {
    grantdesk::install_crypto_provider();
    reqwest::Client::new()
}

async fn get(emu: &RunningEmulator, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", emu.base_url))
        .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
}

fn links(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("link")
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap()
                .split(", <")
                .map(|l| if l.starts_with('<') { l.to_string() } else { format!("<{l}") })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_okta_headers(r: &reqwest::Response) {
    let h = r.headers();
    for k in ["x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset", "date"] {
        assert!(h.contains_key(k), "{k} missing on {}", r.url());
    }
    let rid = h["x-okta-request-id"].to_str().unwrap();
    assert!(rid.len() == 32 && rid.chars().all(|c| c.is_ascii_hexdigit()), "{rid}");
    assert!(!h.contains_key("retry-after"), "Okta sends no Retry-After");
}

async fn error_code(r: reqwest::Response) -> (StatusCode, String, Value) {
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    for k in ["errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"] {
        assert!(v.get(k).is_some(), "{k} missing in {v}");
    }
    assert_eq!(v["errorCode"], v["errorLink"]);
    (status, v["errorCode"].as_str().unwrap().to_string(), v)
}

#[tokio::test]
async fn lists_carry_self_with_the_effective_limit_and_an_absolute_next() {
    let emu = start().await;
    let r = get(&emu, "/api/v1/users?limit=5000").await;
    assert_okta_headers(&r);
    let l = links(&r);
    assert_eq!(l[0], format!("<{}/api/v1/users?limit=200>; rel=\"self\"", emu.base_url));
    assert!(
        l[1].starts_with(&format!("<{}/api/v1/users?after=000u", emu.base_url)) && l[1].ends_with("rel=\"next\""),
        "{l:?}"
    );
    let body: Vec<Value> = r.json().await.unwrap();
    assert_eq!(body.len(), 200);
    assert_eq!(body[0]["_links"].as_object().unwrap().len(), 1, "collections carry only _links.self");
    assert!(body[0]["id"].as_str().unwrap().len() == 20 && body[0]["id"].as_str().unwrap().starts_with("00u"));
    assert!(body[0]["created"].as_str().unwrap().ends_with(".000Z"));
    assert!(body.iter().all(|u| u.get("activated").is_some()), "top-level nulls are present, as recorded");

    let single = get(&emu, "/api/v1/users/riley.requester@example.com").await;
    let riley: Value = single.json().await.unwrap();
    assert!(riley["_links"]["unlock"]["method"] == "POST", "a locked-out user offers unlock");
    assert!(riley["_links"].get("suspend").is_none());

    let groups = get(&emu, "/api/v1/groups").await;
    assert!(links(&groups)[0].contains("limit=10000"));
    let apps = get(&emu, "/api/v1/apps?limit=2").await;
    assert_eq!(links(&apps).len(), 2);
}

#[tokio::test]
async fn search_sorts_by_any_attribute_across_pages() {
    let emu = start().await;
    let mut names = Vec::new();
    let mut path =
        "/api/v1/users?search=profile.department%20eq%20%22Finance%22&sortBy=profile.lastName&sortOrder=desc&limit=7"
            .to_string();
    loop {
        let r = get(&emu, &path).await;
        let next = links(&r).into_iter().find(|l| l.ends_with("rel=\"next\""));
        let body: Vec<Value> = r.json().await.unwrap();
        names.extend(body.iter().map(|u| u["profile"]["lastName"].as_str().unwrap().to_string()));
        match next {
            Some(l) => {
                path =
                    l.trim_start_matches('<').split('>').next().unwrap().trim_start_matches(&emu.base_url).to_string()
            }
            None => break,
        }
    }
    assert!(names.len() > 7);
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "descending by last name: {names:?}");
}

#[tokio::test]
async fn okta_error_codes() {
    let emu = start().await;
    let (s, c, _) = error_code(get(&emu, "/api/v1/users/nobody").await).await;
    assert_eq!((s, c.as_str()), (StatusCode::NOT_FOUND, "E0000007"));
    let (s, c, v) = error_code(get(&emu, "/api/v1/users?after=bogus").await).await;
    assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, "E0000029"));
    assert_eq!(v["errorCauses"][0]["errorSummary"], "Invalid cursor.");
    let (s, c, _) = error_code(get(&emu, "/api/v1/users?search=status%20xx%20%22A%22").await).await;
    assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, "E0000031"));
    let (_, c, _) = error_code(get(&emu, "/api/v1/users?filter=profile.title%20eq%20%22x%22").await).await;
    assert_eq!(c, "E0000031", "filter supports only a few attributes");
    let unauth = http().get(format!("{}/api/v1/users", emu.base_url)).send().await.unwrap();
    assert_okta_headers(&unauth);
    let (s, c, _) = error_code(unauth).await;
    assert_eq!((s, c.as_str()), (StatusCode::UNAUTHORIZED, "E0000011"));

    let client = http();
    let post = |p: String| {
        client
            .post(format!("{}{p}", emu.base_url))
            .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
            .send()
    };
    let dana = emu.shared.okta.user_id("dana.desk@example.com").unwrap();
    let (s, c, v) = error_code(post(format!("/api/v1/users/{dana}/lifecycle/unlock")).await.unwrap()).await;
    assert_eq!((s, c.as_str()), (StatusCode::FORBIDDEN, "E0000032"));
    assert_eq!(v["errorSummary"], "Unlock is not allowed for this user.");
    let (s, c, _) = error_code(post(format!("/api/v1/users/{dana}/lifecycle/unsuspend")).await.unwrap()).await;
    assert_eq!((s, c.as_str()), (StatusCode::FORBIDDEN, "E0000038"));
    let (s, c, _) = error_code(post(format!("/api/v1/users/{dana}/lifecycle/reset_password")).await.unwrap()).await;
    assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, "E0000028"), "sendEmail is required");
    let ok = post(format!("/api/v1/users/{dana}/lifecycle/reset_password?sendEmail=false")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let v: Value = ok.json().await.unwrap();
    assert!(v["resetPasswordUrl"].as_str().unwrap().starts_with(&emu.base_url));
}

#[tokio::test]
async fn rate_limited_answers_look_like_okta() {
    let emu = start().await;
    emu.shared.okta.inject_rate_limit(1);
    let r = get(&emu, "/api/v1/users?limit=1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_okta_headers(&r);
    assert_eq!(r.headers()["x-rate-limit-remaining"], "0");
    let date = chrono::DateTime::parse_from_rfc2822(r.headers()["date"].to_str().unwrap()).unwrap().timestamp();
    let reset: i64 = r.headers()["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
    assert!((0..=2).contains(&(reset - date)), "reset about one second ahead of Date");
    let (_, c, v) = error_code(r).await;
    assert_eq!(c, "E0000047");
    assert_eq!(v["errorSummary"], "API call exceeded rate limit due to too many requests.");
    assert_eq!(emu.shared.okta.stats().rate_limited, 1);

    emu.shared.okta.set_rate_limit(Some(3));
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = get(&emu, "/api/v1/groups?limit=1").await;
        statuses.push((r.status().as_u16(), r.headers()["x-rate-limit-limit"].to_str().unwrap().to_string()));
    }
    // A budget of 3 per minute may straddle a minute boundary; at least the fourth is refused
    // unless the window turned over between them.
    assert!(statuses.iter().all(|(_, l)| l == "3"), "{statuses:?}");
    assert!(statuses.iter().filter(|(s, _)| *s == 200).count() >= 3);
}

#[tokio::test]
async fn system_log_polling_always_has_a_next_link() {
    let emu = start().await;
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let r = get(&emu, &format!("/api/v1/logs?since={}&sortOrder=ASCENDING", future.replace('+', "%2B"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let l = links(&r);
    assert!(l.iter().any(|x| x.ends_with("rel=\"next\"")), "polling: next even when empty: {l:?}");
    let body: Vec<Value> = r.json().await.unwrap();
    assert!(body.is_empty());
    let now = chrono::Utc::now();
    let bounded = get(
        &emu,
        &format!(
            "/api/v1/logs?since={}&until={}",
            (now - chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ"),
            now.format("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    .await;
    assert!(!links(&bounded).iter().any(|x| x.ends_with("rel=\"next\"")), "bounded queries end");
    let (s, c, _) = error_code(get(&emu, "/api/v1/logs?filter=eventType%20eq").await).await;
    assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, "E0000053"));
    let e: Vec<Value> = get(&emu, "/api/v1/logs?limit=1&sortOrder=DESCENDING").await.json().await.unwrap();
    assert_eq!(e[0]["debugContext"]["debugData"]["requestId"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn governance_lists_use_the_data_envelope_and_link_headers() {
    let emu = start().await;
    let r = get(&emu, "/governance/api/v2/requests?limit=2").await;
    assert_okta_headers(&r);
    let l = links(&r);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["_links"]["next"]["href"].as_str().map(|h| format!("<{h}>; rel=\"next\"")), l.get(1).cloned());
    let (s, c, _) = error_code(get(&emu, "/governance/api/v2/requests?limit=0").await).await;
    assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, "E0000029"));
    let (s, c, _) = error_code(get(&emu, "/governance/api/v2/requests?after=").await).await;
    assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, "E0000029"));
}

#[tokio::test]
async fn two_emulators_of_one_seed_and_epoch_serve_identical_pages() {
    grantdesk::install_crypto_provider();
    let epoch = chrono::DateTime::parse_from_rfc3339("2025-06-02T09:00:00Z").unwrap().to_utc();
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let mut opts = EmulatorOptions::local(Scale::Demo, 42);
        opts.spec = opts.spec.with_epoch(epoch);
        let emu = emulator::start(opts).await.unwrap();
        let mut text = String::new();
        for path in
            ["/api/v1/users?limit=200", "/api/v1/groups", "/api/v1/apps", "/governance/api/v2/requests?limit=200"]
        {
            let body = get(&emu, path).await.text().await.unwrap();
            text.push_str(&body.replace(&emu.base_url, "BASE"));
        }
        bodies.push(text);
    }
    assert!(bodies[0].len() > 100_000);
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test]
async fn lists_show_a_lifecycle_change_at_once() {
    let emu = start().await;
    let login = "riley.requester@example.com";
    let id = emu.shared.okta.user_id(login).unwrap();
    let riley_in = |body: &[Value]| body.iter().find(|u| u["id"] == id.as_str()).cloned().unwrap();
    let admins = emu.shared.okta.group_id("dept-engineering").unwrap();
    let members = format!("/api/v1/groups/{admins}/users?limit=1000");
    let listed: Vec<Value> = get(&emu, &members).await.json().await.unwrap();
    assert_eq!(riley_in(&listed)["status"], "LOCKED_OUT");
    let r = http()
        .post(format!("{}/api/v1/users/{id}/lifecycle/unlock", emu.base_url))
        .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let again: Vec<Value> = get(&emu, &members).await.json().await.unwrap();
    let riley = riley_in(&again);
    assert_eq!(riley["status"], "ACTIVE", "the member list shows the unlock");
    let single: Value = get(&emu, &format!("/api/v1/users/{id}")).await.json().await.unwrap();
    assert_eq!(riley["lastUpdated"], single["lastUpdated"]);
    assert_eq!(riley["statusChanged"], single["statusChanged"]);
}
