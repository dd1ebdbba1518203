//! `/oauth2/v1/token`: OAuth 2.0 client credentials with a `private_key_jwt` client assertion,
//! for the demo service app whose public key the emulator knows. Access tokens are opaque to the
//! client and carry the scopes granted; expired or unknown tokens get E0000011, missing scopes
//! E0000006.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rand::RngExt as _;
use serde::Deserialize;
use serde_json::json;

use super::http::json_response;
use crate::emulator::Shared;

/// Client id of the emulator's OAuth service app.
pub const DEMO_CLIENT_ID: &str = "0oagrantdeskdemo01d7";

/// The demo service app's private key (a demo credential, like the demo API token: it protects
/// nothing but the emulator).
pub const DEMO_PRIVATE_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC3I0NuxqiTG51b\n\
p5OAcYiP3/xGvrYm/vunSk8MbUiBIVw5WgzvR4Qz+0KyoTLtGMdEu+T8fpt1xkpK\n\
t/IusSgqxgIa0g04eWupNkh+IAKOL56ju2Y9uhL3/eyW5numtTXqJcR64vN4mC0m\n\
mJcURnrRiN2R+N+1jdoJaZVIxN4Oo23Vr2pnWwiJJGJ7/HffBEaQ3RBPWXdaxrrF\n\
3bKulvGk7LgAX1hkVDHnsxuWZTY39IlvW4ynhtrQxrRb3Brymn4/ouDMjVtg3T8T\n\
rNUKpAoycfXISsdGEwJ4qMXtqk8Py4XrZKAUz2bz61O2qmUcvhxrEAssTuDHWfpS\n\
Vq7ospBnAgMBAAECggEAAWc569CZ3IayQajpgkOrNIK0E4fsZzi0UnZJJMVi0q4p\n\
1YG9l6GcCRiyh6vb6UPuuRgZ7fy7lqtuSMHRSnaa4gfJwUN4TJ3coaCD7a6MLxSQ\n\
yf8lmCwZvgfHvnPx9MFbAQP6TDHTcKzNhGCm7xSHeewmPJ96UmnNrjEXEUZw40lZ\n\
76uXRp1e50Z/bX7Nrp4XvTPA5rASNRYCo2MGxWLN5MpKuQobKKK77Yf58jhNrVm/\n\
etRktn6ALwdJifydWYtk0ljffKaBbcKT+rcRm+LlkktC0sRrd8Q66Vks845ORgTz\n\
ZPGjluK3Rmyp/MbuTQZxnV1gQtPpRsSnfKokjB8gAQKBgQD4d3sRNHDpYvThooQm\n\
Rucr0tq59XeAb+zh26YAamjRMp2DKoe9MrP475nfnkCwD7FkTlTDfHpuf3u1cali\n\
lgNtYMgloj4nuZfAz0Q7iDuYhrnvPeBb+PKybzl5mGbTvkD+WYLQO9sZmsPhMr/8\n\
JCbypQvFcDyOkExelDT5RFCuBwKBgQC8sLhWMSxT/wo0Jap2rHa6AO85z/mqP8J1\n\
YQ4gLHmhmCzx4c/Ro6QrqE3kkzsqLULg6bf10E/rseBagCi0mCHwI8tdXnhWf5Tr\n\
kZmIUQ1ZEFBlqdxClC6iNmjzBNulqZ90uLpTB++Xv02DCRg2o/m9KkvB3bWP6Gv8\n\
8+OZ+lpyoQKBgBSEqWEOV5SuW1KWvRr8F/MCgpWAs9GjbIhqPxchsm40I9XFGViC\n\
a2JPRwG0a9seMKP74/wQt3uQg4LEVByUDsxlhaG1+DQHm4SMmTHhWiqKVahwD6sI\n\
r+IUVUa5UySBPZTDh43yo3FF2o8qRbhos96tyn8PebC8MdJNouJCxfbZAoGAPAV+\n\
7bQApMt5BHOC0PM1ZR+M+XfltDlJ8yqnYqajHjsY+OxavhXu0BBejroi1NzG7GKM\n\
KP5VneTcOA2SZTgLe6b3NsEpSGKXDYQoMYuO0mj1GhG5Rdh7KRBjvAIsmHrnhSqJ\n\
4oWgukWZM3h+Iktw0rKUnJuY+Kj3SOSP3tgbU2ECgYEAoXOdqGK15s+wq4/N4aqa\n\
ZS6j2F4AIrK307WM/Qcad0+nPGYBF0eg0ylpW+kjRU11UjuuWJt8Ic+DApFmzxtN\n\
w7+KJmXdjS3QpIAP6uJpZpVp+IrJCIZQm0ecqljVAfo4PHB0YbceI0hKL7SPMpwb\n\
m4A83329AjB7t7EHdLa44AQ=\n\
-----END PRIVATE KEY-----\n\
";

