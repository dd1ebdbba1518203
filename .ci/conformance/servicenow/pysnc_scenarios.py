"""ServiceNow's own PySNC against `grantdesk emulator --tls`: GlideRecord queries with encoded
queries and ordering, display values, get by sys_id, insert, update, delete, batch update and
delete, OAuth flows — each result compared with the emulator's own JSON."""

import os

import pysnc
from pysnc.auth import ServiceNowClientCredentialsFlow, ServiceNowPasswordGrantFlow

from common import CLIENT_ID, CLIENT_SECRET, PASSWORD, USER, Raw, check, finish, truthy

URL = os.environ["SN_HTTPS_URL"]
CA = os.environ["SN_CA"]
raw = Raw(URL, verify=CA)
client = pysnc.ServiceNowClient(URL, (USER, PASSWORD), verify=CA)

print("pysnc: encoded queries, ordering and paging")
gr = client.GlideRecord("incident", batch_size=7)
gr.add_encoded_query("active=true^priority<=2")
gr.order_by("number")
gr.query()
want, total = raw.list("incident", "active=true^priority<=2^ORDERBYnumber", ["number"])
check("row count is X-Total-Count", len(gr), total)
check("numbers in order across pages of 7", [r.number.get_value() for r in gr], [w["number"] for w in want])

gr = client.GlideRecord("incident")
gr.add_active_query()
gr.add_query("priority", "<", "3")
gr.order_by_desc("sys_updated_on")
gr.query()
want, _ = raw.list("incident", "active=true^priority<3^ORDERBYDESCsys_updated_on", ["sys_id"])
check("add_query with an operator, order_by_desc", [r.sys_id.get_value() for r in gr], [w["sys_id"] for w in want])

gr = client.GlideRecord("incident")
qc = gr.add_query("priority", "1")
qc.add_or_condition("priority", "5")
gr.add_null_query("assigned_to")
gr.query()
want, _ = raw.list("incident", "priority=1^ORpriority=5^assigned_toISEMPTY^ORDERBYsys_id", ["sys_id"])
check("OR conditions and null query", [r.sys_id.get_value() for r in gr], [w["sys_id"] for w in want])

gr = client.GlideRecord("incident")
gr.add_query("caller_id.user_name", "riley.requester")
gr.add_active_query()
gr.query()
want, _ = raw.list("incident", "caller_id.user_name=riley.requester^active=true", ["number"])
check("dot-walked condition", [r.number.get_value() for r in gr], [w["number"] for w in want])

print("pysnc: display values")
riley_inc = want[0]["number"]
disp, _ = raw.list("incident", f"number={riley_inc}", display="all")
gr = client.GlideRecord("incident")
gr.add_query("number", riley_inc)
gr.query()
truthy("the lockout incident is found", gr.next())
check("state value", gr.get_value("state"), disp[0]["state"]["value"])
check("state display value", gr.get_display_value("state"), disp[0]["state"]["display_value"])
check("caller value (sys_id)", gr.get_value("caller_id"), disp[0]["caller_id"]["value"])
check("caller display value", gr.get_display_value("caller_id"), "Riley Requester")
check("priority display value", gr.get_display_value("priority"), "2 - High")
check("assignment group display value", gr.get_display_value("assignment_group"), "Service Desk")

gr = client.GlideRecord("incident")
gr.fields = ["number", "caller_id.email"]
gr.add_query("number", riley_inc)
gr.query()
gr.next()
check("dot-walked field", gr.get_value("caller_id.email"), "riley.requester@example.com")

print("pysnc: get by sys_id")
sys_id = disp[0]["sys_id"]["value"]
gr = client.GlideRecord("incident")
truthy("get(sys_id)", gr.get(sys_id))
one = raw.get("incident", sys_id)
for f in ["number", "short_description", "opened_at", "sys_mod_count", "priority"]:
    check(f"get(sys_id).{f}", gr.get_value(f), one[f])
check("get(unknown sys_id) is False", client.GlideRecord("incident").get("0123456789abcdef0123456789abcdef"), False)
gr = client.GlideRecord("incident")
truthy("get('number', N)", gr.get("number", riley_inc))
check("get('number', N).sys_id", gr.get_value("sys_id"), sys_id)

