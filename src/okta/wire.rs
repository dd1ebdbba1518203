//! Okta's JSON as the client reads it, written from the reference (never shared with the
//! emulator). Every field is optional or defaulted and unknown fields are ignored, because Okta
//! omits nulls and adds properties at any time. Each type serialises back to the fields it kept,
//! which is how the recorded-response test names the fields the client drops.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain;

/// A user (`User`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `00u…`.
    pub id: String,
    /// Lifecycle status.
    #[serde(default)]
    pub status: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Activated.
    #[serde(default)]
    pub activated: Option<DateTime<Utc>>,
    /// Status changed.
    #[serde(default)]
    pub status_changed: Option<DateTime<Utc>>,
    /// Last sign-in.
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
    /// Password changed.
    #[serde(default)]
    pub password_changed: Option<DateTime<Utc>>,
    /// Profile attributes.
    #[serde(default)]
    pub profile: UserProfile,
}

/// `User.profile` (the attributes the console shows; the rest are custom and optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    /// Login.
    #[serde(default)]
    pub login: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Manager's Okta id.
    #[serde(default)]
    pub manager_id: Option<String>,
    /// Employee/contractor.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// Secondary email.
    #[serde(default)]
    pub second_email: Option<String>,
}

impl User {
    /// Into the console's vocabulary.
    pub fn into_domain(self) -> domain::OktaUser {
        let p = self.profile;
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let created = self.created.unwrap_or(epoch);
        domain::OktaUser {
            id: self.id,
            login: p.login.clone().unwrap_or_default(),
            email: p.email.or(p.login).unwrap_or_default(),
            first_name: p.first_name.unwrap_or_default(),
            last_name: p.last_name.unwrap_or_default(),
            status: domain::UserStatus::parse(self.status.as_deref().unwrap_or("")),
            department: p.department.unwrap_or_default(),
            title: p.title.unwrap_or_default(),
            manager_id: p.manager_id.unwrap_or_default(),
            user_type: p.user_type.unwrap_or_default(),
            created,
            last_updated: self.last_updated.unwrap_or(created),
            status_changed: self.status_changed,
            last_login: self.last_login,
            password_changed: self.password_changed,
        }
    }
}

/// A group (`Group`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// `00g…`.
    pub id: String,
    /// Created.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Profile changed.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
    /// Membership changed.
    #[serde(default)]
    pub last_membership_updated: Option<DateTime<Utc>>,
    /// `OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Profile.
    #[serde(default)]
    pub profile: GroupProfile,
}

/// `Group.profile`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct GroupProfile {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

impl Group {
    /// Into the console's vocabulary.
    pub fn into_domain(self) -> domain::Group {
        let created = self.created.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        domain::Group {
            id: self.id,
            name: self.profile.name.unwrap_or_default(),
            description: self.profile.description.unwrap_or_default(),
            kind: domain::GroupKind::parse(self.kind.as_deref().unwrap_or("")),
            created,
            last_updated: self.last_updated.unwrap_or(created),
            last_membership_updated: self.last_membership_updated,
        }
    }
}

/// An app instance (`Application`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// `0oa…`.
    pub id: String,
    /// Integration key.
    #[serde(default)]
    pub name: Option<String>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// `ACTIVE`/`INACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
    /// Sign-on mode.
    #[serde(default)]
    pub sign_on_mode: Option<String>,
}

impl App {
    /// Into the console's vocabulary.
    pub fn into_domain(self) -> domain::App {
        let created = self.created.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        domain::App {
            id: self.id,
            name: self.name.unwrap_or_default(),
            label: self.label.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            created,
            last_updated: self.last_updated.unwrap_or(created),
        }
    }
}

/// An app assignment (`AppUser`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUser {
    /// The user's id.
    pub id: String,
    /// `USER` or `GROUP`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Assignment status.
    #[serde(default)]
    pub status: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
    /// Credentials (the app user name).
    #[serde(default)]
    pub credentials: Option<AppUserCredentials>,
}

/// `AppUser.credentials` (passwords are never kept).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUserCredentials {
    /// User name in the app.
    #[serde(default)]
    pub user_name: Option<String>,
}

impl AppUser {
    /// Into the console's vocabulary, for `app_id`.
    pub fn into_domain(self, app_id: &str) -> domain::AppAssignment {
        domain::AppAssignment {
            app_id: app_id.to_string(),
            user_id: self.id,
            scope: self.scope.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            last_updated: self.last_updated,
        }
    }
}

/// A group assigned to an app (`ApplicationGroupAssignment`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppGroup {
    /// The group's id.
    pub id: String,
    /// Priority among the app's groups.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Last change.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
}

/// An app tile of a user (`AssignedAppLink`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppLink {
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Integration key.
    #[serde(default)]
    pub app_name: Option<String>,
    /// App id.
    #[serde(default)]
    pub app_instance_id: Option<String>,
    /// Assignment id (`0ua…`).
    #[serde(default)]
    pub app_assignment_id: Option<String>,
    /// Sign-in link.
    #[serde(default)]
    pub link_url: Option<String>,
    /// Hidden from the dashboard.
    #[serde(default)]
    pub hidden: Option<bool>,
}

