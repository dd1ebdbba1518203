//! Inserts, updates and deletes with the platform behaviour a client can observe: `sys_*`
//! fields kept by the system, journals appended to `sys_journal_field`, incident priority from
//! impact × urgency, state side effects (`active`, `resolved_at`, `closed_at`…), a data policy
//! that refuses Resolved/Closed without a resolution code and notes, and a small approval
//! workflow that advances the requested item when its approvers decide.

use serde_json::{Map, Value};

use super::filter::display;
use super::schema::FieldType;
use super::seed;
use super::store::{Db, EMPTY, RowId};

/// A refusal in ServiceNow's error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `error.message`.
    pub message: String,
    /// `error.detail` (`null` when `None`).
    pub detail: Option<String>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: u16, message: impl Into<String>, detail: Option<String>) -> Self {
        ApiError { status, message: message.into(), detail }
    }
}

/// Who writes, and when.
pub struct Actor<'a> {
    /// `sys_user.sys_id` of the caller.
    pub sys_id: &'a str,
    /// `sys_user.user_name` of the caller.
    pub user_name: &'a str,
    /// Now, `yyyy-MM-dd HH:mm:ss`.
    pub now: &'a str,
}

/// A body value as the platform stores it: strings as they are, numbers and booleans as their
/// text, `null` as empty, and `{"value": …}` objects (what `display_value=all` returns) by value.
fn text_of(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => return o.get("value").and_then(text_of),
        Value::Array(_) => return None,
    })
}

/// Turns an input value into the stored value for a field: with `sysparm_input_display_value`
/// choice labels and reference display values are looked up; references given by display value
/// are resolved either way when they name exactly one record.
fn stored_value(db: &Db, ty: &FieldType, raw: String, input_display: bool) -> String {
    match ty {
        FieldType::Choice { choices, .. } if input_display => {
            choices.iter().find(|c| c.label.eq_ignore_ascii_case(&raw)).map(|c| c.value.to_string()).unwrap_or(raw)
        }
        FieldType::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" => "true".into(),
            "false" | "0" => "false".into(),
            _ => raw,
        },
        FieldType::Reference(target) if !raw.is_empty() => {
            if let Some(sym) = db.strings.lookup(&raw) {
                if db.resolve(target, sym).is_some() {
                    return raw;
                }
                let tables: Vec<&str> =
                    if *target == "task" { super::schema::TASK_TABLES.to_vec() } else { vec![*target] };
                let mut found = Vec::new();
                for t in tables {
                    let Some(table) = db.table(t) else { continue };
                    let (dcol, idc) = (table.schema.display_col(), table.schema.col("sys_id").unwrap_or(0));
                    found.extend(table.rows().filter(|&r| table.cell(r, dcol) == sym).map(|r| table.cell(r, idc)));
                }
                if found.len() == 1 {
                    return db.strings.get(found[0]).to_string();
                }
            }
            raw
        }
        _ => raw,
    }
}

