//! Table schemas: which fields each emulated table has, their types, labels and choice lists.
//!
//! The field sets follow the official samples (`table-get-by-sysid-incident.response.json` and
//! friends): every field of a record is returned, empty ones as `""`. Types decide how a value
//! is displayed (choice labels, reference display values), compared (numbers numerically) and
//! written (journals append to `sys_journal_field`).

use std::sync::Arc;

/// One entry of a choice list (`sys_choice`).
#[derive(Debug, Clone)]
pub struct Choice {
    /// Stored value.
    pub value: &'static str,
    /// Label shown with display values.
    pub label: &'static str,
}

/// How a field stores, shows and compares its values.
#[derive(Debug, Clone)]
pub enum FieldType {
    /// Free text.
    String,
    /// The record's own 32-hex id.
    SysId,
    /// Whole number (compared numerically).
    Integer,
    /// `true` / `false`.
    Boolean,
    /// One of a fixed list; `numeric` choice values compare as numbers.
    Choice {
        /// The list, in sequence order.
        choices: Arc<[Choice]>,
        /// Whether every value is a number (state, priority…).
        numeric: bool,
    },
    /// A sys_id of a record in another table. `task` means any ticket table.
    Reference(&'static str),
    /// `yyyy-MM-dd HH:mm:ss`, UTC.
    DateTime,
    /// `yyyy-MM-dd`.
    Date,
    /// Write-only journal (`work_notes`, `comments`): writing appends to `sys_journal_field`.
    Journal,
    /// Read-only rendering of several journals (`comments_and_work_notes`).
    JournalList,
}

impl FieldType {
    /// True for types whose values compare as numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Choice { numeric: true, .. })
    }
}

/// One field of a table.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Column name.
    pub name: &'static str,
    /// Human label (used in data-policy messages and `sys_choice`).
    pub label: &'static str,
    /// Type.
    pub ty: FieldType,
}

/// A table's fields and what identifies its records to people.
#[derive(Debug)]
pub struct TableSchema {
    /// Table name (`incident`).
    pub name: &'static str,
    /// Human label (`Incident`).
    pub label: &'static str,
    /// Fields, in the order they are rendered.
    pub fields: Vec<FieldDef>,
    /// Field whose value is the display value of a reference to this table.
    pub display_field: &'static str,
    /// Prefix of the `number` field for ticket tables (`INC`), if any.
    pub number_prefix: Option<&'static str>,
    index: super::store::FxMap<&'static str, usize>,
}

impl TableSchema {
    fn new(
        name: &'static str,
        label: &'static str,
        display_field: &'static str,
        number_prefix: Option<&'static str>,
        fields: Vec<FieldDef>,
    ) -> Self {
        let index = fields.iter().enumerate().map(|(i, f)| (f.name, i)).collect();
        TableSchema { name, label, fields, display_field, number_prefix, index }
    }

    /// Position of a field, if the table has it.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The field definition by name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.col(name).map(|i| &self.fields[i])
    }

    /// Column of the display field.
    pub fn display_col(&self) -> usize {
        self.col(self.display_field).unwrap_or(0)
    }

    /// True for the task-derived ticket tables.
    pub fn is_task(&self) -> bool {
        self.number_prefix.is_some()
    }
}

macro_rules! choices {
    ($( $v:literal => $l:literal ),* $(,)?) => {
        Arc::from(vec![$( Choice { value: $v, label: $l } ),*])
    };
}

fn f(name: &'static str, label: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, label, ty }
}
fn s(name: &'static str, label: &'static str) -> FieldDef {
    f(name, label, FieldType::String)
}
fn int(name: &'static str, label: &'static str) -> FieldDef {
    f(name, label, FieldType::Integer)
}
fn flag(name: &'static str, label: &'static str) -> FieldDef {
    f(name, label, FieldType::Boolean)
}
fn dt(name: &'static str, label: &'static str) -> FieldDef {
    f(name, label, FieldType::DateTime)
}
fn reference(name: &'static str, label: &'static str, table: &'static str) -> FieldDef {
    f(name, label, FieldType::Reference(table))
}
fn choice(name: &'static str, label: &'static str, choices: Arc<[Choice]>) -> FieldDef {
    let numeric = choices.iter().all(|c| c.value.parse::<i64>().is_ok());
    f(name, label, FieldType::Choice { choices, numeric })
}
fn journal(name: &'static str, label: &'static str) -> FieldDef {
    f(name, label, FieldType::Journal)
}

