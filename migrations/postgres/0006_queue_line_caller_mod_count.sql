-- The queue line gains the caller's email and `sys_mod_count` (fields 17 and 18), so a command
-- raised from the queue carries the update count the operator saw. Every cached line is
-- rewritten here in the binary's encoding (`store::queries::encode_queue_line`): each field as
-- its length in bytes, a colon and the text.
UPDATE tickets SET queue_line =
       octet_length(sys_id) || ':' || sys_id
    || octet_length(number) || ':' || number
    || octet_length(kind) || ':' || kind
    || octet_length(priority::text) || ':' || priority::text
    || octet_length(state_label) || ':' || state_label
    || '1:' || CASE WHEN active THEN '1' ELSE '0' END
    || octet_length(short_description) || ':' || short_description
    || octet_length(caller_display) || ':' || caller_display
    || octet_length(group_sys_id) || ':' || group_sys_id
    || octet_length(group_display) || ':' || group_display
    || octet_length(assigned_sys_id) || ':' || assigned_sys_id
    || octet_length(assigned_display) || ':' || assigned_display
    || octet_length(opened_us::text) || ':' || opened_us::text
    || octet_length(updated_us::text) || ':' || updated_us::text
    || octet_length(COALESCE(sla_due_us::text, '')) || ':' || COALESCE(sla_due_us::text, '')
    || '1:' || CASE WHEN sla_breached THEN '1' ELSE '0' END
    || octet_length(caller_email) || ':' || caller_email
    || octet_length(mod_count::text) || ':' || mod_count::text;
