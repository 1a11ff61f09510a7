// The known-API-key cache (issue 7, ingest7c): two (three) API apps over ONE real Postgres database, each with its
// own LISTEN connection. A key is served from the cache (no lookup) while the process listens; a change committed
// anywhere (the API's revoke / rotate, PUT /organizations, hand-made SQL) is refused by every process once its
// notification arrives (awaited here, never slept for), by the changing process at once; a killed LISTEN
// connection (pg_terminate_backend) drops the cache and bypasses it until listening again.
import crypto from 'node:crypto';
import { runtimeOf, startApi, type RunningApi } from '../../api/server';
import type { ApiKeyChange } from '../../db/repositories/api-key-changes';
import { hashApiKey } from '../../db/repositories/organizations';
import { startApiHarness, type ApiHarness } from './harness';

const quiet = { info() {}, warn() {}, error() {} };
let h: ApiHarness; // process A
let b: RunningApi; // process B, same database
let downB: RunningApi; // process C: its LISTEN connection, once killed, stays down (reconnect in 10 min)

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'key_cache' });
  b = await startApi({ db: h.database.db, temporal: h.client, logger: quiet, subscriptionTaskQueue: h.taskQueue });
  downB = await startApi({
    db: h.database.db,
    temporal: h.client,
    logger: quiet,
    subscriptionTaskQueue: h.taskQueue,
    auth: { keyChangeFeed: { reconnectMinMs: 600_000, reconnectMaxMs: 600_000 } },
  });
  for (const api of [h.api, b, downB]) {
    await auth(api).changeFeed!.whenListening();
    const seen = new Set<string>();
    keyChangesSeen.set(api, seen);
    auth(api).observe((c) => {
      if (typeof c === 'object' && c.kind === 'key') seen.add(c.keyHash);
    });
  }
});
const keyChangesSeen = new Map<RunningApi, Set<string>>();
afterAll(async () => {
  await downB?.close();
  await b?.close();
  await h?.stop();
});

function auth(api: RunningApi) {
  return runtimeOf(api.app).auth;
}

/** Resolves when `api` has applied a change matching `pred` (set up BEFORE the change is committed). */
function applied(api: RunningApi, pred: (c: ApiKeyChange | 'listening' | 'lost') => boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = auth(api).observe((c) => {
      if (pred(c)) {
        off();
        resolve();
      }
    });
  });
}
const keyChange = (value: string) => (c: ApiKeyChange | 'listening' | 'lost') => typeof c === 'object' && c.kind === 'key' && c.keyHash === hashApiKey(value);

