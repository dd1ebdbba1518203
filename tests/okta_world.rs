//! The Okta half of the seeded world: determinism, scale and the stories of WORLD.md.

use chrono::{TimeZone, Utc};
use grantdesk::emulator::okta::Okta;
use grantdesk::emulator::world::people;
use grantdesk::emulator::{Scale, WorldSpec};

fn spec(scale: Scale, seed: u64) -> WorldSpec {
    WorldSpec::new(scale, seed).with_epoch(Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap())
}

fn build(spec: &WorldSpec) -> Okta {
    Okta::build(spec, &people::generate(spec), None)
}

#[test]
fn same_seed_scale_and_epoch_give_byte_identical_data() {
    let s = spec(Scale::Demo, 7);
    let a = build(&s).fingerprint();
    let b = build(&s).fingerprint();
    assert_eq!(a, b);
    assert_ne!(a, build(&spec(Scale::Demo, 8)).fingerprint(), "another seed gives another world");
    let later = s.with_epoch(Utc.with_ymd_and_hms(2025, 3, 4, 9, 0, 0).unwrap());
    assert_ne!(a, build(&later).fingerprint(), "another epoch moves the timestamps");
}

#[test]
fn demo_world_has_every_status_and_the_persona_stories() {
    let okta = build(&spec(Scale::Demo, 1));
    for status in
        ["ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"]
    {
        assert!(!okta.logins_with_status(status).is_empty(), "no {status} user");
    }
    assert_eq!(okta.user_status("riley.requester@example.com").as_deref(), Some("LOCKED_OUT"));
    assert_eq!(okta.user_status("dana.desk@example.com").as_deref(), Some("ACTIVE"));
    let (groups, memberships) = okta.group_counts();
    assert!((75..=85).contains(&groups), "about 80 groups, got {groups}");
    assert!((2_500..=3_500).contains(&memberships), "about 3,000 memberships, got {memberships}");
    assert!(okta.group_member_logins("aws-prod-admin").contains(&"casey.contractor@example.com".to_string()));
    assert!(okta.group_member_logins("it-approvers-standard").contains(&"dana.desk@example.com".to_string()));
    assert!(okta.group_member_logins("security-approvers").contains(&"sam.security@example.com".to_string()));
    let orphans = okta.orphan_grants();
    assert_eq!(orphans.len(), 3);
    for (login, group) in &orphans {
        assert!(["aws-prod-admin", "finance-netsuite", "github-engineering"].contains(&group.as_str()));
        assert!(okta.group_member_logins(group).contains(login));
    }
    let riley = okta.user_id("riley.requester@example.com").unwrap();
    let events = okta.log_event_types_about(&riley);
    let lock = events.iter().position(|e| e == "user.account.lock").expect("riley's lock-out is in the System Log");
    assert!(
        events[..lock].iter().filter(|e| *e == "user.session.start").count() >= 3,
        "failed sign-ins precede the lock"
    );
    for name in ["Everyone", "dept-engineering", "dept-finance", "zoom-users", "finance-netsuite"] {
        assert!(okta.group_id(name).is_some(), "{name} missing");
    }
    assert!(okta.app_id("salesforce").is_some());
    assert!(okta.app_labels_of("casey.contractor@example.com").contains(&"AWS".to_string()));
}

#[test]
fn large_world_has_the_sizes_of_world_md() {
    let s = spec(Scale::Large, 1);
    let people = people::generate(&s);
    let okta = Okta::build(&s, &people, None);
    let (users, _) = okta.user_counts();
    // One Okta user per person; people.rs rounds its department quotas to a few short of 50,000.
    assert_eq!(users, people.people.len());
    assert!(users >= 49_990, "about 50,000 users, got {users}");
    let (groups, memberships) = okta.group_counts();
    assert_eq!(groups, 3_000);
    assert!((240_000..=260_000).contains(&memberships), "about 250,000 memberships, got {memberships}");
    assert_eq!(okta.orphan_grants().len(), 50);
}

/// A ServiceNow `glide_date_time` ("2025-03-03 08:15:00", UTC) in ms since the Unix epoch.
fn glide_ms(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
        .and_utc()
        .timestamp_millis()
}

