-- When a ticket was resolved (`resolved_at`, or `closed_at` for tables without a resolved state),
-- for the dashboard's "resolved per day". Rows cached before this column existed get their last
-- update as an estimate, and the ticket tables' watermarks are dropped so the next sync lists
-- every ticket again and stores the exact time.
ALTER TABLE tickets ADD COLUMN resolved_us BIGINT;
UPDATE tickets SET resolved_us = updated_us WHERE close_code <> '' OR active = FALSE;
CREATE INDEX tickets_by_resolved ON tickets (resolved_us) WHERE resolved_us IS NOT NULL;
DELETE FROM watermarks
 WHERE source IN ('servicenow:incident', 'servicenow:sc_request', 'servicenow:sc_req_item', 'servicenow:sc_task');
