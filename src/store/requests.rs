//! Access requests raised through grantdesk, with every change a compare-and-set and an audit
//! event in the same transaction.
//!
//! [`Store::change_access_request`] is the one way to change a request: it loads the request
//! inside a write transaction (holding the row on PostgreSQL, the database on SQLite), lets the
//! caller apply the policy to it, and writes the new version and the audit event together. Two
//! consoles deciding the same request are serialised here, and the second sees the first's
//! decision — which is how "one wins, the other is told who" holds across machines sharing one
//! PostgreSQL.

use chrono::{DateTime, Utc};

use super::audit::append_in_tx;
use super::{QueryContext as _, Store, StoreError, on_pool, on_tx, to_us};
use crate::domain::audit::{AuditEvent, AuditRecord, find_secret};
use crate::domain::request::{AccessRequest, RequestStatus};

/// A request and the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    /// The request.
    pub request: AccessRequest,
    /// Its version (bumped by every change).
    pub version: i64,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only these statuses (all when empty).
    pub statuses: Vec<RequestStatus>,
    /// Only requests for this login.
    pub requested_for: Option<String>,
    /// Only requests for this group or app name.
    pub target: Option<String>,
    /// At most this many, newest first (all when `None`).
    pub limit: Option<u32>,
}

/// What a change did.
#[derive(Debug)]
pub struct Changed {
    /// The request as stored now.
    pub request: AccessRequest,
    /// Whether the request was changed (and its audit event written).
    pub written: bool,
    /// The audit record appended, when it was.
    pub audit: Option<AuditRecord>,
}

#[derive(sqlx::FromRow)]
struct Row {
    body: String,
    version: i64,
}

fn decode(r: Row) -> Result<StoredRequest, StoreError> {
    let request: AccessRequest = serde_json::from_str(&r.body)
        .map_err(|e| StoreError::Corrupt(format!("an access request in the store is unreadable: {e}")))?;
    Ok(StoredRequest { request, version: r.version })
}

fn encode(r: &AccessRequest) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|e| StoreError::Corrupt(format!("encoding access request {}: {e}", r.id)))
}

fn check_secret(r: &AccessRequest) -> Result<(), StoreError> {
    let v = serde_json::to_value(r).map_err(|e| StoreError::Corrupt(format!("encoding access request: {e}")))?;
    match find_secret(&v) {
        Some(found) => Err(found.into()),
        None => Ok(()),
    }
}

const INSERT: &str = "INSERT INTO access_requests (id, entry, target_kind, target_name, requested_for, requested_by, \
     ticket, status, created_us, updated_us, expires_us, version, body) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, 1, $11)";
const UPDATE: &str = "UPDATE access_requests SET status = $1, updated_us = $2, expires_us = $3, version = version + 1, \
     body = $4 WHERE id = $5 AND version = $6";
const BY_ID: &str = "SELECT body, version FROM access_requests WHERE id = $1";
const BY_ID_LOCKED: &str = "SELECT body, version FROM access_requests WHERE id = $1 FOR UPDATE";

impl Store {
    /// Stores a newly raised request and its audit event in one transaction.
    pub async fn insert_access_request(
        &self,
        r: &AccessRequest,
        event: &AuditEvent,
    ) -> Result<AuditRecord, StoreError> {
        check_secret(r)?;
        let body = encode(r)?;
        let mut tx = self.begin_write().await?;
        on_tx!(&mut tx, c => sqlx::query(INSERT)
            .bind(&r.id)
            .bind(&r.entry)
            .bind(r.target.kind())
            .bind(r.target.name())
            .bind(&r.requested_for)
            .bind(&r.requested_by)
            .bind(r.ticket.as_deref().unwrap_or(""))
            .bind(r.status.as_str())
            .bind(to_us(r.created_at))
            .bind(r.expires_at.map(to_us))
            .bind(&body)
            .execute(c).await.map(|r| r.rows_affected()).ctx("storing an access request"))?;
        let mut records = append_in_tx(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        records.pop().ok_or_else(|| StoreError::Corrupt("an append returned no record".into()))
    }

    /// One request by id.
    pub async fn access_request(&self, id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(BY_ID).bind(id).fetch_optional(p).await.ctx("reading an access request"))?;
        row.map(decode).transpose()
    }

