-- The audit log: append-only and hash-chained. The encoding each hash covers is documented in
-- src/domain/audit.rs; times are microseconds since the Unix epoch (UTC) and details are the
-- exact canonical JSON text (TEXT, never jsonb, which would reorder keys), so a record hashes
-- the same here and on SQLite.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,    -- 1, 2, 3… without gaps
    time_us    BIGINT NOT NULL,
    operator   TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    object     TEXT   NOT NULL,
    ticket     TEXT   NOT NULL,
    request_id TEXT   NOT NULL,
    outcome    TEXT   NOT NULL,
    details    TEXT   NOT NULL,
    prev_hash  TEXT   NOT NULL,       -- 64 lower-case hex digits
    hash       TEXT   NOT NULL
);

CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_by_object ON audit_log (object, seq);
CREATE INDEX audit_log_by_time ON audit_log (time_us);

-- The database itself refuses to rewrite history (a superuser can still disable triggers; the
-- hash chain and `grantdesk audit verify` are there for that).
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % of an audit event is refused', lower(TG_OP)
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Appends must extend the chain: the next sequence number, linked to the current head.
CREATE FUNCTION audit_log_check_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS DISTINCT FROM COALESCE((SELECT max(seq) FROM audit_log), 0) + 1
       OR NEW.prev_hash IS DISTINCT FROM COALESCE(
              (SELECT hash FROM audit_log WHERE seq = NEW.seq - 1), repeat('0', 64)) THEN
        RAISE EXCEPTION 'audit_log is append-only: an event must extend the chain at its head'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_append_only_at_head BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_check_append();
