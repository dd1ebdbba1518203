-- The console's first frame reads only the top of the queue in its default order (priority,
-- then oldest): with this index the database walks the open tickets in that order and stops
-- after a screenful, instead of sorting the whole queue. The expression is the one
-- `QueueOrder::Priority` orders by, character for character, so the planner matches it.
CREATE INDEX tickets_queue_priority
    ON tickets (active, (CASE WHEN priority = 0 THEN 9 ELSE priority END), opened_us, number, kind);
