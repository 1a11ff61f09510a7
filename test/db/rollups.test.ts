// usage_rollups against real Postgres: events go through the ingest step the API uses
// (insertEventsWithRollups = the events repository's multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING +
// applyRollups for the returned rows, one transaction per group), and the rollups must equal a scan of the
// raw events table, whatever the duplicates, ordering and grouping of the input.
import fc from 'fast-check';
import { aggregateCharge, type ChargeUsage } from '../../billing/aggregation';
import type { Period } from '../../billing/types';
import type { EventRow } from '../../db/repositories/events';
import { loadPlan } from '../../db/repositories/plans';
import { insertEventsWithRollups, loadRollupMetricSpecs, splitPeriod, type RollupMetricSpec } from '../../db/repositories/rollups';
import { rollupUsage } from '../../usage/rollup-usage';
import { loadPeriodEvents } from '../../db/repositories/usage';
import { createBillingSetup, createCustomer, createSubscription, ingestEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('rollups');
});
afterAll(async () => {
  await t.drop();
});

const BASE_MS = Date.parse('2026-11-01T00:00:00.000Z');
const WINDOW_MS = 3 * 24 * 3_600_000;

/** Org with 3 metrics (count / sum / max) whose dims are {model} (metric filter) and {region} (pricing group). */
async function setup() {
  const s = await createBillingSetup(t.db, {
    metrics: [
      { code: 'calls', aggregationType: 'count_agg', filters: [{ key: 'model', values: ['a', 'b'] }] },
      { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens', filters: [{ key: 'model', values: ['a', 'b'] }] },
      { code: 'peak', aggregationType: 'max_agg', fieldName: 'v' },
    ],
    charges: ([calls, tokens, peak]) => [
      { metricId: calls!.id, properties: { amount: '0.01' }, filters: [{ properties: { amount: '0.02' }, values: { model: ['a'] } }] },
      {
        metricId: tokens!.id,
        chargeModel: 'graduated',
        properties: {
          pricing_group_keys: ['region'],
          graduated_ranges: [
            { from_value: 0, to_value: 100, per_unit_amount: '0.001', flat_amount: '1' },
            { from_value: 100, to_value: null, per_unit_amount: '0.0005', flat_amount: '0' },
          ],
        },
        filters: [
          { properties: { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '0.003', flat_amount: '0' }] }, values: { model: ['b'] } },
          {
            properties: { pricing_group_keys: ['region'], graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '0.004', flat_amount: '2' }] },
            values: { model: ['a', 'b'] },
          },
        ],
      },
      { metricId: peak!.id, chargeModel: 'package', properties: { amount: '5', package_size: 10, free_units: 0 } },
    ],
  });
  const customer2 = await createCustomer(t.db, s.org.id);
  const sub2 = await createSubscription(t.db, s.org.id, customer2.id, s.plan.id);
  const subs = [s.ref, { organizationId: s.org.id, subscriptionId: sub2.id, externalSubscriptionId: sub2.externalId }];
  const plan = await loadPlan(t.db, s.org.id, s.plan.id);
  return { ...s, subs, plan };
}

const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1_000_000 }),
  fc.integer({ min: 0, max: 99_999 }).map((n) => `${Math.floor(n / 1000)}.${String(n % 1000).padStart(3, '0')}`),
  fc.constantFrom(0.1, 2.5, '0.000002', '-3', ' 7 ', '1e3'),
  fc.constant(undefined),
  fc.constant(null),
);

const eventArb = fc.record({
  sub: fc.integer({ min: 0, max: 1 }),
  metric: fc.constantFrom('calls', 'tokens', 'peak'),
  tx: fc.integer({ min: 0, max: 60 }), // small range: many duplicate transaction ids
  // Mostly the first 3 hours (many events share a rollup row across groups), sometimes anywhere in 3 days.
  offsetMs: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 * 3_600_000 - 1 }), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: WINDOW_MS - 1 }), weight: 1 }),
  model: fc.oneof({ arbitrary: fc.constantFrom('a', 'b'), weight: 4 }, fc.constantFrom('c', undefined, null)),
  region: fc.oneof({ arbitrary: fc.constant('eu'), weight: 4 }, fc.constantFrom('us', 5, true, undefined)),
  value: valueArb,
});

type Ev = { sub: number; metric: string; tx: number; offsetMs: number; model: unknown; region: unknown; value: unknown };

function rowOf(s: Awaited<ReturnType<typeof setup>>, run: number, e: Ev): EventRow {
  const sub = s.subs[e.sub]!;
  const properties: Record<string, unknown> = {};
  if (e.model !== undefined) properties.model = e.model;
  if (e.region !== undefined) properties.region = e.region;
  if (e.value !== undefined) properties[e.metric === 'peak' ? 'v' : 'tokens'] = e.value;
  return {
    organizationId: sub.organizationId,
    transactionId: `r${run}-tx-${e.tx}`,
    externalSubscriptionId: sub.externalSubscriptionId,
    subscriptionId: sub.subscriptionId,
    code: e.metric,
    timestamp: new Date(BASE_MS + e.offsetMs).toISOString(),
    properties,
    preciseTotalAmount: null,
  };
}