/// The `sys_*` fields every table has.
fn sys_fields() -> Vec<FieldDef> {
    vec![
        f("sys_id", "Sys ID", FieldType::SysId),
        dt("sys_created_on", "Created"),
        s("sys_created_by", "Created by"),
        dt("sys_updated_on", "Updated"),
        s("sys_updated_by", "Updated by"),
        int("sys_mod_count", "Updates"),
        s("sys_tags", "Tags"),
    ]
}

/// Task states shared by requests, requested items and catalog tasks.
pub fn task_states() -> Arc<[Choice]> {
    choices!["-5" => "Pending", "1" => "Open", "2" => "Work in Progress", "3" => "Closed Complete",
        "4" => "Closed Incomplete", "7" => "Closed Skipped"]
}

/// Incident states (ServiceNow's stock list).
pub fn incident_states() -> Arc<[Choice]> {
    choices!["1" => "New", "2" => "In Progress", "3" => "On Hold", "6" => "Resolved", "7" => "Closed",
        "8" => "Canceled"]
}

/// Approval states, shared by the task `approval` field and `sysapproval_approver.state`.
pub fn approval_states() -> Arc<[Choice]> {
    choices!["not requested" => "Not Yet Requested", "requested" => "Requested", "approved" => "Approved",
        "rejected" => "Rejected", "cancelled" => "Cancelled", "not_required" => "No Longer Required",
        "duplicate" => "Duplicate"]
}

/// Incident resolution codes (`close_code`).
pub fn close_codes() -> Arc<[Choice]> {
    choices!["Duplicate" => "Duplicate", "Known error" => "Known error", "Resolved by caller" => "Resolved by caller",
        "Resolved by change" => "Resolved by change", "Resolved by problem" => "Resolved by problem",
        "Solution provided" => "Solution provided", "Workaround provided" => "Workaround provided",
        "User error" => "User error"]
}

/// The fields of `task`, which every ticket table extends. `state` differs per table.
fn task_fields(states: Arc<[Choice]>) -> Vec<FieldDef> {
    let impact = || choices!["1" => "1 - High", "2" => "2 - Medium", "3" => "3 - Low"];
    let mut v = sys_fields();
    v.extend([
        s("number", "Number"),
        s("short_description", "Short description"),
        s("description", "Description"),
        choice("state", "State", states),
        flag("active", "Active"),
        choice("impact", "Impact", impact()),
        choice("urgency", "Urgency", impact()),
        choice(
            "priority",
            "Priority",
            choices!["1" => "1 - Critical", "2" => "2 - High", "3" => "3 - Moderate", "4" => "4 - Low",
                "5" => "5 - Planning"],
        ),
        reference("assignment_group", "Assignment group", "sys_user_group"),
        reference("assigned_to", "Assigned to", "sys_user"),
        reference("opened_by", "Opened by", "sys_user"),
        dt("opened_at", "Opened"),
        reference("closed_by", "Closed by", "sys_user"),
        dt("closed_at", "Closed"),
        s("close_notes", "Close notes"),
        choice("approval", "Approval", approval_states()),
        s("approval_history", "Approval history"),
        s("approval_set", "Approval set"),
        dt("sla_due", "SLA due"),
        flag("made_sla", "Made SLA"),
        dt("due_date", "Due date"),
        dt("activity_due", "Activity due"),
        dt("expected_start", "Expected start"),
        dt("follow_up", "Follow up"),
        dt("work_start", "Actual start"),
        dt("work_end", "Actual end"),
        choice(
            "contact_type",
            "Contact type",
            choices!["email" => "Email", "phone" => "Phone", "self-service" => "Self-service",
                "walk-in" => "Walk-in", "virtual_agent" => "Virtual Agent"],
        ),
        choice(
            "escalation",
            "Escalation",
            choices!["0" => "Normal", "1" => "Moderate", "2" => "High", "3" => "Overdue"],
        ),
        choice(
            "upon_approval",
            "Upon approval",
            choices!["proceed" => "Proceed to Next Task", "do_nothing" => "Wait for a User to Close this task"],
        ),
        choice(
            "upon_reject",
            "Upon reject",
            choices!["cancel" => "Cancel all future Tasks", "goto" => "Go to a previous Task"],
        ),
        int("reassignment_count", "Reassignment count"),
        reference("parent", "Parent", "task"),
        reference("location", "Location", "cmn_location"),
        reference("company", "Company", "core_company"),
        s("cmdb_ci", "Configuration item"),
        s("business_service", "Service"),
        s("watch_list", "Watch list"),
        s("work_notes_list", "Work notes list"),
        s("additional_assignee_list", "Additional assignee list"),
        s("group_list", "Group list"),
        journal("work_notes", "Work notes"),
        journal("comments", "Additional comments"),
        f("comments_and_work_notes", "Comments and Work notes", FieldType::JournalList),
        flag("knowledge", "Knowledge"),
        int("order", "Order"),
        s("correlation_id", "Correlation ID"),
        s("correlation_display", "Correlation display"),
        s("delivery_plan", "Delivery plan"),
        s("delivery_task", "Delivery task"),
        s("business_duration", "Business duration"),
        s("calendar_duration", "Duration"),
        s("time_worked", "Time worked"),
        s("user_input", "User input"),
        s("wf_activity", "Workflow activity"),
        s("rejection_goto", "Rejection goto"),
        reference("sys_domain", "Domain", "sys_user_group"),
        s("sys_domain_path", "Domain path"),
        s("sys_class_name", "Task type"),
    ]);
    v
}

