"""Runs the side-by-side of issue 7 (item 3) against one running `grantdesk emulator --scale
large --tls` and prints the table for the README.

Each repetition runs every contender once, in an order that rotates from one repetition to the
next (interleaved, so a slow spell of the machine falls on all of them); each contender runs in
its own process and reports its in-process time (after import and set-up) and its record counts;
the wall time of the whole process (start-up included) is measured here. The counts of every
run must agree, or the script fails. Before and after every run the emulator's own statistics
(`/_emulator/stats`) are read, so its handler time for the run's pages is shown beside the
clients' times; a sequential probe of single pages gives the emulator's per-page serving time
with nothing else in flight.

Usage: compare.py GRANTDESK_BIN PYTHON REPS OUT_JSON   (with the emulator's environment set)
"""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import ssl

BIN, PY, REPS, OUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
HERE = os.path.dirname(os.path.abspath(__file__))
URL = os.environ["GRANTDESK_OKTA_URL"]
CA = os.environ["GRANTDESK_CA_BUNDLE"]
TLS = ssl.create_default_context(cafile=CA)
MEMBER_PAGE = 1000
CONCURRENCY = 8

# Peers trust the emulator's certificate through the variables their HTTP stacks read.
PEER_ENV = dict(os.environ, SSL_CERT_FILE=CA, REQUESTS_CA_BUNDLE=CA, CURL_CA_BUNDLE=CA)
GD_ENV = dict(os.environ, XDG_CONFIG_HOME="/nonexistent")


def get(path, okta=True):
    headers = {"Accept": "application/json"}
    if okta:
        headers["Authorization"] = "SSWS " + os.environ["GRANTDESK_OKTA_TOKEN"]
    else:
        import base64
        cred = "%s:%s" % (os.environ["GRANTDESK_SERVICENOW_USER"], os.environ["GRANTDESK_SERVICENOW_PASSWORD"])
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    req = urllib.request.Request(URL + path, headers=headers)
    with urllib.request.urlopen(req, context=TLS) as r:
        return json.loads(r.read())


def served():
    return get("/_emulator/stats")["served"]


def delta(before, after, prefix):
    n = t = 0
    for route, v in after.items():
        if not route.startswith(prefix):
            continue
        b = before.get(route, {"requests": 0, "total_us": 0})
        n += v["requests"] - b["requests"]
        t += v["total_us"] - b["total_us"]
    return n, t / 1e6


def run(name, argv, env, prefix):
    before = served()
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (name, out.returncode, out.stdout[-2000:], out.stderr[-4000:]))
    report = json.loads(out.stdout.strip().splitlines()[-1])
    pages, busy = delta(before, served(), prefix)
    return {"name": name, "seconds": report["seconds"], "wall": wall, "counts": report["counts"],
            "requests": pages, "emulator_seconds": busy, "report": report}


# What grantdesk's ServiceNow side asks for, so pysnc asks for the same.
probe = subprocess.run([BIN, "bench-peer", "servicenow-open-tickets", "--json"], env=GD_ENV, capture_output=True, text=True, check=True)
FIELDS = ",".join(json.loads(probe.stdout)["fields"])

WORKLOADS = {
    "okta": ("GET /api/v1/", [
        ("grantdesk (Rust client)", [BIN, "bench-peer", "okta-listing", "--json", "--page-size", str(MEMBER_PAGE), "--concurrency", str(CONCURRENCY)], GD_ENV),
        ("okta Python SDK 3.4.6", [PY, os.path.join(HERE, "okta_sdk.py")], dict(PEER_ENV, MEMBER_PAGE=str(MEMBER_PAGE), CONCURRENCY=str(CONCURRENCY))),
    ]),
    "servicenow": ("GET /api/now/", [
        ("grantdesk (Rust client), 1,000 a page, 8 at once", [BIN, "bench-peer", "servicenow-open-tickets", "--json", "--page-size", "1000", "--concurrency", "8"], GD_ENV),
        ("grantdesk (Rust client), 10,000 a page, one at a time", [BIN, "bench-peer", "servicenow-open-tickets", "--json", "--page-size", "10000", "--concurrency", "1"], GD_ENV),
        ("pysnc 1.2.1, batch 100 (default)", [PY, os.path.join(HERE, "pysnc_tickets.py")], dict(PEER_ENV, BATCH="100", FIELDS=FIELDS)),
        ("pysnc 1.2.1, batch 10,000 (largest)", [PY, os.path.join(HERE, "pysnc_tickets.py")], dict(PEER_ENV, BATCH="10000", FIELDS=FIELDS)),
    ]),
}

