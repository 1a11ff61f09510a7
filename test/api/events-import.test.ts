// POST /events/import stores usage already billed by a previous system in imported_usage (never in events):
// the period invoice does not bill it, current usage does not count it, and GET past_usage shows it per
// billing period next to Meterline's own usage, flagged already_billed.
import { createActivities } from '../../activities';
import { getInvoice } from '../../db/repositories/invoices';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let sub: Awaited<ReturnType<typeof seedSubscription>>;

/** Start of the UTC calendar month `k` months before the current one. */
function monthStart(k: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 1)).toISOString();
}
const plusDays = (isoInstant: string, days: number) => new Date(Date.parse(isoInstant) + days * 86_400_000).toISOString();

// Monthly calendar subscription that started 5 months ago: periods P5 (the first) … P1 (last closed), P0 (open).
const P = (k: number) => ({ start: monthStart(k), end: monthStart(k - 1) });

function imp(tx: string, timestamp: string | undefined, tokens: number | string, extra: Record<string, unknown> = {}) {
  return { transaction_id: tx, external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp, properties: { tokens }, ...extra };
}

beforeAll(async () => {
  // The production age limit, so that /events rejects what the import accepts.
  h = await startApiHarness({ prefix: 'api_events_import', ingest: { timeWindow: { maxAgeDays: 90 } } });
  sub = await seedSubscription(h, { suffix: 'imp', aggregation: 'sum_agg', fieldName: 'tokens', subscriptionAt: P(5).start });

  // Imported: three events in the first period (3500 tokens), one in the last closed period, one in the open one.
  const res = await h.request('POST', '/events/import', {
    source: 'legacy-billing',
    import_batch: 'export-2026.csv',
    events: [
      imp('p5-a', plusDays(P(5).start, 1), 1000),
      imp('p5-b', plusDays(P(5).start, 10), '2000'),
      imp('p5-c', plusDays(P(5).start, 20), 500),
      imp('p1-a', plusDays(P(1).start, 2), 300),
      imp('p0-a', new Date(Math.max(Date.parse(P(0).start), Date.now() - 60_000)).toISOString(), 9999),
    ],
  });
  if (res.status !== 200) throw new Error(`import: ${JSON.stringify(res.body)}`);
  // Live (Meterline-metered) usage: 100 tokens in the last closed period, 40 in the open one.
  const live = await h.request('POST', '/events/batch', {
    events: [
      { transaction_id: 'live-p1', external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: plusDays(P(1).start, 1), properties: { tokens: 100 } },
      { transaction_id: 'live-p0', external_subscription_id: sub.subscriptionId, code: sub.metricCode, properties: { tokens: 40 } },
    ],
  });
  if (live.status !== 200) throw new Error(`live: ${JSON.stringify(live.body)}`);
  await h.runtime.drain();
});
afterAll(async () => {
  await h?.stop();
});

