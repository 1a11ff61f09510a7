// The per-request API key probe on its prepared-statement path (db/repositories/api-key-lookup.ts, issue 7) answers
// exactly what the knex-built findOrganizationsByKeyHashes answers: live keys of several organizations in one
// read, revoked and unknown keys absent.
import { createApiKey, createApiKeyRecord, ensureOrganization, findOrganizationsByKeyHashes, hashApiKey, revokeApiKey } from '../../db/repositories/organizations';
import { lookupOrganizationsByKeyHashes } from '../../db/repositories/api-key-lookup';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('api_key_lookup');
});
afterAll(async () => {
  await t.drop();
});

describe('lookupOrganizationsByKeyHashes', () => {
  test('one read maps the live keys of two organizations to them; revoked and unknown keys are absent; same answer as the knex query', async () => {
    const a = await ensureOrganization(t.db, 'lookup-a', 'Lookup A');
    const b = await ensureOrganization(t.db, 'lookup-b', 'Lookup B');
    await t.db('organizations').where({ id: b.id }).update({ invoice_grace_period: 3, default_timezone: 'Europe/Paris' });
    const keyA = await createApiKey(t.db, a.id);
    const keyB = await createApiKey(t.db, b.id);
    const toRevoke = await createApiKeyRecord(t.db, a.id, 'revoked');
    expect(await revokeApiKey(t.db, a.id, toRevoke.id)).toHaveProperty('key');
    const hashes = [keyA, keyB, toRevoke.value, 'ml_no_such_key'].map(hashApiKey);

    const found = await lookupOrganizationsByKeyHashes(t.db, hashes);
    expect([...found.keys()].sort()).toEqual([hashApiKey(keyA), hashApiKey(keyB)].sort());
    expect(found.get(hashApiKey(keyA))).toEqual({ id: a.id, slug: 'lookup-a', name: 'Lookup A', invoiceGracePeriod: 0, defaultTimezone: 'UTC' });
    expect(found.get(hashApiKey(keyB))).toEqual({ id: b.id, slug: 'lookup-b', name: 'Lookup B', invoiceGracePeriod: 3, defaultTimezone: 'Europe/Paris' });
    expect(found).toEqual(await findOrganizationsByKeyHashes(t.db, hashes));
    expect(await lookupOrganizationsByKeyHashes(t.db, [])).toEqual(new Map());
  });
});
