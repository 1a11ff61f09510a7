// The first of the month at scale: N subscriptions whose periods end at the same instant, measured until every
// one is invoiced AND finalized. Run with `npm run bench:close -- --n 10000` (default 10,000; --lead S seconds
// between the start of the set-up and the common period end; --timeout S).
//
// - Its own stack: an embedded Postgres and a Temporal dev server (in memory, headless) in a temp dir; the
//   system under test (bench/support/close-server.ts: migrations + billing worker + HTTP API in one process, as
//   `npm start` runs it) in a child process.
// - Set-up through the HTTP API: metrics and a plan (1,000 cents a month in arrears; a count charge, a sum charge
//   with a filter (model=large at another price), a sum charge with pricing groups (region)), N customers and
//   anniversary subscriptions starting one month before T0 (so every period is [T0 − 1 month, T0)), and ~8
//   events per subscription (POST /events/batch, 100 per request), all acknowledged before T0.
// - Measure from T0: invoices finalized over time (finalized_at − T0: p50 / p99 / last), closes per second, and
//   over the window [T0, last finalized]: SQL statements sent by the app (knex query events), activity
//   executions and workflow tasks (the SDK's Prometheus counters), CPU seconds of the app process, of this
//   cluster's Postgres processes and of the Temporal server, and the app's peak RSS.
// - Check: every subscription has exactly one subscription invoice for its period, finalized, whose fee lines
//   equal an independent recomputation here (integer cents: prices are whole cents per unit), and whose
//   fees / total amounts equal their sum + the subscription fee. Exits 1 on any mismatch.
// The machine is shared (2 cores): figures are noisy; the script asserts nothing about speed.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DateTime } from 'luxon';
import type { Knex } from 'knex';
import { createDb } from '../db/knexfile';
import { createApiKey, ensureOrganization } from '../db/repositories/organizations';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../dev/postgres';
import { freePort, startTemporalDevServer, type RunningTemporal } from '../dev/temporal';
import { percentile } from './support/stats';

const ROOT = path.resolve(__dirname, '..');
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : process.env[`BENCH_${name.toUpperCase()}`];
  return v === undefined ? dflt : Number(v);
}

const N = arg('n', 10_000);
const LEAD_S = arg('lead', Math.ceil(30 + N * 0.03));
const TIMEOUT_S = arg('timeout', 1800);
const CONCURRENCY = arg('concurrency', 16);

// ---------------------------------------------------------------------------------------------------------
// Processes and clean-up

const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', e instanceof Error ? e.message : e));
  cleanups.length = 0;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void cleanup().then(() => process.exit(130)));

function spawnTs(script: string, env: Record<string, string>, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [TSX_CLI, script], {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_PARENT_PID: String(process.pid) },
    stdio: ['ignore', out, out],
    detached: true,
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
          resolve();
        }, 15_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          resolve();
        }
      }),
  );
  return child;
}

