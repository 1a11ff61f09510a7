import { createTestDatabase, type TestDatabase } from '../support/services';

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase('mig'); });
  afterAll(async () => { await t.drop(); });

  it('rejects a second event with the same (organization_id, transaction_id)', async () => {
    const [org] = await t.db('organizations').insert({ name: 'o', slug: 'o' }).returning('id');
    const row = { organization_id: org.id, transaction_id: 'tx-1', external_subscription_id: 's', code: 'c', timestamp: new Date() };
    await t.db('events').insert(row);
    await expect(t.db('events').insert(row)).rejects.toThrow(/duplicate key/);
  });
});
