//! The directory the approval policy reads — managers, group owners and members, who belongs to
//! what — as a snapshot fetched from Okta for one decision. The domain's rules are pure and
//! synchronous; this gathers, asynchronously and only for the people and groups involved, what
//! they will ask.

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt as _;

use super::{Engine, EngineError};
use crate::domain::catalog::{ApproverRule, Catalog, CatalogEntry, Directory, Target};
use crate::domain::{App, Group};
use crate::okta::{GroupQuery, OktaClient};

/// What Okta said about the people and groups of one request or of the catalog.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Login → (Okta id, manager's login).
    users: HashMap<String, (String, Option<String>)>,
    /// Logins known not to exist.
    missing_users: HashSet<String>,
    /// Group name → group.
    groups: HashMap<String, Group>,
    /// Group name → owner logins.
    owners: HashMap<String, Vec<String>>,
    /// Group name → member logins.
    members: HashMap<String, Vec<String>>,
    /// Login → group names.
    groups_of: HashMap<String, Vec<String>>,
    /// Apps by label and by name (lower case).
    apps: HashMap<String, App>,
}

impl Directory for Snapshot {
    fn user_exists(&self, login: &str) -> bool {
        self.users.contains_key(&login.to_ascii_lowercase())
    }
    fn group_exists(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }
    fn app_exists(&self, app: &str) -> bool {
        self.apps.contains_key(&app.to_ascii_lowercase())
    }
    fn manager_of(&self, login: &str) -> Option<String> {
        self.users.get(&login.to_ascii_lowercase()).and_then(|(_, m)| m.clone())
    }
    fn group_owners(&self, group: &str) -> Vec<String> {
        self.owners.get(group).cloned().unwrap_or_default()
    }
    fn group_members(&self, group: &str) -> Vec<String> {
        self.members.get(group).cloned().unwrap_or_default()
    }
    fn groups_of(&self, login: &str) -> Vec<String> {
        self.groups_of.get(&login.to_ascii_lowercase()).cloned().unwrap_or_default()
    }
}

impl Snapshot {
    /// The Okta id of a login fetched into the snapshot.
    pub fn user_id(&self, login: &str) -> Option<&str> {
        self.users.get(&login.to_ascii_lowercase()).map(|(id, _)| id.as_str())
    }

    /// A group fetched into the snapshot.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// An app fetched into the snapshot, by label or name.
    pub fn app(&self, label_or_name: &str) -> Option<&App> {
        self.apps.get(&label_or_name.to_ascii_lowercase())
    }
}

fn remote(e: crate::okta::OktaError) -> EngineError {
    EngineError::Remote(e.to_string())
}

