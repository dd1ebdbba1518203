-- The saved views filter on these columns only when the view sets them (`Store::queue_all`).
-- Unlike SQLite's, this index leaves the queue lines out: a B-tree entry is limited to a third
-- of a page, and a queue line holds free text.
CREATE INDEX tickets_queue_open ON tickets (active, kind);
CREATE INDEX tickets_by_assignee ON tickets (assigned_sys_id, active);
