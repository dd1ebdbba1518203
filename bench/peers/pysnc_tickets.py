"""The ServiceNow side of the side-by-side: ServiceNow's `pysnc` (GlideRecord) reads every open
incident (`active=true`) with the fields and display values grantdesk's client asks for
(FIELDS, comma-separated, as `grantdesk bench-peer servicenow-open-tickets --json` reports them;
pysnc's default `sysparm_display_value=all` is what grantdesk uses too), BATCH records a request
(`client.GlideRecord`'s default is 100; ServiceNow allows at most 10,000).

The clock starts after pysnc is imported and its client built and stops after the last record
is read. Prints one JSON object. Environment: GRANTDESK_SERVICENOW_URL, _USER, _PASSWORD and
GRANTDESK_CA_BUNDLE (the emulator's self-signed certificate).
"""

import json
import os
import time

from pysnc import ServiceNowClient

BATCH = int(os.environ.get("BATCH", "100"))
FIELDS = [f for f in os.environ.get("FIELDS", "").split(",") if f]

client = ServiceNowClient(
    os.environ["GRANTDESK_SERVICENOW_URL"],
    (os.environ["GRANTDESK_SERVICENOW_USER"], os.environ["GRANTDESK_SERVICENOW_PASSWORD"]),
    verify=os.environ.get("GRANTDESK_CA_BUNDLE") or True,
)
started = time.perf_counter()
gr = client.GlideRecord("incident", batch_size=BATCH)
gr.add_query("active", "true")
if FIELDS:
    gr.fields = FIELDS
gr.query()
tickets = 0
for r in gr:
    r.get_value("number")
    tickets += 1
seconds = time.perf_counter() - started
print(json.dumps({
    "workload": "servicenow-open-tickets",
    "seconds": seconds,
    "counts": {"tickets": tickets},
    "batch_size": BATCH,
}))
