//! The emulator over HTTP as other clients see it: headers, authentication, OAuth grants, rate
//! limiting, and the parameter spellings PySNC and pysnow send. Plain reqwest on purpose — this
//! checks the wire, not grantdesk's client.

use grantdesk::emulator::servicenow::{DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET};
use grantdesk::emulator::{self, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use serde_json::Value;

async fn start_with(rate_limit: Option<u32>) -> RunningEmulator {
    let mut opts = EmulatorOptions::local(Scale::Demo, 1);
    opts.servicenow_rate_limit = rate_limit;
    emulator::start(opts).await.expect("emulator starts")
}

fn http() -> reqwest::Client {
    grantdesk::install_crypto_provider();
    reqwest::Client::new()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn the_first_page_of_active_incidents() {
    let emu = start_with(None).await;
    let url = format!(
        "{}/api/now/table/incident?sysparm_limit=5&sysparm_query=active=true^ORDERBYDESCsys_updated_on",
        emu.base_url
    );
    let r = http().get(url).basic_auth("dana.desk", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type").unwrap(), "application/json;charset=UTF-8");
    let total: usize = header(&r, "x-total-count").unwrap().parse().unwrap();
    let link = header(&r, "link").unwrap();
    let next = link.split(',').find(|l| l.ends_with(r#"rel="next""#)).expect("a next link");
    assert!(next.starts_with(&format!("<{}/api/now/table/incident?", emu.base_url)), "{next}");
    assert!(
        next.contains("sysparm_offset=5") && next.contains("sysparm_query=active%3Dtrue%5EORDERBYDESCsys_updated_on")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"].as_array().unwrap().len(), 5);
    let active = emu.shared.servicenow.find("incident", "active", "true").len();
    assert_eq!(total, active);

    // Following `next` gives the following five.
    let next_url = next.trim_start_matches('<').split('>').next().unwrap();
    let r = http().get(next_url).basic_auth("dana.desk", Some(DEMO_PASSWORD)).send().await.unwrap();
    let page2: Value = r.json().await.unwrap();
    let first: Vec<&str> = body["result"].as_array().unwrap().iter().map(|r| r["number"].as_str().unwrap()).collect();
    assert!(page2["result"].as_array().unwrap().iter().all(|r| !first.contains(&r["number"].as_str().unwrap())));
}

#[tokio::test]
async fn credentials_are_checked() {
    let emu = start_with(None).await;
    let url = format!("{}/api/now/table/sys_user?sysparm_limit=1", emu.base_url);
    for req in [
        http().get(&url),
        http().get(&url).basic_auth("dana.desk", Some("wrong")),
        http().get(&url).bearer_auth("not-a-token"),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(header(&r, "www-authenticate").is_some());
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"})
        );
    }
    // Every seeded user signs in with the demo password.
    let r = http().get(&url).basic_auth("casey.contractor", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn oauth_grants_issue_tokens() {
    let emu = start_with(None).await;
    let token_url = format!("{}/oauth_token.do", emu.base_url);
    let r = http()
        .post(&token_url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", DEMO_OAUTH_CLIENT_ID),
            ("client_secret", DEMO_OAUTH_CLIENT_SECRET),
            ("username", "sam.security"),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(
        (t["token_type"].as_str(), t["scope"].as_str(), t["expires_in"].as_u64()),
        (Some("Bearer"), Some("useraccount"), Some(1799))
    );
    let me_url = format!(
        "{}/api/now/table/sys_user?sysparm_query=sys_id=javascript:gs.getUserID()&sysparm_fields=user_name",
        emu.base_url
    );
    let me: Value = http()
        .get(&me_url)
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["result"][0]["user_name"], "sam.security");

    let r = http()
        .post(&token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_OAUTH_CLIENT_ID),
            ("client_secret", DEMO_OAUTH_CLIENT_SECRET),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let t2: Value = r.json().await.unwrap();
    assert_ne!(t2["access_token"], t["access_token"]);

    let r = http()
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_OAUTH_CLIENT_ID),
            ("client_secret", DEMO_OAUTH_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let cc: Value = r.json().await.unwrap();
    assert!(cc["access_token"].is_string() && cc.get("refresh_token").is_none());

    let r = http()
        .post(&token_url)
        .form(&[("grant_type", "client_credentials"), ("client_id", DEMO_OAUTH_CLIENT_ID), ("client_secret", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn rate_limits_count_per_user_per_hour() {
    let emu = start_with(Some(3)).await;
    let url = format!("{}/api/now/table/incident?sysparm_limit=1", emu.base_url);
    for _ in 0..3 {
        let r = http().get(&url).basic_auth("dana.desk", Some(DEMO_PASSWORD)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-ratelimit-limit").as_deref(), Some("3"));
        assert!(header(&r, "x-ratelimit-reset").unwrap().parse::<i64>().unwrap() > chrono::Utc::now().timestamp());
        assert!(header(&r, "x-ratelimit-rule").is_some());
    }
    let r = http().get(&url).basic_auth("dana.desk", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": {"message": "Rate limit exceeded", "detail": "Rate limit of 3 requests per hour for Table API exceeded"}, "status": "failure"})
    );
    // Another user has a budget of their own.
    let r = http().get(&url).basic_auth("alex.approver", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Without a configured limit there are no rate-limit headers at all.
    let free = start_with(None).await;
    let r = http()
        .get(format!("{}/api/now/table/incident?sysparm_limit=1", free.base_url))
        .basic_auth("dana.desk", Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert!(header(&r, "x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn the_spellings_pysnc_and_pysnow_send() {
    let emu = start_with(None).await;
    let c = http();
    let get = |q: &str| {
        c.get(format!("{}/api/now/table/incident?{q}", emu.base_url))
            .basic_auth("dana.desk", Some(DEMO_PASSWORD))
            .send()
    };
    // PySNC: display values and no links, no Link header, but X-Total-Count.
    let r = get("sysparm_query=active%3Dtrue%5EORDERBYsys_id&sysparm_display_value=all&sysparm_exclude_reference_link=true&sysparm_suppress_pagination_header=true&sysparm_limit=2&sysparm_offset=0").await.unwrap();
    assert!(header(&r, "link").is_none());
    assert!(header(&r, "x-total-count").is_some());
    let body: Value = r.json().await.unwrap();
    let rows = body["result"].as_array().unwrap();
    assert!(rows[0]["sys_id"]["value"].as_str().unwrap() < rows[1]["sys_id"]["value"].as_str().unwrap());
    assert!(rows[0]["caller_id"].get("link").is_none());
    // pysnow: Python booleans and empty fields/view mean the defaults.
    let r = get("sysparm_query=priority%3D1&sysparm_limit=10000&sysparm_offset=0&sysparm_display_value=False&sysparm_suppress_pagination_header=False&sysparm_exclude_reference_link=False&sysparm_view=&sysparm_fields=").await.unwrap();
    assert!(header(&r, "link").is_some());
    let body: Value = r.json().await.unwrap();
    let row = &body["result"][0];
    assert_eq!(row["priority"], "1");
    assert!(row["caller_id"]["link"].is_string());
    assert!(row.as_object().unwrap().len() > 80, "every field");
    // HEAD: the headers without a body.
    let r = c
        .head(format!("{}/api/now/table/incident?sysparm_limit=1", emu.base_url))
        .basic_auth("dana.desk", Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "x-total-count").is_some());
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn inserts_answer_201_with_location_and_deletes_204() {
    let emu = start_with(None).await;
    let c = http();
    let r = c
        .post(format!("{}/api/now/table/incident", emu.base_url))
        .basic_auth("dana.desk", Some(DEMO_PASSWORD))
        .json(&serde_json::json!({"short_description": "Monitor flickers", "caller_id": "Riley Requester"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = header(&r, "location").unwrap();
    let body: Value = r.json().await.unwrap();
    let id = body["result"]["sys_id"].as_str().unwrap();
    assert_eq!(location, format!("{}/api/now/table/incident/{id}", emu.base_url));
    // A reference given by its display value is stored as the record's sys_id.
    let riley = emu.shared.servicenow.find("sys_user", "user_name", "riley.requester")[0]["sys_id"].clone();
    assert_eq!(body["result"]["caller_id"]["value"], riley);
    let r = c.delete(&location).basic_auth("dana.desk", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(header(&r, "content-type").is_none());
    assert!(r.bytes().await.unwrap().is_empty());
    let r = c.get(&location).basic_auth("dana.desk", Some(DEMO_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
