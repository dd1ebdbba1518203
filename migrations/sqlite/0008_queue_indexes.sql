-- The console's start-up load (`Store::queue_all`) and the saved views filter on these columns
-- only when the view sets them. The open queue is read from this index alone: its entries hold
-- every queue line, so the tickets themselves (descriptions and all) are not read.
CREATE INDEX tickets_queue_open ON tickets (active, kind, queue_line);
CREATE INDEX tickets_by_assignee ON tickets (assigned_sys_id, active);
