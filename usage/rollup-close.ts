// The period close from rollups (issue 14), for the metrics whose aggregation the rollups hold: count, sum, max
// and weighted sum. usage/sql-usage.ts asks here first and scans the period's raw events in SQL only when this
// answers null. Whole hours come from usage_rollups, the partial edge hours (a period starting at a
// subscription instant) from the raw SQL aggregate (db/repositories/usage-aggregates.ts aggregateDims on the
// edge range), merged by billing/dims-rollup-merge.ts. The close reads O(hours × dims) rollup rows instead of
// every event of the period.
//
// Null (raw events instead) whenever the rollups could answer wrongly:
//   - latest_agg / unique_count_agg metrics (a latest needs each value's (timestamp, id); distinct counts do
//     not merge across buckets), charges with pricing groups (the bucket order needs each group's first event),
//     dynamic charges (Σ precise_total_amount is not rolled up);
//   - a rollup row lacks a dimension key the charges read (a charge filter created after those events were
//     rolled up), or holds non-numeric values (the raw path names the offending event: 'invalid_event_value');
//   - Σ events_count of the rollups ≠ the raw events of those hours (events stored before their metric was
//     rolled up: `npm run rollups:backfill` fixes it), or a weighted sum's Σ v × t is unknown (rows older than
//     migration 20261201001901, until backfilled).
import type { Knex } from 'knex';
import { mergeRollupAndEdges, type EdgeDimsInput } from '../billing/dims-rollup-merge';
import { eventCountOfHours, rollupDimsOfHours } from '../db/repositories/rollup-close';
import { splitPeriod } from '../db/repositories/rollups';
import { aggregateDims, type DimsAggregateRow, type DimsQuery } from '../db/repositories/usage-aggregates';

type Db = Knex | Knex.Transaction;

const ROLLED_UP = new Set(['count_agg', 'sum_agg', 'max_agg', 'weighted_sum_agg']);

/** True when the close may read this metric group from rollups (before looking at the rows). */
export function closeReadableFromRollups(aggregationType: string, q: DimsQuery): boolean {
  return ROLLED_UP.has(aggregationType) && !q.needsPrecise && !q.needsFirst;
}

/** The group's dims aggregates from rollups + edge events, or null when only raw events answer exactly (see the header). */
export async function rollupDimsAggregates(db: Db, q: DimsQuery, aggregationType: string): Promise<DimsAggregateRow[] | null> {
  if (!closeReadableFromRollups(aggregationType, q)) return null;
  const split = splitPeriod(q.period);
  const endMs = Date.parse(q.period.end);
  const hours = { organizationId: q.organizationId, subscriptionId: q.subscriptionId, metricCode: q.metricCode, fromHour: split.fromHour, toHour: split.toHour };
  const [rows, rawCount] = await Promise.all([rollupDimsOfHours(db, { ...hours, endMs }), eventCountOfHours(db, hours)]);
  let rolled = 0;
  for (const r of rows) {
    if (q.dimKeys.some((k) => !(k in r.dims))) return null;
    if (r.invalidCount > 0 && aggregationType !== 'count_agg') return null;
    if (aggregationType === 'weighted_sum_agg' && r.area === null) return null;
    rolled += r.eventsCount;
  }
  if (rolled !== rawCount) return null;
  const edges: EdgeDimsInput[] = [];
  let invalid = 0;
  for (const range of split.rawRanges) {
    const aggregates = await aggregateDims(db, { ...q, period: { start: range.start.toISOString(), end: range.end.toISOString() } });
    invalid += aggregates.reduce((n, a) => n + a.invalidCount, 0);
    edges.push({ aggregates, edgeEndMs: range.end.getTime() });
  }
  if (invalid > 0 && aggregationType !== 'count_agg') return null;
  const merged = mergeRollupAndEdges(
    q.dimKeys,
    rows.map((r) => ({ dims: r.dims, eventsCount: r.eventsCount, sum: r.sum, max: r.max, area: r.area ?? '0' })),
    edges,
    endMs,
  );
  return merged.map((m) => ({ ...m, invalidCount: 0 }));
}
