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
