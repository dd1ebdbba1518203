//! Access requests and their approval state machine, with separation of duties.
//!
//! Pure rules: the engine loads a request, calls [`AccessRequest::decide`] or
//! [`AccessRequest::tick`], and stores the result in the same transaction as the audit event, so
//! the policy is the same in the CLI, the console, bulk actions and concurrent consoles.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::{ApproverRule, CatalogEntry, Directory, OnTimeout, Quorum, Route, Target, resolve_step};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting on approvers (or on OIG).
    Pending,
    /// Every step approved; fulfilment not yet confirmed.
    Approved,
    /// An approver denied it.
    Denied,
    /// A step timed out with `on_timeout = "expire"`, or OIG expired it.
    Expired,
    /// Withdrawn before a decision.
    Cancelled,
    /// The access was given (membership/assignment confirmed).
    Granted,
    /// The access was removed (expiry or revocation).
    Revoked,
    /// Fulfilment failed for good (the reason is in the audit log).
    Failed,
}

impl RequestStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
            RequestStatus::Expired => "expired",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Granted => "granted",
            RequestStatus::Revoked => "revoked",
            RequestStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => RequestStatus::Pending,
            "approved" => RequestStatus::Approved,
            "denied" => RequestStatus::Denied,
            "expired" => RequestStatus::Expired,
            "cancelled" => RequestStatus::Cancelled,
            "granted" => RequestStatus::Granted,
            "revoked" => RequestStatus::Revoked,
            "failed" => RequestStatus::Failed,
            _ => return None,
        })
    }

    /// No further decision can change it.
    pub fn is_decided(self) -> bool {
        self != RequestStatus::Pending
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Approve or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Approve.
    Approve,
    /// Deny (ends the request).
    Deny,
}

/// One approver's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Step index (0-based).
    pub step: usize,
    /// Okta login of the approver.
    pub approver: String,
    /// Approve or deny.
    pub verdict: Verdict,
    /// The approver's comment.
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One step of a request's sequence, with its approvers resolved when the step was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProgress {
    /// The rule from the catalog.
    pub rule: ApproverRule,
    /// Any or all.
    pub quorum: Quorum,
    /// Eligible approvers (logins), SoD already applied.
    pub approvers: Vec<String>,
    /// Timeout of the step.
    pub timeout: Option<Duration>,
    /// What a timeout does.
    pub on_timeout: OnTimeout,
    /// Whether the step has been escalated already (at most once).
    pub escalated: bool,
}

/// Records in other systems linked to the request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalRefs {
    /// ServiceNow RITM number (route `servicenow`).
    pub ritm: Option<String>,
    /// ServiceNow RITM sys_id.
    pub ritm_sys_id: Option<String>,
    /// OIG request id (route `oig`).
    pub oig_request_id: Option<String>,
    /// System Log event uuid that proves the grant.
    pub grant_event: Option<String>,
    /// System Log event uuid that proves the removal.
    pub revoke_event: Option<String>,
    /// Okta id of the person the access is for, known when the request was raised (fulfilment
    /// then needs no lookup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_user_id: Option<String>,
    /// Okta id of the group or app, known when the request was raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_target_id: Option<String>,
}

