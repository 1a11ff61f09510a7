// Ingest throughput and latency of the running system, end to end. Run with `npm run bench:ingest`.
//
// Everything shares one machine, as in a small deployment: Postgres, the Temporal dev server, the system
// under test (scripts/system.ts startSystem: migrations + billing worker + HTTP API) in its own process
// (bench/support/server.ts), and the load generator in another process (bench/support/load.ts).
//
//   Postgres   DATABASE_URL if set (a fresh database bench_ingest_<timestamp> is created on that server and
//              dropped at the end, BENCH_KEEP_DB=1 keeps it), else an embedded cluster in a temp dir.
//   Temporal   a headless dev server on a free port (in memory).
//   Setup      through the HTTP API: sum_agg metric `tokens`, a plan with a standard charge 0.000002,
//              1 customer, 50 subscriptions (events round-robin over them). The organization and its API key
//              are created in the database (there is no HTTP route for them).
//   Scenarios  (a) closed loop, batches of 100 (POST /events/batch), 16 in flight, 20 s
//              (b) closed loop, single events (POST /events), 32 in flight, 15 s
//              (c) open loop, batches of 100 at 10,000 events/s (100 req/s on a clock), 15 s: latency from
//                  each request's due time (no coordinated omission)
//              After each: wait until the writer is idle, then check in Postgres that the table holds exactly
//              the acknowledged events (lost = acknowledged but missing, doubled = a transaction id twice,
//              unacknowledged = written but not acknowledged, e.g. a timed-out request: reported only).
//   Ceiling    the raw insert rate of the same Postgres: 2 connections, multi-row INSERT ... SELECT FROM
//              unnest(...) with the keys' ON CONFLICT DO NOTHING (eventInsertCtes), 1,000 rows a statement, 10 s,
//              same table and columns.
//              Also the API's database step alone (insertEventsWithRollups, same 2 x 1,000 rows).
//   Exit code  non-zero if an acknowledged event was lost or an event doubled; missed targets only print.
//
// Knobs: BENCH_SCALE (multiplies every duration), BENCH_PROFILE=1 (V8 CPU profile of the API process per
// scenario, summarised at the end), BENCH_SUBSCRIPTIONS (default 50).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { createDb } from '../db/knexfile';
import { EVENT_ID_COLUMN, EVENT_ID_XID_FIRST, eventInsertCtes, type EventRow } from '../db/repositories/events';
import { createApiKey, ensureOrganization } from '../db/repositories/organizations';
import { insertEventsWithRollups, RollupSpecCache } from '../db/repositories/rollups';
import { ensureDatabase, startEmbeddedPostgres, withDatabase } from '../dev/postgres';
import { freePort, startTemporalDevServer, type RunningTemporal } from '../dev/temporal';
import type { LoadConfig, LoadResult } from './support/load';
import { formatWaits, PgWaitSampler, type WaitProfile } from './support/pg-waits';
import { printProfile, summarizeProfile } from './support/profile';
import { cpuByCategory, cpuDelta } from './support/stats';

const ROOT = path.resolve(__dirname, '..');
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 50);
const RUN_ID = new Date().toISOString().replace(/[-:T.Z]/g, '').slice(0, 14);

const TARGET_BATCH_EPS = 20_000;
const TARGET_SINGLE_EPS = 2_000;
const TARGET_OPEN_P99_MS = 100;

interface Scenario {
  key: string;
  label: string;
  load: Pick<LoadConfig, 'mode' | 'durationMs' | 'concurrency' | 'ratePerSec' | 'batchSize'>;
  inTable: boolean;
}

