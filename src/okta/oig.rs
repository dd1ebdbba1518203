//! Okta Identity Governance v2 access requests: the catalog, request conditions, and requests
//! raised, listed and tracked through `SUBMITTED → PENDING → APPROVED | DENIED …`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{OktaClient, Result, decode, next_link, segment, wire};

/// A catalog entry: an app (top level) or something requestable inside it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CatalogEntry {
    /// `cen…`.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `Application` or `Resource Collection`.
    #[serde(default)]
    pub label: Option<String>,
    /// Parent entry id (children only).
    #[serde(default)]
    pub parent: Option<String>,
    /// Whether a request can be raised for it.
    #[serde(default)]
    pub requestable: Option<bool>,
    /// Links (`relatedEntity` names the Okta app or group).
    #[serde(default, rename = "_links")]
    pub links: Option<BTreeMap<String, serde_json::Value>>,
}

impl CatalogEntry {
    /// Path of the related Okta object (`/api/v1/groups/00g…`), if the entry names one.
    pub fn related_entity(&self) -> Option<String> {
        let href = self.links.as_ref()?.get("relatedEntity")?.get("href")?.as_str()?;
        Some(url::Url::parse(href).map(|u| u.path().to_string()).unwrap_or_else(|_| href.to_string()))
    }
}

/// Who a request condition lets request, what it grants, for how long, approved how.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCondition {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// 0 is highest.
    #[serde(default)]
    pub priority: Option<i64>,
    /// `ACTIVE`, `INACTIVE`…
    #[serde(default)]
    pub status: Option<String>,
    /// Requester settings (`{type: EVERYONE|GROUPS, groups: [...]}`).
    #[serde(default)]
    pub requester_settings: Option<serde_json::Value>,
    /// Access scope (`{type: RESOURCE_DEFAULT|GROUPS, groups: [...]}`).
    #[serde(default)]
    pub access_scope_settings: Option<serde_json::Value>,
    /// Duration (`{type: ADMIN_FIXED_DURATION, duration: "PT4H"}`).
    #[serde(default)]
    pub access_duration_settings: Option<serde_json::Value>,
    /// The approval sequence.
    #[serde(default)]
    pub approval_sequence_id: Option<String>,
}

/// `{type, externalId}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// `OKTA_USER` or `UNKNOWN` (a service principal).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The id.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// What was requested.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requested {
    /// Catalog entry.
    #[serde(default)]
    pub entry_id: Option<String>,
    /// The app.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `APPLICATION`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The group (or app) granted.
    #[serde(default)]
    pub access_scope_id: Option<String>,
    /// `GROUP`, `APPLICATION`…
    #[serde(default)]
    pub access_scope_type: Option<String>,
}

/// One approver's decision. Okta's schema says `deciderId`/`deciderName`; its examples (and
/// real answers) say `userId`/`userName`: both are read.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Approver's user id.
    #[serde(default, alias = "deciderId")]
    pub user_id: Option<String>,
    /// Approver's name.
    #[serde(default, alias = "deciderName")]
    pub user_name: Option<String>,
    /// `APPROVED`/`DENIED` (or `APPROVE`/`DENY`).
    #[serde(default)]
    pub decision: Option<String>,
    /// When.
    #[serde(default)]
    pub decided: Option<DateTime<Utc>>,
}

/// The approval part of a request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestApproval {
    /// `APPROVED`/`DENIED` once decided.
    #[serde(default)]
    pub status: Option<String>,
    /// When decided.
    #[serde(default)]
    pub decided: Option<DateTime<Utc>>,
    /// Each approver's decision.
    #[serde(default)]
    pub decisions: Option<Vec<Decision>>,
}

/// An access request.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    /// `req…`.
    pub id: String,
    /// `SUBMITTED`, `PENDING`, `APPROVED`, `DENIED`, `CANCELED`, `EXPIRED`, `REJECTED`.
    #[serde(default)]
    pub status: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub last_updated: Option<DateTime<Utc>>,
    /// Who asked.
    #[serde(default)]
    pub requested_by: Option<Principal>,
    /// For whom.
    #[serde(default)]
    pub requested_for: Option<Principal>,
    /// What.
    #[serde(default)]
    pub requested: Option<Requested>,
    /// Decided.
    #[serde(default)]
    pub resolved: Option<DateTime<Utc>>,
    /// `PENDING`, `GRANTED`, `FAILED`, `MANUAL_REQUIRED`.
    #[serde(default)]
    pub grant_status: Option<String>,
    /// When access was granted.
    #[serde(default)]
    pub granted: Option<DateTime<Utc>>,
    /// `PENDING`, `REVOKED`, `FAILED`.
    #[serde(default)]
    pub revocation_status: Option<String>,
    /// When access was removed.
    #[serde(default)]
    pub revoked: Option<DateTime<Utc>>,
    /// When access will be removed.
    #[serde(default)]
    pub revocation_scheduled: Option<DateTime<Utc>>,
    /// ISO-8601 duration of time-bound access.
    #[serde(default)]
    pub access_duration: Option<String>,
    /// Approvals.
    #[serde(default)]
    pub request_approval: Option<RequestApproval>,
}

impl AccessRequest {
    /// Decided one way or the other (or withdrawn): nothing more will happen to the decision.
    pub fn is_resolved(&self) -> bool {
        matches!(self.status.as_deref(), Some("APPROVED" | "DENIED" | "CANCELED" | "EXPIRED" | "REJECTED"))
    }
}