/// Checks that the ServiceNow half and the Okta half of one world tell the same access story.
fn halves_agree(spec: &WorldSpec) {
    use grantdesk::emulator::servicenow::ServiceNow;
    let people = people::generate(spec);
    let okta = Okta::build(spec, &people, None);
    let sn = ServiceNow::build(spec, &people, None);
    let epoch_ms = spec.epoch.timestamp_millis();
    let events = okta.access_events();
    let oig = okta.oig_requests();
    let email = |sys_id: &str| sn.record("sys_user", sys_id).map(|u| u["email"].clone()).unwrap_or_default();
    let okta_name = |entry: &str| if entry == "salesforce" { "Salesforce".to_string() } else { entry.to_string() };
    let holds = |login: &str, target: &str| {
        if target == "Salesforce" {
            okta.app_labels_of(login).contains(&"Salesforce".to_string())
        } else {
            okta.group_member_logins(target).contains(&login.to_string())
        }
    };

    // Every access RITM, with what Okta must show for it.
    let mut explained: std::collections::HashSet<(String, String)> = Default::default();
    let mut routed = 0;
    let mut checked = 0;
    for approval in ["approved", "rejected", "requested"] {
        for ritm in sn.find("sc_req_item", "approval", approval) {
            let Some(rest) = ritm["short_description"].strip_prefix("Access request: ") else { continue };
            let entry = rest.split_once(" for ").map(|(e, _)| e).unwrap_or(rest).to_string();
            let target = okta_name(&entry);
            let user = email(&ritm["requested_for"]);
            let via_oig = ritm["description"].contains("Raised in Okta Identity Governance");
            let number = &ritm["number"];
            if via_oig {
                routed += 1;
                let status = match approval {
                    "approved" => "APPROVED",
                    "rejected" => "DENIED",
                    _ => "PENDING",
                };
                assert!(
                    oig.iter().any(|r| r.requested_for == user && r.entry == target && r.status == status),
                    "{number} ({user}, {target}, {approval}) was raised in OIG but OIG has no {status} request for it"
                );
            }
            if approval != "approved" {
                continue;
            }
            checked += 1;
            let approvals = sn.find("sysapproval_approver", "sysapproval", &ritm["sys_id"]);
            let approved_ms = approvals
                .iter()
                .filter(|a| a["state"] == "approved")
                .map(|a| glide_ms(&a["sys_updated_on"]))
                .max()
                .unwrap_or_else(|| panic!("{number} is approved without an approval"));
            let closed_ms = glide_ms(&ritm["closed_at"]);
            let actor = if via_oig { "Okta Access Requests".to_string() } else { email(&ritm["closed_by"]) };
            let add = events
                .iter()
                .find(|e| {
                    e.event_type.ends_with("user_membership.add")
                        && e.user == user
                        && e.target == target
                        && e.published_ms >= approved_ms
                        && e.published_ms <= closed_ms + 999
                })
                .unwrap_or_else(|| panic!("{number}: no Okta event adds {user} to {target} after its approval"));
            assert_eq!(add.actor, actor, "{number}: who added {user} to {target}");
            // Still in force at the epoch, or removed when it ended.
            let hours = match ritm["description"].split("Requested duration: ").nth(1).and_then(|d| d.lines().next()) {
                Some("permanent") | None => None,
                Some(d) => {
                    let (n, unit) = d.split_once(' ').unwrap();
                    let n: i64 = n.parse().unwrap();
                    Some(if unit.starts_with("day") { n * 24 } else { n })
                }
            };
            match hours.map(|h| add.published_ms + h * 3_600_000) {
                Some(end) if end <= epoch_ms => assert!(
                    holds(&user, &target)
                        || events.iter().any(|e| e.event_type.ends_with("user_membership.remove")
                            && e.user == user
                            && e.target == target
                            && e.published_ms == end),
                    "{number}: {user}'s {target} ended before the epoch but was never removed"
                ),
                _ => {
                    assert!(holds(&user, &target), "{number}: {user} should hold {target} at the epoch");
                    explained.insert((user.clone(), target.clone()));
                }
            }
        }
    }
    assert!(checked > 10 && routed > 0, "the history has approved RITMs ({checked}) and OIG-routed ones ({routed})");
    assert_eq!(routed, oig.len(), "every OIG request mirrors one ServiceNow RITM");

    // Orphans: held, and no request on record anywhere.
    let orphans = okta.orphan_grants();
    assert!(!orphans.is_empty());
    for (login, group) in &orphans {
        assert!(holds(login, group), "orphan {login} in {group} is not a member");
        let sys_id = sn.find("sys_user", "email", login)[0]["sys_id"].clone();
        let ritms = sn.find("sc_req_item", "requested_for", &sys_id);
        assert!(
            !ritms.iter().any(|r| r["short_description"].contains(group.as_str())),
            "orphan {login} in {group} has a RITM"
        );
        assert!(
            !oig.iter().any(|r| &r.requested_for == login && &r.entry == group),
            "orphan {login} has an OIG request"
        );
        explained.insert((login.clone(), group.clone()));
    }

    // Nobody else holds a sensitive catalog entitlement.
    for group in ["github-engineering", "aws-prod-readonly", "aws-prod-admin", "finance-netsuite"] {
        for login in okta.group_member_logins(group) {
            assert!(
                explained.contains(&(login.clone(), group.to_string())),
                "{login} is in {group} with no approved request and is not a known orphan"
            );
        }
    }
}

#[test]
fn servicenow_and_okta_tell_one_access_history() {
    halves_agree(&spec(Scale::Demo, 1));
    halves_agree(&spec(Scale::Demo, 7));
}

#[test]
fn servicenow_and_okta_tell_one_access_history_at_scale() {
    halves_agree(&spec(Scale::Large, 3));
}
