//! Group owners (`listGroupOwners`) and a group's apps (`listAssignedApplicationsForGroup`), over
//! raw HTTP (shapes, `Link` paging, errors) and through the client.

use futures::TryStreamExt as _;
use grantdesk::config::{OktaAuth, OktaConfig, Secret};
use grantdesk::emulator::{self, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::okta::OktaClient;
use reqwest::StatusCode;
use serde_json::Value;

async fn start() -> RunningEmulator {
    grantdesk::install_crypto_provider();
    emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.unwrap()
}

async fn get(emu: &RunningEmulator, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", emu.base_url))
        .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
}

/// (url, rel) of every `Link` header value.
fn links(r: &reqwest::Response) -> Vec<(String, String)> {
    r.headers()
        .get_all("link")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(", ").map(str::to_string).collect::<Vec<_>>())
        .map(|l| {
            let (url, rel) = l.split_once(">; rel=\"").unwrap();
            (url.trim_start_matches('<').to_string(), rel.trim_end_matches('"').to_string())
        })
        .collect()
}

fn next_link(r: &reqwest::Response) -> Option<String> {
    links(r).into_iter().find(|(_, rel)| rel == "next").map(|(u, _)| u)
}

async fn okta_error(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    assert!(r.headers().contains_key("x-okta-request-id") && r.headers().contains_key("x-rate-limit-remaining"));
    (status, r.json().await.unwrap())
}

fn client(emu: &RunningEmulator) -> OktaClient {
    let auth = OktaAuth::Ssws(Secret::new(emulator::DEMO_OKTA_TOKEN.into()));
    OktaClient::new(&OktaConfig {
        url: emu.base_url.parse().unwrap(),
        auth,
        ca_bundle: None,
        timeout: std::time::Duration::from_secs(20),
    })
    .unwrap()
}

#[tokio::test]
async fn owners_are_group_owner_objects_with_links() {
    let emu = start().await;
    let okta = &emu.shared.okta;
    let gid = okta.group_id("aws-prod-admin").unwrap();
    let alex = okta.user_id("alex.approver@example.com").unwrap();
    let r = get(&emu, &format!("/api/v1/groups/{gid}/owners")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        links(&r),
        [(format!("{}/api/v1/groups/{gid}/owners?limit=1000", emu.base_url), "self".to_string())],
        "self echoes the default limit; one page, so no next"
    );
    let body: Vec<Value> = r.json().await.unwrap();
    assert_eq!(body.len(), 1);
    let o = &body[0];
    assert_eq!(o["id"], alex.as_str());
    assert_eq!(o["type"], "USER");
    assert_eq!(o["resolved"], true);
    assert_eq!(o["originType"], "OKTA_DIRECTORY");
    assert_eq!(o["displayName"], "Alex Approver");
    assert!(o["lastUpdated"].as_str().unwrap().ends_with(".000Z"));
    assert!(o.get("_links").is_none() && o.get("originId").is_none(), "{o}");

    // finance-netsuite belongs to the head of Finance, not alex.
    let fin = okta.group_id("finance-netsuite").unwrap();
    let body: Vec<Value> = get(&emu, &format!("/api/v1/groups/{fin}/owners")).await.json().await.unwrap();
    let head = okta.group_owner_logins("finance-netsuite");
    assert_eq!(head.len(), 1);
    assert_ne!(head[0], "alex.approver@example.com");
    assert_eq!(body[0]["id"], okta.user_id(&head[0]).unwrap().as_str());

    // Groups nobody owns answer an empty list.
    let everyone = okta.group_id("Everyone").unwrap();
    let body: Vec<Value> = get(&emu, &format!("/api/v1/groups/{everyone}/owners")).await.json().await.unwrap();
    assert!(body.is_empty());
}

