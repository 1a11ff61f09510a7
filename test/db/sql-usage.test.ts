// The period close's SQL reader (usage/sql-usage.ts) against real Postgres: for every aggregation (count, sum,
// max, unique count, latest, weighted sum), with metric filters, charge filters and pricing groups, and for a
// dynamic charge, the buckets read in SQL must equal billing/aggregateCharge over the raw events — same buckets,
// same order, same units and event counts — whatever the values, ties and dimension values of the events.
import fc from 'fast-check';
import { aggregateCharge, type ChargeUsage } from '../../billing/aggregation';
import { D, str } from '../../billing/money';
import type { Charge, Period } from '../../billing/types';
import { loadPlan } from '../../db/repositories/plans';
import { loadPeriodEvents } from '../../db/repositories/usage';
import { ledgerUsage } from '../../usage/period-usage';
import { isSqlReadableCharge, sqlUsage } from '../../usage/sql-usage';
import { createBillingSetup, ingestEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('sqlusage');
});
afterAll(async () => {
  await t.drop();
});

const BASE_MS = Date.parse('2026-11-01T00:00:00.000Z');
const WINDOW_MS = 2 * 24 * 3_600_000;
const AGGS = ['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg'] as const;

/** One metric per aggregation (field "v", metric filter on model), each with a filtered + grouped charge; plus a dynamic charge. */
async function setup() {
  const s = await createBillingSetup(t.db, {
    metrics: AGGS.map((a) => ({ code: a, aggregationType: a, fieldName: a === 'count_agg' ? null : 'v', filters: [{ key: 'model', values: ['a', 'b'] }, { key: 'tier', values: ['1', 'true'] }] })),
    charges: (ms) => [
      ...ms.map((m) => ({
        metricId: m.id,
        properties: { amount: '0.01', pricing_group_keys: ['region'] },
        filters: [
          { properties: { amount: '0.02' }, values: { model: ['a'] } },
          { properties: { amount: '0.03', pricing_group_keys: ['region'] }, values: { model: ['a', 'b'], tier: ['1', 'true'] } },
        ],
      })),
      // No filters, no groups: one bucket.
      ...ms.map((m) => ({ metricId: m.id, properties: { amount: '0.5' } })),
      { metricId: ms[1]!.id, chargeModel: 'dynamic', properties: { pricing_group_keys: ['region'] } },
    ],
  });
  const plan = await loadPlan(t.db, s.org.id, s.plan.id);
  return { ...s, plan };
}

const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1_000_000 }),
  fc.integer({ min: 0, max: 99_999 }).map((n) => `${Math.floor(n / 1000)}.${String(n % 1000).padStart(3, '0')}`),
  fc.constantFrom(0.1, 2.5, 1.5, '1.50', '0.000002', '-3', ' 7 ', '1e3', 'x1', 'x2'),
  fc.constant(undefined),
  fc.constant(null),
);

const eventArb = fc.record({
  metric: fc.constantFrom(...AGGS),
  // Few distinct instants: ties on the timestamp (latest_agg picks the last inserted).
  offsetMs: fc.oneof(fc.constantFrom(0, 1, 3_600_000, WINDOW_MS - 1), fc.integer({ min: -3_600_000, max: WINDOW_MS + 3_600_000 })),
  model: fc.oneof({ arbitrary: fc.constantFrom('a', 'b'), weight: 4 }, fc.constantFrom('c', undefined, null)),
  tier: fc.constantFrom('1', 1, true, 'true', undefined),
  region: fc.oneof({ arbitrary: fc.constant('eu'), weight: 3 }, fc.constantFrom('us', 5, 5.0, true, null, undefined)),
  value: valueArb,
  precise: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 100_000 }).map((n) => `${n / 1000}`)),
});

type Ev = { metric: string; offsetMs: number; model: unknown; tier: unknown; region: unknown; value: unknown; precise: string | null };

function view(u: ChargeUsage) {
  return u.buckets.map((b) => [b.filterIndex, b.groupedBy, b.units, b.eventsCount]);
}

