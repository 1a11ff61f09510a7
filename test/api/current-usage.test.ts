// GET /api/v1/customers/:external_customer_id/current_usage over real Postgres and a real Express app with the
// API's bearer-key auth and error middleware (the router is mounted here as api/server.ts will mount it).
// Events are ingested through the API's ingest step (insertEventsWithRollups), and the current usage must
// equal what the period invoice (activities' createPeriodInvoice, raw-event aggregation) bills per charge.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createActivities } from '../../activities';
import { ApiKeyAuthenticator } from '../../api/auth';
import { consoleLogger, errorMiddleware } from '../../api/errors';
import { currentUsageRouter } from '../../api/routes/current-usage';
import { getInvoice } from '../../db/repositories/invoices';
import { createApiKey } from '../../db/repositories/organizations';
import { createBillingSetup, ingestEvents, type EventFixture } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
let server: http.Server;
let base: string;
let now = '2026-11-20T12:00:00.000Z';

beforeAll(async () => {
  t = await createTestDatabase('cur_usage');
  const app = express();
  app.use(express.json());
  const v1 = express.Router();
  v1.use(new ApiKeyAuthenticator(t.db).middleware());
  v1.use(currentUsageRouter({ db: t.db, now: () => now }));
  app.use('/api/v1', v1);
  app.use(errorMiddleware(consoleLogger));
  server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.drop();
});

async function get(apiKey: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return { status: res.status, body: await res.json() };
}

/** count (filters) / sum graduated (pricing groups) / max package / simple percentage / unique_count (raw path). */
async function setup(opts: { timezone?: string; subscriptionAt?: string } = {}) {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    customer: { timezone: opts.timezone ?? 'UTC' },
    subscriptionAt: opts.subscriptionAt,
    metrics: [
      { code: 'calls', aggregationType: 'count_agg', filters: [{ key: 'model', values: ['small', 'large'] }] },
      { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' },
      { code: 'gpu_peak', aggregationType: 'max_agg', fieldName: 'gpus' },
      { code: 'spend', aggregationType: 'sum_agg', fieldName: 'amount' },
      { code: 'users', aggregationType: 'unique_count_agg', fieldName: 'user' },
    ],
    charges: ([calls, tokens, peak, spend, users]) => [
      { metricId: calls!.id, properties: { amount: '0.01' }, filters: [{ invoice_display_name: 'Large', properties: { amount: '0.05' }, values: { model: ['large'] } }] },
      {
        metricId: tokens!.id,
        chargeModel: 'graduated',
        properties: {
          pricing_group_keys: ['region'],
          graduated_ranges: [
            { from_value: 0, to_value: 1000, per_unit_amount: '0.001', flat_amount: '0.5' },
            { from_value: 1000, to_value: null, per_unit_amount: '0.0002', flat_amount: '0' },
          ],
        },
      },
      { metricId: peak!.id, chargeModel: 'package', properties: { amount: '3', package_size: 4, free_units: 0 } },
      { metricId: spend!.id, chargeModel: 'percentage', properties: { rate: '2.9' } },
      { metricId: users!.id, properties: { amount: '1.25' } },
    ],
  });
  const apiKey = await createApiKey(t.db, s.org.id);
  return { ...s, apiKey };
}

function events(from: number, to: number, n: number): EventFixture[] {
  const out: EventFixture[] = [];
  for (let i = 0; i < n; i++) {
    const ts = new Date(from + Math.floor(((to - from) * i) / n)).toISOString();
    out.push({ code: 'calls', timestamp: ts, properties: { model: i % 3 === 0 ? 'large' : i % 3 === 1 ? 'small' : 'other' } });
    out.push({ code: 'tokens', timestamp: ts, properties: { tokens: (i * 37) % 500, region: i % 2 === 0 ? 'eu' : 'us' } });
    out.push({ code: 'gpu_peak', timestamp: ts, properties: { gpus: (i * 7) % 13 } });
    out.push({ code: 'spend', timestamp: ts, properties: { amount: `${i % 50}.${i % 10}5` } });
    out.push({ code: 'users', timestamp: ts, properties: { user: `u${i % 17}` } });
  }
  return out;
}

async function invoiceChargeCents(s: Awaited<ReturnType<typeof setup>>, period: { start: string; end: string }, fullPeriod = period) {
  const activities = createActivities({ db: t.db });
  const r = await activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period, fullPeriod });
  const inv = (await getInvoice(t.db, s.org.id, r.invoiceId))!;
  const byCharge = new Map<string, { cents: number; events: number }>();
  for (const f of inv.fees) {
    if (f.feeType !== 'charge') continue;
    const e = byCharge.get(f.chargeId!) ?? { cents: 0, events: 0 };
    e.cents += f.amountCents;
    e.events += f.eventsCount;
    byCharge.set(f.chargeId!, e);
  }
  return byCharge;
}

