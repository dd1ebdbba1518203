-- The queue line gains the caller's email and `sys_mod_count` (fields 17 and 18), so a command
-- raised from the queue carries the update count the operator saw. Every cached line is
-- rewritten here in the binary's encoding (`store::queries::encode_queue_line`): each field as
-- its length in bytes, a colon and the text.
UPDATE tickets SET queue_line =
       length(CAST(sys_id AS BLOB)) || ':' || sys_id
    || length(CAST(number AS BLOB)) || ':' || number
    || length(CAST(kind AS BLOB)) || ':' || kind
    || length(CAST(priority AS TEXT)) || ':' || CAST(priority AS TEXT)
    || length(CAST(state_label AS BLOB)) || ':' || state_label
    || '1:' || CASE WHEN active THEN '1' ELSE '0' END
    || length(CAST(short_description AS BLOB)) || ':' || short_description
    || length(CAST(caller_display AS BLOB)) || ':' || caller_display
    || length(CAST(group_sys_id AS BLOB)) || ':' || group_sys_id
    || length(CAST(group_display AS BLOB)) || ':' || group_display
    || length(CAST(assigned_sys_id AS BLOB)) || ':' || assigned_sys_id
    || length(CAST(assigned_display AS BLOB)) || ':' || assigned_display
    || length(CAST(opened_us AS TEXT)) || ':' || CAST(opened_us AS TEXT)
    || length(CAST(updated_us AS TEXT)) || ':' || CAST(updated_us AS TEXT)
    || length(COALESCE(CAST(sla_due_us AS TEXT), '')) || ':' || COALESCE(CAST(sla_due_us AS TEXT), '')
    || '1:' || CASE WHEN sla_breached THEN '1' ELSE '0' END
    || length(CAST(caller_email AS BLOB)) || ':' || caller_email
    || length(CAST(mod_count AS TEXT)) || ':' || CAST(mod_count AS TEXT);