async function waitForLine(file: string, re: RegExp, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (fs.existsSync(file) && re.test(fs.readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${re} in ${file}:\n${fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(-3000) : ''}`);
}

// CPU seconds of a process and its descendants (/proc; Linux only).
function procTable(): Map<number, { ppid: number; cpuS: number }> {
  const out = new Map<number, { ppid: number; cpuS: number }>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(e), { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      /* exited */
    }
  }
  return out;
}

function treeCpu(roots: number[]): Map<number, number> {
  const t = procTable();
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, i = 0; p && i < 30; i++) {
      if (roots.includes(p)) return true;
      p = t.get(p)?.ppid;
    }
    return false;
  };
  const out = new Map<number, number>();
  for (const [pid, p] of t) if (inTree(pid)) out.set(pid, p.cpuS);
  return out;
}

function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, c] of after) s += c - (before.get(pid) ?? 0);
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

let API = '';
let KEY = '';

async function call(method: string, p: string, body?: unknown): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${API}${p}`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.ok) return text ? JSON.parse(text) : null;
    if (res.status >= 500 && attempt < 5) {
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      continue;
    }
    throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
  }
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Usage and the independent recomputation (whole cents per unit: no rounding anywhere)

const PRICES = { fee: 1000, call: 1, tokenSmall: 1, tokenLarge: 3, gpu: 2 };

interface Usage {
  calls: number;
  small: number;
  large: number;
  eu: number;
  us: number;
}

function usageOf(i: number): Usage {
  return { calls: 1 + (i % 5), small: 1 + (i % 100), large: 1 + ((i * 7) % 50), eu: 1 + (i % 30), us: (i * 3) % 20 };
}

/** Expected fee lines (metric code, filter index, grouped_by → cents) and totals of subscription i. */
function expectedLines(i: number): Map<string, number> {
  const u = usageOf(i);
  const m = new Map<string, number>();
  m.set(JSON.stringify(['subscription', null, {}]), PRICES.fee);
  m.set(JSON.stringify(['calls', null, {}]), u.calls * PRICES.call);
  m.set(JSON.stringify(['tokens', 0, {}]), u.large * PRICES.tokenLarge);
  m.set(JSON.stringify(['tokens', null, {}]), u.small * PRICES.tokenSmall);
  m.set(JSON.stringify(['gpu', null, { region: 'eu' }]), u.eu * PRICES.gpu);
  if (u.us > 0) m.set(JSON.stringify(['gpu', null, { region: 'us' }]), u.us * PRICES.gpu);
  return m;
}

function eventsOf(i: number, tsSeconds: number): unknown[] {
  const u = usageOf(i);
  const sub = `sub_${i}`;
  const ev: unknown[] = [];
  for (let k = 0; k < u.calls; k++) ev.push({ transaction_id: `c-${i}-${k}`, external_subscription_id: sub, code: 'calls', timestamp: tsSeconds, properties: {} });
  ev.push({ transaction_id: `ts-${i}`, external_subscription_id: sub, code: 'tokens', timestamp: tsSeconds, properties: { model: 'small', tokens: u.small } });
  ev.push({ transaction_id: `tl-${i}`, external_subscription_id: sub, code: 'tokens', timestamp: tsSeconds, properties: { model: 'large', tokens: u.large } });
  ev.push({ transaction_id: `ge-${i}`, external_subscription_id: sub, code: 'gpu', timestamp: tsSeconds, properties: { region: 'eu', seconds: u.eu } });
  if (u.us > 0) ev.push({ transaction_id: `gu-${i}`, external_subscription_id: sub, code: 'gpu', timestamp: tsSeconds, properties: { region: 'us', seconds: u.us } });
  return ev;
}

async function createCatalog(): Promise<void> {
  await call('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } });
  await call('POST', '/billable_metrics', {
    billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens', filters: [{ key: 'model', values: ['small', 'large'] }] },
  });
  await call('POST', '/billable_metrics', { billable_metric: { name: 'GPU', code: 'gpu', aggregation_type: 'sum_agg', field_name: 'seconds' } });
  await call('POST', '/plans', {
    plan: {
      name: 'Bench', code: 'bench', interval: 'monthly', amount_cents: PRICES.fee, amount_currency: 'USD', pay_in_advance: false,
      charges: [
        { billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '0.01' } },
        {
          billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '0.01' },
          filters: [{ invoice_display_name: 'Large', properties: { amount: '0.03' }, values: { model: ['large'] } }],
        },
        { billable_metric_code: 'gpu', charge_model: 'standard', properties: { amount: '0.02', pricing_group_keys: ['region'] } },
      ],
    },
  });
}

// ---------------------------------------------------------------------------------------------------------

type Scrape = { activities: number; workflowTasks: number; byActivity: Map<string, number>; byLocalActivity: Map<string, number>; byWorkflow: Map<string, number> };

/** Counter lines matching `re`, summed per value of `label`. */
function byLabel(text: string, re: RegExp, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (!re.test(l)) continue;
    const k = new RegExp(`${label}="([^"]*)"`).exec(l)?.[1] ?? '?';
    out.set(k, (out.get(k) ?? 0) + Number(l.trim().split(/\s+/).pop()));
  }
  return out;
}