fn incident() -> TableSchema {
    let mut v = task_fields(incident_states());
    v.extend([
        reference("caller_id", "Caller", "sys_user"),
        choice(
            "category",
            "Category",
            choices!["inquiry" => "Inquiry / Help", "software" => "Software", "hardware" => "Hardware",
                "network" => "Network", "database" => "Database", "access" => "Access"],
        ),
        s("subcategory", "Subcategory"),
        choice("incident_state", "Incident state", incident_states()),
        choice(
            "hold_reason",
            "On hold reason",
            choices!["1" => "Awaiting Caller", "3" => "Awaiting Problem", "4" => "Awaiting Vendor",
                "5" => "Awaiting Change"],
        ),
        choice("close_code", "Resolution code", close_codes()),
        reference("resolved_by", "Resolved by", "sys_user"),
        dt("resolved_at", "Resolved"),
        choice("severity", "Severity", choices!["1" => "1 - High", "2" => "2 - Medium", "3" => "3 - Low"]),
        choice("notify", "Notify", choices!["1" => "Do Not Notify", "2" => "Send Email"]),
        int("reopen_count", "Reopen count"),
        int("child_incidents", "Child incidents"),
        s("parent_incident", "Parent incident"),
        s("problem_id", "Problem"),
        s("rfc", "Change request"),
        s("caused_by", "Caused by Change"),
        s("calendar_stc", "Duration (seconds)"),
        s("business_stc", "Business resolve time"),
    ]);
    TableSchema::new("incident", "Incident", "number", Some("INC"), v)
}

/// Request states of `sc_request.request_state`.
pub fn request_states() -> Arc<[Choice]> {
    choices!["draft" => "Draft", "submitted" => "Submitted", "requested" => "Pending Approval",
        "in_process" => "Approved", "delivered" => "Delivered", "cancelled" => "Cancelled",
        "closed_incomplete" => "Closed Incomplete", "closed_complete" => "Closed Complete",
        "closed_cancelled" => "Closed Cancelled", "closed_rejected" => "Closed Rejected"]
}

/// Workflow stages of requests and requested items.
pub fn stages() -> Arc<[Choice]> {
    choices!["waiting_for_approval" => "Waiting for Approval", "request_approved" => "Approved",
        "fulfillment" => "Fulfillment", "delivery" => "Delivery", "complete" => "Completed",
        "Request Cancelled" => "Request Cancelled"]
}