/// An MFA enrolment (`UserFactor`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Factor {
    /// Factor id.
    pub id: String,
    /// `push`, `sms`, `token:software:totp`, `webauthn`…
    #[serde(default)]
    pub factor_type: Option<String>,
    /// `OKTA`, `GOOGLE`, `FIDO`…
    #[serde(default)]
    pub provider: Option<String>,
    /// Vendor.
    #[serde(default)]
    pub vendor_name: Option<String>,
    /// `ACTIVE`, `PENDING_ACTIVATION`…
    #[serde(default)]
    pub status: Option<String>,
    /// Enrolled.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
}

/// A System Log event (`LogEvent`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Event id.
    pub uuid: String,
    /// When.
    pub published: DateTime<Utc>,
    /// Event type.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Message.
    #[serde(default)]
    pub display_message: Option<String>,
    /// Severity.
    #[serde(default)]
    pub severity: Option<String>,
    /// Who.
    #[serde(default)]
    pub actor: Option<LogParty>,
    /// On what.
    #[serde(default)]
    pub target: Option<Vec<LogParty>>,
    /// Outcome.
    #[serde(default)]
    pub outcome: Option<LogOutcome>,
    /// Debug data (the request id).
    #[serde(default)]
    pub debug_context: Option<LogDebugContext>,
}

/// Actor or target of an event.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogParty {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
    /// Type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Alternate id (login…).
    #[serde(default)]
    pub alternate_id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `LogEvent.outcome`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LogOutcome {
    /// Result.
    #[serde(default)]
    pub result: Option<String>,
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `LogEvent.debugContext`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDebugContext {
    /// Debug data.
    #[serde(default)]
    pub debug_data: Option<BTreeMap<String, serde_json::Value>>,
}

impl LogParty {
    fn actor(self) -> domain::LogActor {
        domain::LogActor {
            id: self.id.unwrap_or_default(),
            kind: self.kind.unwrap_or_default(),
            alternate_id: self.alternate_id.unwrap_or_default(),
            display_name: self.display_name.unwrap_or_default(),
        }
    }

    fn target(self) -> domain::LogTarget {
        domain::LogTarget {
            id: self.id.unwrap_or_default(),
            kind: self.kind.unwrap_or_default(),
            alternate_id: self.alternate_id.unwrap_or_default(),
            display_name: self.display_name.unwrap_or_default(),
        }
    }
}

impl LogEvent {
    /// Into the console's vocabulary.
    pub fn into_domain(self) -> domain::LogEvent {
        let outcome = self.outcome.unwrap_or_default();
        let request_id = self
            .debug_context
            .and_then(|d| d.debug_data)
            .and_then(|d| d.get("requestId").and_then(|v| v.as_str().map(String::from)))
            .unwrap_or_default();
        domain::LogEvent {
            uuid: self.uuid,
            published: self.published,
            event_type: self.event_type.unwrap_or_default(),
            display_message: self.display_message.unwrap_or_default(),
            severity: self.severity.unwrap_or_default(),
            actor: self.actor.unwrap_or_default().actor(),
            targets: self.target.unwrap_or_default().into_iter().map(LogParty::target).collect(),
            outcome: outcome.result.unwrap_or_default(),
            outcome_reason: outcome.reason.unwrap_or_default(),
            request_id,
        }
    }
}

/// Okta's error body.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// `E0000007`…
    #[serde(default)]
    pub error_code: Option<String>,
    /// Human summary.
    #[serde(default)]
    pub error_summary: Option<String>,
    /// Same as the code.
    #[serde(default)]
    pub error_link: Option<String>,
    /// Error id.
    #[serde(default)]
    pub error_id: Option<String>,
    /// Causes.
    #[serde(default)]
    pub error_causes: Option<Vec<ErrorCause>>,
}

/// One `errorCauses` entry (governance adds where and why).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    /// Summary.
    #[serde(default)]
    pub error_summary: Option<String>,
    /// Where (governance).
    #[serde(default)]
    pub location: Option<String>,
    /// Why (governance).
    #[serde(default)]
    pub reason: Option<String>,
}

/// OAuth token endpoint answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenResponse {
    /// `Bearer` or `DPoP`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The token.
    pub access_token: String,
    /// Granted scopes.
    #[serde(default)]
    pub scope: Option<String>,
}

/// OAuth error body.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OAuthErrorBody {
    /// `invalid_client`…
    #[serde(default)]
    pub error: Option<String>,
    /// Description.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Answer of `reset_password?sendEmail=false`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordToken {
    /// One-time link.
    #[serde(default)]
    pub reset_password_url: Option<String>,
}

/// Answer of `expire_password_with_temp_password`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempPassword {
    /// The temporary password.
    #[serde(default)]
    pub temp_password: Option<String>,
}

/// OIG collection envelope `{data, _links}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Envelope<T> {
    /// Items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Links (`next` when there is more).
    #[serde(default, rename = "_links", alias = "links")]
    pub links: Option<BTreeMap<String, serde_json::Value>>,
}
