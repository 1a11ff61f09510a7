// The period close's rollup reads (usage/rollup-close.ts): rows only, never events.
// - rollupDimsOfHours: per stored dims (the rollup's own key set, stringified values), over the whole hours
//   [fromHour, toHour): Σ events_count, Σ sum, max, Σ invalid_values_count, and the weighted-sum area
//   endMs × Σ sum − Σ value_time_sum (NULL when a row's value_time_sum is unknown, see migration 20261201001901).
// - eventCountOfHours: the raw events of those hours, counted index-only on (subscription_id, code, "timestamp", id)
//   INCLUDE (organization_id):
//   the close uses the rollups only when they count exactly the events that are there (a metric rolled up
//   after some of its events were stored, or not yet backfilled, reads raw events instead).
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface RollupHoursQuery {
  organizationId: string;
  subscriptionId: string;
  metricCode: string;
  fromHour: Date;
  toHour: Date;
  /** The period end (ms since the epoch) the weighted-sum area is measured to. */
  endMs: number;
}

export interface RollupDimsRow {
  dims: Record<string, string | null>;
  eventsCount: number;
  sum: string;
  max: string | null;
  invalidCount: number;
  /** Σ vᵢ × (endMs − tᵢ); null when unknown for some row. */
  area: string | null;
}

export async function rollupDimsOfHours(db: Db, q: RollupHoursQuery): Promise<RollupDimsRow[]> {
  if (q.fromHour >= q.toHour) return [];
  const r = (await db.raw(
    `SELECT dims, sum(events_count)::bigint AS n, sum(sum)::text AS sum, max(max)::text AS max, sum(invalid_values_count)::bigint AS invalid,
            CASE WHEN bool_or(value_time_sum IS NULL) THEN NULL ELSE (?::numeric * sum(sum) - sum(value_time_sum))::text END AS area
     FROM usage_rollups
     WHERE organization_id = ? AND subscription_id = ? AND metric_code = ? AND bucket_start >= ? AND bucket_start < ?
     GROUP BY dims`,
    [q.endMs, q.organizationId, q.subscriptionId, q.metricCode, q.fromHour, q.toHour],
  )) as { rows: { dims: Record<string, string | null>; n: string | number; sum: string; max: string | null; invalid: string | number; area: string | null }[] };
  return r.rows.map((x) => ({ dims: x.dims, eventsCount: Number(x.n), sum: x.sum, max: x.max, invalidCount: Number(x.invalid), area: x.area }));
}

export async function eventCountOfHours(db: Db, q: Omit<RollupHoursQuery, 'endMs'>): Promise<number> {
  if (q.fromHour >= q.toHour) return 0;
  const r = (await db.raw(
    // Scoped by organization_id like every query; still an index-only scan (no heap row read): the index
    // (subscription_id, code, "timestamp", id) INCLUDE (organization_id) (migration 20261201002400) has it, so the predicate is
    // checked on the index entry.
    `SELECT count(*)::bigint AS n FROM events
     WHERE organization_id = ? AND subscription_id = ? AND code = ? AND "timestamp" >= ? AND "timestamp" < ?`,
    [q.organizationId, q.subscriptionId, q.metricCode, q.fromHour, q.toHour],
  )) as { rows: { n: string | number }[] };
  return Number(r.rows[0]!.n);
}
