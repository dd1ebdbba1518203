//! Configuration: a TOML file, `GRANTDESK_*` environment variables, named profiles, and secrets
//! taken from the environment or from a command that prints them.
//!
//! Precedence, lowest first: the file's top level, the chosen profile's sections, then the
//! environment. Secrets are held in [`Secret`], which never prints its contents, and are only
//! resolved (commands run) when a client is about to be built.

mod secret;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use secret::Secret;

/// A configuration problem, naming the file, the key and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type or is unknown.
    #[error("config file {} is invalid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml said, with the line and key.
        message: String,
    },
    /// A required value is missing or a value is unusable.
    #[error("{}`{key}`: {problem}", origin.as_ref().map(|p| format!("config {}: ", p.display())).unwrap_or_default())]
    Value {
        /// The file, when there is one.
        origin: Option<PathBuf>,
        /// The key (`servicenow.url`) and its environment variable.
        key: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// A `*_command` failed.
    #[error("`{key}` command failed: {problem}")]
    Command {
        /// The key holding the command.
        key: String,
        /// What went wrong (exit status and the first line of its error output).
        problem: String,
    },
    /// `--profile` names a profile the file does not define.
    #[error("profile `{name}` is not defined{}; defined: {}", origin.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default(), if defined.is_empty() { "none".to_string() } else { defined.join(", ") })]
    UnknownProfile {
        /// The requested profile.
        name: String,
        /// The file.
        origin: Option<PathBuf>,
        /// Profiles the file defines.
        defined: Vec<String>,
    },
}

/// The file format. Unknown keys are refused so a typo is reported, not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<String>,
    theme: Option<String>,
    profile: Option<String>,
    read_only: Option<bool>,
    #[serde(default)]
    servicenow: ServiceNowSection,
    #[serde(default)]
    okta: OktaSection,
    #[serde(default)]
    profiles: BTreeMap<String, ProfileSection>,
    keys: Option<toml::Table>,
    catalog: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSection {
    db: Option<String>,
    #[serde(default)]
    servicenow: ServiceNowSection,
    #[serde(default)]
    okta: OktaSection,
}

/// `[servicenow]` as written in the file (every field optional until validated).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowSection {
    /// Instance URL.
    pub url: Option<String>,
    /// User name (basic auth or OAuth password grant).
    pub user: Option<String>,
    /// Password (prefer `password_command` or the environment).
    pub password: Option<String>,
    /// Command printing the password.
    pub password_command: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// Command printing the OAuth client secret.
    pub client_secret_command: Option<String>,
    /// Extra CA bundle (PEM) for corporate TLS.
    pub ca_bundle: Option<PathBuf>,
    /// Request timeout in seconds.
    pub timeout_secs: Option<u64>,
}

