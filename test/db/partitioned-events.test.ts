// The events table partitioned by month (migration 20261201001900) against real Postgres: the migration moves a
// populated table without losing a row, dedup of (organization_id, transaction_id) stays exact across
// partitions (and for concurrent writers), the maintenance activity creates months ahead (moving default-partition
// rows) and drops only partitions past the retention whose every event is invoiced.
import type { Knex } from 'knex';
import { createEventPartitionActivities } from '../../activities/event-partitions';
import { insertEvents, insertEventsSelect, type EventRow } from '../../db/repositories/events';
import { insertEventsWithRollups, loadRollupMetricSpecs } from '../../db/repositories/rollups';
import { listEventPartitions } from '../../db/repositories/event-partitions';
import { createBillingSetup } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const MIGRATION = '20261201001900_partitioned_events';
// Applied after MIGRATION (it drops MIGRATION's row trigger): rolled back first, re-applied last.
const SET_BASED_DEDUP = '20261201002000_events_set_based_dedup';
// Applied after SET_BASED_DEDUP (the keys locate their events): rolled back before it, re-applied after it.
const KEYED = '20261201002700_event_keys_locate_events';

async function newOrg(db: Knex): Promise<string> {
  const [org] = await db('organizations').insert({ name: 'o', slug: `o-${Math.random().toString(36).slice(2)}` }).returning('id');
  return org.id as string;
}

function row(org: string, tx: string, ts: string, sub: string | null = null): EventRow {
  return { organizationId: org, transactionId: tx, externalSubscriptionId: 'ext', subscriptionId: sub as string, code: 'calls', timestamp: ts, properties: { n: 1 }, preciseTotalAmount: null };
}

async function partitionOf(db: Knex, org: string, tx: string): Promise<string> {
  const r = await db.raw(`SELECT tableoid::regclass::text AS p FROM events WHERE organization_id = ? AND transaction_id = ?`, [org, tx]);
  return r.rows[0]?.p;
}