async function call(api: RunningApi, method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${api.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/**
 * A new key, once every listening process has applied its insert's notification (else that notification, arriving
 * during a test's first lookup, would keep the answer out of the cache and make the "no lookup" counts racy).
 */
async function newKey(name: string): Promise<{ value: string; lago_id: string }> {
  const created = await h.request('POST', '/api_keys', { api_key: { name } });
  expect(created.status).toBe(200);
  const hash = hashApiKey(created.body.api_key.value);
  await Promise.all(
    [h.api, b, downB]
      .filter((api) => auth(api).changeFeed!.listening && !keyChangesSeen.get(api)!.has(hash))
      .map((api) => applied(api, (c) => typeof c === 'object' && c.kind === 'key' && c.keyHash === hash)),
  );
  return created.body.api_key;
}

/** Status of a GET on `api`, and how many key lookups it sent to Postgres. */
async function probe(api: RunningApi, key: string): Promise<{ status: number; lookups: number }> {
  const before = auth(api).lookupReads;
  const { status } = await call(api, 'GET', '/billable_metrics', key);
  return { status, lookups: auth(api).lookupReads - before };
}

const event = (tx: string) => ({ event: { transaction_id: tx, external_subscription_id: 'cache-no-such-sub', code: 'cache_metric', properties: {} } });

describe('known API key cache across API processes', () => {
  test('a key is looked up once per process, then served from the cache with no lookup, ingest posts included', async () => {
    const { value } = await newKey('cached');
    for (const api of [h.api, b]) {
      expect(await probe(api, value)).toEqual({ status: 200, lookups: 1 });
      expect(await probe(api, value)).toEqual({ status: 200, lookups: 0 });
      const before = auth(api).lookupReads;
      // Authenticated (an unknown subscription is a 422, not a 401), without a lookup.
      expect((await call(api, 'POST', '/events', value, event(`cache-hit-${crypto.randomUUID()}`))).status).toBe(422);
      expect(auth(api).lookupReads - before).toBe(0);
    }
  });

  test('revoked through process A: A refuses at once, B as soon as its notification arrives, ingest and writes included', async () => {
    const { value, lago_id: id } = await newKey('revoke-across');
    for (const api of [h.api, b]) {
      await probe(api, value);
      expect(await probe(api, value)).toEqual({ status: 200, lookups: 0 }); // cached on both
    }
    const seenByB = applied(b, keyChange(value));
    expect((await call(h.api, 'DELETE', `/api_keys/${id}`, h.apiKey)).status).toBe(200);
    // A evicted after its own commit: no waiting.
    expect((await call(h.api, 'POST', '/events', value, event(`cache-rev-a-${crypto.randomUUID()}`))).status).toBe(401);
    await seenByB;
    expect(await call(b, 'GET', '/billable_metrics', value)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect((await call(b, 'POST', '/events', value, event(`cache-rev-b-${crypto.randomUUID()}`))).status).toBe(401);
    expect((await call(b, 'POST', '/customers', value, { customer: { external_id: 'cache-after-revoke' } })).status).toBe(401);
    expect(await h.database.db('customers').where({ external_id: 'cache-after-revoke' })).toHaveLength(0);
  });

  test('rotated through process B: the old key is refused by A once notified, the new one works on both', async () => {
    const old = await newKey('rotate-across');
    for (const api of [h.api, b]) await probe(api, old.value);
    expect((await probe(h.api, old.value)).lookups).toBe(0);
    const seenByA = applied(h.api, keyChange(old.value));
    const rotated = await call(b, 'POST', `/api_keys/${old.lago_id}/rotate`, h.apiKey, {});
    expect(rotated.status).toBe(200);
    expect((await call(b, 'GET', '/billable_metrics', old.value)).status).toBe(401);
    await seenByA;
    expect((await call(h.api, 'GET', '/billable_metrics', old.value)).status).toBe(401);
    for (const api of [h.api, b]) expect((await call(api, 'GET', '/billable_metrics', rotated.body.api_key.value)).status).toBe(200);
  });

  test('a key revoked by hand in SQL (not through the API) is announced by the trigger and refused by every process', async () => {
    const { value, lago_id: id } = await newKey('revoke-sql');
    for (const api of [h.api, b]) {
      await probe(api, value);
      expect((await probe(api, value)).lookups).toBe(0);
    }
    const seen = [applied(h.api, keyChange(value)), applied(b, keyChange(value))];
    await h.database.db('api_keys').where({ id }).update({ revoked_at: h.database.db.fn.now() });
    await Promise.all(seen);
    for (const api of [h.api, b]) expect((await call(api, 'GET', '/billable_metrics', value)).status).toBe(401);
  });

  test('an organization change (PUT /organizations) drops its cached keys: the new timezone is seen by A at once and by B once notified', async () => {
    const { value } = await newKey('org-change');
    for (const api of [h.api, b]) await probe(api, value);
    const orgChanged = (c: ApiKeyChange | 'listening' | 'lost') => typeof c === 'object' && c.kind === 'organization' && c.organizationId === h.org.id;
    const seenByB = applied(b, orgChanged);
    expect((await call(h.api, 'PUT', '/organizations', value, { organization: { timezone: 'Asia/Tokyo' } })).status).toBe(200);
    const a = await probe(h.api, value);
    expect(a).toEqual({ status: 200, lookups: 1 }); // the stale organization is gone from A without waiting
    await seenByB;
    expect(await probe(b, value)).toEqual({ status: 200, lookups: 1 });
    const { organization } = (await call(b, 'GET', '/organizations', value)).body;
    expect(organization.timezone).toBe('Asia/Tokyo');
  });

  test('a killed LISTEN connection (pg_terminate_backend) drops the cache and bypasses it: a revocation nobody announces is still refused at once', async () => {
    const { value, lago_id: id } = await newKey('listener-killed');
    await probe(downB, value);
    expect(await probe(downB, value)).toEqual({ status: 200, lookups: 0 }); // cached
    const pid = auth(downB).changeFeed!.listenerPid;
    expect(pid).toEqual(expect.any(Number));
    const lost = applied(downB, (c) => c === 'lost');
    await h.database.db.raw('SELECT pg_terminate_backend(?)', [pid]);
    await lost;
    expect(auth(downB).changeFeed!.listening).toBe(false);
    // Bypassed: every request looks its key up.
    expect(await probe(downB, value)).toEqual({ status: 200, lookups: 1 });
    expect(await probe(downB, value)).toEqual({ status: 200, lookups: 1 });
    // Revoked while downB cannot hear about it: refused on its very next request.
    await h.database.db('api_keys').where({ id }).update({ revoked_at: h.database.db.fn.now() });
    expect(await probe(downB, value)).toEqual({ status: 401, lookups: 1 });
  });

  test('after a lost LISTEN connection the process listens again, with an emptied cache, and notifications evict again', async () => {
    const { value, lago_id: id } = await newKey('listener-back');
    await probe(b, value);
    expect((await probe(b, value)).lookups).toBe(0);
    const lost = applied(b, (c) => c === 'lost');
    const back = applied(b, (c) => c === 'listening');
    await h.database.db.raw('SELECT pg_terminate_backend(?)', [auth(b).changeFeed!.listenerPid]);
    await lost;
    await back; // reconnected (backoff 100 ms)
    expect(await probe(b, value)).toEqual({ status: 200, lookups: 1 }); // the cache was emptied
    expect(await probe(b, value)).toEqual({ status: 200, lookups: 0 }); // and is used again
    const seen = applied(b, keyChange(value));
    expect((await call(h.api, 'DELETE', `/api_keys/${id}`, h.apiKey)).status).toBe(200);
    await seen;
    expect((await probe(b, value)).status).toBe(401);
  });
});