/// `[okta]` as written in the file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaSection {
    /// Org URL.
    pub url: Option<String>,
    /// SSWS API token (prefer `token_command` or the environment).
    pub token: Option<String>,
    /// Command printing the API token.
    pub token_command: Option<String>,
    /// OAuth service app client id (private_key_jwt).
    pub client_id: Option<String>,
    /// Path to the service app's private key (PEM).
    pub private_key: Option<PathBuf>,
    /// Key id (`kid`) registered for that key.
    pub key_id: Option<String>,
    /// OAuth scopes to request.
    pub scopes: Option<Vec<String>>,
    /// Extra CA bundle (PEM).
    pub ca_bundle: Option<PathBuf>,
    /// Request timeout in seconds.
    pub timeout_secs: Option<u64>,
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
enum Source {
    File,
    Env(&'static str),
}

/// The loaded configuration (secrets unresolved until a client asks for them).
#[derive(Debug, Default)]
pub struct Config {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// The profile in use, if any.
    pub profile: Option<String>,
    /// Store location: SQLite path or `postgres://` URL.
    pub db: Option<String>,
    /// Theme name.
    pub theme: Option<String>,
    /// Read-only mode from the file.
    pub read_only: bool,
    /// Merged `[servicenow]`.
    pub servicenow: ServiceNowSection,
    /// Merged `[okta]`.
    pub okta: OktaSection,
    /// `[keys]`: keymap overrides, validated by the console.
    pub keys: Option<toml::Table>,
    /// `[catalog]`: access catalog, validated by the engine.
    pub catalog: Option<toml::Value>,
    /// Warnings found while loading (permissions), to show once.
    pub warnings: Vec<String>,
    sources: BTreeMap<String, Source>,
}

/// Environment variables read, with the config key each sets.
const ENV_KEYS: &[(&str, &str)] = &[
    ("GRANTDESK_DB", "db"),
    ("GRANTDESK_THEME", "theme"),
    ("GRANTDESK_PROFILE", "profile"),
    ("GRANTDESK_SERVICENOW_URL", "servicenow.url"),
    ("GRANTDESK_SERVICENOW_USER", "servicenow.user"),
    ("GRANTDESK_SERVICENOW_PASSWORD", "servicenow.password"),
    ("GRANTDESK_SERVICENOW_PASSWORD_COMMAND", "servicenow.password_command"),
    ("GRANTDESK_SERVICENOW_CLIENT_ID", "servicenow.client_id"),
    ("GRANTDESK_SERVICENOW_CLIENT_SECRET", "servicenow.client_secret"),
    ("GRANTDESK_SERVICENOW_CLIENT_SECRET_COMMAND", "servicenow.client_secret_command"),
    ("GRANTDESK_SERVICENOW_CA_BUNDLE", "servicenow.ca_bundle"),
    ("GRANTDESK_SERVICENOW_TIMEOUT_SECS", "servicenow.timeout_secs"),
    ("GRANTDESK_OKTA_URL", "okta.url"),
    ("GRANTDESK_OKTA_TOKEN", "okta.token"),
    ("GRANTDESK_OKTA_TOKEN_COMMAND", "okta.token_command"),
    ("GRANTDESK_OKTA_CLIENT_ID", "okta.client_id"),
    ("GRANTDESK_OKTA_PRIVATE_KEY", "okta.private_key"),
    ("GRANTDESK_OKTA_KEY_ID", "okta.key_id"),
    ("GRANTDESK_OKTA_SCOPES", "okta.scopes"),
    ("GRANTDESK_OKTA_CA_BUNDLE", "okta.ca_bundle"),
    ("GRANTDESK_OKTA_TIMEOUT_SECS", "okta.timeout_secs"),
    ("GRANTDESK_CA_BUNDLE", "ca_bundle"),
];

/// The environment variable that sets a config key, for messages.
pub fn env_var_for(key: &str) -> Option<&'static str> {
    ENV_KEYS.iter().find(|(_, k)| *k == key).map(|(v, _)| *v)
}

/// The default config file: `$XDG_CONFIG_HOME/grantdesk/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("grantdesk").join("config.toml"));
    }
    directories::BaseDirs::new().map(|b| b.config_dir().join("grantdesk").join("config.toml"))
}

/// The default store: `$XDG_DATA_HOME/grantdesk/grantdesk.db`.
pub fn default_db_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("grantdesk").join("grantdesk.db"));
    }
    directories::BaseDirs::new().map(|b| b.data_dir().join("grantdesk").join("grantdesk.db"))
}

/// What to load.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--config`: a file that must exist.
    pub path: Option<PathBuf>,
    /// `--profile`.
    pub profile: Option<String>,
}

impl Config {
    /// Loads the file (the given one, `GRANTDESK_CONFIG`, or the default if it exists) and the
    /// environment.
    pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
        Self::load_with_env(opts, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Like [`Config::load`], with the environment given as a function (for tests).
    pub fn load_with_env(opts: &LoadOptions, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let explicit = opts.path.clone().or_else(|| env("GRANTDESK_CONFIG").map(PathBuf::from));
        let path = match explicit {
            Some(p) => Some(p),
            None => default_path().filter(|p| p.exists()),
        };
        let mut cfg = Config::default();
        let file = match &path {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
                let file: FileConfig = toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse { path: p.clone(), message: parse_message(&e, &text) })?;
                cfg.warnings.extend(permission_warning(p, &file));
                file
            }
            None => FileConfig::default(),
        };
        cfg.path = path;
        cfg.db = file.db;
        cfg.theme = file.theme;
        cfg.read_only = file.read_only.unwrap_or(false);
        cfg.servicenow = file.servicenow;
        cfg.okta = file.okta;
        cfg.keys = file.keys;
        cfg.catalog = file.catalog;
        for k in ["db", "theme"] {
            cfg.sources.insert(k.into(), Source::File);
        }

