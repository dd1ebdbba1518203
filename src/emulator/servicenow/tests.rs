//! The emulator's behaviour as a Table API client sees it, through the dispatcher (no HTTP):
//! shapes, display values, queries, paging headers, writes and their side effects, the Aggregate
//! and Batch APIs, the seeded stories, and determinism.

use std::sync::OnceLock;

use chrono::TimeZone;
use serde_json::Value;

use super::*;
use crate::emulator::world::{Scale, people};

const BASE: &str = "https://emulator.test";

fn spec() -> WorldSpec {
    WorldSpec::new(Scale::Demo, 1).with_epoch(Utc.with_ymd_and_hms(2025, 3, 12, 15, 0, 0).unwrap())
}

fn build() -> ServiceNow {
    let spec = spec();
    ServiceNow::build(&spec, &people::generate(&spec), None)
}

/// One shared world for read-only tests (building it is the slow part).
fn world() -> &'static ServiceNow {
    static W: OnceLock<ServiceNow> = OnceLock::new();
    W.get_or_init(build)
}

fn get(sn: &ServiceNow, path: &str) -> (u16, Vec<(String, String)>, Value) {
    call(sn, "dana.desk", "GET", path, "")
}

fn call(sn: &ServiceNow, user: &str, method: &str, path: &str, body: &str) -> (u16, Vec<(String, String)>, Value) {
    let (status, headers, body) = sn.handle_as(user, method, path, body.as_bytes(), BASE);
    let json = if body.is_empty() { Value::Null } else { serde_json::from_str(&body).expect("JSON body") };
    (status, headers, json)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn results(v: &Value) -> &Vec<Value> {
    v["result"].as_array().expect("result array")
}

fn user_id(sn: &ServiceNow, user_name: &str) -> String {
    sn.find("sys_user", "user_name", user_name)[0]["sys_id"].clone()
}

#[test]
fn list_returns_string_values_total_and_links() {
    let sn = world();
    let (status, headers, body) =
        get(sn, "table/incident?sysparm_limit=5&sysparm_query=active%3Dtrue%5EORDERBYDESCsys_updated_on");
    assert_eq!(status, 200);
    let rows = results(&body);
    assert_eq!(rows.len(), 5);
    let total: usize = header(&headers, "X-Total-Count").unwrap().parse().unwrap();
    assert!(total > 5);
    let link = header(&headers, "Link").unwrap();
    assert!(link.contains(r#"rel="first""#) && link.contains(r#"rel="next""#) && link.contains(r#"rel="last""#));
    assert!(!link.contains(r#"rel="prev""#));
    assert!(link.contains(&format!("<{BASE}/api/now/table/incident?")), "{link}");
    assert!(link.contains("sysparm_offset=5&sysparm_limit=5"), "{link}");
    let mut last = String::from("9999");
    for r in rows {
        assert_eq!(r["active"], "true");
        // Every value is a string or a reference object; nothing is null or a number.
        for (k, v) in r.as_object().unwrap() {
            assert!(v.is_string() || v.get("value").is_some_and(Value::is_string), "{k}: {v}");
        }
        let updated = r["sys_updated_on"].as_str().unwrap().to_string();
        assert!(updated <= last, "sorted descending");
        last = updated;
        assert_eq!(r["work_notes"], "");
        assert_eq!(r["comments"], "");
    }
}

#[test]
fn pages_walk_the_whole_result_once() {
    let sn = world();
    let (_, h, _) = get(sn, "table/incident?sysparm_limit=1&sysparm_query=priority%3D1");
    let total: usize = header(&h, "X-Total-Count").unwrap().parse().unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut offset = 0;
    while offset < total {
        let (_, h, body) = get(
            sn,
            &format!("table/incident?sysparm_limit=7&sysparm_offset={offset}&sysparm_query=priority%3D1^ORDERBYnumber"),
        );
        for r in results(&body) {
            assert!(seen.insert(r["number"].as_str().unwrap().to_string()));
        }
        if offset > 0 {
            assert!(header(&h, "Link").unwrap().contains(r#"rel="prev""#));
        }
        offset += 7;
    }
    assert_eq!(seen.len(), total);
}

#[test]
fn references_links_and_display_values() {
    let sn = world();
    let q = "table/incident?sysparm_limit=1&sysparm_query=caller_id.user_name%3Driley.requester%5Eactive%3Dtrue";
    let (_, _, v) = get(sn, q);
    let inc = &results(&v)[0];
    let caller = &inc["caller_id"];
    assert_eq!(caller["value"], user_id(sn, "riley.requester"));
    assert!(caller["link"].as_str().unwrap().starts_with(&format!("{BASE}/api/now/table/sys_user/")));

    let (_, _, v) = get(sn, &format!("{q}&sysparm_display_value=true"));
    let inc = &results(&v)[0];
    assert_eq!(inc["caller_id"]["display_value"], "Riley Requester");
    assert_eq!(inc["state"], "New");
    assert_eq!(inc["priority"], "2 - High");
    assert_eq!(inc["assigned_to"], "");

    let (_, _, v) = get(sn, &format!("{q}&sysparm_display_value=all&sysparm_exclude_reference_link=true"));
    let inc = &results(&v)[0];
    assert_eq!(inc["state"], serde_json::json!({"display_value": "New", "value": "1"}));
    assert_eq!(inc["caller_id"]["display_value"], "Riley Requester");
    assert!(inc["caller_id"].get("link").is_none());
    assert_eq!(inc["assignment_group"]["display_value"], "Service Desk");

    let (_, _, v) = get(sn, &format!("{q}&sysparm_exclude_reference_link=true"));
    assert_eq!(results(&v)[0]["caller_id"], user_id(sn, "riley.requester"));
}

#[test]
fn fields_select_and_dot_walk() {
    let sn = world();
    let (_, _, v) = get(
        sn,
        "table/incident?sysparm_limit=2&sysparm_fields=number,caller_id.email,assignment_group.name,bogus,caller_id.department",
    );
    for r in results(&v) {
        let mut keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["assignment_group.name", "caller_id.department", "caller_id.email", "number"]);
        assert!(r["caller_id.email"].as_str().unwrap().ends_with("@example.com"));
        assert!(r["caller_id.department"]["link"].as_str().unwrap().contains("/cmn_department/"));
    }
}

fn numbers(sn: &ServiceNow, table: &str, query: &str) -> Vec<String> {
    let q = url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>();
    let (status, _, v) = get(sn, &format!("table/{table}?sysparm_fields=number&sysparm_query={q}"));
    assert_eq!(status, 200, "{query}");
    results(&v).iter().map(|r| r["number"].as_str().unwrap().to_string()).collect()
}

fn all_incidents(sn: &ServiceNow) -> Vec<std::collections::BTreeMap<String, String>> {
    let db = sn.read_db();
    let ti = db.table_index("incident").unwrap();
    db.table_at(ti).rows().map(|r| row_map(&db, ti, r)).collect()
}

/// Each operator against a brute-force filter over the emulator's own rows.
#[test]
fn operators_select_what_they_say() {
    let sn = world();
    let all = all_incidents(sn);
    let expect = |pred: &dyn Fn(&std::collections::BTreeMap<String, String>) -> bool| -> Vec<String> {
        let mut v: Vec<String> = all.iter().filter(|r| pred(r)).map(|r| r["number"].clone()).collect();
        v.sort();
        v
    };
    let check = |query: &str, want: Vec<String>| {
        let mut got = numbers(sn, "incident", query);
        got.sort();
        assert_eq!(got, want, "{query}");
        assert!(!want.is_empty() || query.contains("ISEMPTY") || query.contains("zzz"), "vacuous check: {query}");
    };
    check("priority=1", expect(&|r| r["priority"] == "1"));
    check("priority!=1", expect(&|r| r["priority"] != "1"));
    check("priority<3", expect(&|r| r["priority"].parse::<u8>().unwrap() < 3));
    check("priority>=4", expect(&|r| r["priority"].parse::<u8>().unwrap() >= 4));
    check("priorityIN1,2", expect(&|r| r["priority"] == "1" || r["priority"] == "2"));
    check("stateNOT IN6,7,8", expect(&|r| !["6", "7", "8"].contains(&r["state"].as_str())));
    check("priorityBETWEEN2@3", expect(&|r| r["priority"] == "2" || r["priority"] == "3"));
    check("short_descriptionLIKEvpn", expect(&|r| r["short_description"].to_lowercase().contains("vpn")));
    check("short_descriptionNOT LIKEvpn", expect(&|r| !r["short_description"].to_lowercase().contains("vpn")));
    check("short_descriptionSTARTSWITHcannot", expect(&|r| r["short_description"].starts_with("Cannot")));
    check("short_descriptionENDSWITHjammed", expect(&|r| r["short_description"].ends_with("jammed")));
    check("assigned_toISEMPTY", expect(&|r| r["assigned_to"].is_empty()));
    check("assigned_toISNOTEMPTY", expect(&|r| !r["assigned_to"].is_empty()));
    check("priority=1^ORpriority=5", expect(&|r| r["priority"] == "1" || r["priority"] == "5"));
    check(
        "active=true^priority=1^ORpriority=2",
        expect(&|r| r["active"] == "true" && ["1", "2"].contains(&r["priority"].as_str())),
    );
    check("priority=1^NQstate=3", expect(&|r| r["priority"] == "1" || r["state"] == "3"));
    check("opened_at>=2025-03-10", expect(&|r| r["opened_at"].as_str() >= "2025-03-10"));
    check("opened_at<2025-02-01 00:00:00", expect(&|r| r["opened_at"].as_str() < "2025-02-01 00:00:00"));
    check("sys_updated_onSAMEASopened_at", expect(&|r| r["sys_updated_on"] == r["opened_at"]));
    // Range conditions on the sort column seek into its sorted order.
    check(
        "opened_at>=2025-03-01^opened_at<2025-03-05 12:00:00^ORDERBYopened_at",
        expect(&|r| r["opened_at"].as_str() >= "2025-03-01" && r["opened_at"].as_str() < "2025-03-05 12:00:00"),
    );
    check(
        "sys_updated_on>2025-03-11 08:00:00^ORDERBYDESCsys_updated_on",
        expect(&|r| r["sys_updated_on"].as_str() > "2025-03-11 08:00:00"),
    );
    check("priority>=2^priority<=3^ORDERBYpriority", expect(&|r| ["2", "3"].contains(&r["priority"].as_str())));
    check("priorityBETWEEN4@5^ORDERBYDESCpriority", expect(&|r| ["4", "5"].contains(&r["priority"].as_str())));
    check("caller_id.department.name=Finance", {
        let finance = sn.find("cmn_department", "name", "Finance")[0]["sys_id"].clone();
        let users: std::collections::HashSet<String> =
            sn.find("sys_user", "department", &finance).into_iter().map(|u| u["sys_id"].clone()).collect();
        expect(&|r| users.contains(&r["caller_id"]))
    });
    check("bogus_field=1^priority=1", expect(&|r| r["priority"] == "1"));
    check("short_description=zzz", vec![]);
    let sd = sn.find("sys_user_group", "name", "Service Desk")[0]["sys_id"].clone();
    check("assignment_group.name=Service Desk", expect(&|r| r["assignment_group"] == sd));
    check("assignment_group=Service Desk", expect(&|r| r["assignment_group"] == sd));
    check("assignment_group.nameSTARTSWITHserv", expect(&|r| r["assignment_group"] == sd));
    let riley = user_id(sn, "riley.requester");
    check("caller_id.user_name=riley.requester", expect(&|r| r["caller_id"] == riley));
    check("caller_idLIKERequester", expect(&|r| r["caller_id"] == riley));
}

#[test]
fn scripts_resolve_to_the_caller_and_the_clock() {
    let sn = world();
    let dana = user_id(sn, "dana.desk");
    let mine = numbers(sn, "incident", "assigned_to=javascript:gs.getUserID()");
    assert!(!mine.is_empty());
    for n in &mine {
        assert_eq!(sn.find("incident", "number", n)[0]["assigned_to"], dana);
    }
    let (_, _, v) = call(
        sn,
        "alex.approver",
        "GET",
        "table/sysapproval_approver?sysparm_query=approver%3Djavascript:gs.getUserID()%5Estate%3Drequested",
        "",
    );
    assert_eq!(results(&v).len(), 25, "alex's inbox");
    // The world is in the past of the wall clock: nothing was opened "today".
    assert!(numbers(sn, "incident", "opened_at>=javascript:gs.beginningOfToday()").is_empty());
    assert!(!numbers(sn, "incident", "opened_at<javascript:gs.daysAgoStart(0)").is_empty());
}

#[test]
fn errors_have_servicenow_shapes() {
    let sn = world();
    let (s, _, v) = get(sn, "table/no_such_table");
    assert_eq!(s, 400);
    assert_eq!(
        v,
        serde_json::json!({"error": {"message": "Invalid table no_such_table", "detail": null}, "status": "failure"})
    );
    let (s, _, v) = get(sn, "table/incident/0123456789abcdef0123456789abcdef");
    assert_eq!(s, 404);
    assert_eq!(v["error"]["message"], "No Record found");
    assert_eq!(v["error"]["detail"], "Record doesn't exist or ACL restricts the record retrieval");
    assert_eq!(v["status"], "failure");
    let (s, _, _) = get(sn, "nonsense/path");
    assert_eq!(s, 400);
    let (s, _, v) = call(sn, "nobody.here", "GET", "table/incident", "");
    assert_eq!(s, 401);
    assert_eq!(v["error"]["message"], "User Not Authenticated");
    // v1 answers an empty result with 404; the latest version with an empty array.
    let (s, _, _) = get(sn, "v1/table/incident?sysparm_query=number%3DNOPE");
    assert_eq!(s, 404);
    let (s, _, v) = get(sn, "table/incident?sysparm_query=number%3DNOPE");
    assert_eq!((s, results(&v).len()), (200, 0));
}

#[test]
fn writes_keep_system_fields_journals_and_rules() {
    let sn = build();
    let (s, h, v) = call(
        &sn,
        "dana.desk",
        "POST",
        "table/incident",
        r#"{"short_description":"Cannot print","impact":"1","urgency":"2","priority":"5","sys_mod_count":"99","work_notes":"Took the call"}"#,
    );
    assert_eq!(s, 201);
    let inc = &v["result"];
    let id = inc["sys_id"].as_str().unwrap().to_string();
    assert_eq!(header(&h, "Location").unwrap(), format!("{BASE}/api/now/table/incident/{id}"));
    assert!(inc["number"].as_str().unwrap().starts_with("INC"));
    assert_eq!(inc["priority"], "2", "priority comes from impact x urgency");
    assert_eq!(inc["sys_mod_count"], "0");
    assert_eq!(inc["state"], "1");
    assert_eq!(inc["sys_created_by"], "dana.desk");
    assert_eq!(inc["opened_by"]["value"], user_id(&sn, "dana.desk"));
    assert_eq!(inc["work_notes"], "", "journals read back empty");
    let notes = sn.find("sys_journal_field", "element_id", &id);
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0]["element"].as_str(), notes[0]["value"].as_str()), ("work_notes", "Took the call"));

    let (s, _, v) =
        call(&sn, "alex.approver", "PATCH", &format!("table/incident/{id}"), r#"{"state":"2","comments":"On it"}"#);
    assert_eq!(s, 200);
    assert_eq!(v["result"]["sys_mod_count"], "1");
    assert_eq!(v["result"]["sys_updated_by"], "alex.approver");
    assert_eq!(sn.find("sys_journal_field", "element_id", &id).len(), 2);

    // A PATCH that changes nothing leaves the record alone.
    let (_, _, v) = call(&sn, "alex.approver", "PATCH", &format!("table/incident/{id}"), r#"{"state":"2"}"#);
    assert_eq!(v["result"]["sys_mod_count"], "1");

    // Resolving without a resolution code and notes is refused like a data policy.
    let (s, _, v) = call(&sn, "dana.desk", "PATCH", &format!("table/incident/{id}"), r#"{"state":"6"}"#);
    assert_eq!(s, 403);
    let detail = v["error"]["detail"].as_str().unwrap();
    assert!(detail.contains("close_code") && detail.contains("close_notes"), "{detail}");
    assert_eq!(sn.record("incident", &id).unwrap()["state"], "2");
    let (s, _, v) = call(
        &sn,
        "dana.desk",
        "PUT",
        &format!("table/incident/{id}?sysparm_display_value=true"),
        r#"{"state":"6","close_code":"Solution provided","close_notes":"Replaced toner"}"#,
    );
    assert_eq!(s, 200);
    assert_eq!(v["result"]["state"], "Resolved");
    assert_eq!(v["result"]["resolved_by"]["display_value"], "Dana Desk");
    assert_eq!(v["result"]["sys_mod_count"], "2");

    // Display values render the journal, newest first.
    let (_, _, v) =
        get(&sn, &format!("table/incident/{id}?sysparm_display_value=true&sysparm_fields=comments_and_work_notes"));
    let text = v["result"]["comments_and_work_notes"].as_str().unwrap();
    assert!(text.contains("Alex Approver (Additional comments)\nOn it"), "{text}");
    assert!(text.find("On it").unwrap() < text.find("Took the call").unwrap());

    let (s, _, v) = call(&sn, "dana.desk", "DELETE", &format!("table/incident/{id}"), "");
    assert_eq!((s, v), (204, Value::Null));
    assert_eq!(get(&sn, &format!("table/incident/{id}")).0, 404);
}

#[test]
fn approving_advances_the_requested_item() {
    let sn = build();
    let riley = user_id(&sn, "riley.requester");
    let ritm = sn.find("sc_req_item", "requested_for", &riley)[0].clone();
    assert_eq!(ritm["short_description"], "Access request: aws-prod-readonly for Riley Requester");
    assert_eq!(ritm["approval"], "requested");
    let rows = sn.find("sysapproval_approver", "sysapproval", &ritm["sys_id"]);
    let morgan = user_id(&sn, "morgan.manager");
    let alex = user_id(&sn, "alex.approver");
    let step1 = rows.iter().find(|r| r["approver"] == morgan).unwrap();
    let step2 = rows.iter().find(|r| r["approver"] == alex).unwrap();
    assert_eq!((step1["state"].as_str(), step2["state"].as_str()), ("requested", "not requested"));

    let (s, _, _) = call(
        &sn,
        "morgan.manager",
        "PATCH",
        &format!("table/sysapproval_approver/{}", step1["sys_id"]),
        r#"{"state":"approved","comments":"OK for the on-call week"}"#,
    );
    assert_eq!(s, 200);
    assert_eq!(sn.record("sysapproval_approver", &step2["sys_id"]).unwrap()["state"], "requested", "step 2 asked");
    assert_eq!(sn.record("sc_req_item", &ritm["sys_id"]).unwrap()["approval"], "requested");
    call(
        &sn,
        "alex.approver",
        "PATCH",
        &format!("table/sysapproval_approver/{}", step2["sys_id"]),
        r#"{"state":"approved"}"#,
    );
    let after = sn.record("sc_req_item", &ritm["sys_id"]).unwrap();
    assert_eq!((after["approval"].as_str(), after["stage"].as_str()), ("approved", "fulfillment"));
    assert_eq!(sn.record("sc_request", &ritm["request"]).unwrap()["request_state"], "in_process");
    let comments = sn.find("sys_journal_field", "element_id", &step1["sys_id"]);
    assert_eq!(comments[0]["value"], "OK for the on-call week");
}

#[test]
fn any_of_a_group_decides_a_standard_request() {
    let sn = build();
    let dana = user_id(&sn, "dana.desk");
    let mine: Vec<_> =
        sn.find("sysapproval_approver", "approver", &dana).into_iter().filter(|r| r["state"] == "requested").collect();
    assert!(mine.len() >= 2, "dana has standard requests to approve");
    let row = &mine[0];
    let others = sn.find("sysapproval_approver", "sysapproval", &row["sysapproval"]);
    assert_eq!(others.len(), 4, "one row per it-approvers-standard member but the requester");
    call(
        &sn,
        "dana.desk",
        "PATCH",
        &format!("table/sysapproval_approver/{}", row["sys_id"]),
        r#"{"state":"rejected","comments":"Use Teams"}"#,
    );
    for r in sn.find("sysapproval_approver", "sysapproval", &row["sysapproval"]) {
        let want = if r["sys_id"] == row["sys_id"] { "rejected" } else { "not_required" };
        assert_eq!(r["state"], want);
    }
    let ritm = sn.record("sc_req_item", &row["sysapproval"]).unwrap();
    assert_eq!(
        (ritm["approval"].as_str(), ritm["state"].as_str(), ritm["active"].as_str()),
        ("rejected", "4", "false")
    );
}

#[test]
fn aggregate_counts_and_groups() {
    let sn = world();
    let (_, _, v) = get(sn, "stats/incident?sysparm_count=true&sysparm_query=active%3Dtrue");
    let active = all_incidents(sn).iter().filter(|r| r["active"] == "true").count();
    assert_eq!(v["result"]["stats"]["count"], active.to_string());
    let (_, _, v) =
        get(sn, "stats/incident?sysparm_count=true&sysparm_group_by=priority&sysparm_avg_fields=reassignment_count");
    let groups = v["result"].as_array().unwrap();
    let sum: usize = groups.iter().map(|g| g["stats"]["count"].as_str().unwrap().parse::<usize>().unwrap()).sum();
    assert_eq!(sum, all_incidents(sn).len());
    assert_eq!(groups[0]["groupby_fields"][0]["field"], "priority");
    assert_eq!(groups[0]["stats"]["avg"]["reassignment_count"], "0.0000");
    // Name-value filters with a choice label.
    let (_, _, v) = get(sn, "stats/incident?sysparm_count=true&state=closed");
    let closed = all_incidents(sn).iter().filter(|r| r["state"] == "7").count();
    assert_eq!(v["result"]["stats"]["count"], closed.to_string());
}

#[test]
fn batch_runs_each_request_like_a_top_level_one() {
    let sn = build();
    let b64 = base64::engine::general_purpose::STANDARD;
    let riley_inc = &sn
        .find("incident", "short_description", "Locked out of Okta - cannot sign in")
        .into_iter()
        .find(|r| r["caller_id"] == user_id(&sn, "riley.requester"))
        .unwrap();
    let body = serde_json::json!({
        "batch_request_id": 7,
        "rest_requests": [
            {"id": "a", "method": "PATCH", "url": format!("/api/now/table/incident/{}?sysparm_display_value=all", riley_inc["sys_id"]),
             "headers": [{"name": "Content-Type", "value": "application/json"}],
             "body": b64.encode(r#"{"assigned_to":"dana.desk","work_notes":"Calling Riley"}"#)},
            {"id": "b", "method": "GET", "url": "/api/now/table/incident?sysparm_limit=1", "exclude_response_headers": true,
             "headers": []},
            {"id": "c", "method": "DELETE", "url": "/api/now/table/incident/ffffffffffffffffffffffffffffffff", "headers": []},
        ]
    });
    let (s, _, v) = call(&sn, "dana.desk", "POST", "v1/batch", &body.to_string());
    assert_eq!(s, 200);
    assert_eq!(v["batch_request_id"], "7");
    let served = v["serviced_requests"].as_array().unwrap();
    assert_eq!(served.len(), 3);
    assert_eq!(served[0]["status_code"], 200);
    let inner: Value = serde_json::from_slice(&b64.decode(served[0]["body"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(inner["result"]["sys_mod_count"]["value"], "1");
    assert_eq!(served[1]["status_code"], 200);
    assert_eq!(served[1]["headers"], serde_json::json!([]));
    assert_eq!(served[2]["status_code"], 404);
    assert_eq!(v["unserviced_requests"], serde_json::json!([]));
    let after = sn.record("incident", &riley_inc["sys_id"]).unwrap();
    // "dana.desk" is not a display value (names are), so the reference keeps what was sent.
    assert_eq!(after["assigned_to"], "dana.desk");
}

#[test]
fn single_quoted_bodies_from_the_docs_are_read() {
    let sn = build();
    let (s, _, v) = call(
        &sn,
        "dana.desk",
        "POST",
        "table/incident",
        "{'short_description':'Unable to connect to office wifi','urgency':'2','impact':'2'}",
    );
    assert_eq!(s, 201);
    assert_eq!(v["result"]["priority"], "3");
}

#[test]
fn seeded_world_tells_the_stories() {
    let sn = world();
    let riley = user_id(sn, "riley.requester");
    let lockout: Vec<_> =
        sn.find("incident", "caller_id", &riley).into_iter().filter(|r| r["active"] == "true").collect();
    assert_eq!(lockout.len(), 1);
    let inc = &lockout[0];
    assert_eq!(inc["short_description"], "Locked out of Okta - cannot sign in");
    assert_eq!(inc["priority"], "2");
    assert_eq!(inc["assigned_to"], "");
    assert_eq!(inc["opened_at"], "2025-03-12 14:20:00");
    let sd = sn.find("sys_user_group", "name", "Service Desk")[0]["sys_id"].clone();
    assert_eq!(inc["assignment_group"], sd);
    for g in ["Service Desk", "IAM", "Network", "End User Computing", "Security Operations"] {
        assert_eq!(sn.find("sys_user_group", "name", g).len(), 1, "{g}");
    }
    let unassigned_sd = numbers(sn, "incident", &format!("active=true^assignment_group={sd}^assigned_toISEMPTY"));
    assert!(unassigned_sd.len() >= 10, "dana's queue");
    let casey = user_id(sn, "casey.contractor");
    let ritms = sn.find("sc_req_item", "requested_for", &casey);
    assert_eq!(ritms.len(), 1);
    assert_eq!((ritms[0]["state"].as_str(), ritms[0]["approval"].as_str()), ("3", "approved"));
    let sam = user_id(sn, "sam.security");
    let sams = sn.find("sysapproval_approver", "approver", &sam);
    assert!(sams.iter().any(|r| r["state"] == "requested"));
    assert!(sams.iter().any(|r| r["state"] == "approved"));
    let total: usize = ["incident", "sc_request", "sc_req_item", "sc_task"].iter().map(|t| sn.count(t).unwrap()).sum();
    assert_eq!(total, 1_000);
    let open: usize =
        ["incident", "sc_request", "sc_req_item", "sc_task"].iter().map(|t| numbers(sn, t, "active=true").len()).sum();
    assert!((250..=350).contains(&open), "{open} open tickets");
    // Every ServiceNow user is a person of the shared world, email = user_name@example.com.
    let people = people::generate(&spec());
    assert_eq!(sn.count("sys_user").unwrap(), people.people.len());
    for p in people.people.iter().take(50) {
        let u = &sn.find("sys_user", "user_name", &p.user_name)[0];
        assert_eq!(u["email"], p.email);
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = build();
    assert_eq!(a.canonical_hash(), world().canonical_hash());
    let other = spec();
    let other = WorldSpec { seed: 2, ..other };
    let b = ServiceNow::build(&other, &people::generate(&other), None);
    assert_ne!(a.canonical_hash(), b.canonical_hash());
}
