//! ServiceNow client: typed records, encoded-query builder, paging, auth, retries.
