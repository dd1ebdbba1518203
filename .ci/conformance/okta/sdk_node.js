// Okta's official Node SDK (@okta/okta-sdk-nodejs) against `grantdesk emulator`.
//
// Scenarios of issue 3: list users with limit=1 across several pages, search users, list groups
// and members, add and remove a membership, assign an app, read the System Log, a 404 with
// E0000007, and surviving one 429. Results are compared with the emulator's own data read with
// plain fetch, not through the SDK. Exits non-zero on the first mismatch.
'use strict';

const okta = require('@okta/okta-sdk-nodejs');

const URL = process.env.GRANTDESK_OKTA_URL;
const TOKEN = process.env.GRANTDESK_OKTA_TOKEN;

function check(cond, what) {
  if (!cond) {
    console.log('FAIL:', what);
    process.exit(1);
  }
  console.log('ok:', what);
}

async function raw(path, method = 'GET') {
  const r = await fetch(URL + path, { method, headers: { Authorization: 'SSWS ' + TOKEN, Accept: 'application/json' } });
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

async function rawAll(path) {
  let out = [];
  let url = URL + path;
  while (url) {
    const r = await fetch(url, { headers: { Authorization: 'SSWS ' + TOKEN, Accept: 'application/json' } });
    out = out.concat(await r.json());
    const link = r.headers.get('link') || '';
    const next = link.split(',').find((l) => l.includes('rel="next"'));
    url = next ? next.split('>')[0].trim().replace(/^</, '') : null;
  }
  return out;
}

async function collect(collection, max = Infinity) {
  const out = [];
  for await (const x of collection) {
    out.push(x);
    if (out.length >= max) break;
  }
  return out;
}

async function main() {
  const client = new okta.Client({ orgUrl: URL, token: TOKEN, cacheMiddleware: null, maxRetries: 2 });

  // List users one per page: the collection follows the absolute next links by itself.
  let requests = 0;
  const before = (await raw('/__emulator/okta/stats')).requests;
  const five = await collect(await client.userApi.listUsers({ limit: 1 }), 5);
  requests = (await raw('/__emulator/okta/stats')).requests - before;
  const expected = (await raw('/api/v1/users?limit=5')).map((u) => u.profile.login);
  check(JSON.stringify(five.map((u) => u.profile.login)) === JSON.stringify(expected), 'five users across pages of one: ' + five.map((u) => u.profile.login));
  check(requests >= 5, 'one request per page (' + requests + ')');

  // Search.
  const finance = await collect(await client.userApi.listUsers({ search: 'profile.department eq "Finance"', limit: 7 }));
  const financeRaw = await rawAll('/api/v1/users?search=' + encodeURIComponent('profile.department eq "Finance"'));
  check(finance.length > 0 && JSON.stringify(finance.map((u) => u.id)) === JSON.stringify(financeRaw.map((u) => u.id)), 'search users: ' + finance.length + ' in Finance');

  // Groups and members.
  const aws = await collect(await client.groupApi.listGroups({ q: 'aws-prod' }));
  check(JSON.stringify(aws.map((g) => g.profile.name).sort()) === '["aws-prod-admin","aws-prod-readonly"]', 'listGroups(q=aws-prod)');
  const admin = aws.find((g) => g.profile.name === 'aws-prod-admin');
  const members = await collect(await client.groupApi.listGroupUsers({ groupId: admin.id, limit: 2 }));
  const membersRaw = await rawAll('/api/v1/groups/' + admin.id + '/users');
  check(JSON.stringify(members.map((u) => u.id)) === JSON.stringify(membersRaw.map((u) => u.id)), 'listGroupUsers matches (' + members.length + ')');

  // Add and remove a membership.
  const riley = await raw('/api/v1/users/riley.requester@example.com');
  await client.groupApi.assignUserToGroup({ groupId: admin.id, userId: riley.id });
  check((await rawAll('/api/v1/groups/' + admin.id + '/users')).some((u) => u.id === riley.id), 'assignUserToGroup: riley is a member');
  await client.groupApi.unassignUserFromGroup({ groupId: admin.id, userId: riley.id });
  check(!(await rawAll('/api/v1/groups/' + admin.id + '/users')).some((u) => u.id === riley.id), 'unassignUserFromGroup: riley is not');

  // Assign an app.
  const sf = (await raw('/api/v1/apps?q=Salesforce'))[0];
  const appUser = await client.applicationApi.assignUserToApplication({ appId: sf.id, appUser: { id: riley.id, scope: 'USER' } });
  check(appUser.id === riley.id && appUser.scope === 'USER', 'assignUserToApplication');
  check((await raw('/api/v1/apps/' + sf.id + '/users/' + riley.id)).scope === 'USER', 'the emulator shows the assignment');

  // System Log.
  const events = await collect(await client.systemLogApi.listLogEvents({ filter: 'target.id eq "' + riley.id + '"', sortOrder: 'DESCENDING', limit: 3 }), 3);
  check(JSON.stringify(events.map((e) => e.eventType)) === JSON.stringify(['application.user_membership.add', 'group.user_membership.remove', 'group.user_membership.add']), 'listLogEvents: ' + events.map((e) => e.eventType));

  // 404.
  try {
    await client.userApi.getUser({ userId: 'nobody@example.com' });
    check(false, 'getUser of nobody should fail');
  } catch (e) {
    check(e.status === 404 && e.errorCode === 'E0000007', 'getUser 404 → E0000007 (' + e.status + ' ' + e.errorCode + ' ' + e.message + ')');
  }

  // One 429, waited out.
  const limitedBefore = (await raw('/__emulator/okta/stats')).rateLimited;
  await raw('/__emulator/okta/inject-429?count=1', 'POST');
  const zoom = await collect(await client.groupApi.listGroups({ q: 'zoom' }));
  const limitedAfter = (await raw('/__emulator/okta/stats')).rateLimited;
  check(zoom.length === 1 && zoom[0].profile.name === 'zoom-users' && limitedAfter === limitedBefore + 1, 'survived one 429');
}

main().then(
  () => console.log('node SDK conformance: all scenarios passed'),
  (e) => {
    console.log('FAIL:', e && e.stack ? e.stack : e);
    process.exit(1);
  },
);