fn sc_request() -> TableSchema {
    let mut v = task_fields(task_states());
    v.extend([
        reference("requested_for", "Requested for", "sys_user"),
        choice("request_state", "Request state", request_states()),
        choice("stage", "Stage", stages()),
        s("price", "Price"),
        s("special_instructions", "Special instructions"),
        s("delivery_address", "Delivery address"),
        f("requested_date", "Due date", FieldType::Date),
        s("calendar_stc", "Duration (seconds)"),
        s("business_stc", "Business resolve time"),
    ]);
    TableSchema::new("sc_request", "Request", "number", Some("REQ"), v)
}

fn sc_req_item() -> TableSchema {
    let mut v = task_fields(task_states());
    v.extend([
        reference("request", "Request", "sc_request"),
        reference("cat_item", "Item", "sc_cat_item"),
        reference("requested_for", "Requested for", "sys_user"),
        int("quantity", "Quantity"),
        choice("stage", "Stage", stages()),
        s("price", "Price"),
        s("recurring_price", "Recurring price"),
        flag("backordered", "Backordered"),
        dt("estimated_delivery", "Estimated delivery"),
        s("order_guide", "Order guide"),
        s("context", "Context"),
        flag("billable", "Billable"),
    ]);
    TableSchema::new("sc_req_item", "Requested Item", "number", Some("RITM"), v)
}

fn sc_task() -> TableSchema {
    let mut v = task_fields(task_states());
    v.extend([
        reference("request_item", "Request item", "sc_req_item"),
        reference("request", "Request", "sc_request"),
        s("calendar_stc", "Duration (seconds)"),
        s("business_stc", "Business resolve time"),
    ]);
    TableSchema::new("sc_task", "Catalog Task", "number", Some("SCTASK"), v)
}

fn sysapproval_approver() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        reference("approver", "Approver", "sys_user"),
        reference("sysapproval", "Approval for", "task"),
        f("document_id", "Approving", FieldType::String),
        s("source_table", "Source table"),
        choice("state", "State", approval_states()),
        journal("comments", "Comments"),
        dt("due_date", "Due date"),
        dt("expected_start", "Expected start"),
        s("group", "Group"),
        int("order", "Order"),
        s("approval_source", "Approval source"),
        int("iteration", "Iteration"),
        s("wf_activity", "Workflow activity"),
        s("process_step", "Process step"),
        s("approval_column", "Approval column"),
        s("approval_journal_column", "Approval journal column"),
        s("state_binding", "State binding"),
        reference("sys_domain", "Domain", "sys_user_group"),
    ]);
    TableSchema::new("sysapproval_approver", "Approval", "sysapproval", None, v)
}

fn sys_user() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("user_name", "User ID"),
        s("first_name", "First name"),
        s("last_name", "Last name"),
        s("name", "Name"),
        s("email", "Email"),
        s("title", "Title"),
        reference("manager", "Manager", "sys_user"),
        reference("department", "Department", "cmn_department"),
        reference("location", "Location", "cmn_location"),
        reference("company", "Company", "core_company"),
        flag("active", "Active"),
        flag("locked_out", "Locked out"),
        flag("vip", "VIP"),
        s("employee_number", "Employee number"),
        s("phone", "Business phone"),
        s("mobile_phone", "Mobile phone"),
        s("time_zone", "Time zone"),
        s("roles", "Roles"),
        s("source", "Source"),
        choice("notification", "Notification", choices!["1" => "Disable", "2" => "Enable"]),
        reference("sys_domain", "Domain", "sys_user_group"),
        s("sys_domain_path", "Domain path"),
        s("sys_class_name", "Class"),
    ]);
    TableSchema::new("sys_user", "User", "name", None, v)
}

