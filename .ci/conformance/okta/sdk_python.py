"""Okta's official Python SDK (PyPI `okta`) against `grantdesk emulator`.

Scenarios of issue 3: list users with limit=1 across several pages, search users, list groups
and members, add and remove a membership, assign an app, read the System Log, a 404 with
E0000007, and surviving one 429. Every result is compared with the emulator's own data, read
over plain HTTP (urllib), not through the SDK. Exits non-zero on the first mismatch.
"""

import asyncio
import json
import os
import sys
import urllib.parse
import urllib.request

URL = os.environ["GRANTDESK_OKTA_URL"]
TOKEN = os.environ["GRANTDESK_OKTA_TOKEN"]


def raw(path, method="GET"):
    """The emulator's own answer, through urllib."""
    req = urllib.request.Request(URL + path, method=method, headers={"Authorization": "SSWS " + TOKEN, "Accept": "application/json"})
    with urllib.request.urlopen(req) as r:
        body = r.read()
        return json.loads(body) if body else None


def raw_all(path):
    """Every item of a paged list, following Link next headers by hand."""
    out, url = [], URL + path
    while url:
        req = urllib.request.Request(url, headers={"Authorization": "SSWS " + TOKEN, "Accept": "application/json"})
        with urllib.request.urlopen(req) as r:
            out += json.loads(r.read())
            nxt = [l for l in r.headers.get_all("link") or [] if 'rel="next"' in l]
            url = nxt[0].split(">")[0].lstrip("<") if nxt else None
    return out


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def unpack(t):
    """(items, resp, err) or (items, err) → items, resp, err."""
    if len(t) == 3:
        return t
    return t[0], None, t[1]


def next_cursor(resp):
    """The SDK's own reading of the Link header (okta.pagination, SDK 3.4)."""
    from okta.pagination import PaginationHelper

    return PaginationHelper.extract_next_cursor(resp.headers)


async def all_pages(call, **kw):
    """Every item of a list, following the SDK's cursor helper page by page."""
    items, resp, err = unpack(await call(**kw))
    check(err is None, "%s first page" % call.__name__)
    out = list(items)
    cursor = next_cursor(resp)
    while cursor:
        items, resp, err = unpack(await call(after=cursor, **kw))
        check(err is None, "%s page after %s" % (call.__name__, cursor))
        out += items
        cursor = next_cursor(resp)
    return out


def gname(g):
    """A group's name: the SDK wraps the profile in a oneOf holder."""
    p = g.profile
    return getattr(p, "name", None) or getattr(getattr(p, "actual_instance", None), "name", None)


async def main():
    from okta.client import Client as OktaClient
    from okta.models import AppUserAssignRequest

    client = OktaClient({"orgUrl": URL, "token": TOKEN, "rateLimit": {"maxRetries": 2}})

    # List users, one per page, across several pages.
    users, resp, err = unpack(await client.list_users(limit=1))
    check(err is None and len(users) == 1, "list_users(limit=1) first page")
    seen = [users[0].profile.login]
    while len(seen) < 5:
        cursor = next_cursor(resp)
        check(cursor is not None, "a next link after page %d" % len(seen))
        page, resp, err = unpack(await client.list_users(limit=1, after=cursor))
        check(err is None and len(page) == 1, "page %d" % (len(seen) + 1))
        seen.append(page[0].profile.login)
    expected = [u["profile"]["login"] for u in raw("/api/v1/users?limit=5")]
    check(seen == expected, "five pages of one user match the emulator: %s" % seen)

    # Search.
    users = await all_pages(client.list_users, search='profile.department eq "Finance"', limit=7)
    logins = [u.profile.login for u in users]
    q = urllib.parse.quote('profile.department eq "Finance"')
    check(logins == [u["profile"]["login"] for u in raw_all("/api/v1/users?search=" + q)] and logins, "search users: %d in Finance" % len(logins))

    # Groups and members.
    groups, resp, err = unpack(await client.list_groups(q="aws-prod"))
    names = sorted(gname(g) for g in groups)
    check(err is None and names == ["aws-prod-admin", "aws-prod-readonly"], "list_groups(q=aws-prod): %s" % names)
    admin = [g for g in groups if gname(g) == "aws-prod-admin"][0]
    members = await all_pages(client.list_group_users, group_id=admin.id, limit=2)
    member_logins = [m.profile.login for m in members]
    check(member_logins == [u["profile"]["login"] for u in raw_all("/api/v1/groups/%s/users" % admin.id)], "list_group_users matches")
    check("casey.contractor@example.com" in member_logins, "casey holds aws-prod-admin")

    # Add and remove a membership.
    riley = raw("/api/v1/users/riley.requester@example.com")
    resp, err = (await client.assign_user_to_group(admin.id, riley["id"]))[-2:]
    check(err is None, "assign_user_to_group")
    check(riley["id"] in [u["id"] for u in raw_all("/api/v1/groups/%s/users" % admin.id)], "riley is now a member")
    resp, err = (await client.unassign_user_from_group(admin.id, riley["id"]))[-2:]
    check(err is None, "unassign_user_from_group")
    check(riley["id"] not in [u["id"] for u in raw_all("/api/v1/groups/%s/users" % admin.id)], "riley is no longer a member")

    # Assign an app.
    apps = raw("/api/v1/apps?q=Salesforce")
    sf = apps[0]["id"]
    app_user, resp, err = unpack(await client.assign_user_to_application(sf, AppUserAssignRequest(id=riley["id"], scope="USER")))
    check(err is None and app_user.id == riley["id"], "assign_user_to_application")
    check(raw("/api/v1/apps/%s/users/%s" % (sf, riley["id"]))["scope"] == "USER", "the emulator shows the direct assignment")

    # System Log: the membership changes just made.
    events, resp, err = unpack(await client.list_log_events(filter='target.id eq "%s"' % riley["id"], sort_order="DESCENDING", limit=5))
    types = [e.event_type for e in events]
    check(err is None and types[:3] == ["application.user_membership.add", "group.user_membership.remove", "group.user_membership.add"], "list_log_events: %s" % types[:3])

    # 404.
    user, resp, err = unpack(await client.get_user("nobody@example.com"))
    check(err is not None and getattr(err, "error_code", None) == "E0000007", "get_user 404 → E0000007 (%s)" % err)

    # One 429, waited out by the SDK.
    before = raw("/__emulator/okta/stats")["rateLimited"]
    raw("/__emulator/okta/inject-429?count=1", method="POST")
    groups, resp, err = unpack(await client.list_groups(q="zoom"))
    after = raw("/__emulator/okta/stats")["rateLimited"]
    check(err is None and [gname(g) for g in groups] == ["zoom-users"] and after == before + 1, "survived one 429")


asyncio.run(main())
print("python SDK conformance: all scenarios passed")
