// The rollup speed-up at period close (issue 14). Run with `npm run bench:close-rollups` (BENCH_EVENTS, default
// 2,000,000; BENCH_REPS, default 3).
//
// - Postgres: an embedded cluster in a temp dir (or a fresh database on DATABASE_URL's server, left there).
// - Data: one subscription, one metric per rolled-up aggregation (count, sum, max, weighted sum), each with a
//   metric filter (model, 4 values) and a charge with a charge filter; BENCH_EVENTS events over a 30-day
//   anniversary period starting at :30 (so both edge hours are partial and read raw), loaded by the shared bench
//   loader (bench/support/event-loader.ts: generate_series straight into `events`, no rollups), then
//   `rollups:backfill` (db/repositories/rollup-backfill.ts, timed: that is the backfill's throughput, printed in
//   events/s).
// - Measure: the close's usage read, usage/sql-usage.ts — sqlUsageFromEvents (the raw SQL scan, what every close
//   did before) vs sqlUsage (rollups + edge events), BENCH_REPS times each (best and median), and that both give
//   the same usage.
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadPlan } from '../db/repositories/plans';
import { backfillRollups } from '../db/repositories/rollup-backfill';
import { sqlUsage, sqlUsageFromEvents } from '../usage/sql-usage';
import { loadEventSeries, openBenchDatabase } from './support/event-loader';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const PERIOD = { start: '2026-11-01T00:30:00.000Z', end: '2026-12-01T00:30:00.000Z' };
const AGGS = ['count_agg', 'sum_agg', 'max_agg', 'weighted_sum_agg'] as const;

async function main(): Promise<void> {
  const bench = await openBenchDatabase('close_rollups');
  const { db } = bench;
  try {
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
    // Timestamps over [Nov 1 00:00, Dec 1 01:00): the :30 period start and end both fall in partial hours.
    const load = await loadEventSeries(db, {
      organizationId: org.id, subscriptionId: subId, externalSubscriptionId: 'sub', codes: AGGS, count: EVENTS,
      from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T01:00:00.000Z',
      properties: `jsonb_build_object('model', (ARRAY['a','b','c','d'])[1 + g % 4], 'v', (g % 1000))`,
    });
    console.log(`  load (bench/support/event-loader.ts, no rollups): ${load.seconds.toFixed(1)} s`);
    const t0 = performance.now();
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
    await bench.close();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