fn sys_user_group() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("name", "Name"),
        s("description", "Description"),
        reference("manager", "Manager", "sys_user"),
        s("email", "Group email"),
        flag("active", "Active"),
        s("type", "Type"),
        reference("parent", "Parent", "sys_user_group"),
        s("roles", "Roles"),
        flag("include_members", "Include members"),
        flag("exclude_manager", "Exclude manager"),
        s("cost_center", "Cost center"),
        s("default_assignee", "Default assignee"),
        s("source", "Source"),
    ]);
    TableSchema::new("sys_user_group", "Group", "name", None, v)
}

fn sys_user_grmember() -> TableSchema {
    let mut v = sys_fields();
    v.extend([reference("user", "User", "sys_user"), reference("group", "Group", "sys_user_group")]);
    TableSchema::new("sys_user_grmember", "Group Member", "user", None, v)
}

fn sys_journal_field() -> TableSchema {
    let mut v = sys_fields();
    v.extend([s("element", "Element"), s("element_id", "Element ID"), s("name", "Table name"), s("value", "Value")]);
    TableSchema::new("sys_journal_field", "Journal Entry", "value", None, v)
}

fn sys_choice() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("name", "Table"),
        s("element", "Element"),
        s("value", "Value"),
        s("label", "Label"),
        int("sequence", "Sequence"),
        flag("inactive", "Inactive"),
        s("language", "Language"),
        s("dependent_value", "Dependent value"),
        s("hint", "Hint"),
    ]);
    TableSchema::new("sys_choice", "Choices", "label", None, v)
}

fn cmn_department() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("name", "Name"),
        s("id", "ID"),
        s("description", "Description"),
        reference("dept_head", "Department head", "sys_user"),
        int("head_count", "Head count"),
        reference("company", "Company", "core_company"),
        reference("parent", "Parent", "cmn_department"),
        s("cost_center", "Cost center"),
    ]);
    TableSchema::new("cmn_department", "Department", "name", None, v)
}

fn cmn_location() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("name", "Name"),
        s("full_name", "Full name"),
        s("street", "Street"),
        s("city", "City"),
        s("state", "State / Province"),
        s("zip", "Zip / Postal code"),
        s("country", "Country"),
        reference("company", "Company", "core_company"),
    ]);
    TableSchema::new("cmn_location", "Location", "name", None, v)
}

fn core_company() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("name", "Name"),
        s("stock_symbol", "Stock symbol"),
        s("city", "City"),
        s("country", "Country"),
        s("website", "Website"),
        flag("customer", "Customer"),
        flag("vendor", "Vendor"),
    ]);
    TableSchema::new("core_company", "Company", "name", None, v)
}

fn sc_cat_item() -> TableSchema {
    let mut v = sys_fields();
    v.extend([
        s("name", "Name"),
        s("short_description", "Short description"),
        s("description", "Description"),
        s("category", "Category"),
        flag("active", "Active"),
        s("price", "Price"),
        s("sys_class_name", "Class"),
    ]);
    TableSchema::new("sc_cat_item", "Catalog Item", "name", None, v)
}

/// Every emulated table, in a fixed order (the order of the canonical dump).
pub fn all() -> Vec<TableSchema> {
    vec![
        core_company(),
        cmn_location(),
        cmn_department(),
        sys_user(),
        sys_user_group(),
        sys_user_grmember(),
        sc_cat_item(),
        incident(),
        sc_request(),
        sc_req_item(),
        sc_task(),
        sysapproval_approver(),
        sys_journal_field(),
        sys_choice(),
    ]
}

/// The tables a `task` reference may point into, most common first.
pub const TASK_TABLES: [&str; 4] = ["incident", "sc_req_item", "sc_request", "sc_task"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_unique_per_table() {
        for t in all() {
            let mut names: Vec<_> = t.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate field in {}", t.name);
            assert!(t.col(t.display_field).is_some(), "{} lacks its display field", t.name);
        }
    }

    #[test]
    fn incident_has_every_field_of_the_official_sample() {
        let sample: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/data/servicenow/table-get-by-sysid-incident.response.json"
        ))
        .unwrap();
        let inc = incident();
        let missing: Vec<_> =
            sample["result"].as_object().unwrap().keys().filter(|k| inc.col(k).is_none()).cloned().collect();
        assert!(missing.is_empty(), "incident lacks {missing:?}");
    }
}