    /// Changes a request atomically: `change` sees the current request, applies the policy to a
    /// copy, and returns the audit event describing the change — or `None` to leave the request
    /// as it is (a refusal, or nothing to do), in which case nothing is written.
    pub async fn change_access_request<F>(&self, id: &str, change: F) -> Result<Changed, StoreError>
    where
        F: FnOnce(&mut AccessRequest) -> Option<AuditEvent>,
    {
        let mut change = Some(change);
        let mut changed =
            self.change_access_requests(std::slice::from_ref(&id), |r| change.take().and_then(|f| f(r))).await?;
        changed.pop().ok_or_else(|| StoreError::UnknownRequest(id.to_string()))
    }

    /// Changes several requests in one transaction, each as [`Store::change_access_request`]
    /// would (`change` is called once per request, in order): one commit for many changes made
    /// together, such as the System Log proofs of a bulk run's grants. One result per id.
    pub async fn change_access_requests<F>(&self, ids: &[&str], mut change: F) -> Result<Vec<Changed>, StoreError>
    where
        F: FnMut(&mut AccessRequest) -> Option<AuditEvent>,
    {
        let mut tx = self.begin_write().await?;
        let mut out = Vec::with_capacity(ids.len());
        let mut events = Vec::new();
        for id in ids {
            let row: Option<Row> = match &mut tx {
                super::WriteTx::Sqlite(t) => {
                    sqlx::query_as(BY_ID).bind(id).fetch_optional(&mut **t).await.ctx("reading an access request")?
                }
                super::WriteTx::Postgres(t) => sqlx::query_as(BY_ID_LOCKED)
                    .bind(id)
                    .fetch_optional(&mut **t)
                    .await
                    .ctx("reading an access request")?,
            };
            let stored = row.map(decode).transpose()?.ok_or_else(|| StoreError::UnknownRequest(id.to_string()))?;
            let mut request = stored.request.clone();
            let Some(event) = change(&mut request) else {
                out.push(Changed { request: stored.request, written: false, audit: None });
                continue;
            };
            check_secret(&request)?;
            let body = encode(&request)?;
            let n = on_tx!(&mut tx, c => sqlx::query(UPDATE)
                .bind(request.status.as_str())
                .bind(to_us(Utc::now()))
                .bind(request.expires_at.map(to_us))
                .bind(&body)
                .bind(id)
                .bind(stored.version)
                .execute(c).await.map(|r| r.rows_affected()).ctx("updating an access request"))?;
            if n != 1 {
                return Err(StoreError::Corrupt(format!("access request {id} changed during its own transaction")));
            }
            events.push(event);
            out.push(Changed { request, written: true, audit: None });
        }
        if events.is_empty() {
            tx.rollback().await?;
            return Ok(out);
        }
        let mut records = append_in_tx(&mut tx, &events).await?.into_iter();
        tx.commit().await?;
        for c in out.iter_mut().filter(|c| c.written) {
            c.audit = records.next();
        }
        Ok(out)
    }

    /// Requests matching `filter`, newest first.
    pub async fn access_requests(&self, filter: &RequestFilter) -> Result<Vec<AccessRequest>, StoreError> {
        // One static statement: empty filters are matched by the `$n = ''` arms.
        const SQL: &str = "SELECT body, version FROM access_requests \
             WHERE ($1 = '' OR requested_for = $1) AND ($2 = '' OR target_name = $2) \
             AND ($3 = '' OR (',' || $3 || ',') LIKE ('%,' || status || ',%')) \
             ORDER BY created_us DESC LIMIT $4";
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let limit = i64::from(filter.limit.unwrap_or(u32::MAX));
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(filter.requested_for.as_deref().unwrap_or(""))
            .bind(filter.target.as_deref().unwrap_or(""))
            .bind(statuses.join(","))
            .bind(limit)
            .fetch_all(p).await.ctx("listing access requests"))?;
        rows.into_iter().map(|r| decode(r).map(|s| s.request)).collect()
    }

    /// Granted requests whose access ends at or before `until`, soonest first.
    pub async fn grants_expiring_before(&self, until: DateTime<Utc>) -> Result<Vec<AccessRequest>, StoreError> {
        const SQL: &str = "SELECT body, version FROM access_requests \
             WHERE status = 'granted' AND expires_us IS NOT NULL AND expires_us <= $1 ORDER BY expires_us";
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(SQL).bind(to_us(until))
            .fetch_all(p).await.ctx("listing expiring grants"))?;
        rows.into_iter().map(|r| decode(r).map(|s| s.request)).collect()
    }
}
