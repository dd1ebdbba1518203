//! ServiceNow client: typed records, an encoded-query builder that cannot produce a broken
//! query, offset paging by `X-Total-Count`, basic and OAuth authentication (with refresh),
//! retries on 429/503 honouring `Retry-After`, and typed errors carrying the service's message.
//!
//! Written from `shared/reference/servicenow-api.md` and the official samples, independently of
//! the emulator (they share no types).
//!
//! ```no_run
//! # async fn demo(cfg: grantdesk::config::ServiceNowConfig) -> Result<(), grantdesk::servicenow::ServiceNowError> {
//! use grantdesk::domain::TicketKind;
//! use grantdesk::servicenow::{Query, ServiceNowClient};
//! let sn = ServiceNowClient::new(&cfg)?;
//! let q = Query::new().eq("active", true).eq("priority", 1u8).order_by_desc("sys_updated_on");
//! for t in sn.tickets(TicketKind::Incident, &q, Some(20)).await? {
//!     println!("{} {}", t.number, t.short_description);
//! }
//! # Ok(()) }
//! ```

mod client;
mod error;
mod query;
mod record;
mod tickets;

pub use client::{
    BatchReply, BatchRequest, DisplayValue, ListOptions, Page, RetryPolicy, ServiceNowClient, TokenResponse,
    parse_batch_response,
};
pub use error::{Result, ServiceNowError};
pub use query::{Condition, Operator, Query, QueryError, QueryValue};
pub use record::{FieldValue, GroupValue, Record, Stats, StatsRow, parse_time};
pub use tickets::{
    User, approval_from_record, approval_list_options, journal_from_record, ticket_fields, ticket_from_record,
};
