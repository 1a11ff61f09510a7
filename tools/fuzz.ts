// `npm run fuzz`: schemathesis (PyPI, pinned, in .venv/: scripts/install-schemathesis.sh) against the OpenAPI
// document the API serves, on a stack this script starts for itself on loopback: an embedded Postgres and a
// Temporal dev server in a temp dir, then migrations + the billing worker + the HTTP API in a child process
// (bench/support/server.ts: scripts/system.ts startSystem, exactly what `npm start` runs; its log goes to
// .data/fuzz/server.log). Seeded through the API with a metric, a plan, a customer and subscriptions
// so that lists and retrievals have content to conform.
//
// Bounded: `--max-examples` per operation, a rate limit, and a time budget for the whole run (defaults below,
// each overridable: --max-examples N, --rate R (requests/s), --max-time S, --seed N). Checks:
// not_a_server_error and response_schema_conformance (every 2xx body against api/schemas/responses.ts, every
// error body against the Error schema). Prints requests sent, 5xx answers and schema failures (from the HAR
// and JSON reports schemathesis writes), and exits non-zero on any 5xx or schema failure, or when schemathesis
// itself reports a failure or error. Reports are kept in .data/fuzz/ (junit.xml, har.json, run.json).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../dev/temporal';
import { createTenant, must, ROOT, startServices, waitForHealth, type Services } from './support/stack';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const MAX_EXAMPLES = option('max-examples', 40);
const RATE = option('rate', 25);
const MAX_TIME_S = option('max-time', 180);
const SEED = option('seed', 20261201);
const REPORT_DIR = path.join(ROOT, '.data', 'fuzz');

async function seed(base: string, apiKey: string): Promise<void> {
  const bm = await must(base, apiKey, 'POST', '/billable_metrics', {
    billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens', filters: [{ key: 'model', values: ['small', 'large'] }] },
  });
  await must(base, apiKey, 'POST', '/plans', {
    plan: {
      name: 'Pro', code: 'pro', interval: 'monthly', amount_cents: 2000, amount_currency: 'USD',
      charges: [{ billable_metric_id: bm.billable_metric.lago_id, charge_model: 'standard', properties: { amount: '0.000002' } }],
    },
  });
  await must(base, apiKey, 'POST', '/customers', { customer: { external_id: 'acme', name: 'Acme', currency: 'USD', timezone: 'Europe/Paris' } });
  await must(base, apiKey, 'POST', '/subscriptions', { subscription: { external_customer_id: 'acme', plan_code: 'pro', external_id: 'acme-main' } });
  await must(base, apiKey, 'POST', '/subscriptions', {
    subscription: { external_customer_id: 'acme', plan_code: 'pro', external_id: 'acme-old', subscription_at: new Date(Date.now() - 40 * 86_400_000).toISOString() },
  });
  const ts = Math.floor(Date.now() / 1000) - 60;
  await must(base, apiKey, 'POST', '/events/batch', {
    events: Array.from({ length: 20 }, (_, i) => ({ transaction_id: `seed-${i}`, external_subscription_id: 'acme-main', code: 'tokens', timestamp: ts, properties: { tokens: 100 + i, model: i % 2 ? 'small' : 'large' } })),
  });
  await must(base, apiKey, 'POST', '/subscriptions/acme-main/alerts', { alert: { alert_type: 'current_usage_amount', code: 'spend', thresholds: [{ value: 100 }] } });
}

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number };
}

interface Tally {
  requests: number;
  serverErrors: number;
  byStatus: Record<string, number>;
  serverErrorSamples: string[];
}

function readHar(file: string): Tally {
  const t: Tally = { requests: 0, serverErrors: 0, byStatus: {}, serverErrorSamples: [] };
  if (!fs.existsSync(file)) return t;
  const har = JSON.parse(fs.readFileSync(file, 'utf8')) as { log: { entries: HarEntry[] } };
  for (const e of har.log.entries) {
    t.requests += 1;
    const s = String(e.response.status);
    t.byStatus[s] = (t.byStatus[s] ?? 0) + 1;
    if (e.response.status >= 500) {
      t.serverErrors += 1;
      if (t.serverErrorSamples.length < 10) t.serverErrorSamples.push(`${e.request.method} ${decodeURI(e.request.url).slice(0, 200)} → ${e.response.status}`);
    }
  }
  return t;
}

/** Failures per check from the junit report (one <failure> per distinct failure, its message naming the check). */
function readJunit(file: string): { failures: number; errors: number; schemaFailures: number; serverErrorFailures: number; messages: string[] } {
  const out = { failures: 0, errors: 0, schemaFailures: 0, serverErrorFailures: 0, messages: [] as string[] };
  if (!fs.existsSync(file)) return out;
  const xml = fs.readFileSync(file, 'utf8');
  // Passed cases are self-closing (<testcase .../>); only the others have a body.
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = /name="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    const bodyText = m[2] ?? '';
    for (const f of bodyText.matchAll(/<(failure|error)\b[^>]*?(?:message="([^"]*)")?[^>]*>([\s\S]*?)<\/\1>/g)) {
      const text = `${f[2] ?? ''} ${f[3] ?? ''}`;
      if (f[1] === 'error') out.errors += 1;
      else out.failures += 1;
      // One <failure> element may list several distinct failures of the operation, each under a numbered heading.
      const schema = (text.match(/Response violates schema/g) ?? []).length;
      const server = (text.match(/Server error/g) ?? []).length;
      out.schemaFailures += schema;
      out.serverErrorFailures += server;
      if (out.messages.length < 30) out.messages.push(`${name}: ${text.replace(/&#10;|\n/g, ' ').replace(/&quot;/g, '"').replace(/\s+/g, ' ').slice(0, 400)}`);
    }
  }
  return out;
}

