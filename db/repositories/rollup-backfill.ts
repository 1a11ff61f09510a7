// Backfill of usage_rollups from the events already stored (issue 14): for events stored before their metric
// was rolled up (weighted_sum_agg metrics before migration 20261201001901, rows whose value_time_sum is
// unknown, a metric whose dimension key set grew), rebuild the rollup rows of an organization's
// (subscription, metric) pairs over whole UTC hours from the raw events, with the same upsert as ingest
// (applyRollups: same dims rule, same value parsing).
//
// Concurrency with live ingest: each (subscription, metric, day) is rebuilt in one REPEATABLE READ transaction
// (delete the rows of those hours, re-add the events visible in the transaction's snapshot, page by page). An
// ingest statement that touches one of those rollup rows meanwhile makes the rebuild fail with a
// serialization error (40001) instead of double counting or losing its event; the day is then retried.
// Memory: one page of events (PAGE rows) at a time.
import type { Knex } from 'knex';
import { applyRollups, isRolledUp, loadRollupMetricSpecs } from './rollups';
import { recordRollupRewrite } from './rollup-feed';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const PAGE = 5_000;

const MAX_ATTEMPTS = 8;

export interface BackfillRollupsInput {
  organizationId: string;
  /** Rebuild hours from this instant (floored to the hour); default: the first event. */
  from?: Date;
  /** Up to this instant (ceiled to the hour); default: after the last event. */
  to?: Date;
  /** Events read per page (default 5,000): the memory bound of the rebuild. */
  pageSize?: number;
}

export interface BackfillRollupsResult {
  pairs: number;
  days: number;
  events: number;
  retries: number;
}

// One page: the next `limit` events of (subscription, metric) in [from, to) after the cursor, in ("timestamp", id)
// order. The cursor is the last row's timestamp as Postgres' own text (microseconds; a JS Date keeps only
// milliseconds, and a cursor truncated to the millisecond re-reads the last row for ever once the range's last
// event has sub-millisecond digits) and its id. Served by (subscription_id, code, "timestamp", id) INCLUDE (organization_id) (migration 20261201002400):
// the row comparison is an index condition, so a page reads its own rows in index order, no sort, and only the
// partition of that day (the bounds are values, pruned at plan time).
const PAGE_SQL = `SELECT id::text AS id_key, "timestamp", "timestamp"::text AS ts_key, properties FROM events
  WHERE organization_id = ? AND subscription_id = ? AND code = ? AND "timestamp" >= ? AND "timestamp" < ?
    AND ("timestamp", id) > (?::timestamptz, ?::bigint)
  ORDER BY "timestamp", id LIMIT ?`;

interface PageRow {
  id_key: string;
  timestamp: Date;
  ts_key: string;
  properties: Record<string, unknown> | null;
}

async function rebuildDay(db: Knex, org: string, sub: string, code: string, from: Date, to: Date, specs: Awaited<ReturnType<typeof loadRollupMetricSpecs>>, pageSize: number): Promise<number> {
  return db.transaction(
    async (trx) => {
      await trx('usage_rollups').where({ organization_id: org, subscription_id: sub, metric_code: code }).where('bucket_start', '>=', from).where('bucket_start', '<', to).delete();
      await recordRollupRewrite(trx, org, sub); // current-usage caches drop closed hours they hold (usage/closed-hours-cache.ts)
      let n = 0;
      // Before every event of the range: its lower bound and an id below every id.
      let after: { ts: string; id: string } = { ts: from.toISOString(), id: '-9223372036854775808' };
      for (;;) {
        const page = ((await trx.raw(PAGE_SQL, [org, sub, code, from, to, after.ts, after.id, pageSize])) as { rows: PageRow[] }).rows;
        if (page.length === 0) break;
        await applyRollups(
          trx,
          page.map((e) => ({ organizationId: org, subscriptionId: sub, code, timestamp: e.timestamp, properties: e.properties ?? {} })),
          (_o, c) => specs.get(c),
        );
        n += page.length;
        const last = page[page.length - 1]!;
        after = { ts: last.ts_key, id: last.id_key };
        if (page.length < pageSize) break;
      }
      return n;
    },
    { isolationLevel: 'repeatable read' },
  );
}

function isSerializationFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: string }).code === '40001' || (err as { code?: string }).code === '40P01');
}

/** Rebuilds the organization's rollups from its events (see the header). Idempotent: a repeated run gives the same rows. */
export async function backfillRollups(db: Knex, input: BackfillRollupsInput): Promise<BackfillRollupsResult> {
  const org = input.organizationId;
  const specs = await loadRollupMetricSpecs(db, org);
  const codes = [...specs.values()].filter(isRolledUp).map((s) => s.code);
  const out: BackfillRollupsResult = { pairs: 0, days: 0, events: 0, retries: 0 };
  if (codes.length === 0) return out;
  const range = (await db.raw(
    `SELECT subscription_id, code, min("timestamp") AS lo, max("timestamp") AS hi FROM events
     WHERE organization_id = ? AND subscription_id IS NOT NULL AND code = ANY(?::text[])
       AND (?::timestamptz IS NULL OR "timestamp" >= ?::timestamptz) AND (?::timestamptz IS NULL OR "timestamp" < ?::timestamptz)
     GROUP BY subscription_id, code ORDER BY subscription_id, code`,
    [org, codes, input.from ?? null, input.from ?? null, input.to ?? null, input.to ?? null],
  )) as { rows: { subscription_id: string; code: string; lo: Date; hi: Date }[] };
  for (const p of range.rows) {
    out.pairs += 1;
    const start = Math.floor((input.from ?? p.lo).getTime() / HOUR_MS) * HOUR_MS;
    const end = Math.ceil(((input.to?.getTime() ?? p.hi.getTime() + 1)) / HOUR_MS) * HOUR_MS;
    for (let d = start; d < end; d += DAY_MS) {
      const from = new Date(d);
      const to = new Date(Math.min(d + DAY_MS, end));
      for (let attempt = 1; ; attempt++) {
        try {
          out.events += await rebuildDay(db, org, p.subscription_id, p.code, from, to, specs, input.pageSize ?? PAGE);
          break;
        } catch (err) {
          if (!isSerializationFailure(err) || attempt >= MAX_ATTEMPTS) throw err;
          out.retries += 1;
        }
      }
      out.days += 1;
    }
  }
  return out;
}
