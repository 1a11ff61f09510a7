// Memory and duration of ONE period close with many events in the period. Run with
// `npm run bench:close-memory` (BENCH_EVENTS, default 10,000,000; or a list, e.g. 1000000,3000000).
//
// - Postgres: an embedded cluster in a temp dir (or a fresh database on DATABASE_URL's server, left there).
// - Data: one subscription whose plan has one charge per aggregation (count, sum, max, unique count, latest,
//   weighted sum), each with a metric filter (model), a charge filter and pricing groups (region), plus a
//   dynamic charge; BENCH_EVENTS events spread over the 30-day period and over the 6 metrics (the shared bench
//   loader bench/support/event-loader.ts: generate_series straight into the events table, ingest is not what is
//   measured here). BENCH_EVENTS accepts a list (1000000,3000000): each N in a fresh database, then a table of
//   peak RSS and close time per N (is the memory flat in N?).
// - Measure: the period-close activity itself (activities/invoices.ts createPeriodInvoice: usage read in SQL by
//   usage/period-usage.ts ledgerUsage, rated, the draft invoice written) in this process: wall time, and the
//   process' RSS sampled every 20 ms (peak − before) plus the kernel's high-water mark (VmHWM). With
//   BENCH_RAW=1 it also runs the old way (every event loaded into memory and aggregated in JS) for comparison.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { createActivities } from '../activities';
import { aggregateCharge } from '../billing/aggregation';
import { loadPlan } from '../db/repositories/plans';
import { loadPeriodEvents } from '../db/repositories/usage';
import { sqlUsage } from '../usage/sql-usage';
import { loadEventSeries, openBenchDatabase } from './support/event-loader';

const SIZES = (process.env.BENCH_EVENTS ?? '10000000').split(',').map(Number);
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

interface Measured {
  label: string;
  seconds: number;
  rssBeforeMb: number;
  peakDeltaMb: number;
  hwmMb: number;
}

const mb = (b: number) => b / 1024 / 1024;

async function measure<T>(label: string, fn: () => Promise<T>): Promise<{ value: T; m: Measured }> {
  if (global.gc) global.gc();
  resetHwm();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    const m = { label, seconds: (performance.now() - t0) / 1000, rssBeforeMb: mb(before), peakDeltaMb: mb(peak - before), hwmMb: vmHwmMb() };
    console.log(`  ${label.padEnd(50)} ${m.seconds.toFixed(2).padStart(7)} s   RSS before ${m.rssBeforeMb.toFixed(1)} MB, peak +${m.peakDeltaMb.toFixed(1)} MB, VmHWM ${m.hwmMb.toFixed(1)} MB`);
    return { value, m };
  } finally {
    clearInterval(timer);
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

async function runOne(events: number): Promise<Measured[]> {
  const bench = await openBenchDatabase('close_memory');
  const { db } = bench;
  const out: Measured[] = [];
  try {
    const s = await seed(db);
    console.log(`bench:close-memory: ${events.toLocaleString('en-US')} events in one subscription's period, ${AGGS.length} metrics (every aggregation, filter + pricing groups) + a dynamic charge; ${os.cpus().length} CPUs (shared), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const load = await loadEventSeries(
      db,
      {
        organizationId: s.orgId, subscriptionId: s.subId, externalSubscriptionId: 'sub', codes: s.codes, count: events, from: PERIOD.start, to: PERIOD.end,
        properties: `jsonb_build_object('model', (ARRAY['a','b','c','d'])[1 + g % 4], 'region', 'r' || (g % 7), 'v', (g % 1000))`,
        preciseTotalAmount: '(g % 100)::numeric / 100',
      },
      (done) => process.stdout.write(`  inserted ${done} / ${events}\r`),
    );
    console.log(`\n  load: ${load.seconds.toFixed(1)} s (${load.eventsPerSec.toLocaleString('en-US')} events/s, bench/support/event-loader.ts)`);
    const activities = createActivities({ db });
    const close = await measure('close (createPeriodInvoice, every charge)', () =>
      activities.createPeriodInvoice({ organizationId: s.orgId, subscriptionId: s.subId, kind: 'subscription', period: PERIOD, fullPeriod: PERIOD }),
    );
    out.push(close.m);
    const res = close.value;
    const fees = (await db('fees').where({ invoice_id: res.invoiceId }).select(db.raw('count(*)::int AS n'), db.raw('sum(events_count)::bigint AS events'))) as { n: number; events: string }[];
    console.log(`  invoice ${res.invoiceId}: total ${res.totalAmountCents} cents, ${fees[0]!.n} fee lines, ${fees[0]!.events} events counted (the dynamic charge counts the sum metric's events again)`);
    // Each aggregation's usage read alone (its filtered + grouped charge, and the dynamic one for sum): the same
    // reader the close uses, to show which aggregation costs what.
    const plan = await loadPlan(db, s.orgId, s.planId);
    for (const agg of AGGS) {
      const charges = plan.charges.filter((c) => c.billableMetric.code === agg);
      out.push((await measure(`  usage read ${agg} (${charges.length} charge${charges.length > 1 ? 's' : ''}, filter + groups)`, () => sqlUsage(db, s.orgId, s.subId, charges, PERIOD))).m);
    }
    if (RAW) {
      out.push(
        (await measure('old way: load every event, aggregate in JS', async () => {
          const evs = await loadPeriodEvents(db, s.orgId, s.subId, s.codes, PERIOD);
          return plan.charges.map((c) => aggregateCharge(c, evs[c.billableMetric.code] ?? [], PERIOD));
        })).m,
      );
    }
  } finally {
    await bench.close();
  }
  return out;
}

async function main(): Promise<void> {
  const rows: { events: number; m: Measured[] }[] = [];
  for (const n of SIZES) rows.push({ events: n, m: await runOne(n) });
  if (rows.length > 1) {
    console.log('\nmemory vs N (peak RSS growth of this process, which runs the close activity as the worker does):');
    for (const label of rows[0]!.m.map((x) => x.label)) {
      console.log(`  ${label.trim().padEnd(52)} ${rows.map((r) => { const x = r.m.find((y) => y.label === label)!; return `N=${r.events.toLocaleString('en-US')}: ${x.seconds.toFixed(1)} s, +${x.peakDeltaMb.toFixed(1)} MB`; }).join(' | ')}`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
