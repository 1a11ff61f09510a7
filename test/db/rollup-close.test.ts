// The period close from rollups (usage/rollup-close.ts) against real Postgres: for count, sum, max and weighted
// sum, with metric filters and charge filters, over periods with partial edge hours, the close read from
// rollups + edge events equals the raw SQL scan (sqlUsageFromEvents) and billing/aggregateCharge over the raw
// events (property test over random events); the rollup path is really taken (not a silent fallback); events
// stored without rollups make the close read raw events until `rollups:backfill` rebuilds them.
import fc from 'fast-check';
import { aggregateCharge, type ChargeUsage } from '../../billing/aggregation';
import type { Charge, Period } from '../../billing/types';
import { loadPlan } from '../../db/repositories/plans';
import { backfillRollups } from '../../db/repositories/rollup-backfill';
import { loadPeriodEvents } from '../../db/repositories/usage';
import { rollupDimsAggregates } from '../../usage/rollup-close';
import { sqlUsage, sqlUsageFromEvents } from '../../usage/sql-usage';
import { createBillingSetup, ingestEvents, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('rollclose');
});
afterAll(async () => {
  await t.drop();
});

const BASE_MS = Date.parse('2026-11-01T00:00:00.000Z');
const WINDOW_MS = 2 * 24 * 3_600_000;
const AGGS = ['count_agg', 'sum_agg', 'max_agg', 'weighted_sum_agg'] as const;

async function setup() {
  const s = await createBillingSetup(t.db, {
    metrics: AGGS.map((a) => ({ code: a, aggregationType: a, fieldName: a === 'count_agg' ? null : 'v', filters: [{ key: 'model', values: ['a', 'b'] }, { key: 'tier', values: ['1', 'true'] }] })),
    charges: (ms) => [
      ...ms.map((m) => ({
        metricId: m.id,
        properties: { amount: '0.01' },
        filters: [
          { properties: { amount: '0.02' }, values: { model: ['a'] } },
          { properties: { amount: '0.03' }, values: { model: ['a', 'b'], tier: ['1', 'true'] } },
        ],
      })),
      ...ms.map((m) => ({ metricId: m.id, properties: { amount: '0.5' } })),
    ],
  });
  return { ...s, plan: await loadPlan(t.db, s.org.id, s.plan.id) };
}

const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1_000_000 }),
  fc.integer({ min: 0, max: 99_999 }).map((n) => `${Math.floor(n / 1000)}.${String(n % 1000).padStart(3, '0')}`),
  fc.constantFrom(0.1, 2.5, 1.5, '1.50', '0.000002', '-3', ' 7 ', '1e3'),
  fc.constant(undefined),
  fc.constant(null),
);

// Where an event lands, biased toward the instants where a rollup read can go wrong (issue 14): an hour boundary
// of the window (± 1 ms), the period's start or end (± 1 ms), the first and the last whole-hour boundary inside the
// period (± 1 ms: where rollup hours meet the raw edge ranges); the period is only known once `cut` is drawn, so
// the place is resolved in the property. Or anywhere in and around the window.
const HOUR_MS = 3_600_000;
const placeArb = fc.oneof(
  { arbitrary: fc.record({ at: fc.constant('hour' as const), k: fc.integer({ min: 0, max: WINDOW_MS / HOUR_MS }), delta: fc.constantFrom(-1, 0, 1) }), weight: 2 },
  { arbitrary: fc.record({ at: fc.constantFrom('periodStart' as const, 'periodEnd' as const), k: fc.constant(0), delta: fc.constantFrom(-1, 0, 1) }), weight: 2 },
  { arbitrary: fc.record({ at: fc.constantFrom('firstWholeHour' as const, 'lastWholeHour' as const), k: fc.constant(0), delta: fc.constantFrom(-1, 0, 1) }), weight: 2 },
  { arbitrary: fc.record({ at: fc.constant('offset' as const), k: fc.integer({ min: -HOUR_MS, max: WINDOW_MS + HOUR_MS }), delta: fc.constant(0) }), weight: 2 },
);
type Place = { at: 'hour' | 'periodStart' | 'periodEnd' | 'firstWholeHour' | 'lastWholeHour' | 'offset'; k: number; delta: number };
/** The place's offset from BASE_MS in the cut period [cut, WINDOW_MS − cut). */
function offsetOf(p: Place, cut: number): number {
  switch (p.at) {
    case 'hour':
      return p.k * HOUR_MS + p.delta;
    case 'periodStart':
      return cut + p.delta;
    case 'periodEnd':
      return WINDOW_MS - cut + p.delta;
    case 'firstWholeHour':
      return Math.ceil(cut / HOUR_MS) * HOUR_MS + p.delta;
    case 'lastWholeHour':
      return Math.floor((WINDOW_MS - cut) / HOUR_MS) * HOUR_MS + p.delta;
    case 'offset':
      return p.k;
  }
}
// The cut: none (whole hours only), 1 ms, one hour minus / exactly one hour (an edge on an hour boundary), or any.
const cutArb = fc.oneof(fc.constantFrom(0, 1, HOUR_MS - 1, HOUR_MS, HOUR_MS / 2), fc.integer({ min: 0, max: HOUR_MS }));

