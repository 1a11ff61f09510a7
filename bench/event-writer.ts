// The ingest writer's ONE statement alone, the base's unpartitioned table vs the partitioned one, in ONE
// process on ONE Postgres, alternating the variants round by round (so a loaded machine slows every variant
// alike and the ratios stay meaningful). Run with `npm run bench:event-writer` (BENCH_ROUNDS, default 40).
//
//   Postgres  an embedded cluster in a temp dir, with pg_stat_statements (planning and execution time, buffers
//             and WAL per statement); or DATABASE_URL's server (fresh databases, dropped after; the
//             pg_stat_statements lines then only print if that server preloads it).
//   Variants  one database each, every migration applied, then:
//     unpartitioned  20261201002700, 2400, 2000 and 1900 rolled back: the base 5a8a9de events table (UNIQUE
//                    (organization_id, transaction_id), ON CONFLICT DO NOTHING) with today's rollups — the
//                    reference of the ratios;
//     set-based      20261201002700 rolled back: the partitioned table, keys inserted set-based in the statement
//                    (migration 20261201002000) and a per-partition (organization_id, transaction_id) index —
//                    main before 20261201002700;
//     keyed          as shipped: the key row carries its event's id and timestamp, no (organization_id,
//                    transaction_id) index on events (migration 20261201002700, db/repositories/events.ts).
//   Load      per round and variant (variant order rotated each round): 20 statements of 1 event, 5 of 100
//             and 1 of 1,000 (5% of each batch already stored: acknowledged duplicates), through the API's ingest
//             step (events + rollups, one autocommit statement, named prepared statement), one connection,
//             as bench:ingest sends them: sum_agg `tokens`, 50 subscriptions round robin, timestamp now. Every
//             statement's inserted count is checked (the duplicates must come back as not inserted, in every variant).
//   Prints    per variant and batch size: median and p90 statement time (wall), the Postgres backend's CPU per
//             statement (mean, from /proc: what the statement cost whatever the machine's load), the ratios
//             to `unpartitioned`; then pg_stat_statements per variant.
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
const KEYED_MIGRATION = '20261201002700_event_keys_locate_events';
/** Rolled back (in this order) for the `unpartitioned` variant: the base 5a8a9de events table. */
const PARTITIONING_MIGRATIONS = [KEYED_MIGRATION, '20261201002400_events_keyset_index', '20261201002000_events_set_based_dedup', '20261201001900_partitioned_events'];

// The base's (5a8a9de) ingest statement: ONE unpartitioned events table whose UNIQUE (organization_id,
// transaction_id) index dedups (ON CONFLICT DO NOTHING), with today's rollup upsert. Runs only on the
// `unpartitioned` database (20261201001900 and later rolled back).
// insert-path-ok: runs only on the `unpartitioned` database, where the unique index dedups
const UNPARTITIONED_INGEST_SQL = `WITH src AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD_COLUMNS}, dims jsonb, val text)),
ins AS (INSERT INTO events (organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount)
    SELECT o, t, e, s, c, ts, p, a FROM src
    ON CONFLICT (organization_id, transaction_id) DO NOTHING
    RETURNING organization_id, transaction_id, lago_id::text AS id, created_at),
roll AS (${rollupUpsertFrom('ins JOIN src ON src.o = ins.organization_id AND src.t = ins.transaction_id WHERE src.dims IS NOT NULL')})
SELECT organization_id, transaction_id, id, created_at FROM ins`;