# ONLY=servicenow (or okta) runs one side's listing; the emulator's own page times are always shown.
ONLY = [w for w in os.environ.get("ONLY", "").split(",") if w]
WORKLOADS = {w: v for w, v in WORKLOADS.items() if not ONLY or w in ONLY}
results = {w: {c[0]: [] for c in cs} for w, (_, cs) in WORKLOADS.items()}
for rep in range(REPS):
    for w, (prefix, contenders) in WORKLOADS.items():
        k = rep % len(contenders)
        for name, argv, env in contenders[k:] + contenders[:k]:
            r = run(name, argv, env, prefix)
            results[w][name].append(r)
            print("rep %d  %-55s %8.2f s in process, %8.2f s wall, %s" % (rep + 1, name, r["seconds"], r["wall"], r["counts"]), flush=True)

# Counts must agree between the two sides.
for w, by_name in results.items():
    counts = {json.dumps(r["counts"], sort_keys=True) for runs in by_name.values() for r in runs}
    if len(counts) != 1:
        sys.exit("record counts differ in %s: %s" % (w, counts))

# The emulator alone: single pages, one at a time, timed by the emulator itself.
okta_everyone = get("/api/v1/groups?q=Everyone")[0]["id"]
probes = [
    ("Okta: 200 users", "/api/v1/users?limit=200", True, "GET /api/v1/users"),
    ("Okta: 1,000 members of Everyone", "/api/v1/groups/%s/users?limit=1000" % okta_everyone, True, "GET /api/v1/groups/"),
    ("ServiceNow: 100 open incidents", "/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_display_value=all&sysparm_limit=100&sysparm_fields=" + FIELDS, False, "GET /api/now/"),
    ("ServiceNow: 1,000 open incidents", "/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_display_value=all&sysparm_limit=1000&sysparm_fields=" + FIELDS, False, "GET /api/now/"),
    ("ServiceNow: 10,000 open incidents", "/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_display_value=all&sysparm_limit=10000&sysparm_fields=" + FIELDS, False, "GET /api/now/"),
]
page_times = []
for label, path, okta, prefix in probes:
    samples = []
    for _ in range(7):
        before = served()
        get(path, okta)
        n, busy = delta(before, served(), prefix)
        samples.append(busy * 1000 / max(n, 1))
    page_times.append((label, statistics.median(samples)))

med = lambda xs: statistics.median(xs)
lines = []
lines.append("| listing | contender | in process (median) | wall incl. start-up (median) | requests | emulator handler time | grantdesk faster by |")
lines.append("|---|---|---|---|---|---|---|")
summary = {}
for w, by_name in results.items():
    names = list(by_name)
    gd = [n for n in names if n.startswith("grantdesk")]
    best_gd = min(med([r["seconds"] for r in by_name[n]]) for n in gd)
    counts = by_name[names[0]][0]["counts"]
    what = ", ".join("%s %s" % ("{:,}".format(v), k) for k, v in counts.items())
    for n in names:
        runs = by_name[n]
        s, wall = med([r["seconds"] for r in runs]), med([r["wall"] for r in runs])
        reqs, emu = med([r["requests"] for r in runs]), med([r["emulator_seconds"] for r in runs])
        ratio = "" if n.startswith("grantdesk") else "**%.1f×**" % (s / best_gd)
        lines.append("| %s (%s) | %s | %.2f s | %.2f s | %d | %.2f s | %s |" % (w, what, n, s, wall, reqs, emu, ratio))
        summary.setdefault(w, {})[n] = {"seconds_median": s, "wall_median": wall, "requests": reqs, "emulator_seconds": emu, "runs": [r["seconds"] for r in runs]}
lines.append("")
lines.append("| the emulator alone (one request at a time, its own handler time, median of 7) | per page |")
lines.append("|---|---|")
for label, ms in page_times:
    lines.append("| %s | %.1f ms |" % (label, ms))
table = "\n".join(lines)
print()
print(table)
with open(OUT, "w") as f:
    json.dump({"reps": REPS, "results": summary, "page_times_ms": dict(page_times), "table": table}, f, indent=2)
