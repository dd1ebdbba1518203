//! The access catalog: what may be requested, by whom, approved by whom, for how long, and how
//! it is fulfilled. Defined in the config (no code), like OIG request conditions.
//!
//! ```toml
//! [[catalog.entry]]
//! name = "aws-prod-readonly"
//! group = "aws-prod-readonly"          # or: app = "salesforce"
//! description = "Read-only access to the production AWS account"
//! requestable_by = ["dept-engineering"] # Okta groups of the person the access is for; omit for everyone
//! max_duration = "8h"                   # or "permanent"
//! justification = true
//! routes = ["okta", "servicenow"]
//! approval = [
//!   { approver = "manager" },
//!   { approver = "group_owner", timeout = "24h", on_timeout = "escalate" },
//! ]
//! ```
//!
//! Approvers: `manager`, `group_owner`, `app_owner`, `user:LOGIN`, `group:NAME` (any member);
//! `quorum = "any"` (default) or `"all"`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an entry grants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Target {
    /// Membership of an Okta group (and the apps assigned to it).
    Group(String),
    /// Direct assignment to an Okta app (by its label or integration name).
    App(String),
}

impl Target {
    /// The group or app name.
    pub fn name(&self) -> &str {
        match self {
            Target::Group(n) | Target::App(n) => n,
        }
    }

    /// `group` or `app`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Group(_) => "group",
            Target::App(_) => "app",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}

/// How an approved request is fulfilled (the seed's integration patterns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Pattern B: grantdesk runs the approval sequence, then changes Okta through its API.
    Okta,
    /// Patterns E and A: an Okta Identity Governance request is raised and tracked.
    Oig,
    /// Patterns C and D: the request is recorded in ServiceNow (RITM, approvals, work notes).
    ServiceNow,
}

impl Route {
    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Okta => "okta",
            Route::Oig => "oig",
            Route::ServiceNow => "servicenow",
        }
    }
}

/// Who approves one step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "snake_case")]
pub enum ApproverRule {
    /// The manager (`profile.managerId`) of the person the access is for.
    Manager,
    /// The owners of the requested group.
    GroupOwner,
    /// The owners of the requested app.
    AppOwner,
    /// A named person (Okta login).
    User(String),
    /// Any member of an Okta group.
    GroupMember(String),
}

impl fmt::Display for ApproverRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApproverRule::Manager => f.write_str("manager"),
            ApproverRule::GroupOwner => f.write_str("group owner"),
            ApproverRule::AppOwner => f.write_str("app owner"),
            ApproverRule::User(u) => write!(f, "{u}"),
            ApproverRule::GroupMember(g) => write!(f, "any of {g}"),
        }
    }
}

/// Whether one approval passes a step, or every approver must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Quorum {
    /// The first approval passes the step.
    #[default]
    Any,
    /// Every approver of the step must approve.
    All,
}

/// What happens when a step waits longer than its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// The approvers' managers are added to the step (once).
    #[default]
    Escalate,
    /// The request expires.
    Expire,
}

/// One step of an approval sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Who approves.
    pub approvers: ApproverRule,
    /// Any or all.
    pub quorum: Quorum,
    /// How long the step may wait.
    pub timeout: Option<Duration>,
    /// What a timeout does.
    pub on_timeout: OnTimeout,
}

/// One requestable entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Entry name (what people type and search).
    pub name: String,
    /// What it grants.
    pub target: Target,
    /// What it is for.
    pub description: String,
    /// Okta groups the person the access is for must belong to (any of); empty = everyone.
    pub requestable_by: Vec<String>,
    /// The approval sequence, in order.
    pub approval: Vec<Step>,
    /// Longest grant; `None` = permanent.
    pub max_duration: Option<Duration>,
    /// Whether a justification is required.
    pub justification_required: bool,
    /// Fulfilment routes (combinable).
    pub routes: Vec<Route>,
    /// Owners of an app entry (Okta has no app owners; the catalog names them).
    pub owners: Vec<String>,
}