// The app's ingest statement before 20261201002700 (db/repositories/rollups.ts INGEST_SQL at 4d220c3): keys
// without the event's id, events given their id by the column default. Runs only on the `set-based` database.
// insert-path-ok: runs only on the `set-based` database (20261201002700 rolled back); its keys CTE dedups
const SET_BASED_INGEST_SQL = `WITH src AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD_COLUMNS}, dims jsonb, val text)),
keys AS (INSERT INTO event_transaction_ids AS k (organization_id, transaction_id)
    SELECT o, t FROM src
    ON CONFLICT DO NOTHING
    RETURNING k.organization_id, k.transaction_id),
-- insert-path-ok: the set-based statement before 20261201002700 (the keys CTE above dedups)
ins AS (INSERT INTO events (organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount)
    SELECT src.o, src.t, src.e, src.s, src.c, src.ts, src.p, src.a
    FROM src JOIN keys ON keys.organization_id = src.o AND keys.transaction_id = src.t
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

function statementInsert(specs: Map<string, RollupMetricSpec>, name: string, sql: string): Insert {
  return async (db, rows) => {
    const records = sortedForInsert(rows).map((r) => {
      const spec = specs.get(r.code)!;
      return isRolledUp(spec) ? eventRecord(r, {}, String(r.properties[spec.fieldName!])) : eventRecord(r);
    });
    return insertedEvents(await pgQuery(db, name, sql, [JSON.stringify(records), NUMERIC_TEXT_RE]));
  };
}

function keyedInsert(specs: Map<string, RollupMetricSpec>): Insert {
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
    // pg_stat_statements (with planning time) splits each statement's cost into planning and execution.
    pgServer = await startEmbeddedPostgres(path.join(tmp, 'pg'), await freePort(), () => {}, [
      '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track_planning=on',
    ]);
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
    const variant = (name: string, db: Knex, insert: Insert): Variant => ({ name, db, insert, ms: { 1: [], 100: [], 1000: [] }, cpuMs: { 1: 0, 100: 0, 1000: 0 }, backendPid: 0 });
    const seeds = new Map<string, { orgId: string; subIds: string[] }>();
    const udb = await open('unpartitioned');
    for (const m of PARTITIONING_MIGRATIONS) await udb.migrate.down({ name: m });
    const useed = await seed(udb);
    variants.push(variant('unpartitioned', udb, statementInsert(useed.specs, 'bench_unpartitioned_ingest', UNPARTITIONED_INGEST_SQL)));
    seeds.set('unpartitioned', useed);
    const sdb = await open('set-based');
    await sdb.migrate.down({ name: KEYED_MIGRATION });
    const sseed = await seed(sdb);
    variants.push(variant('set-based', sdb, statementInsert(sseed.specs, 'bench_set_based_ingest', SET_BASED_INGEST_SQL)));
    seeds.set('set-based', sseed);
    const kdb = await open('keyed');
    const kseed = await seed(kdb);
    variants.push(variant('keyed', kdb, keyedInsert(kseed.specs)));
    seeds.set('keyed', kseed);
    const statStatements = await Promise.all(variants.map(async (v) => v.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').then(() => v.db.raw('SELECT pg_stat_statements_reset()')).then(() => true, () => false)));

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
      const [{ k }] = v.name === 'unpartitioned' ? [{ k: n }] : ((await v.db('event_transaction_ids').count<{ k: string }[]>('* as k')) as { k: string }[]);
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
          `  ${v.name.padEnd(13)} median ${fmt(med(v.ms[size])).padStart(7)} ms   p90 ${fmt(p90(v.ms[size])).padStart(7)} ms   ` +
            `median / unpartitioned ${ratio.toFixed(2)}   Postgres CPU ${fmt(cpu).padStart(7)} ms/statement (/ unpartitioned ${(cpu / refCpu).toFixed(2)})`,
        );
      }
    }
    if (statStatements.every(Boolean)) {
      console.log('\npg_stat_statements, the ingest statement (all sizes; plan = planning, exec = execution, per call):');
      for (const v of variants) {
        const r = await v.db.raw(
          `SELECT sum(calls)::int AS calls, sum(plans)::int AS plans, sum(total_plan_time) / sum(calls) AS plan_ms, sum(total_exec_time) / sum(calls) AS exec_ms,
                  sum(shared_blks_hit + shared_blks_read)::float8 / sum(calls) AS blks, sum(shared_blks_dirtied)::float8 / sum(calls) AS dirtied, sum(wal_bytes)::float8 / sum(calls) AS wal
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE 'WITH src AS MATERIALIZED%'`,
        );
        const x = r.rows[0] as { calls: number; plans: number; plan_ms: number; exec_ms: number; blks: number; dirtied: number; wal: number };
        console.log(
          `  ${v.name.padEnd(13)} calls ${x.calls}, plans ${x.plans}, plan ${fmt(x.plan_ms)} ms, exec ${fmt(x.exec_ms)} ms, ` +
            `buffers ${x.blks.toFixed(0)} (dirtied ${x.dirtied.toFixed(1)}), WAL ${(x.wal / 1024).toFixed(1)} kB per call`,
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
