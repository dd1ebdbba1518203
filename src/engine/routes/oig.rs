//! Route `oig` (patterns E and A): the request is raised in Okta Identity Governance for the
//! person on the ticket, linked to it, and tracked until OIG resolves it.
//!
//! Raising first looks for an OIG request already raised for this grantdesk request (its id is
//! in the justification OIG keeps), so a retry after a dropped response never raises twice.

use chrono::Utc;
use futures::TryStreamExt as _;
use serde_json::json;

use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::catalog::Target;
use crate::domain::request::{AccessRequest, RequestStatus};
use crate::engine::{Applied, ApplyError, Engine, EngineError};
use crate::okta::oig::{self, NewAccessRequest};

fn marker(r: &AccessRequest) -> String {
    format!("grantdesk request {}", r.id)
}

/// The OIG catalog entry for the request's target.
async fn entry_for(engine: &Engine, r: &AccessRequest, user_id: &str) -> Result<oig::CatalogEntry, ApplyError> {
    let okta = engine.okta()?;
    let name = r.target.name().to_ascii_lowercase();
    // An entry is the target when its related entity is the Okta group or app (known since the
    // request was raised), or else when it bears its name. (An entry's `label` is its kind,
    // `Application` or `Resource Collection`, not its name.)
    let target_path = r.external.okta_target_id.as_ref().map(|id| format!("/{id}"));
    let is_target = |e: &oig::CatalogEntry| {
        let by_id = match (&target_path, e.related_entity()) {
            (Some(p), Some(rel)) => rel.ends_with(p.as_str()),
            _ => false,
        };
        by_id || e.name.as_deref().is_some_and(|n| n.to_ascii_lowercase() == name)
    };
    let entries: Vec<oig::CatalogEntry> = okta.catalog_entries_for(user_id, "not(parent pr)").try_collect().await?;
    if matches!(r.target, Target::App(_))
        && let Some(e) = entries.iter().find(|e| is_target(e))
    {
        return Ok(e.clone());
    }
    let mut children: Vec<oig::CatalogEntry> = Vec::new();
    if matches!(r.target, Target::Group(_)) {
        for e in &entries {
            let filter = format!("parent eq \"{}\"", e.id);
            children.extend(okta.catalog_entries_for(user_id, &filter).try_collect::<Vec<_>>().await?);
            if children.iter().any(&is_target) {
                break;
            }
        }
    }
    children.into_iter().find(|c| is_target(c)).ok_or_else(|| {
        ApplyError::Permanent(format!(
            "Okta Identity Governance offers no catalog entry for {} to {}",
            r.target, r.requested_for
        ))
    })
}

/// Raises (or finds) the OIG request for grantdesk request `id`.
pub async fn raise(engine: &Engine, id: &str) -> Result<Applied, ApplyError> {
    let stored = engine
        .store()
        .access_request(id)
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?
        .ok_or_else(|| ApplyError::Permanent(format!("no access request {id}")))?;
    let r = stored.request;
    if let Some(existing) = &r.external.oig_request_id {
        return Ok(Applied {
            summary: format!("{id} is OIG request {existing}"),
            request_id: None,
            details: json!({"oig_request": existing, "already": true}),
        });
    }
    let okta = engine.okta()?;
    let user = okta.user(&r.requested_for).await?;
    let mark = marker(&r);
    // Already raised by an attempt whose answer was lost?
    let filter = format!("requestedFor.externalId eq \"{}\"", user.id);
    let mine: Vec<oig::AccessRequest> = okta.access_requests(Some(&filter)).try_collect().await.unwrap_or_default();
    let mut found = None;
    for cand in mine.iter().filter(|c| c.created.is_some_and(|t| t >= r.created_at - chrono::Duration::minutes(5))) {
        // The justification travels as a request field; OIG shows it back on the request.
        if let Ok(full) = okta.access_request(&cand.id).await
            && serde_json::to_string(&full).unwrap_or_default().contains(&mark)
        {
            found = Some(full);
            break;
        }
    }
    let (oig_request, already) = match found {
        Some(f) => (f, true),
        None => {
            let entry = entry_for(engine, &r, &user.id).await?;
            let requester = okta.user(&r.requested_by).await.ok().map(|u| u.id);
            let new = NewAccessRequest {
                entry_id: entry.id.clone(),
                requested_for: user.id.clone(),
                requested_by: requester.filter(|rid| *rid != user.id),
                fields: vec![(
                    "justification".into(),
                    format!(
                        "{} — {mark}{}",
                        r.justification,
                        r.ticket.as_ref().map(|t| format!(", ticket {t}")).unwrap_or_default()
                    ),
                )],
            };
            (okta.create_access_request(&new).await?, false)
        }
    };
    let operator = engine.operator().user_name.clone();
    let oid = oig_request.id.clone();
    engine
        .store()
        .change_access_request(id, |req| {
            req.external.oig_request_id = Some(oid.clone());
            let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
            e.subject = req.requested_for.clone();
            e.object = req.target.name().to_string();
            e.ticket = req.ticket.clone().unwrap_or_default();
            e.details = json!({"access_request": req.id, "oig_request": oid});
            Some(e)
        })
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?;
    Ok(Applied {
        summary: format!("{id} raised in Okta Identity Governance as {}", oig_request.id),
        request_id: None,
        details: json!({"access_request": id, "oig_request": oig_request.id, "oig_status": oig_request.status, "already": already}),
    })
}