describe('GET /customers/:external_customer_id/current_usage', () => {
  it('equals, charge by charge, what the period invoice bills for the same events (UTC calendar month, duplicates ignored)', async () => {
    const s = await setup();
    const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
    const evs = events(Date.parse(NOV.start), Date.parse(NOV.end), 600);
    evs.forEach((e, i) => (e.transactionId = `tx-${i}`));
    await ingestEvents(t.db, s.ref, evs);
    await ingestEvents(t.db, s.ref, evs.slice(0, 100)); // replayed: duplicates, must not count
    await ingestEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-10-31T23:59:59.999Z', properties: { tokens: 99999, region: 'eu' } },
      { code: 'tokens', timestamp: '2026-12-01T00:00:00.000Z', properties: { tokens: 99999, region: 'eu' } },
    ]);

    const res = await get(s.apiKey, `/customers/${s.customer.externalId}/current_usage?external_subscription_id=${s.sub.externalId}`);
    expect(res.status).toBe(200);
    const u = res.body.customer_usage;
    expect(u.from_datetime).toBe(NOV.start);
    expect(u.to_datetime).toBe(NOV.end);
    expect(u.currency).toBe('USD');

    const invoice = await invoiceChargeCents(s, NOV);
    for (const c of u.charges_usage) {
      expect({ charge: c.charge.lago_id, cents: c.amount_cents, events: c.events_count }).toEqual({
        charge: c.charge.lago_id,
        cents: invoice.get(c.charge.lago_id)!.cents,
        events: invoice.get(c.charge.lago_id)!.events,
      });
    }
    expect(u.amount_cents).toBe([...invoice.values()].reduce((a, e) => a + e.cents, 0));
    expect(u.amount_cents).toBeGreaterThan(0);
    expect(u.total_amount_cents).toBe(u.amount_cents);

    const calls = u.charges_usage.find((c: any) => c.billable_metric.code === 'calls');
    expect(calls.events_count).toBe(600);
    expect(calls.billable_metric).toMatchObject({ code: 'calls', aggregation_type: 'count_agg' });
    expect(calls.billable_metric.lago_id).toBe(s.metrics[0]!.id);
    expect(calls.filters.map((f: any) => [f.values, f.events_count])).toEqual([[{ model: ['large'] }, 200], [null, 400]]);
    const tokens = u.charges_usage.find((c: any) => c.billable_metric.code === 'tokens');
    expect(tokens.grouped_usage.map((g: any) => g.grouped_by).sort((a: any, b: any) => a.region.localeCompare(b.region))).toEqual([
      { region: 'eu' },
      { region: 'us' },
    ]);
  });

  it('equals the invoice for a clipped first period in Asia/Kolkata (+05:30: partial hours at both edges read from raw events)', async () => {
    const subscriptionAt = '2026-11-10T07:23:11.500Z';
    const s = await setup({ timezone: 'Asia/Kolkata', subscriptionAt });
    now = '2026-11-30T18:29:59.999Z';
    const period = { start: subscriptionAt, end: '2026-11-30T18:30:00.000Z' };
    const fullPeriod = { start: '2026-10-31T18:30:00.000Z', end: '2026-11-30T18:30:00.000Z' };
    await ingestEvents(t.db, s.ref, [
      ...events(Date.parse(period.start), Date.parse(period.start) + 3_600_000, 40), // partial first hour
      ...events(Date.parse(period.start), Date.parse(period.end), 300),
      ...events(Date.parse('2026-11-30T18:00:00.000Z'), Date.parse(period.end), 40), // partial last half hour
      ...events(Date.parse(period.end), Date.parse(period.end) + 1_800_000, 10), // next period: not counted
    ]);
    const res = await get(s.apiKey, `/customers/${s.customer.externalId}/current_usage?external_subscription_id=${s.sub.externalId}`);
    expect(res.status).toBe(200);
    const u = res.body.customer_usage;
    expect([u.from_datetime, u.to_datetime, u.issuing_date]).toEqual([period.start, period.end, '2026-12-01']);
    const invoice = await invoiceChargeCents(s, period, fullPeriod);
    const got = Object.fromEntries(u.charges_usage.map((c: any) => [c.charge.lago_id, [c.amount_cents, c.events_count]]));
    const want = Object.fromEntries([...invoice].map(([id, e]) => [id, [e.cents, e.events]]));
    expect(got).toEqual(want);
    expect(u.charges_usage[0].events_count).toBe(380);
  });

  it("answers Lago's 404s: customer_not_found, subscription_not_found (unknown, or another customer's), and 401 without a key", async () => {
    const s = await setup();
    const other = await setup();
    expect(await get(s.apiKey, `/customers/nope/current_usage?external_subscription_id=${s.sub.externalId}`)).toEqual({
      status: 404,
      body: { status: 404, error: 'Not Found', code: 'customer_not_found' },
    });
    expect(await get(s.apiKey, `/customers/${s.customer.externalId}/current_usage?external_subscription_id=nope`)).toEqual({
      status: 404,
      body: { status: 404, error: 'Not Found', code: 'subscription_not_found' },
    });
    // The other organization's customer is invisible with this key.
    expect((await get(s.apiKey, `/customers/${other.customer.externalId}/current_usage?external_subscription_id=${other.sub.externalId}`)).body.code).toBe(
      'customer_not_found',
    );
    const missing = await get(s.apiKey, `/customers/${s.customer.externalId}/current_usage`);
    expect(missing.status).toBe(422);
    expect(missing.body.error_details).toEqual({ external_subscription_id: ['value_is_mandatory'] });
    expect((await get('wrong-key', `/customers/${s.customer.externalId}/current_usage?external_subscription_id=${s.sub.externalId}`)).status).toBe(401);
  });
});
