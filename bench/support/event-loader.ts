// The one bulk event loader of the benches (bench:close-memory, bench:close-rollups, bench:usage; review finding D4:
// close-rollups had copied close-memory's loader). Ingest is not what these benches measure, so events go
// straight into `events` in SQL (generate_series, one INSERT ... SELECT per chunk), never row by row over HTTP.
//
// - openBenchDatabase(label): an embedded Postgres cluster in a temp dir (or a fresh database on DATABASE_URL's
//   server), migrated; close() stops / cleans what it started (the DATABASE_URL database is dropped only when
//   asked: dropOnClose).
// - loadEventSeries(db, series): `count` events of one subscription, event g (0 ≤ g < count) at
//   from + g/count × (to − from), metric codes[g % codes.length], properties = the caller's SQL expression of g.
//   The monthly partitions of [from, to) are created first (meterline_ensure_event_partition, as the
//   event-partitions Schedule does), so the events land in their month's partition as in production, not in
//   events_default. Two paths write the same rows, keys and indexes (`npm run bench:load` loads both and compares
//   digests of every event and key, and the index and constraint definitions):
//   - bulk (default; BENCH_LOADER=bulk): when the months and the key table are empty (a fresh bench database),
//     the month partitions are recreated bare, the key table's primary key dropped, events and keys written by
//     BENCH_LOAD_PARALLEL connections (default 2), then the primary key and the partition indexes built sorted
//     (see bulkLoadEventSeries). Nothing unlogged, synchronous_commit on: the tables are what ingest writes.
//     Measured: 1M events in 36.5 s (27,400 events/s) vs 103 s on the insert path, load average 8–13.
//   - insert (BENCH_LOADER=insert, or when the bulk path's conditions do not hold): each chunk through the events
//     repository's bulk loader (insertEventsSelect): dedup keys and events in one statement into the indexed
//     partitions, a key already stored fails the load. Its cost is index maintenance: the key table's primary key
//     is a random-order text btree that outgrows shared_buffers.
//   Rollups are NOT built here (bench/support/rollup-loader.ts, or db/repositories/rollup-backfill.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { createDb, migrateLatest } from '../../db/knexfile';
import { insertEventsSelect } from '../../db/repositories/events';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../../dev/postgres';
import { freePort } from '../../dev/temporal';

export interface BenchDatabase {
  db: Knex;
  /** The database's connection URL. */
  url: string;
  close(): Promise<void>;
}