print("pysnc: insert, update, delete")
riley = raw.user_id("riley.requester")
gr = client.GlideRecord("incident")
gr.initialize()
gr.short_description = "pysnc conformance: monitor flickers"
gr.caller_id = riley
gr.impact = "2"
gr.urgency = "2"
new_id = gr.insert()
truthy("insert returns a sys_id", new_id)
row = raw.get("incident", str(new_id))
check("inserted short_description", row["short_description"], "pysnc conformance: monitor flickers")
check("inserted caller", row["caller_id"]["value"], riley)
check("priority from impact x urgency", row["priority"], "3")
check("created by the signed-in user", row["sys_created_by"], USER)
truthy("numbered like an incident", row["number"].startswith("INC"))

gr = client.GlideRecord("incident")
gr.get(str(new_id))
gr.state = "2"
gr.work_notes = "pysnc: looking into it"
gr.update()
row = raw.get("incident", str(new_id))
check("updated state", row["state"], "2")
check("sys_mod_count after one update", row["sys_mod_count"], "1")
check("work notes read back empty", row["work_notes"], "")
check("the work note is in sys_journal_field", raw.journal(str(new_id)), [("work_notes", "pysnc: looking into it")])

gr.state = "6"
try:
    gr.update()
    refused = False
except (pysnc.exceptions.RoleException, pysnc.exceptions.UpdateException) as e:  # 403 is a RoleException
    refused = True
    truthy("the refusal names close_code", "close_code" in str(e))
check("resolving without a resolution code is refused", refused, True)
check("state unchanged after the refusal", raw.get("incident", str(new_id))["state"], "2")

truthy("delete", gr.delete())
check("deleted record is gone", raw.get("incident", str(new_id)), None)

print("pysnc: batch update and delete")
ids = []
for n in range(3):
    g = client.GlideRecord("incident")
    g.initialize()
    g.short_description = f"pysnc batch {n}"
    ids.append(str(g.insert()))
gr = client.GlideRecord("incident")
gr.add_query("short_description", "STARTSWITH", "pysnc batch")
gr.query()
check("batch rows found", len(gr), 3)
for r in gr:
    r.urgency = "1"
    r.impact = "1"
truthy("update_multiple (Batch API)", gr.update_multiple())
for i in ids:
    row = raw.get("incident", i)
    check(f"batch-updated urgency of {row['number']}", (row["urgency"], row["priority"], row["sys_mod_count"]), ("1", "1", "1"))
gr = client.GlideRecord("incident")
gr.add_query("short_description", "STARTSWITH", "pysnc batch")
gr.query()
truthy("delete_multiple (Batch API)", gr.delete_multiple())
check("batch-deleted rows are gone", raw.count("incident", "short_descriptionSTARTSWITHpysnc batch"), 0)

print("pysnc: OAuth")
oauth = pysnc.ServiceNowClient(URL, ServiceNowPasswordGrantFlow(USER, PASSWORD, CLIENT_ID, CLIENT_SECRET), verify=CA)
gr = oauth.GlideRecord("sys_user")
gr.add_query("sys_id", "javascript:gs.getUserID()")
gr.query()
truthy("password grant signs in", gr.next())
check("password grant user", gr.get_value("user_name"), USER)
# PySNC fetches client-credentials tokens with a bare requests.post that ignores `verify=`;
# only the environment can make it trust the emulator's certificate.
os.environ["REQUESTS_CA_BUNDLE"] = CA
cc = pysnc.ServiceNowClient(URL, ServiceNowClientCredentialsFlow(CLIENT_ID, CLIENT_SECRET), verify=CA)
gr = cc.GlideRecord("incident")
gr.add_query("number", riley_inc)
gr.query()
check("client-credentials grant reads", len(gr), 1)

bad = pysnc.ServiceNowClient(URL, (USER, "not-the-password"), verify=CA)
try:
    bad.GlideRecord("incident").query()
    rejected = False
except pysnc.exceptions.AuthenticationException:
    rejected = True
check("a wrong password raises AuthenticationException", rejected, True)

finish("pysnc")
