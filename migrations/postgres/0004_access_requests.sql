-- Access requests raised through grantdesk. The request itself (its sequence, decisions, linked
-- records) is the JSON `body`, the domain's `AccessRequest`; the columns beside it are what the
-- inbox, the expiry radar and the worker search by. `version` makes every change a
-- compare-and-set, so two consoles deciding the same request cannot both win. Every change is
-- also an audit event, appended in the same transaction.
CREATE TABLE access_requests (
    id            TEXT    PRIMARY KEY,
    entry         TEXT    NOT NULL,
    target_kind   TEXT    NOT NULL CHECK (target_kind IN ('group', 'app')),
    target_name   TEXT    NOT NULL,
    requested_for TEXT    NOT NULL,
    requested_by  TEXT    NOT NULL,
    ticket        TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    created_us    BIGINT  NOT NULL,
    updated_us    BIGINT  NOT NULL,
    expires_us    BIGINT,
    version       BIGINT  NOT NULL,
    body          TEXT    NOT NULL
);

CREATE INDEX access_requests_by_status ON access_requests (status, created_us);
CREATE INDEX access_requests_by_for ON access_requests (requested_for, created_us);
CREATE INDEX access_requests_by_target ON access_requests (target_name, created_us);
CREATE INDEX access_requests_by_expiry ON access_requests (expires_us) WHERE status = 'granted';
