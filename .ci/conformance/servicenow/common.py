"""Shared by the ServiceNow conformance scenarios: a plain `requests` view of the emulator (the
reference every library result is compared with) and a check that records failures loudly."""

import os
import sys

import requests

# The emulator's OAuth application (grantdesk::emulator::servicenow::DEMO_OAUTH_CLIENT_*).
CLIENT_ID = "grantdesk-demo-client"
CLIENT_SECRET = "grantdesk-demo-secret"

USER = os.environ["SN_USER"]
PASSWORD = os.environ["SN_PASSWORD"]

FAILURES = []


def check(what, got, want):
    if got == want:
        print(f"  ok    {what}")
        return True
    FAILURES.append(what)
    print(f"  FAIL  {what}\n        got:  {got!r}\n        want: {want!r}")
    return False


def truthy(what, value):
    return check(what, bool(value), True)


def finish(name):
    if FAILURES:
        print(f"{name}: {len(FAILURES)} check(s) failed: {', '.join(FAILURES)}")
        sys.exit(1)
    print(f"{name}: all checks passed")


class Raw:
    """The emulator's own JSON, fetched without any client library."""

    def __init__(self, base, verify=True):
        self.base = base.rstrip("/")
        self.s = requests.Session()
        self.s.auth = (USER, PASSWORD)
        self.s.verify = verify
        self.s.headers["Accept"] = "application/json"

    def list(self, table, query, fields=None, display="false"):
        params = {"sysparm_query": query, "sysparm_limit": "10000", "sysparm_display_value": display}
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        r = self.s.get(f"{self.base}/api/now/table/{table}", params=params)
        r.raise_for_status()
        return r.json()["result"], int(r.headers["X-Total-Count"])

    def get(self, table, sys_id, display="false"):
        r = self.s.get(f"{self.base}/api/now/table/{table}/{sys_id}", params={"sysparm_display_value": display})
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()["result"]

    def count(self, table, query):
        r = self.s.get(f"{self.base}/api/now/stats/{table}", params={"sysparm_count": "true", "sysparm_query": query})
        r.raise_for_status()
        return int(r.json()["result"]["stats"]["count"])

    def user_id(self, user_name):
        rows, _ = self.list("sys_user", f"user_name={user_name}", ["sys_id"])
        return rows[0]["sys_id"]

    def journal(self, element_id):
        rows, _ = self.list("sys_journal_field", f"element_id={element_id}^ORDERBYsys_created_on", ["element", "value"])
        return [(r["element"], r["value"]) for r in rows]