/// Looks a group up by its exact name.
pub async fn group_by_name(okta: &OktaClient, name: &str) -> Result<Option<Group>, EngineError> {
    let expr = format!("profile.name eq \"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
    let found: Vec<Group> = okta.groups(&GroupQuery::search(expr)).try_collect().await.map_err(remote)?;
    Ok(found.into_iter().find(|g| g.name == name))
}

/// Builds snapshots.
pub(crate) struct Builder<'a> {
    okta: &'a OktaClient,
    snap: Snapshot,
    apps_loaded: bool,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(okta: &'a OktaClient) -> Self {
        Builder { okta, snap: Snapshot::default(), apps_loaded: false }
    }

    /// Fetches a person (and remembers their manager's login).
    pub(crate) async fn user(&mut self, login: &str) -> Result<bool, EngineError> {
        let key = login.to_ascii_lowercase();
        if self.snap.users.contains_key(&key) {
            return Ok(true);
        }
        if self.snap.missing_users.contains(&key) {
            return Ok(false);
        }
        let user = match self.okta.user(login).await {
            Ok(u) => u,
            Err(e) if e.is_not_found() => {
                self.snap.missing_users.insert(key);
                return Ok(false);
            }
            Err(e) => return Err(remote(e)),
        };
        let manager = if user.manager_id.is_empty() {
            None
        } else {
            match self.okta.user(&user.manager_id).await {
                Ok(m) => Some(m.login.to_ascii_lowercase()),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(remote(e)),
            }
        };
        self.snap.users.insert(key, (user.id, manager));
        Ok(true)
    }

    /// Fetches a person's groups.
    async fn groups_of(&mut self, login: &str) -> Result<(), EngineError> {
        let key = login.to_ascii_lowercase();
        if self.snap.groups_of.contains_key(&key) || !self.user(login).await? {
            return Ok(());
        }
        let id = self.snap.users[&key].0.clone();
        let groups = self.okta.user_groups(&id).await.map_err(remote)?;
        self.snap.groups_of.insert(key, groups.into_iter().map(|g| g.name).collect());
        Ok(())
    }

    /// Fetches a group by name, and its owners.
    pub(crate) async fn group(&mut self, name: &str) -> Result<bool, EngineError> {
        if self.snap.groups.contains_key(name) {
            return Ok(true);
        }
        let Some(group) = group_by_name(self.okta, name).await? else { return Ok(false) };
        let mut owners = Vec::new();
        for o in self.okta.group_owners(&group.id).await.map_err(remote)? {
            if o.kind.eq_ignore_ascii_case("USER") {
                let u = self.okta.user(&o.id).await.map_err(remote)?;
                owners.push(u.login.to_ascii_lowercase());
            }
        }
        self.snap.owners.insert(name.to_string(), owners);
        self.snap.groups.insert(name.to_string(), group);
        Ok(true)
    }

    async fn members(&mut self, name: &str) -> Result<(), EngineError> {
        if self.snap.members.contains_key(name) || !self.group(name).await? {
            return Ok(());
        }
        let id = self.snap.groups[name].id.clone();
        let members: Vec<String> = self
            .okta
            .group_members(&id)
            .map_ok(|u| u.login.to_ascii_lowercase())
            .try_collect()
            .await
            .map_err(remote)?;
        self.snap.members.insert(name.to_string(), members);
        Ok(())
    }

    async fn apps(&mut self) -> Result<(), EngineError> {
        if self.apps_loaded {
            return Ok(());
        }
        let apps: Vec<App> = self.okta.apps().try_collect().await.map_err(remote)?;
        for a in apps {
            self.snap.apps.insert(a.name.to_ascii_lowercase(), a.clone());
            self.snap.apps.insert(a.label.to_ascii_lowercase(), a);
        }
        self.apps_loaded = true;
        Ok(())
    }

    /// Everything deciding `entry` for `for_login`, raised by `by_login`, may ask — including
    /// the managers of every approver, for escalation.
    pub(crate) async fn for_request(
        &mut self,
        entry: &CatalogEntry,
        for_login: &str,
        by_login: &str,
    ) -> Result<(), EngineError> {
        self.groups_of(for_login).await?;
        self.user(by_login).await?;
        match &entry.target {
            Target::Group(g) => {
                self.group(g).await?;
            }
            Target::App(_) => self.apps().await?,
        }
        let mut approvers: Vec<String> = entry.owners.iter().map(|o| o.to_ascii_lowercase()).collect();
        for step in &entry.approval {
            match &step.approvers {
                ApproverRule::Manager => {
                    if let Some(m) = self.snap.manager_of(for_login) {
                        approvers.push(m);
                    }
                }
                ApproverRule::GroupOwner => {
                    if let Target::Group(g) = &entry.target {
                        approvers.extend(self.snap.group_owners(g));
                    }
                }
                ApproverRule::AppOwner => {}
                ApproverRule::User(u) => approvers.push(u.to_ascii_lowercase()),
                ApproverRule::GroupMember(g) => {
                    self.members(g).await?;
                    approvers.extend(self.snap.group_members(g));
                }
            }
        }
        // Managers of approvers (and of their managers, once) for escalation.
        for a in approvers {
            self.user(&a).await?;
            if let Some(m) = self.snap.manager_of(&a) {
                self.user(&m).await?;
            }
        }
        Ok(())
    }

    /// Everything the catalog names, to validate it.
    pub(crate) async fn for_catalog(&mut self, catalog: &Catalog) -> Result<(), EngineError> {
        for e in &catalog.entries {
            match &e.target {
                Target::Group(g) => {
                    self.group(g).await?;
                }
                Target::App(_) => self.apps().await?,
            }
            for g in &e.requestable_by {
                self.group(g).await?;
            }
            for o in &e.owners {
                self.user(o).await?;
            }
            for s in &e.approval {
                match &s.approvers {
                    ApproverRule::User(u) => {
                        self.user(u).await?;
                    }
                    ApproverRule::GroupMember(g) => {
                        self.group(g).await?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// What was fetched so far (the builder keeps growing it).
    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    pub(crate) fn finish(self) -> Snapshot {
        self.snap
    }
}

impl Engine {
    /// A directory snapshot for deciding or raising a request for `entry`.
    pub async fn snapshot_for(
        &self,
        entry: &CatalogEntry,
        for_login: &str,
        by_login: &str,
    ) -> Result<Snapshot, EngineError> {
        let mut b = Builder::new(self.okta()?);
        b.for_request(entry, for_login, by_login).await?;
        Ok(b.finish())
    }

    /// Checks every group, app and approver the catalog names against Okta. A problem is an
    /// error naming the entry and what is missing.
    pub async fn validate_catalog(&self) -> Result<Snapshot, EngineError> {
        let mut b = Builder::new(self.okta()?);
        b.for_catalog(self.catalog()).await?;
        let snap = b.finish();
        let problems = self.catalog().validate(&snap);
        if problems.is_empty() {
            Ok(snap)
        } else {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            Err(EngineError::NotConfigured(format!(
                "the access catalog does not match Okta: {}; fix [catalog] in the config",
                list.join("; ")
            )))
        }
    }
}
