import { createTestDatabase, type TestDatabase } from '../support/services';

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase('mig'); });
  afterAll(async () => { await t.drop(); });

  // Partitioned events (migration 20261201001900): the key is unique in event_transaction_ids and a second insert is
  // skipped (the events_dedup trigger), as ON CONFLICT DO NOTHING did; the key table itself rejects a duplicate.
  it('never stores a second event with the same (organization_id, transaction_id)', async () => {
    const [org] = await t.db('organizations').insert({ name: 'o', slug: 'o' }).returning('id');
    const row = { organization_id: org.id, transaction_id: 'tx-1', external_subscription_id: 's', code: 'c', timestamp: new Date() };
    await t.db('events').insert(row);
    await t.db('events').insert({ ...row, timestamp: new Date('2020-01-01Z') });
    expect(await t.db('events').where({ organization_id: org.id, transaction_id: 'tx-1' }).count<{ count: number }[]>('* as count')).toEqual([{ count: 1 }]);
    await expect(t.db('event_transaction_ids').insert({ organization_id: org.id, transaction_id: 'tx-1' })).rejects.toThrow(/duplicate key/);
  });
});
