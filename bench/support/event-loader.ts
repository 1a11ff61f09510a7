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
//   events_default. Each chunk goes through the events repository's bulk loader (insertEventsSelect): dedup
//   keys and events in one statement, and a key already stored fails the load instead of doubling an event. Rollups are NOT built here (callers that need them run
//   db/repositories/rollup-backfill.ts, the production rebuild).
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

export async function openBenchDatabase(label: string, opts: { poolSize?: number; dropOnClose?: boolean } = {}): Promise<BenchDatabase> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `meterline-bench-${label}-`));
  fs.chmodSync(tmp, 0o755); // the `postgres` user must reach it when run as root
  let pg: RunningPostgres | null = null;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    pg = await startEmbeddedPostgres(path.join(tmp, 'pg'), await freePort());
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
