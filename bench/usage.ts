// Current-usage latency with 1,000,000 events in the open period. Run with `npm run bench:usage`.
//
// - Postgres: DATABASE_URL if set (a fresh database `meterline_bench_<random>` is created on that server and
//   dropped at the end), else an embedded cluster in a temp dir (mode 0o755 so the `postgres` user can reach
//   it when run as root).
// - Load: the events go through the API's ingest step, db/repositories/rollups insertEventsWithRollups (one
//   multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING + applyRollups, one transaction per 5,000-row
//   group, like the group-commit writer's groups) — so the rollups are built exactly as in production, and
//   the load rate of that step is printed too (single connection, sequential groups).
// - Measure: N sequential GET /api/v1/customers/:id/current_usage over HTTP (the real app from api/server.ts
//   createApp: bearer-key auth, idempotency middleware, error middleware), then the same service function called directly, then the same computation with usage
//   read by scanning raw events (usage/period-usage.ts ledgerUsage: the period-invoice path).
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Logger } from '../api/errors';
import { createApp, runtimeOf, type ApiRuntime } from '../api/server';
import { computeCurrentUsage, PlanCache } from '../api/services/current-usage';
import { ledgerUsage } from '../usage/period-usage';
import { periodContaining } from '../billing/period';
import { createDb, migrateLatest } from '../db/knexfile';
import type { EventRow } from '../db/repositories/events';
import { createApiKey } from '../db/repositories/organizations';
import { insertEventsWithRollups, loadRollupMetricSpecs } from '../db/repositories/rollups';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../dev/postgres';
import { freePort } from '../dev/temporal';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const N = Number(process.env.BENCH_N ?? 2000);
const RAW_N = Number(process.env.BENCH_RAW_N ?? 5);
const GROUP = 5000;

const quietLogger: Logger = { info: () => {}, warn: () => {}, error: (msg, meta) => console.error(msg, meta) };

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(label: string, ms: number[]): { p50: number } {
  const s = [...ms].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(2);
  console.log(`${label.padEnd(44)} n=${String(s.length).padStart(4)}  p50=${f(pct(s, 50))} ms  p95=${f(pct(s, 95))} ms  p99=${f(pct(s, 99))} ms  max=${f(s[s.length - 1]!)} ms`);
  return { p50: pct(s, 50) };
}

async function seed(db: Knex) {
  const [org] = await db('organizations').insert({ name: 'bench', slug: `bench-${crypto.randomBytes(4).toString('hex')}` }).returning('id');
  const apiKey = await createApiKey(db, org.id);
  const [customer] = await db('customers').insert({ organization_id: org.id, external_id: 'cust_bench', name: 'Bench', timezone: 'UTC', currency: 'USD' }).returning('id');
  const [tokens] = await db('billable_metrics')
    .insert({ organization_id: org.id, code: 'tokens', name: 'Tokens', aggregation_type: 'sum_agg', field_name: 'tokens', filters: JSON.stringify([{ key: 'model', values: ['small', 'medium', 'large'] }]) })
    .returning('id');
  const [calls] = await db('billable_metrics').insert({ organization_id: org.id, code: 'calls', name: 'API calls', aggregation_type: 'count_agg' }).returning('id');
  const [plan] = await db('plans').insert({ organization_id: org.id, code: 'ai_pro', name: 'AI Pro', interval: 'monthly', amount_cents: 2000, amount_currency: 'USD' }).returning('id');
  await db('charges').insert([
    {
      organization_id: org.id, plan_id: plan.id, billable_metric_id: tokens.id, position: 0, charge_model: 'standard',
      properties: JSON.stringify({ amount: '0.000002' }),
      filters: JSON.stringify([{ invoice_display_name: 'Large model', properties: { amount: '0.00001' }, values: { model: ['large'] } }]),
    },
    {
      organization_id: org.id, plan_id: plan.id, billable_metric_id: calls.id, position: 1, charge_model: 'graduated',
      properties: JSON.stringify({ graduated_ranges: [
        { from_value: 0, to_value: 100000, per_unit_amount: '0', flat_amount: '0' },
        { from_value: 100000, to_value: null, per_unit_amount: '0.0001', flat_amount: '0' },
      ] }),
    },
  ]);
  const subscriptionAt = '2026-01-01T00:00:00.000Z';
  const subId = crypto.randomUUID();
  await db('subscriptions').insert({
    id: subId, organization_id: org.id, customer_id: customer.id, plan_id: plan.id, external_id: 'sub_bench', status: 'active',
    billing_time: 'calendar', subscription_at: subscriptionAt, started_at: subscriptionAt, workflow_id: `subscription:${subId}`,
  });
  return { orgId: org.id as string, apiKey, subId, subscriptionAt };
}

async function load(db: Knex, orgId: string, subId: string, from: number, to: number): Promise<void> {
  const specs = await loadRollupMetricSpecs(db, orgId);
  const lookup = (_o: string, code: string) => specs.get(code);
  const models = ['small', 'medium', 'large'];
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i += GROUP) {
    const rows: EventRow[] = [];
    for (let j = i; j < Math.min(EVENTS, i + GROUP); j++) {
      const ts = new Date(from + Math.floor(((to - from) * j) / EVENTS)).toISOString();
      const isCall = j % 2 === 1;
      rows.push({
        organizationId: orgId,
        transactionId: `bench-${j}`,
        externalSubscriptionId: 'sub_bench',
        subscriptionId: subId,
        code: isCall ? 'calls' : 'tokens',
        timestamp: ts,
        properties: isCall ? { endpoint: '/v1/chat' } : { tokens: (j * 7919) % 4000, model: models[j % 3]! },
        preciseTotalAmount: null,
      });
    }
    await insertEventsWithRollups(db, rows, lookup);
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`loaded ${EVENTS} events through insertEventsWithRollups (${GROUP}-row groups, 1 connection): ${s.toFixed(1)} s = ${Math.round(EVENTS / s)} events/s`);
}