/** Ingest like the group-commit writer: each group deduped (first row wins), one transaction per group. */
async function ingestGroups(groups: EventRow[][], specs: Map<string, RollupMetricSpec>): Promise<number> {
  let inserted = 0;
  for (const g of groups) {
    const seen = new Set<string>();
    const unique = g.filter((r) => !seen.has(r.transactionId) && seen.add(r.transactionId));
    inserted += (await insertEventsWithRollups(t.db, unique, (_o, code) => specs.get(code))).length;
  }
  return inserted;
}

/** Canonical decimal text (no trailing fractional zeros), without going through a float. */
function normDec(s: string): string {
  const t = s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  return t === '-0' ? '0' : t;
}

function sortBuckets(u: ChargeUsage): string[] {
  return u.buckets.map((b) => JSON.stringify([b.filterIndex, Object.entries(b.groupedBy).sort(), b.units, b.eventsCount])).sort();
}

async function rawUsage(s: Awaited<ReturnType<typeof setup>>, subscriptionId: string, period: Period): Promise<ChargeUsage[]> {
  const codes = s.plan.charges.map((c) => c.billableMetric.code);
  const events = await loadPeriodEvents(t.db, s.org.id, subscriptionId, codes, period);
  return s.plan.charges.map((c) => aggregateCharge(c, events[c.billableMetric.code] ?? [], period));
}