const eventArb = fc.record({
  metric: fc.constantFrom(...AGGS),
  place: placeArb,
  model: fc.oneof({ arbitrary: fc.constantFrom('a', 'b'), weight: 4 }, fc.constantFrom('c', undefined, null)),
  tier: fc.constantFrom('1', 1, true, 'true', undefined),
  value: valueArb,
});
// size 'max': lengths up to 120 (fast-check's default size caps arrays at ~10 events, whatever maxLength says).
const eventsArb = fc.array(eventArb, { minLength: 0, maxLength: 120, size: 'max' });
type Ev = { metric: string; place: Place; model: unknown; tier: unknown; value: unknown };

function view(u: ChargeUsage) {
  return u.buckets.map((b) => [b.filterIndex, b.groupedBy, b.units, b.eventsCount]);
}

function fixtures(run: number, evs: Ev[], cut: number) {
  return evs.map((e, i) => {
    const properties: Record<string, unknown> = {};
    if (e.model !== undefined) properties.model = e.model;
    if (e.tier !== undefined) properties.tier = e.tier;
    if (e.value !== undefined) properties.v = e.value;
    return { transactionId: `r${run}-${i}`, code: e.metric, timestamp: new Date(BASE_MS + offsetOf(e.place, cut)).toISOString(), properties };
  });
}

function dimsQuery(s: Awaited<ReturnType<typeof setup>>, code: string, period: Period) {
  return {
    organizationId: s.org.id,
    subscriptionId: s.sub.id,
    metricCode: code,
    fieldName: code === 'count_agg' ? null : 'v',
    dimKeys: ['model', 'tier'],
    period,
    needsArea: code === 'weighted_sum_agg',
  };
}

describe('the rollups = raw-scan generator', () => {
  it('reaches every edge instant: the period start and end (± 1 ms), the last whole hour boundary before the end, an hour boundary ± 1 ms, and 60 events a run on average', () => {
    const hits = { start: 0, end: 0, endMinus1: 0, lastWholeHour: 0, hourPlus1: 0, hourMinus1: 0 };
    let total = 0;
    for (const [evs, cut] of fc.sample(fc.tuple(eventsArb, cutArb), { numRuns: 30, seed: 14 })) {
      const endOff = WINDOW_MS - cut;
      const lastWholeHour = Math.floor(endOff / HOUR_MS) * HOUR_MS;
      total += evs.length;
      for (const e of evs) {
        const o = offsetOf(e.place, cut);
        if (o === cut) hits.start += 1;
        if (o === endOff) hits.end += 1;
        if (o === endOff - 1) hits.endMinus1 += 1;
        if (o === lastWholeHour && lastWholeHour !== endOff) hits.lastWholeHour += 1;
        if (o % HOUR_MS === 1) hits.hourPlus1 += 1;
        if (o % HOUR_MS === HOUR_MS - 1) hits.hourMinus1 += 1;
      }
    }
    for (const [k, n] of Object.entries(hits)) expect([k, n > 0]).toEqual([k, true]);
    expect(total / 30).toBeGreaterThan(30);
  });
});

