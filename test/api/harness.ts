// A real API over a fresh Postgres database and the shared Temporal dev server, for test/api and contract tests.
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { startApi, runtimeOf, type IngestOptions, type RunningApi, type ApiRuntime } from '../../api/server';
import type { Logger } from '../../api/errors';
import type { ProviderFactory } from '../../api/routes/payments';
import { createApiKey, ensureOrganization, type Organization } from '../../db/repositories/organizations';
import { createTestDatabase, temporalTestAddress, type TestDatabase } from '../support/services';
import type { VatNumberChecker } from '../../adapters/vies/checker';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ApiHarness {
  database: TestDatabase;
  client: Client;
  connection: Connection;
  api: RunningApi;
  runtime: ApiRuntime;
  org: Organization;
  apiKey: string;
  taskQueue: string;
  logs: { level: string; msg: string; meta?: Record<string, unknown> }[];
  request<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  raw(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export async function startApiHarness(
  options: { ingest?: IngestOptions; prefix?: string; vatNumbers?: VatNumberChecker; paymentProviderFor?: ProviderFactory } = {},
): Promise<ApiHarness> {
  const database = await createTestDatabase(options.prefix ?? 'api');
  const connection = await Connection.connect({ address: temporalTestAddress() });
  const client = new Client({ connection, namespace: 'default' });
  const org = await ensureOrganization(database.db, `acme-${crypto.randomBytes(4).toString('hex')}`, 'Acme');
  const apiKey = await createApiKey(database.db, org.id);
  const logs: ApiHarness['logs'] = [];
  const logger: Logger = {
    info: (msg, meta) => logs.push({ level: 'info', msg, meta }),
    warn: (msg, meta) => logs.push({ level: 'warn', msg, meta }),
    error: (msg, meta) => logs.push({ level: 'error', msg, meta }),
  };
  // Our own task queue: no other test file's worker may pick up the workflows these tests start.
  const taskQueue = `api-test-${crypto.randomBytes(6).toString('hex')}`;
  const api = await startApi({
    db: database.db,
    temporal: client,
    logger,
    ingest: options.ingest,
    subscriptionTaskQueue: taskQueue,
    vatNumbers: options.vatNumbers,
    paymentProviderFor: options.paymentProviderFor,
  });
  const base = `${api.url}/api/v1`;

  async function raw(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<ApiResponse> {
    const res = await fetch(`${base}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  return {
    database,
    client,
    connection,
    api,
    runtime: runtimeOf(api.app),
    org,
    apiKey,
    taskQueue,
    logs,
    raw,
    request(method, path, body, headers = {}) {
      return raw(method, path, body === undefined ? undefined : JSON.stringify(body), {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...headers,
      });
    },
    async stop() {
      await api.close();
      // Terminate the workflows these tests started (they live on the shared dev server).
      const rows: { workflow_id: string }[] = await database.db('subscriptions').select('workflow_id');
      await Promise.all(
        rows.map((r) => client.workflow.getHandle(r.workflow_id).terminate('test cleanup').catch(() => undefined)),
      );
      await connection.close();
      await database.drop();
    },
  };
}

/** A metric + plan + customer + subscription through the API; returns their codes/ids. */
export async function seedSubscription(
  h: ApiHarness,
  opts: { suffix?: string; aggregation?: string; fieldName?: string | null; subscriptionAt?: string } = {},
): Promise<{ metricCode: string; planCode: string; customerId: string; subscriptionId: string; lagoSubscriptionId: string }> {
  const s = opts.suffix ?? crypto.randomBytes(3).toString('hex');
  const metricCode = `tokens_${s}`;
  const aggregation = opts.aggregation ?? 'sum_agg';
  const bm = await h.request('POST', '/billable_metrics', {
    billable_metric: {
      name: 'Tokens',
      code: metricCode,
      aggregation_type: aggregation,
      field_name: aggregation === 'count_agg' ? undefined : (opts.fieldName ?? 'tokens'),
    },
  });
  if (bm.status !== 200) throw new Error(`metric: ${JSON.stringify(bm.body)}`);
  const planCode = `plan_${s}`;
  const plan = await h.request('POST', '/plans', {
    plan: {
      name: 'Starter',
      code: planCode,
      interval: 'monthly',
      amount_cents: 1000,
      amount_currency: 'USD',
      pay_in_advance: false,
      charges: [{ billable_metric_id: bm.body.billable_metric.lago_id, charge_model: 'standard', properties: { amount: '0.002' } }],
    },
  });
  if (plan.status !== 200) throw new Error(`plan: ${JSON.stringify(plan.body)}`);
  const customerId = `cust_${s}`;
  const c = await h.request('POST', '/customers', { customer: { external_id: customerId, name: 'Ada', currency: 'USD', timezone: 'UTC' } });
  if (c.status !== 200) throw new Error(`customer: ${JSON.stringify(c.body)}`);
  const subscriptionId = `sub_${s}`;
  const sub = await h.request('POST', '/subscriptions', {
    subscription: { external_customer_id: customerId, plan_code: planCode, external_id: subscriptionId, billing_time: 'calendar', subscription_at: opts.subscriptionAt },
  });
  if (sub.status !== 200) throw new Error(`subscription: ${JSON.stringify(sub.body)}`);
  return { metricCode, planCode, customerId, subscriptionId, lagoSubscriptionId: sub.body.subscription.lago_id };
}