impl CatalogEntry {
    /// True when this entry is fulfilled through `route`.
    pub fn has_route(&self, route: Route) -> bool {
        self.routes.contains(&route)
    }
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// Entries, in config order.
    pub entries: Vec<CatalogEntry>,
}

/// A problem in the catalog's definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalog entry `{entry}`: {problem}")]
pub struct CatalogError {
    /// The entry (or `catalog` for the whole table).
    pub entry: String,
    /// What is wrong and what is expected.
    pub problem: String,
}

/// What the catalog needs to know about the directory to validate and resolve approvers.
pub trait Directory {
    /// Whether a person with this Okta login exists.
    fn user_exists(&self, login: &str) -> bool;
    /// Whether an Okta group with this name exists.
    fn group_exists(&self, group: &str) -> bool;
    /// Whether an Okta app with this label or name exists.
    fn app_exists(&self, app: &str) -> bool;
    /// Login of the person's manager, if any.
    fn manager_of(&self, login: &str) -> Option<String>;
    /// Logins of the owners of a group.
    fn group_owners(&self, group: &str) -> Vec<String>;
    /// Logins of the members of a group.
    fn group_members(&self, group: &str) -> Vec<String>;
    /// Names of the groups a person belongs to.
    fn groups_of(&self, login: &str) -> Vec<String>;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    group: Option<String>,
    app: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    requestable_by: Vec<String>,
    #[serde(default)]
    approval: Vec<RawStep>,
    max_duration: Option<String>,
    #[serde(default)]
    justification: bool,
    #[serde(default)]
    routes: Vec<String>,
    #[serde(default)]
    owners: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    approver: String,
    #[serde(default)]
    quorum: Quorum,
    timeout: Option<String>,
    #[serde(default)]
    on_timeout: OnTimeout,
}

fn parse_duration(entry: &str, key: &str, s: &str) -> Result<Duration, CatalogError> {
    humantime::parse_duration(s).map_err(|e| CatalogError {
        entry: entry.to_string(),
        problem: format!("`{key} = \"{s}\"` is not a duration ({e}); expected e.g. \"8h\", \"90days\""),
    })
}

