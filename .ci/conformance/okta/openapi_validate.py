"""Validates the emulator's answers against Okta's own OpenAPI files.

For every operation the emulator implements, a real request is sent to `grantdesk emulator` and
the JSON body is checked against the response schema Okta's spec declares for that operation and
status code (OpenAPI 3.0 rules: nullable, readOnly, oneOf/allOf, formats). Nothing is skipped:
an operation missing from the spec, or a status code the spec does not declare, fails too.

Usage: openapi_validate.py SPEC_DIR   (with GRANTDESK_OKTA_URL and GRANTDESK_OKTA_TOKEN set)
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml
from openapi_schema_validator import OAS30ReadValidator

URL = os.environ["GRANTDESK_OKTA_URL"]
TOKEN = os.environ["GRANTDESK_OKTA_TOKEN"]
SPEC_DIR = sys.argv[1]


def load(name):
    with open(os.path.join(SPEC_DIR, name)) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


MGMT = load("management-minimal.yaml")
OIG = load("governance-production-requests-admin-v2-reference-minimal.yaml")


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PUT") else None)
    req = urllib.request.Request(
        URL + path,
        method=method,
        data=data,
        headers={"Authorization": "SSWS " + TOKEN, "Accept": "application/json", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema(spec, template, method, status):
    op = spec["paths"].get(template, {}).get(method.lower())
    if op is None:
        raise AssertionError("the spec has no %s %s" % (method, template))
    responses = op["responses"]
    key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
    if key is None and status >= 400 and "Error" in spec["components"]["schemas"]:
        # Okta answers some errors its spec does not list for the operation (400 E0000029 for a
        # bad cursor is recorded on list operations); every Okta error has the one Error shape.
        return pointer("components", "schemas", "Error")
    if key is None:
        raise AssertionError("%s %s: the spec declares no %s response (has %s)" % (method, template, status, sorted(responses)))
    resp = responses[key]
    parts = ["paths", template, method.lower(), "responses", key]
    while "$ref" in resp:
        ref = resp["$ref"]
        parts = ref[2:].split("/")
        resp = spec
        for p in parts:
            resp = resp[p]
    content = resp.get("content") or {}
    media = next((m for m in content if "json" in m), None)
    if media is None:
        return None
    if "schema" not in content[media]:
        return None
    return pointer(*parts, "content", media, "schema")


failures = []
checked = []


def validate(spec, template, method, path, status_expected, body=None):
    status, data = call(method, path, body)
    name = "%s %s → %s" % (method, path.split("?")[0], status)
    if status != status_expected:
        failures.append("%s: expected HTTP %s" % (name, status_expected))
        return data
    try:
        ref = response_schema(spec, template, method, status)
    except AssertionError as e:
        failures.append(str(e))
        return data
    if ref is None:
        if data not in (None, {}):
            failures.append("%s: the spec declares no body but one came back" % name)
        checked.append(name + " (no body)")
        return data
    # Validate against the spec document itself so every $ref resolves inside it.
    root = dict(spec)
    root["$ref"] = ref
    errors = sorted(OAS30ReadValidator(root).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        for e in errors[:5]:
            failures.append("%s: %s at %s" % (name, e.message[:300], "/".join(map(str, e.path))))
    checked.append(name)
    return data


def q(s):
    return urllib.parse.quote(s)


M, G = MGMT, OIG
users = validate(M, "/api/v1/users", "GET", "/api/v1/users?limit=3", 200)
validate(M, "/api/v1/users", "GET", "/api/v1/users?search=" + q('status eq "SUSPENDED"'), 200)
validate(M, "/api/v1/users", "GET", "/api/v1/users?filter=" + q('status eq "DEPROVISIONED"'), 200)
validate(M, "/api/v1/users", "GET", "/api/v1/users?q=Ril", 200)
validate(M, "/api/v1/users", "GET", "/api/v1/users?after=bogus", 400)
riley = validate(M, "/api/v1/users/{id}", "GET", "/api/v1/users/riley.requester@example.com", 200)
validate(M, "/api/v1/users/{id}", "GET", "/api/v1/users/nobody@example.com", 404)
rid = riley["id"]
dana = call("GET", "/api/v1/users/dana.desk@example.com")[1]
validate(M, "/api/v1/users/{id}/groups", "GET", "/api/v1/users/%s/groups" % rid, 200)
validate(M, "/api/v1/users/{id}/appLinks", "GET", "/api/v1/users/%s/appLinks" % rid, 200)
factors = validate(M, "/api/v1/users/{userId}/factors", "GET", "/api/v1/users/%s/factors" % dana["id"], 200)
validate(M, "/api/v1/users/{userId}/factors/{factorId}", "GET", "/api/v1/users/%s/factors/%s" % (dana["id"], factors[0]["id"]), 200)
validate(M, "/api/v1/users/{userId}/factors/{factorId}", "DELETE", "/api/v1/users/%s/factors/%s" % (dana["id"], factors[0]["id"]), 204)
validate(M, "/api/v1/users/{userId}/factors/{factorId}", "DELETE", "/api/v1/users/%s/factors/%s" % (dana["id"], factors[0]["id"]), 404)
validate(M, "/api/v1/users/{id}/lifecycle/unlock", "POST", "/api/v1/users/%s/lifecycle/unlock" % rid, 200)
validate(M, "/api/v1/users/{id}/lifecycle/unlock", "POST", "/api/v1/users/%s/lifecycle/unlock" % rid, 403)
validate(M, "/api/v1/users/{id}/lifecycle/suspend", "POST", "/api/v1/users/%s/lifecycle/suspend" % rid, 200)
validate(M, "/api/v1/users/{id}/lifecycle/unsuspend", "POST", "/api/v1/users/%s/lifecycle/unsuspend" % rid, 200)
validate(M, "/api/v1/users/{id}/lifecycle/reset_password", "POST", "/api/v1/users/%s/lifecycle/reset_password?sendEmail=false" % rid, 200)
validate(M, "/api/v1/users/{id}/lifecycle/expire_password", "POST", "/api/v1/users/%s/lifecycle/expire_password" % rid, 200)
validate(M, "/api/v1/users/{id}/lifecycle/expire_password_with_temp_password", "POST", "/api/v1/users/%s/lifecycle/expire_password_with_temp_password" % rid, 200)
validate(M, "/api/v1/users/{id}/lifecycle/reset_factors", "POST", "/api/v1/users/%s/lifecycle/reset_factors" % dana["id"], 200)
staged = call("GET", "/api/v1/users?filter=" + q('status eq "STAGED"') + "&limit=1")[1][0]
validate(M, "/api/v1/users/{id}/lifecycle/activate", "POST", "/api/v1/users/%s/lifecycle/activate?sendEmail=false" % staged["id"], 200)
validate(M, "/api/v1/users/{id}/lifecycle/reactivate", "POST", "/api/v1/users/%s/lifecycle/reactivate?sendEmail=false" % staged["id"], 200)
validate(M, "/api/v1/users/{id}/lifecycle/deactivate", "POST", "/api/v1/users/%s/lifecycle/deactivate" % staged["id"], 200)

groups = validate(M, "/api/v1/groups", "GET", "/api/v1/groups?limit=5&expand=stats", 200)
validate(M, "/api/v1/groups", "GET", "/api/v1/groups?q=aws", 200)
validate(M, "/api/v1/groups", "GET", "/api/v1/groups?search=" + q('type eq "APP_GROUP"'), 200)
admin = call("GET", "/api/v1/groups?q=aws-prod-admin")[1][0]
validate(M, "/api/v1/groups/{groupId}", "GET", "/api/v1/groups/%s" % admin["id"], 200)
validate(M, "/api/v1/groups/{groupId}", "GET", "/api/v1/groups/00gnope", 404)
validate(M, "/api/v1/groups/{groupId}/users", "GET", "/api/v1/groups/%s/users" % admin["id"], 200)
validate(M, "/api/v1/groups/{groupId}/owners", "GET", "/api/v1/groups/%s/owners" % admin["id"], 200)
validate(M, "/api/v1/groups/{groupId}/owners", "GET", "/api/v1/groups/%s/owners?search=%s" % (admin["id"], q('type eq "USER"')), 200)
validate(M, "/api/v1/groups/{groupId}/owners", "GET", "/api/v1/groups/00gnope/owners", 404)
everyone = call("GET", "/api/v1/groups?q=Everyone")[1][0]
validate(M, "/api/v1/groups/{groupId}/apps", "GET", "/api/v1/groups/%s/apps" % everyone["id"], 200)
validate(M, "/api/v1/groups/{groupId}/apps", "GET", "/api/v1/groups/%s/apps?limit=1" % everyone["id"], 200)
validate(M, "/api/v1/groups/{groupId}/apps", "GET", "/api/v1/groups/00gnope/apps", 404)
validate(M, "/api/v1/groups/{groupId}/users/{userId}", "PUT", "/api/v1/groups/%s/users/%s" % (admin["id"], rid), 204)
validate(M, "/api/v1/groups/{groupId}/users/{userId}", "DELETE", "/api/v1/groups/%s/users/%s" % (admin["id"], rid), 204)

apps = validate(M, "/api/v1/apps", "GET", "/api/v1/apps?limit=20", 200)
sf = [a for a in apps if a["name"] == "salesforce"][0]
validate(M, "/api/v1/apps/{appId}", "GET", "/api/v1/apps/%s" % sf["id"], 200)
validate(M, "/api/v1/apps/{appId}/users", "GET", "/api/v1/apps/%s/users?limit=5" % sf["id"], 200)
validate(M, "/api/v1/apps/{appId}/users", "POST", "/api/v1/apps/%s/users" % sf["id"], 200, {"id": rid, "scope": "USER"})
validate(M, "/api/v1/apps/{appId}/users/{userId}", "GET", "/api/v1/apps/%s/users/%s" % (sf["id"], rid), 200)
validate(M, "/api/v1/apps/{appId}/users/{userId}", "DELETE", "/api/v1/apps/%s/users/%s" % (sf["id"], rid), 204)
workday = [a for a in apps if a["name"] == "workday"][0]
validate(M, "/api/v1/apps/{appId}/groups", "GET", "/api/v1/apps/%s/groups" % workday["id"], 200)

validate(M, "/api/v1/logs", "GET", "/api/v1/logs?limit=20&sortOrder=DESCENDING", 200)
validate(M, "/api/v1/logs", "GET", "/api/v1/logs?filter=" + q('eventType eq "user.account.lock"'), 200)

top = validate(G, "/governance/api/v2/catalogs/default/entries", "GET", "/governance/api/v2/catalogs/default/entries?filter=" + q("not(parent pr)"), 200)
validate(G, "/governance/api/v2/catalogs/default/entries", "GET", "/governance/api/v2/catalogs/default/entries", 400)
aws = [e for e in top["data"] if e["name"] == "AWS"][0]
children = validate(G, "/governance/api/v2/catalogs/default/entries", "GET", "/governance/api/v2/catalogs/default/entries?filter=" + q('parent eq "%s"' % aws["id"]), 200)
readonly = [e for e in children["data"] if e["name"] == "aws-prod-readonly"][0]
validate(G, "/governance/api/v2/catalogs/default/entries/{entryId}", "GET", "/governance/api/v2/catalogs/default/entries/%s" % readonly["id"], 200)
validate(G, "/governance/api/v2/catalogs/default/user/{userId}/entries", "GET", "/governance/api/v2/catalogs/default/user/%s/entries?filter=%s" % (rid, q("not(parent pr)")), 200)
validate(G, "/governance/api/v2/catalogs/default/entries/{entryId}/users/{userId}/request-fields", "GET", "/governance/api/v2/catalogs/default/entries/%s/users/%s/request-fields" % (readonly["id"], rid), 200)
created = validate(G, "/governance/api/v2/requests", "POST", "/governance/api/v2/requests", 202, {"requested": {"type": "CATALOG_ENTRY", "entryId": readonly["id"]}, "requestedFor": {"type": "OKTA_USER", "externalId": rid}})
validate(G, "/governance/api/v2/requests", "POST", "/governance/api/v2/requests", 400, {"requested": {"type": "CATALOG_ENTRY"}})
validate(G, "/governance/api/v2/requests", "GET", "/governance/api/v2/requests?limit=5", 200)
validate(G, "/governance/api/v2/requests/{requestId}", "GET", "/governance/api/v2/requests/%s" % created["id"], 200)
aws_app = readonly["_links"]["relatedEntity"]["href"]
aws_app_id = [a for a in apps if a["name"] == "amazon_aws"][0]["id"]
conds = validate(G, "/governance/api/v2/resources/{resourceId}/request-conditions", "GET", "/governance/api/v2/resources/%s/request-conditions" % aws_app_id, 200)
validate(G, "/governance/api/v2/resources/{resourceId}/request-conditions/{requestConditionId}", "GET", "/governance/api/v2/resources/%s/request-conditions/%s" % (aws_app_id, conds["data"][0]["id"]), 200)
validate(G, "/governance/api/v2/resources/{resourceId}/request-settings", "GET", "/governance/api/v2/resources/%s/request-settings" % aws_app_id, 200)
validate(G, "/governance/api/v2/resources/{resourceId}/request-sequences", "GET", "/governance/api/v2/resources/%s/request-sequences" % aws_app_id, 200)
validate(G, "/governance/api/v2/request-settings", "GET", "/governance/api/v2/request-settings", 200)
tasks = validate(G, "/governance/api/v2/tasks", "GET", "/governance/api/v2/tasks?limit=5", 200)
validate(G, "/governance/api/v2/tasks/{taskId}", "GET", "/governance/api/v2/tasks/%s" % tasks["data"][0]["id"], 200)

for c in checked:
    print("checked:", c)
if failures:
    print("\n%d OpenAPI violations:" % len(failures))
    for f in failures:
        print("FAIL:", f)
    sys.exit(1)
print("OpenAPI validation: %d responses match Okta's spec" % len(checked))
