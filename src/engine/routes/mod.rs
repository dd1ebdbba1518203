//! Fulfilment routes beside grantdesk's own (`okta`, in [`super::access`]): recording requests in
//! ServiceNow (patterns C and D), recording in ServiceNow what OIG granted without a record (the
//! bridge of pattern D), and raising them in Okta Identity Governance (patterns E and A).

pub mod bridge;
pub mod oig;
pub mod servicenow;