describe('period close from rollups', () => {
  it('equals the raw SQL scan and billing/aggregateCharge for count, sum, max and weighted sum, with filters and partial edge hours (events biased to hour boundaries and the period start/end), and takes the rollup path', async () => {
    const s = await setup();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(eventsArb, cutArb, async (evs: Ev[], cut) => {
        run += 1;
        // Cleanup in finally: a failing run must not leave its events to the shrinking runs after it.
        try {
          await ingestEvents(t.db, s.ref, fixtures(run, evs, cut));
          const periods: Period[] = [
            { start: new Date(BASE_MS).toISOString(), end: new Date(BASE_MS + WINDOW_MS).toISOString() },
            { start: new Date(BASE_MS + cut).toISOString(), end: new Date(BASE_MS + WINDOW_MS - cut).toISOString() },
          ];
          for (const period of periods) {
            const events = await loadPeriodEvents(t.db, s.org.id, s.sub.id, [...AGGS], period);
            const inMemory = s.plan.charges.map((c: Charge) => aggregateCharge(c, events[c.billableMetric.code] ?? [], period));
            const fromRollups = await sqlUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period);
            expect(fromRollups.map(view)).toEqual((await sqlUsageFromEvents(t.db, s.org.id, s.sub.id, s.plan.charges, period)).map(view));
            expect(fromRollups.map(view)).toEqual(inMemory.map(view));
            for (const code of AGGS) expect(await rollupDimsAggregates(t.db, dimsQuery(s, code, period), code)).not.toBeNull();
          }
        } finally {
          await t.db('events').where({ organization_id: s.org.id }).delete();
          await t.db('usage_rollups').where({ organization_id: s.org.id }).delete();
        }
      }),
      { numRuns: 30 },
    );
  });

  it('events stored without rollups are read raw (same usage), and after rollups:backfill the rollups answer with the same usage', async () => {
    const s = await setup();
    const period = { start: new Date(BASE_MS + 1_234_567).toISOString(), end: new Date(BASE_MS + WINDOW_MS - 7_654).toISOString() };
    // Plain INSERTs: no rollup rows at all (as for events stored before their metric was rolled up).
    await insertEvents(
      t.db,
      s.ref,
      Array.from({ length: 400 }, (_, i) => ({
        transactionId: `bf-${i}`,
        code: AGGS[i % 4]!,
        timestamp: new Date(BASE_MS + ((i * 7_919_333) % WINDOW_MS)).toISOString(),
        properties: { model: i % 3 === 0 ? 'a' : 'b', tier: i % 2 ? '1' : 'true', v: (i % 17) * 1.25 },
      })),
    );
    const raw = (await sqlUsageFromEvents(t.db, s.org.id, s.sub.id, s.plan.charges, period)).map(view);
    expect(raw.some((b) => b.length > 0)).toBe(true);
    for (const code of AGGS) expect(await rollupDimsAggregates(t.db, dimsQuery(s, code, period), code)).toBeNull();
    expect((await sqlUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period)).map(view)).toEqual(raw);

    const r = await backfillRollups(t.db, { organizationId: s.org.id });
    expect(r.events).toBe(400);
    for (const code of AGGS) expect(await rollupDimsAggregates(t.db, dimsQuery(s, code, period), code)).not.toBeNull();
    expect((await sqlUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period)).map(view)).toEqual(raw);
    // Idempotent: a second backfill leaves the same rows.
    const rows = async () => t.db('usage_rollups').where({ organization_id: s.org.id }).orderBy(['metric_code', 'bucket_start', 'events_count']).select('metric_code', 'bucket_start', 'dims', 'events_count', 'sum', 'max', 'value_time_sum');
    const before = await rows();
    await backfillRollups(t.db, { organizationId: s.org.id });
    expect(await rows()).toEqual(before);
  });
});

describe('period close from rollups, edge hours', () => {
  it('a weighted sum with events in both partial edge hours and whole hours equals the raw scan', async () => {
    const s = await setup();
    const period = { start: new Date(BASE_MS + 1_800_000).toISOString(), end: new Date(BASE_MS + 10 * 3_600_000 + 900_000).toISOString() };
    await ingestEvents(t.db, s.ref, [
      { transactionId: 'w1', code: 'weighted_sum_agg', timestamp: new Date(BASE_MS + 2_000_000).toISOString(), properties: { model: 'a', tier: '1', v: 10 } },
      { transactionId: 'w2', code: 'weighted_sum_agg', timestamp: new Date(BASE_MS + 5 * 3_600_000).toISOString(), properties: { model: 'a', tier: '1', v: 5 } },
      { transactionId: 'w3', code: 'weighted_sum_agg', timestamp: new Date(BASE_MS + 10 * 3_600_000 + 60_000).toISOString(), properties: { model: 'b', v: -3 } },
    ]);
    const q = dimsQuery(s, 'weighted_sum_agg', period);
    expect(await rollupDimsAggregates(t.db, q, 'weighted_sum_agg')).not.toBeNull();
    const fromRollups = (await sqlUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period)).map(view);
    expect(fromRollups).toEqual((await sqlUsageFromEvents(t.db, s.org.id, s.sub.id, s.plan.charges, period)).map(view));
    expect(fromRollups.flat().some((b) => b[2] !== '0')).toBe(true);
  });
});