#[tokio::test]
async fn owners_search_by_type_and_page_after_an_owner() {
    let emu = start().await;
    let okta = &emu.shared.okta;
    let gid = okta.group_id("zoom-users").unwrap();
    let alex = okta.user_id("alex.approver@example.com").unwrap();
    let q = |s: &str| format!("/api/v1/groups/{gid}/owners?search={}", urlencode(s));
    let users: Vec<Value> = get(&emu, &q("type eq \"USER\"")).await.json().await.unwrap();
    assert_eq!(users.len(), 1);
    let groups: Vec<Value> = get(&emu, &q("type eq \"GROUP\"")).await.json().await.unwrap();
    assert!(groups.is_empty(), "no group owns zoom-users");
    let (status, e) = okta_error(get(&emu, &q("displayName eq \"Alex Approver\"")).await).await;
    assert_eq!((status, e["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("E0000031")));

    let r = get(&emu, &format!("/api/v1/groups/{gid}/owners?after={alex}&limit=1")).await;
    assert_eq!(links(&r)[0].0, format!("{}/api/v1/groups/{gid}/owners?after={alex}&limit=1", emu.base_url));
    assert!(next_link(&r).is_none());
    let rest: Vec<Value> = r.json().await.unwrap();
    assert!(rest.is_empty(), "nothing after the only owner");
}

#[tokio::test]
async fn group_apps_page_by_app_id_following_next() {
    let emu = start().await;
    let okta = &emu.shared.okta;
    let everyone = okta.group_id("Everyone").unwrap();
    let expected = okta.group_app_ids("Everyone");
    assert!(expected.len() >= 3, "apps assigned to Everyone: {expected:?}");

    let first = get(&emu, &format!("/api/v1/groups/{everyone}/apps")).await;
    assert_eq!(links(&first)[0].0, format!("{}/api/v1/groups/{everyone}/apps?limit=20", emu.base_url));
    let all: Vec<Value> = first.json().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, expected, "every assigned app, in id order");
    for a in &all {
        assert!(a["id"].as_str().unwrap().starts_with("0oa"));
        for k in ["name", "label", "status", "signOnMode", "created", "lastUpdated", "_links"] {
            assert!(a.get(k).is_some(), "{k} missing in {a}");
        }
    }

    // One app a page: each `next` is absolute, on the emulator, and the pages add up.
    let mut url = format!("{}/api/v1/groups/{everyone}/apps?limit=1", emu.base_url);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = reqwest::Client::new()
            .get(&url)
            .header("Authorization", format!("SSWS {}", emulator::DEMO_OKTA_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let next = next_link(&r);
        let page: Vec<Value> = r.json().await.unwrap();
        assert!(page.len() <= 1);
        seen.extend(page.iter().map(|a| a["id"].as_str().unwrap().to_string()));
        pages += 1;
        match next {
            Some(n) => {
                assert!(n.starts_with(&emu.base_url) && n.contains("after=0oa") && n.contains("limit=1"), "{n}");
                url = n;
            }
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert!(pages >= expected.len(), "{pages} pages for {} apps", expected.len());

    // A catalog group gives exactly its app; a team group gives none.
    let admin = okta.group_id("aws-prod-admin").unwrap();
    let apps: Vec<Value> = get(&emu, &format!("/api/v1/groups/{admin}/apps")).await.json().await.unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["label"], "AWS");
    let team = okta.group_id("proj-atlas").unwrap();
    let apps: Vec<Value> = get(&emu, &format!("/api/v1/groups/{team}/apps")).await.json().await.unwrap();
    assert!(apps.is_empty());

    let (status, e) = okta_error(get(&emu, &format!("/api/v1/groups/{everyone}/apps?after=nonsense")).await).await;
    assert_eq!((status, e["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("E0000029")));
}

#[tokio::test]
async fn unknown_groups_are_404_e0000007_on_both_operations() {
    let emu = start().await;
    for op in ["owners", "apps"] {
        let (status, e) = okta_error(get(&emu, &format!("/api/v1/groups/00gnosuchgroup000000/{op}")).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{op}");
        assert_eq!(e["errorCode"], "E0000007");
        assert_eq!(e["errorSummary"], "Not found: Resource not found: 00gnosuchgroup000000 (UserGroup)");
    }
}

#[tokio::test]
async fn the_client_reads_owners_and_group_apps() {
    let emu = start().await;
    let okta = &emu.shared.okta;
    let client = client(&emu);
    let gid = okta.group_id("aws-prod-readonly").unwrap();
    let owners = client.group_owners(&gid).await.unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].id, okta.user_id("alex.approver@example.com").unwrap());
    assert_eq!((owners[0].kind.as_str(), owners[0].display_name.as_str()), ("USER", "Alex Approver"));

    let everyone = okta.group_id("Everyone").unwrap();
    let apps: Vec<_> = client.group_apps(&everyone).try_collect().await.unwrap();
    let ids: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, okta.group_app_ids("Everyone"));
    assert!(apps.iter().any(|a| a.label == "Workday" && a.name == "workday" && a.status == "ACTIVE"));

    let err = client.group_owners("00gnosuchgroup000000").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("E0000007"));
    assert!(err.request_id().is_some_and(|r| r.len() == 32));
    let err = client.group_apps("00gnosuchgroup000000").try_collect::<Vec<_>>().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