const SCENARIOS: Scenario[] = [
  { key: 'warmup', label: 'warm-up: batch x100, closed, c=8', load: { mode: 'batch', batchSize: 100, concurrency: 8, durationMs: 3_000 * SCALE }, inTable: false },
  { key: 'batch', label: 'batch x100, closed loop, c=16', load: { mode: 'batch', batchSize: 100, concurrency: 16, durationMs: 20_000 * SCALE }, inTable: true },
  { key: 'single', label: 'single, closed loop, c=32', load: { mode: 'single', concurrency: 32, durationMs: 15_000 * SCALE }, inTable: true },
  { key: 'open', label: 'batch x100, open loop 10k ev/s', load: { mode: 'batch', batchSize: 100, ratePerSec: 100, durationMs: 15_000 * SCALE }, inTable: true },
];

// ---------------------------------------------------------------------------------------------------------
// Process and resource bookkeeping: everything started here is stopped on exit, error or Ctrl-C.

const cleanups: { name: string; fn: () => Promise<void> }[] = [];
let cleaningUp: Promise<void> | null = null;

function onCleanup(name: string, fn: () => Promise<void>): void {
  cleanups.push({ name, fn });
}

function cleanup(): Promise<void> {
  if (!cleaningUp) {
    cleaningUp = (async () => {
      for (const c of cleanups.reverse()) {
        if (process.env.BENCH_DEBUG) console.error(`cleanup: ${c.name}`);
        // Each step is bounded (a ref'd timer also keeps the process alive while a step waits).
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            console.error(`cleanup ${c.name}: still waiting after 30 s, moving on`);
            resolve();
          }, 30_000);
        });
        await Promise.race([c.fn().catch((e: unknown) => console.error(`cleanup ${c.name}:`, e instanceof Error ? e.message : e)), timeout]);
        clearTimeout(timer);
      }
    })();
  }
  return cleaningUp;
}

/** A pg client whose connection errors (Postgres stopped by Ctrl-C) surface as query errors, not crashes. */
async function connectPg(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

process.on('uncaughtException', (err) => {
  console.error('bench:ingest:', err);
  void cleanup().then(() => process.exit(2));
});

// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx's wrapper), and a
// second signal must not kill it halfway through cleanup.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (cleaningUp) return;
    console.error(`\n${sig}: stopping everything`);
    void cleanup().then(() => process.exit(130));
  });
}

/** What the reaper (bench/support/reaper.ts) must stop if this process dies without cleaning up. */
const recorded = { groups: [] as number[], pids: [] as number[] };
let reaperFile: string | null = null;

function record(kind: 'groups' | 'pids', pid: number | undefined): void {
  if (!pid) return;
  recorded[kind].push(pid);
  if (reaperFile) fs.writeFileSync(reaperFile, JSON.stringify(recorded));
}

/** A TypeScript entry point in its own process group (so the tsx wrapper and its node child stop together). */
function spawnTs(script: string, env: Record<string, string>, logFile: string | null): ChildProcess {
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  const child = spawn(process.execPath, [TSX_CLI, script], {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_PARENT_PID: String(process.pid) },
    stdio: ['ignore', logFile ? out : 'pipe', logFile ? out : 'pipe'],
    detached: true,
  });
  if (typeof out === 'number') fs.closeSync(out);
  record('groups', child.pid);
  return child;
}

