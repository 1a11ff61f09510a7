// Issue 10: "a crash between 'charge sent' and 'charge recorded' must never charge twice", tested by killing the
// real worker PROCESS there (kill -9 of its process group), not by throwing inside the activity.
//
// - The stateful Stripe fake (test/support/fake-stripe.ts) is served over a real local HTTP server; the worker
//   process (worker/main.ts, the production composition root, run with tsx) reaches it through
//   METERLINE_STRIPE_API_BASE, so the whole Stripe SDK path including its HTTP client is the production one.
// - On the worker's POST /v1/payment_intents the fake executes the charge (the PaymentIntent succeeds), then,
//   before any answer, the worker's process group gets SIGKILL and the request's socket is destroyed: the charge
//   exists at "Stripe", Meterline never heard of it (its payments row of attempt 1 is still unrecorded).
// - A new worker process starts. Temporal retries attemptPayment after its startToCloseTimeout; the activity finds
//   the PaymentIntent by metadata and records it instead of charging again.
// The worker runs in a Temporal namespace of its own (with the custom search attributes), so its Schedules and
// workflows never mix with the other test files' workers on the shared dev server.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { msToTs } from '@temporalio/common/lib/time';
import { listPayments } from '../../db/repositories/payments';
import { SEARCH_ATTRIBUTES, SUBSCRIPTION_TASK_QUEUE, invoicePaymentQuery, invoiceWorkflowId } from '../../workflows/messages';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { createTestDatabase, temporalTestAddress, type TestDatabase } from '../support/services';

