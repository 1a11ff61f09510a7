// Impossible dates are refused (never rolled over), and subscription_at has documented bounds.
import { parseIsoInstant } from '../../api/schemas/common';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let sub: Awaited<ReturnType<typeof seedSubscription>>;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_dates' });
  sub = await seedSubscription(h, { suffix: 'dates' });
});
afterAll(async () => {
  await h?.stop();
});

describe('parseIsoInstant rejects impossible calendar fields', () => {
  test.each([
    '2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '2026-01-01T00:00:00+24:00',
  ])('%s is not an instant', (value) => {
    expect(parseIsoInstant(value)).toBeNull();
  });
  test.each([
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29T12:00:00+02:00', '2000-02-29T10:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', '2026-12-31T23:59:59.999Z'],
  ])('%s is %s', (value, expected) => {
    expect(parseIsoInstant(value)).toBe(expected);
  });
});

async function createSubscription(externalId: string, subscriptionAt: string) {
  return h.request('POST', '/subscriptions', {
    subscription: { external_customer_id: sub.customerId, plan_code: sub.planCode, external_id: externalId, subscription_at: subscriptionAt },
  });
}

describe('subscription_at', () => {
  test('2026-02-30 is a 422 invalid_format on subscription_at, nothing is stored', async () => {
    const res = await createSubscription('sub-feb30', '2026-02-30T00:00:00Z');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_errors', error_details: { subscription_at: ['invalid_format'] } });
    expect(await h.database.db('subscriptions').where({ external_id: 'sub-feb30' })).toHaveLength(0);
  });

  test('9999-12-31 is refused as too_far_in_future (more than 5 years ahead)', async () => {
    const res = await createSubscription('sub-9999', '9999-12-31T00:00:00Z');
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ subscription_at: ['too_far_in_future'] });
  });

  test('0001-01-01 is refused as too_old (more than 10 years back)', async () => {
    const res = await createSubscription('sub-0001', '0001-01-01T00:00:00Z');
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ subscription_at: ['too_old'] });
  });

  test('inside the bounds (9 years back, 4 years ahead) is accepted', async () => {
    const back = new Date();
    back.setUTCFullYear(back.getUTCFullYear() - 9);
    const ahead = new Date();
    ahead.setUTCFullYear(ahead.getUTCFullYear() + 4);
    expect((await createSubscription('sub-9y-back', back.toISOString())).status).toBe(200);
    const pending = await createSubscription('sub-4y-ahead', ahead.toISOString());
    expect(pending.status).toBe(200);
    expect(pending.body.subscription.status).toBe('pending');
  });
});

describe('event timestamps', () => {
  test('2026-02-30 as an event timestamp is a 422 invalid_format (recorded), not a March 2 event', async () => {
    const res = await h.request('POST', '/events', {
      event: { transaction_id: 'ev-feb30', external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: '2026-02-30T00:00:00Z' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ timestamp: ['invalid_format'] });
  });
});
