//! Route `servicenow` (patterns C and D): ServiceNow stays the record of every service request.
//!
//! [`record`] reconciles ServiceNow with the request as grantdesk holds it — it is run after
//! every change of the request, and is idempotent by construction: the requested item (RITM) is
//! found again by the request id in its description before one is created; approval rows are
//! created or updated to match the decisions; each work note carries a marker (`[AR-… #n]`) and
//! is only written if the RITM's journal does not hold it yet; the RITM's state follows the
//! request's. A crash or a dropped connection at any point is repaired by running it again.

use serde_json::{Map, Value, json};

use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::request::{AccessRequest, RequestStatus, Verdict};
use crate::domain::{ApprovalState, JournalKind, TicketKind};
use crate::engine::{Applied, ApplyError, Engine};
use crate::servicenow::{DisplayValue, ListOptions, Query, ServiceNowClient};

/// `sc_req_item.state` values (task states).
const STATE_OPEN: &str = "1";
const STATE_CLOSED_COMPLETE: &str = "3";
const STATE_CLOSED_INCOMPLETE: &str = "4";

fn obj(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
}

async fn user_sys_id(sn: &ServiceNowClient, login: &str) -> Result<Option<String>, ApplyError> {
    Ok(sn.user_by_email(login).await?.map(|u| u.sys_id))
}

