//! What can go wrong talking to ServiceNow, each case carrying what the service said and saying
//! what to do. Nothing here ever holds a password, a client secret or a token.

use std::time::Duration;

use super::query::QueryError;

/// A failed ServiceNow call.
#[derive(Debug, thiserror::Error)]
pub enum ServiceNowError {
    /// The service answered with an error status and (usually) its error body.
    #[error("{}", api_line(*status, method, path, message, detail))]
    Api {
        /// HTTP status.
        status: u16,
        /// HTTP method of the request.
        method: String,
        /// Path of the request (no query string).
        path: String,
        /// `error.message` from the body (or the status text).
        message: String,
        /// `error.detail` from the body (may be empty).
        detail: String,
    },
    /// Still throttled after the retries the policy allows (429, or 503 with `Retry-After`).
    #[error(
        "ServiceNow is rate limiting {method} {path} ({status} {message}{}){}: wait and try again, or lower the request rate",
        if detail.is_empty() { String::new() } else { format!(": {detail}") },
        retry_after.map(|d| format!("; it asks to retry after {}s", d.as_secs())).unwrap_or_default()
    )]
    RateLimited {
        /// 429 or 503.
        status: u16,
        /// HTTP method.
        method: String,
        /// Path of the request.
        path: String,
        /// `error.message`.
        message: String,
        /// `error.detail`.
        detail: String,
        /// What `Retry-After` asked for, if anything.
        retry_after: Option<Duration>,
    },
    /// The instance could not be reached (DNS, refused connection, TLS, timeout).
    #[error("cannot reach ServiceNow at {url}: {cause} — check servicenow.url, the network{}", if *tls { " and servicenow.ca_bundle" } else { "" })]
    Transport {
        /// The instance URL (scheme, host, port).
        url: String,
        /// The innermost cause, in words.
        cause: String,
        /// Whether the failure was in the TLS handshake (certificate trust).
        tls: bool,
    },
    /// The OAuth token endpoint refused the grant.
    #[error("ServiceNow refused the OAuth {grant} grant at /oauth_token.do ({status}{}): check servicenow.client_id, the client secret{}", if reason.is_empty() { String::new() } else { format!(" {reason}") }, if *grant == "password" { ", servicenow.user and the password" } else { "" })]
    OAuth {
        /// `password`, `client_credentials` or `refresh_token`.
        grant: &'static str,
        /// HTTP status.
        status: u16,
        /// `error` / `error_description` from the body.
        reason: String,
    },
    /// A response did not have the documented shape.
    #[error("ServiceNow sent an unexpected response to {method} {path}: {problem}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// What was wrong.
        problem: String,
    },
    /// An encoded query could not be built or read.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The client could not be set up (CA bundle, URL).
    #[error("{0}")]
    Setup(String),
}

fn api_line(status: u16, method: &str, path: &str, message: &str, detail: &str) -> String {
    let said =
        if detail.is_empty() || detail == message { message.to_string() } else { format!("{message}: {detail}") };
    let hint = match status {
        401 => ": check servicenow.user and the password (GRANTDESK_SERVICENOW_USER / GRANTDESK_SERVICENOW_PASSWORD)",
        403 => ": the account lacks the role for this, or a data policy requires more fields",
        404 => "",
        _ => "",
    };
    let what = match status {
        401 => "ServiceNow rejected the credentials".to_string(),
        404 => format!("ServiceNow found nothing at {method} {path}"),
        _ => format!("ServiceNow refused {method} {path}"),
    };
    format!("{what} ({status} {said}){hint}")
}

impl ServiceNowError {
    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ServiceNowError::Api { status, .. }
            | ServiceNowError::RateLimited { status, .. }
            | ServiceNowError::OAuth { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for 404 (no such record, or hidden by an ACL).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when the credentials were refused.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401) || matches!(self, ServiceNowError::OAuth { .. })
    }
}

/// Result of a ServiceNow call.
pub type Result<T, E = ServiceNowError> = std::result::Result<T, E>;