impl Catalog {
    /// Parses the `[catalog]` table of the config. Every problem names the entry and the key.
    pub fn from_toml(value: &toml::Value) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| CatalogError { entry: "catalog".into(), problem: e.message().to_string() })?;
        let mut entries = Vec::with_capacity(raw.entry.len());
        for r in raw.entry {
            let err = |problem: String| CatalogError { entry: r.name.clone(), problem };
            let target = match (&r.group, &r.app) {
                (Some(g), None) => Target::Group(g.clone()),
                (None, Some(a)) => Target::App(a.clone()),
                _ => return Err(err("needs exactly one of `group = \"NAME\"` or `app = \"NAME\"`".into())),
            };
            if entries.iter().any(|e: &CatalogEntry| e.name == r.name) {
                return Err(err("is defined twice".into()));
            }
            let max_duration = match r.max_duration.as_deref() {
                None | Some("permanent") => None,
                Some(s) => Some(parse_duration(&r.name, "max_duration", s)?),
            };
            let mut routes = Vec::new();
            for s in &r.routes {
                routes.push(match s.as_str() {
                    "okta" => Route::Okta,
                    "oig" => Route::Oig,
                    "servicenow" => Route::ServiceNow,
                    other => return Err(err(format!("unknown route `{other}`; expected okta, oig or servicenow"))),
                });
            }
            if routes.is_empty() {
                return Err(err("`routes` is empty; expected at least one of okta, oig, servicenow".into()));
            }
            if routes.contains(&Route::Okta) && routes.contains(&Route::Oig) {
                return Err(err("routes `okta` and `oig` both grant the access; choose one".into()));
            }
            let mut approval = Vec::new();
            for s in &r.approval {
                let approvers = match s.approver.as_str() {
                    "manager" => ApproverRule::Manager,
                    "group_owner" => ApproverRule::GroupOwner,
                    "app_owner" => ApproverRule::AppOwner,
                    other => match other.split_once(':') {
                        Some(("user", u)) if !u.is_empty() => ApproverRule::User(u.to_string()),
                        Some(("group", g)) if !g.is_empty() => ApproverRule::GroupMember(g.to_string()),
                        _ => {
                            return Err(err(format!(
                                "unknown approver `{other}`; expected manager, group_owner, app_owner, user:LOGIN or group:NAME"
                            )));
                        }
                    },
                };
                if approvers == ApproverRule::GroupOwner && matches!(target, Target::App(_)) {
                    return Err(err("approver `group_owner` needs a group entry; use app_owner".into()));
                }
                let timeout = s.timeout.as_deref().map(|t| parse_duration(&r.name, "timeout", t)).transpose()?;
                approval.push(Step { approvers, quorum: s.quorum, timeout, on_timeout: s.on_timeout });
            }
            if approval.is_empty() && !routes.contains(&Route::Oig) {
                return Err(err("`approval` is empty; every grantdesk-run request needs at least one step".into()));
            }
            entries.push(CatalogEntry {
                name: r.name,
                target,
                description: r.description,
                requestable_by: r.requestable_by,
                approval,
                max_duration,
                justification_required: r.justification,
                routes,
                owners: r.owners,
            });
        }
        Ok(Catalog { entries })
    }

    /// Checks every group, app and approver the catalog names exists in the directory.
    pub fn validate(&self, dir: &dyn Directory) -> Vec<CatalogError> {
        let mut problems = Vec::new();
        for e in &self.entries {
            let mut err = |problem: String| problems.push(CatalogError { entry: e.name.clone(), problem });
            match &e.target {
                Target::Group(g) if !dir.group_exists(g) => err(format!("group `{g}` does not exist in Okta")),
                Target::App(a) if !dir.app_exists(a) => err(format!("app `{a}` does not exist in Okta")),
                _ => {}
            }
            for g in &e.requestable_by {
                if !dir.group_exists(g) {
                    err(format!("requestable_by group `{g}` does not exist in Okta"));
                }
            }
            for o in &e.owners {
                if !dir.user_exists(o) {
                    err(format!("owner `{o}` is not an Okta user"));
                }
            }
            for (i, s) in e.approval.iter().enumerate() {
                match &s.approvers {
                    ApproverRule::User(u) if !dir.user_exists(u) => {
                        err(format!("approval step {}: approver `{u}` is not an Okta user", i + 1))
                    }
                    ApproverRule::GroupMember(g) if !dir.group_exists(g) => {
                        err(format!("approval step {}: approver group `{g}` does not exist in Okta", i + 1))
                    }
                    ApproverRule::GroupOwner => {
                        if let Target::Group(g) = &e.target
                            && dir.group_exists(g)
                            && dir.group_owners(g).is_empty()
                        {
                            err(format!("approval step {}: group `{g}` has no owners to approve", i + 1))
                        }
                    }
                    ApproverRule::AppOwner if e.owners.is_empty() => {
                        err(format!("approval step {}: app_owner needs `owners = [...]` on the entry", i + 1))
                    }
                    _ => {}
                }
            }
        }
        problems
    }

    /// The entry with this name.
    pub fn entry(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The entry granting this target.
    pub fn entry_for(&self, target: &Target) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| &e.target == target)
    }

    /// The entries `login` may request (their Okta groups meet `requestable_by`).
    pub fn requestable_for<'a>(&'a self, login: &str, dir: &dyn Directory) -> Vec<&'a CatalogEntry> {
        let groups = dir.groups_of(login);
        self.entries
            .iter()
            .filter(|e| e.requestable_by.is_empty() || e.requestable_by.iter().any(|g| groups.contains(g)))
            .collect()
    }

    /// The default catalog of WORLD.md, for the demo world.
    pub fn demo_toml() -> &'static str {
        include_str!("demo_catalog.toml")
    }

    /// The default catalog, parsed.
    pub fn demo() -> Catalog {
        let value: toml::Value = toml::from_str(Self::demo_toml()).unwrap_or(toml::Value::Table(Default::default()));
        let table = value.get("catalog").cloned().unwrap_or(toml::Value::Table(Default::default()));
        Catalog::from_toml(&table).unwrap_or_default()
    }
}