describe('usage_rollups', () => {
  it('hourly rollups per (subscription, metric, dims) equal COUNT/SUM/MAX over the raw events, with duplicate transaction ids, out-of-order timestamps and random groups', async () => {
    const s = await setup();
    const specs = await loadRollupMetricSpecs(t.db, s.org.id);
    expect(specs.get('tokens')!.dimKeys).toEqual(['model', 'region']);
    expect(specs.get('calls')!.dimKeys).toEqual(['model']);
    expect(specs.get('peak')!.dimKeys).toEqual([]);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 150, size: 'medium' }), fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }), async (evs, cuts) => {
        run += 1;
        const rows = evs.map((e) => rowOf(s, run, e));
        const groups: EventRow[][] = [];
        let i = 0;
        for (let k = 0; i < rows.length; k++) {
          const n = cuts[k % cuts.length]!;
          groups.push(rows.slice(i, i + n));
          i += n;
        }
        // Ingest twice: the replay must change nothing (every row is a duplicate).
        const first = await ingestGroups(groups, specs);
        expect(await ingestGroups(groups, specs)).toBe(0);
        expect(first).toBe(new Set(rows.map((r) => r.transactionId)).size);

        const prefix = `r${run}-tx-%`;
        const raw = await t.db.raw(
          `SELECT subscription_id, code, date_bin('1 hour', "timestamp", timestamptz '2000-01-01Z') AS bucket,
                  CASE WHEN code = 'peak' THEN '{}'::jsonb
                       WHEN code = 'calls' THEN jsonb_build_object('model', properties->>'model')
                       ELSE jsonb_build_object('model', properties->>'model', 'region', properties->>'region') END AS dims,
                  count(*)::bigint AS n,
                  coalesce(sum((properties->>(CASE code WHEN 'peak' THEN 'v' ELSE 'tokens' END))::numeric) FILTER (WHERE code <> 'calls'), 0)::text AS sum,
                  (max((properties->>(CASE code WHEN 'peak' THEN 'v' ELSE 'tokens' END))::numeric) FILTER (WHERE code <> 'calls'))::text AS max
           FROM events WHERE organization_id = ? AND transaction_id LIKE ?
           GROUP BY 1, 2, 3, 4`,
          [s.org.id, prefix],
        );
        const expected = new Map<string, string>();
        for (const r of raw.rows) {
          expected.set(JSON.stringify([r.subscription_id, r.code, r.bucket.toISOString(), r.dims]), JSON.stringify([Number(r.n), r.sum, r.max]));
        }
        // Each run starts from empty events / rollups for the org (cleared at the end of the run).
        const roll = await t.db.raw(
          `SELECT subscription_id, metric_code AS code, bucket_start AS bucket, dims, events_count AS n, (sum + 0)::text AS sum, max::text AS max
           FROM usage_rollups WHERE organization_id = ?`,
          [s.org.id],
        );
        const actual = new Map<string, string>();
        for (const r of roll.rows) {
          actual.set(JSON.stringify([r.subscription_id, r.code, r.bucket.toISOString(), r.dims]), JSON.stringify([Number(r.n), r.sum, r.max]));
        }
        const norm = (m: Map<string, string>) =>
          [...m].map(([k, v]) => {
            const [n, sum, max] = JSON.parse(v) as [number, string, string | null];
            return JSON.stringify([k, n, normDec(sum), max === null ? null : normDec(max)]);
          }).sort();
        expect(norm(actual)).toEqual(norm(expected));

        // Current usage from rollups (+ raw partial edge hours) equals billing/aggregateCharge over raw events,
        // for a whole-hour period and for one with arbitrary (millisecond) edges.
        const a = BASE_MS + (evs[0]!.offsetMs % (WINDOW_MS / 2));
        const periods: Period[] = [
          { start: new Date(BASE_MS).toISOString(), end: new Date(BASE_MS + WINDOW_MS).toISOString() },
          { start: new Date(a).toISOString(), end: new Date(a + (evs[evs.length - 1]!.offsetMs % (WINDOW_MS / 2)) + 1).toISOString() },
        ];
        for (const sub of s.subs) {
          for (const period of periods) {
            const fromRollups = await rollupUsage(t.db, s.org.id, sub.subscriptionId, s.plan.charges, period);
            const fromRaw = await rawUsage(s, sub.subscriptionId, period);
            expect(fromRollups.map(sortBuckets)).toEqual(fromRaw.map(sortBuckets));
          }
        }
        await t.db('usage_rollups').where({ organization_id: s.org.id }).delete();
        await t.db('events').where({ organization_id: s.org.id }).delete();
      }),
      { numRuns: 40 },
    );
  });

  it('splits a period into whole rollup hours and raw partial edges', () => {
    expect(splitPeriod({ start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' })).toEqual({
      fromHour: new Date('2026-11-01T00:00:00.000Z'),
      toHour: new Date('2026-12-01T00:00:00.000Z'),
      rawRanges: [],
    });
    // Asia/Kolkata calendar month: +05:30 boundaries.
    expect(splitPeriod({ start: '2026-10-31T18:30:00.000Z', end: '2026-11-30T18:30:00.000Z' })).toEqual({
      fromHour: new Date('2026-10-31T19:00:00.000Z'),
      toHour: new Date('2026-11-30T18:00:00.000Z'),
      rawRanges: [
        { start: new Date('2026-10-31T18:30:00.000Z'), end: new Date('2026-10-31T19:00:00.000Z') },
        { start: new Date('2026-11-30T18:00:00.000Z'), end: new Date('2026-11-30T18:30:00.000Z') },
      ],
    });
    expect(splitPeriod({ start: '2026-11-01T10:10:00.000Z', end: '2026-11-01T10:50:00.000Z' }).rawRanges).toEqual([
      { start: new Date('2026-11-01T10:10:00.000Z'), end: new Date('2026-11-01T10:50:00.000Z') },
    ]);
  });

  it('reads raw events for a metric whose rollup rows lack a dimension key a charge needs (rolled up before the charge existed)', async () => {
    const s = await setup();
    const stale: RollupMetricSpec = { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens', dimKeys: [] };
    const period = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
    const rows = [
      { model: 'a', region: 'eu', tokens: 10 },
      { model: 'b', region: 'us', tokens: 250 },
      { model: 'b', region: 'eu', tokens: '1.5' },
    ].map((p, i) => ({
      organizationId: s.org.id, transactionId: `stale-${i}`, externalSubscriptionId: s.ref.externalSubscriptionId,
      subscriptionId: s.sub.id, code: 'tokens', timestamp: `2026-11-0${i + 1}T00:00:00.000Z`, properties: p, preciseTotalAmount: null,
    }));
    await insertEventsWithRollups(t.db, rows, () => stale);
    const fromRollups = await rollupUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period);
    const fromRaw = await rawUsage(s, s.sub.id, period);
    expect(fromRollups.map(sortBuckets)).toEqual(fromRaw.map(sortBuckets));
    // model b → filter 0 (tie with filter 1, lowest index wins); model a → filter 1 grouped by region: buckets
    // that need the model key, which the stale rollup rows do not have — only the raw path could produce them.
    expect(fromRollups[1]!.buckets.filter((b) => b.eventsCount > 0).map((b) => [b.filterIndex, b.groupedBy, b.units])).toEqual([
      [0, {}, '251.5'],
      [1, { region: 'eu' }, '10'],
    ]);
  });

  it('reports a non-numeric value of a sum metric as invalid_event_value (rolled up as invalid, then read from raw events)', async () => {
    const s = await setup();
    await ingestEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-02T00:00:00.000Z', properties: { tokens: 5 } },
      { code: 'tokens', timestamp: '2026-11-02T00:00:01.000Z', properties: { tokens: 'abc' } },
    ]);
    const row = await t.db('usage_rollups').where({ subscription_id: s.sub.id, metric_code: 'tokens' }).first();
    expect(Number(row.invalid_values_count)).toBe(1);
    await expect(
      rollupUsage(t.db, s.org.id, s.sub.id, s.plan.charges, { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' }),
    ).rejects.toMatchObject({ code: 'invalid_event_value' });
  });
});
