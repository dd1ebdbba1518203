//! Every response and request sample of the official ServiceNow documentation
//! (`tests/data/servicenow`, copied from `shared/reference/servicenow/samples`) read with the
//! client's own wire types — the shapes were written from the reference, and this holds them
//! to it.

use std::path::PathBuf;

use grantdesk::domain::TicketKind;
use grantdesk::servicenow::{
    BatchRequest, ListOptions, Record, ServiceNowError, StatsRow, TokenResponse, parse_batch_response,
    ticket_from_record,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/servicenow")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn one(name: &str) -> Record {
    #[derive(serde::Deserialize)]
    struct One {
        result: Record,
    }
    serde_json::from_str::<One>(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}")).result
}

fn many(name: &str) -> Vec<Record> {
    #[derive(serde::Deserialize)]
    struct Many {
        result: Vec<Record>,
    }
    serde_json::from_str::<Many>(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}")).result
}

/// Each sample, read with the type the client uses for it.
fn check(name: &str) {
    match name {
        "table-get-by-sysid-incident.response.json" => {
            let r = one(name);
            let t = ticket_from_record(TicketKind::Incident, &r).unwrap();
            assert_eq!(t.number, "INC0000046");
            assert_eq!((t.state.as_str(), t.priority, t.active), ("1", 3, true));
            assert_eq!(t.caller.sys_id, "46c6f9efa9fe198101ddf5eed9adf6e7");
            assert_eq!(t.assignment_group.sys_id, "8a4dde73c6112278017a6a4baf547aa7");
            assert!(t.assigned_to.is_empty());
            assert_eq!(t.mod_count, 4);
            assert!(t.sla_breached, "made_sla false");
            assert_eq!(t.opened_at.to_string(), "2015-11-02 22:04:15 UTC");
            assert_eq!(t.sla_due.unwrap().to_string(), "2015-11-11 22:04:15 UTC");
            assert_eq!(t.category, "software");
        }
        "table-patch-incident.response.json" | "table-put-incident.response.json" => {
            let t = ticket_from_record(TicketKind::Incident, &one(name)).unwrap();
            assert_eq!((t.number.as_str(), t.mod_count, t.priority), ("INC0000050", 7, 1));
            assert_eq!(t.assigned_to.sys_id, "681b365ec0a80164000fb0b05854a0cd");
            assert_eq!(t.updated_by, "admin");
        }
        "table-post-incident.response.json" => {
            let t = ticket_from_record(TicketKind::Incident, &one(name)).unwrap();
            assert_eq!((t.number.as_str(), t.mod_count, t.state.as_str()), ("INC0010002", 0, "1"));
            assert!(t.caller.is_empty());
            assert_eq!(t.short_description, "Unable to connect to office wifi");
        }
        "table-get-list-problem.response.json" => {
            let rows = many(name);
            assert_eq!(rows.len(), 1);
            let r = &rows[0];
            assert_eq!(r.value("number"), "PRB0000050");
            assert_eq!(r.number("sys_mod_count"), Some(1));
            assert_eq!(r.reference("opened_by").sys_id, "glide.maint");
            assert!(!r.flag("active"));
            assert_eq!(r.time("closed_at").unwrap().to_string(), "2016-01-19 04:52:04 UTC");
        }
        "table-get-dotwalk-display_value-true.sys_user_has_role.response.json" => {
            let rows = many(name);
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].value("user.name"), "Fred Johnson");
            let user = rows[0].reference("user");
            assert_eq!(
                (user.sys_id.as_str(), user.display.as_str()),
                ("f5a3716d0f6002003a2d47bce1050ed4", "Fred Johnson")
            );
            assert_eq!(rows[1].display("role"), "asset_mgmt");
            assert_eq!(rows[0].display("user.department"), "Accounting");
        }
        "aggregate-avg-groupby-assignment_group.response.json" => {
            #[derive(serde::Deserialize)]
            struct Groups {
                result: Vec<StatsRow>,
            }
            let g: Groups = serde_json::from_str(&read(name)).unwrap();
            assert_eq!(g.result.len(), 6);
            assert_eq!(g.result[0].groupby_fields[0].field, "assignment_group");
            assert_eq!(g.result[0].groupby_fields[0].value, "");
            assert_eq!(g.result[1].stats.avg["reassignment_count"], "1.5000");
            assert_eq!(g.result[1].count(), None, "no sysparm_count was asked");
        }
        "error-429-rate-limit.response.json" => {
            let e = ServiceNowError::from_response(429, "GET", "/api/now/table/incident", &read(name));
            match &e {
                ServiceNowError::RateLimited { message, detail, .. } => {
                    assert_eq!(message, "Rate limit exceeded");
                    assert_eq!(detail, "Rate limit of 100 requests per hour for Table API exceeded");
                }
                other => panic!("{other:?}"),
            }
            assert!(e.to_string().contains("Rate limit of 100 requests per hour"));
        }
        "oauth-token-password-grant.response.json" => {
            let t = TokenResponse::parse(&read(name)).unwrap();
            assert_eq!(t.expires_in, Some(1799.0));
            assert_eq!(t.scope.as_deref(), Some("useraccount"));
            assert!(t.has_refresh_token());
            // The tokens never show, not even in Debug.
            let shown = format!("{t:?}");
            assert!(!shown.contains("2wRlsRCT2SYj") && !shown.contains("jZPdkEVrWvt"), "{shown}");
        }
        "batch-api.response.json" => {
            let (id, replies) = parse_batch_response(&read(name)).unwrap();
            assert_eq!(id, "1");
            let ids: Vec<(&str, u16)> = replies.iter().map(|r| (r.id.as_str(), r.status)).collect();
            assert_eq!(ids, [("11", 200), ("12", 200), ("13", 201)]);
            assert!(replies[0].body.starts_with("<?xml"), "{}", replies[0].body);
        }
        "batch-api.request.json" => {
            // The client writes requests with the documented item fields.
            let sample: serde_json::Value = serde_json::from_str(&read(name)).unwrap();
            let item = &sample["rest_requests"][2];
            let ours = BatchRequest::update(
                "13",
                "incident",
                "ef43c6d40a0a0b5700c77f9bf387afe3",
                serde_json::Map::new(),
                &ListOptions::default(),
            )
            .wire();
            for key in ["id", "method", "url", "headers", "body", "exclude_response_headers"] {
                assert!(ours.get(key).is_some(), "client omits {key}");
                assert_eq!(
                    std::mem::discriminant(&ours[key]),
                    std::mem::discriminant(&item[key]),
                    "{key}: ours {} vs documented {}",
                    ours[key],
                    item[key]
                );
            }
            assert_eq!(ours["headers"][0]["name"], item["headers"][0]["name"]);
        }
        other => panic!("no check for the sample {other}: add one"),
    }
}

#[test]
fn every_sample_parses_with_the_client() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 11, "{names:?}");
    for n in &names {
        check(n);
    }
}

#[test]
fn the_copies_match_the_shared_reference_when_it_is_present() {
    let shared = PathBuf::from("/work/shared/reference/servicenow/samples");
    let Ok(entries) = std::fs::read_dir(&shared) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let copy = std::fs::read(dir().join(&name)).unwrap_or_else(|_| panic!("{name:?} not copied into tests/data"));
        assert_eq!(copy, std::fs::read(e.path()).unwrap(), "{name:?} differs from the reference");
    }
}