/// Who would be asked at each step of `entry`'s sequence for a request for `for_login`.
pub fn resolve_approvers(entry: &CatalogEntry, for_login: &str, dir: &dyn Directory) -> Vec<Vec<String>> {
    entry.approval.iter().map(|s| resolve_step(&s.approvers, entry, for_login, dir)).collect()
}

/// Who approves one step.
pub fn resolve_step(rule: &ApproverRule, entry: &CatalogEntry, for_login: &str, dir: &dyn Directory) -> Vec<String> {
    let mut v = match rule {
        ApproverRule::Manager => dir.manager_of(for_login).into_iter().collect(),
        ApproverRule::GroupOwner => match &entry.target {
            Target::Group(g) => dir.group_owners(g),
            Target::App(_) => Vec::new(),
        },
        ApproverRule::AppOwner => entry.owners.clone(),
        ApproverRule::User(u) => vec![u.clone()],
        ApproverRule::GroupMember(g) => dir.group_members(g),
    };
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_parses_with_every_world_entry() {
        let c =
            Catalog::from_toml(toml::from_str::<toml::Value>(Catalog::demo_toml()).unwrap().get("catalog").unwrap())
                .unwrap();
        let names: Vec<&str> = c.entries.iter().map(|e| e.name.as_str()).collect();
        for n in [
            "zoom-users",
            "slack-guests",
            "github-engineering",
            "aws-prod-readonly",
            "aws-prod-admin",
            "salesforce",
            "finance-netsuite",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        let ro = c.entry("aws-prod-readonly").unwrap();
        assert_eq!(ro.max_duration, Some(Duration::from_secs(8 * 3600)));
        assert_eq!(ro.routes, vec![Route::Okta, Route::ServiceNow]);
        assert_eq!(ro.approval.len(), 2);
        assert_eq!(
            c.entry("aws-prod-admin").unwrap().approval[1].approvers,
            ApproverRule::User("sam.security@example.com".into())
        );
        assert_eq!(c.entry("salesforce").unwrap().target, Target::App("Salesforce".into()));
    }

    fn parse(s: &str) -> Result<Catalog, CatalogError> {
        Catalog::from_toml(toml::from_str::<toml::Value>(s).unwrap().get("catalog").unwrap())
    }

    #[test]
    fn bad_entries_are_named() {
        let e =
            parse("[[catalog.entry]]\nname='x'\ngroup='g'\napp='a'\nroutes=['okta']\napproval=[{approver='manager'}]")
                .unwrap_err();
        assert_eq!(e.entry, "x");
        let e = parse("[[catalog.entry]]\nname='y'\ngroup='g'\nroutes=['fax']\napproval=[{approver='manager'}]")
            .unwrap_err();
        assert!(e.problem.contains("fax"));
        let e =
            parse("[[catalog.entry]]\nname='z'\ngroup='g'\nroutes=['okta']\napproval=[{approver='boss'}]").unwrap_err();
        assert!(e.problem.contains("boss"));
        let e = parse("[[catalog.entry]]\nname='w'\ngroup='g'\nroutes=['okta']\nmax_duration='soon'\napproval=[{approver='manager'}]").unwrap_err();
        assert!(e.problem.contains("max_duration"));
    }
}
