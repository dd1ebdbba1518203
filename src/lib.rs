//! grantdesk — a terminal console for service desks whose tickets live in ServiceNow and whose
//! identities live in Okta.
//!
//! The modules follow the components of the architecture (see `ARCHITECTURE.md` of the design):
//! dependencies point one way, `tui`/`cli` → `engine` → `store`, `servicenow`, `okta` → `domain`.
//! The `emulator` stands apart: it shares no wire types with the clients, so the two sides can
//! never agree on a wrong shape.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod domain;
pub mod emulator;
pub mod engine;
pub mod okta;
pub mod servicenow;
pub mod store;
pub mod tui;

/// Installs the process-wide TLS crypto provider (ring) once. Every TLS user — the HTTP clients
/// and the emulator's `--tls` server — calls this before building a TLS configuration.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which serves just as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