/** Σ precise_total_amount per bucket, from the raw path's eventValues or the SQL path's preciseTotalAmountSum. */
function preciseView(u: ChargeUsage) {
  return u.buckets.map((b) =>
    b.preciseTotalAmountSum ?? str((b.eventValues ?? []).reduce((a, e) => a.plus(e.preciseTotalAmount ?? 0), new D(0))),
  );
}

describe('period close usage aggregated in SQL', () => {
  it('equals billing/aggregateCharge over the raw events for count, sum, max, unique count, latest and weighted sum, with filters, pricing groups and a dynamic charge', async () => {
    const s = await setup();
    expect(s.plan.charges.every(isSqlReadableCharge)).toBe(true);
    const codes = [...AGGS];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 0, maxLength: 120 }), fc.integer({ min: 0, max: 3_600_000 }), async (evs: Ev[], cut) => {
        run += 1;
        const valid = (m: string, v: unknown) => !(typeof v === 'string' && v.startsWith('x') && m !== 'unique_count_agg' && m !== 'count_agg');
        await ingestEvents(
          t.db,
          s.ref,
          evs.map((e, i) => {
            const properties: Record<string, unknown> = {};
            if (e.model !== undefined) properties.model = e.model;
            if (e.tier !== undefined) properties.tier = e.tier;
            if (e.region !== undefined) properties.region = e.region;
            if (e.value !== undefined && valid(e.metric, e.value)) properties.v = e.value;
            return {
              transactionId: `s${run}-${i}`,
              code: e.metric,
              timestamp: new Date(BASE_MS + e.offsetMs).toISOString(),
              properties,
              preciseTotalAmount: e.precise,
            };
          }),
        );
        const periods: Period[] = [
          { start: new Date(BASE_MS).toISOString(), end: new Date(BASE_MS + WINDOW_MS).toISOString() },
          { start: new Date(BASE_MS + cut).toISOString(), end: new Date(BASE_MS + WINDOW_MS - cut).toISOString() },
        ];
        for (const period of periods) {
          const events = await loadPeriodEvents(t.db, s.org.id, s.sub.id, codes, period);
          const raw = s.plan.charges.map((c: Charge) => aggregateCharge(c, events[c.billableMetric.code] ?? [], period));
          const sql = await sqlUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period);
          expect(sql.map(view)).toEqual(raw.map(view));
          expect(sql.map(preciseView)).toEqual(raw.map(preciseView));
          expect((await ledgerUsage(t.db, s.ref, s.plan.charges, period)).map(view)).toEqual(raw.map(view));
        }
        await t.db('events').where({ organization_id: s.org.id }).delete();
        await t.db('usage_rollups').where({ organization_id: s.org.id }).delete();
      }),
      { numRuns: 40 },
    );
  });

  it('fails with invalid_event_value naming the event when a summed value is not numeric', async () => {
    const s = await setup();
    await ingestEvents(t.db, s.ref, [
      { transactionId: 'ok', code: 'sum_agg', timestamp: new Date(BASE_MS + 5).toISOString(), properties: { v: 2 } },
      { transactionId: 'bad', code: 'sum_agg', timestamp: new Date(BASE_MS + 9).toISOString(), properties: { v: 'abc' } },
    ]);
    const period = { start: new Date(BASE_MS).toISOString(), end: new Date(BASE_MS + WINDOW_MS).toISOString() };
    const sumCharges = s.plan.charges.filter((c) => c.billableMetric.code === 'sum_agg');
    await expect(sqlUsage(t.db, s.org.id, s.sub.id, sumCharges, period)).rejects.toMatchObject({ code: 'invalid_event_value', message: expect.stringContaining('Event bad') });
    // A unique count of the same kind of value is fine (values are compared as text).
    const uniq = s.plan.charges.filter((c) => c.billableMetric.code === 'unique_count_agg');
    await ingestEvents(t.db, s.ref, [{ transactionId: 'u1', code: 'unique_count_agg', timestamp: new Date(BASE_MS + 9).toISOString(), properties: { v: 'abc' } }]);
    const u = await sqlUsage(t.db, s.org.id, s.sub.id, uniq, period);
    expect(u[1]!.buckets).toEqual([{ filterIndex: null, groupedBy: {}, units: '1', eventsCount: 1 }]);
  });
});