/// The body's fields that a client may set on `table`: sys_* fields are ignored (except a
/// fresh `sys_id` on insert), unknown fields are ignored, journals are split out.
struct Changes {
    fields: Vec<(usize, String)>,
    journals: Vec<(&'static str, String)>,
}

fn changes(db: &Db, table: usize, body: &Map<String, Value>, input_display: bool, insert: bool) -> Changes {
    let schema = &db.table_at(table).schema;
    let mut out = Changes { fields: Vec::new(), journals: Vec::new() };
    for (name, v) in body {
        let Some(col) = schema.col(name) else { continue };
        let f = &schema.fields[col];
        if name.starts_with("sys_") && !(insert && name == "sys_id") {
            continue;
        }
        let Some(text) = text_of(v) else { continue };
        match f.ty {
            FieldType::Journal => {
                if !text.trim().is_empty() {
                    out.journals.push((f.name, text));
                }
            }
            FieldType::JournalList => {}
            _ => out.fields.push((col, stored_value(db, &f.ty, text, input_display))),
        }
    }
    out
}

/// Reads the current value of a field, or the pending change to it.
fn current(db: &Db, table: usize, row: Option<RowId>, pending: &[(usize, String)], name: &str) -> String {
    let Some(col) = db.table_at(table).schema.col(name) else { return String::new() };
    if let Some((_, v)) = pending.iter().rev().find(|(c, _)| *c == col) {
        return v.clone();
    }
    row.map(|r| db.value(table, r, col).to_string()).unwrap_or_default()
}

fn put(db: &Db, table: usize, pending: &mut Vec<(usize, String)>, name: &str, value: impl Into<String>) {
    if let Some(col) = db.table_at(table).schema.col(name) {
        pending.retain(|(c, _)| *c != col);
        pending.push((col, value.into()));
    }
}

/// Incident and task business rules on a proposed change; the data policy check.
fn business_rules(
    db: &Db,
    table: usize,
    row: Option<RowId>,
    pending: &mut Vec<(usize, String)>,
    actor: &Actor<'_>,
) -> Result<(), ApiError> {
    let schema = &db.table_at(table).schema;
    if !schema.is_task() {
        return Ok(());
    }
    let name = schema.name;
    let get = |p: &Vec<(usize, String)>, f: &str| current(db, table, row, p, f);
    let before_state = row.map(|r| current(db, table, Some(r), &[], "state")).unwrap_or_default();
    if name == "incident" {
        let impact: u8 = get(pending, "impact").parse().unwrap_or(3);
        let urgency: u8 = get(pending, "urgency").parse().unwrap_or(3);
        put(db, table, pending, "priority", seed::priority(impact.clamp(1, 3), urgency.clamp(1, 3)).to_string());
        let state = get(pending, "state");
        put(db, table, pending, "incident_state", state.clone());
        if matches!(state.as_str(), "6" | "7") {
            // The stock data policy: resolving needs a resolution code and notes.
            let mut missing = Vec::new();
            for f in ["close_code", "close_notes"] {
                if get(pending, f).trim().is_empty() {
                    let label = schema.field(f).map(|d| d.label).unwrap_or(f);
                    missing.push(format!("{label} ({f})"));
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::new(
                    403,
                    "Operation Failed",
                    Some(format!("Data Policy Exception: the following fields are mandatory: {}", missing.join(", "))),
                ));
            }
        }
        if state != before_state {
            if state == "6" && get(pending, "resolved_at").is_empty() {
                put(db, table, pending, "resolved_at", actor.now);
                put(db, table, pending, "resolved_by", actor.sys_id);
            }
            if matches!(state.as_str(), "7" | "8") && get(pending, "closed_at").is_empty() {
                put(db, table, pending, "closed_at", actor.now);
                put(db, table, pending, "closed_by", actor.sys_id);
            }
            if matches!(state.as_str(), "1" | "2" | "3") {
                for f in ["resolved_at", "resolved_by", "closed_at", "closed_by"] {
                    put(db, table, pending, f, "");
                }
            }
        }
        put(db, table, pending, "active", if matches!(state.as_str(), "7" | "8") { "false" } else { "true" });
    } else {
        let state = get(pending, "state");
        let closed = matches!(state.as_str(), "3" | "4" | "7");
        if state != before_state && closed && get(pending, "closed_at").is_empty() {
            put(db, table, pending, "closed_at", actor.now);
            put(db, table, pending, "closed_by", actor.sys_id);
        }
        put(db, table, pending, "active", if closed { "false" } else { "true" });
    }
    if let Some(r) = row {
        let gcol = schema.col("assignment_group");
        let changed = gcol.is_some_and(|c| pending.iter().any(|(pc, v)| *pc == c && v != db.value(table, r, c)));
        if changed {
            let n: u64 = get(pending, "reassignment_count").parse().unwrap_or(0);
            put(db, table, pending, "reassignment_count", (n + 1).to_string());
        }
    }
    Ok(())
}

fn add_journal(db: &mut Db, table: &str, element: &str, element_id: &str, text: &str, actor: &Actor<'_>) {
    let Some(jt) = db.table_index("sys_journal_field") else { return };
    let id = new_sys_id(db);
    db.insert(
        jt,
        &[
            ("sys_id", &id),
            ("element", element),
            ("element_id", element_id),
            ("name", table),
            ("value", text),
            ("sys_created_on", actor.now),
            ("sys_created_by", actor.user_name),
        ],
    );
}

/// A fresh random sys_id (runtime records need no determinism).
pub fn new_sys_id(db: &Db) -> String {
    loop {
        let id = uuid::Uuid::new_v4().simple().to_string();
        if db.strings.lookup(&id).is_none() {
            return id;
        }
    }
}

/// Inserts a record built from `body`; returns its row.
pub fn insert(
    db: &mut Db,
    table: usize,
    body: &Map<String, Value>,
    input_display: bool,
    actor: &Actor<'_>,
) -> Result<RowId, ApiError> {
    let Changes { fields, journals } = changes(db, table, body, input_display, true);
    let schema = db.table_at(table).schema.clone();
    let mut pending: Vec<(usize, String)> = Vec::new();
    let id_col = schema.col("sys_id").unwrap_or(0);
    let mut sys_id = new_sys_id(db);
    for (col, v) in fields {
        if col == id_col {
            let fresh = v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit());
            if fresh && db.strings.lookup(&v).is_none_or(|s| db.table_at(table).find(s).is_none()) {
                sys_id = v.to_ascii_lowercase();
            }
            continue;
        }
        pending.push((col, v));
    }
    let mut defaults: Vec<(&str, String)> = vec![
        ("sys_id", sys_id.clone()),
        ("sys_created_on", actor.now.into()),
        ("sys_created_by", actor.user_name.into()),
        ("sys_updated_on", actor.now.into()),
        ("sys_updated_by", actor.user_name.into()),
        ("sys_mod_count", "0".into()),
    ];
    if schema.is_task() {
        let n = db.table_at(table).last_number + 1;
        db.table_mut(table).last_number = n;
        let prefix = schema.number_prefix.unwrap_or("TKT");
        defaults.extend([
            ("number", format!("{prefix}{n:07}")),
            ("state", "1".into()),
            ("impact", "3".into()),
            ("urgency", "3".into()),
            ("priority", "5".into()),
            ("opened_at", actor.now.into()),
            ("opened_by", actor.sys_id.into()),
            ("approval", "not requested".into()),
            ("escalation", "0".into()),
            ("upon_approval", "proceed".into()),
            ("upon_reject", "cancel".into()),
            ("made_sla", "true".into()),
            ("knowledge", "false".into()),
            ("reassignment_count", "0".into()),
            ("sys_domain", "global".into()),
            ("sys_domain_path", "/".into()),
            ("sys_class_name", schema.name.into()),
        ]);
        match schema.name {
            "incident" => defaults.extend([
                ("category", "inquiry".into()),
                ("severity", "3".into()),
                ("notify", "1".into()),
                ("reopen_count", "0".into()),
                ("child_incidents", "0".into()),
            ]),
            "sc_request" => defaults.extend([("request_state", "submitted".into()), ("price", "0".into())]),
            "sc_req_item" => defaults.extend([("quantity", "1".into()), ("price", "0".into())]),
            _ => {}
        }
    }
    match schema.name {
        "sys_user" => defaults.extend([("active", "true".into()), ("sys_class_name", "sys_user".into())]),
        "sys_user_group" => defaults.push(("active", "true".into())),
        "sysapproval_approver" => defaults.extend([("state", "requested".into()), ("iteration", "1".into())]),
        "sys_choice" => defaults.extend([("inactive", "false".into()), ("language", "en".into())]),
        _ => {}
    }
    // Defaults first, then what the client sent.
    let mut all: Vec<(usize, String)> =
        defaults.into_iter().filter_map(|(f, v)| schema.col(f).map(|c| (c, v))).collect();
    for (c, v) in pending {
        all.retain(|(ac, _)| *ac != c);
        all.push((c, v));
    }
    if schema.name == "sys_user" && current(db, table, None, &all, "name").is_empty() {
        let name =
            format!("{} {}", current(db, table, None, &all, "first_name"), current(db, table, None, &all, "last_name"));
        put(db, table, &mut all, "name", name.trim().to_string());
    }
    if schema.name == "sysapproval_approver" {
        let doc = current(db, table, None, &all, "sysapproval");
        if let Some((dt, _)) = db.strings.lookup(&doc).and_then(|s| db.resolve("task", s)) {
            let tname = db.table_at(dt).name();
            if current(db, table, None, &all, "document_id").is_empty() {
                put(db, table, &mut all, "document_id", doc.clone());
            }
            if current(db, table, None, &all, "source_table").is_empty() {
                put(db, table, &mut all, "source_table", tname);
            }
        }
    }
    business_rules(db, table, None, &mut all, actor)?;
    let mut cells = vec![EMPTY; schema.fields.len()];
    for (c, v) in &all {
        cells[*c] = db.strings.intern(v);
    }
    let row = db.push_cells(table, cells);
    for (element, text) in journals {
        add_journal(db, schema.name, element, &sys_id, &text, actor);
    }
    Ok(row)
}

