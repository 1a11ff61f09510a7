// Numbers a tenant sees (customer sequential_id / slug, event lago_id) never count another tenant's rows.
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let otherKey: string;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_numbering' });
  const other = await ensureOrganization(h.database.db, `other-${Date.now()}`, 'Other');
  otherKey = await createApiKey(h.database.db, other.id);
});
afterAll(async () => {
  await h?.stop();
});

describe('per-organization numbering', () => {
  test('customers of two organizations are each numbered 1, 2, 3 (slug CUST-000001...), interleaved', async () => {
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < 3; i++) {
      mine.push((await h.request('POST', '/customers', { customer: { external_id: `mine-${i}` } })).body.customer.sequential_id);
      theirs.push(
        (await h.request('POST', '/customers', { customer: { external_id: `theirs-${i}` } }, { authorization: `Bearer ${otherKey}` })).body.customer
          .sequential_id,
      );
    }
    expect(mine).toEqual([1, 2, 3]);
    expect(theirs).toEqual([1, 2, 3]);
    expect((await h.request('GET', '/customers/mine-2')).body.customer.slug).toBe('CUST-000003');
  });

  test('updating a customer keeps its number and takes none', async () => {
    const again = await h.request('POST', '/customers', { customer: { external_id: 'mine-0', name: 'renamed' } });
    expect(again.body.customer.sequential_id).toBe(1);
    expect((await h.request('POST', '/customers', { customer: { external_id: 'mine-3' } })).body.customer.sequential_id).toBe(4);
  });

  test('an event lago_id is a uuid, not a count of every tenant\'s events', async () => {
    const sub = await seedSubscription(h, { suffix: 'num' });
    const res = await h.request('POST', '/events', {
      event: { transaction_id: 'num-1', external_subscription_id: sub.subscriptionId, code: sub.metricCode, properties: { tokens: 1 } },
    });
    expect(res.body.event.lago_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await h.request('GET', '/events/num-1')).body.event.lago_id).toBe(res.body.event.lago_id);
  });
});