/// An access request raised through grantdesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// grantdesk's id.
    pub id: String,
    /// Catalog entry name.
    pub entry: String,
    /// What it grants.
    pub target: Target,
    /// How it is fulfilled.
    pub routes: Vec<Route>,
    /// Okta login of the person the access is for.
    pub requested_for: String,
    /// Okta login of the operator who raised it.
    pub requested_by: String,
    /// Ticket it was raised from (number).
    pub ticket: Option<String>,
    /// Why.
    pub justification: String,
    /// Requested duration (`None` = permanent).
    pub duration: Option<Duration>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// Status.
    pub status: RequestStatus,
    /// The sequence.
    pub steps: Vec<StepProgress>,
    /// Index of the step waiting for decisions.
    pub current_step: usize,
    /// When the current step started (for timeouts).
    pub step_started_at: DateTime<Utc>,
    /// Every decision so far.
    pub decisions: Vec<Decision>,
    /// Linked records.
    pub external: ExternalRefs,
    /// When the access was given.
    pub granted_at: Option<DateTime<Utc>>,
    /// When the access ends (`granted_at + duration`).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the access was removed.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a request cannot be raised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaiseError {
    /// The person is not in any group allowed to request the entry.
    #[error("{login} may not request {entry}: it is limited to members of {groups}")]
    NotRequestable {
        /// Who.
        login: String,
        /// Which entry.
        entry: String,
        /// Allowed groups.
        groups: String,
    },
    /// The entry requires a justification.
    #[error("{entry} requires a justification (--justification TEXT)")]
    JustificationRequired {
        /// Which entry.
        entry: String,
    },
    /// Longer than the entry allows.
    #[error("{entry} may be granted for at most {max}; {asked} was asked")]
    TooLong {
        /// Which entry.
        entry: String,
        /// Its maximum.
        max: String,
        /// What was asked.
        asked: String,
    },
    /// A step has nobody who may approve it, even after escalation.
    #[error("step {step} ({rule}) of {entry} has no eligible approver for {login}")]
    NoApprover {
        /// Which entry.
        entry: String,
        /// 1-based step.
        step: usize,
        /// The rule.
        rule: String,
        /// For whom.
        login: String,
    },
}

/// Why a decision was refused. Every refusal is audited by the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Separation of duties: the access is for the approver.
    #[error("separation of duties: {approver} cannot decide a request for themselves")]
    SelfApproval {
        /// Who tried.
        approver: String,
    },
    /// Separation of duties: the approver raised the request.
    #[error("separation of duties: {approver} raised this request and cannot decide it")]
    RaisedByApprover {
        /// Who tried.
        approver: String,
    },
    /// Not an approver of the current step.
    #[error("{approver} is not an approver of step {step} ({rule}); approvers: {approvers}")]
    NotAnApprover {
        /// Who tried.
        approver: String,
        /// 1-based step.
        step: usize,
        /// The rule.
        rule: String,
        /// Who may.
        approvers: String,
    },
    /// Already decided by this approver at this step.
    #[error("{approver} already decided step {step}")]
    AlreadyDecided {
        /// Who tried.
        approver: String,
        /// 1-based step.
        step: usize,
    },
    /// No longer pending: someone else decided first (or it expired).
    #[error("request is already {status}{}", by.as_ref().map(|b| format!(" (decided by {b})")).unwrap_or_default())]
    NotPending {
        /// Its status.
        status: RequestStatus,
        /// Who made the deciding decision, if a person did.
        by: Option<String>,
    },
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// Recorded; the step waits for more approvals (quorum all).
    Recorded,
    /// The step passed; the next one starts with these approvers.
    StepPassed {
        /// 0-based index of the next step.
        next: usize,
        /// Its approvers.
        approvers: Vec<String>,
    },
    /// The last step passed: fulfil it.
    Approved,
    /// Denied: the request ends.
    Denied,
}

/// What the passage of time did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// The step timed out and its approvers' managers were added.
    Escalated {
        /// 0-based step.
        step: usize,
        /// Who was added.
        added: Vec<String>,
    },
    /// The step timed out and the request expired.
    Expired {
        /// 0-based step.
        step: usize,
    },
}

/// Eligible approvers of a step: the rule's approvers minus the person the access is for and
/// the person who raised it; when that leaves nobody, their managers (escalated once).
fn eligible(
    rule: &ApproverRule,
    entry: &CatalogEntry,
    for_login: &str,
    by_login: &str,
    dir: &dyn Directory,
) -> (Vec<String>, bool) {
    let raw = resolve_step(rule, entry, for_login, dir);
    let ok = |l: &String| l != for_login && l != by_login;
    let first: Vec<String> = raw.iter().filter(|l| ok(l)).cloned().collect();
    if !first.is_empty() {
        return (first, false);
    }
    let mut up: Vec<String> = raw.iter().filter_map(|l| dir.manager_of(l)).filter(|l| ok(l)).collect();
    up.sort();
    up.dedup();
    (up, true)
}