jest.setTimeout(15 * 60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a value; bounded only by the jest timeout (no timed assertion under load). */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(250);
  }
}

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnWorker(env: Record<string, string>): WorkerProcess {
  // Its own process group (detached): kill(-pid) reaches tsx and the node process it runs.
  const child = spawn(process.execPath, [TSX_CLI, 'worker/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

async function waitPolling(w: WorkerProcess): Promise<void> {
  let gone = false;
  void w.exited.then(() => (gone = true));
  await until(async () => {
    if (gone) throw new Error(`worker exited before polling:\n${w.output()}`);
    return w.output().includes('worker polling its task queues') ? true : undefined;
  });
}

function killGroup(w: WorkerProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-w.child.pid!, signal);
  } catch {
    // already gone
  }
}

let database: TestDatabase;
let connection: Connection;
let client: Client;
let server: http.Server;
const workers: WorkerProcess[] = [];
const namespace = `killtest-${crypto.randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  database = await createTestDatabase('e2e_kill');
  connection = await Connection.connect({ address: temporalTestAddress() });
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  // The namespace is usable once the frontend's namespace cache has it.
  await until(async () => {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    } catch {
      return undefined;
    }
  });
  const searchAttributes: Record<string, number> = {};
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    searchAttributes[name] = encodeSearchAttributeIndexedValueType(({ Keyword: 'KEYWORD', Datetime: 'DATETIME', Int: 'INT' } as const)[type])!;
  }
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  client = new Client({ connection, namespace });
});

afterAll(async () => {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      killGroup(w, 'SIGKILL');
      await w.exited;
    }
  }
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await connection?.close();
  await database?.drop();
});

test('kill -9 of the worker process after the charge reached Stripe and before it was recorded: the restarted worker finds it by metadata, one charge, invoice paid once', async () => {
  const s = await finalizedInvoiceSetup(database.db, { amountCents: 4321 });
  const { providerCustomerId } = await linkCard(database.db, s);
  const { organizationId, invoiceId } = s.ref;

  // ---- the fake, over HTTP, with the kill point inside POST /v1/payment_intents ------------------------------
  let armed = true;
  let killed: (v: { paymentsAtKill: Awaited<ReturnType<typeof listPayments>> }) => void = () => undefined;
  const killDone = new Promise<{ paymentsAtKill: Awaited<ReturnType<typeof listPayments>> }>((r) => (killed = r));
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers = Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)] as [string, string]);
        const method = req.method ?? 'GET';
        const body = Buffer.concat(chunks).toString('utf8');
        const response = await s.fake.fetch(`http://stripe.test${req.url ?? '/'}`, { method, headers, body: method === 'GET' ? undefined : body });
        if (armed && method === 'POST' && new URL(req.url ?? '/', 'http://x').pathname === '/v1/payment_intents') {
          armed = false;
          // The charge executed at the fake. Kill the worker before it hears the answer; never answer.
          const victim = workers[0]!;
          killGroup(victim, 'SIGKILL');
          await victim.exited;
          req.socket.destroy();
          killed({ paymentsAtKill: await listPayments(database.db, organizationId, invoiceId) });
          return;
        }
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(await response.text());
      })().catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: String(err) } }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  const env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporalTestAddress(),
    TEMPORAL_NAMESPACE: namespace,
    METERLINE_STRIPE_API_BASE: `http://127.0.0.1:${port}`,
    // Its readiness line (test/support/quiet-logs.ts silences the logs of this process, inherited otherwise).
    METERLINE_LOG_LEVEL: 'info',
  };

  // ---- worker 1 runs the invoice workflow until it is killed inside the charge ------------------------------
  workers.push(spawnWorker(env));
  await waitPolling(workers[0]!);
  const handle = await client.workflow.start('invoiceWorkflow', {
    workflowId: invoiceWorkflowId(invoiceId),
    taskQueue: SUBSCRIPTION_TASK_QUEUE,
    args: [{ version: 1, organizationId, invoiceId, gracePeriodDays: 0 }],
  });
  const { paymentsAtKill } = await killDone;
  expect(await workers[0]!.exited).toEqual({ code: null, signal: 'SIGKILL' });
  // Killed between "charge sent" and "charge recorded": the charge exists, Meterline's record of it does not.
  const chargesAtKill = s.fake.succeededCharges().filter((pi) => (pi.metadata as Record<string, string>).lago_invoice_id === invoiceId);
  expect(chargesAtKill).toHaveLength(1);
  expect(paymentsAtKill.filter((p) => p.providerPaymentId !== null || p.status === 'succeeded')).toEqual([]);
  const invoiceAtKill = await database.db('invoices').where({ id: invoiceId }).first();
  expect(invoiceAtKill.payment_status).not.toBe('succeeded');
  expect(Number(invoiceAtKill.total_paid_amount_cents)).toBe(0);

  // ---- worker 2: the retried activity finds the PaymentIntent by metadata and records it ---------------------
  workers.push(spawnWorker(env));
  await waitPolling(workers[1]!);
  const invoice = await until(async () => {
    const row = await database.db('invoices').where({ id: invoiceId }).first();
    return row.payment_status === 'succeeded' ? row : undefined;
  });

  const charges = s.fake.succeededCharges().filter((pi) => (pi.metadata as Record<string, string>).lago_invoice_id === invoiceId);
  expect(charges).toHaveLength(1);
  expect(Number(invoice.total_amount_cents)).toBeGreaterThan(0);
  expect(charges[0]).toMatchObject({ id: chargesAtKill[0]!.id, amount: Number(invoice.total_amount_cents), customer: providerCustomerId, metadata: { lago_invoice_id: invoiceId, lago_payment_attempt: '1' } });
  // The restarted worker asked Stripe by metadata and never sent a second create.
  const creates = s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
  expect(creates).toHaveLength(1);
  expect(creates[0]!.headers['idempotency-key']).toBe(`invoice:${invoiceId}:attempt:1`);
  expect(s.fake.requests.filter((r) => r.method === 'GET' && r.path === '/v1/payment_intents').length).toBeGreaterThanOrEqual(2);

  const payments = await listPayments(database.db, organizationId, invoiceId);
  expect(payments).toHaveLength(1);
  expect(payments[0]).toMatchObject({ attempt: 1, status: 'succeeded', providerPaymentId: chargesAtKill[0]!.id, amountCents: Number(invoice.total_amount_cents) });
  expect(Number(invoice.total_paid_amount_cents)).toBe(Number(invoice.total_amount_cents));
  expect(invoice.payment_status).toBe('succeeded');

  // The invoice workflow itself ends paid after one attempt (its state as the restarted worker replays it).
  expect(await handle.result()).toMatchObject({ invoiceId, status: 'finalized' });
  expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'succeeded', attempts: 1 });
  killGroup(workers[1]!, 'SIGTERM');
  await workers[1]!.exited;
});