/// An approval task of a request (who must decide, and what they decided).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// 24 hex characters.
    pub id: String,
    /// The request it belongs to.
    #[serde(default)]
    pub request_id: Option<String>,
    /// `OPEN`, `COMPLETED`, `ASSIGNING`, `LOCKED`.
    #[serde(default)]
    pub status: Option<String>,
    /// `APPROVAL`, `QUESTION`, `TODO`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Human label.
    #[serde(default)]
    pub label: Option<String>,
    /// Who must act.
    #[serde(default)]
    pub assignees: Option<Vec<Principal>>,
    /// The answer (`APPROVED`/`DENIED` for approvals).
    #[serde(default)]
    pub value: Option<String>,
    /// Who answered.
    #[serde(default)]
    pub completed_by: Option<Principal>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A request to raise.
#[derive(Debug, Clone)]
pub struct NewAccessRequest {
    /// Catalog entry id (`cen…`).
    pub entry_id: String,
    /// The user who gets the access.
    pub requested_for: String,
    /// Who asks, if not the caller (a user id).
    pub requested_by: Option<String>,
    /// Answers to request fields: (field id, value), e.g. the justification.
    pub fields: Vec<(String, String)>,
}

impl OktaClient {
    fn enveloped<T>(&self, first: String, what: &'static str) -> BoxStream<'static, Result<T>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(path) = next else { return Ok(None) };
                let a = client.get(&path).await?;
                let env: wire::Envelope<T> = decode(&a, what)?;
                let body_next = env
                    .links
                    .as_ref()
                    .and_then(|l| l.get("next"))
                    .and_then(|n| n.get("href"))
                    .and_then(|h| h.as_str())
                    .map(super::path_and_query);
                let next = next_link(&a.headers).or(body_next).filter(|n| *n != path);
                Ok(Some((env.data, next)))
            }
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Catalog entries matching `filter` (Okta requires one: `not(parent pr)` for the top
    /// level, `parent eq "cen…"` for the children of an entry).
    pub fn catalog_entries(&self, filter: &str) -> BoxStream<'static, Result<CatalogEntry>> {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .append_pair("limit", "200")
            .finish();
        self.enveloped(format!("/governance/api/v2/catalogs/default/entries?{q}"), "the catalog")
    }

    /// Catalog entries a user may request, matching `filter`.
    pub fn catalog_entries_for(&self, user_id: &str, filter: &str) -> BoxStream<'static, Result<CatalogEntry>> {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .append_pair("limit", "200")
            .finish();
        self.enveloped(
            format!("/governance/api/v2/catalogs/default/user/{}/entries?{q}", segment(user_id)),
            "the catalog",
        )
    }

    /// One catalog entry.
    pub async fn catalog_entry(&self, entry_id: &str) -> Result<CatalogEntry> {
        self.get_json(
            &format!("/governance/api/v2/catalogs/default/entries/{}", segment(entry_id)),
            "the catalog entry",
        )
        .await
    }

    /// The request conditions of an app.
    pub async fn request_conditions(&self, app_id: &str) -> Result<Vec<RequestCondition>> {
        let path = format!("/governance/api/v2/resources/{}/request-conditions", segment(app_id));
        self.enveloped(path, "the request conditions").try_collect().await
    }

    /// Raises an access request (Okta answers 202 `SUBMITTED`).
    pub async fn create_access_request(&self, r: &NewAccessRequest) -> Result<AccessRequest> {
        let mut body = serde_json::json!({
            "requested": { "type": "CATALOG_ENTRY", "entryId": r.entry_id },
            "requestedFor": { "type": "OKTA_USER", "externalId": r.requested_for },
        });
        if let Some(by) = &r.requested_by {
            body["requestedBy"] = serde_json::json!({ "type": "OKTA_USER", "externalId": by });
        }
        if !r.fields.is_empty() {
            body["requesterFieldValues"] =
                r.fields.iter().map(|(id, value)| serde_json::json!({ "id": id, "value": value })).collect();
        }
        let a = self.send(Method::POST, "/governance/api/v2/requests", Some(&body)).await?;
        decode(&a, "the new access request")
    }

    /// Access requests matching a SCIM `filter` (`status eq "PENDING"`), oldest first.
    pub fn access_requests(&self, filter: Option<&str>) -> BoxStream<'static, Result<AccessRequest>> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(f) = filter {
            q.append_pair("filter", f);
        }
        q.append_pair("limit", "200");
        self.enveloped(format!("/governance/api/v2/requests?{}", q.finish()), "the access requests")
    }

    /// Approval tasks matching a SCIM `filter` (`requestId eq "req…"`, `status eq "OPEN"`).
    pub fn access_request_tasks(&self, filter: Option<&str>) -> BoxStream<'static, Result<Task>> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(f) = filter {
            q.append_pair("filter", f);
        }
        q.append_pair("limit", "200");
        self.enveloped(format!("/governance/api/v2/tasks?{}", q.finish()), "the approval tasks")
    }

    /// One access request.
    pub async fn access_request(&self, id: &str) -> Result<AccessRequest> {
        self.get_json(&format!("/governance/api/v2/requests/{}", segment(id)), "the access request").await
    }
}
