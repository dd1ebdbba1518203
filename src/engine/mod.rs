//! Orchestration: every change an operator makes is a [`command::Command`], written durably to
//! the outbox and the audit log first, then applied by the worker through the clients, its outcome
//! recorded in the same transaction that completes it. Sync pulls changes incrementally into the
//! cache. Routes fulfil access requests.

pub mod command;