function perCloseDelta(a: Map<string, number>, b: Map<string, number>, n: number): string {
  return [...b]
    .map(([k, v]) => [k, (v - (a.get(k) ?? 0)) / Math.max(1, n)] as const)
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

async function scrape(port: number): Promise<Scrape> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (re: RegExp) =>
    text
      .split('\n')
      .filter((l) => re.test(l))
      .reduce((a, l) => a + Number(l.trim().split(/\s+/).pop()), 0);
  return {
    activities: sum(/^temporal_activity_execution_latency(_seconds)?_count[{ ]/),
    workflowTasks: sum(/^temporal_workflow_task_execution_latency(_seconds)?_count[{ ]/),
    byActivity: byLabel(text, /^temporal_activity_execution_latency(_seconds)?_count[{ ]/, 'activity_type'),
    byLocalActivity: byLabel(text, /^temporal_local_activity_execution_latency(_seconds)?_count[{ ]/, 'activity_type'),
    byWorkflow: byLabel(text, /^temporal_workflow_task_execution_latency(_seconds)?_count[{ ]/, 'workflow_type'),
  };
}

async function pgStats(db: Knex, dbName: string): Promise<{ commits: number; tupIns: number; tupUpd: number }> {
  const r = (await db.raw('SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = ?', [dbName])) as { rows: Record<string, string>[] };
  const x = r.rows[0]!;
  return { commits: Number(x.xact_commit), tupIns: Number(x.tup_inserted), tupUpd: Number(x.tup_updated) };
}

async function verify(db: Knex, orgId: string, t0: Date): Promise<{ problems: string[]; finalized: number }> {
  const subs = (await db('subscriptions').where({ organization_id: orgId }).select('id', 'external_id')) as { id: string; external_id: string }[];
  const invoices = (await db('invoices').where({ organization_id: orgId, invoice_type: 'subscription' }).select('id', 'subscription_id', 'status', 'period_end', 'fees_amount_cents', 'total_amount_cents')) as {
    id: string; subscription_id: string; status: string; period_end: Date; fees_amount_cents: string; total_amount_cents: string;
  }[];
  const fees = (await db('fees').whereIn('invoice_id', db('invoices').where({ organization_id: orgId }).select('id')).select('invoice_id', 'fee_type', 'metric_code', 'filter_index', 'grouped_by', 'amount_cents')) as {
    invoice_id: string; fee_type: string; metric_code: string | null; filter_index: number | null; grouped_by: Record<string, string>; amount_cents: string;
  }[];
  const feesByInvoice = new Map<string, typeof fees>();
  for (const f of fees) (feesByInvoice.get(f.invoice_id) ?? feesByInvoice.set(f.invoice_id, []).get(f.invoice_id)!).push(f);
  const bySub = new Map<string, typeof invoices>();
  for (const inv of invoices) (bySub.get(inv.subscription_id) ?? bySub.set(inv.subscription_id, []).get(inv.subscription_id)!).push(inv);
  const problems: string[] = [];
  let finalized = 0;
  for (const s of subs) {
    const i = Number(s.external_id.slice('sub_'.length));
    const invs = (bySub.get(s.id) ?? []).filter((x) => x.period_end.getTime() === t0.getTime());
    if (invs.length !== 1) {
      problems.push(`${s.external_id}: ${invs.length} invoices for the period`);
      continue;
    }
    const inv = invs[0]!;
    if (inv.status === 'finalized') finalized += 1;
    else problems.push(`${s.external_id}: invoice ${inv.status}`);
    const expected = expectedLines(i);
    const actual = new Map<string, number>();
    for (const f of feesByInvoice.get(inv.id) ?? []) {
      const key = JSON.stringify([f.fee_type === 'subscription' ? 'subscription' : f.metric_code, f.filter_index, f.grouped_by ?? {}]);
      if (Number(f.amount_cents) !== 0 || expected.has(key)) actual.set(key, (actual.get(key) ?? 0) + Number(f.amount_cents));
    }
    const e = JSON.stringify([...expected].sort());
    const a = JSON.stringify([...actual].sort());
    if (e !== a) problems.push(`${s.external_id}: lines ${a} ≠ expected ${e}`);
    const sum = [...expected.values()].reduce((x, y) => x + y, 0);
    if (Number(inv.fees_amount_cents) !== sum || Number(inv.total_amount_cents) !== sum) {
      problems.push(`${s.external_id}: fees ${inv.fees_amount_cents} / total ${inv.total_amount_cents} ≠ ${sum}`);
    }
  }
  if (subs.length !== N) problems.push(`${subs.length} subscriptions, expected ${N}`);
  return { problems, finalized };
}

/** History length of one subscription's closed (continued-as-new) run and of its invoice's workflow. */
async function historySizes(address: string, db: Knex, orgId: string): Promise<{ subscription: number; invoice: number }> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    const inv = (await db('invoices').where({ organization_id: orgId, invoice_type: 'subscription' }).first('id', 'subscription_id')) as { id: string; subscription_id: string } | undefined;
    if (!inv) return { subscription: Number.NaN, invoice: Number.NaN };
    let subscription = Number.NaN;
    for await (const w of client.workflow.list({ query: `WorkflowId = 'subscription:${inv.subscription_id}' AND ExecutionStatus = 'ContinuedAsNew'` })) {
      const h = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      subscription = h.events?.length ?? Number.NaN;
      break;
    }
    const h = await client.workflow.getHandle(`invoice:${inv.id}`).fetchHistory();
    return { subscription, invoice: h.events?.length ?? Number.NaN };
  } finally {
    await connection.close();
  }
}

async function main(): Promise<number> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-bench-close-'));
  fs.chmodSync(tmp, 0o755);
  cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
  console.log(`bench:close N=${N}, lead ${LEAD_S} s, ${os.cpus().length} CPUs (shared with other work: figures are noisy), work dir ${tmp}`);

  const pgPort = await freePort();
  const pgServer: RunningPostgres = await startEmbeddedPostgres(path.join(tmp, 'pg'), pgPort);
  cleanups.push(() => pgServer.stop());
  const postmasterPid = Number(fs.readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const dbName = 'bench_close';
  await ensureDatabase(pgServer.url, dbName);
  const databaseUrl = withDatabase(pgServer.url, dbName);

  const temporal: RunningTemporal = await startTemporalDevServer({ port: await freePort(), uiPort: null });
  cleanups.push(() => temporal.stop());

  const [apiPort, statsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const log = path.join(tmp, 'server.log');
  const server = spawnTs('bench/support/close-server.ts', {
    DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, PORT: String(apiPort), STATS_PORT: String(statsPort), METRICS_PORT: String(metricsPort),
  }, log);
  await waitForLine(log, /close server ready/, 240_000);
  API = `http://127.0.0.1:${apiPort}/api/v1`;

  const db = createDb(databaseUrl, 4);
  cleanups.push(() => db.destroy());
  const org = await ensureOrganization(db, 'bench-close', 'Bench close');
  KEY = await createApiKey(db, org.id);
  await createCatalog();

  const t0 = DateTime.utc().plus({ seconds: LEAD_S }).startOf('second');
  const subscriptionAt = t0.minus({ months: 1 });
  console.log(`period end T0 = ${t0.toISO()} (subscriptions from ${subscriptionAt.toISO()}, anniversary, monthly)`);
  const setupStart = Date.now();
  const ids = Array.from({ length: N }, (_, i) => i);
  await pool(ids, CONCURRENCY, async (i) => {
    await call('POST', '/customers', { customer: { external_id: `cust_${i}`, name: `Customer ${i}`, currency: 'USD', timezone: 'UTC' } });
    await call('POST', '/subscriptions', {
      subscription: { external_customer_id: `cust_${i}`, plan_code: 'bench', external_id: `sub_${i}`, billing_time: 'anniversary', subscription_at: subscriptionAt.toISO() },
    });
  });
  const subsS = (Date.now() - setupStart) / 1000;
  const tsSeconds = Math.floor(Date.now() / 1000) - 5;
  const batches: unknown[][] = [];
  let cur: unknown[] = [];
  for (const i of ids) {
    for (const e of eventsOf(i, tsSeconds)) {
      cur.push(e);
      if (cur.length === 100) {
        batches.push(cur);
        cur = [];
      }
    }
  }
  if (cur.length) batches.push(cur);
  const evStart = Date.now();
  await pool(batches, 8, async (b) => {
    await call('POST', '/events/batch', { events: b });
  });
  const nEvents = batches.reduce((a, b) => a + b.length, 0);
  console.log(`set-up: ${N} customers + subscriptions in ${subsS.toFixed(1)} s (${(N / subsS).toFixed(0)}/s), ${nEvents} events in ${((Date.now() - evStart) / 1000).toFixed(1)} s`);
  const slackMs = t0.toMillis() - Date.now();
  if (slackMs < 2000) {
    console.error(`set-up ended ${(-slackMs / 1000).toFixed(1)} s after T0 - 2 s: run again with a longer --lead (now ${LEAD_S})`);
    await cleanup();
    return 1;
  }
  await new Promise((r) => setTimeout(r, slackMs - 1000));

  // Window start (1 s before T0).
  await fetch(`http://127.0.0.1:${statsPort}/stats?reset=1`);
  const m0 = await scrape(metricsPort);
  const pg0 = await pgStats(db, dbName);
  const roots = { app: [server.pid!], postgres: [postmasterPid], temporal: [temporal.process.pid!] };
  const cpu0 = { app: treeCpu(roots.app), postgres: treeCpu(roots.postgres), temporal: treeCpu(roots.temporal) };

  const deadline = Date.now() + TIMEOUT_S * 1000;
  let done = 0;
  let lastPrint = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const r = (await db('invoices').where({ organization_id: org.id, invoice_type: 'subscription', status: 'finalized' }).count<{ n: string }[]>({ n: '*' })) as { n: string }[];
    done = Number(r[0]!.n);
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      const drafts = (await db('invoices').where({ organization_id: org.id }).count<{ n: string }[]>({ n: '*' })) as { n: string }[];
      console.log(`  +${((Date.now() - t0.toMillis()) / 1000).toFixed(0)} s: ${drafts[0]!.n} invoices, ${done} finalized`);
    }
    if (done >= N) break;
  }
  const stats = (await (await fetch(`http://127.0.0.1:${statsPort}/stats?profile=1`)).json()) as { queries: number; cpuSeconds: number; peakRssMb: number; statements: [string, number][] };
  const m1 = await scrape(metricsPort);
  const pg1 = await pgStats(db, dbName);
  const cpu = {
    app: cpuSince(cpu0.app, treeCpu(roots.app)),
    postgres: cpuSince(cpu0.postgres, treeCpu(roots.postgres)),
    temporal: cpuSince(cpu0.temporal, treeCpu(roots.temporal)),
  };

  const fin = (await db('invoices').where({ organization_id: org.id, invoice_type: 'subscription' }).whereNotNull('finalized_at').select('finalized_at', 'created_at')) as { finalized_at: Date; created_at: Date }[];
  const lat = fin.map((f) => (f.finalized_at.getTime() - t0.toMillis()) / 1000).sort((a, b) => a - b);
  const toDraft = fin.map((f) => (f.created_at.getTime() - t0.toMillis()) / 1000).sort((a, b) => a - b);
  const draftToFinal = fin.map((f) => (f.finalized_at.getTime() - f.created_at.getTime()) / 1000).sort((a, b) => a - b);
  const last = lat[lat.length - 1] ?? Number.NaN;
  const { problems, finalized } = await verify(db, org.id, t0.toJSDate());
  const history = await historySizes(temporal.address, db, org.id);
  const f1 = (x: number) => x.toFixed(1);
  const per = (x: number) => (x / Math.max(1, finalized)).toFixed(1);
  console.log('');
  console.log(`closes          ${finalized} / ${N} invoiced and finalized; last at T0 + ${f1(last)} s → ${(finalized / last).toFixed(1)} closes/s`);
  console.log(`latency         period end → finalized invoice: p50 ${f1(percentile(lat, 50))} s, p99 ${f1(percentile(lat, 99))} s, max ${f1(last)} s`);
  console.log(`where           period end → draft written: p50 ${f1(percentile(toDraft, 50))} s, p99 ${f1(percentile(toDraft, 99))} s; draft → finalized: p50 ${f1(percentile(draftToFinal, 50))} s, p99 ${f1(percentile(draftToFinal, 99))} s`);
  console.log(`per close       ${per(stats.queries)} SQL statements (app), ${per(m1.activities - m0.activities)} activities, ${per(m1.workflowTasks - m0.workflowTasks)} workflow tasks, ${per(pg1.commits - pg0.commits)} Postgres commits`);
  console.log(`  activities    ${perCloseDelta(m0.byActivity, m1.byActivity, finalized)}`);
  console.log(`  local act.    ${perCloseDelta(m0.byLocalActivity, m1.byLocalActivity, finalized) || 'none'} (local activities run inside a workflow task: no activity task)`);
  console.log(`  wf tasks      ${perCloseDelta(m0.byWorkflow, m1.byWorkflow, finalized)}`);
  console.log(`  statements    (per close, most frequent first)`);
  for (const [sql, n] of stats.statements.slice(0, 40)) console.log(`    ${(n / Math.max(1, finalized)).toFixed(2).padStart(6)}  ${sql}`);
  console.log(`CPU seconds     app (API + worker) ${f1(cpu.app)}, Postgres ${f1(cpu.postgres)}, Temporal dev server ${f1(cpu.temporal)} over ${f1(last + 1)} s (2 cores = ${f1(2 * (last + 1))} CPU-s)`);
  const pc = (x: number) => (x / Math.max(1, finalized)).toFixed(3);
  console.log(`CPU per close   ${pc(cpu.app + cpu.postgres + cpu.temporal)} CPU-s: app ${pc(cpu.app)}, Postgres ${pc(cpu.postgres)}, Temporal dev server ${pc(cpu.temporal)}`);
  console.log(`history         events per run: closed subscription run ${history.subscription}, invoice workflow ${history.invoice} (Temporal's limits: 51,200 events / 50 MB per run)`);
  console.log(`load average    ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (1 / 5 / 15 min, at the end)`);
  console.log(`memory          app peak RSS ${stats.peakRssMb.toFixed(0)} MB in the window`);
  console.log(`check           ${problems.length === 0 ? 'OK: every subscription has one finalized invoice with the recomputed lines and totals' : `${problems.length} problem(s)`}`);
  for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
  await cleanup();
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error('bench:close failed:', err);
    await cleanup();
    process.exit(2);
  },
);