/// The public half of [`DEMO_PRIVATE_KEY_PEM`], registered with the emulated org.
pub const DEMO_PUBLIC_KEY_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtyNDbsaokxudW6eTgHGI\n\
j9/8Rr62Jv77p0pPDG1IgSFcOVoM70eEM/tCsqEy7RjHRLvk/H6bdcZKSrfyLrEo\n\
KsYCGtINOHlrqTZIfiACji+eo7tmPboS9/3sluZ7prU16iXEeuLzeJgtJpiXFEZ6\n\
0YjdkfjftY3aCWmVSMTeDqNt1a9qZ1sIiSRie/x33wRGkN0QT1l3Wsa6xd2yrpbx\n\
pOy4AF9YZFQx57MblmU2N/SJb1uMp4ba0Ma0W9wa8pp+P6LgzI1bYN0/E6zVCqQK\n\
MnH1yErHRhMCeKjF7apPD8uF62SgFM9m8+tTtqplHL4caxALLE7gx1n6Ulau6LKQ\n\
ZwIDAQAB\n\
-----END PUBLIC KEY-----\n\
";

/// Issued tokens and the scopes withdrawn from the service app.
#[derive(Default)]
pub struct OAuthState {
    pub tokens: HashMap<String, Token>,
    pub used_jti: HashSet<String>,
    pub revoked: HashSet<String>,
}

/// An access token.
pub struct Token {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires: i64,
}

/// Scopes the demo service app has been granted.
const GRANTED: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.apps.read",
    "okta.apps.manage",
    "okta.logs.read",
    "okta.accessRequests.catalog.read",
    "okta.accessRequests.condition.read",
    "okta.accessRequests.condition.manage",
    "okta.accessRequests.request.read",
    "okta.accessRequests.request.manage",
    "okta.accessRequests.tasks.read",
    "okta.accessRequests.tasks.manage",
];

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: i64,
    jti: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(status, &json!({ "error": error, "error_description": description }))
}

/// `POST /oauth2/v1/token`.
pub async fn token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].",
        );
    }
    if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        || get("client_assertion").is_empty()
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed. Either the client or the client credentials are invalid.",
        );
    }
    let key = match jsonwebtoken::DecodingKey::from_rsa_pem(DEMO_PUBLIC_KEY_PEM.as_bytes()) {
        Ok(k) => k,
        Err(_) => {
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The service app's key is unusable.",
            );
        }
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // Expiry is judged on the emulator clock below, so advancing it expires assertions too.
    validation.validate_exp = false;
    let claims = match jsonwebtoken::decode::<Claims>(get("client_assertion"), &key, &validation) {
        Ok(d) => d.claims,
        Err(_) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The client_assertion signature is invalid.",
            );
        }
    };
    let now = shared.okta.now_secs();
    if claims.exp <= now {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "The client_assertion token is expired.");
    }
    if claims.iss != DEMO_CLIENT_ID || claims.sub != DEMO_CLIENT_ID {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client_id is invalid or the client_assertion issuer does not match it.",
        );
    }
    let aud_ok = match &claims.aud {
        serde_json::Value::String(a) => a.ends_with("/oauth2/v1/token"),
        serde_json::Value::Array(v) => v.iter().any(|a| a.as_str().is_some_and(|a| a.ends_with("/oauth2/v1/token"))),
        _ => false,
    };
    if !aud_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The audience of the client_assertion must be the token endpoint.",
        );
    }
    let mut o = shared.okta.oauth.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(jti) = &claims.jti
        && !o.used_jti.insert(jti.clone())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client_assertion token has already been used.",
        );
    }
    let scopes: Vec<String> = get("scope").split_whitespace().map(String::from).collect();
    if scopes.is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "The authorization server requires a scope.");
    }
    let refused: Vec<&str> =
        scopes.iter().map(String::as_str).filter(|s| !GRANTED.contains(s) || o.revoked.contains(*s)).collect();
    if !refused.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The following scopes are not allowed: {}", refused.join(", ")),
        );
    }
    let token: String = {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut r = rand::rng();
        (0..64).map(|_| A[r.random_range(0..A.len())] as char).collect()
    };
    let token = format!("eyJraWQiOiJlbXVsYXRvciIsImFsZyI6IlJTMjU2In0.{token}");
    o.tokens.insert(
        token.clone(),
        Token { client_id: DEMO_CLIENT_ID.to_string(), scopes: scopes.clone(), expires: now + 3600 },
    );
    json_response(
        StatusCode::OK,
        &json!({ "token_type": "Bearer", "expires_in": 3600, "access_token": token, "scope": scopes.join(" ") }),
    )
}
