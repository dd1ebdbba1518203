//! Orchestration: sync, the outbox worker, fulfilment routes and policy.
