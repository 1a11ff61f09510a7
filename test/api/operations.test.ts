// Operator endpoints: /health, /ready (Postgres and Temporal), /metrics (Prometheus), /docs (offline).
import { startApi } from '../../api/server';
import { createDb } from '../../db/knexfile';
import { freePort } from '../../dev/temporal';
import { seedSubscription, startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_ops' });
});
afterAll(async () => {
  await h?.stop();
});

const get = (path: string) => fetch(`${h.api.url}${path}`);

test('GET /ready is 200 when Postgres and Temporal both answer', async () => {
  const res = await get('/ready');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ready', checks: { postgres: { ok: true }, temporal: { ok: true } } });
});

test('GET /ready is 503 with Retry-After and names Postgres when the database is unreachable', async () => {
  const deadDb = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, 1);
  const api = await startApi({ db: deadDb, temporal: h.client, logger: { info() {}, warn() {}, error() {} } });
  try {
    const res = await fetch(`${api.url}/ready`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('not_ready');
    expect(body.checks.postgres.ok).toBe(false);
    expect(body.checks.temporal).toEqual({ ok: true });
  } finally {
    await api.close();
    await deadDb.destroy();
  }
});

test('GET /metrics counts ingested events, group commits, HTTP latency by route pattern and invoices by status', async () => {
  const seeded = await seedSubscription(h);
  const events = [1, 2, 3].map((i) => ({
    transaction_id: `ops-${i}`,
    external_subscription_id: seeded.subscriptionId,
    code: seeded.metricCode,
    timestamp: Math.floor(Date.now() / 1000),
    properties: { tokens: 10 },
  }));
  expect((await h.request('POST', '/events/batch', { events })).status).toBe(200);
  await h.database.db('invoices').insert({
    organization_id: h.org.id,
    customer_id: (await h.database.db('customers').first('id')).id,
    subscription_id: (await h.database.db('subscriptions').first('id')).id,
    invoice_type: 'subscription',
    status: 'draft',
    period_start: '2026-11-01T00:00:00Z',
    period_end: '2026-12-01T00:00:00Z',
    currency: 'USD',
  });

  const res = await get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  expect(text).toMatch(/^meterline_ingest_events_total 3$/m);
  expect(text).toMatch(/^meterline_ingest_group_commit_rows_count 1$/m);
  expect(text).toMatch(/^meterline_ingest_group_commit_rows_sum 3$/m);
  expect(text).toMatch(/meterline_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/events\/batch",status="200"\} 1/);
  expect(text).toMatch(/^meterline_invoices\{status="draft",payment_status="pending"\} 1$/m);
  expect(text).toMatch(/^meterline_usage_signal_pending_subscriptions \d+$/m);
  // Payment attempts and webhook deliveries, from Postgres at scrape time.
  const invoiceId = (await h.database.db('invoices').first('id')).id;
  await h.database.db('payments').insert({ organization_id: h.org.id, invoice_id: invoiceId, payment_type: 'manual', amount_cents: 5, currency: 'USD', status: 'succeeded' });
  const endpoint = (await h.database.db('webhook_endpoints').insert({ organization_id: h.org.id, webhook_url: 'https://x.test/h' }).returning('id'))[0].id;
  await h.database.db('webhooks').insert({ organization_id: h.org.id, webhook_endpoint_id: endpoint, webhook_type: 'customer.created', object_type: 'customer', unique_key: 'ops-metrics' });
  const after = await (await get('/metrics')).text();
  expect(after).toMatch(/^meterline_payments\{payment_type="manual",status="succeeded"\} 1$/m);
  expect(after).toMatch(/^meterline_webhooks\{status="pending"\} 1$/m);
});

test('GET /docs serves the API reference and its assets from the package, with no external URL', async () => {
  const page = await get('/docs');
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
  expect(html).not.toMatch(/https?:\/\//);
  const bundle = await get('/docs/assets/swagger-ui-bundle.js');
  expect(bundle.status).toBe(200);
  expect((await bundle.text()).length).toBeGreaterThan(100_000);
  expect((await get('/docs/assets/package.json')).status).toBe(404);
});