/// Formats a duration the way people write it (`8h`, `90d`, `1d 12h`), in whole days, hours and
/// minutes — never months, whose length varies.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if mins > 0 || parts.is_empty() {
        parts.push(format!("{mins}m"));
    }
    parts.join(" ")
}

impl AccessRequest {
    /// Raises a request for `entry`, checking who may request it, the justification and the
    /// duration, and resolving every step's approvers up front (so the operator sees who would be
    /// asked). A time-bound entry without an asked duration gets its maximum.
    #[allow(clippy::too_many_arguments)]
    pub fn raise(
        id: String,
        entry: &CatalogEntry,
        requested_for: &str,
        requested_by: &str,
        ticket: Option<String>,
        justification: &str,
        duration: Option<Duration>,
        now: DateTime<Utc>,
        dir: &dyn Directory,
    ) -> Result<AccessRequest, RaiseError> {
        if !entry.requestable_by.is_empty() {
            let groups = dir.groups_of(requested_for);
            if !entry.requestable_by.iter().any(|g| groups.contains(g)) {
                return Err(RaiseError::NotRequestable {
                    login: requested_for.into(),
                    entry: entry.name.clone(),
                    groups: entry.requestable_by.join(", "),
                });
            }
        }
        if entry.justification_required && justification.trim().is_empty() {
            return Err(RaiseError::JustificationRequired { entry: entry.name.clone() });
        }
        let duration = match (duration, entry.max_duration) {
            (Some(d), Some(max)) if d > max => {
                return Err(RaiseError::TooLong {
                    entry: entry.name.clone(),
                    max: human_duration(max),
                    asked: human_duration(d),
                });
            }
            (Some(d), _) => Some(d),
            (None, max) => max,
        };
        let mut steps = Vec::with_capacity(entry.approval.len());
        for (i, s) in entry.approval.iter().enumerate() {
            let (approvers, escalated) = eligible(&s.approvers, entry, requested_for, requested_by, dir);
            if approvers.is_empty() && !entry.has_route(Route::Oig) {
                return Err(RaiseError::NoApprover {
                    entry: entry.name.clone(),
                    step: i + 1,
                    rule: s.approvers.to_string(),
                    login: requested_for.into(),
                });
            }
            steps.push(StepProgress {
                rule: s.approvers.clone(),
                quorum: s.quorum,
                approvers,
                timeout: s.timeout,
                on_timeout: s.on_timeout,
                escalated,
            });
        }
        Ok(AccessRequest {
            id,
            entry: entry.name.clone(),
            target: entry.target.clone(),
            routes: entry.routes.clone(),
            requested_for: requested_for.into(),
            requested_by: requested_by.into(),
            ticket,
            justification: justification.trim().into(),
            duration,
            created_at: now,
            status: RequestStatus::Pending,
            steps,
            current_step: 0,
            step_started_at: now,
            decisions: Vec::new(),
            external: ExternalRefs::default(),
            granted_at: None,
            expires_at: None,
            revoked_at: None,
        })
    }

    /// Whether grantdesk itself runs the approval sequence (not OIG).
    pub fn runs_own_sequence(&self) -> bool {
        !self.routes.contains(&Route::Oig)
    }

    /// Approvers of the step now waiting, if the request is pending.
    pub fn current_approvers(&self) -> &[String] {
        if self.status != RequestStatus::Pending {
            return &[];
        }
        self.steps.get(self.current_step).map(|s| s.approvers.as_slice()).unwrap_or(&[])
    }

