//! Fulfilment routes beside grantdesk's own (`okta`, in [`super::access`]): recording requests in
//! ServiceNow (patterns C and D) and raising them in Okta Identity Governance (patterns E and A).

pub mod oig;
pub mod servicenow;
