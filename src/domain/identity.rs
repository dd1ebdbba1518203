//! Identities as the console understands them: Okta users, groups, apps, memberships, app
//! assignments and System Log events — independent of Okta's wire shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Okta user lifecycle status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Staged: created, not activated.
    Staged,
    /// Provisioned: activated, the user has not yet set a password.
    Provisioned,
    /// Active.
    Active,
    /// Recovery: a password reset is in progress.
    Recovery,
    /// Password expired: must change it at next sign-in.
    PasswordExpired,
    /// Locked out after too many failed sign-ins.
    LockedOut,
    /// Suspended by an admin.
    Suspended,
    /// Deactivated.
    Deprovisioned,
    /// A status this build does not know.
    #[serde(untagged)]
    Other(String),
}

impl UserStatus {
    /// Parses Okta's status string.
    pub fn parse(s: &str) -> Self {
        match s {
            "STAGED" => UserStatus::Staged,
            "PROVISIONED" => UserStatus::Provisioned,
            "ACTIVE" => UserStatus::Active,
            "RECOVERY" => UserStatus::Recovery,
            "PASSWORD_EXPIRED" => UserStatus::PasswordExpired,
            "LOCKED_OUT" => UserStatus::LockedOut,
            "SUSPENDED" => UserStatus::Suspended,
            "DEPROVISIONED" => UserStatus::Deprovisioned,
            other => UserStatus::Other(other.to_string()),
        }
    }

    /// Okta's status string.
    pub fn as_str(&self) -> &str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
            UserStatus::Other(s) => s,
        }
    }

    /// Statuses an agent must not miss (the account cannot sign in).
    pub fn is_blocking(&self) -> bool {
        matches!(self, UserStatus::LockedOut | UserStatus::Suspended | UserStatus::Deprovisioned)
    }
}

impl std::fmt::Display for UserStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Okta user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaUser {
    /// Okta id (`00u…`).
    pub id: String,
    /// Login (an email in our world).
    pub login: String,
    /// Primary email.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Lifecycle status.
    pub status: UserStatus,
    /// Department (profile attribute).
    pub department: String,
    /// Job title (profile attribute).
    pub title: String,
    /// Okta id of the manager (`profile.managerId`), empty if none.
    pub manager_id: String,
    /// Employee or contractor (`profile.userType`), empty if unset.
    pub user_type: String,
    /// When the user was created.
    pub created: DateTime<Utc>,
    /// Last profile or status change.
    pub last_updated: DateTime<Utc>,
    /// Last status change.
    pub status_changed: Option<DateTime<Utc>>,
    /// Last successful sign-in.
    pub last_login: Option<DateTime<Utc>>,
    /// Password last changed.
    pub password_changed: Option<DateTime<Utc>>,
}

impl OktaUser {
    /// "First Last".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Okta group type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupKind {
    /// Managed in Okta; memberships can be changed through the API.
    OktaGroup,
    /// Imported from an app (AD, Workday…); read-only in Okta.
    AppGroup,
    /// `Everyone`.
    BuiltIn,
    /// A type this build does not know.
    #[serde(untagged)]
    Other(String),
}

impl GroupKind {
    /// Parses Okta's group type.
    pub fn parse(s: &str) -> Self {
        match s {
            "OKTA_GROUP" => GroupKind::OktaGroup,
            "APP_GROUP" => GroupKind::AppGroup,
            "BUILT_IN" => GroupKind::BuiltIn,
            other => GroupKind::Other(other.to_string()),
        }
    }

    /// Okta's group type string.
    pub fn as_str(&self) -> &str {
        match self {
            GroupKind::OktaGroup => "OKTA_GROUP",
            GroupKind::AppGroup => "APP_GROUP",
            GroupKind::BuiltIn => "BUILT_IN",
            GroupKind::Other(s) => s,
        }
    }
}

/// An Okta group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Okta id (`00g…`).
    pub id: String,
    /// `profile.name`.
    pub name: String,
    /// `profile.description`.
    pub description: String,
    /// Group type.
    pub kind: GroupKind,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last profile change.
    pub last_updated: DateTime<Utc>,
    /// Last membership change.
    pub last_membership_updated: Option<DateTime<Utc>>,
}

/// An Okta app instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// Okta id (`0oa…`).
    pub id: String,
    /// App integration key (`salesforce`, `github`…).
    pub name: String,
    /// Label shown to people (`Salesforce.com`).
    pub label: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last change.
    pub last_updated: DateTime<Utc>,
}

/// A user's membership of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// Group id.
    pub group_id: String,
    /// User id.
    pub user_id: String,
}

/// A user's assignment to an app, directly or through a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppAssignment {
    /// App id.
    pub app_id: String,
    /// User id.
    pub user_id: String,
    /// `USER` (direct) or `GROUP` (inherited through a group assignment).
    pub scope: String,
    /// Assignment status (`ACTIVE`, `PROVISIONED`…).
    pub status: String,
    /// Last change.
    pub last_updated: Option<DateTime<Utc>>,
}

/// Who did something, in a System Log event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogActor {
    /// Actor id (user or client id).
    pub id: String,
    /// `User`, `PublicClientApp`, `SystemPrincipal`…
    pub kind: String,
    /// Usually the login.
    pub alternate_id: String,
    /// Human name.
    pub display_name: String,
}

/// What something was done to, in a System Log event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogTarget {
    /// Target id.
    pub id: String,
    /// `User`, `UserGroup`, `AppInstance`, `AppUser`…
    pub kind: String,
    /// Usually the login or the app key.
    pub alternate_id: String,
    /// Human name.
    pub display_name: String,
}

/// One Okta System Log event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    /// Event uuid.
    pub uuid: String,
    /// When it happened.
    pub published: DateTime<Utc>,
    /// `group.user_membership.add`, `user.account.lock`…
    pub event_type: String,
    /// Human-readable message.
    pub display_message: String,
    /// `INFO`, `WARN`, `ERROR`, `DEBUG`.
    pub severity: String,
    /// Who.
    pub actor: LogActor,
    /// On what.
    pub targets: Vec<LogTarget>,
    /// `SUCCESS`, `FAILURE`, `SKIPPED`, `ALLOW`, `DENY`, `CHALLENGE`, `UNKNOWN`.
    pub outcome: String,
    /// Reason given with the outcome, if any.
    pub outcome_reason: String,
    /// `debugContext.debugData.requestId`.
    pub request_id: String,
}