async function main(): Promise<void> {
  let pg: RunningPostgres | null = null;
  let dataDir: string | null = null;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-bench-pg-'));
    fs.chmodSync(dataDir, 0o755);
    pg = await startEmbeddedPostgres(path.join(dataDir, 'data'), await freePort());
    serverUrl = pg.url;
  }
  const dbName = `meterline_bench_${crypto.randomBytes(4).toString('hex')}`;
  await ensureDatabase(serverUrl, dbName);
  const db = createDb(withDatabase(serverUrl, dbName), 4);
  let server: http.Server | null = null;
  let temporal: Client | null = null;
  let runtime: ApiRuntime | null = null;
  try {
    await migrateLatest(db);
    const { orgId, apiKey, subId, subscriptionAt } = await seed(db);
    const now = new Date().toISOString();
    const { period } = periodContaining({ subscriptionAt, interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' }, now);
    console.log(`open period ${period.start} .. ${period.end}; events spread over ${period.start} .. ${now}`);
    await load(db, orgId, subId, Date.parse(period.start), Date.parse(now));
    await db.raw('VACUUM ANALYZE events');
    await db.raw('VACUUM ANALYZE usage_rollups');
    const [{ n }] = (await db.raw('SELECT count(*)::int AS n FROM usage_rollups')).rows;
    console.log(`usage_rollups rows: ${n}`);

    // The real app (api/server.ts createApp: auth, idempotency, every router). The Temporal client is lazy and
    // never used here (no event goes through HTTP, so no usage signal is sent).
    temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const app = createApp({ db, temporal, logger: quietLogger });
    runtime = runtimeOf(app);
    server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/customers/cust_bench/current_usage?external_subscription_id=sub_bench`;
    const headers = { authorization: `Bearer ${apiKey}` };

    let body: any = null;
    for (let i = 0; i < 50; i++) body = await (await fetch(url, { headers })).json(); // warm-up
    const u = body.customer_usage;
    console.log(`current usage: amount_cents=${u.amount_cents} ${u.currency}; ` +
      u.charges_usage.map((c: any) => `${c.billable_metric.code}: units=${c.units} events=${c.events_count} amount_cents=${c.amount_cents}`).join('; '));

    const http_ms: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      http_ms.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    }
    const q = { externalCustomerId: 'cust_bench', externalSubscriptionId: 'sub_bench' };
    const plans = new PlanCache();
    const fn_ms: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await computeCurrentUsage(db, orgId, q, { plans });
      fn_ms.push(performance.now() - t0);
    }

    // The same computation, usage read from raw events (the period-invoice path: SQL count for `calls`,
    // the filtered `tokens` charge loads its events and aggregates them with billing/aggregateCharge).
    const rawReader = ledgerUsage;
    const raw = await computeCurrentUsage(db, orgId, q, { readUsage: rawReader });
    if (raw.customer_usage.amount_cents !== (await computeCurrentUsage(db, orgId, q)).customer_usage.amount_cents) {
      throw new Error(`raw and rollup current usage differ: ${raw.customer_usage.amount_cents}`);
    }
    const raw_ms: number[] = [];
    for (let i = 0; i < RAW_N; i++) {
      const t0 = performance.now();
      await computeCurrentUsage(db, orgId, q, { readUsage: rawReader });
      raw_ms.push(performance.now() - t0);
    }
    // Best case of a raw scan: one SQL COUNT/SUM over the 1M rows, no filters (a lower bound for any raw path).
    const sql_ms: number[] = [];
    for (let i = 0; i < RAW_N; i++) {
      const t0 = performance.now();
      await db.raw(
        `SELECT code, count(*), sum((properties->>'tokens')::numeric) FROM events
         WHERE organization_id = ? AND subscription_id = ? AND "timestamp" >= ? AND "timestamp" < ? GROUP BY code`,
        [orgId, subId, period.start, period.end],
      );
      sql_ms.push(performance.now() - t0);
    }

    console.log('');
    const h = summary('current usage via HTTP (rollups)', http_ms);
    const f = summary('current usage, service call (rollups)', fn_ms);
    const r = summary('current usage, service call (raw events)', raw_ms);
    const s = summary('raw SQL COUNT/SUM scan only (no pricing)', sql_ms);
    console.log('');
    console.log(`ratio raw-events / rollups (p50, service call): ${(r.p50 / f.p50).toFixed(0)}x`);
    console.log(`ratio raw SQL scan only / rollups via HTTP (p50): ${(s.p50 / h.p50).toFixed(0)}x`);
    console.log(`target p99 < 25 ms via HTTP: ${pct([...http_ms].sort((a, b) => a - b), 99) < 25 ? 'met' : 'NOT met'}`);
  } finally {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    if (runtime) await runtime.signaller.stop();
    if (temporal) await temporal.connection.close().catch(() => undefined);
    await db.destroy();
    const admin = createDb(serverUrl, 1);
    try {
      await admin.raw(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    } finally {
      await admin.destroy();
    }
    if (pg) await pg.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
