"""The Okta side of the side-by-side: Okta's official Python SDK (`okta` on PyPI) lists every
user, every group and the members of every group, the same listing `grantdesk bench-peer
okta-listing` makes through grantdesk's client, with the same page sizes (users 200, members
MEMBER_PAGE) and the same number of groups read at once (CONCURRENCY, with asyncio).

The clock starts after the SDK is imported and its client built and stops when the last page is
read, as grantdesk's does. Prints one JSON object. Environment: GRANTDESK_OKTA_URL,
GRANTDESK_OKTA_TOKEN (and SSL_CERT_FILE for the emulator's self-signed certificate).
"""

import asyncio
import json
import os
import sys
import time

from okta.client import Client
from okta.pagination import PaginationHelper

MEMBER_PAGE = int(os.environ.get("MEMBER_PAGE", "1000"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))


async def count_all(call, *args, **kw):
    """Items of every page, following the SDK's own reading of the Link header."""
    items, resp, err = await call(*args, **kw)
    if err is not None:
        raise RuntimeError("%s: %s" % (call.__name__, err))
    n, ids = len(items), [getattr(i, "id", None) for i in items]
    cursor = PaginationHelper.extract_next_cursor(resp.headers)
    while cursor:
        items, resp, err = await call(*args, after=cursor, **kw)
        if err is not None:
            raise RuntimeError("%s after %s: %s" % (call.__name__, cursor, err))
        n += len(items)
        ids += [getattr(i, "id", None) for i in items]
        cursor = PaginationHelper.extract_next_cursor(resp.headers)
    return n, ids


async def main():
    client = Client({
        "orgUrl": os.environ["GRANTDESK_OKTA_URL"],
        "token": os.environ["GRANTDESK_OKTA_TOKEN"],
        "cache": {"enabled": False},
        "rateLimit": {"maxRetries": 2},
    })
    started = time.perf_counter()
    users, _ = await count_all(client.list_users, limit=200)
    groups, group_ids = await count_all(client.list_groups)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def members(gid):
        async with gate:
            n, _ = await count_all(client.list_group_users, gid, limit=MEMBER_PAGE)
            return n

    memberships = sum(await asyncio.gather(*(members(g) for g in group_ids)))
    seconds = time.perf_counter() - started
    print(json.dumps({
        "workload": "okta-listing",
        "seconds": seconds,
        "counts": {"users": users, "groups": groups, "memberships": memberships},
        "member_page": MEMBER_PAGE,
        "concurrency": CONCURRENCY,
    }))


asyncio.run(main())
sys.stdout.flush()
