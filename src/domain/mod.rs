//! Plain types and rules, no I/O: tickets, identities, and (in later modules) the catalog,
//! access requests, approval policy and audit events. Nothing here imports another module of ours.

pub mod audit;
pub mod catalog;
pub mod identity;
pub mod request;
pub mod text;
pub mod ticket;

pub use identity::{
    App, AppAssignment, Group, GroupKind, LogActor, LogEvent, LogTarget, Membership, OktaUser, UserStatus,
};
pub use ticket::{Approval, ApprovalState, JournalEntry, JournalKind, Reference, Ticket, TicketKind};
