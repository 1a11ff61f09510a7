// `npm run chaos [-- --injections N] [-- --seed N]`: fault injection under load, then an audit from Postgres.
// Not part of `npm test` (minutes long, kills processes on purpose).
//
// The stack, started here on loopback in a temp dir: an embedded Postgres cluster, a Temporal dev server
// whose state is a SQLite file (so a restart keeps the workflows), the API and the worker as SEPARATE
// processes (tools/support/chaos-api.ts and chaos-worker.ts, each its own process group, restarted by a
// supervisor whenever they exit). A reaper (bench/support/reaper.ts) stops everything if this process dies.
//
// Load: a retrying client (2 ingest loops, batches of 25 events to /events/batch): on a 5xx, a timeout or a
// connection error it sends the SAME batch again (same transaction ids) until it gets a 2xx; a 2xx marks the
// batch's events acknowledged. Terminations (DELETE) and subscription creations retry the same way.
//
// Subscriptions (calendar monthly, UTC, customer grace period 0):
//   live     — created at start with subscription_at = the start of the current month: they take the events;
//              terminated at the end (after the load stops);
//   closing  — created DURING the run with a subscription_at 40 days back, so their workflow closes one or two
//              past periods at once: "period close" is under way while the fault hits;
//   ending   — created at start, terminated (DELETE) DURING the run while the fault hits.
// Every subscription is terminated by the end, so each must have exactly one invoice per billing period from
// subscription_at to terminated_at (the last one partial), the schedule computed by billing/period.ts.
//
// Injections (round-robin over a seeded shuffle; --injections N, default 60, ≥ 50 covers every kind 4+ times):
//   api-kill/ingest, worker-kill/ingest       kill -9 of the API / worker process group while batches flow
//   api-kill/close, worker-kill/close         kill -9 right after creating a backdated subscription
//   api-kill/terminate, worker-kill/terminate kill -9 right after sending a DELETE
//   pg-fast-stop, pg-kill9                    Postgres fast shutdown (SIGINT) / SIGKILL of the postmaster and every
//                                             backend, then restart (crash recovery) after ~2 s
//   temporal-restart                          SIGTERM of the dev server, restart on the same port and db file
//   duplicate-delivery                        3 already acknowledged batches sent again
//   reordered-delivery                        two new batches sent newest first, events up to 1 h back in time
//
// Audit (exit code 1 on any loss, double, missing invoice or unfinished termination):
//   events acknowledged / stored / lost (acknowledged, not stored) / doubled (a transaction id twice);
//   invoices expected / present / missing / doubled (more than one for a period, or one for no period);
//   5xx answers, connection errors, retries, unterminated subscriptions.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { DateTime } from 'luxon';
import { subscriptionPeriods } from '../api/routes/past-usage';
import { freePort } from '../dev/temporal';
import type { RunningPostgres } from '../dev/postgres';
import { createTenant, http, must, ROOT, sleep, startPostgres, startServices, startTemporal, waitForHealth, type Services } from './support/stack';

// ---------------------------------------------------------------------------------------------------------
// options

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
  return v;
}

const INJECTIONS = option('injections', 60);
const SEED = option('seed', 20261201);
const BATCH = 25;
const LOOPS = 2;
const LOOP_PAUSE_MS = 150;
const RUN = `chaos-${Date.now().toString(36)}`;
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

const KINDS = [
  'api-kill/ingest',
  'worker-kill/ingest',
  'api-kill/close',
  'worker-kill/close',
  'api-kill/terminate',
  'worker-kill/terminate',
  'pg-fast-stop',
  'pg-kill9',
  'temporal-restart',
  'duplicate-delivery',
  'reordered-delivery',
] as const;
type Kind = (typeof KINDS)[number];

/** Deterministic PRNG (mulberry32) so a run is reproducible with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

function plan(n: number): Kind[] {
  const out: Kind[] = [];
  while (out.length < n) {
    const round = [...KINDS];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    out.push(...round);
  }
  return out.slice(0, n);
}

// ---------------------------------------------------------------------------------------------------------
// counters

const tally = {
  injections: {} as Record<string, number>,
  requests: 0,
  serverErrors: 0,
  connectionErrors: 0,
  retries: 0,
  acknowledgedEvents: 0,
  duplicatesAnswered: 0,
  duplicateDeliveries: 0,
  reorderedBatches: 0,
  unexpected4xx: [] as string[],
  /** Kills that hit while a DELETE of theirs had not been answered yet (the termination really was in flight). */
  terminationsInFlightAtKill: 0,
};
/** DELETEs sent and not answered yet. */
const pendingTerminations = new Set<string>();
const acked = new Set<string>();