describe('POST /events/import', () => {
  test('stores imported usage in imported_usage only, never in events, and answers each row flagged already_billed', async () => {
    const rows = await h.database.db('imported_usage').where({ organization_id: h.org.id }).whereIn('transaction_id', ['p5-a', 'p5-b', 'p5-c', 'p1-a', 'p0-a']);
    expect(rows).toHaveLength(5);
    expect(rows.find((r) => r.transaction_id === 'p5-b')).toMatchObject({ source: 'legacy-billing', import_batch: 'export-2026.csv', value: '2000', code: sub.metricCode });
    expect(await h.database.db('events').whereIn('transaction_id', ['p5-a', 'p5-b', 'p5-c', 'p1-a', 'p0-a'])).toHaveLength(0);
    expect(await h.database.db('usage_rollups').where({ organization_id: h.org.id, bucket_start: new Date(Date.parse(plusDays(P(5).start, 1))) })).toHaveLength(0);

    const res = await h.request('POST', '/events/import', { source: 'legacy-billing', events: [imp('shape-1', plusDays(P(4).start, 3), '12.50')] });
    expect(res.status).toBe(200);
    expect(res.body.imported_usage[0]).toMatchObject({
      transaction_id: 'shape-1',
      external_subscription_id: sub.subscriptionId,
      lago_subscription_id: sub.lagoSubscriptionId,
      code: sub.metricCode,
      timestamp: plusDays(P(4).start, 3),
      value: '12.5',
      source: 'legacy-billing',
      import_batch: null,
      already_billed: true,
      duplicate: false,
      duplicate_of: null,
    });
    expect(res.body.import).toEqual({ source: 'legacy-billing', import_batch: null, received_count: 1, imported_count: 1, duplicates_count: 0 });
  });

  test('accepts usage older than the live 90-day window, which /events itself rejects as too_old', async () => {
    const old = plusDays(P(5).start, 3);
    expect(Date.now() - Date.parse(old)).toBeGreaterThan(90 * 86_400_000);
    const live = await h.request('POST', '/events', { event: imp('old-live', old, 1) });
    expect(live.status).toBe(422);
    expect(live.body.error_details).toEqual({ timestamp: ['too_old'] });
    const imported = await h.request('POST', '/events/import', { source: 'legacy-billing', events: [imp('old-import', old, 1)] });
    expect(imported.status).toBe(200);
  });

  test('duplicates — re-imported, repeated in the request, or already a live event — are reported and stored once', async () => {
    const res = await h.request('POST', '/events/import', {
      source: 'legacy-billing',
      events: [imp('p5-a', plusDays(P(5).start, 1), 1000), imp('p3-new', plusDays(P(3).start, 1), 7), imp('p3-new', plusDays(P(3).start, 1), 7), imp('live-p1', plusDays(P(1).start, 1), 100)],
    });
    expect(res.status).toBe(200);
    expect(res.body.imported_usage.map((r: any) => [r.transaction_id, r.duplicate, r.duplicate_of])).toEqual([
      ['p5-a', true, 'imported_usage'],
      ['p3-new', false, null],
      ['p3-new', true, 'imported_usage'],
      ['live-p1', true, 'event'],
    ]);
    expect(res.body.import).toMatchObject({ received_count: 4, imported_count: 1, duplicates_count: 3 });
    expect(await h.database.db('imported_usage').where({ transaction_id: 'p3-new' })).toHaveLength(1);
    expect(await h.database.db('imported_usage').where({ transaction_id: 'live-p1' })).toHaveLength(0);
  });

  test('is all-or-nothing with per-index errors: future, missing or pre-subscription timestamps, unknown subscription or metric', async () => {
    const res = await h.request('POST', '/events/import', {
      source: 'legacy-billing',
      events: [
        imp('v-ok', plusDays(P(4).start, 1), 1),
        imp('v-future', new Date(Date.now() + 5 * 60_000).toISOString(), 1),
        imp('v-missing', undefined, 1),
        imp('v-before', plusDays(P(5).start, -1), 1),
        imp('v-ghost', plusDays(P(4).start, 1), 1, { external_subscription_id: 'ghost' }),
        imp('v-metric', plusDays(P(4).start, 1), 1, { code: 'ghost_metric' }),
        imp('v-value', plusDays(P(4).start, 1), 'lots'),
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({
      '1': { timestamp: ['too_far_in_future'] },
      '2': { timestamp: ['value_is_mandatory'] },
      '3': { timestamp: ['before_subscription_start'] },
      '4': { external_subscription_id: ['subscription_not_found'] },
      '5': { code: ['billable_metric_not_found'] },
      '6': { 'properties.tokens': ['invalid_value'] },
    });
    expect(await h.database.db('imported_usage').where('transaction_id', 'like', 'v-%')).toHaveLength(0);
  });

  test('the envelope: source is mandatory, 1 to 1,000 events', async () => {
    const noSource = await h.request('POST', '/events/import', { events: [imp('e-1', plusDays(P(4).start, 1), 1)] });
    expect(noSource.status).toBe(422);
    expect(noSource.body.error_details).toEqual({ source: ['value_is_mandatory'] });
    const empty = await h.request('POST', '/events/import', { source: 'x', events: [] });
    expect(empty.body.error_details).toEqual({ events: ['value_is_mandatory'] });
    const tooMany = await h.request('POST', '/events/import', { source: 'x', events: Array.from({ length: 1001 }, (_, i) => imp(`e-many-${i}`, plusDays(P(4).start, 1), 1)) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error_details).toEqual({ events: ['too_many_events'] });
    const thousand = await h.request('POST', '/events/import', { source: 'x', events: Array.from({ length: 1000 }, (_, i) => imp(`e-k-${i}`, plusDays(P(2).start, 1), 1)) });
    expect(thousand.status).toBe(200);
    expect(thousand.body.import.imported_count).toBe(1000);
  });
});

describe('imported usage is never billed', () => {
  async function invoiceTokenFees(period: { start: string; end: string }) {
    const activities = createActivities({ db: h.database.db });
    const r = await activities.createPeriodInvoice({ organizationId: h.org.id, subscriptionId: sub.lagoSubscriptionId, kind: 'subscription', period, fullPeriod: period });
    const inv = (await getInvoice(h.database.db, h.org.id, r.invoiceId))!;
    return inv.fees.filter((f) => f.feeType === 'charge' && f.metricCode === sub.metricCode);
  }

  test('the invoice of the first period bills 0 units although thousands of imported tokens lie in it', async () => {
    const [{ units }] = await h.database.db('imported_usage')
      .where({ subscription_id: sub.lagoSubscriptionId })
      .andWhere('timestamp', '>=', P(5).start)
      .andWhere('timestamp', '<', P(5).end)
      .sum({ units: 'value' });
    expect(Number(units)).toBeGreaterThanOrEqual(3500);
    const fees = await invoiceTokenFees(P(5));
    expect(fees.map((f) => ({ units: f.units, eventsCount: f.eventsCount, amountCents: f.amountCents }))).toEqual([{ units: '0', eventsCount: 0, amountCents: 0 }]);
  });

  test('the invoice of the last closed period bills only the live 100 tokens (20 cents), not the 300 imported', async () => {
    const fees = await invoiceTokenFees(P(1));
    // 100 × 0.002 = 0.20
    expect(fees.map((f) => ({ units: f.units, eventsCount: f.eventsCount, amountCents: f.amountCents }))).toEqual([{ units: '100', eventsCount: 1, amountCents: 20 }]);
  });

  test('current usage counts the live 40 tokens of the open period, not the 9,999 imported', async () => {
    const res = await h.request('GET', `/customers/${sub.customerId}/current_usage?external_subscription_id=${sub.subscriptionId}`);
    expect(res.status).toBe(200);
    const tokens = res.body.customer_usage.charges_usage.find((c: any) => c.billable_metric.code === sub.metricCode);
    expect({ units: tokens.units, events: tokens.events_count }).toEqual({ units: '40', events: 1 });
  });
});

describe('GET /customers/:external_customer_id/past_usage', () => {
  const path = () => `/customers/${sub.customerId}/past_usage?external_subscription_id=${sub.subscriptionId}`;

  test('lists every period of the subscription newest first, with billed and imported usage side by side', async () => {
    const res = await h.request('GET', `${path()}&per_page=100`);
    expect(res.status).toBe(200);
    expect(res.body.usage_periods.map((p: any) => [p.from_datetime, p.to_datetime])).toEqual([0, 1, 2, 3, 4, 5].map((k) => [P(k).start, P(k).end]));
    expect(res.body.meta).toEqual({ current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 6 });

    const first = res.body.usage_periods[5];
    expect(first.metrics).toEqual([
      {
        billable_metric: { lago_id: expect.any(String), code: sub.metricCode, name: 'Tokens', aggregation_type: 'sum_agg' },
        events_count: 0,
        units: '0',
        imported: [{ source: 'legacy-billing', events_count: 4, units: '3501', already_billed: true }],
      },
    ]);
    const lastClosed = res.body.usage_periods[1];
    expect(lastClosed.metrics[0]).toMatchObject({ events_count: 1, units: '100', imported: [{ source: 'legacy-billing', events_count: 1, units: '300', already_billed: true }] });
    // p3-new was imported once although sent twice.
    expect(res.body.usage_periods[3].metrics[0]).toMatchObject({ events_count: 0, units: '0', imported: [{ events_count: 1, units: '7' }] });
    expect(res.body.usage_periods[0].metrics[0]).toMatchObject({ events_count: 1, units: '40', imported: [{ events_count: 1, units: '9999' }] });
  });

  test('is paginated over periods with Lago meta', async () => {
    const res = await h.request('GET', `${path()}&per_page=2&page=3`);
    expect(res.body.usage_periods.map((p: any) => p.from_datetime)).toEqual([P(4).start, P(5).start]);
    expect(res.body.meta).toEqual({ current_page: 3, next_page: null, prev_page: 2, total_pages: 3, total_count: 6 });
  });

  test('billable_metric_code filters the metrics; unknown customer, subscription or metric is 404; a missing subscription id is 422', async () => {
    const other = await seedSubscription(h, { suffix: 'imp2', aggregation: 'count_agg', subscriptionAt: P(1).start });
    const imported = await h.request('POST', '/events/import', {
      source: 'old-system',
      events: [1, 2, 3].map((i) => ({ transaction_id: `cnt-${i}`, external_subscription_id: other.subscriptionId, code: other.metricCode, timestamp: plusDays(P(1).start, i), properties: { anything: i } })),
    });
    expect(imported.status).toBe(200);
    const counted = await h.request('GET', `/customers/${other.customerId}/past_usage?external_subscription_id=${other.subscriptionId}&billable_metric_code=${other.metricCode}`);
    expect(counted.body.usage_periods[1].metrics).toEqual([
      expect.objectContaining({ events_count: 0, units: '0', imported: [{ source: 'old-system', events_count: 3, units: '3', already_billed: true }] }),
    ]);
    const filteredOut = await h.request('GET', `${path()}&billable_metric_code=${other.metricCode}`);
    expect(filteredOut.body.usage_periods.every((p: any) => p.metrics.length === 0)).toBe(true);

    expect((await h.request('GET', `/customers/nobody/past_usage?external_subscription_id=${sub.subscriptionId}`)).body.code).toBe('customer_not_found');
    expect((await h.request('GET', `/customers/${sub.customerId}/past_usage?external_subscription_id=${other.subscriptionId}`)).body.code).toBe('subscription_not_found');
    expect((await h.request('GET', `${path()}&billable_metric_code=ghost`)).body.code).toBe('billable_metric_not_found');
    const missing = await h.request('GET', `/customers/${sub.customerId}/past_usage`);
    expect(missing.status).toBe(422);
    expect(missing.body.error_details).toEqual({ external_subscription_id: ['value_is_mandatory'] });
  });
});
