// The bench loader itself (bench/support/event-loader.ts): BENCH_EVENTS events (default 1,000,000) of one
// subscription over a 30-day period, loaded by the bulk path (BENCH_LOADER=bulk: bare heaps written by parallel
// connections, then the key table's primary key and the partition indexes built) and by the insert path
// (BENCH_LOADER=insert: INSERT ... SELECT into the indexed partitions, keys in the same statement), each into a
// fresh database. Prints each one's time and checks that both wrote the same data: a digest of every event (id
// relative to the load's first id, organization, transaction id, subscription, code, timestamp, properties,
// precise_total_amount, the partition it sits in) and of every key (transaction id → its event's relative id and
// timestamp), and the same indexes on the partitions. `npm run bench:load` (BENCH_LOADERS=bulk to skip the slow one).
import crypto from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import { loadEventSeries, openBenchDatabase } from './support/event-loader';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const LOADERS = (process.env.BENCH_LOADERS ?? 'bulk,insert').split(',');
const PERIOD = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const ORG = '00000000-0000-4000-8000-000000000001';
const SUB = '00000000-0000-4000-8000-000000000002';

async function digest(db: Knex): Promise<Record<string, string>> {
  const one = async (sql: string) => String((await db.raw(sql)).rows[0].d);
  return {
    events: await one(`SELECT count(*) || ':' || md5(string_agg(concat_ws('|', e.id - m.base, e.tableoid::regclass::text, e.organization_id, e.transaction_id, e.external_subscription_id, e.subscription_id, e.code, e."timestamp", e.properties::text, e.precise_total_amount), ',' ORDER BY e.id)) AS d
                       FROM events e, (SELECT min(id) AS base FROM events) m`),
    keys: await one(`SELECT count(*) || ':' || md5(string_agg(concat_ws('|', k.organization_id, k.transaction_id, k.event_id - m.base, k.event_timestamp), ',' ORDER BY k.transaction_id)) AS d
                     FROM event_transaction_ids k, (SELECT min(id) AS base FROM events) m`),
    indexes: await one(`SELECT string_agg(regexp_replace(indexdef, 'INDEX \\S+ ON', 'INDEX ON'), '; ' ORDER BY indexdef) AS d FROM pg_indexes WHERE tablename IN ('events_p202611', 'event_transaction_ids')`),
    constraints: await one(`SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conname) AS d FROM pg_constraint WHERE conrelid IN ('events_p202611'::regclass, 'event_transaction_ids'::regclass)`),
  };
}

async function main(): Promise<void> {
  console.log(`bench:load: ${EVENTS.toLocaleString('en-US')} events, loaders ${LOADERS.join(', ')}; ${os.cpus().length} CPUs (shared), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const digests: Record<string, string>[] = [];
  for (const loader of LOADERS) {
    process.env.BENCH_LOADER = loader;
    const bench = await openBenchDatabase(`load_${loader}`);
    try {
      const { db } = bench;
      await db('organizations').insert({ id: ORG, name: 'bench', slug: `bench-${crypto.randomBytes(4).toString('hex')}` });
      const r = await loadEventSeries(db, {
        organizationId: ORG, subscriptionId: SUB, externalSubscriptionId: 'sub', codes: ['a', 'b', 'c'], count: EVENTS, from: PERIOD.start, to: PERIOD.end,
        properties: `jsonb_build_object('model', (ARRAY['a','b','c','d'])[1 + g % 4], 'region', 'r' || (g % 7), 'v', (g % 1000))`,
        preciseTotalAmount: '(g % 100)::numeric / 100',
      });
      console.log(`  ${loader.padEnd(6)} ${r.seconds.toFixed(1)} s = ${r.eventsPerSec.toLocaleString('en-US')} events/s (load average ${os.loadavg()[0]!.toFixed(1)})`);
      const d = await digest(db);
      console.log(`         events ${d.events}, keys ${d.keys}`);
      digests.push(d);
    } finally {
      await bench.close();
    }
  }
  if (digests.length > 1) {
    const same = digests.every((d) => JSON.stringify(d) === JSON.stringify(digests[0]));
    if (!same) {
      console.log(JSON.stringify(digests, null, 2));
      throw new Error('the loaders wrote different data');
    }
    console.log('  same events, keys, indexes and constraints from every loader: OK');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