export async function openBenchDatabase(label: string, opts: { poolSize?: number; dropOnClose?: boolean; pgFlags?: readonly string[] } = {}): Promise<BenchDatabase> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `meterline-bench-${label}-`));
  fs.chmodSync(tmp, 0o755); // the `postgres` user must reach it when run as root
  let pg: RunningPostgres | null = null;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    pg = await startEmbeddedPostgres(path.join(tmp, 'pg'), await freePort(), () => {}, opts.pgFlags ?? []);
    serverUrl = pg.url;
  }
  const dbName = `bench_${label.replace(/[^a-z0-9]/gi, '_')}_${crypto.randomBytes(4).toString('hex')}`;
  await ensureDatabase(serverUrl, dbName);
  const url = withDatabase(serverUrl, dbName);
  const db = createDb(url, opts.poolSize ?? 4);
  await migrateLatest(db);
  const server = serverUrl;
  return {
    db,
    url,
    close: async () => {
      await db.destroy();
      if (!pg && opts.dropOnClose) {
        const admin = createDb(server, 1);
        try {
          await admin.raw(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
        } finally {
          await admin.destroy();
        }
      }
      if (pg) await pg.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface EventSeries {
  organizationId: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  /** Event g has code codes[g % codes.length]. */
  codes: readonly string[];
  count: number;
  /** Events spread evenly over [from, to) (ISO instants). */
  from: string;
  to: string;
  /** SQL expression of the series index `g` (bigint) giving the event's properties (jsonb). */
  properties: string;
  /** SQL expression of `g` giving precise_total_amount (numeric), default NULL. */
  preciseTotalAmount?: string;
  /** Transaction id = prefix || g (default 'e'). */
  transactionPrefix?: string;
  /** Rows per INSERT (default 1,000,000). */
  chunk?: number;
}

export interface LoadResult {
  events: number;
  seconds: number;
  eventsPerSec: number;
}

/** Loads the series (see the header) and ANALYZEs (and VACUUMs, for index-only scans) the events table. */
export async function loadEventSeries(db: Knex, s: EventSeries, progress: (done: number) => void = () => {}): Promise<LoadResult> {
  const mode = process.env.BENCH_LOADER ?? 'bulk';
  if (mode === 'bulk' && (await bulkLoadPossible(db, s))) return bulkLoadEventSeries(db, s, progress);
  if (mode === 'bulk') console.log('  (bulk loader not possible here: the months already hold events or keys; row-by-row index maintenance instead)');
  return insertLoadEventSeries(db, s, progress);
}

/** The previous loader (BENCH_LOADER=insert): INSERT ... SELECT into the indexed, attached partitions, keys and events in one statement. */
async function insertLoadEventSeries(db: Knex, s: EventSeries, progress: (done: number) => void): Promise<LoadResult> {
  const t0 = performance.now();
  await db.raw(
    `SELECT meterline_ensure_event_partition(m::date)
     FROM generate_series(date_trunc('month', ?::timestamptz AT TIME ZONE 'UTC'), date_trunc('month', (?::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC'), interval '1 month') AS m`,
    [s.from, s.to],
  );
  const prefix = s.transactionPrefix ?? 'e';
  const chunk = s.chunk ?? 1_000_000;
  for (let lo = 0; lo < s.count; lo += chunk) {
    const hi = Math.min(s.count, lo + chunk) - 1;
    await insertEventsSelect(
      db,
      `SELECT ?::uuid, ? || g, ?, ?::uuid, (?::text[])[1 + g % ?],
              ?::timestamptz + (g::double precision / ?) * (?::timestamptz - ?::timestamptz),
              ${s.properties}, ${s.preciseTotalAmount ?? 'NULL::numeric'}
       FROM generate_series(?::bigint, ?::bigint) AS g`,
      [s.organizationId, prefix, s.externalSubscriptionId, s.subscriptionId, [...s.codes], s.codes.length, s.from, s.count, s.to, s.from, lo, hi],
    );
    progress(hi + 1);
  }
  await db.raw('VACUUM (ANALYZE) events');
  await db.raw('VACUUM (ANALYZE) event_transaction_ids');
  const seconds = (performance.now() - t0) / 1000;
  return { events: s.count, seconds, eventsPerSec: Math.round(s.count / seconds) };
}

interface Month {
  name: string;
  from: string;
  to: string;
}

/** The UTC months [from, to) overlaps, with their partition names (meterline_ensure_event_partition's naming). */
async function monthsOf(db: Knex, from: string, to: string): Promise<Month[]> {
  const r = await db.raw(
    `SELECT 'events_p' || to_char(m, 'YYYYMM') AS name, to_char(m AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "from",
            to_char((m + interval '1 month') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "to"
     FROM generate_series(date_trunc('month', ?::timestamptz AT TIME ZONE 'UTC'), date_trunc('month', (?::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC'), interval '1 month') AS m`,
    [from, to],
  );
  return (r.rows as Month[]).map((m) => ({ name: m.name, from: new Date(m.from).toISOString(), to: new Date(m.to).toISOString() }));
}

/**
 * The bulk path needs an empty key table (its primary key is dropped during the load and rebuilt after) and
 * months whose partitions are empty or missing, with no event of those months in events_default.
 */
async function bulkLoadPossible(db: Knex, s: EventSeries): Promise<boolean> {
  const keys = await db.raw('SELECT EXISTS (SELECT 1 FROM event_transaction_ids) AS any');
  if (keys.rows[0].any) return false;
  for (const m of await monthsOf(db, s.from, s.to)) {
    const r = await db.raw(`SELECT EXISTS (SELECT 1 FROM events WHERE "timestamp" >= ? AND "timestamp" < ?) AS any`, [m.from, m.to]);
    if (r.rows[0].any) return false;
  }
  return true;
}

export interface BulkLoadTimings {
  heapSeconds: number;
  indexSeconds: number;
  vacuumSeconds: number;
}

/** Timings of the last bulk load (printed by the benches). */
export let lastBulkLoad: BulkLoadTimings | null = null;

/**
 * The bulk loader (BENCH_LOADER=bulk, the default). Same rows, same tables, same keys and indexes as the insert
 * path, in a different order of work:
 * 1. each month's partition (events_pYYYYMM) is detached and dropped if it exists (it is empty: checked), and
 *    recreated as a standalone table LIKE events (no index yet) with a CHECK of its month, so the ATTACH below
 *    need not scan it; the key table's primary key is dropped (the table is empty: checked);
 * 2. the events and their keys are written by BENCH_LOAD_PARALLEL (default 2) connections at once, each
 *    INSERT ... SELECT generate_series over its share of the series, chunk by chunk, into the bare heaps (no index
 *    maintenance, no WAL of index pages; the heap inserts are WAL-logged and committed as usual: nothing unlogged,
 *    synchronous_commit stays on). Event ids are one block of the events_id_seq sequence reserved up front
 *    (id = base + g, so ids grow with the event's time as the insert path's nextval did), so event and key can be
 *    written by separate statements and each key names its event's (id, "timestamp") as ingest writes it;
 * 3. the key table's primary key is rebuilt (a sorted build; a duplicated key fails it, as the insert path would
 *    have failed), and each partition is attached: Postgres builds the parent's indexes on it (sorted builds), the
 *    CHECK proves the range, the CHECK is then dropped (a production partition has none);
 * 4. VACUUM (ANALYZE), as before.
 */
async function bulkLoadEventSeries(db: Knex, s: EventSeries, progress: (done: number) => void): Promise<LoadResult> {
  const t0 = performance.now();
  const parallel = Math.max(1, Number(process.env.BENCH_LOAD_PARALLEL ?? 2));
  const chunk = s.chunk ?? 1_000_000;
  const prefix = s.transactionPrefix ?? 'e';
  const months = await monthsOf(db, s.from, s.to);
  for (const m of months) {
    const exists = (await db.raw('SELECT to_regclass(?) IS NOT NULL AS e', [m.name])).rows[0].e as boolean;
    if (exists) {
      await db.raw(`ALTER TABLE events DETACH PARTITION ${m.name}`);
      await db.raw(`DROP TABLE ${m.name}`);
    }
    await db.raw(`CREATE TABLE ${m.name} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await db.raw(`ALTER TABLE ${m.name} ADD CONSTRAINT ${m.name}_bench_range CHECK ("timestamp" >= '${m.from}'::timestamptz AND "timestamp" < '${m.to}'::timestamptz)`);
  }
  await db.raw('ALTER TABLE event_transaction_ids DROP CONSTRAINT event_transaction_ids_pkey');
  const base = Number((await db.raw(`SELECT nextval('events_id_seq') AS b`)).rows[0].b);
  await db.raw(`SELECT setval('events_id_seq', ?)`, [base + s.count]);

  const ts = `(?::timestamptz + (g::double precision / ?) * (?::timestamptz - ?::timestamptz))`;
  const tsBindings = [s.from, s.count, s.to, s.from];
  // Work items: (month, [lo, hi]) chunks; a chunk's g range is widened by one at each end and filtered on the
  // month's bounds, so the month of each g is decided by the same timestamp expression the rows get.
  const items: { m: Month; lo: number; hi: number }[] = [];
  const span = Date.parse(s.to) - Date.parse(s.from);
  for (const m of months) {
    const gFrom = Math.max(0, Math.floor(((Date.parse(m.from) - Date.parse(s.from)) / span) * s.count) - 1);
    const gTo = Math.min(s.count - 1, Math.ceil(((Date.parse(m.to) - Date.parse(s.from)) / span) * s.count) + 1);
    for (let lo = gFrom; lo <= gTo; lo += chunk) items.push({ m, lo, hi: Math.min(gTo, lo + chunk - 1) });
  }
  let done = 0;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const it = items[next++];
      if (!it) return;
      const series = `FROM (SELECT g, ${ts} AS ts FROM generate_series(?::bigint, ?::bigint) AS g) x WHERE ts >= ?::timestamptz AND ts < ?::timestamptz`;
      const seriesBindings = [...tsBindings, it.lo, it.hi, it.m.from, it.m.to];
      // Both statements of a chunk filter the same rows; together they are the insert path's one statement.
      await Promise.all([
        db.raw(
          `INSERT INTO ${it.m.name} (id, organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount)
           SELECT ? + g, ?::uuid, ? || g, ?, ?::uuid, (?::text[])[1 + g % ?], ts, ${s.properties}, ${s.preciseTotalAmount ?? 'NULL::numeric'} ${series}`,
          [base, s.organizationId, prefix, s.externalSubscriptionId, s.subscriptionId, [...s.codes], s.codes.length, ...seriesBindings],
        ),
        db.raw(
          `INSERT INTO event_transaction_ids (organization_id, transaction_id, event_id, event_timestamp) SELECT ?::uuid, ? || g, ? + g, ts ${series}`,
          [s.organizationId, prefix, base, ...seriesBindings],
        ),
      ]);
      done += it.hi - it.lo + 1;
      progress(Math.min(done, s.count));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const heapSeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const withMem = (sql: string) =>
    db.transaction(async (trx) => {
      await trx.raw(`SET LOCAL maintenance_work_mem = '512MB'`);
      await trx.raw(sql);
    });
  await Promise.all([
    withMem('ALTER TABLE event_transaction_ids ADD CONSTRAINT event_transaction_ids_pkey PRIMARY KEY (organization_id, transaction_id)'),
    (async () => {
      for (const m of months) {
        await withMem(`ALTER TABLE events ATTACH PARTITION ${m.name} FOR VALUES FROM ('${m.from}') TO ('${m.to}')`);
        await db.raw(`ALTER TABLE ${m.name} DROP CONSTRAINT ${m.name}_bench_range`);
      }
    })(),
  ]);
  const indexSeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await db.raw('VACUUM (ANALYZE) events');
  await db.raw('VACUUM (ANALYZE) event_transaction_ids');
  const vacuumSeconds = (performance.now() - t2) / 1000;
  lastBulkLoad = { heapSeconds, indexSeconds, vacuumSeconds };
  const total = await db.raw('SELECT count(*)::bigint AS n FROM event_transaction_ids WHERE organization_id = ?', [s.organizationId]);
  if (Number(total.rows[0].n) !== s.count) throw new Error(`bulk load wrote ${total.rows[0].n} keys for ${s.count} events`);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n  bulk load: heaps ${heapSeconds.toFixed(1)} s (${parallel} connections), key primary key + partition indexes ${indexSeconds.toFixed(1)} s, VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s`);
  return { events: s.count, seconds, eventsPerSec: Math.round(s.count / seconds) };
}
