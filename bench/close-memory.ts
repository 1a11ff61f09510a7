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
//   The close's Postgres statements (pg_stat_statements calls, on the embedded cluster, which preloads it) and
//   commits (pg_stat_database) are printed too.
// - Check: every fee line of the invoice (units and cents) and its total against an independent recomputation
//   in JS from the generator's formulas (event g's code, model, region, v, timestamp and precise amount are known
//   functions of g), no SQL, no billing/ code: the run fails (exit 1) on any difference.
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
  rssAfterMb: number;
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
    const m = { label, seconds: (performance.now() - t0) / 1000, rssBeforeMb: mb(before), rssAfterMb: mb(process.memoryUsage().rss), peakDeltaMb: mb(peak - before), hwmMb: vmHwmMb() };
    console.log(`  ${label.padEnd(50)} ${m.seconds.toFixed(2).padStart(7)} s   RSS before ${m.rssBeforeMb.toFixed(1)} MB, after ${m.rssAfterMb.toFixed(1)} MB, peak +${m.peakDeltaMb.toFixed(1)} MB, VmHWM ${m.hwmMb.toFixed(1)} MB`);
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

// ---- independent recomputation (JS, from the generator's formulas; no SQL aggregate, no billing/ code) ----
// Event g: code AGGS[g % 6], model MODELS4[g % 4], region 'r' + g % 7, v = g % 1000, precise_total_amount
// (g % 100) / 100, timestamp from + g/N × span (Postgres rounds to the microsecond; the weighted-sum area uses
// the millisecond floor of it, as the product documents: units compared to 1e-9 relative, cents exactly).
// Charges: per metric a standard charge, filter 0 = {model: [a]} at 0.000002 per unit, the rest (b, c, d: no
// filter matches) at 0.000001, both grouped by region; the sum metric also has a dynamic charge (amount =
// Σ precise_total_amount, units = Σ v); the plan's fee 1,000 cents in arrears. Lines round half-up to the cent.
const MODELS4 = ['a', 'b', 'c', 'd'];

interface Expected {
  units: number;
  cents: bigint;
}

/** Half-up cents of units × price, price = priceMicros / 1e6 dollars: units × priceMicros / 1e4 cents. */
function centsHalfUp(unitsNum: bigint, unitsDen: bigint, priceMicros: bigint): bigint {
  const num = unitsNum * priceMicros * 2n;
  const den = unitsDen * 10_000n * 2n;
  return (num + den / 2n) / den; // ≥ 0: floor(x + 1/2)
}

function expectedLines(n: number): Map<string, Expected> {
  const fromUs = BigInt(Date.parse(PERIOD.start)) * 1000n;
  const spanUs = (Date.parse(PERIOD.end) - Date.parse(PERIOD.start)) * 1000;
  const endMs = BigInt(Date.parse(PERIOD.end));
  const durationMs = BigInt(Date.parse(PERIOD.end) - Date.parse(PERIOD.start));
  interface Acc { count: number; sum: bigint; max: number; uniq: Set<number>; latest: number; area: bigint }
  const accs = new Map<string, Acc>();
  let dynUnits = 0n;
  let dynHundredths = 0n;
  for (let g = 0; g < n; g++) {
    const code = AGGS[g % 6]!;
    const filter = MODELS4[g % 4] === 'a' ? '0' : 'null';
    const key = `${code}|standard|${filter}|r${g % 7}`;
    let a = accs.get(key);
    if (!a) accs.set(key, (a = { count: 0, sum: 0n, max: -1, uniq: new Set(), latest: 0, area: 0n }));
    const v = g % 1000;
    a.count += 1;
    a.sum += BigInt(v);
    if (v > a.max) a.max = v;
    a.uniq.add(v);
    a.latest = v;
    if (code === 'weighted_sum_agg') {
      const tMs = (fromUs + BigInt(Math.round((g / n) * spanUs))) / 1000n;
      a.area += BigInt(v) * (endMs - tMs);
    }
    if (code === 'sum_agg') {
      dynUnits += BigInt(v);
      dynHundredths += BigInt(g % 100);
    }
  }
  const out = new Map<string, Expected>();
  for (const [key, a] of accs) {
    const [code, , filter] = key.split('|');
    const price = filter === '0' ? 2n : 1n;
    let num: bigint;
    let den = 1n;
    switch (code) {
      case 'count_agg': num = BigInt(a.count); break;
      case 'sum_agg': num = a.sum; break;
      case 'max_agg': num = BigInt(a.max); break;
      case 'unique_count_agg': num = BigInt(a.uniq.size); break;
      case 'latest_agg': num = BigInt(a.latest); break;
      default: num = a.area; den = durationMs;
    }
    out.set(key, { units: Number(num) / Number(den), cents: centsHalfUp(num, den, price) });
  }
  out.set('sum_agg|dynamic|null|', { units: Number(dynUnits), cents: dynHundredths });
  out.set('subscription', { units: 1, cents: 1000n });
  return out;
}

