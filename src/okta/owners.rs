//! Group owners (`listGroupOwners`) and a group's apps (`listAssignedApplicationsForGroup`): the
//! approvers of a "group owner" step, and what a membership would grant.

use futures::TryStreamExt as _;
use futures::stream::BoxStream;
use serde::Deserialize;

use super::{OktaClient, Result, segment, wire};
use crate::domain::App;

/// One owner of a group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOwner {
    /// User (`00u…`) or group (`00g…`) id.
    pub id: String,
    /// `USER` or `GROUP`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Name shown to people.
    #[serde(default)]
    pub display_name: String,
}

impl OktaClient {
    /// The owners of a group (users, or groups whose members own it), every page.
    pub async fn group_owners(&self, group_id: &str) -> Result<Vec<GroupOwner>> {
        self.paged(format!("/api/v1/groups/{}/owners", segment(group_id)), "the group owners", |o: GroupOwner| o)
            .try_collect()
            .await
    }

    /// The apps assigned to a group: what membership gives.
    pub fn group_apps(&self, group_id: &str) -> BoxStream<'static, Result<App>> {
        self.paged(
            format!("/api/v1/groups/{}/apps?limit=200", segment(group_id)),
            "the group's apps",
            wire::App::into_domain,
        )
    }
}