        let profile = opts.profile.clone().or_else(|| env("GRANTDESK_PROFILE")).or(file.profile);
        if let Some(name) = &profile {
            let Some(p) = file.profiles.get(name) else {
                return Err(ConfigError::UnknownProfile {
                    name: name.clone(),
                    origin: cfg.path.clone(),
                    defined: file.profiles.keys().cloned().collect(),
                });
            };
            if p.db.is_some() {
                cfg.db = p.db.clone();
            }
            merge_sn(&mut cfg.servicenow, &p.servicenow);
            merge_okta(&mut cfg.okta, &p.okta);
        }
        cfg.profile = profile;

        // The environment wins over the file.
        for (var, key) in ENV_KEYS {
            let Some(value) = env(var) else { continue };
            cfg.sources.insert((*key).to_string(), Source::Env(var));
            match *key {
                "db" => cfg.db = Some(value),
                "theme" => cfg.theme = Some(value),
                "profile" => {}
                "servicenow.url" => cfg.servicenow.url = Some(value),
                "servicenow.user" => cfg.servicenow.user = Some(value),
                "servicenow.password" => cfg.servicenow.password = Some(value),
                "servicenow.password_command" => cfg.servicenow.password_command = Some(value),
                "servicenow.client_id" => cfg.servicenow.client_id = Some(value),
                "servicenow.client_secret" => cfg.servicenow.client_secret = Some(value),
                "servicenow.client_secret_command" => cfg.servicenow.client_secret_command = Some(value),
                "servicenow.ca_bundle" => cfg.servicenow.ca_bundle = Some(value.into()),
                "servicenow.timeout_secs" => cfg.servicenow.timeout_secs = Some(parse_secs(var, &value)?),
                "okta.url" => cfg.okta.url = Some(value),
                "okta.token" => cfg.okta.token = Some(value),
                "okta.token_command" => cfg.okta.token_command = Some(value),
                "okta.client_id" => cfg.okta.client_id = Some(value),
                "okta.private_key" => cfg.okta.private_key = Some(value.into()),
                "okta.key_id" => cfg.okta.key_id = Some(value),
                "okta.scopes" => {
                    cfg.okta.scopes =
                        Some(value.split([' ', ',']).filter(|s| !s.is_empty()).map(String::from).collect())
                }
                "okta.ca_bundle" => cfg.okta.ca_bundle = Some(value.into()),
                "okta.timeout_secs" => cfg.okta.timeout_secs = Some(parse_secs(var, &value)?),
                "ca_bundle" => {
                    // One bundle for both services (the emulator's --tls certificate).
                    let p = PathBuf::from(value);
                    cfg.servicenow.ca_bundle.get_or_insert_with(|| p.clone());
                    cfg.okta.ca_bundle.get_or_insert(p);
                }
                _ => {}
            }
        }
        Ok(cfg)
    }

    fn describe(&self, key: &str) -> String {
        match (self.sources.get(key), env_var_for(key)) {
            (Some(Source::Env(v)), _) => format!("{key} (from {v})"),
            (_, Some(v)) => format!("{key} (or {v})"),
            _ => key.to_string(),
        }
    }

    fn missing(&self, key: &str, expected: &str) -> ConfigError {
        ConfigError::Value {
            origin: self.path.clone(),
            key: self.describe(key),
            problem: format!("missing; expected {expected}"),
        }
    }

    fn invalid(&self, key: &str, problem: String) -> ConfigError {
        ConfigError::Value { origin: self.path.clone(), key: self.describe(key), problem }
    }

    fn parse_url(&self, key: &str, value: &str) -> Result<url::Url, ConfigError> {
        let url = url::Url::parse(value).map_err(|e| {
            self.invalid(key, format!("`{value}` is not a URL ({e}); expected e.g. https://example.service-now.com"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(self.invalid(key, format!("`{value}` must be an http(s) URL with a host")));
        }
        Ok(url)
    }

    /// The validated ServiceNow settings, with the secrets resolved.
    pub fn servicenow(&self) -> Result<ServiceNowConfig, ConfigError> {
        let s = &self.servicenow;
        let url = s
            .url
            .as_deref()
            .ok_or_else(|| self.missing("servicenow.url", "the instance URL, e.g. https://acme.service-now.com"))?;
        let url = self.parse_url("servicenow.url", url)?;
        let password = || -> Result<Option<Secret>, ConfigError> {
            resolve_secret(s.password.as_deref(), s.password_command.as_deref(), "servicenow.password_command")
        };
        let auth = if let Some(client_id) = &s.client_id {
            let secret = resolve_secret(
                s.client_secret.as_deref(),
                s.client_secret_command.as_deref(),
                "servicenow.client_secret_command",
            )?
            .ok_or_else(|| {
                self.missing(
                    "servicenow.client_secret",
                    "the OAuth client secret (or servicenow.client_secret_command)",
                )
            })?;
            match (&s.user, password()?) {
                (Some(user), Some(password)) => ServiceNowAuth::OAuthPassword {
                    client_id: client_id.clone(),
                    client_secret: secret,
                    user: user.clone(),
                    password,
                },
                _ => ServiceNowAuth::OAuthClientCredentials { client_id: client_id.clone(), client_secret: secret },
            }
        } else {
            let user = s
                .user
                .clone()
                .ok_or_else(|| self.missing("servicenow.user", "the ServiceNow user name to sign in as"))?;
            let password = password()?.ok_or_else(|| {
                self.missing("servicenow.password", "the password, from the environment or servicenow.password_command")
            })?;
            ServiceNowAuth::Basic { user, password }
        };
        Ok(ServiceNowConfig {
            url,
            auth,
            ca_bundle: s.ca_bundle.clone(),
            timeout: Duration::from_secs(s.timeout_secs.unwrap_or(30)),
        })
    }

    /// The validated Okta settings, with the secrets resolved.
    pub fn okta(&self) -> Result<OktaConfig, ConfigError> {
        let o = &self.okta;
        let url =
            o.url.as_deref().ok_or_else(|| self.missing("okta.url", "the Okta org URL, e.g. https://acme.okta.com"))?;
        let url = self.parse_url("okta.url", url)?;
        let auth = if let Some(client_id) = &o.client_id {
            let key_path = o
                .private_key
                .clone()
                .ok_or_else(|| self.missing("okta.private_key", "the path to the service app's private key (PEM)"))?;
            let pem = std::fs::read_to_string(&key_path)
                .map_err(|e| self.invalid("okta.private_key", format!("cannot read {}: {e}", key_path.display())))?;
            OktaAuth::PrivateKeyJwt {
                client_id: client_id.clone(),
                private_key_pem: Secret::new(pem),
                key_id: o.key_id.clone(),
                scopes: o.scopes.clone().unwrap_or_else(default_okta_scopes),
            }
        } else {
            let token = resolve_secret(o.token.as_deref(), o.token_command.as_deref(), "okta.token_command")?
                .ok_or_else(|| self.missing("okta.token", "an API token from the environment or okta.token_command (or okta.client_id + okta.private_key)"))?;
            OktaAuth::Ssws(token)
        };
        Ok(OktaConfig {
            url,
            auth,
            ca_bundle: o.ca_bundle.clone(),
            timeout: Duration::from_secs(o.timeout_secs.unwrap_or(30)),
        })
    }

    /// The store location: `--db`/`GRANTDESK_DB`/config, else the default path.
    pub fn db_location(&self) -> Option<String> {
        self.db.clone().or_else(|| default_db_path().map(|p| p.display().to_string()))
    }
}

/// The Okta scopes a full console needs.
pub fn default_okta_scopes() -> Vec<String> {
    [
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.read",
        "okta.groups.manage",
        "okta.apps.read",
        "okta.apps.manage",
        "okta.logs.read",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// How to sign in to ServiceNow.
#[derive(Debug, Clone)]
pub enum ServiceNowAuth {
    /// HTTP basic auth.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
    /// OAuth password grant at `/oauth_token.do` (the token is refreshed as it expires).
    OAuthPassword {
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
    /// OAuth client-credentials grant.
    OAuthClientCredentials {
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
    },
}

impl ServiceNowAuth {
    /// The user name the operator signs in as, when the grant names one.
    pub fn user(&self) -> Option<&str> {
        match self {
            ServiceNowAuth::Basic { user, .. } | ServiceNowAuth::OAuthPassword { user, .. } => Some(user),
            ServiceNowAuth::OAuthClientCredentials { .. } => None,
        }
    }
}

/// Validated ServiceNow settings.
#[derive(Debug, Clone)]
pub struct ServiceNowConfig {
    /// Instance URL.
    pub url: url::Url,
    /// Credentials.
    pub auth: ServiceNowAuth,
    /// Extra CA bundle.
    pub ca_bundle: Option<PathBuf>,
    /// Request timeout.
    pub timeout: Duration,
}

/// How to sign in to Okta.
#[derive(Debug, Clone)]
pub enum OktaAuth {
    /// `Authorization: SSWS <token>`.
    Ssws(Secret),
    /// OAuth 2.0 client credentials with a `private_key_jwt` client assertion.
    PrivateKeyJwt {
        /// Service app client id.
        client_id: String,
        /// Its private key, PEM.
        private_key_pem: Secret,
        /// Key id.
        key_id: Option<String>,
        /// Scopes to request.
        scopes: Vec<String>,
    },
}

/// Validated Okta settings.
#[derive(Debug, Clone)]
pub struct OktaConfig {
    /// Org URL.
    pub url: url::Url,
    /// Credentials.
    pub auth: OktaAuth,
    /// Extra CA bundle.
    pub ca_bundle: Option<PathBuf>,
    /// Request timeout.
    pub timeout: Duration,
}

fn merge_sn(base: &mut ServiceNowSection, over: &ServiceNowSection) {
    macro_rules! take { ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f.clone(); } )* } }
    take!(
        url,
        user,
        password,
        password_command,
        client_id,
        client_secret,
        client_secret_command,
        ca_bundle,
        timeout_secs
    );
}

fn merge_okta(base: &mut OktaSection, over: &OktaSection) {
    macro_rules! take { ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f.clone(); } )* } }
    take!(url, token, token_command, client_id, private_key, key_id, scopes, ca_bundle, timeout_secs);
}

