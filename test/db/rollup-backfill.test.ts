// rollups:backfill paging (db/repositories/rollup-backfill.ts) against real Postgres (issue 14: the 1M-event backfill
// never finished). Events with sub-millisecond timestamps (an ISO timestamp with microseconds, or a Lago
// float-seconds timestamp) over several pages of one (subscription, metric, day): the backfill terminates, rolls
// every event up exactly once (Σ events_count, Σ v and max equal a SQL aggregate of the events), and the close read
// from those rollups equals the raw scan. Before the fix the page cursor was a JS Date (milliseconds), so the last
// page re-read its own last row for ever and every page boundary counted a row twice. Also: the page query is
// served by the (subscription_id, code, "timestamp", id) index with the keyset row comparison as an index condition (no sort).
import { loadPlan } from '../../db/repositories/plans';
import { backfillRollups } from '../../db/repositories/rollup-backfill';
import { sqlUsage, sqlUsageFromEvents } from '../../usage/sql-usage';
import { createBillingSetup } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';
import { insertEventsSelect } from '../../db/repositories/events';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('rollbackfill');
});
afterAll(async () => {
  await t.drop();
});

async function setup() {
  const s = await createBillingSetup(t.db, {
    metrics: [{ code: 'gpu', aggregationType: 'sum_agg', fieldName: 'v', filters: [{ key: 'model', values: ['a', 'b'] }] }],
    charges: (ms) => [{ metricId: ms[0]!.id, properties: { amount: '0.01' }, filters: [{ properties: { amount: '0.02' }, values: { model: ['a'] } }] }],
  });
  return { ...s, plan: await loadPlan(t.db, s.org.id, s.plan.id) };
}

/** n events of `gpu` from 2026-11-03, g-th at 00:00 + g × 61.000037 s (microsecond digits on every one, the last included). */
async function insertMicrosecondEvents(s: Awaited<ReturnType<typeof setup>>, n: number): Promise<void> {
  await insertEventsSelect(
    t.db,
    `SELECT ?::uuid, 'us-' || g, ?, ?::uuid, 'gpu', timestamptz '2026-11-03T00:00:00Z' + g * interval '61.000037 seconds',
            jsonb_build_object('model', (ARRAY['a','b'])[1 + g % 2], 'v', g % 13), NULL::numeric
     FROM generate_series(0, ? - 1) AS g`,
    [s.org.id, s.sub.externalId, s.sub.id, n],
  );
}

describe('rollups:backfill paging', () => {
  it('terminates and rolls each event up exactly once when timestamps have microseconds and the day spans many pages', async () => {
    const s = await setup();
    await insertMicrosecondEvents(s, 200);
    const r = await backfillRollups(t.db, { organizationId: s.org.id, pageSize: 7 });
    expect(r.events).toBe(200);
    const [rolled] = (await t.db.raw('SELECT sum(events_count)::int AS n, sum(sum)::text AS sum, max(max)::text AS max FROM usage_rollups WHERE organization_id = ?', [s.org.id])).rows;
    const [raw] = (await t.db.raw(`SELECT count(*)::int AS n, sum((properties->>'v')::numeric)::text AS sum, max((properties->>'v')::numeric)::text AS max FROM events WHERE organization_id = ?`, [s.org.id])).rows;
    expect(rolled).toEqual(raw);
    expect(raw.n).toBe(200);
    const period = { start: '2026-11-02T12:00:00.000Z', end: '2026-11-04T00:00:00.000Z' };
    expect(await sqlUsage(t.db, s.org.id, s.sub.id, s.plan.charges, period)).toEqual(await sqlUsageFromEvents(t.db, s.org.id, s.sub.id, s.plan.charges, period));
  });

  it('the page query uses the (subscription_id, code, timestamp, id) index with the ("timestamp", id) row comparison as an index condition and no sort', async () => {
    const s = await setup();
    await insertMicrosecondEvents(s, 20_000); // 14 days: the plan of a realistic table, not of a 50-row one
    await t.db.raw('ANALYZE events');
    const plan = (
      await t.db.raw(
        `EXPLAIN (FORMAT TEXT) SELECT id::text AS id_key, "timestamp", "timestamp"::text AS ts_key, properties FROM events
         WHERE organization_id = ? AND subscription_id = ? AND code = ? AND "timestamp" >= ? AND "timestamp" < ?
           AND ("timestamp", id) > (?::timestamptz, ?::bigint)
         ORDER BY "timestamp", id LIMIT ?`,
        [s.org.id, s.sub.id, 'gpu', '2026-11-03T00:00:00Z', '2026-11-04T00:00:00Z', '2026-11-03 00:10:10.000370+00', '1', 7],
      )
    ).rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index Cond: .*ROW\("timestamp", id\) > ROW/);
    expect(plan).toMatch(/Index Scan using events_\w*subscription_id_code_timestamp_id\w*_idx|Index Scan using events_subscription_id_code_timestamp_index/);
    expect(plan).not.toMatch(/Sort/);
  });
});
