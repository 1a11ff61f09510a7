// Set-based rollups for the bench loader (bench/support/event-loader.ts): builds the usage_rollups rows of events
// that were loaded straight into `events` (generate_series), in SQL, one statement per (metric, UTC day), with the
// production upsert (db/repositories/rollups.ts rollupUpsertFrom: the same GROUP BY hour / dims, the same value
// regex, Σ v·t). Only the source differs: the ingest path computes each event's dims object and value text in
// JS (dimsObject / valueText); here they are `properties->>key` in SQL. The two agree for string and integer
// property values, which is what the benches generate (a float such as 1e21 or an object value would print
// differently); bench:usage checks the result anyway (current usage from these rollups = the raw-event scan).
// The production rebuild (db/repositories/rollup-backfill.ts, JS dims rule, paged) stays what
// `rollups:backfill` runs; measured here at load average 17–18: the backfill ~5,900 events/s, this 24,800–30,600
// events/s (~4–5×); the events insert itself is then the slower half of a bench load.
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { pgQuery } from '../../db/repositories/events';
import { isRolledUp, loadRollupMetricSpecs, rollupUpsertFrom } from '../../db/repositories/rollups';
import { NUMERIC_TEXT_RE } from '../../db/repositories/usage';

const DAY_MS = 86_400_000;

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** jsonb dims of `keys` (sorted) from `properties`, as the JS dims rule builds them for string / integer values. */
function dimsSql(keys: readonly string[]): string {
  if (keys.length === 0) return `'{}'::jsonb`;
  return `jsonb_build_object(${keys.map((k) => `${sqlString(k)}, properties->>${sqlString(k)}`).join(', ')})`;
}

export interface RollupBuildResult {
  events: number;
  statements: number;
  seconds: number;
}

/**
 * Rollups of the subscription's events in [from, to) for every rolled-up metric of the organization (the rollup
 * rows of those hours must not exist yet: the upsert would add to them). Returns the events rolled up.
 */
export async function buildRollupsSetBased(
  db: Knex,
  s: { organizationId: string; subscriptionId: string; from: string; to: string },
): Promise<RollupBuildResult> {
  const t0 = performance.now();
  const specs = [...(await loadRollupMetricSpecs(db, s.organizationId)).values()].filter(isRolledUp);
  let events = 0;
  let statements = 0;
  const fromMs = Date.parse(s.from);
  const toMs = Date.parse(s.to);
  // One statement per (metric, UTC day); BENCH_LOAD_PARALLEL (default 2) of them at once on their own
  // connections (they write disjoint rollup rows: each (metric, hour) belongs to one day).
  const work: { name: string; text: string; values: unknown[] }[] = [];
  for (const spec of specs) {
    const val = spec.aggregationType === 'count_agg' || !spec.fieldName ? 'NULL::text' : `properties->>${sqlString(spec.fieldName)}`;
    const from = `(SELECT organization_id AS o, subscription_id AS s, code AS c, "timestamp" AS ts, ${dimsSql(spec.dimKeys)} AS dims, ${val} AS val
      FROM events WHERE organization_id = $1 AND subscription_id = $3 AND code = $4 AND "timestamp" >= $5 AND "timestamp" < $6) src`;
    const text = `WITH up AS (${rollupUpsertFrom(from)} RETURNING events_count) SELECT coalesce(sum(events_count), 0)::text FROM up`;
    for (let d = fromMs; d < toMs; d += DAY_MS) {
      const end = Math.min(toMs, d + DAY_MS);
      work.push({
        name: `bench_rollups_${spec.code}_${spec.dimKeys.join('_')}`.slice(0, 60),
        text,
        values: [s.organizationId, NUMERIC_TEXT_RE, s.subscriptionId, spec.code, new Date(d).toISOString(), new Date(end).toISOString()],
      });
    }
  }
  let next = 0;
  const worker = async () => {
    for (;;) {
      const w = work[next++];
      if (!w) return;
      const rows = await pgQuery(db, w.name, w.text, w.values);
      events += Number(rows[0]![0]);
      statements += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Number(process.env.BENCH_LOAD_PARALLEL ?? 2)) }, worker));
  return { events, statements, seconds: (performance.now() - t0) / 1000 };
}