function log(msg: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

// ---------------------------------------------------------------------------------------------------------
// processes

interface Managed {
  name: 'api' | 'worker';
  script: string;
  child: ChildProcess | null;
  /** Set while the orchestrator stops it on purpose (no supervisor restart). */
  expectedDown: boolean;
  restarts: number;
  /** Size of its log when it was last spawned (readiness is read after it). */
  logOffset: number;
}

let services: Services;
let pgServer: RunningPostgres;
let apiPort = 0;
let base = '';
let apiKey = '';
let bundlePath = '';
let shuttingDown = false;
const reaperRecord = { groups: [] as number[], pids: [] as number[] };

function record(kind: 'groups' | 'pids', pid: number | undefined): void {
  if (!pid) return;
  reaperRecord[kind].push(pid);
  fs.writeFileSync(path.join(services.dir, 'reaper.json'), JSON.stringify(reaperRecord));
}

function env(): Record<string, string> {
  return {
    DATABASE_URL: services.databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${services.temporalPort}`,
    PORT: String(apiPort),
    WORKFLOW_BUNDLE: bundlePath,
    CHAOS_PARENT_PID: String(process.pid),
  };
}

function spawnManaged(m: Managed): void {
  const file = path.join(services.dir, `${m.name}.log`);
  m.logOffset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const out = fs.openSync(file, 'a');
  const child = spawn(process.execPath, [TSX_CLI, m.script], {
    cwd: ROOT,
    env: { ...process.env, ...env() },
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  record('groups', child.pid);
  m.child = child;
  child.once('exit', () => {
    if (m.child !== child) return;
    m.child = null;
    // Supervisor: a process that died on its own (e.g. the worker after Temporal was gone) comes back.
    if (!m.expectedDown && !shuttingDown) {
      m.restarts += 1;
      setTimeout(() => {
        if (!m.child && !m.expectedDown && !shuttingDown) spawnManaged(m);
      }, 500);
    }
  });
}

function killGroup(m: Managed, sig: NodeJS.Signals): Promise<void> {
  const child = m.child;
  if (!child?.pid) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, sig);
  } catch {
    return Promise.resolve();
  }
  return exited;
}

const api: Managed = { name: 'api', script: 'tools/support/chaos-api.ts', child: null, expectedDown: false, restarts: 0, logOffset: 0 };
const worker: Managed = { name: 'worker', script: 'tools/support/chaos-worker.ts', child: null, expectedDown: false, restarts: 0, logOffset: 0 };

/** kill -9 of the process group, then start it again (the API: until /health answers). */
async function crash(m: Managed): Promise<void> {
  m.expectedDown = true;
  await killGroup(m, 'SIGKILL');
  await sleep(300);
  m.expectedDown = false;
  spawnManaged(m);
  if (m.name === 'api') await waitForHealth(`http://127.0.0.1:${apiPort}`, 90_000);
  else await waitForLog(m, 'chaos worker polling', 90_000);
}

async function waitForLog(m: Managed, text: string, timeoutMs: number): Promise<void> {
  const file = path.join(services.dir, `${m.name}.log`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The log is appended across restarts: only what this spawn wrote counts.
    if (fs.readFileSync(file).subarray(m.logOffset).toString('utf8').includes(text)) return;
    await sleep(200);
  }
  log(`warning: ${m.name} did not log "${text}" within ${timeoutMs} ms`);
}

function postmasterPid(): number {
  try {
    return Number(fs.readFileSync(path.join(services.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster's children (the backends), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
}

async function restartPostgres(mode: 'fast' | 'kill9'): Promise<void> {
  const pid = postmasterPid();
  if (pid > 0) {
    if (mode === 'fast') {
      process.kill(pid, 'SIGINT');
      await waitGone([pid], 30_000);
    } else {
      const backends = childrenOf(pid);
      for (const p of [pid, ...backends]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await waitGone([pid, ...backends], 30_000);
    }
  }
  await sleep(2000);
  pgServer = await startPostgres(services.dir, services.pgPort);
}

async function restartTemporal(): Promise<void> {
  await services.temporal.stop();
  await sleep(500);
  services.temporal = await startTemporal(services.temporalPort, services.temporalDbFile);
  record('pids', services.temporal.process.pid);
}

// ---------------------------------------------------------------------------------------------------------
// the retrying client

type Answer = { status: number; body: any };

/**
 * Sends the same request until an answer `done` accepts: 5xx, timeouts and connection errors are retried
 * (a kill, a database or Temporal restart in progress); each retry waits a little longer (≤ 2 s).
 */
async function retrying(method: string, p: string, body: unknown, done: (a: Answer) => boolean, maxMs = 240_000): Promise<Answer | null> {
  const deadline = Date.now() + maxMs;
  let wait = 100;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) tally.retries += 1;
    tally.requests += 1;
    try {
      const a = await http(base, apiKey, method, p, body, 20_000);
      if (a.status >= 500) tally.serverErrors += 1;
      if (done(a)) return a;
    } catch {
      tally.connectionErrors += 1;
    }
    if (Date.now() > deadline) return null;
    await sleep(wait);
    wait = Math.min(wait * 2, 2000);
  }
}

let seq = 0;
const sent: { body: unknown }[] = [];

function batchOf(subs: string[], tsOf: (i: number) => string): { events: unknown[] } {
  const events = Array.from({ length: BATCH }, (_, i) => {
    seq += 1;
    return {
      transaction_id: `${RUN}-${seq}`,
      external_subscription_id: subs[seq % subs.length],
      code: 'tokens',
      timestamp: tsOf(i),
      properties: { tokens: 1 + (seq % 97) },
    };
  });
  return { events };
}

async function deliver(body: { events: { transaction_id: string }[] }, p = '/events/batch'): Promise<boolean> {
  const a = await retrying('POST', p, body, (x) => x.status < 500);
  if (!a) return false;
  if (a.status >= 200 && a.status < 300) {
    for (const e of a.body.events as { transaction_id: string; duplicate: boolean }[]) {
      if (e.duplicate) tally.duplicatesAnswered += 1;
      else tally.acknowledgedEvents += 1;
      acked.add(e.transaction_id);
    }
    return true;
  }
  if (tally.unexpected4xx.length < 20) tally.unexpected4xx.push(`${p} → ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
  return false;
}

let loadRunning = true;

async function ingestLoop(subs: string[]): Promise<void> {
  while (loadRunning) {
    const body = batchOf(subs, () => new Date().toISOString());
    if (await deliver(body as { events: { transaction_id: string }[] })) sent.push({ body });
    await sleep(LOOP_PAUSE_MS);
  }
}

// ---------------------------------------------------------------------------------------------------------
// setup

async function setup(): Promise<{ live: string[]; ending: string[] }> {
  await must(base, apiKey, 'POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens' } });
  await must(base, apiKey, 'POST', '/plans', {
    plan: {
      name: 'Chaos', code: 'chaos', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD',
      charges: [{ billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '0.001' } }],
    },
  });
  await must(base, apiKey, 'POST', '/customers', { customer: { external_id: 'chaos-co', name: 'Chaos Co', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } });
  const monthStart = DateTime.utc().startOf('month').toISO()!;
  const live: string[] = [];
  const ending: string[] = [];
  for (let i = 0; i < 8; i++) {
    live.push(`live-${i}`);
    await must(base, apiKey, 'POST', '/subscriptions', { subscription: { external_customer_id: 'chaos-co', plan_code: 'chaos', external_id: `live-${i}`, subscription_at: monthStart } });
  }
  for (let i = 0; i < 12; i++) {
    ending.push(`ending-${i}`);
    await must(base, apiKey, 'POST', '/subscriptions', { subscription: { external_customer_id: 'chaos-co', plan_code: 'chaos', external_id: `ending-${i}` } });
  }
  return { live, ending };
}

/** DELETE until the subscription is terminated (200), or already is (404 from a retried DELETE). */
async function terminate(externalId: string): Promise<boolean> {
  pendingTerminations.add(externalId);
  try {
    const a = await retrying('DELETE', `/subscriptions/${externalId}`, undefined, (x) => x.status === 200 || x.status === 404, 180_000);
    return a !== null;
  } finally {
    pendingTerminations.delete(externalId);
  }
}

/** A subscription 40 days back: its workflow closes its past periods at once. Retried with the same body (a
 * repeated POST /subscriptions is the same subscription, and heals a workflow whose start was lost). */
function createClosing(externalId: string, at: string): Promise<Answer | null> {
  const body = { subscription: { external_customer_id: 'chaos-co', plan_code: 'chaos', external_id: externalId, subscription_at: at } };
  return retrying('POST', '/subscriptions', body, (x) => x.status === 200);
}

// ---------------------------------------------------------------------------------------------------------
// audit

interface Audit {
  eventsAcknowledged: number;
  eventsStored: number;
  eventsLost: number;
  eventsDoubled: number;
  eventsStoredUnacknowledged: number;
  invoicesExpected: number;
  invoicesPresent: number;
  invoicesMissing: number;
  invoicesDoubled: number;
  subscriptions: number;
  unterminated: string[];
  problems: string[];
}

async function audit(organizationId: string): Promise<Audit> {
  const c = new pg.Client({ connectionString: services.databaseUrl });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const rows = await c.query('SELECT transaction_id, count(*)::int AS n FROM events WHERE organization_id = $1 AND starts_with(transaction_id, $2) GROUP BY transaction_id', [organizationId, RUN]);
    const stored = new Map<string, number>(rows.rows.map((r: { transaction_id: string; n: number }) => [r.transaction_id, r.n]));
    let lost = 0;
    for (const tx of acked) if (!stored.has(tx)) lost += 1;
    let doubled = 0;
    let unacked = 0;
    for (const [tx, n] of stored) {
      if (n > 1) doubled += n - 1;
      if (!acked.has(tx)) unacked += 1;
    }

    const subs = await c.query(
      `SELECT s.id, s.external_id, s.status, s.subscription_at, s.terminated_at, s.billing_time, p.interval
       FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.organization_id = $1`,
      [organizationId],
    );
    const invoices = await c.query(
      `SELECT subscription_id, period_start, period_end, invoice_type FROM invoices WHERE organization_id = $1 AND invoice_type <> 'progressive_billing'`,
      [organizationId],
    );
    const bySub = new Map<string, { start: number; end: number }[]>();
    for (const i of invoices.rows) {
      const list = bySub.get(i.subscription_id) ?? [];
      list.push({ start: new Date(i.period_start).getTime(), end: new Date(i.period_end).getTime() });
      bySub.set(i.subscription_id, list);
    }
    let expected = 0;
    let present = 0;
    let missing = 0;
    let doubledInvoices = 0;
    const unterminated: string[] = [];
    const problems: string[] = [];
    for (const s of subs.rows) {
      if (s.status !== 'terminated' || !s.terminated_at) {
        unterminated.push(`${s.external_id} (${s.status})`);
        continue;
      }
      const periods = subscriptionPeriods(
        {
          subscriptionId: s.id, externalSubscriptionId: s.external_id, customerId: '', externalCustomerId: '', status: s.status,
          subscriptionAt: new Date(s.subscription_at).toISOString(), terminatedAt: new Date(s.terminated_at).toISOString(),
          interval: s.interval, billingTime: s.billing_time, timezone: 'UTC',
        },
        new Date(Date.now() + 86_400_000).toISOString(),
      );
      const list = bySub.get(s.id) ?? [];
      expected += periods.length;
      const used = new Set<number>();
      for (const p of periods) {
        const ps = Date.parse(p.start);
        const pe = Date.parse(p.end);
        const matches = list.map((inv, k) => ({ inv, k })).filter(({ inv }) => inv.start === ps && inv.end === pe);
        if (matches.length === 0) {
          missing += 1;
          if (problems.length < 20) problems.push(`missing invoice: ${s.external_id} [${p.start}, ${p.end})`);
        } else {
          present += 1;
          doubledInvoices += matches.length - 1;
        }
        for (const m of matches) used.add(m.k);
      }
      list.forEach((inv, k) => {
        if (used.has(k)) return;
        doubledInvoices += 1; // an invoice for no period of the schedule (e.g. an overlapping second termination)
        if (problems.length < 20) problems.push(`invoice for no period: ${s.external_id} [${new Date(inv.start).toISOString()}, ${new Date(inv.end).toISOString()})`);
      });
    }
    return {
      eventsAcknowledged: acked.size,
      eventsStored: stored.size,
      eventsLost: lost,
      eventsDoubled: doubled,
      eventsStoredUnacknowledged: unacked,
      invoicesExpected: expected,
      invoicesPresent: present,
      invoicesMissing: missing,
      invoicesDoubled: doubledInvoices,
      subscriptions: subs.rows.length,
      unterminated,
      problems,
    };
  } finally {
    await c.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------

async function stopAll(): Promise<void> {
  shuttingDown = true;
  api.expectedDown = true;
  worker.expectedDown = true;
  await Promise.race([Promise.all([killGroup(api, 'SIGTERM'), killGroup(worker, 'SIGTERM')]), sleep(15_000)]);
  await Promise.all([killGroup(api, 'SIGKILL'), killGroup(worker, 'SIGKILL')]);
  await services?.temporal.stop().catch(() => undefined);
  await pgServer?.stop().catch(() => undefined);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  log(`chaos ${RUN}: ${INJECTIONS} injections, seed ${SEED}`);
  services = await startServices({ prefix: 'meterline-chaos-', temporalState: true });
  pgServer = services.pg;
  // Last-resort cleanup if this process dies (it reads reaper.json and <dir>/pg).
  spawn(process.execPath, [TSX_CLI, path.join(ROOT, 'bench', 'support', 'reaper.ts'), String(process.pid), services.dir], { detached: true, stdio: 'ignore' }).unref();
  record('pids', services.temporal.process.pid);
  const tenant = await createTenant(services.databaseUrl, 'chaos');
  apiKey = tenant.apiKey;
  log('bundling the workflows once (worker restarts then take seconds)');
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { info: () => {}, warn: () => {}, error: console.error, debug: () => {}, trace: () => {}, log: () => {} } as never });
  bundlePath = path.join(services.dir, 'workflows-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  apiPort = await freePort();
  base = `http://127.0.0.1:${apiPort}/api/v1`;
  spawnManaged(api);
  spawnManaged(worker);
  await waitForHealth(`http://127.0.0.1:${apiPort}`, 120_000);
  await waitForLog(worker, 'chaos worker polling', 120_000);
  const { live, ending } = await setup();
  log(`stack up in ${Math.round((Date.now() - t0) / 1000)} s: API pid ${api.child?.pid}, worker pid ${worker.child?.pid}, ${live.length} live and ${ending.length} ending subscriptions`);

  const loops = Array.from({ length: LOOPS }, () => ingestLoop(live));
  const background: Promise<unknown>[] = [];
  let endingNext = 0;
  let closingNext = 0;
  const closing: string[] = [];
  const schedule = plan(INJECTIONS);
  await sleep(2000);
  for (const [i, kind] of schedule.entries()) {
    tally.injections[kind] = (tally.injections[kind] ?? 0) + 1;
    const t = Date.now();
    switch (kind) {
      case 'api-kill/ingest':
        await sleep(200 + random() * 800);
        await crash(api);
        break;
      case 'worker-kill/ingest':
        await sleep(200 + random() * 800);
        await crash(worker);
        break;
      case 'api-kill/close':
      case 'worker-kill/close': {
        const id = `closing-${closingNext++}`;
        closing.push(id);
        background.push(createClosing(id, new Date(Date.now() - 40 * 86_400_000).toISOString()));
        await sleep(100 + random() * 600);
        await crash(kind === 'api-kill/close' ? api : worker);
        break;
      }
      case 'api-kill/terminate':
      case 'worker-kill/terminate': {
        const id = ending[endingNext++ % ending.length]!;
        background.push(terminate(id));
        await sleep(50 + random() * 500);
        if (pendingTerminations.has(id)) tally.terminationsInFlightAtKill += 1;
        await crash(kind === 'api-kill/terminate' ? api : worker);
        break;
      }
      case 'pg-fast-stop':
        await restartPostgres('fast');
        break;
      case 'pg-kill9':
        await restartPostgres('kill9');
        break;
      case 'temporal-restart':
        await restartTemporal();
        break;
      case 'duplicate-delivery': {
        for (let k = 0; k < 3 && sent.length > 0; k++) {
          const old = sent[Math.floor(random() * sent.length)]!;
          tally.duplicateDeliveries += 1;
          background.push(deliver(old.body as { events: { transaction_id: string }[] }));
        }
        break;
      }
      case 'reordered-delivery': {
        const now = Date.now();
        // Never before the live subscriptions' start (the start of the month).
        const from = Math.max(now - 3_600_000, Date.parse(DateTime.utc().startOf('month').toISO()!) + 1000);
        const older = batchOf(live, (k) => new Date(from + k * 1000).toISOString());
        const newer = batchOf(live, (k) => new Date(now - 60_000 + k * 1000).toISOString());
        // Newest first, and each batch's events in reverse time order.
        for (const b of [newer, older]) (b.events as unknown[]).reverse();
        tally.reorderedBatches += 2;
        await deliver(newer as { events: { transaction_id: string }[] });
        await deliver(older as { events: { transaction_id: string }[] });
        sent.push({ body: newer }, { body: older });
        break;
      }
    }
    log(`#${i + 1} ${kind} (${Date.now() - t} ms) — acked ${acked.size}, 5xx ${tally.serverErrors}, conn errors ${tally.connectionErrors}`);
    await sleep(300 + random() * 700);
  }

  log('injections done; stopping the load and terminating every subscription');
  loadRunning = false;
  await Promise.all(loops);
  await Promise.all(background);
  // Every closing subscription now exists (its creation was retried until 200); then everything is terminated.
  const all = [...live, ...ending, ...closing];
  const terminated = await Promise.all(all.map((id) => terminate(id)));
  const failedTerminations = all.filter((_, k) => !terminated[k]);

  // Wait for the invoices to settle (a killed activity is retried after its timeout).
  let result = await audit(tenant.organizationId);
  const settleDeadline = Date.now() + 180_000;
  let stableSince = Date.now();
  let last = JSON.stringify(result);
  while (Date.now() < settleDeadline && (result.invoicesMissing > 0 || result.unterminated.length > 0 || Date.now() - stableSince < 10_000)) {
    await sleep(2000);
    result = await audit(tenant.organizationId);
    const now = JSON.stringify(result);
    if (now !== last) stableSince = Date.now();
    last = now;
  }

  const totalInjections = Object.values(tally.injections).reduce((a, b) => a + b, 0);
  console.log('\n==== chaos tally ====');
  console.log(`run:                      ${RUN}, seed ${SEED}, ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`injections:               ${totalInjections} (${Object.entries(tally.injections).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  console.log(`process restarts:         api ${api.restarts} unplanned, worker ${worker.restarts} unplanned (on top of the kills)`);
  console.log(`requests:                 ${tally.requests} (retries ${tally.retries}, connection errors/timeouts ${tally.connectionErrors})`);
  console.log(`5xx answers:              ${tally.serverErrors}`);
  console.log(`events acknowledged:      ${result.eventsAcknowledged}`);
  console.log(`events stored:            ${result.eventsStored} (stored but never acknowledged: ${result.eventsStoredUnacknowledged})`);
  console.log(`events lost:              ${result.eventsLost}`);
  console.log(`events doubled:           ${result.eventsDoubled}`);
  console.log(`duplicate deliveries:     ${tally.duplicateDeliveries} batches re-sent, ${tally.duplicatesAnswered} events answered duplicate: true`);
  console.log(`reordered batches:        ${tally.reorderedBatches}`);
  console.log(`terminations in flight:   ${tally.terminationsInFlightAtKill} of ${(tally.injections['api-kill/terminate'] ?? 0) + (tally.injections['worker-kill/terminate'] ?? 0)} kill-during-termination injections hit an unanswered DELETE`);
  console.log(`subscriptions:            ${result.subscriptions} (unterminated: ${result.unterminated.length}${result.unterminated.length ? ` — ${result.unterminated.slice(0, 10).join(', ')}` : ''}; DELETE gave up: ${failedTerminations.length})`);
  console.log(`invoices expected:        ${result.invoicesExpected}`);
  console.log(`invoices present:         ${result.invoicesPresent}`);
  console.log(`invoices missing:         ${result.invoicesMissing}`);
  console.log(`invoices doubled:         ${result.invoicesDoubled}`);
  for (const p of result.problems) console.log(`  ${p}`);
  for (const u of tally.unexpected4xx) console.log(`  unexpected answer: ${u}`);
  console.log(`logs: ${services.dir}/{api,worker}.log (removed at exit unless CHAOS_KEEP=1)`);
  const failed =
    result.eventsLost > 0 || result.eventsDoubled > 0 || result.invoicesMissing > 0 || result.invoicesDoubled > 0 ||
    result.unterminated.length > 0 || failedTerminations.length > 0 || totalInjections < INJECTIONS || tally.unexpected4xx.length > 0;
  if (process.env.CHAOS_KEEP === '1') {
    fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
    for (const f of ['api.log', 'worker.log']) fs.copyFileSync(path.join(services.dir, f), path.join(ROOT, '.data', `chaos-${f}`));
  }
  await stopAll();
  fs.rmSync(services.dir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

main().catch(async (err) => {
  console.error('chaos:', err);
  await stopAll().catch(() => undefined);
  process.exit(2);
});
