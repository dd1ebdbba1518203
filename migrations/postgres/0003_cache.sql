-- The local cache of ServiceNow and Okta, so the console opens instantly and keeps working when
-- the services are slow or down. Times are microseconds since the Unix epoch (UTC). Rows are
-- replaced wholesale by sync; nothing here is the record of anything (the audit log is).

CREATE TABLE tickets (
    sys_id            TEXT    PRIMARY KEY,
    number            TEXT    NOT NULL,
    kind              TEXT    NOT NULL,     -- incident, request, requested_item, catalog_task
    short_description TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    state_label       TEXT    NOT NULL,
    priority          BIGINT  NOT NULL,
    active            BOOLEAN NOT NULL,
    caller_sys_id     TEXT    NOT NULL,
    caller_display    TEXT    NOT NULL,
    caller_email      TEXT    NOT NULL,
    group_sys_id      TEXT    NOT NULL,
    group_display     TEXT    NOT NULL,
    assigned_sys_id   TEXT    NOT NULL,
    assigned_display  TEXT    NOT NULL,
    category          TEXT    NOT NULL,
    parent_sys_id     TEXT    NOT NULL,
    parent_display    TEXT    NOT NULL,
    cat_item          TEXT    NOT NULL,
    opened_us         BIGINT  NOT NULL,
    updated_us        BIGINT  NOT NULL,
    updated_by        TEXT    NOT NULL,
    mod_count         BIGINT  NOT NULL,
    sla_due_us        BIGINT,
    sla_breached      BOOLEAN NOT NULL,
    close_code        TEXT    NOT NULL,
    close_notes       TEXT    NOT NULL,
    approval          TEXT    NOT NULL,
    -- The queue view's columns, length-prefixed into one text (see store/queries.rs), so the
    -- console loads a queue of 100,000 tickets as one aggregated value instead of 1.6 million.
    queue_line        TEXT    NOT NULL
);
CREATE INDEX tickets_by_number ON tickets (number);
CREATE INDEX tickets_by_opened ON tickets (opened_us);
CREATE INDEX tickets_by_caller_email ON tickets (lower(caller_email), kind);

CREATE TABLE journal_entries (
    sys_id        TEXT    PRIMARY KEY,
    ticket_sys_id TEXT    NOT NULL,
    kind          TEXT    NOT NULL,         -- work_note, comment
    body          TEXT    NOT NULL,
    created_us    BIGINT  NOT NULL,
    created_by    TEXT    NOT NULL
);
CREATE INDEX journal_by_ticket ON journal_entries (ticket_sys_id, created_us);

CREATE TABLE approvals (
    sys_id           TEXT    PRIMARY KEY,
    approver_sys_id  TEXT    NOT NULL,
    approver_display TEXT    NOT NULL,
    document_sys_id  TEXT    NOT NULL,
    document_display TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    comments         TEXT    NOT NULL,
    created_us       BIGINT  NOT NULL,
    updated_us       BIGINT  NOT NULL
);
CREATE INDEX approvals_by_document ON approvals (document_sys_id);
CREATE INDEX approvals_by_approver ON approvals (approver_sys_id, state);

CREATE TABLE okta_users (
    id                  TEXT    PRIMARY KEY,
    login               TEXT    NOT NULL,
    email               TEXT    NOT NULL,
    first_name          TEXT    NOT NULL,
    last_name           TEXT    NOT NULL,
    status              TEXT    NOT NULL,   -- DEPROVISIONED users stay, marked
    department          TEXT    NOT NULL,
    title               TEXT    NOT NULL,
    manager_id          TEXT    NOT NULL,
    user_type           TEXT    NOT NULL,
    created_us          BIGINT  NOT NULL,
    last_updated_us     BIGINT  NOT NULL,
    status_changed_us   BIGINT,
    last_login_us       BIGINT,
    password_changed_us BIGINT 
);
CREATE INDEX okta_users_by_login ON okta_users (lower(login));
CREATE INDEX okta_users_by_manager ON okta_users (manager_id);

CREATE TABLE okta_groups (
    id                         TEXT    PRIMARY KEY,
    name                       TEXT    NOT NULL,
    description                TEXT    NOT NULL,
    kind                       TEXT    NOT NULL,
    created_us                 BIGINT  NOT NULL,
    last_updated_us            BIGINT  NOT NULL,
    last_membership_updated_us BIGINT 
);
CREATE INDEX okta_groups_by_name ON okta_groups (lower(name));

CREATE TABLE okta_apps (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    label           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    created_us      BIGINT  NOT NULL,
    last_updated_us BIGINT  NOT NULL
);
CREATE INDEX okta_apps_by_label ON okta_apps (lower(label));
CREATE INDEX okta_apps_by_name ON okta_apps (lower(name));

-- No foreign keys to users/groups: sync pages arrive in any order.
CREATE TABLE memberships (
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id, group_id);

CREATE TABLE app_assignments (
    app_id          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    last_updated_us BIGINT,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_assignments_by_user ON app_assignments (user_id, app_id);

CREATE TABLE log_events (
    uuid               TEXT    PRIMARY KEY,
    published_us       BIGINT  NOT NULL,
    event_type         TEXT    NOT NULL,
    display_message    TEXT    NOT NULL,
    severity           TEXT    NOT NULL,
    actor_id           TEXT    NOT NULL,
    actor_kind         TEXT    NOT NULL,
    actor_alternate_id TEXT    NOT NULL,
    actor_display_name TEXT    NOT NULL,
    outcome            TEXT    NOT NULL,
    outcome_reason     TEXT    NOT NULL,
    request_id         TEXT    NOT NULL,
    targets            TEXT    NOT NULL     -- JSON array of {id, kind, alternate_id, display_name}
);
CREATE INDEX log_events_by_time ON log_events (published_us);
CREATE INDEX log_events_by_request ON log_events (request_id);
CREATE INDEX log_events_by_actor ON log_events (actor_id);

-- One row per target, to find a user's or a group's events by index.
CREATE TABLE log_event_targets (
    uuid         TEXT    NOT NULL,
    ordinal      BIGINT  NOT NULL,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    alternate_id TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    PRIMARY KEY (uuid, ordinal)
);
CREATE INDEX log_event_targets_by_id ON log_event_targets (id);
CREATE INDEX log_event_targets_by_alternate_id ON log_event_targets (lower(alternate_id));
CREATE INDEX log_event_targets_by_display_name ON log_event_targets (lower(display_name));

-- Where each incremental sync resumes, and when it last succeeded (for "data is N minutes old").
CREATE TABLE watermarks (
    source    TEXT    PRIMARY KEY,          -- servicenow:incident, okta:users, okta:logs…
    value     TEXT    NOT NULL,             -- the remote cursor as the service spells it
    last_id   TEXT    NOT NULL,             -- last record seen at that cursor (tie-break)
    synced_us BIGINT  NOT NULL
);
