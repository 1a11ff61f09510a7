// The plan cache behind GET current_usage (api/services/current-usage.ts PlanCache on cache/ttl-cache.ts):
// a plan edited in the catalog is priced with its new charges as soon as the catalog-change hook invalidates it.
// Plans have no update route yet, so the edit is written to the charges row directly, as PUT /plans will.
import { computeCurrentUsage, PlanCache } from '../../api/services/current-usage';
import { createBillingSetup, ingestEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('plan_cache');
});
afterAll(async () => {
  await t.drop();
});

const NOW = '2026-11-20T12:00:00.000Z';

describe('PlanCache invalidation', () => {
  it('serves the cached plan until invalidated, then prices the edited charge at once', async () => {
    const s = await createBillingSetup(t.db, {
      subscriptionAt: '2026-11-01T00:00:00.000Z',
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.002' } }],
    });
    await ingestEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-10T00:00:00.000Z', properties: { tokens: 1000 } }]);
    const q = { externalCustomerId: s.customer.externalId, externalSubscriptionId: s.sub.externalId };
    const plans = new PlanCache(3_600_000); // an hour: nothing expires during the test, only invalidation refreshes
    const amount = async () => (await computeCurrentUsage(t.db, s.org.id, q, { now: NOW, plans })).customer_usage.amount_cents;

    expect(await amount()).toBe(200); // 1000 × 0.002
    await t.db('charges').where({ organization_id: s.org.id, plan_id: s.plan.id }).update({ properties: JSON.stringify({ amount: '0.005' }) });
    expect(await amount()).toBe(200); // cached: the edit is not seen yet (this is what invalidation must fix)

    plans.invalidate(s.org.id, s.plan.id);
    expect(await amount()).toBe(500); // 1000 × 0.005, at once

    await t.db('charges').where({ organization_id: s.org.id, plan_id: s.plan.id }).update({ properties: JSON.stringify({ amount: '0.001' }) });
    plans.invalidateOrganization(s.org.id); // what api/server.ts catalogChanged calls
    expect(await amount()).toBe(100);
  });
});