fn parse_secs(var: &str, value: &str) -> Result<u64, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Value {
        origin: None,
        key: var.to_string(),
        problem: format!("`{value}` is not a whole number of seconds"),
    })
}

/// A value given directly, or printed by a command (`pass show …`, `op read …`).
fn resolve_secret(
    direct: Option<&str>,
    command: Option<&str>,
    command_key: &str,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(v) = direct {
        return Ok(Some(Secret::new(v.to_string())));
    }
    let Some(cmd) = command else { return Ok(None) };
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ConfigError::Command { key: command_key.into(), problem: format!("cannot run sh: {e}") })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(ConfigError::Command {
            key: command_key.into(),
            problem: format!("{}{}", out.status, if first.is_empty() { String::new() } else { format!(": {first}") }),
        });
    }
    let text = String::from_utf8(out.stdout).map_err(|_| ConfigError::Command {
        key: command_key.into(),
        problem: "printed something that is not UTF-8".into(),
    })?;
    let secret = text.trim_end_matches(['\n', '\r']).to_string();
    if secret.is_empty() {
        return Err(ConfigError::Command { key: command_key.into(), problem: "printed nothing".into() });
    }
    Ok(Some(Secret::new(secret)))
}

fn parse_message(e: &toml::de::Error, text: &str) -> String {
    // toml's message says what was expected; add the line number and the offending line so the
    // key is named even when toml's message does not name it.
    let what = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line_no = text[..start].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!("line {line_no}: `{line}`: {what}")
        }
        None => what,
    }
}

fn holds_secret(file: &FileConfig) -> bool {
    let sn = |s: &ServiceNowSection| s.password.is_some() || s.client_secret.is_some();
    let ok = |o: &OktaSection| o.token.is_some();
    sn(&file.servicenow) || ok(&file.okta) || file.profiles.values().any(|p| sn(&p.servicenow) || ok(&p.okta))
}

fn permission_warning(path: &Path, file: &FileConfig) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    if !holds_secret(file) {
        return None;
    }
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: {} holds a secret and is readable by others (mode {:o}); run `chmod 600 {}` or move the secret to a *_command",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(test)]
mod tests;