describe('partitioned events', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('part');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('the migration moves a populated unpartitioned table: every row, id and key kept, rows routed to their month', async () => {
    await t.db.migrate.down({ name: KEYED });
    await t.db.migrate.down({ name: SET_BASED_DEDUP });
    await t.db.migrate.down({ name: MIGRATION });
    const isPartitioned = async () => (await t.db.raw(`SELECT relkind FROM pg_class WHERE relname = 'events'`)).rows[0].relkind === 'p';
    expect(await isPartitioned()).toBe(false);
    const org = await newOrg(t.db);
    // 5,000 events over 2024-11 .. 2025-02 (four months) plus one in 2031-06: every month with rows gets its partition.
    await t.db.raw(
      // insert-path-ok: the unpartitioned table before MIGRATION (its UNIQUE (organization_id, transaction_id) dedups)
      `INSERT INTO events (organization_id, transaction_id, external_subscription_id, code, "timestamp", properties)
       SELECT ?, 'old-' || g, 'ext', 'calls', timestamptz '2024-11-01T00:00:00Z' + (g * interval '30 minutes'), jsonb_build_object('n', g)
       FROM generate_series(0, 4999) g`,
      [org],
    );
    // insert-path-ok: the unpartitioned table before MIGRATION
    await t.db('events').insert({ organization_id: org, transaction_id: 'far-future', external_subscription_id: 'ext', code: 'calls', timestamp: new Date('2031-06-01T00:00:00Z') });
    const before = await t.db.raw(`SELECT count(*)::int AS n, sum(id)::text AS ids, string_agg(lago_id::text, ',' ORDER BY id) AS lago, sum((properties->>'n')::numeric)::text AS s FROM events`);

    await t.db.migrate.up({ name: MIGRATION });
    await t.db.migrate.up({ name: SET_BASED_DEDUP });
    await t.db.migrate.up({ name: KEYED });
    expect(await isPartitioned()).toBe(true);
    const after = await t.db.raw(`SELECT count(*)::int AS n, sum(id)::text AS ids, string_agg(lago_id::text, ',' ORDER BY id) AS lago, sum((properties->>'n')::numeric)::text AS s FROM events`);
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(after.rows[0].n).toBe(5001);
    // Every moved key names its event's primary key (20261201002700's backfill): the reads by transaction id use it.
    const unlocated = await t.db.raw(
      `SELECT count(*)::int AS n FROM event_transaction_ids k
       LEFT JOIN events e ON e.id = k.event_id AND e."timestamp" = k.event_timestamp AND e.organization_id = k.organization_id AND e.transaction_id = k.transaction_id
       WHERE k.organization_id = ? AND e.id IS NULL`,
      [org],
    );
    expect(unlocated.rows[0].n).toBe(0);
    expect((await t.db.raw(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'events' AND indexname = 'events_organization_id_transaction_id_index'`)).rows[0].n).toBe(0);
    const names = (await listEventPartitions(t.db)).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['events_default', 'events_p203106', 'events_p202411', 'events_p202412', 'events_p202501', 'events_p202502']));
    expect(await partitionOf(t.db, org, 'old-0')).toBe('events_p202411');
    expect(await partitionOf(t.db, org, 'old-4999')).toBe('events_p202502');
    expect(await partitionOf(t.db, org, 'far-future')).toBe('events_p203106');
    // The moved keys still dedup: re-sending an old transaction id inserts nothing.
    expect(await insertEvents(t.db, [row(org, 'old-17', '2026-01-05T00:00:00Z')])).toEqual([]);
    // Ids keep growing from the same sequence.
    const [fresh] = await insertEvents(t.db, [row(org, 'fresh-1', '2025-01-05T00:00:00Z')]);
    expect(fresh).toBeDefined();
    const maxOld = Number((await t.db.raw(`SELECT max(id) AS m FROM events WHERE transaction_id <> 'fresh-1'`)).rows[0].m);
    const freshId = Number((await t.db.raw(`SELECT id FROM events WHERE transaction_id = 'fresh-1'`)).rows[0].id);
    expect(freshId).toBeGreaterThan(maxOld);
  });

  it('a transaction id is one event across partitions: a replay with another timestamp (another month) is skipped', async () => {
    const org = await newOrg(t.db);
    const first = await insertEvents(t.db, [row(org, 'tx-a', '2025-01-10T00:00:00Z')]);
    expect(first).toHaveLength(1);
    expect(await insertEvents(t.db, [row(org, 'tx-a', '2025-02-10T00:00:00Z'), row(org, 'tx-b', '2025-02-10T00:00:00Z')])).toEqual([
      expect.objectContaining({ transactionId: 'tx-b' }),
    ]);
    expect(await insertEvents(t.db, [row(org, 'tx-a', '2031-01-01T00:00:00Z')])).toEqual([]);
    const n = await t.db('events').where({ organization_id: org, transaction_id: 'tx-a' }).count<{ count: string }[]>('* as count');
    expect(Number(n[0]!.count)).toBe(1);
    // Another organization may use the same transaction id.
    expect(await insertEvents(t.db, [row(await newOrg(t.db), 'tx-a', '2025-03-10T00:00:00Z')])).toHaveLength(1);
  });

  it('a duplicate transaction_id in another monthly partition is rejected by the API ingest step and the bulk loader; the row trigger is gone', async () => {
    const setup = await createBillingSetup(t.db, { metrics: [{ code: 'calls', aggregationType: 'count_agg' }], charges: () => [] });
    const org = setup.org.id;
    await t.db.raw(`SELECT meterline_ensure_event_partition('2030-05-01'), meterline_ensure_event_partition('2030-06-01')`);
    const specs = await loadRollupMetricSpecs(t.db, org);
    const lookup = (_o: string, code: string) => specs.get(code);
    const may = await insertEventsWithRollups(t.db, [row(org, 'dup-1', '2030-05-31T23:59:59.999Z', setup.sub.id)], lookup);
    expect(may).toHaveLength(1);
    // The same transaction id one millisecond later, in the June partition, alone and inside a batch: not inserted.
    expect(await insertEventsWithRollups(t.db, [row(org, 'dup-1', '2030-06-01T00:00:00.000Z', setup.sub.id)], lookup)).toEqual([]);
    const batch = await insertEventsWithRollups(t.db, [row(org, 'dup-1', '2030-06-15T00:00:00Z', setup.sub.id), row(org, 'new-1', '2030-06-15T00:00:00Z', setup.sub.id)], lookup);
    expect(batch.map((e) => e.transactionId)).toEqual(['new-1']);
    expect(await partitionOf(t.db, org, 'dup-1')).toBe('events_p203005');
    expect(await partitionOf(t.db, org, 'new-1')).toBe('events_p203006');
    const stored = await t.db('events').where({ organization_id: org, transaction_id: 'dup-1' }).select('lago_id');
    expect(stored.map((r) => r.lago_id)).toEqual([may[0]!.id]);
    // Only the first event was rolled up (count 1 in May, 1 in June for new-1).
    const rolled = await t.db('usage_rollups').where({ organization_id: org }).select(t.db.raw('sum(events_count)::int AS n'));
    expect(rolled[0].n).toBe(2);
    // The bulk loader refuses a known transaction id outright: nothing of the load is written.
    await expect(
      insertEventsSelect(t.db, `SELECT ?::uuid, x, 'ext', NULL::uuid, 'calls', timestamptz '2030-06-20T00:00:00Z', '{}'::jsonb, NULL::numeric FROM unnest(?::text[]) AS x`, [org, ['bulk-1', 'dup-1']]),
    ).rejects.toThrow(/duplicate key/);
    expect(await t.db('events').where({ organization_id: org, transaction_id: 'bulk-1' }).count<{ count: number }[]>('* as count')).toEqual([{ count: 0 }]);
    expect(await t.db('event_transaction_ids').where({ organization_id: org, transaction_id: 'bulk-1' }).count<{ count: number }[]>('* as count')).toEqual([{ count: 0 }]);
    const triggers = await t.db.raw(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal`);
    expect(triggers.rows).toEqual([]);
  });

  it('concurrent inserts of the same transaction ids in different months store each id once', async () => {
    const org = await newOrg(t.db);
    const ids = Array.from({ length: 200 }, (_, i) => `c-${i}`);
    const results = await Promise.all(
      ['2025-01-15T00:00:00Z', '2025-02-15T00:00:00Z', '2025-03-15T00:00:00Z', '2031-01-01T00:00:00Z'].map((ts) => insertEvents(t.db, ids.map((id) => row(org, id, ts)))),
    );
    expect(results.reduce((a, r) => a + r.length, 0)).toBe(200);
    const n = await t.db('events').where({ organization_id: org }).countDistinct<{ count: string }[]>('transaction_id as count');
    const total = await t.db('events').where({ organization_id: org }).count<{ count: string }[]>('* as count');
    expect([Number(n[0]!.count), Number(total[0]!.count)]).toEqual([200, 200]);
  });

  it('maintenance creates the months ahead, moving the default partition rows of a new month into it', async () => {
    const org = await newOrg(t.db);
    await insertEvents(t.db, [row(org, 'early', '2031-03-03T00:00:00Z')]);
    expect(await partitionOf(t.db, org, 'early')).toBe('events_default');
    const act = createEventPartitionActivities({ db: t.db, aheadMonths: 2, retentionMonths: null });
    const r = await act.maintainEventPartitions({ now: '2031-02-20T00:00:00Z' });
    expect(r.created).toEqual(['events_p203102', 'events_p203103', 'events_p203104']);
    expect(await partitionOf(t.db, org, 'early')).toBe('events_p203103');
    expect((await act.maintainEventPartitions({ now: '2031-02-20T00:00:00Z' })).created).toEqual([]);
    // The dedup holds for the new partition too.
    expect(await insertEvents(t.db, [row(org, 'early', '2031-03-09T00:00:00Z')])).toEqual([]);
  });

  it('retention drops a partition past the retention only once every event in it is invoiced; the keys survive', async () => {
    const db = t.db;
    const setup = await createBillingSetup(db, { metrics: [{ code: 'calls', aggregationType: 'count_agg' }], charges: () => [], subscriptionAt: '2024-10-15T00:00:00Z' });
    const org = setup.org.id;
    const cust = { id: setup.customer.id };
    const sub = { id: setup.sub.id };
    await db.raw(`SELECT meterline_ensure_event_partition('2024-11-01')`);
    await insertEvents(db, [row(org, 'ret-1', '2024-11-03T00:00:00Z', sub.id), row(org, 'ret-2', '2024-11-29T00:00:00Z', sub.id)]);
    const invoice = async (start: string, end: string, status: string) =>
      (await db('invoices').insert({ organization_id: org, customer_id: cust.id, subscription_id: sub.id, invoice_type: 'subscription', status, period_start: new Date(start), period_end: new Date(end), currency: 'EUR' }).returning('id'))[0].id as string;
    // Periods on the 15th: [Oct 15, Nov 15) finalized, [Nov 15, Dec 15) still a draft.
    await invoice('2024-10-15Z', '2024-11-15Z', 'finalized');
    const draft = await invoice('2024-11-15Z', '2024-12-15Z', 'draft');
    const act = createEventPartitionActivities({ db, aheadMonths: 1, retentionMonths: 12 });

    const kept = await act.maintainEventPartitions({ now: '2026-01-10T00:00:00Z' });
    expect(kept.keptNotInvoiced).toContain('events_p202411');
    expect(kept.dropped).not.toContain('events_p202411');
    expect(await partitionOf(db, org, 'ret-2')).toBe('events_p202411');

    // failed13: a failed invoice is not billed yet (its retry rates these events again): the partition stays.
    await db('invoices').where({ id: draft }).update({ status: 'failed' });
    expect((await act.maintainEventPartitions({ now: '2026-01-10T00:00:00Z' })).keptNotInvoiced).toContain('events_p202411');

    await db('invoices').where({ id: draft }).update({ status: 'finalized' });
    // Not yet past a 13-month retention on 2025-12-10 (the month ended 2024-12-01: droppable from 2026-01-01 on).
    const early = await createEventPartitionActivities({ db, aheadMonths: 1, retentionMonths: 13 }).maintainEventPartitions({ now: '2025-12-10T00:00:00Z' });
    expect(early.dropped).not.toContain('events_p202411');
    expect(early.keptNotInvoiced).not.toContain('events_p202411');

    const done = await act.maintainEventPartitions({ now: '2026-01-10T00:00:00Z' });
    expect(done.dropped).toContain('events_p202411');
    expect((await listEventPartitions(db)).map((p) => p.name)).not.toContain('events_p202411');
    expect(await partitionOf(db, org, 'ret-1')).toBeUndefined();
    // A replay of a dropped, invoiced event is still a duplicate.
    expect(await insertEvents(db, [row(org, 'ret-1', '2024-11-03T00:00:00Z', sub.id)])).toEqual([]);
  });
});