async function checkInvoice(db: Knex, invoiceId: string, n: number): Promise<string[]> {
  const t0 = performance.now();
  const expected = expectedLines(n);
  const rows = (await db('fees as f')
    .leftJoin('charges as c', 'c.id', 'f.charge_id')
    .where('f.invoice_id', invoiceId)
    .select('f.fee_type', 'f.metric_code', 'c.charge_model', 'f.filter_index', 'f.grouped_by', 'f.units', 'f.amount_cents')) as {
    fee_type: string; metric_code: string | null; charge_model: string | null; filter_index: number | null; grouped_by: Record<string, string>; units: string; amount_cents: string;
  }[];
  const problems: string[] = [];
  const seen = new Set<string>();
  let total = 0n;
  for (const r of rows) {
    const key = r.fee_type === 'subscription' ? 'subscription' : `${r.metric_code}|${r.charge_model}|${r.filter_index ?? 'null'}|${r.grouped_by.region ?? ''}`;
    const cents = BigInt(r.amount_cents);
    total += cents;
    const e = expected.get(key);
    if (!e) {
      if (cents !== 0n || Number(r.units) !== 0) problems.push(`${key}: unexpected line ${r.units} units, ${cents} cents`);
      continue;
    }
    if (seen.has(key)) problems.push(`${key}: line doubled`);
    seen.add(key);
    const tol = key.startsWith('weighted') ? 1e-9 : 0;
    if (Math.abs(Number(r.units) - e.units) > tol * Math.max(1, e.units)) problems.push(`${key}: units ${r.units} ≠ ${e.units}`);
    if (cents !== e.cents) problems.push(`${key}: ${cents} cents ≠ ${e.cents}`);
  }
  for (const key of expected.keys()) if (!seen.has(key)) problems.push(`${key}: line missing`);
  const expectedTotal = [...expected.values()].reduce((x, e) => x + e.cents, 0n);
  const inv = (await db('invoices').where({ id: invoiceId }).first('fees_amount_cents', 'total_amount_cents')) as { fees_amount_cents: string; total_amount_cents: string };
  if (BigInt(inv.fees_amount_cents) !== expectedTotal) problems.push(`invoice fees_amount_cents ${inv.fees_amount_cents} ≠ recomputed ${expectedTotal}`);
  if (total !== expectedTotal) problems.push(`Σ lines ${total} ≠ recomputed ${expectedTotal}`);
  console.log(`  check: ${expected.size} expected non-empty lines (${rows.length} fee rows, empty slots included), recomputed total ${expectedTotal} cents, invoice fees ${inv.fees_amount_cents} cents, total ${inv.total_amount_cents} cents: ${problems.length === 0 ? 'OK (every line\'s units and cents equal)' : `${problems.length} problem(s)`} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return problems;
}

async function runOne(events: number): Promise<Measured[]> {
  const bench = await openBenchDatabase('close_memory', { pgFlags: ['-c', 'shared_preload_libraries=pg_stat_statements'] });
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
    const statStatements = await db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').then(() => true, () => false);
    const pgCounters = async () => {
      const st = statStatements
        ? Number((await db.raw(`SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_database%'`)).rows[0].n)
        : Number.NaN;
      const commits = Number((await db.raw('SELECT xact_commit AS c FROM pg_stat_database WHERE datname = current_database()')).rows[0].c);
      return { st, commits };
    };
    if (statStatements) await db.raw('SELECT pg_stat_statements_reset()');
    await db.raw('SELECT pg_stat_clear_snapshot()');
    const pg0 = await pgCounters();
    const close = await measure('close (createPeriodInvoice, every charge)', () =>
      activities.createPeriodInvoice({ organizationId: s.orgId, subscriptionId: s.subId, kind: 'subscription', period: PERIOD, fullPeriod: PERIOD }),
    );
    out.push(close.m);
    await db.raw('SELECT pg_sleep(0.6)'); // pg_stat_database is flushed by each backend at most every 0.5 s (idle) / at its transaction end
    await db.raw('SELECT pg_stat_clear_snapshot()');
    const pg1 = await pgCounters();
    console.log(`  close's Postgres work: ${statStatements ? `${pg1.st - pg0.st} statements (pg_stat_statements calls)` : 'pg_stat_statements not loaded'}, ${pg1.commits - pg0.commits} commits (pg_stat_database; the counter queries' own commits included)`);
    const res = close.value;
    const fees = (await db('fees').where({ invoice_id: res.invoiceId }).select(db.raw('count(*)::int AS n'), db.raw('sum(events_count)::bigint AS events'))) as { n: number; events: string }[];
    console.log(`  invoice ${res.invoiceId}: total ${res.totalAmountCents} cents, ${fees[0]!.n} fee lines, ${fees[0]!.events} events counted (the dynamic charge counts the sum metric's events again)`);
    const problems = await checkInvoice(db, res.invoiceId, events);
    if (problems.length > 0) {
      console.log(`  CHECK FAILED: ${problems.length} difference(s) from the independent recomputation:\n    ${problems.slice(0, 20).join('\n    ')}`);
      process.exitCode = 1;
    }
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
