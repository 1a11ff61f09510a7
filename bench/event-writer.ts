// The ingest writer's ONE statement alone, old dedup vs new, in ONE process on ONE Postgres, alternating the
// variants round by round (so a loaded machine slows every variant alike and the ratios stay meaningful).
// Run with `npm run bench:event-writer` (BENCH_ROUNDS, default 40).
//
//   Postgres  an embedded cluster in a temp dir (or DATABASE_URL's server: fresh databases, dropped after).
//   Variants  one database each, every migration applied, then:
//     trigger      migration 20261201002000 rolled back: the per-row BEFORE INSERT trigger events_dedup of
//                  20261201001900, and the app's statement as it was then (events inserted plainly, the
//                  trigger inserts each key and skips a duplicate) — main before this change;
//     set-based    as shipped: keys inserted set-based in the statement (db/repositories/events.ts
//                  eventInsertCtes), no trigger.
//   Load      per round and variant (variant order rotated each round): 20 statements of 1 event, 5 of 100
//             and 1 of 1,000 (5% of each batch already stored: acknowledged duplicates), through the API's ingest
//             step (insertEventsWithRollups: events + rollups, one autocommit statement), one connection,
//             as bench:ingest sends them: sum_agg `tokens`, 50 subscriptions round robin, timestamp now. Every statement's inserted
//             count is checked (the duplicates must come back as not inserted, in every variant).
//   Prints    per variant and batch size: median and p90 statement time (wall), the Postgres backend's CPU per
//             statement (mean, from /proc: what the statement cost whatever the machine's load), and the ratios
//             to `trigger`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { createDb, migrateLatest } from '../db/knexfile';
import { EVENT_RECORD_COLUMNS, eventRecord, insertedEvents, pgQuery, sortedForInsert, type EventRow, type InsertedEvent } from '../db/repositories/events';
import { insertEventsWithRollups, isRolledUp, loadRollupMetricSpecs, rollupUpsertFrom, type RollupMetricSpec } from '../db/repositories/rollups';
import { NUMERIC_TEXT_RE } from '../db/repositories/usage';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../dev/postgres';
import { freePort } from '../dev/temporal';
import { percentile } from './support/stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
/** Statement sizes and how many of each per round and variant (a batch of n carries n/20 duplicates). */
const SIZES = [
  { size: 1, perRound: 20 },
  { size: 100, perRound: 5 },
  { size: 1000, perRound: 1 },
] as const;
type Size = (typeof SIZES)[number]['size'];
const SUBSCRIPTIONS = 50;
const SET_BASED_MIGRATION = '20261201002000_events_set_based_dedup';

// The app's ingest statement before 20261201002000 (db/repositories/rollups.ts INGEST_SQL at f7cc17c): the
// events inserted plainly, the events_dedup row trigger doing the dedup. Kept here only to measure against.
// insert-path-ok: runs only on the `trigger` database (20261201002000 rolled back), where the row trigger dedups
const TRIGGER_INGEST_SQL = `WITH src AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD_COLUMNS}, dims jsonb, val text)),
ins AS (INSERT INTO events (organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount)
    SELECT o, t, e, s, c, ts, p, a FROM src
    RETURNING organization_id, transaction_id, lago_id::text AS id, created_at),
roll AS (${rollupUpsertFrom('ins JOIN src ON src.o = ins.organization_id AND src.t = ins.transaction_id WHERE src.dims IS NOT NULL')})
SELECT organization_id, transaction_id, id, created_at FROM ins`;

type Insert = (db: Knex, rows: EventRow[]) => Promise<InsertedEvent[]>;

