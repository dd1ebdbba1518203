//! Every response recorded from real Okta orgs (the SDKs' VCR cassettes and the test server's
//! HAR files in `shared/reference/okta`) that concerns users, groups, apps, factors, the System
//! Log, OAuth tokens or OIG requests parses with the client's types — and the test names every
//! field the client drops, so dropping a new one is a decision, not an accident.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use grantdesk::okta::oig::{AccessRequest, CatalogEntry, RequestCondition};
use grantdesk::okta::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `shared/reference/okta`, beside the repository (CI) or at the workplace root.
fn reference_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("GRANTDESK_SHARED_DIR").map(PathBuf::from),
        Some(root.join("../shared")),
        Some(root.join("../../shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|p| p.join("reference/okta"))
        .find(|p| p.is_dir())
        .expect("shared/reference/okta not found beside the repository (set GRANTDESK_SHARED_DIR)")
}

/// One recorded exchange.
struct Exchange {
    file: String,
    method: String,
    path: String,
    status: u16,
    body: String,
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn path_of(url: &str) -> String {
    url::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_default()
}

fn exchanges(dir: &Path) -> Vec<Exchange> {
    let mut out = Vec::new();
    let mut yamls = Vec::new();
    files(&dir.join("cassettes"), "yaml", &mut yamls);
    yamls.sort();
    for f in yamls {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for i in doc["interactions"].as_array().unwrap() {
            let req = &i["request"];
            let resp = &i["response"];
            let url = req["uri"].as_str().or(req["url"].as_str()).unwrap_or_default();
            let status = resp["status"]["code"].as_u64().or(resp["code"].as_u64()).unwrap_or(0) as u16;
            let body = resp["body"]["string"].as_str().or(resp["body"].as_str()).unwrap_or_default().to_string();
            out.push(Exchange {
                file: f.file_name().unwrap().to_string_lossy().into(),
                method: req["method"].as_str().unwrap_or_default().to_string(),
                path: path_of(url),
                status,
                body,
            });
        }
    }
    let mut hars = Vec::new();
    files(&dir.join("har"), "har", &mut hars);
    hars.sort();
    for f in hars {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for e in doc["log"]["entries"].as_array().unwrap() {
            out.push(Exchange {
                file: f.file_name().unwrap().to_string_lossy().into(),
                method: e["request"]["method"].as_str().unwrap_or_default().to_string(),
                path: path_of(e["request"]["url"].as_str().unwrap_or_default()),
                status: e["response"]["status"].as_u64().unwrap_or(0) as u16,
                body: e["response"]["content"]["text"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    out
}

/// Key paths of a JSON value (`a.b`, arrays as `[]`).
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                paths(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// Parses `body` as `T` and returns the key paths present in the body but not kept by `T`.
fn parse_one<T: DeserializeOwned + Serialize>(v: &Value) -> Result<BTreeSet<String>, String> {
    let t: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&t).unwrap();
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    paths(v, "", &mut a);
    paths(&back, "", &mut b);
    // A dropped object's children are implied by the object itself.
    let dropped: Vec<String> = a.difference(&b).cloned().collect();
    Ok(dropped
        .iter()
        .filter(|p| !dropped.iter().any(|q| p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[]"))))
        .cloned()
        .collect())
}

fn parse_as<T: DeserializeOwned + Serialize>(v: &Value) -> Result<BTreeSet<String>, String> {
    match v {
        Value::Array(items) => {
            let mut all = BTreeSet::new();
            for i in items {
                all.extend(parse_one::<T>(i)?);
            }
            Ok(all)
        }
        _ => parse_one::<T>(v),
    }
}

fn parse_envelope<T: DeserializeOwned + Serialize>(v: &Value) -> Result<BTreeSet<String>, String> {
    let env: wire::Envelope<Value> = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let mut all = BTreeSet::new();
    for item in &env.data {
        all.extend(parse_one::<T>(item)?.into_iter().map(|p| format!("data[].{p}")));
    }
    Ok(all)
}

/// Parses a body and returns the fields it dropped.
type Parser = fn(&Value) -> Result<BTreeSet<String>, String>;

/// Which client type reads an exchange's body, or `None` when it is about something else.
fn classify(x: &Exchange, v: &Value) -> Option<(&'static str, Parser)> {
    if x.status >= 400 {
        if v.get("errorCode").is_some() {
            return Some(("Error", parse_as::<wire::ErrorBody>));
        }
        if v.get("error").is_some() {
            return Some(("OAuthError", parse_as::<wire::OAuthErrorBody>));
        }
        return None;
    }
    let seg: Vec<&str> = x.path.trim_matches('/').split('/').collect();
    let s = |i: usize| seg.get(i).copied().unwrap_or("");
    match (s(0), s(2), seg.len()) {
        ("oauth2", _, _) if x.path.ends_with("/token") => Some(("Token", parse_as::<wire::TokenResponse>)),
        ("api", "users", 3) | ("api", "users", 4) if x.method != "DELETE" => Some(("User", parse_as::<wire::User>)),
        ("api", "users", _) if s(4) == "groups" => Some(("Group", parse_as::<wire::Group>)),
        ("api", "users", _) if s(4) == "appLinks" => Some(("AppLink", parse_as::<wire::AppLink>)),
        ("api", "users", _) if s(4) == "factors" => Some(("Factor", parse_as::<wire::Factor>)),
        ("api", "users", _) if s(5).starts_with("reset_password") => {
            Some(("ResetPassword", parse_as::<wire::ResetPasswordToken>))
        }
        ("api", "users", _) if s(5) == "expire_password_with_temp_password" || v.get("tempPassword").is_some() => {
            Some(("TempPassword", parse_as::<wire::TempPassword>))
        }
        ("api", "users", _) if s(5) == "expire_password" => Some(("User", parse_as::<wire::User>)),
        ("api", "groups", 3) | ("api", "groups", 4) => Some(("Group", parse_as::<wire::Group>)),
        ("api", "groups", _) if s(4) == "users" => Some(("User", parse_as::<wire::User>)),
        ("api", "apps", 3) | ("api", "apps", 4) => Some(("App", parse_as::<wire::App>)),
        ("api", "apps", _) if s(4) == "users" => Some(("AppUser", parse_as::<wire::AppUser>)),
        ("api", "apps", _) if s(4) == "groups" => Some(("AppGroup", parse_as::<wire::AppGroup>)),
        ("api", "logs", _) => Some(("LogEvent", parse_as::<wire::LogEvent>)),
        ("governance", _, _) if x.path.ends_with("/requests") => {
            Some(("AccessRequest", parse_envelope::<AccessRequest>))
        }
        ("governance", _, _) if x.path.contains("/requests/") => Some(("AccessRequest", parse_as::<AccessRequest>)),
        ("governance", _, _) if x.path.ends_with("/entries") => Some(("CatalogEntry", parse_envelope::<CatalogEntry>)),
        ("governance", _, _) if x.path.contains("/entries/") => Some(("CatalogEntry", parse_as::<CatalogEntry>)),
        ("governance", _, _) if x.path.ends_with("/request-conditions") => {
            Some(("RequestCondition", parse_envelope::<RequestCondition>))
        }
        _ => None,
    }
}

/// Fields of the recordings the client does not keep, by the type that reads them: links,
/// credentials, app settings and profile attributes the console does not show. Governance error
/// causes keep their summary, location and reason; `domain` and `locationType` are dropped.
const DROPPED: &[(&str, &[&str])] = &[
    ("AccessRequest", &[]),
    (
        "App",
        &["_links", "accessibility", "credentials", "features", "orn", "settings", "universalLogout", "visibility"],
    ),
    ("AppGroup", &["_links", "profile"]),
    ("AppLink", &[]),
    ("AppUser", &["_links", "externalId", "passwordChanged", "profile", "statusChanged", "syncState"]),
    ("CatalogEntry", &[]),
    ("Error", &["errorCauses[].domain", "errorCauses[].locationType"]),
    ("Factor", &["_links", "profile"]),
    ("Group", &["_links", "objectClass"]),
    ("OAuthError", &[]),
    ("ResetPassword", &[]),
    ("TempPassword", &[]),
    ("Token", &[]),
    (
        "User",
        &[
            "_links",
            "credentials",
            "profile.city",
            "profile.costCenter",
            "profile.countryCode",
            "profile.displayName",
            "profile.division",
            "profile.employeeNumber",
            "profile.manager",
            "profile.nickName",
            "profile.organization",
            "profile.postalAddress",
            "profile.preferredLanguage",
            "profile.primaryPhone",
            "profile.state",
            "profile.streetAddress",
            "profile.zipCode",
            "realmId",
            "type",
        ],
    ),
];

#[test]
fn every_recorded_okta_response_parses_and_dropped_fields_are_named() {
    let dir = reference_dir();
    let all = exchanges(&dir);
    assert!(all.len() > 100, "recordings found: {}", all.len());
    let mut dropped: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut parsed = 0;
    let mut failures = Vec::new();
    for x in &all {
        if x.body.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&x.body) else { continue };
        let Some((kind, parse)) = classify(x, &v) else { continue };
        match parse(&v) {
            Ok(d) => {
                parsed += 1;
                dropped.entry(kind).or_default().extend(d);
            }
            Err(e) => failures.push(format!("{} {} {} ({kind}): {e}", x.file, x.method, x.path)),
        }
    }
    assert!(failures.is_empty(), "recorded responses the client cannot read:\n{}", failures.join("\n"));
    assert!(parsed >= 60, "only {parsed} relevant recordings parsed");
    let expected: BTreeMap<&str, BTreeSet<String>> =
        DROPPED.iter().map(|(k, v)| (*k, v.iter().map(|s| s.to_string()).collect())).collect();
    assert_eq!(dropped, expected, "the fields the client drops changed; name them in DROPPED");
}
