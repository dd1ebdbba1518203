"""pysnow against `grantdesk emulator` over plain HTTP (`use_ssl=False`): string, dict and
QueryBuilder queries with ordering, display values, one record, create, update (GET then PUT),
delete, the Aggregate API, OAuth — each result compared with the emulator's own JSON."""

import os

import pysnow

from common import CLIENT_ID, CLIENT_SECRET, PASSWORD, USER, Raw, check, finish, truthy

URL = os.environ["SN_HTTP_URL"]
HOST = URL.split("://", 1)[1]
raw = Raw(URL)
c = pysnow.Client(host=HOST, user=USER, password=PASSWORD, use_ssl=False)
inc = c.resource(api_path="/table/incident")

print("pysnow: queries and ordering")
got = [r["number"] for r in inc.get(query="active=true^priority=1^ORDERBYnumber", fields=["number"]).all()]
want, _ = raw.list("incident", "active=true^priority=1^ORDERBYnumber", ["number"])
check("string query with ORDERBY", got, [w["number"] for w in want])

qb = (
    pysnow.QueryBuilder()
    .field("priority").less_than_or_equal(2)
    .AND().field("active").equals("true")
    .AND().field("short_description").contains("locked")
    .AND().field("sys_updated_on").order_descending()
)
got = [r["sys_id"] for r in inc.get(query=qb, fields=["sys_id"]).all()]
want, _ = raw.list("incident", "priority<=2^active=true^short_descriptionLIKElocked^ORDERBYDESCsys_updated_on", ["sys_id"])
check("QueryBuilder with ordering", got, [w["sys_id"] for w in want])
truthy("QueryBuilder found rows", got)

got = sorted(r["number"] for r in inc.get(query={"category": "network", "active": "true"}).all())
want, _ = raw.list("incident", "category=network^active=true", ["number"])
check("dict query", got, sorted(w["number"] for w in want))

got = [r["number"] for r in inc.get(query="ORDERBYnumber", limit=5, offset=5, fields=["number"]).all()]
want, _ = raw.list("incident", "ORDERBYnumber", ["number"])
check("limit and offset", got, [w["number"] for w in want[5:10]])

print("pysnow: one record, all fields, display values")
lock, _ = raw.list("incident", "caller_id.user_name=riley.requester^active=true", ["number", "sys_id"])
number, sys_id = lock[0]["number"], lock[0]["sys_id"]
record = inc.get(query={"number": number}).one()
check("every field equals the emulator's JSON", record, raw.get("incident", sys_id))
# pysnow keeps parameters on the resource: display values get a resource of their own.
shown = c.resource(api_path="/table/incident").get(query={"number": number}, display_value=True, exclude_reference_link=True).one()
disp = raw.get("incident", sys_id, display="true")
check("display value of state", shown["state"], disp["state"])
check("display value of the caller", shown["caller_id"], "Riley Requester")

print("pysnow: create, update, delete")
riley = raw.user_id("riley.requester")
created = inc.create(payload={"short_description": "pysnow conformance: VPN", "caller_id": riley, "urgency": "1", "impact": "3"}).one()
check("created record as stored", created, raw.get("incident", created["sys_id"]))
check("priority from impact x urgency", created["priority"], "3")
updated = inc.update(query={"number": created["number"]}, payload={"state": "2", "comments": "pysnow: on it"}).one()
check("update answers the stored record", updated, raw.get("incident", created["sys_id"]))
check("updated state and sys_mod_count", (updated["state"], updated["sys_mod_count"]), ("2", "1"))
check("the comment is in sys_journal_field", raw.journal(created["sys_id"]), [("comments", "pysnow: on it")])
deleted = inc.delete(query={"number": created["number"]})
check("delete answers", deleted, {"status": "record deleted"})
check("deleted record is gone", raw.get("incident", created["sys_id"]), None)

print("pysnow: Aggregate API")
stats = c.resource(api_path="/stats/incident")
stats.parameters.add_custom({"sysparm_count": "true"})
result = stats.get(query="active=true").one()
check("active incident count", int(result["stats"]["count"]), raw.count("incident", "active=true"))

print("pysnow: errors")
try:
    list(c.resource(api_path="/table/no_such_table").get(query="active=true").all())
    raised = False
except Exception as e:  # pysnow raises its own or requests' exception depending on the path
    raised = True
    print(f"        ({type(e).__name__}: {e})")
check("an unknown table raises", raised, True)

print("pysnow: OAuth password grant")
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback
oc = pysnow.OAuthClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, host=HOST, use_ssl=False)
token = oc.generate_token(USER, PASSWORD)
truthy("token issued", token.get("access_token"))
check("token lifetime", token.get("expires_in"), 1799)
oc.set_token(token)
me = oc.resource(api_path="/table/sys_user").get(query="sys_id=javascript:gs.getUserID()", fields=["user_name"]).one()
check("the token's user", me["user_name"], USER)

finish("pysnow")
