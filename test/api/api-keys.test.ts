// API key management: create, list, revoke, rotate; a revoked key is refused by the revoking API process at once
// and by every other one as soon as its change notification arrives (awaited, not slept for: test/api/api-key-cache.test.ts).
import { runtimeOf, startApi, type RunningApi } from '../../api/server';
import { hashApiKey } from '../../db/repositories/organizations';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let second: RunningApi; // another API process over the same database

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_keys' });
  second = await startApi({ db: h.database.db, temporal: h.client, logger: { info() {}, warn() {}, error() {} }, subscriptionTaskQueue: h.taskQueue });
  await runtimeOf(second.app).auth.changeFeed!.whenListening();
});

/** Resolves when `api` has applied the change notification of this key (set up before the change commits). */
function keyChangeApplied(api: RunningApi, value: string): Promise<void> {
  const hash = hashApiKey(value);
  return new Promise((resolve) => {
    const off = runtimeOf(api.app).auth.observe((c) => {
      if (typeof c === 'object' && c.kind === 'key' && c.keyHash === hash) {
        off();
        resolve();
      }
    });
  });
}
afterAll(async () => {
  await second?.close();
  await h?.stop();
});

async function call(base: string, method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('API keys', () => {
  test('a created key is shown once, stored as a sha256, listed without its value, and works', async () => {
    const created = await h.request('POST', '/api_keys', { api_key: { name: 'ci' } });
    expect(created.status).toBe(200);
    const value: string = created.body.api_key.value;
    expect(created.body.api_key).toMatchObject({ name: 'ci', last_four: value.slice(-4), revoked_at: null });
    const stored = await h.database.db('api_keys').where({ id: created.body.api_key.lago_id }).first();
    expect(stored.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(value);
    const list = await h.request('GET', '/api_keys');
    expect(list.body.api_keys.map((k: { name: string }) => k.name)).toEqual(['default', 'ci']);
    expect(JSON.stringify(list.body)).not.toContain(value);
    expect((await call(h.api.url, 'GET', '/billable_metrics', value)).status).toBe(200);
  });

  test('a revoked key is refused by every API process, writes included: the revoking one at once, another once notified', async () => {
    const { value, lago_id: id } = (await h.request('POST', '/api_keys', { api_key: { name: 'to-revoke' } })).body.api_key;
    // Both processes have just accepted it (a positive cache would now hold it).
    expect((await call(h.api.url, 'GET', '/billable_metrics', value)).status).toBe(200);
    expect((await call(second.url, 'GET', '/billable_metrics', value)).status).toBe(200);

    const notified = keyChangeApplied(second, value);
    const revoked = await call(h.api.url, 'DELETE', `/api_keys/${id}`, h.apiKey);
    expect(revoked.status).toBe(200);
    expect(revoked.body.api_key.revoked_at).toEqual(expect.any(String));
    expect((await call(h.api.url, 'GET', '/billable_metrics', value)).status).toBe(401);
    await notified;

    for (const base of [h.api.url, second.url]) {
      expect(await call(base, 'GET', '/billable_metrics', value)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
      const write = await call(base, 'POST', '/customers', value, { customer: { external_id: `after-revoke-${base.slice(-5)}` } });
      expect(write.status).toBe(401);
    }
    expect(await h.database.db('customers').where('external_id', 'like', 'after-revoke-%')).toHaveLength(0);
  });

  test('the ingest posts, whose key lookup starts on arrival, refuse a key revoked just before: nothing written, on every process', async () => {
    const { value, lago_id: id } = (await h.request('POST', '/api_keys', { api_key: { name: 'ingest-revoke' } })).body.api_key;
    const event = (tx: string) => ({ transaction_id: tx, external_subscription_id: 'keys-no-such-sub', code: 'keys_metric', properties: {} });
    // Accepted by both processes just before (the lookup runs; the unknown subscription is a 422, not a 401).
    for (const base of [h.api.url, second.url]) expect((await call(base, 'POST', '/events', value, { event: event(`keys-before-${base.slice(-5)}`) })).status).toBe(422);
    const notified = keyChangeApplied(second, value);
    expect((await call(h.api.url, 'DELETE', `/api_keys/${id}`, h.apiKey)).status).toBe(200);
    await notified;
    for (const base of [h.api.url, second.url]) {
      expect(await call(base, 'POST', '/events', value, { event: event(`keys-after-${base.slice(-5)}`) })).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
      expect((await call(base, 'POST', '/events/batch', value, { events: [event(`keys-after-batch-${base.slice(-5)}`)] })).status).toBe(401);
    }
    // Refused before validation: nothing recorded against these transaction ids (the accepted key's 422s were).
    expect((await h.database.db('event_errors').where('transaction_id', 'like', 'keys-before-%')).length).toBeGreaterThan(0);
    expect(await h.database.db('event_errors').where('transaction_id', 'like', 'keys-after-%')).toHaveLength(0);
    // A body refused before the auth step (malformed JSON) leaves its started lookup unobserved: a 400, no crash.
    const bad = await fetch(`${h.api.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' }, body: '{"event":' });
    expect(bad.status).toBe(400);
    expect((await call(h.api.url, 'GET', '/billable_metrics', h.apiKey)).status).toBe(200);
  });

  test('rotate gives a new working key with the same name and revokes the old one', async () => {
    const old = (await h.request('POST', '/api_keys', { api_key: { name: 'rotating' } })).body.api_key;
    expect((await call(second.url, 'GET', '/plans/x', old.value)).status).toBe(404); // authenticated
    const notified = keyChangeApplied(second, old.value);
    const rotated = await h.request('POST', `/api_keys/${old.lago_id}/rotate`, {});
    expect(rotated.status).toBe(200);
    await notified;
    expect(rotated.body.api_key).toMatchObject({ name: 'rotating', revoked_at: null });
    expect(rotated.body.revoked_api_key).toMatchObject({ lago_id: old.lago_id, revoked_at: expect.any(String) });
    expect((await call(second.url, 'GET', '/plans/x', old.value)).status).toBe(401);
    expect((await call(second.url, 'GET', '/plans/x', rotated.body.api_key.value)).status).toBe(404);
  });

  test('revoking the last active key is refused; another organization\'s key is not found', async () => {
    const keys = (await h.request('GET', '/api_keys')).body.api_keys as { lago_id: string; revoked_at: string | null; name: string }[];
    for (const k of keys.filter((k) => k.revoked_at === null && k.name !== 'default')) {
      expect((await h.request('DELETE', `/api_keys/${k.lago_id}`)).status).toBe(200);
    }
    const last = keys.find((k) => k.name === 'default')!;
    const res = await h.request('DELETE', `/api_keys/${last.lago_id}`);
    expect(res).toMatchObject({ status: 422, body: { error_details: { base: ['last_active_api_key'] } } });
    expect((await h.request('DELETE', '/api_keys/00000000-0000-4000-8000-000000000000')).body.code).toBe('api_key_not_found');
  });
});
