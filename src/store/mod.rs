//! The local store (sqlx): cache, outbox and the hash-chained audit log.