async function stopGroup(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP helpers (setup and stats; the load itself is bench/support/load.ts)

async function api<T>(base: string, apiKey: string, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return (await res.json()) as T;
}

async function waitForHealth(base: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bench server exited (code ${child.exitCode}):\n${tail(logFile)}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the bench server did not answer /health within ${timeoutMs} ms:\n${tail(logFile)}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Verification against Postgres

interface Verification {
  dbRows: number;
  lost: number;
  doubled: number;
  ackedTwice: number;
  unacknowledged: number;
  settleMs: number;
}

async function countPrefix(client: pg.Client, orgId: string, prefix: string): Promise<number> {
  const r = await client.query('SELECT count(*)::bigint AS n FROM events WHERE organization_id = $1 AND starts_with(transaction_id, $2)', [orgId, prefix]);
  return Number(r.rows[0].n);
}

/** Waits until the scenario's row count is stable (the writer is idle), then compares with the acknowledged ids. */
async function verify(databaseUrl: string, orgId: string, prefix: string, idsFile: string): Promise<Verification> {
  const client = await connectPg(databaseUrl);
  try {
    const t0 = Date.now();
    let last = -1;
    let stableFor = 0;
    while (stableFor < 3 && Date.now() - t0 < 60_000) {
      const n = await countPrefix(client, orgId, prefix);
      stableFor = n === last ? stableFor + 1 : 0;
      last = n;
      if (stableFor < 3) await sleep(250);
    }
    const settleMs = Date.now() - t0;

    const text = fs.readFileSync(idsFile, 'utf8');
    const ids = text.length ? text.split('\n') : [];
    await client.query('CREATE TEMP TABLE acked (tid text NOT NULL)');
    for (let i = 0; i < ids.length; i += 20_000) {
      await client.query('INSERT INTO acked SELECT unnest($1::text[])', [ids.slice(i, i + 20_000)]);
    }
    await client.query('CREATE INDEX ON acked (tid)');
    await client.query('ANALYZE acked');
    const acked = await client.query('SELECT count(*)::bigint AS n, count(DISTINCT tid)::bigint AS d FROM acked');
    const lost = await client.query(
      `SELECT count(*)::bigint AS n FROM (SELECT DISTINCT tid FROM acked) a
       WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.organization_id = $1 AND e.transaction_id = a.tid)`,
      [orgId],
    );
    const rows = await client.query(
      `SELECT count(*)::bigint AS n, count(DISTINCT transaction_id)::bigint AS d FROM events
       WHERE organization_id = $1 AND starts_with(transaction_id, $2)`,
      [orgId, prefix],
    );
    const unacked = await client.query(
      `SELECT count(*)::bigint AS n FROM events e
       WHERE e.organization_id = $1 AND starts_with(e.transaction_id, $2) AND NOT EXISTS (SELECT 1 FROM acked a WHERE a.tid = e.transaction_id)`,
      [orgId, prefix],
    );
    await client.query('DROP TABLE acked');
    return {
      dbRows: Number(rows.rows[0].n),
      lost: Number(lost.rows[0].n),
      doubled: Number(rows.rows[0].n) - Number(rows.rows[0].d),
      ackedTwice: Number(acked.rows[0].n) - Number(acked.rows[0].d),
      unacknowledged: Number(unacked.rows[0].n),
      settleMs,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Rollup consistency of the whole organization: Σ usage_rollups.events_count vs events rows. */
async function rollupCheck(db: Knex, orgId: string): Promise<{ events: number; rolledUp: number }> {
  const e = await db.raw('SELECT count(*)::bigint AS n FROM events WHERE organization_id = ?', [orgId]);
  const r = await db.raw('SELECT coalesce(sum(events_count), 0)::bigint AS n FROM usage_rollups WHERE organization_id = ?', [orgId]);
  return { events: Number(e.rows[0].n), rolledUp: Number(r.rows[0].n) };
}

// ---------------------------------------------------------------------------------------------------------
// Raw insert ceiling of the same Postgres

// The events' dedup as every writer does it (keys set-based in the same statement: db/repositories/events.ts).
const RAW_SQL = `WITH src AS MATERIALIZED (SELECT x.*, ${EVENT_ID_COLUMN} FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[], $7::jsonb[], $8::numeric[])
  AS x(o, t, e, s, c, ts, p, a) WHERE ${EVENT_ID_XID_FIRST}),
${eventInsertCtes('src')}
SELECT count(*)::int AS n FROM ins`;

async function rawCeiling(
  databaseUrl: string,
  subs: { id: string; externalId: string }[],
  writers: number,
  chunk: number,
  durationMs: number,
  beforeClose: () => void,
): Promise<{ rows: number; seconds: number; statements: number }> {
  const orgId = crypto.randomUUID(); // its own organization: these rows never mix with the API's
  const clients = await Promise.all(
    Array.from({ length: writers }, () => connectPg(databaseUrl)),
  );
  let rows = 0;
  let statements = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  try {
    await Promise.all(
      clients.map(async (c, w) => {
        let seq = 0;
        const orgs = new Array<string>(chunk).fill(orgId);
        const codes = new Array<string>(chunk).fill('tokens');
        const amounts = new Array<string | null>(chunk).fill(null);
        while (performance.now() < deadline) {
          const ts = new Date().toISOString();
          const tids: string[] = [];
          const exts: string[] = [];
          const subIds: string[] = [];
          const tss: string[] = [];
          const props: string[] = [];
          for (let i = 0; i < chunk; i++) {
            const s = subs[(seq + i) % subs.length]!;
            tids.push(`raw-${RUN_ID}-${w}-${seq + i}`);
            exts.push(s.externalId);
            subIds.push(s.id);
            tss.push(ts);
            props.push(`{"tokens":${1 + ((seq + i) % 1000)}}`);
          }
          seq += chunk;
          const r = await c.query(RAW_SQL, [orgs, tids, exts, subIds, codes, tss, props, amounts]);
          rows += (r.rows[0] as { n: number }).n;
          statements += 1;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    beforeClose(); // the backends' CPU is only visible in /proc while their connections are open
    return { rows, seconds, statements };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/** The API's database step alone (events + rollups in one transaction, RETURNING), without HTTP. */
async function dbStepCeiling(db: Knex, orgId: string, subs: { id: string; externalId: string }[], writers: number, chunk: number, durationMs: number): Promise<{ rows: number; seconds: number }> {
  const specs = new RollupSpecCache(db);
  let rows = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let seq = 0;
      while (performance.now() < deadline) {
        const ts = new Date().toISOString();
        const batch: EventRow[] = [];
        for (let i = 0; i < chunk; i++) {
          const s = subs[(seq + i) % subs.length]!;
          batch.push({
            organizationId: orgId,
            transactionId: `dbstep-${RUN_ID}-${w}-${seq + i}`,
            externalSubscriptionId: s.externalId,
            subscriptionId: s.id,
            code: 'tokens',
            timestamp: ts,
            properties: { tokens: 1 + ((seq + i) % 1000) },
            preciseTotalAmount: null,
          });
        }
        seq += chunk;
        const inserted = await insertEventsWithRollups(db, batch, await specs.lookupFor(batch));
        rows += inserted.length;
      }
    }),
  );
  return { rows, seconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------------------

interface ServerStats {
  seconds: number;
  eventLoopUtilization: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  cpuSeconds: { user: number; system: number };
  /** The server's main thread alone (API + the worker's main-thread part); null when /proc is unavailable. */
  mainThreadCpuSeconds?: number | null;
  writer: {
    groups: number;
    rows: number;
    avgRowsPerGroup: number;
    groupRows: { p50: number; p90: number; max: number };
    statementMs: { p50: number; p90: number; p99: number; max: number; mean: number };
    statementBusySeconds: number;
    writesInFlightMax: number;
    requestWaitMs: { p50: number; p90: number; p99: number; max: number };
  };
  signaller: { signalsSent: number; signalFailures: number };
  requestInServerMs: { n: number; p50: number; p90: number; p99: number; max: number };
  pool: { avgUsed: number; avgPendingAcquires: number; maxPendingAcquires: number; fractionOfSamplesWithWaiters: number };
}

interface ScenarioOutcome {
  scenario: Scenario;
  load: LoadResult;
  check: Verification;
  server: ServerStats;
  cpuCores: Record<string, number>;
  waits: WaitProfile;
  profileFile: string | null;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

function printScenario(o: ScenarioOutcome): void {
  const l = o.load;
  const s = o.server;
  console.log(`\n== ${o.scenario.label}`);
  console.log(
    `  load     ${l.requests} requests (${l.ok} ok), ${l.acceptedEvents} events accepted, ${l.duplicateEvents} duplicates, errors ${JSON.stringify(l.errors)}; ` +
      `${l.eventsPerSec} events/s over ${l.elapsedS} s; generator CPU ${l.cpuSeconds} s`,
  );
  console.log(`  latency  p50 ${f2(l.latencyMs.p50)} ms  p90 ${f2(l.latencyMs.p90)} ms  p99 ${f2(l.latencyMs.p99)} ms  max ${f2(l.latencyMs.max)} ms` +
    (l.sendLagMs ? `   (generator send lag p99 ${f2(l.sendLagMs.p99)} ms, max ${f2(l.sendLagMs.max)} ms)` : ''));
  console.log(
    `  check    ${o.check.dbRows} rows in events; lost ${o.check.lost}, doubled ${o.check.doubled}, acknowledged twice ${o.check.ackedTwice}, ` +
      `written but unacknowledged ${o.check.unacknowledged} (settled in ${o.check.settleMs} ms)`,
  );
  console.log(
    `  server   in-server time p50 ${f2(s.requestInServerMs.p50)} / p99 ${f2(s.requestInServerMs.p99)} ms; writer wait p50 ${f2(s.writer.requestWaitMs.p50)} / p99 ${f2(s.writer.requestWaitMs.p99)} ms; ` +
      `event loop ${(s.eventLoopUtilization * 100).toFixed(0)}% busy (delay p99 ${f1(s.eventLoopDelayMs.p99)} ms); CPU ${f1(s.cpuSeconds.user + s.cpuSeconds.system)} s` +
      (typeof s.mainThreadCpuSeconds === 'number' ? ` (main thread ${f2(s.mainThreadCpuSeconds)} s, other threads ${f2(s.cpuSeconds.user + s.cpuSeconds.system - s.mainThreadCpuSeconds)} s)` : '') +
      (o.load.requests > 0 ? `; ${f2(((s.cpuSeconds.user + s.cpuSeconds.system) * 1000) / o.load.requests)} ms CPU per request` : ''),
  );
  console.log(
    `  writer   ${s.writer.groups} groups, ${s.writer.avgRowsPerGroup} rows/group avg (p50 ${s.writer.groupRows.p50}, max ${s.writer.groupRows.max}); statement p50 ${f2(s.writer.statementMs.p50)} / p99 ${f2(s.writer.statementMs.p99)} ms; ` +
      `busy ${f1(s.writer.statementBusySeconds)} statement-s; max ${s.writer.writesInFlightMax} in flight`,
  );
  console.log(
    `  pool     avg ${f2(s.pool.avgUsed)} used, avg ${f2(s.pool.avgPendingAcquires)} waiting (max ${s.pool.maxPendingAcquires}, waiters in ${(s.pool.fractionOfSamplesWithWaiters * 100).toFixed(1)}% of samples); signals sent ${s.signaller.signalsSent}, failed ${s.signaller.signalFailures}`,
  );
  console.log(`  pg       sessions of the API database (avg per sample): ${formatWaits(o.waits)}`);
  console.log(`  cores    ${Object.entries(o.cpuCores).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} (CPU-seconds per wall second; 2 cores = 2.00)`);
}

async function main(): Promise<number> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-bench-ingest-'));
  fs.chmodSync(tmpDir, 0o755); // as root, the `postgres` system user must reach the data dir inside
  onCleanup('temp dir', async () => fs.rmSync(tmpDir, { recursive: true, force: true }));
  console.log(`bench:ingest run ${RUN_ID}, ${os.cpus().length} CPUs, work dir ${tmpDir}`);
  reaperFile = path.join(tmpDir, 'reaper.json');
  fs.writeFileSync(reaperFile, JSON.stringify(recorded));
  spawn(process.execPath, [TSX_CLI, 'bench/support/reaper.ts', String(process.pid), tmpDir], { cwd: ROOT, detached: true, stdio: 'ignore' }).unref();

  // Postgres
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const pgPort = await freePort();
    const running = await startEmbeddedPostgres(path.join(tmpDir, 'pg'), pgPort);
    onCleanup('postgres', () => running.stop());
    serverUrl = running.url;
    console.log(`postgres     embedded on 127.0.0.1:${pgPort}`);
  }
  const dbName = `bench_ingest_${RUN_ID}`;
  await ensureDatabase(serverUrl, dbName);
  if (process.env.DATABASE_URL && process.env.BENCH_KEEP_DB !== '1') {
    const admin = serverUrl;
    onCleanup('database', async () => {
      const c = await connectPg(admin);
      try {
        await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    });
  }
  const databaseUrl = withDatabase(serverUrl, dbName);
  console.log(`database     ${dbName}`);

  // Temporal
  const temporalPort = await freePort();
  const temporal: RunningTemporal = await startTemporalDevServer({ port: temporalPort, uiPort: null });
  record('pids', temporal.process.pid);
  // dev/temporal.ts stop() waits for an 'exit' that already happened when the server died of a signal
  // (Ctrl-C reaches it directly): skip it then.
  onCleanup('temporal', async () => {
    if (temporal.process.exitCode === null && temporal.process.signalCode === null) await temporal.stop();
  });
  console.log(`temporal     dev server on ${temporal.address}`);

  // The system under test
  const apiPort = await freePort();
  const statsPort = await freePort();
  const serverLog = path.join(tmpDir, 'server.log');
  const server = spawnTs('bench/support/server.ts', {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    PORT: String(apiPort),
    STATS_PORT: String(statsPort),
  }, serverLog);
  onCleanup('api server', () => stopGroup(server));
  const base = `http://127.0.0.1:${apiPort}`;
  const stats = `http://127.0.0.1:${statsPort}`;
  const tStart = Date.now();
  await waitForHealth(base, server, serverLog, 180_000);
  console.log(`api          ${base} (pid ${server.pid}, up in ${((Date.now() - tStart) / 1000).toFixed(1)} s; log ${serverLog})`);

  // Setup: organization + key in the database, the rest through the HTTP API
  const db = createDb(databaseUrl, 4);
  onCleanup('knex', () => db.destroy());
  const org = await ensureOrganization(db, `bench-${RUN_ID}`, 'Ingest bench');
  const apiKey = await createApiKey(db, org.id);
  await api(base, apiKey, 'POST', '/api/v1/billable_metrics', {
    billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens' },
  });
  await api(base, apiKey, 'POST', '/api/v1/plans', {
    plan: {
      name: 'Bench', code: 'bench', interval: 'monthly', amount_cents: 0, amount_currency: 'USD',
      charges: [{ billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '0.000002' } }],
    },
  });
  await api(base, apiKey, 'POST', '/api/v1/customers', { customer: { external_id: 'bench_customer', name: 'Bench', currency: 'USD' } });
  const subs: { id: string; externalId: string }[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const r = await api<{ subscription: { lago_id: string; external_id: string } }>(base, apiKey, 'POST', '/api/v1/subscriptions', {
      subscription: { external_customer_id: 'bench_customer', plan_code: 'bench', external_id: `bench_sub_${i}` },
    });
    subs.push({ id: r.subscription.lago_id, externalId: r.subscription.external_id });
  }
  console.log(`setup        organization ${org.id}: metric tokens (sum_agg), plan bench (standard 0.000002), 1 customer, ${subs.length} subscriptions`);

  // Scenarios
  const outcomes: ScenarioOutcome[] = [];
  for (const sc of SCENARIOS) {
    const prefix = `${sc.key}-${RUN_ID}-`;
    const idsFile = path.join(tmpDir, `${sc.key}.ids`);
    const loadCfg: LoadConfig = { ...sc.load, url: base, apiKey, prefix, subscriptions: subs.map((s) => s.externalId), metricCode: 'tokens', outFile: idsFile };
    await sleep(1_500); // let the previous scenario's signals and rollups settle
    await getJson(`${stats}/stats?reset=1`);
    const profileFile = PROFILE && sc.inTable ? path.join(tmpDir, `${sc.key}.cpuprofile`) : null;
    if (profileFile) await fetch(`${stats}/profile/start`).then((r) => r.text());
    const sampler = new PgWaitSampler(databaseUrl);
    await sampler.start();
    const loadChild = spawnTs('bench/support/load.ts', { BENCH_LOAD: JSON.stringify(loadCfg) }, null);
    onCleanup(`load ${sc.key}`, () => stopGroup(loadChild, 2_000));
    const groups = { api: [server.pid!], load: [loadChild.pid!] };
    const pids = { temporal: [temporal.process.pid!], bench: [process.pid] };
    const cpuBefore = cpuByCategory(groups, pids).byPid;
    const tWall = Date.now();
    let stdout = '';
    let stderr = '';
    loadChild.stdout!.on('data', (d) => (stdout += String(d)));
    loadChild.stderr!.on('data', (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => loadChild.once('exit', (c) => resolve(c)));
    const wallS = (Date.now() - tWall) / 1000;
    const cpuAfter = cpuByCategory(groups, pids).byPid;
    const serverStats = await getJson<ServerStats>(`${stats}/stats`);
    const waits = await sampler.stop();
    if (profileFile) await fetch(`${stats}/profile/stop?out=${encodeURIComponent(profileFile)}`).then((r) => r.text());
    const line = stdout.trim().split('\n').filter((x) => x.startsWith('{')).pop();
    if (code !== 0 || !line) throw new Error(`load generator (${sc.key}) exited with ${code}:\n${stderr}\n${stdout}`);
    const load = JSON.parse(line) as LoadResult;
    const cpu = cpuDelta(cpuBefore, cpuAfter);
    cpu.load = (cpu.load ?? 0) + load.cpuSeconds; // it has exited: /proc no longer shows it
    const cpuCores = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / wallS]));
    const check = await verify(databaseUrl, org.id, prefix, idsFile);
    const o: ScenarioOutcome = { scenario: sc, load, check, server: serverStats, cpuCores, waits, profileFile };
    outcomes.push(o);
    printScenario(o);
  }
  const rc = await rollupCheck(db, org.id);
  console.log(`\nrollups      Σ events_count ${rc.rolledUp} vs ${rc.events} event rows of the organization${rc.rolledUp === rc.events ? ' (equal)' : '  ** MISMATCH **'}`);

  // Raw ceiling of the same Postgres (the API is idle meanwhile)
  await sleep(1_000);
  const cpuBeforeRaw = cpuByCategory({ api: [server.pid!] }, { temporal: [temporal.process.pid!], bench: [process.pid] }).byPid;
  const rawSampler = new PgWaitSampler(databaseUrl);
  await rawSampler.start();
  let cpuAfterRaw = cpuBeforeRaw;
  const raw = await rawCeiling(databaseUrl, subs, 2, 1_000, 10_000 * SCALE, () => {
    cpuAfterRaw = cpuByCategory({ api: [server.pid!] }, { temporal: [temporal.process.pid!], bench: [process.pid] }).byPid;
  });
  const rawWaits = await rawSampler.stop();
  const cpuRaw = cpuDelta(cpuBeforeRaw, cpuAfterRaw);
  const rawEps = raw.rows / raw.seconds;
  console.log(
    `\n== raw insert ceiling (2 connections, INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING, 1,000 rows/statement)\n` +
      `  ${raw.rows} rows in ${raw.seconds.toFixed(1)} s = ${Math.round(rawEps)} rows/s (${raw.statements} statements, ${((raw.seconds * 1000 * 2) / Math.max(1, raw.statements)).toFixed(1)} ms each)\n` +
      `  cores    ${Object.entries(cpuRaw).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / raw.seconds).toFixed(2)}`).join(', ')}\n` +
      `  pg       ${formatWaits(rawWaits)}`,
  );
  await sleep(500);
  const stepSampler = new PgWaitSampler(databaseUrl);
  await stepSampler.start();
  const step = await dbStepCeiling(db, org.id, subs, 2, 1_000, 10_000 * SCALE);
  const stepWaits = await stepSampler.stop();
  const stepEps = step.rows / step.seconds;
  console.log(
    `== API database step alone (insertEventsWithRollups: events + rollups, 1 transaction, RETURNING; 2 writers x 1,000 rows)\n` +
      `  ${step.rows} rows in ${step.seconds.toFixed(1)} s = ${Math.round(stepEps)} rows/s\n` +
      `  pg       ${formatWaits(stepWaits)}`,
  );

  if (PROFILE) {
    for (const o of outcomes) {
      if (!o.profileFile || !fs.existsSync(o.profileFile)) continue;
      console.log(`\n== profile: ${o.scenario.label}`);
      printProfile(summarizeProfile(o.profileFile, 20));
      const keep = path.join(os.tmpdir(), `meterline-bench-ingest-${RUN_ID}-${o.scenario.key}.cpuprofile`);
      fs.copyFileSync(o.profileFile, keep);
      console.log(`  (profile kept at ${keep})`);
    }
  }

  // Summary
  const by = (k: string) => outcomes.find((o) => o.scenario.key === k)!;
  const batch = by('batch');
  const single = by('single');
  const open = by('open');
  const rows = outcomes.filter((o) => o.scenario.inTable);
  const pad = (s: string, n: number) => s.padEnd(n);
  const lpad = (s: string, n: number) => s.padStart(n);
  console.log('\n' + '='.repeat(104));
  console.log(`${pad('scenario', 34)}${lpad('events/s', 10)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}${lpad('lost', 7)}${lpad('doubled', 9)}${lpad('unacked', 9)}  errors`);
  for (const o of rows) {
    const errs = Object.entries(o.load.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '-';
    console.log(
      `${pad(o.scenario.label, 34)}${lpad(String(o.load.eventsPerSec), 10)}${lpad(f1(o.load.latencyMs.p50), 9)}${lpad(f1(o.load.latencyMs.p99), 9)}${lpad(f1(o.load.latencyMs.max), 9)}` +
        `${lpad(String(o.check.lost), 7)}${lpad(String(o.check.doubled + o.check.ackedTwice), 9)}${lpad(String(o.check.unacknowledged), 9)}  ${errs}`,
    );
  }
  console.log(`${pad('raw insert ceiling (2 x 1,000 rows)', 34)}${lpad(String(Math.round(rawEps)), 10)}`);
  console.log(`${pad('API db step alone (2 x 1,000 rows)', 34)}${lpad(String(Math.round(stepEps)), 10)}`);
  console.log(`API batch events/s ÷ raw ceiling = ${(batch.load.eventsPerSec / rawEps).toFixed(3)}`);
  console.log('-'.repeat(104));
  const verdict = (ok: boolean) => (ok ? 'OK' : 'MISSED');
  console.log(`target  batches of 100  ≥ ${TARGET_BATCH_EPS} events/s : ${batch.load.eventsPerSec} events/s  ${verdict(batch.load.eventsPerSec >= TARGET_BATCH_EPS)}`);
  console.log(`target  single events   ≥ ${TARGET_SINGLE_EPS} events/s  : ${single.load.eventsPerSec} events/s  ${verdict(single.load.eventsPerSec >= TARGET_SINGLE_EPS)}`);
  const openOk = open.load.latencyMs.p99 < TARGET_OPEN_P99_MS && Object.keys(open.load.errors).length === 0;
  console.log(`target  p99 < ${TARGET_OPEN_P99_MS} ms at 10,000 events/s: p99 ${f1(open.load.latencyMs.p99)} ms (${open.load.eventsPerSec} events/s delivered)  ${verdict(openOk)}`);
  const lost = outcomes.reduce((a, o) => a + o.check.lost, 0);
  const doubled = outcomes.reduce((a, o) => a + o.check.doubled + o.check.ackedTwice, 0);
  console.log(`correctness: lost ${lost}, doubled ${doubled}${lost + doubled > 0 ? '  ** FAILED **' : ''}`);
  console.log('='.repeat(104));
  return lost + doubled > 0 ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanup();
    process.exit(2);
  });
