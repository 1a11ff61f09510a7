// Where a current-usage request's time goes (bench:usage, issue 14): every SQL statement knex runs during a few
// service calls (count per call, time per statement from 'query' to 'query-response', its text), the JS rest
// (call time − SQL time: plan lookup, billing/ratePeriod pricing, the Lago shape), and EXPLAIN (ANALYZE, BUFFERS)
// of the rollup statement as the reader sends it.
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';

interface QueryEvent {
  __knexQueryUid: string;
  sql: string;
  bindings?: readonly unknown[];
}

export interface StatementProfile {
  sql: string;
  bindings: readonly unknown[];
  ms: number[];
}

export interface CallProfile {
  calls: number;
  callMs: number[];
  statementsPerCall: number;
  statements: StatementProfile[];
}

/** Runs `call` `n` times with knex query timing attached; statements keyed by SQL text. */
export async function profileCalls(db: Knex, n: number, call: () => Promise<unknown>): Promise<CallProfile> {
  const started = new Map<string, { sql: string; bindings: readonly unknown[]; t0: number }>();
  const bySql = new Map<string, StatementProfile>();
  let count = 0;
  const onQuery = (q: QueryEvent) => {
    started.set(q.__knexQueryUid, { sql: q.sql, bindings: q.bindings ?? [], t0: performance.now() });
    count += 1;
  };
  const onResponse = (_r: unknown, q: QueryEvent) => {
    const s = started.get(q.__knexQueryUid);
    if (!s) return;
    started.delete(q.__knexQueryUid);
    let p = bySql.get(s.sql);
    if (!p) bySql.set(s.sql, (p = { sql: s.sql, bindings: s.bindings, ms: [] }));
    p.ms.push(performance.now() - s.t0);
  };
  db.on('query', onQuery);
  db.on('query-response', onResponse);
  const callMs: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await call();
      callMs.push(performance.now() - t0);
    }
  } finally {
    db.removeListener('query', onQuery);
    db.removeListener('query-response', onResponse);
  }
  return { calls: n, callMs, statementsPerCall: count / n, statements: [...bySql.values()] };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
}

/** Prints the profile: per statement median ms and share, the JS rest, and EXPLAIN ANALYZE of the rollup read. */
export async function printProfile(db: Knex, label: string, p: CallProfile): Promise<void> {
  const call = median(p.callMs);
  let sqlTotal = 0;
  console.log(`\nprofile (${label}): ${p.calls} service calls, median ${call.toFixed(2)} ms, ${p.statementsPerCall.toFixed(1)} SQL statements per call`);
  for (const s of p.statements) {
    const m = median(s.ms);
    sqlTotal += (m * s.ms.length) / p.calls;
    console.log(`  ${m.toFixed(2).padStart(8)} ms  x${(s.ms.length / p.calls).toFixed(1)}  ${s.sql.replace(/\s+/g, ' ').slice(0, 150)}`);
  }
  console.log(`  ${(call - sqlTotal).toFixed(2).padStart(8)} ms  JS outside SQL (plan cache, pricing, response shape, knex overhead)`);
  const rollup = p.statements.find((s) => s.sql.includes('from usage_rollups') || s.sql.includes('FROM usage_rollups'));
  if (rollup) {
    const plan = (await db.raw(`EXPLAIN (ANALYZE, BUFFERS) ${rollup.sql.replace(/\$\d+/g, "?")}`, rollup.bindings as Knex.RawBinding[])) as { rows: { 'QUERY PLAN': string }[] };
    console.log('  EXPLAIN (ANALYZE, BUFFERS) of the rollup read:');
    for (const r of plan.rows) console.log(`    ${r['QUERY PLAN']}`);
  }
}
