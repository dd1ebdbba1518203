-- The outbox: every operator action as a durable command, applied exactly once by the engine.
-- Enqueueing writes the command and its audit intent in one transaction; completing writes the
-- status and its audit outcome in one transaction. Payloads never hold secrets (the store refuses
-- them before they get here).
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT   NOT NULL,
    payload         TEXT   NOT NULL,               -- canonical JSON
    idempotency_key TEXT   NOT NULL UNIQUE,
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'in_flight', 'done', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT   NOT NULL DEFAULT '',
    operator        TEXT   NOT NULL,
    created_us      BIGINT NOT NULL,
    updated_us      BIGINT NOT NULL,
    claimed_us      BIGINT,
    completed_us    BIGINT,
    intent_seq      BIGINT NOT NULL REFERENCES audit_log (seq),
    outcome_seq     BIGINT REFERENCES audit_log (seq)
);

CREATE INDEX outbox_by_status ON outbox (status, id);
