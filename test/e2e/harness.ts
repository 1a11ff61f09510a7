// The whole system for end-to-end tests: the real HTTP API, the real worker (real activities), a Postgres
// database of its own and a Temporal server (the shared dev server, or a time-skipping test server).
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { startApi } from '../../api/server';
import type { ProviderFactory } from '../../api/routes/payments';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { createBillingWorker } from '../../worker/worker';
import { createTimeSkippingEnv } from '../support/time-skipping';
import { createTestDatabase, temporalTestAddress, type TestDatabase } from '../support/services';
import { testWorkflowBundle } from '../support/workflow-bundle';

export interface System {
  baseUrl: string;
  apiKey: string;
  database: TestDatabase;
  client: Client;
  /**
   * The task queue of this system's worker and API (its own: test files run in parallel on the shared dev
   * server, and another file's worker, on another database, must never pick up this system's workflows).
   */
  taskQueue: string;
  /** Present with the time-skipping server: `env.sleep(ms)` moves the server's clock forward. */
  env: TestWorkflowEnvironment | null;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Options: the payment provider adapter of the worker and the API (e.g. the Stripe fake's client), none by default. */
export interface SystemOptions {
  paymentProviderFor?: ProviderFactory;
}

export async function startSystem(temporalKind: 'dev-server' | 'time-skipping', options: SystemOptions = {}): Promise<System> {
  const database = await createTestDatabase('e2e');
  const org = await ensureOrganization(database.db, 'e2e', 'E2E organization');
  const apiKey = await createApiKey(database.db, org.id);

  let env: TestWorkflowEnvironment | null = null;
  let client: Client;
  let nativeConnection: NativeConnection;
  let connection: Connection | null = null;
  if (temporalKind === 'time-skipping') {
    env = await createTimeSkippingEnv();
    client = env.client;
    nativeConnection = env.nativeConnection;
  } else {
    const address = temporalTestAddress();
    connection = await Connection.connect({ address });
    client = new Client({ connection, namespace: 'default' });
    nativeConnection = await NativeConnection.connect({ address });
  }

  const taskQueue = `e2e-${crypto.randomBytes(6).toString('hex')}`;
  // `client`: the fleet Schedules' activities (sweeper, draft finalization) talk to Temporal.
  const worker: Worker = await createBillingWorker({ connection: nativeConnection, namespace: 'default', db: database.db, client, taskQueue, workflowBundle: await testWorkflowBundle(), ...(options.paymentProviderFor ? { paymentProviderFor: options.paymentProviderFor } : {}) });
  const workerRun = worker.run();

  const api = await startApi({ db: database.db, temporal: client, subscriptionTaskQueue: taskQueue, ...(options.paymentProviderFor ? { paymentProviderFor: options.paymentProviderFor } : {}) }, 0);
  const baseUrl = `${api.url}/api/v1`;

  return {
    baseUrl,
    apiKey,
    database,
    client,
    taskQueue,
    env,
    async request(method, path, body) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      await api.close(); // flushes the event writer and the usage signaller
      worker.shutdown();
      await workerRun;
      if (env) await env.teardown();
      else {
        await nativeConnection.close();
        await connection?.close();
      }
      await database.drop();
    },
  };
}

/** Polls `fn` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const iso = (t: string | Date) => (typeof t === 'string' ? t : t.toISOString());

/** A test clock frozen at `at` (POST /test_clocks); its lago_id. Fails unless the API answers 200. */
export async function newTestClock(sys: System, name: string, at: string | Date): Promise<string> {
  const res = await sys.request('POST', '/test_clocks', { test_clock: { name, frozen_time: iso(at) } });
  if (res.status !== 200) throw new Error(`POST /test_clocks answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.test_clock.lago_id;
}

/** Moves a test clock to `to` (POST /test_clocks/:id/advance); the clock as the API answers it. Fails unless 200. */
export async function advanceTestClock(sys: System, clockId: string, to: string | Date): Promise<{ frozen_time: string; status: string }> {
  const res = await sys.request('POST', `/test_clocks/${clockId}/advance`, { test_clock: { frozen_time: iso(to) } });
  if (res.status !== 200) throw new Error(`advancing test clock ${clockId} to ${iso(to)} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.test_clock;
}
