import { createActivities } from '../../activities';
import { getInvoice } from '../../db/repositories/invoices';
import { loadPlan } from '../../db/repositories/plans';
import { aggregateSimpleUsage, loadPeriodEvents, periodUsageTotals, streamPeriodEvents } from '../../db/repositories/usage';
import { createBillingSetup, insertEvents, insertGeneratedEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_usage');
});
afterAll(async () => {
  await t.drop();
});

function setup() {
  return createBillingSetup(t.db, {
    planAmountCents: 1000,
    metrics: [
      { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' },
      { code: 'calls', aggregationType: 'count_agg' },
      { code: 'peak', aggregationType: 'max_agg', fieldName: 'gb' },
    ],
    charges: ([tokens, calls, peak]) => [
      { metricId: tokens!.id, properties: { amount: '0.000002' } },
      { metricId: calls!.id, properties: { amount: '0.001' } },
      { metricId: peak!.id, properties: { amount: '1' } },
    ],
  });
}

describe('loadPlan', () => {
  it('builds the billing Plan from plans, charges (by position) and billable_metrics rows', async () => {
    const s = await setup();
    const plan = await loadPlan(t.db, s.org.id, s.plan.id);
    expect(plan).toMatchObject({ code: s.plan.code, interval: 'monthly', amountCents: 1000, amountCurrency: 'USD', payInAdvance: false });
    expect(plan.charges.map((c) => c.id)).toEqual(s.plan.chargeIds);
    expect(plan.charges.map((c) => c.billableMetric.code)).toEqual(['tokens', 'calls', 'peak']);
    expect(plan.charges[0]!.billableMetric).toMatchObject({ aggregationType: 'sum_agg', fieldName: 'tokens' });
    expect(plan.charges[0]!.properties).toEqual({ amount: '0.000002' });
  });
});

describe('usage repository', () => {
  it('streams the period events in timestamp order across chunk boundaries, without repeating or skipping equal timestamps', async () => {
    const s = await setup();
    const same = '2026-11-10T00:00:00.123456Z';
    await insertEvents(t.db, s.ref, [
      { code: 'calls', timestamp: '2026-11-02T00:00:00Z', transactionId: 'a' },
      { code: 'calls', timestamp: same, transactionId: 'b' },
      { code: 'calls', timestamp: same, transactionId: 'c' },
      { code: 'calls', timestamp: same, transactionId: 'd' },
      { code: 'tokens', timestamp: '2026-11-11T00:00:00Z', properties: { tokens: 5 }, transactionId: 'e' },
      { code: 'calls', timestamp: '2026-12-01T00:00:00Z', transactionId: 'outside' },
    ]);
    // Microseconds survive (the Date-based fixture truncates to ms; set one row's microseconds directly).
    await t.db.raw(`UPDATE events SET "timestamp" = ?::timestamptz WHERE transaction_id IN ('b','c','d') AND subscription_id = ?`, [same, s.sub.id]);
    const seen: string[] = [];
    for await (const chunk of streamPeriodEvents(t.db, s.org.id, s.sub.id, ['calls', 'tokens'], NOV, 2)) {
      expect(chunk.events.length).toBeLessThanOrEqual(2);
      seen.push(...chunk.events.map((e) => e.event.transactionId));
    }
    expect(seen.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const byCode = await loadPeriodEvents(t.db, s.org.id, s.sub.id, ['calls', 'tokens', 'peak'], NOV);
    expect(byCode.calls!.map((e) => e.transactionId)[0]).toBe('a');
    expect(byCode.calls).toHaveLength(4);
    expect(byCode.tokens![0]).toMatchObject({ transactionId: 'e', properties: { tokens: 5 }, timestamp: '2026-11-11T00:00:00.000Z' });
    expect(byCode.peak).toEqual([]);
  });

  it('periodUsageTotals gives events and Σ field per metric code ("0" for count metrics), for the period only', async () => {
    const s = await setup();
    await insertEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-02T00:00:00Z', properties: { tokens: '1.5' } },
      { code: 'tokens', timestamp: '2026-11-03T00:00:00Z', properties: { tokens: 2 } },
      { code: 'tokens', timestamp: '2026-10-03T00:00:00Z', properties: { tokens: 1000 } },
      { code: 'calls', timestamp: '2026-11-03T00:00:00Z' },
      { code: 'peak', timestamp: '2026-11-04T00:00:00Z', properties: { gb: 7 } },
      { code: 'peak', timestamp: '2026-11-05T00:00:00Z', properties: { gb: 3 } },
    ]);
    expect(await periodUsageTotals(t.db, s.org.id, s.sub.id, NOV)).toEqual({
      tokens: { eventsCount: 2, units: '3.5' },
      calls: { eventsCount: 1, units: '0' },
      peak: { eventsCount: 2, units: '10' },
    });
    const plan = await loadPlan(t.db, s.org.id, s.plan.id);
    expect(await aggregateSimpleUsage(t.db, s.org.id, s.sub.id, plan.charges[2]!.billableMetric, NOV)).toEqual({ eventsCount: 2, units: '7' });
  });
});

describe('a period with 1,000,000 events', () => {
  it('is aggregated in SQL: 1,000,000 events × 123 tokens at 0.000002 = 246.00 USD, plus count and max charges', async () => {
    const s = await setup();
    await insertGeneratedEvents(t.db, s.ref, { code: 'tokens', count: 1_000_000, from: NOV.start, to: NOV.end, field: 'tokens', value: '123' });
    await insertGeneratedEvents(t.db, s.ref, { code: 'calls', count: 10_000, from: NOV.start, to: NOV.end });
    await insertGeneratedEvents(t.db, s.ref, { code: 'peak', count: 10, from: NOV.start, to: NOV.end, field: 'gb', value: '42.5' });
    const heapBefore = process.memoryUsage().heapUsed;
    const res = await createActivities({ db: t.db }).createPeriodInvoice({
      organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV,
    });
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    // 1000 fee + 24600 tokens + 1000 (10,000 calls × 0.001) + 4250 (max 42.5 GB × 1)
    expect(res.totalAmountCents).toBe(1000 + 24600 + 1000 + 4250);
    const inv = await getInvoice(t.db, s.org.id, res.invoiceId);
    expect(inv!.fees.find((f) => f.metricCode === 'tokens')).toMatchObject({ units: '123000000', eventsCount: 1_000_000 });
    // One million UsageEvent objects would be hundreds of MB; the SQL path keeps the heap flat.
    expect(heapGrowth).toBeLessThan(50 * 1024 * 1024);
  }, 300_000);
});
