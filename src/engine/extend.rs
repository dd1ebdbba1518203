//! Extending time-bound access: from the expiry radar, one key raises a new request for the same
//! person and entitlement (through the same approval sequence — an extension is a new grant). When
//! it is granted before the old one expires, the old grant's expiry must not remove the access the
//! new one gave: the old request is retired as superseded, and Okta is left alone.

use chrono::Utc;
use serde_json::json;

use super::access::NewRequest;
use super::{Applied, ApplyError, Engine, EngineError};
use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::request::{AccessRequest, RequestStatus};
use crate::store::RequestFilter;

impl Engine {
    /// Raises an extension of granted request `id`: a new request for the same entry, person
    /// and ticket, for `duration` (default: the entry's maximum), with `why` as justification.
    pub async fn extend_request(
        &self,
        id: &str,
        why: &str,
        duration: Option<std::time::Duration>,
    ) -> Result<AccessRequest, EngineError> {
        let old = self
            .store()
            .access_request(id)
            .await?
            .ok_or_else(|| EngineError::Invalid(format!("no access request {id}; `grantdesk requests` lists them")))?
            .request;
        if old.status != RequestStatus::Granted {
            return Err(EngineError::Invalid(format!("{id} is {}: only granted access can be extended", old.status)));
        }
        let why = if why.trim().is_empty() { old.justification.clone() } else { why.trim().to_string() };
        self.raise_request(&NewRequest {
            entry: old.entry.clone(),
            requested_for: Some(old.requested_for.clone()),
            ticket: old.ticket.clone(),
            justification: format!("Extension of {id}: {why}"),
            duration,
        })
        .await
    }
}

/// A granted request for the same person and target that lasts longer than `r` (or for good).
pub(crate) async fn superseding(engine: &Engine, r: &AccessRequest) -> Result<Option<String>, ApplyError> {
    let others = engine
        .store()
        .access_requests(&RequestFilter {
            statuses: vec![RequestStatus::Granted],
            requested_for: Some(r.requested_for.clone()),
            target: Some(r.target.name().to_string()),
            limit: None,
        })
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?;
    Ok(others
        .into_iter()
        .find(|o| {
            o.id != r.id && o.target == r.target && o.expires_at.is_none_or(|e| r.expires_at.is_some_and(|x| e > x))
        })
        .map(|o| o.id))
}

/// Retires `r` as superseded by `by`, without touching Okta.
pub(crate) async fn retire(engine: &Engine, r: &AccessRequest, by: &str, reason: &str) -> Result<Applied, ApplyError> {
    let operator = engine.operator().user_name.clone();
    let now = Utc::now();
    engine
        .store()
        .change_access_request(&r.id, |req| {
            if req.status != RequestStatus::Granted {
                return None;
            }
            req.status = RequestStatus::Revoked;
            req.revoked_at = Some(now);
            let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
            e.subject = req.requested_for.clone();
            e.object = req.target.name().to_string();
            e.ticket = req.ticket.clone().unwrap_or_default();
            e.details = json!({"access_request": req.id, "status": "revoked", "reason": reason, "superseded_by": by});
            Some(e)
        })
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?;
    Ok(Applied {
        summary: format!("{} ended; {} keeps {} through {by}", r.id, r.requested_for, r.target),
        request_id: None,
        details: json!({"access_request": r.id, "superseded_by": by, "reason": reason, "okta_untouched": true}),
    })
}
