-- The audit log: append-only and hash-chained. The encoding each hash covers is documented in
-- src/domain/audit.rs; times are microseconds since the Unix epoch (UTC) and details are the
-- exact canonical JSON text, so a record hashes the same here and on PostgreSQL.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,   -- 1, 2, 3… without gaps
    time_us    INTEGER NOT NULL,
    operator   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    object     TEXT    NOT NULL,
    ticket     TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,      -- 64 lower-case hex digits
    hash       TEXT    NOT NULL
);

CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_by_object ON audit_log (object, seq);
CREATE INDEX audit_log_by_time ON audit_log (time_us);

-- The database itself refuses to rewrite history.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: updating an audit event is refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: deleting an audit event is refused');
END;

-- Appends must extend the chain: the next sequence number, linked to the current head. This also
-- stops INSERT OR REPLACE, which would otherwise delete a row without firing the delete trigger.
CREATE TRIGGER audit_log_append_only_at_head BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1
  OR NEW.prev_hash IS NOT COALESCE(
         (SELECT hash FROM audit_log WHERE seq = NEW.seq - 1),
         '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an event must extend the chain at its head');
END;