/// Updates `row` with `body` (PATCH and PUT alike, as documented).
pub fn update(
    db: &mut Db,
    table: usize,
    row: RowId,
    body: &Map<String, Value>,
    input_display: bool,
    actor: &Actor<'_>,
) -> Result<(), ApiError> {
    let Changes { fields, journals } = changes(db, table, body, input_display, false);
    let mut pending = fields;
    business_rules(db, table, Some(row), &mut pending, actor)?;
    let changed: Vec<(usize, String)> =
        pending.into_iter().filter(|(c, v)| db.value(table, row, *c) != v.as_str()).collect();
    if changed.is_empty() && journals.is_empty() {
        return Ok(());
    }
    let schema = db.table_at(table).schema.clone();
    let state_col = schema.col("state");
    let old_state = state_col.map(|c| db.value(table, row, c).to_string());
    for (c, v) in &changed {
        db.set(table, row, *c, v);
    }
    touch(db, table, row, actor);
    let id = schema.col("sys_id").map(|c| db.value(table, row, c).to_string()).unwrap_or_default();
    for (element, text) in journals {
        add_journal(db, schema.name, element, &id, &text, actor);
    }
    if schema.name == "sysapproval_approver" {
        let new_state = state_col.map(|c| db.value(table, row, c).to_string());
        if new_state != old_state {
            approval_decided(db, table, row, actor);
        }
    }
    Ok(())
}

