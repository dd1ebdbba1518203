//! The Okta emulator's own records: users, groups, apps, assignments, factors, System Log events
//! and OIG objects, with Okta-shaped ids and timestamps. Written from the reference alone; the
//! client never sees these types.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rand::{Rng, RngExt};

/// Okta ids are 20 characters: a 3-character type prefix, then 17 base62 characters. The emulator
/// spends 6 of them on a sequence number so that ids sort in creation order — the order `after`
/// cursors walk — then 8 random characters and a fixed 3-character org suffix, as real ids end.
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ORG_SUFFIX: &str = "1d7";

/// Makes an id such that ids made with larger `seq` (same prefix) sort after smaller ones.
pub fn okta_id(prefix: &str, seq: u64, rng: &mut impl Rng) -> String {
    debug_assert_eq!(prefix.len(), 3);
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    let mut digits = [0u8; 6];
    let mut n = seq;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    s.extend(digits.iter().map(|b| *b as char));
    for _ in 0..8 {
        s.push(BASE62[rng.random_range(0..62usize)] as char);
    }
    s.push_str(ORG_SUFFIX);
    s
}

/// 24 lowercase hex characters, the id form of OIG sequences and tasks.
pub fn hex24(rng: &mut impl Rng) -> String {
    (0..24).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16usize)])).collect()
}

/// A UUID v4 drawn from `rng` (deterministic, unlike `Uuid::new_v4`).
pub fn uuid_from(rng: &mut impl Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Seconds since the Unix epoch; Okta timestamps have second precision (`.000Z`).
pub type Secs = i64;

/// Okta's timestamp form: `2022-05-05T18:15:44.000Z`.
pub fn ts(s: Secs) -> String {
    DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// Millisecond timestamp, as System Log `published` values are.
pub fn ts_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an ISO-8601 timestamp as clients send them (with or without fraction or zone).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), f) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// User lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Staged,
    Provisioned,
    Active,
    Recovery,
    PasswordExpired,
    LockedOut,
    Suspended,
    Deprovisioned,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Staged,
        Status::Provisioned,
        Status::Active,
        Status::Recovery,
        Status::PasswordExpired,
        Status::LockedOut,
        Status::Suspended,
        Status::Deprovisioned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Staged => "STAGED",
            Status::Provisioned => "PROVISIONED",
            Status::Active => "ACTIVE",
            Status::Recovery => "RECOVERY",
            Status::PasswordExpired => "PASSWORD_EXPIRED",
            Status::LockedOut => "LOCKED_OUT",
            Status::Suspended => "SUSPENDED",
            Status::Deprovisioned => "DEPROVISIONED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    pub fn index(self) -> usize {
        Status::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// The profile attributes the emulator keeps (Okta's base profile plus a few custom ones).
#[derive(Debug, Clone)]
pub struct Profile {
    pub first_name: String,
    pub last_name: String,
    pub login: String,
    pub email: String,
    pub title: String,
    pub department: String,
    pub division: String,
    pub user_type: String,
    pub employee_number: String,
    pub mobile_phone: String,
    pub city: String,
    pub manager_id: Option<String>,
    pub manager: Option<String>,
    pub cost_center: String,
    pub contract_end: Option<Secs>,
}

/// An Okta user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub status: Status,
    pub created: Secs,
    pub activated: Option<Secs>,
    pub status_changed: Option<Secs>,
    pub last_login: Option<Secs>,
    pub last_updated: Secs,
    pub password_changed: Option<Secs>,
    pub profile: Profile,
    pub factors: Vec<Factor>,
}

/// An MFA enrolment.
#[derive(Debug, Clone)]
pub struct Factor {
    pub id: String,
    pub factor_type: &'static str,
    pub provider: &'static str,
    pub vendor_name: &'static str,
    pub status: &'static str,
    pub created: Secs,
    pub last_updated: Secs,
    /// Profile attributes (`phoneNumber`, `credentialId`, `email`…).
    pub profile: Vec<(&'static str, String)>,
}

/// Group type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    Okta,
    App,
    BuiltIn,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Okta => "OKTA_GROUP",
            GroupType::App => "APP_GROUP",
            GroupType::BuiltIn => "BUILT_IN",
        }
    }
}

/// An Okta group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub kind: GroupType,
    pub name: String,
    pub description: String,
    pub created: Secs,
    pub last_updated: Secs,
    pub last_membership_updated: Secs,
    /// For APP_GROUP: the app the group is imported from (index into apps).
    pub source_app: Option<usize>,
    /// Users (indices) owning this group, for the access catalog.
    pub owners: Vec<usize>,
}

