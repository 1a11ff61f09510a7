import { insertEvents } from '../../db/repositories/events';
import { createTestDatabase, type TestDatabase } from '../support/services';

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase('mig'); });
  afterAll(async () => { await t.drop(); });

  // Partitioned events (migrations 20261201001900, 20261201002000): the key is unique in event_transaction_ids, the
  // events repository's statement skips a second event with a known key (in another month too), and the key
  // table itself rejects a duplicate.
  it('never stores a second event with the same (organization_id, transaction_id)', async () => {
    const [org] = await t.db('organizations').insert({ name: 'o', slug: 'o' }).returning('id');
    const row = { organizationId: org.id, transactionId: 'tx-1', externalSubscriptionId: 's', subscriptionId: null as unknown as string, code: 'c', timestamp: new Date().toISOString(), properties: {}, preciseTotalAmount: null };
    expect(await insertEvents(t.db, [row])).toHaveLength(1);
    expect(await insertEvents(t.db, [{ ...row, timestamp: '2020-01-01T00:00:00Z' }])).toEqual([]);
    expect(await t.db('events').where({ organization_id: org.id, transaction_id: 'tx-1' }).count<{ count: number }[]>('* as count')).toEqual([{ count: 1 }]);
    await expect(t.db('event_transaction_ids').insert({ organization_id: org.id, transaction_id: 'tx-1' })).rejects.toThrow(/duplicate key/);
  });
});