/** The API's own account of its 500s: the error middleware logs each as `unhandled error` with the message. */
function serverErrorCauses(file: string): [string, number][] {
  if (!fs.existsSync(file)) return [];
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"unhandled error"')) continue;
    try {
      const j = JSON.parse(line) as { method: string; path: string; error?: { message?: string } };
      const message = (j.error?.message ?? '').replace(/^[\s\S]* - /, '').slice(0, 120);
      const k = `${j.method} ${j.path.split('?')[0]}: ${message}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    } catch {
      /* not a JSON log line */
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const install = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-schemathesis.sh')], { stdio: 'inherit' });
  if (install.status !== 0) throw new Error('could not install schemathesis into .venv (scripts/install-schemathesis.sh)');

  let services: Services | null = null;
  let server: ReturnType<typeof spawn> | null = null;
  const stop = async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise<void>((resolve) => server!.once('exit', () => resolve()));
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await services?.temporal.stop().catch(() => undefined);
    await services?.pg.stop().catch(() => undefined);
    if (services) fs.rmSync(services.dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    console.log('fuzz: starting Postgres and the Temporal dev server ...');
    services = await startServices({ prefix: 'meterline-fuzz-', temporalState: false });
    const port = await freePort();
    fs.rmSync(REPORT_DIR, { recursive: true, force: true });
    fs.mkdirSync(REPORT_DIR, { recursive: true });
    const serverLog = fs.openSync(path.join(REPORT_DIR, 'server.log'), 'a');
    server = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/support/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: services.databaseUrl, TEMPORAL_ADDRESS: services.temporal.address, PORT: String(port), BENCH_PARENT_PID: String(process.pid) },
      stdio: ['ignore', serverLog, serverLog],
      detached: true,
    });
    fs.closeSync(serverLog);
    const origin = `http://127.0.0.1:${port}`;
    await waitForHealth(origin, 180_000, () => server?.exitCode === null);
    const { apiKey } = await createTenant(services.databaseUrl, 'fuzz');
    const base = `${origin}/api/v1`;
    await seed(base, apiKey);
    console.log(`fuzz: API on ${origin}; schemathesis: ≤${MAX_EXAMPLES} examples per operation, ${RATE} requests/s, ≤${MAX_TIME_S} s`);

    const har = path.join(REPORT_DIR, 'har.json');
    const junit = path.join(REPORT_DIR, 'junit.xml');
    const args = [
      'run', `${origin}/api/v1/openapi.json`,
      '--url', base,
      '-H', `Authorization: Bearer ${apiKey}`,
      // Revoking or rotating an API key by id (a key id found through GET /api_keys in the stateful phase) would
      // revoke the fuzzer's own key and turn the rest of the run into 401s; those operations are covered by
      // test/api/api-keys.test.ts and the route-table tests instead.
      '--exclude-path-regex', '^/api_keys/\\{lago_id\\}',
      '--checks', 'not_a_server_error,response_schema_conformance',
      '--max-examples', String(MAX_EXAMPLES),
      '--rate-limit', `${RATE}/s`,
      '--max-time', String(MAX_TIME_S),
      '--seed', String(SEED),
      '--workers', '2',
      '--request-timeout', '30',
      '--continue-on-failure',
      '--suppress-health-check', 'all',
      '--report', 'junit,har',
      '--report-junit-path', junit,
      '--report-har-path', har,
      '--output-sanitize', 'true',
    ];
    const code = await new Promise<number>((resolve) => {
      const child = spawn(path.join(ROOT, '.venv', 'bin', 'schemathesis'), args, { stdio: 'inherit' });
      child.once('exit', (c) => resolve(c ?? 1));
    });

    const t = readHar(har);
    const j = readJunit(junit);
    console.log('\n==== fuzz tally ====');
    console.log(`requests sent:            ${t.requests}`);
    console.log(`answers by status:        ${Object.entries(t.byStatus).sort().map(([s, n]) => `${s}: ${n}`).join(', ')}`);
    console.log(`5xx answers:              ${t.serverErrors}`);
    console.log(`schema failures:          ${j.schemaFailures}`);
    console.log(`schemathesis failures:    ${j.failures} operations with failures, ${j.errors} errors; exit code ${code}`);
    for (const s of t.serverErrorSamples) console.log(`  5xx: ${s}`);
    for (const [cause, n] of serverErrorCauses(path.join(REPORT_DIR, 'server.log'))) console.log(`  5xx cause (server log) ×${n}: ${cause}`);
    for (const m of j.messages) console.log(`  ${m}`);
    console.log(`reports: ${path.relative(ROOT, REPORT_DIR)}/ (junit.xml, har.json, server.log)`);
    const failed = t.serverErrors > 0 || j.schemaFailures > 0 || j.failures > 0 || j.errors > 0 || code !== 0 || t.requests === 0;
    await stop();
    process.exit(failed ? 1 : 0);
  } catch (err) {
    console.error('fuzz:', err);
    await stop();
    process.exit(2);
  }
}

void main();
