// The rollup speed-up at period close (issue 14). Run with `npm run bench:close-rollups` (BENCH_EVENTS, default
// 2,000,000; BENCH_REPS, default 3).
//
// - Postgres: an embedded cluster in a temp dir (or a fresh database on DATABASE_URL's server, left there).
// - Data: one subscription, one metric per rolled-up aggregation (count, sum, max, weighted sum), each with a
//   metric filter (model, 4 values) and a charge with a charge filter; BENCH_EVENTS events over a 30-day
//   anniversary period starting at :30 (so both edge hours are partial and read raw), inserted by
//   generate_series straight into `events` (no rollups), then `rollups:backfill` (db/repositories/rollup-backfill.ts,
//   timed: that is the backfill's throughput).
// - Measure: the close's usage read, usage/sql-usage.ts — sqlUsageFromEvents (the raw SQL scan, what every close
//   did before) vs sqlUsage (rollups + edge events), BENCH_REPS times each (best and median), and that both give
//   the same usage.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDb, migrateLatest } from '../db/knexfile';
import { insertEventsSelect } from '../db/repositories/events';
import { loadPlan } from '../db/repositories/plans';
import { backfillRollups } from '../db/repositories/rollup-backfill';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../dev/postgres';
import { freePort } from '../dev/temporal';
import { sqlUsage, sqlUsageFromEvents } from '../usage/sql-usage';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const PERIOD = { start: '2026-11-01T00:30:00.000Z', end: '2026-12-01T00:30:00.000Z' };
const AGGS = ['count_agg', 'sum_agg', 'max_agg', 'weighted_sum_agg'] as const;

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-bench-close-rollups-'));
  fs.chmodSync(tmp, 0o755);
  let pgServer: RunningPostgres | null = null;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    pgServer = await startEmbeddedPostgres(path.join(tmp, 'pg'), await freePort());
    serverUrl = pgServer.url;
  }
  const dbName = `bench_close_rollups_${crypto.randomBytes(4).toString('hex')}`;
  await ensureDatabase(serverUrl, dbName);
  const db = createDb(withDatabase(serverUrl, dbName), 4);
  try {
    await migrateLatest(db);
    const [org] = await db('organizations').insert({ name: 'bench', slug: `bench-${crypto.randomBytes(4).toString('hex')}` }).returning('id');
    const [customer] = await db('customers').insert({ organization_id: org.id, external_id: 'cust', name: 'Bench', timezone: 'UTC', currency: 'USD' }).returning('id');
    const [plan] = await db('plans').insert({ organization_id: org.id, code: 'p', name: 'P', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD' }).returning('id');
    for (const [i, agg] of AGGS.entries()) {
      const [m] = await db('billable_metrics')
        .insert({ organization_id: org.id, code: agg, name: agg, aggregation_type: agg, field_name: agg === 'count_agg' ? null : 'v', filters: JSON.stringify([{ key: 'model', values: ['a', 'b', 'c', 'd'] }]) })
        .returning('id');
      await db('charges').insert({
        organization_id: org.id, plan_id: plan.id, billable_metric_id: m.id, position: i, charge_model: 'standard',
        properties: JSON.stringify({ amount: '0.000001' }),
        filters: JSON.stringify([{ invoice_display_name: 'A', properties: { amount: '0.000002' }, values: { model: ['a'] } }]),
      });
    }
    const subId = crypto.randomUUID();
    await db('subscriptions').insert({
      id: subId, organization_id: org.id, customer_id: customer.id, plan_id: plan.id, external_id: 'sub', status: 'active',
      billing_time: 'anniversary', subscription_at: PERIOD.start, started_at: PERIOD.start, workflow_id: `subscription:${subId}`,
    });
    console.log(`bench:close-rollups: ${EVENTS.toLocaleString('en-US')} events in one subscription's 30-day period, ${AGGS.length} metrics (count, sum, max, weighted sum; metric + charge filter); ${os.cpus().length} CPUs (shared), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    let t0 = performance.now();
    await insertEventsSelect(
      db,
      `SELECT ?::uuid, 'e' || g, 'sub', ?::uuid, (?::text[])[1 + g % ?],
              timestamptz '2026-11-01T00:00:00Z' + (g::double precision / ?) * interval '30 days 1 hour',
              jsonb_build_object('model', (ARRAY['a','b','c','d'])[1 + g % 4], 'v', (g % 1000)), NULL::numeric
       FROM generate_series(0::bigint, ?::bigint) AS g`,
      [org.id, subId, [...AGGS], AGGS.length, EVENTS, EVENTS - 1],
    );
    await db.raw('ANALYZE events');
    console.log(`  load (plain INSERT, no rollups): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
    const bf = await backfillRollups(db, { organizationId: org.id });
    const bfS = (performance.now() - t0) / 1000;
    const [{ n: rollupRows }] = (await db.raw('SELECT count(*)::int AS n FROM usage_rollups')).rows;
    console.log(`  rollups:backfill: ${bf.events.toLocaleString('en-US')} events → ${rollupRows} rollup rows in ${bfS.toFixed(1)} s (${Math.round(bf.events / bfS).toLocaleString('en-US')} events/s, ${bf.days} (subscription, metric, day) transactions)`);
    await db.raw('VACUUM ANALYZE usage_rollups');
    await db.raw('VACUUM ANALYZE events');

    const p = await loadPlan(db, org.id, plan.id);
    const time = async (label: string, fn: () => Promise<unknown>) => {
      const ms: number[] = [];
      let out: unknown;
      for (let i = 0; i < REPS; i++) {
        const s = performance.now();
        out = await fn();
        ms.push(performance.now() - s);
      }
      ms.sort((a, b) => a - b);
      console.log(`  ${label.padEnd(44)} best ${ms[0]!.toFixed(1)} ms, median ${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms (${REPS} runs)`);
      return { out, best: ms[0]! };
    };
    const raw = await time('close usage, raw SQL scan (sqlUsageFromEvents)', () => sqlUsageFromEvents(db, org.id, subId, p.charges, PERIOD));
    const rolled = await time('close usage, rollups + edge hours (sqlUsage)', () => sqlUsage(db, org.id, subId, p.charges, PERIOD));
    const same = JSON.stringify(raw.out) === JSON.stringify(rolled.out);
    console.log(`  speed-up ×${(raw.best / rolled.best).toFixed(1)}; same usage: ${same ? 'yes' : 'NO'}; load average after ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    if (!same) process.exitCode = 1;
  } finally {
    await db.destroy();
    if (pgServer) await pgServer.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
