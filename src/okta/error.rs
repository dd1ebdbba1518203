//! Errors of the Okta client: Okta's own error body and request id when there is one, and a
//! message that says what happened and what to do.

/// Something went wrong talking to Okta.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// The API token or access token was refused (E0000011).
    #[error("Okta refused the credentials: {summary} ({code}{}); check GRANTDESK_OKTA_TOKEN (or okta.token_command) or the OAuth service app", rid(.request_id))]
    InvalidToken {
        /// `errorCode`.
        code: String,
        /// `errorSummary`.
        summary: String,
        /// `X-Okta-Request-Id`.
        request_id: Option<String>,
    },
    /// The access token lacks the scope this operation needs (403 with `insufficient_scope`).
    #[error("Okta refused the request: the access token lacks the scope `{scope}` ({code}{}); grant it to the service app in Okta and add it to okta.scopes", rid(.request_id))]
    MissingScope {
        /// The scope the operation needs.
        scope: String,
        /// `errorCode`.
        code: String,
        /// `X-Okta-Request-Id`.
        request_id: Option<String>,
    },
    /// The object does not exist (E0000007).
    #[error("not found in Okta: {summary} ({code}{})", rid(.request_id))]
    NotFound {
        /// `errorCode`.
        code: String,
        /// `errorSummary`.
        summary: String,
        /// `X-Okta-Request-Id`.
        request_id: Option<String>,
    },
    /// Any other error Okta reported in its own shape.
    #[error("Okta answered {status}: {summary}{} ({code}{})", causes_text(.causes), rid(.request_id))]
    Api {
        /// HTTP status.
        status: u16,
        /// `errorCode` (`E0000038`…).
        code: String,
        /// `errorSummary`.
        summary: String,
        /// `errorCauses[].errorSummary`.
        causes: Vec<String>,
        /// `X-Okta-Request-Id`.
        request_id: Option<String>,
    },
    /// Still rate limited after waiting for the window to reset as often as allowed.
    #[error("Okta kept rate-limiting the request (E0000047{}) after {attempts} attempts; try again in a minute or lower the request rate", rid(.request_id))]
    RateLimited {
        /// Attempts made.
        attempts: u32,
        /// `X-Okta-Request-Id` of the last 429.
        request_id: Option<String>,
    },
    /// The token endpoint refused the OAuth client (`invalid_client`, `invalid_scope`…).
    #[error("Okta refused the OAuth client: {description} ({error}); {}", oauth_hint(.error))]
    OAuth {
        /// OAuth `error`.
        error: String,
        /// OAuth `error_description`.
        description: String,
    },
    /// The configured private key cannot sign assertions.
    #[error("cannot use the Okta private key: {0}; expected an RSA private key in PEM (okta.private_key)")]
    PrivateKey(String),
    /// A non-Okta error response (a proxy, a wrong URL).
    #[error("unexpected HTTP {status} from {url}: {body}; is okta.url the Okta org URL?")]
    Http {
        /// HTTP status.
        status: u16,
        /// The URL called (no credentials in it).
        url: String,
        /// The first part of the body.
        body: String,
    },
    /// The request never got an answer.
    #[error("cannot reach Okta at {url}: {source}; check okta.url and the network")]
    Transport {
        /// The URL called.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON expected.
    #[error("Okta's answer to {what} could not be read: {message}")]
    Decode {
        /// What was being read.
        what: String,
        /// The parser's complaint.
        message: String,
    },
    /// The client cannot be built from this configuration.
    #[error("cannot set up the Okta client: {0}")]
    Setup(String),
}

fn rid(r: &Option<String>) -> String {
    r.as_ref().map(|r| format!(", request id {r}")).unwrap_or_default()
}

fn causes_text(c: &[String]) -> String {
    if c.is_empty() { String::new() } else { format!(" — {}", c.join("; ")) }
}

fn oauth_hint(error: &str) -> &'static str {
    match error {
        "invalid_scope" => {
            "ask an Okta admin to grant these scopes to the service app, or remove them from okta.scopes"
        }
        "invalid_client" => {
            "check okta.client_id, that okta.private_key matches the key registered in Okta, and this machine's clock"
        }
        _ => "check the OAuth service app's settings in Okta",
    }
}

impl OktaError {
    /// Okta's `errorCode`, when the error carries one.
    pub fn code(&self) -> Option<&str> {
        match self {
            OktaError::InvalidToken { code, .. }
            | OktaError::MissingScope { code, .. }
            | OktaError::NotFound { code, .. }
            | OktaError::Api { code, .. } => Some(code),
            OktaError::RateLimited { .. } => Some("E0000047"),
            _ => None,
        }
    }

    /// The `X-Okta-Request-Id` of the failing response, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            OktaError::InvalidToken { request_id, .. }
            | OktaError::MissingScope { request_id, .. }
            | OktaError::NotFound { request_id, .. }
            | OktaError::Api { request_id, .. }
            | OktaError::RateLimited { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// True for "no such object".
    pub fn is_not_found(&self) -> bool {
        matches!(self, OktaError::NotFound { .. })
    }
}