/// Bumps `sys_mod_count` and stamps `sys_updated_on`/`sys_updated_by`.
fn touch(db: &mut Db, table: usize, row: RowId, actor: &Actor<'_>) {
    let schema = db.table_at(table).schema.clone();
    if let Some(c) = schema.col("sys_mod_count") {
        let n: u64 = db.value(table, row, c).parse().unwrap_or(0);
        db.set(table, row, c, &(n + 1).to_string());
    }
    if let Some(c) = schema.col("sys_updated_on") {
        db.set(table, row, c, actor.now);
    }
    if let Some(c) = schema.col("sys_updated_by") {
        db.set(table, row, c, actor.user_name);
    }
}

/// Sets fields on a record as the workflow does (no business-rule checks), touching it once.
fn workflow_set(db: &mut Db, table: usize, row: RowId, values: &[(&str, &str)], actor: &Actor<'_>) {
    let schema = db.table_at(table).schema.clone();
    let mut any = false;
    for (f, v) in values {
        if let Some(c) = schema.col(f) {
            if db.value(table, row, c) != *v {
                db.set(table, row, c, v);
                any = true;
            }
        }
    }
    if any {
        touch(db, table, row, actor);
    }
}

/// The approval workflow: approvers with the same `order` form one step that any of them
/// decides; a rejection ends the request; when the last step is approved the requested item
/// moves to fulfilment (its request follows).
fn approval_decided(db: &mut Db, table: usize, row: RowId, actor: &Actor<'_>) {
    let schema = db.table_at(table).schema.clone();
    let (Some(c_state), Some(c_doc), Some(c_order), Some(c_id)) =
        (schema.col("state"), schema.col("sysapproval"), schema.col("order"), schema.col("sys_id"))
    else {
        return;
    };
    let state = db.value(table, row, c_state).to_string();
    let doc = db.table_at(table).cell(row, c_doc);
    let order = db.value(table, row, c_order).to_string();
    let me = db.table_at(table).cell(row, c_id);
    let siblings: Vec<RowId> = db.table_at(table).indexed_rows(c_doc, doc).into_iter().filter(|&r| r != row).collect();
    let get = |db: &Db, r: RowId, c: usize| db.value(table, r, c).to_string();
    let _ = me;
    let mut document_outcome = None;
    match state.as_str() {
        "approved" => {
            for &r in &siblings {
                if get(db, r, c_state) == "requested" && get(db, r, c_order) == order {
                    workflow_set(db, table, r, &[("state", "not_required")], actor);
                }
            }
            let still_waiting = siblings.iter().any(|&r| get(db, r, c_state) == "requested");
            if !still_waiting {
                let next: Option<u64> = siblings
                    .iter()
                    .filter(|&&r| get(db, r, c_state) == "not requested")
                    .filter_map(|&r| get(db, r, c_order).parse().ok())
                    .min();
                match next {
                    Some(n) => {
                        for &r in &siblings {
                            if get(db, r, c_state) == "not requested" && get(db, r, c_order) == n.to_string() {
                                workflow_set(db, table, r, &[("state", "requested")], actor);
                            }
                        }
                    }
                    None => document_outcome = Some(true),
                }
            }
        }
        "rejected" => {
            for &r in &siblings {
                if matches!(get(db, r, c_state).as_str(), "requested" | "not requested") {
                    workflow_set(db, table, r, &[("state", "not_required")], actor);
                }
            }
            document_outcome = Some(false);
        }
        _ => {}
    }
    let Some(approved) = document_outcome else { return };
    let Some((dt, drow)) = db.resolve("task", doc) else { return };
    let dname = db.table_at(dt).name();
    if dname == "sc_req_item" {
        if approved {
            workflow_set(db, dt, drow, &[("approval", "approved"), ("stage", "fulfillment"), ("state", "2")], actor);
        } else {
            workflow_set(
                db,
                dt,
                drow,
                &[
                    ("approval", "rejected"),
                    ("stage", "Request Cancelled"),
                    ("state", "4"),
                    ("active", "false"),
                    ("closed_at", actor.now),
                    ("closed_by", actor.sys_id),
                ],
                actor,
            );
        }
        let req_col = db.table_at(dt).schema.col("request");
        let req = req_col.map(|c| db.table_at(dt).cell(drow, c)).unwrap_or(EMPTY);
        if let Some((rt, rrow)) = db.resolve("sc_request", req) {
            if approved {
                workflow_set(
                    db,
                    rt,
                    rrow,
                    &[("approval", "approved"), ("request_state", "in_process"), ("stage", "fulfillment")],
                    actor,
                );
            } else {
                workflow_set(
                    db,
                    rt,
                    rrow,
                    &[
                        ("approval", "rejected"),
                        ("request_state", "closed_rejected"),
                        ("stage", "Request Cancelled"),
                        ("state", "4"),
                        ("active", "false"),
                        ("closed_at", actor.now),
                    ],
                    actor,
                );
            }
        }
    } else {
        workflow_set(db, dt, drow, &[("approval", if approved { "approved" } else { "rejected" })], actor);
    }
}

/// Deletes a record.
pub fn delete(db: &mut Db, table: usize, row: RowId) {
    db.delete(table, row);
}

/// A readable name for a record in messages (its display value).
pub fn describe(db: &Db, table: usize, row: RowId) -> String {
    let t = db.table_at(table);
    let c = t.schema.display_col();
    display(db, &t.schema.fields[c].ty, t.cell(row, c)).into_owned()
}
