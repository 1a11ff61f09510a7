// Events no period can bill (after termination, before a pending start) are refused and recorded, not dropped.
import { markSubscriptionTerminated } from '../../db/repositories/subscriptions';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_inactive' });
});
afterAll(async () => {
  await h?.stop();
});

describe('events for inactive subscriptions', () => {
  test('after termination: 422 subscription_terminated, recorded in the event-error log, not stored', async () => {
    const sub = await seedSubscription(h, { suffix: 'term' });
    await markSubscriptionTerminated(h.database.db, h.org.id, sub.lagoSubscriptionId, new Date(Date.now() - 60_000).toISOString());
    h.runtime.cache.invalidateSubscription(h.org.id, sub.subscriptionId);
    const res = await h.request('POST', '/events', {
      event: { transaction_id: 'after-term', external_subscription_id: sub.subscriptionId, code: sub.metricCode, properties: { tokens: 5 } },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_errors', error_details: { external_subscription_id: ['subscription_terminated'] } });
    expect(await h.database.db('events').where({ organization_id: h.org.id, transaction_id: 'after-term' })).toHaveLength(0);
    const recorded = await h.request('GET', '/events/errors?error_code=subscription_terminated');
    expect(recorded.body.event_errors.map((e: { transaction_id: string }) => e.transaction_id)).toEqual(['after-term']);
  });

  test('an event dated before the termination of a terminated subscription is still accepted (late usage)', async () => {
    const sub = await seedSubscription(h, { suffix: 'late' });
    const ts = Math.floor(Date.now() / 1000);
    await markSubscriptionTerminated(h.database.db, h.org.id, sub.lagoSubscriptionId, new Date(Date.now() + 60_000).toISOString());
    h.runtime.cache.invalidateSubscription(h.org.id, sub.subscriptionId);
    const res = await h.request('POST', '/events', {
      event: { transaction_id: 'before-term', external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: ts, properties: { tokens: 5 } },
    });
    expect(res.status).toBe(200);
  });

  test('before the start of a pending subscription: 422 subscription_not_started, recorded', async () => {
    const start = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const sub = await seedSubscription(h, { suffix: 'pend', subscriptionAt: start });
    const res = await h.request('POST', '/events/batch', {
      events: [{ transaction_id: 'too-early', external_subscription_id: sub.subscriptionId, code: sub.metricCode, properties: { tokens: 5 } }],
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ '0': { external_subscription_id: ['subscription_not_started'] } });
    expect(await h.database.db('event_errors').where({ organization_id: h.org.id, transaction_id: 'too-early' }).pluck('error_code')).toEqual([
      'subscription_not_started',
    ]);
  });
});