    /// Checks, without changing anything, whether `approver` may decide now.
    pub fn check(&self, approver: &str) -> Result<(), Refusal> {
        if self.status != RequestStatus::Pending {
            let by = self.decisions.last().map(|d| d.approver.clone());
            return Err(Refusal::NotPending { status: self.status, by });
        }
        if approver == self.requested_for {
            return Err(Refusal::SelfApproval { approver: approver.into() });
        }
        if approver == self.requested_by {
            return Err(Refusal::RaisedByApprover { approver: approver.into() });
        }
        let step = &self.steps[self.current_step.min(self.steps.len().saturating_sub(1))];
        if !step.approvers.iter().any(|a| a == approver) {
            return Err(Refusal::NotAnApprover {
                approver: approver.into(),
                step: self.current_step + 1,
                rule: step.rule.to_string(),
                approvers: step.approvers.join(", "),
            });
        }
        if self.decisions.iter().any(|d| d.step == self.current_step && d.approver == approver) {
            return Err(Refusal::AlreadyDecided { approver: approver.into(), step: self.current_step + 1 });
        }
        Ok(())
    }

    /// Applies a decision under the policy. A denial by any approver ends the request.
    pub fn decide(
        &mut self,
        approver: &str,
        verdict: Verdict,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<DecisionOutcome, Refusal> {
        self.check(approver)?;
        let step = self.current_step;
        self.decisions.push(Decision { step, approver: approver.into(), verdict, comment: comment.into(), at: now });
        if verdict == Verdict::Deny {
            self.status = RequestStatus::Denied;
            return Ok(DecisionOutcome::Denied);
        }
        let s = &self.steps[step];
        let passed = match s.quorum {
            Quorum::Any => true,
            Quorum::All => s.approvers.iter().all(|a| {
                self.decisions.iter().any(|d| d.step == step && &d.approver == a && d.verdict == Verdict::Approve)
            }),
        };
        if !passed {
            return Ok(DecisionOutcome::Recorded);
        }
        if step + 1 >= self.steps.len() {
            self.status = RequestStatus::Approved;
            return Ok(DecisionOutcome::Approved);
        }
        self.current_step = step + 1;
        self.step_started_at = now;
        Ok(DecisionOutcome::StepPassed {
            next: self.current_step,
            approvers: self.steps[self.current_step].approvers.clone(),
        })
    }

    /// Applies timeouts: escalates the waiting step to its approvers' managers (once) or expires
    /// the request, as the step says.
    pub fn tick(&mut self, now: DateTime<Utc>, dir: &dyn Directory) -> Option<TickOutcome> {
        if self.status != RequestStatus::Pending || !self.runs_own_sequence() {
            return None;
        }
        let step = self.current_step;
        let s = self.steps.get(step)?;
        let timeout = chrono::Duration::from_std(s.timeout?).ok()?;
        if now < self.step_started_at + timeout {
            return None;
        }
        if s.on_timeout == OnTimeout::Escalate && !s.escalated {
            let mut added: Vec<String> = s
                .approvers
                .iter()
                .filter_map(|a| dir.manager_of(a))
                .filter(|m| m != &self.requested_for && m != &self.requested_by && !s.approvers.contains(m))
                .collect();
            added.sort();
            added.dedup();
            let s = &mut self.steps[step];
            s.escalated = true;
            s.approvers.extend(added.iter().cloned());
            self.step_started_at = now;
            if !added.is_empty() {
                return Some(TickOutcome::Escalated { step, added });
            }
            // Nobody to escalate to: the step simply waits another timeout, then expires.
            return None;
        }
        self.status = RequestStatus::Expired;
        Some(TickOutcome::Expired { step })
    }

    /// Marks the access given at `at`; a time-bound grant expires `duration` later.
    pub fn mark_granted(&mut self, at: DateTime<Utc>) {
        self.status = RequestStatus::Granted;
        self.granted_at = Some(at);
        self.expires_at = self.duration.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| at + d);
    }

    /// Whether a granted, time-bound access is due for removal at `now`.
    pub fn is_due_for_removal(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::Granted && self.expires_at.is_some_and(|e| e <= now)
    }

    /// Who approved it, in order (for history and work notes).
    pub fn approvers_so_far(&self) -> Vec<&str> {
        self.decisions.iter().filter(|d| d.verdict == Verdict::Approve).map(|d| d.approver.as_str()).collect()
    }
}

#[cfg(test)]
mod tests;
