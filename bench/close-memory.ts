// Memory and duration of ONE period close with many events in the period. Run with
// `npm run bench:close-memory` (BENCH_EVENTS, default 10,000,000).
//
// - Postgres: an embedded cluster in a temp dir (or a fresh database on DATABASE_URL's server, left there).
// - Data: one subscription whose plan has one charge per aggregation (count, sum, max, unique count, latest,
//   weighted sum), each with a metric filter (model), a charge filter and pricing groups (region), plus a
//   dynamic charge; BENCH_EVENTS events spread over the 30-day period and over the 7 metrics (generate_series,
//   straight into the events table: ingest is not what is measured here).
// - Measure: the period-close activity itself (activities/invoices.ts createPeriodInvoice: usage read in SQL by
//   usage/period-usage.ts ledgerUsage, rated, the draft invoice written) in this process: wall time, and the
//   process' RSS sampled every 20 ms (peak − before) plus the kernel's high-water mark (VmHWM). With
//   BENCH_RAW=1 it also runs the old way (every event loaded into memory and aggregated in JS) for comparison.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { createActivities } from '../activities';
import { aggregateCharge } from '../billing/aggregation';
import { createDb, migrateLatest } from '../db/knexfile';
import { insertEventsSelect } from '../db/repositories/events';
import { loadPlan } from '../db/repositories/plans';
import { loadPeriodEvents } from '../db/repositories/usage';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../dev/postgres';
import { freePort } from '../dev/temporal';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const RAW = process.env.BENCH_RAW === '1';
const PERIOD = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const AGGS = ['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg'] as const;

function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function resetHwm(): void {
  // Writing 5 to clear_refs resets the peak RSS (VmHWM) of the process (Linux ≥ 4.0).
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    /* not Linux, or not allowed: VmHWM then includes the set-up */
  }
}

async function measure<T>(label: string, fn: () => Promise<T>): Promise<T> {
  if (global.gc) global.gc();
  resetHwm();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    const ms = performance.now() - t0;
    peak = Math.max(peak, process.memoryUsage().rss);
    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    console.log(`${label.padEnd(52)} ${(ms / 1000).toFixed(2)} s   RSS before ${mb(before)} MB, peak ${mb(peak)} MB (+${mb(peak - before)} MB), VmHWM ${vmHwmMb().toFixed(1)} MB`);
  }
}

async function seed(db: Knex) {
  const [org] = await db('organizations').insert({ name: 'bench', slug: `bench-${crypto.randomBytes(4).toString('hex')}` }).returning('id');
  const [customer] = await db('customers').insert({ organization_id: org.id, external_id: 'cust', name: 'Bench', timezone: 'UTC', currency: 'USD' }).returning('id');
  const [plan] = await db('plans').insert({ organization_id: org.id, code: 'p', name: 'P', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD' }).returning('id');
  const codes: string[] = [];
  for (const [i, agg] of AGGS.entries()) {
    const [m] = await db('billable_metrics')
      .insert({ organization_id: org.id, code: agg, name: agg, aggregation_type: agg, field_name: agg === 'count_agg' ? null : 'v', filters: JSON.stringify([{ key: 'model', values: ['a', 'b', 'c'] }]) })
      .returning('id');
    codes.push(agg);
    await db('charges').insert({
      organization_id: org.id, plan_id: plan.id, billable_metric_id: m.id, position: i, charge_model: 'standard',
      properties: JSON.stringify({ amount: '0.000001', pricing_group_keys: ['region'] }),
      filters: JSON.stringify([{ invoice_display_name: 'A', properties: { amount: '0.000002', pricing_group_keys: ['region'] }, values: { model: ['a'] } }]),
    });
    if (agg === 'sum_agg') {
      await db('charges').insert({ organization_id: org.id, plan_id: plan.id, billable_metric_id: m.id, position: 100, charge_model: 'dynamic', properties: JSON.stringify({}) });
    }
  }
  const subId = crypto.randomUUID();
  await db('subscriptions').insert({
    id: subId, organization_id: org.id, customer_id: customer.id, plan_id: plan.id, external_id: 'sub', status: 'active',
    billing_time: 'calendar', subscription_at: PERIOD.start, started_at: PERIOD.start, workflow_id: `subscription:${subId}`,
  });
  return { orgId: org.id as string, planId: plan.id as string, subId, codes };
}

async function insertEvents(db: Knex, s: { orgId: string; subId: string; codes: string[] }): Promise<void> {
  const chunk = 1_000_000;
  for (let from = 0; from < EVENTS; from += chunk) {
    const n = Math.min(chunk, EVENTS - from);
    await insertEventsSelect(
      db,
      `SELECT ?::uuid, 'e' || g, 'sub', ?::uuid, (?::text[])[1 + g % ?],
              ?::timestamptz + (g::double precision / ?) * (?::timestamptz - ?::timestamptz),
              jsonb_build_object('model', (ARRAY['a','b','c','d'])[1 + g % 4], 'region', 'r' || (g % 7), 'v', (g % 1000)),
              (g % 100)::numeric / 100
       FROM generate_series(?::bigint, ?::bigint) AS g`,
      [s.orgId, s.subId, s.codes, s.codes.length, PERIOD.start, EVENTS, PERIOD.end, PERIOD.start, from, from + n - 1],
    );
    process.stdout.write(`  inserted ${from + n} / ${EVENTS}\r`);
  }
  process.stdout.write('\n');
  await db.raw('ANALYZE events');
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-bench-close-memory-'));
  fs.chmodSync(tmp, 0o755);
  let pgServer: RunningPostgres | null = null;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    pgServer = await startEmbeddedPostgres(path.join(tmp, 'pg'), await freePort());
    serverUrl = pgServer.url;
  }
  const dbName = `bench_close_memory_${crypto.randomBytes(4).toString('hex')}`;
  await ensureDatabase(serverUrl, dbName);
  const db = createDb(withDatabase(serverUrl, dbName), 4);
  try {
    await migrateLatest(db);
    const s = await seed(db);
    console.log(`bench:close-memory: ${EVENTS.toLocaleString('en-US')} events in one subscription's period, ${AGGS.length} metrics (every aggregation, filter + pricing groups) + a dynamic charge; ${os.cpus().length} CPUs (shared)`);
    const t0 = performance.now();
    await insertEvents(db, s);
    console.log(`  load: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const activities = createActivities({ db });
    const res = await measure('close (createPeriodInvoice, SQL aggregation)', () =>
      activities.createPeriodInvoice({ organizationId: s.orgId, subscriptionId: s.subId, kind: 'subscription', period: PERIOD, fullPeriod: PERIOD }),
    );
    const fees = (await db('fees').where({ invoice_id: res.invoiceId }).select(db.raw('count(*)::int AS n'), db.raw('sum(events_count)::bigint AS events'))) as { n: number; events: string }[];
    console.log(`  invoice ${res.invoiceId}: total ${res.totalAmountCents} cents, ${fees[0]!.n} fee lines, ${fees[0]!.events} events counted (the dynamic charge counts the sum metric's events again)`);
    if (RAW) {
      const plan = await loadPlan(db, s.orgId, s.planId);
      await measure('old way: load every event, aggregate in JS', async () => {
        const events = await loadPeriodEvents(db, s.orgId, s.subId, s.codes, PERIOD);
        return plan.charges.map((c) => aggregateCharge(c, events[c.billableMetric.code] ?? [], PERIOD));
      });
    }
  } finally {
    await db.destroy();
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