interface Variant {
  name: string;
  db: Knex;
  insert: Insert;
  ms: Record<Size, number[]>;
  /** Postgres backend CPU (ms, /proc ticks) summed per size: robust to the machine's load, unlike wall time. */
  cpuMs: Record<Size, number>;
  backendPid: number;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** utime + stime of a process in ms (NaN when /proc cannot be read). */
function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

async function seed(db: Knex): Promise<{ orgId: string; subIds: string[]; specs: Map<string, RollupMetricSpec> }> {
  const [org] = await db('organizations').insert({ name: 'bench', slug: `bench-${crypto.randomBytes(4).toString('hex')}` }).returning('id');
  await db('billable_metrics').insert({ organization_id: org.id, code: 'tokens', name: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens', filters: '[]' });
  return { orgId: org.id as string, subIds: Array.from({ length: SUBSCRIPTIONS }, () => crypto.randomUUID()), specs: await loadRollupMetricSpecs(db, org.id as string) };
}

function triggerInsert(specs: Map<string, RollupMetricSpec>): Insert {
  return async (db, rows) => {
    const records = sortedForInsert(rows).map((r) => {
      const spec = specs.get(r.code)!;
      return isRolledUp(spec) ? eventRecord(r, {}, String(r.properties[spec.fieldName!])) : eventRecord(r);
    });
    return insertedEvents(await pgQuery(db, 'bench_trigger_ingest', TRIGGER_INGEST_SQL, [JSON.stringify(records), NUMERIC_TEXT_RE]));
  };
}

function setBasedInsert(specs: Map<string, RollupMetricSpec>): Insert {
  return (db, rows) => insertEventsWithRollups(db, rows, (_o, code) => specs.get(code));
}

function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(3) : ms.toFixed(1);
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-bench-event-writer-'));
  fs.chmodSync(tmp, 0o755);
  let pgServer: RunningPostgres | null = null;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    pgServer = await startEmbeddedPostgres(path.join(tmp, 'pg'), await freePort());
    serverUrl = pgServer.url;
  }
  const suffix = crypto.randomBytes(4).toString('hex');
  const dbs: { name: string; db: Knex }[] = [];
  try {
    const open = async (variant: string): Promise<Knex> => {
      const name = `bench_event_writer_${variant.replace(/-/g, '_')}_${suffix}`;
      await ensureDatabase(serverUrl, name);
      const db = createDb(withDatabase(serverUrl, name), 1);
      dbs.push({ name, db });
      await migrateLatest(db);
      return db;
    };
    const variants: Variant[] = [];
    const tdb = await open('trigger');
    await tdb.migrate.down({ name: SET_BASED_MIGRATION });
    const tseed = await seed(tdb);
    variants.push({ name: 'trigger', db: tdb, insert: triggerInsert(tseed.specs), ms: { 1: [], 100: [], 1000: [] }, cpuMs: { 1: 0, 100: 0, 1000: 0 }, backendPid: 0 });
    const sdb = await open('set-based');
    const sseed = await seed(sdb);
    variants.push({ name: 'set-based', db: sdb, insert: setBasedInsert(sseed.specs), ms: { 1: [], 100: [], 1000: [] }, cpuMs: { 1: 0, 100: 0, 1000: 0 }, backendPid: 0 });
    const seeds = new Map<string, { orgId: string; subIds: string[] }>([['trigger', tseed], ['set-based', sseed]]);

    const row = (v: string, tx: string, i: number): EventRow => {
      const s = seeds.get(v)!;
      return {
        organizationId: s.orgId,
        transactionId: tx,
        externalSubscriptionId: `ext-${i % SUBSCRIPTIONS}`,
        subscriptionId: s.subIds[i % SUBSCRIPTIONS]!,
        code: 'tokens',
        timestamp: new Date().toISOString(),
        properties: { tokens: 1 + (i % 1000) },
        preciseTotalAmount: null,
      };
    };

    console.log(
      `bench:event-writer: ${ROUNDS} rounds x (${SIZES.map((s) => `${s.perRound} statement(s) of ${s.size}`).join(' + ')} events, 5% of each batch already stored) per variant, ` +
        `variants alternated; ${os.cpus().length} CPUs (shared), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
    let seq = 0;
    const written = new Map<string, string[]>(variants.map((v) => [v.name, []]));
    const timed = async (v: Variant, size: Size, rows: EventRow[], expectInserted: number) => {
      const c0 = processCpuMs(v.backendPid);
      const t0 = performance.now();
      const inserted = await v.insert(v.db, rows);
      v.ms[size].push(performance.now() - t0);
      v.cpuMs[size] += processCpuMs(v.backendPid) - c0;
      if (inserted.length !== expectInserted) throw new Error(`${v.name}: ${inserted.length} inserted, expected ${expectInserted}`);
    };
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      const base = seq;
      seq += SIZES.reduce((n, s) => n + s.size * s.perRound, 0);
      for (const v of order) {
        v.backendPid = Number((await v.db.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid); // pool of 1: the statements' connection
        let i = base;
        const mine = written.get(v.name)!;
        for (const { size, perRound } of SIZES) {
          const dups = size === 1 ? 0 : size / 20;
          for (let b = 0; b < perRound; b++) {
            const rows: EventRow[] = [];
            for (let k = 0; k < size - dups; k++, i++) rows.push(row(v.name, `e-${i}`, i));
            for (let d = 0; d < dups; d++) rows.push(row(v.name, mine[(d * 7919 + b) % mine.length]!, d)); // already stored
            await timed(v, size, rows, size - dups);
            for (const r of rows.slice(0, size - dups)) mine.push(r.transactionId);
          }
        }
      }
    }
    for (const v of variants) {
      const [{ n }] = (await v.db('events').count<{ n: string }[]>('* as n')) as { n: string }[];
      const [{ k }] = (await v.db('event_transaction_ids').count<{ k: string }[]>('* as k')) as { k: string }[];
      if (Number(n) !== written.get(v.name)!.length || Number(k) !== Number(n)) throw new Error(`${v.name}: ${n} events / ${k} keys, expected ${written.get(v.name)!.length}`);
    }
    const med = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 50);
    const p90 = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 90);
    const ref = variants[0]!;
    for (const { size } of SIZES) {
      console.log(`\nstatements of ${size} event${size === 1 ? '' : 's'} (${ref.ms[size].length} per variant):`);
      for (const v of variants) {
        const ratio = med(v.ms[size]) / med(ref.ms[size]);
        const cpu = v.cpuMs[size] / v.ms[size].length;
        const refCpu = ref.cpuMs[size] / ref.ms[size].length;
        console.log(
          `  ${v.name.padEnd(10)} median ${fmt(med(v.ms[size])).padStart(7)} ms   p90 ${fmt(p90(v.ms[size])).padStart(7)} ms   ` +
            `median / trigger ${ratio.toFixed(2)}   Postgres CPU ${fmt(cpu).padStart(7)} ms/statement (/ trigger ${(cpu / refCpu).toFixed(2)})`,
        );
      }
    }
    console.log(`\nevery variant stored exactly the events it acknowledged (one key each); load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const d of dbs) await d.db.destroy();
    if (process.env.DATABASE_URL) {
      const admin = createDb(serverUrl, 1);
      for (const d of dbs) await admin.raw(`DROP DATABASE IF EXISTS "${d.name}" WITH (FORCE)`);
      await admin.destroy();
    }
    if (pgServer) await pgServer.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