/// The RITM recording `r`: the one linked already, the one whose description names the request,
/// the RITM it was raised from, or a new one (with its REQ).
async fn find_or_create_ritm(engine: &Engine, r: &AccessRequest) -> Result<(String, String, bool), ApplyError> {
    let sn = engine.servicenow()?;
    if let (Some(number), Some(sys_id)) = (&r.external.ritm, &r.external.ritm_sys_id) {
        return Ok((number.clone(), sys_id.clone(), false));
    }
    let marker = format!("grantdesk request {}", r.id);
    let found =
        sn.tickets(TicketKind::RequestedItem, &Query::new().like("description", marker.as_str()), Some(1)).await?;
    if let Some(t) = found.into_iter().next() {
        return Ok((t.number, t.sys_id, false));
    }
    if let Some(num) = r.ticket.as_deref().filter(|n| n.to_ascii_uppercase().starts_with("RITM"))
        && let Some(t) = sn.ticket_by_number(num).await?
    {
        // Raised from an existing requested item: that RITM is the record. Say so in it, with
        // the marker, so a retry finds it by description as well.
        let description = format!("{}\n\n{marker}", t.description.trim_end());
        sn.update_ticket(TicketKind::RequestedItem, &t.sys_id, &[("description", description.trim_start())]).await?;
        return Ok((t.number, t.sys_id, false));
    }
    let for_id = user_sys_id(sn, &r.requested_for).await?.unwrap_or_default();
    let short = format!("Access request: {} for {}", r.entry, r.requested_for);
    let description = format!(
        "{} requested {} for {}.\nJustification: {}\nDuration: {}\n\n{marker}",
        r.requested_by,
        r.target,
        r.requested_for,
        r.justification,
        r.duration.map(crate::domain::request::human_duration).unwrap_or_else(|| "permanent".into())
    );
    let opts = ListOptions::fields(&["sys_id", "number"], DisplayValue::Value);
    // The REQ too is found again by its marker: an attempt whose answer was lost may have made it.
    let found_req = sn.list("sc_request", &Query::new().like("description", marker.as_str()), &opts).await?;
    let req_sys_id = match found_req.first() {
        Some(req) => req.sys_id().to_string(),
        None => sn
            .create(
                "sc_request",
                &obj(&[("requested_for", &for_id), ("short_description", &short), ("description", &description)]),
                &opts,
            )
            .await?
            .sys_id()
            .to_string(),
    };
    let mut fields = vec![
        ("request", req_sys_id),
        ("requested_for", for_id.clone()),
        ("short_description", short.clone()),
        ("description", description.clone()),
        ("approval", "requested".to_string()),
        ("state", STATE_OPEN.to_string()),
    ];
    if let Some(num) = &r.ticket
        && let Some(t) = sn.ticket_by_number(num).await?
    {
        fields.push(("parent", t.sys_id.clone()));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ritm = sn.create_ticket(TicketKind::RequestedItem, &pairs).await?;
    Ok((ritm.number, ritm.sys_id, true))
}

/// Tells the ticket the request was raised from which RITM records it — once: the note carries a
/// marker, and is only written when the ticket's journal does not hold it yet.
async fn note_on_ticket(
    engine: &Engine,
    r: &AccessRequest,
    ritm_number: &str,
    ritm_sys_id: &str,
) -> Result<bool, ApplyError> {
    let sn = engine.servicenow()?;
    let Some(num) = &r.ticket else { return Ok(false) };
    let Some(t) = sn.ticket_by_number(num).await? else { return Ok(false) };
    if t.sys_id == ritm_sys_id {
        return Ok(false);
    }
    let marker = format!("[{} #raised]", r.id);
    if sn.journal(&t.sys_id).await?.iter().any(|j| j.value.contains(&marker)) {
        return Ok(false);
    }
    let note =
        format!("{marker} Access request {} raised for {}: {ritm_number} ({}).", r.id, r.requested_for, r.target);
    sn.add_journal(t.kind, &t.sys_id, JournalKind::WorkNote, &note).await?;
    Ok(true)
}

/// The approval rows mirroring the sequence: one per approver of each step reached.
async fn mirror_approvals(engine: &Engine, r: &AccessRequest, ritm_sys_id: &str) -> Result<u32, ApplyError> {
    let sn = engine.servicenow()?;
    let existing = sn.approvals_for(ritm_sys_id).await?;
    let mut changed = 0;
    let reached = if r.status == RequestStatus::Pending { r.current_step + 1 } else { r.steps.len() };
    for (i, step) in r.steps.iter().enumerate().take(reached) {
        for approver in &step.approvers {
            let decision = r.decisions.iter().find(|d| d.step == i && &d.approver == approver);
            let step_done = i < r.current_step || r.status != RequestStatus::Pending;
            let want = match decision {
                Some(d) if d.verdict == Verdict::Approve => ApprovalState::Approved,
                Some(_) => ApprovalState::Rejected,
                None if step_done => ApprovalState::NotRequired,
                None => ApprovalState::Requested,
            };
            let Some(approver_id) = user_sys_id(sn, approver).await? else { continue };
            match existing.iter().find(|a| a.approver.sys_id == approver_id) {
                Some(a) if a.state == want => {}
                Some(a) => {
                    let comment = decision.map(|d| d.comment.as_str()).unwrap_or("");
                    sn.decide_approval(&a.sys_id, &want, comment).await?;
                    changed += 1;
                }
                None => {
                    let order = (i + 1).to_string();
                    let opts = ListOptions::fields(&["sys_id"], DisplayValue::Value);
                    let mut fields = obj(&[
                        ("approver", &approver_id),
                        ("sysapproval", ritm_sys_id),
                        ("document_id", ritm_sys_id),
                        ("source_table", "sc_req_item"),
                        ("state", want.value()),
                        ("order", &order),
                    ]);
                    if let Some(d) = decision
                        && !d.comment.is_empty()
                    {
                        fields.insert("comments".into(), Value::String(d.comment.clone()));
                    }
                    sn.create("sysapproval_approver", &fields, &opts).await?;
                    changed += 1;
                }
            }
        }
    }
    Ok(changed)
}

/// The work notes the RITM should hold, each with its marker.
fn notes_for(r: &AccessRequest) -> Vec<(String, String)> {
    let mut notes = Vec::new();
    for (k, d) in r.decisions.iter().enumerate() {
        let verb = if d.verdict == Verdict::Approve { "approved" } else { "denied" };
        let comment = if d.comment.is_empty() { String::new() } else { format!(": {}", d.comment) };
        notes.push((format!("[{} #d{}]", r.id, k + 1), format!("{} {verb} step {}{comment}", d.approver, d.step + 1)));
    }
    match r.status {
        RequestStatus::Granted | RequestStatus::Revoked => {
            let until = r.expires_at.map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
            let proof =
                r.external.grant_event.as_ref().map(|u| format!(" (Okta System Log event {u})")).unwrap_or_default();
            notes.push((
                format!("[{} #grant]", r.id),
                format!("Fulfilled: {} added to {}{until}{proof}", r.requested_for, r.target),
            ));
        }
        RequestStatus::Expired => {
            notes.push((format!("[{} #expired]", r.id), "The request expired before it was decided".into()))
        }
        RequestStatus::Cancelled => notes.push((format!("[{} #cancelled]", r.id), "The request was cancelled".into())),
        _ => {}
    }
    if r.status == RequestStatus::Revoked {
        let proof =
            r.external.revoke_event.as_ref().map(|u| format!(" (Okta System Log event {u})")).unwrap_or_default();
        notes.push((
            format!("[{} #revoke]", r.id),
            format!("Access removed: {} no longer has {}{proof}", r.requested_for, r.target),
        ));
    }
    notes
}

/// Reconciles ServiceNow's record of request `id` with grantdesk's.
pub async fn record(engine: &Engine, id: &str) -> Result<Applied, ApplyError> {
    let stored = engine
        .store()
        .access_request(id)
        .await
        .map_err(|e| ApplyError::Transient(e.to_string()))?
        .ok_or_else(|| ApplyError::Permanent(format!("no access request {id}")))?;
    let r = stored.request;
    let sn = engine.servicenow()?;
    let (number, sys_id, created) = find_or_create_ritm(engine, &r).await?;
    if r.external.ritm.as_deref() != Some(number.as_str()) {
        // Not linked yet (first record, or an attempt that stopped before linking): the ticket's
        // note is written now if an earlier attempt did not get to it.
        note_on_ticket(engine, &r, &number, &sys_id).await?;
        let operator = engine.operator().user_name.clone();
        let (n, s) = (number.clone(), sys_id.clone());
        engine
            .store()
            .change_access_request(id, |req| {
                req.external.ritm = Some(n.clone());
                req.external.ritm_sys_id = Some(s.clone());
                let mut e = AuditEvent::new(operator, "access_request.update", Outcome::Success);
                e.subject = req.requested_for.clone();
                e.object = req.target.name().to_string();
                e.ticket = req.ticket.clone().unwrap_or_default();
                e.details = json!({"access_request": req.id, "servicenow_record": n});
                Some(e)
            })
            .await
            .map_err(|e| ApplyError::Transient(e.to_string()))?;
    }
    let approvals = if r.runs_own_sequence() { mirror_approvals(engine, &r, &sys_id).await? } else { 0 };
    let journal = sn.journal(&sys_id).await?;
    let mut written = 0;
    for (marker, text) in notes_for(&r) {
        if journal.iter().any(|j| j.value.contains(&marker)) {
            continue;
        }
        sn.add_journal(TicketKind::RequestedItem, &sys_id, JournalKind::WorkNote, &format!("{marker} {text}")).await?;
        written += 1;
    }
    let (approval, state) = match r.status {
        RequestStatus::Pending => ("requested", STATE_OPEN),
        RequestStatus::Approved => ("approved", STATE_OPEN),
        RequestStatus::Granted | RequestStatus::Revoked => ("approved", STATE_CLOSED_COMPLETE),
        RequestStatus::Denied => ("rejected", STATE_CLOSED_INCOMPLETE),
        RequestStatus::Expired | RequestStatus::Cancelled | RequestStatus::Failed => {
            ("cancelled", STATE_CLOSED_INCOMPLETE)
        }
    };
    let now = sn.ticket(TicketKind::RequestedItem, &sys_id).await?;
    if let Some(t) = now
        && (t.approval != approval || t.state != state)
    {
        sn.update_ticket(TicketKind::RequestedItem, &sys_id, &[("approval", approval), ("state", state)]).await?;
    }
    let verb = if created { "recorded as" } else { "brought up to date in" };
    Ok(Applied {
        summary: format!("{id} {verb} {number}"),
        request_id: None,
        details: json!({"access_request": id, "servicenow_record": number, "created": created,
                        "approval_rows_changed": approvals, "work_notes_added": written}),
    })
}
