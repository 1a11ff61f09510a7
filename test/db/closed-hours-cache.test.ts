// The current-usage cache of closed hours (usage/closed-hours-cache.ts) against real Postgres: two cache instances
// over one database stand for two API processes. Every read through a cache must equal the uncached rollup read
// (usage/period-usage.ts rollupUsageSource) at that moment: after a late event ingested through "the other
// process", after a late event whose transaction was still open while newer events committed (the cursor must not
// move past it), and after a rollup rewrite (backfill). Events of the open hours do not refill the cache.
import type { Knex } from 'knex';
import type { Charge, Period } from '../../billing/types';
import { loadPlan } from '../../db/repositories/plans';
import { backfillRollups } from '../../db/repositories/rollup-backfill';
import { ClosedHoursCache } from '../../usage/closed-hours-cache';
import { rollupUsageSource, type UsageScope } from '../../usage/period-usage';
import { createBillingSetup, ingestEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('closedhours');
});
afterAll(async () => {
  await t.drop();
});

const PERIOD: Period = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
/** The caches' wall clock: 2026-11-20 10:30 UTC: the open window is 09:00-11:00 that day, every other hour is cached. */
const NOW = () => Date.parse('2026-11-20T10:30:00.000Z');

async function setup() {
  const s = await createBillingSetup(t.db, {
    metrics: [{ code: 'tok', aggregationType: 'sum_agg', fieldName: 'v', filters: [{ key: 'model', values: ['a', 'b'] }] }],
    charges: (ms) => [{ metricId: ms[0]!.id, properties: { amount: '0.01', pricing_group_keys: ['region'] }, filters: [{ properties: { amount: '0.02' }, values: { model: ['a'] } }] }],
  });
  const plan = await loadPlan(t.db, s.org.id, s.plan.id);
  const scope: UsageScope = { organizationId: s.org.id, subscriptionId: s.sub.id };
  const ev = (timestamp: string, v: number, model = 'a', region = 'eu') => ({ code: 'tok', timestamp, properties: { v, model, region } });
  return { s, charges: plan.charges, scope, ev };
}

async function expectExact(cache: ClosedHoursCache, db: Knex, scope: UsageScope, charges: Charge[]): Promise<void> {
  const cached = await cache.usageSource(db, scope, charges, PERIOD);
  const uncached = await rollupUsageSource(db, scope, charges, PERIOD);
  expect(cached).toEqual(uncached);
}

/**
 * Reads until the cache has stored `fills` ranges: a cache stores nothing until its cursor is proven safe, and an
 * open transaction of another test file on the same Postgres (jest runs two at once) can hold the snapshot's xmin
 * back for a while. Every read is still checked exact.
 */
async function warm(cache: ClosedHoursCache, db: Parameters<typeof expectExact>[1], scope: Parameters<typeof expectExact>[2], charges: Parameters<typeof expectExact>[3], fills: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await expectExact(cache, db, scope, charges);
    if (cache.stats.fills >= fills || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('closed-hours cache of current usage', () => {
  it('serves closed hours from memory and sees a late event ingested through another process at its next read', async () => {
    const { s, charges, scope, ev } = await setup();
    await ingestEvents(t.db, s.ref, [ev('2026-11-02T03:10:00Z', 5), ev('2026-11-10T12:00:00Z', 7, 'b', 'us'), ev('2026-11-20T10:05:00Z', 11)]);
    const a = new ClosedHoursCache(t.db, { now: NOW });
    const b = new ClosedHoursCache(t.db, { now: NOW });
    await warm(a, t.db, scope, charges, 2);
    await expectExact(b, t.db, scope, charges);
    await expectExact(a, t.db, scope, charges);
    expect(a.stats.fills).toBe(2); // the hours before the open window and the hours after it
    expect(a.stats.hits).toBeGreaterThanOrEqual(1);

    // A late event (a closed hour) through "process b"'s writer: "process a" counts it at once.
    await ingestEvents(t.db, s.ref, [ev('2026-11-05T08:00:00Z', 1000, 'b', 'ap')]);
    const after = await a.usageSource(t.db, scope, charges, PERIOD);
    expect(after).toEqual(await rollupUsageSource(t.db, scope, charges, PERIOD));
    expect(JSON.stringify(after)).toContain('"ap"');
    expect(a.stats.invalidations).toBe(1);
    await expectExact(b, t.db, scope, charges);
  });

  it('an event of the open hours adds to the answer without refilling the closed hours', async () => {
    const { s, charges, scope, ev } = await setup();
    await ingestEvents(t.db, s.ref, [ev('2026-11-03T00:00:00Z', 2)]);
    const a = new ClosedHoursCache(t.db, { now: NOW });
    await expectExact(a, t.db, scope, charges);
    await ingestEvents(t.db, s.ref, [ev('2026-11-20T09:59:59.999Z', 3), ev('2026-11-20T10:20:00Z', 4)]);
    await expectExact(a, t.db, scope, charges);
    expect(a.stats.fills).toBe(2);
    expect(a.stats.invalidations).toBe(0);
  });

  it('does not move its cursor past a late event whose transaction was open while newer events committed', async () => {
    const { s, charges, scope, ev } = await setup();
    await ingestEvents(t.db, s.ref, [ev('2026-11-04T00:00:00Z', 1)]);
    const a = new ClosedHoursCache(t.db, { now: NOW });
    await expectExact(a, t.db, scope, charges);
    const trx = await t.db.transaction();
    try {
      // The late event draws its id first, then stays uncommitted while a newer event commits and reads run.
      await ingestEvents(trx as unknown as Knex, s.ref, [ev('2026-11-06T06:00:00Z', 500, 'b', 'sa')]);
      await ingestEvents(t.db, s.ref, [ev('2026-11-20T10:25:00Z', 1)]);
      await expectExact(a, t.db, scope, charges);
      await expectExact(a, t.db, scope, charges);
      await trx.commit();
    } catch (err) {
      await trx.rollback();
      throw err;
    }
    const after = await a.usageSource(t.db, scope, charges, PERIOD);
    expect(after).toEqual(await rollupUsageSource(t.db, scope, charges, PERIOD));
    expect(JSON.stringify(after)).toContain('"sa"');
  });

  it('drops what it holds when rollups are rewritten without new events (backfill)', async () => {
    const { s, charges, scope, ev } = await setup();
    await ingestEvents(t.db, s.ref, [ev('2026-11-07T00:00:00Z', 9)]);
    const a = new ClosedHoursCache(t.db, { now: NOW });
    await expectExact(a, t.db, scope, charges);
    // Simulate rollups that lost a row (as before a backfill), then the backfill restores them.
    await t.db('usage_rollups').where({ subscription_id: s.sub.id }).update({ sum: 0 });
    const b = new ClosedHoursCache(t.db, { now: NOW });
    await warm(b, t.db, scope, charges, 2); // b holds the damaged totals
    await backfillRollups(t.db, { organizationId: s.org.id });
    await expectExact(b, t.db, scope, charges);
    await expectExact(a, t.db, scope, charges);
    expect(b.stats.fills).toBe(4);
  });
});