/// An app instance.
#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub name: &'static str,
    pub label: &'static str,
    pub sign_on_mode: &'static str,
    pub created: Secs,
    pub last_updated: Secs,
    pub owners: Vec<usize>,
    /// Groups assigned to the app (group index → priority).
    pub groups: BTreeMap<usize, u32>,
    /// Direct (`USER` scope) assignments: user index → assignment.
    pub direct: BTreeMap<usize, AppUser>,
    /// Everyone assigned, directly or through a group: user index → number of assigned groups
    /// the user is in. Kept current on every membership change so app-user pages are cheap.
    pub via_groups: BTreeMap<usize, u32>,
}

/// A direct app assignment.
#[derive(Debug, Clone)]
pub struct AppUser {
    pub id: String,
    pub created: Secs,
    pub last_updated: Secs,
    pub external_id: Option<String>,
}

/// Who did something, in a System Log event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

/// What something was done to.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

/// One System Log event.
#[derive(Debug, Clone)]
pub struct LogEvent {
    /// Persistence order: the key of polling cursors.
    pub seq: u64,
    pub uuid: String,
    pub published_ms: i64,
    pub event_type: &'static str,
    pub display_message: &'static str,
    pub severity: &'static str,
    pub actor: Actor,
    pub targets: Vec<Target>,
    pub result: &'static str,
    pub reason: Option<String>,
    pub request_id: String,
    pub request_uri: Option<String>,
    pub ip: &'static str,
    pub transaction_type: &'static str,
}

/// OIG request status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqStatus {
    Submitted,
    Pending,
    Approved,
    Denied,
    Canceled,
    Expired,
}

impl ReqStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReqStatus::Submitted => "SUBMITTED",
            ReqStatus::Pending => "PENDING",
            ReqStatus::Approved => "APPROVED",
            ReqStatus::Denied => "DENIED",
            ReqStatus::Canceled => "CANCELED",
            ReqStatus::Expired => "EXPIRED",
        }
    }
}

/// What an OIG condition grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Membership of an Okta group (index).
    Group(usize),
    /// Assignment to the app itself.
    App,
}

/// How the seeded approvers decide requests under a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// Always denied (e.g. finance systems for people outside Finance).
    Deny,
}

/// Who may request under a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requesters {
    Everyone,
    Groups(Vec<usize>),
}

/// One approval step of a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Manager,
    GroupOwner,
    AppOwner,
    /// Any member of this group (index).
    AnyOf(usize),
    /// A named user (index).
    User(usize),
}

/// An approval sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub id: String,
    pub name: &'static str,
    pub description: &'static str,
    pub steps: Vec<Step>,
}

/// A request condition on an app resource.
#[derive(Debug, Clone)]
pub struct Condition {
    pub id: String,
    pub app: usize,
    pub name: String,
    pub description: String,
    pub priority: u32,
    pub requesters: Requesters,
    pub scope: Scope,
    /// ISO-8601 duration fixed by the admin, if access is time-bound.
    pub duration: Option<&'static str>,
    pub sequence: usize,
    pub decision: Decision,
    pub created: Secs,
    pub entry: usize,
}

/// A catalog entry: one per app (top level) and one per group-scoped condition (children).
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub description: String,
    pub parent: Option<usize>,
    pub requestable: bool,
    pub app: usize,
    pub scope: Scope,
}

/// One approver's decision.
#[derive(Debug, Clone)]
pub struct DecisionRec {
    pub user: usize,
    pub approved: bool,
    pub decided_ms: i64,
}

/// An OIG access request.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub created: Secs,
    /// Creator: a user index or a service principal id.
    pub created_by: Principal,
    pub last_updated: Secs,
    pub status: ReqStatus,
    pub requested_by: Principal,
    pub requested_for: usize,
    pub entry: usize,
    pub condition: usize,
    pub justification: Option<String>,
    pub resolved: Option<Secs>,
    pub grant_status: Option<&'static str>,
    pub granted: Option<Secs>,
    pub revocation_status: Option<&'static str>,
    pub revoked: Option<Secs>,
    pub revocation_scheduled: Option<Secs>,
    pub decisions: Vec<DecisionRec>,
    pub permalink_id: u64,
    pub external_request_id: String,
    /// When the seeded approvers will decide (emulator clock, seconds).
    pub decide_at: Option<Secs>,
}

/// Who asked: an Okta user or an OAuth service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(usize),
    Service(String),
}

/// Index sets kept beside the records so list pages cost O(page), not O(world).
#[derive(Debug, Default, Clone)]
pub struct Indexes {
    pub user_by_id: std::collections::HashMap<String, usize>,
    pub user_by_login: std::collections::HashMap<String, usize>,
    pub users_by_status: [BTreeSet<usize>; 8],
    pub group_by_id: std::collections::HashMap<String, usize>,
    pub app_by_id: std::collections::HashMap<String, usize>,
    /// Members of each group (user indices, ascending = id order).
    pub members: Vec<BTreeSet<usize>>,
    /// Groups of each user (group indices, ascending = id order).
    pub groups_of: Vec<BTreeSet<usize>>,
}