/// Follows OIG-routed requests: mirrors OIG's decision and grant into grantdesk's request.
/// Returns how many changed.
pub async fn track(engine: &Engine) -> Result<usize, EngineError> {
    let open = engine
        .store()
        .access_requests(&crate::store::RequestFilter {
            statuses: vec![RequestStatus::Pending, RequestStatus::Approved, RequestStatus::Granted],
            ..Default::default()
        })
        .await?;
    let okta = engine.okta()?;
    let mut n = 0;
    for r in open.into_iter().filter(|r| !r.runs_own_sequence()) {
        let Some(oid) = r.external.oig_request_id.clone() else { continue };
        let o = okta.access_request(&oid).await.map_err(|e| EngineError::Remote(e.to_string()))?;
        let status = o.status.as_deref().unwrap_or("");
        let grant = o.grant_status.as_deref().unwrap_or("");
        let revoked = o.revocation_status.as_deref() == Some("REVOKED");
        let want = match (status, grant) {
            _ if revoked => RequestStatus::Revoked,
            ("APPROVED", "GRANTED") => RequestStatus::Granted,
            ("APPROVED", _) => RequestStatus::Approved,
            ("DENIED" | "REJECTED", _) => RequestStatus::Denied,
            ("EXPIRED", _) => RequestStatus::Expired,
            ("CANCELED", _) => RequestStatus::Cancelled,
            _ => RequestStatus::Pending,
        };
        if want == r.status {
            continue;
        }
        let operator = engine.operator().user_name.clone();
        let granted = o.granted.unwrap_or_else(Utc::now);
        let expires = o.revocation_scheduled;
        let deciders: Vec<String> = o
            .request_approval
            .as_ref()
            .and_then(|a| a.decisions.clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| d.user_name)
            .collect();
        let changed = engine
            .store()
            .change_access_request(&r.id, |req| {
                req.status = want;
                if want == RequestStatus::Granted {
                    req.granted_at = Some(granted);
                    req.expires_at = expires;
                }
                if want == RequestStatus::Revoked {
                    req.revoked_at = o.revoked.or(Some(Utc::now()));
                }
                let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
                e.subject = req.requested_for.clone();
                e.object = req.target.name().to_string();
                e.ticket = req.ticket.clone().unwrap_or_default();
                e.details = json!({"access_request": req.id, "status": want.as_str(), "oig_request": oid,
                                   "oig_status": status, "oig_grant_status": grant, "decided_by": deciders,
                                   "expires_at": req.expires_at.map(|t| t.to_rfc3339()), "route": "oig"});
                Some(e)
            })
            .await?;
        if changed.written {
            n += 1;
        }
    }
    Ok(n)
}
