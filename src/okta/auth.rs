//! Credentials: an SSWS API token, or OAuth 2.0 client credentials with a `private_key_jwt`
//! assertion exchanged at `/oauth2/v1/token` for an access token cached until shortly before it
//! expires.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;

use super::error::OktaError;
use super::wire;
use crate::config::{OktaAuth, Secret};

/// How requests are authorised.
pub enum Credentials {
    /// `Authorization: SSWS <token>`.
    Ssws(Secret),
    /// `Authorization: Bearer <access token>` from the token endpoint.
    PrivateKeyJwt(Box<JwtClient>),
}

/// An OAuth service app signing its own assertions.
pub struct JwtClient {
    client_id: String,
    key: jsonwebtoken::EncodingKey,
    key_id: Option<String>,
    scopes: Vec<String>,
    cached: Mutex<Option<(Secret, Instant)>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
}

impl Credentials {
    /// From the resolved configuration.
    pub fn from_config(auth: &OktaAuth) -> Result<Self, OktaError> {
        Ok(match auth {
            OktaAuth::Ssws(token) => Credentials::Ssws(token.clone()),
            OktaAuth::PrivateKeyJwt { client_id, private_key_pem, key_id, scopes } => {
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.expose().as_bytes())
                    .map_err(|e| OktaError::PrivateKey(e.to_string()))?;
                Credentials::PrivateKeyJwt(Box::new(JwtClient {
                    client_id: client_id.clone(),
                    key,
                    key_id: key_id.clone(),
                    scopes: scopes.clone(),
                    cached: Mutex::new(None),
                }))
            }
        })
    }
}

impl JwtClient {
    /// Builds a client assertion for `token_url`, valid for `lifetime` from `now` (Unix seconds).
    pub fn assertion(&self, token_url: &str, now: i64, lifetime: i64) -> Result<String, OktaError> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: token_url.to_string(),
            iat: now,
            exp: now + lifetime,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| OktaError::PrivateKey(e.to_string()))
    }

    /// A valid access token, fetched when none is cached or the cached one is about to expire.
    pub async fn access_token(&self, http: &reqwest::Client, base: &url::Url) -> Result<Secret, OktaError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let url = base.join("/oauth2/v1/token").map_err(|e| OktaError::Setup(e.to_string()))?;
        let now = chrono::Utc::now().timestamp();
        let assertion = self.assertion(url.as_str(), now, 300)?;
        let scope = self.scopes.join(" ");
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
        ];
        let resp = http
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|source| OktaError::Transport { url: url.to_string(), source })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|source| OktaError::Transport { url: url.to_string(), source })?;
        if !status.is_success() {
            let e: wire::OAuthErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            return Err(OktaError::OAuth {
                error: e.error.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
                description: e.error_description.unwrap_or_else(|| "no description".into()),
            });
        }
        let t: wire::TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| OktaError::Decode { what: "the token response".into(), message: e.to_string() })?;
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(3600).saturating_sub(60).max(1));
        let token = Secret::new(t.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Forgets the cached token (after Okta refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}
