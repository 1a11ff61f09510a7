// Shared API key lookups (api/fresh-read-batcher.ts, api/auth.ts; issue 7): concurrent requests share queries, yet
// every request is answered by a read that started after it arrived, so a key revoked before a request arrived is
// refused (never answered by a lookup already in flight, nor by a cache). First against a controllable fake read,
// then the authenticator against the real database.
import crypto from 'node:crypto';
import { ApiKeyAuthenticator } from '../../api/auth';
import { FreshReadBatcher } from '../../api/fresh-read-batcher';
import { createApiKey, ensureOrganization, hashApiKey } from '../../db/repositories/organizations';
import { createTestDatabase, type TestDatabase } from '../support/services';

/** A read whose calls the test finishes by hand, answering from `state` as it is when the read STARTED. */
function manualRead(state: Map<string, string>) {
  const calls: { keys: string[]; snapshot: Map<string, string>; finish(): void; fail(err: Error): void }[] = [];
  const read = (keys: string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => {
      const snapshot = new Map(keys.filter((k) => state.has(k)).map((k) => [k, state.get(k)!]));
      calls.push({ keys, snapshot, finish: () => resolve(snapshot), fail: reject });
    });
  return { calls, read };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FreshReadBatcher', () => {
  test('a caller arriving while a read is in flight gets the next read, which sees a change made before it arrived', async () => {
    const state = new Map([['key', 'org-1']]);
    const { calls, read } = manualRead(state);
    const b = new FreshReadBatcher({ read, maxInFlight: 1 });
    const first = b.get('key');
    expect(calls).toHaveLength(1); // idle: the read starts at once
    state.delete('key'); // "revoked" after the first read started, before the second caller arrives
    const second = b.get('key');
    calls[0]!.finish();
    expect(await first).toBe('org-1'); // its read started before the revocation
    await tick();
    expect(calls).toHaveLength(2);
    calls[1]!.finish();
    expect(await second).toBeUndefined(); // not the in-flight answer
  });

  test('callers waiting together are answered by one read of all their keys', async () => {
    const state = new Map([['a', 'A'], ['b', 'B']]);
    const { calls, read } = manualRead(state);
    const b = new FreshReadBatcher({ read, maxInFlight: 1 });
    const first = b.get('a');
    const waiting = [b.get('a'), b.get('b'), b.get('a'), b.get('missing'), b.get('b')];
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.keys.sort()).toEqual(['a', 'b', 'missing']);
    calls[1]!.finish();
    expect(await first).toBe('A');
    expect(await Promise.all(waiting)).toEqual(['A', 'B', 'A', undefined, 'B']);
    expect(b.reads).toBe(2);
  });

  test('up to maxInFlight reads run at once; a failed read rejects only its own callers', async () => {
    const state = new Map([['k', 'v']]);
    const { calls, read } = manualRead(state);
    const b = new FreshReadBatcher({ read, maxInFlight: 2 });
    const one = b.get('k');
    const two = b.get('k');
    const three = b.get('k');
    expect(calls).toHaveLength(2);
    calls[0]!.fail(new Error('connection reset'));
    await expect(one).rejects.toThrow('connection reset');
    await tick();
    expect(calls).toHaveLength(3); // the waiting caller got a slot
    calls[1]!.finish();
    calls[2]!.finish();
    expect(await two).toBe('v');
    expect(await three).toBe('v');
  });
});

describe('ApiKeyAuthenticator over Postgres', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('auth_batch');
  });
  afterAll(async () => {
    await database?.drop();
  });

  test('40 concurrent requests with one key share a few lookups, and a key revoked afterwards is refused at once', async () => {
    const org = await ensureOrganization(database.db, `auth-${crypto.randomBytes(3).toString('hex')}`, 'Auth');
    const key = await createApiKey(database.db, org.id);
    // The probe is a prepared statement sent through pg (db/repositories/api-key-lookup.ts), not a knex query:
    // count the pool connections it takes (one per read; nothing else queries meanwhile).
    const client = database.db.client as { acquireConnection: (...a: unknown[]) => Promise<unknown> };
    const acquire = client.acquireConnection;
    let reads = 0;
    client.acquireConnection = function (this: unknown, ...a: unknown[]) {
      reads += 1;
      return acquire.apply(this, a);
    };
    const keyQueries = () => reads;
    try {
      const auth = new ApiKeyAuthenticator(database.db);
      const orgs = await Promise.all(Array.from({ length: 40 }, () => auth.authenticate(key)));
      expect(orgs.every((o) => o?.id === org.id)).toBe(true);
      expect(keyQueries()).toBeGreaterThanOrEqual(1);
      expect(keyQueries()).toBeLessThanOrEqual(3); // two start at once, the other 38 share the next one

      await database.db('api_keys').where({ key_hash: hashApiKey(key) }).update({ revoked_at: database.db.fn.now() });
      expect(await auth.authenticate(key)).toBeNull();
    } finally {
      client.acquireConnection = acquire;
    }
  });
});
