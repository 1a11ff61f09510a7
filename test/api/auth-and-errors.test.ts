import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_auth' });
});
afterAll(async () => {
  await h?.stop();
});

describe('authentication', () => {
  test('a request without a key is 401 in Lago shape', async () => {
    const res = await h.raw('GET', '/billable_metrics', undefined, {});
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ status: 401, error: 'Unauthorized', code: 'unauthorized' });
  });

  test('a wrong key is 401, and a key of the organization is accepted', async () => {
    const wrong = await h.raw('GET', '/billable_metrics', undefined, { authorization: 'Bearer ml_not-a-real-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ status: 401, error: 'Unauthorized', code: 'unauthorized' });
    const ok = await h.request('GET', '/billable_metrics');
    expect(ok.status).toBe(200);
    expect(ok.body.meta).toMatchObject({ current_page: 1, total_count: 0 });
  });

  test('the stored key is a sha256 hash, never the key itself', async () => {
    const rows = await h.database.db('api_keys').select('key_hash');
    expect(rows.map((r) => r.key_hash)).not.toContain(h.apiKey);
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('errors', () => {
  test('malformed JSON is a 400 with code invalid_json', async () => {
    const res = await h.raw('POST', '/customers', '{"customer": {', {
      authorization: `Bearer ${h.apiKey}`,
      'content-type': 'application/json',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400, error: 'Bad Request', code: 'invalid_json' });
  });

  test('unknown resources are 404 with <resource>_not_found', async () => {
    expect((await h.request('GET', '/customers/nope')).body).toEqual({ status: 404, error: 'Not Found', code: 'customer_not_found' });
    expect((await h.request('GET', '/plans/nope')).body).toEqual({ status: 404, error: 'Not Found', code: 'plan_not_found' });
    expect((await h.request('GET', '/billable_metrics/nope')).body).toEqual({ status: 404, error: 'Not Found', code: 'billable_metric_not_found' });
    expect((await h.request('GET', '/subscriptions/nope')).body).toEqual({ status: 404, error: 'Not Found', code: 'subscription_not_found' });
    expect((await h.request('GET', '/invoices/not-a-uuid')).body).toEqual({ status: 404, error: 'Not Found', code: 'invoice_not_found' });
  });

  test('an unexpected failure is a generic 500 with a request id, details only in the log', async () => {
    const db = h.database.db;
    // Break the customers table for this request only: rename it, call, rename back.
    await db.raw('ALTER TABLE customers RENAME TO customers_tmp');
    try {
      const res = await h.request('GET', '/customers/x');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ status: 500, error: 'Internal Server Error', code: 'internal_error', request_id: expect.any(String) });
      expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
      expect(JSON.stringify(res.body)).not.toMatch(/customers/);
      expect(h.logs.some((l) => l.level === 'error' && l.meta?.requestId === res.body.request_id)).toBe(true);
    } finally {
      await db.raw('ALTER TABLE customers_tmp RENAME TO customers');
    }
  });

  test('the OpenAPI document is generated from the zod schemas', async () => {
    const res = await fetch(`${h.api.url}/api/v1/openapi.json`);
    const doc = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/events/batch'].post).toBeDefined();
    const bm = doc.components.schemas.BillableMetricCreateInput;
    expect(bm.properties.billable_metric.properties.aggregation_type.enum).toEqual(
      expect.arrayContaining(['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg']),
    );
  });

  test('the OpenAPI document lists exactly the routes mounted under /api/v1 (method and path)', async () => {
    // Walk the Express router stack of the running app: `METHOD /path` with path parameters written `{}`.
    const normalize = (path: string) => path.replace(/:[A-Za-z0-9_]+/g, '{}').replace(/\{[^}]+\}/g, '{}');
    const mounted = new Set<string>();
    const walk = (stack: any[], prefix: string) => {
      for (const layer of stack) {
        const path = layer.rawPath === '/' || layer.rawPath === undefined ? '' : String(layer.rawPath);
        if (layer.route) {
          for (const method of Object.keys(layer.route.methods)) mounted.add(`${method.toUpperCase()} ${normalize(prefix + layer.route.path)}`);
        } else if (Array.isArray(layer.handle?.stack)) {
          walk(layer.handle.stack, prefix + path);
        }
      }
    };
    walk((h.api.app as any).router.stack, '');
    const v1 = [...mounted].filter((r) => r.includes(' /api/v1/') && r !== 'GET /api/v1/openapi.json').map((r) => r.replace(' /api/v1/', ' /'));
    // The walk must see the routes at all (a test that cannot fail is a defect).
    expect(v1).toEqual(expect.arrayContaining(['POST /events/import', 'GET /customers/{}/current_usage', 'DELETE /subscriptions/{}']));

    const doc = (await (await fetch(`${h.api.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${normalize(path)}`));
    expect([...new Set(documented)].sort()).toEqual([...new Set(v1)].sort());
  });
});

describe('idempotency keys', () => {
  test('a replay returns the first response; the same key with another body is 409', async () => {
    const body = { customer: { external_id: 'idem-1', name: 'First' } };
    const first = await h.request('POST', '/customers', body, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(200);
    // Change the customer in between: a replay must still answer the stored first response.
    await h.request('POST', '/customers', { customer: { external_id: 'idem-1', name: 'Changed' } });
    const replay = await h.request('POST', '/customers', body, { 'idempotency-key': 'k-1' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const reused = await h.request('POST', '/customers', { customer: { external_id: 'idem-2' } }, { 'idempotency-key': 'k-1' });
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ status: 409, code: 'idempotency_key_reused' });
    expect(await h.database.db('customers').where({ external_id: 'idem-2' }).first()).toBeUndefined();
  });

  test('concurrent duplicates with one key run the handler once', async () => {
    const body = { customer: { external_id: 'idem-3', name: 'Concurrent' } };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => h.request('POST', '/customers', body, { 'idempotency-key': 'k-concurrent' })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const ids = new Set(results.map((r) => r.body.customer.updated_at));
    expect(ids.size).toBe(1); // every answer is the one stored response
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
  });

  test('a stored 422 is replayed as well', async () => {
    const body = { customer: { external_id: 'idem-4', timezone: 'Mars/Olympus' } };
    const first = await h.request('POST', '/customers', body, { 'idempotency-key': 'k-422' });
    expect(first.status).toBe(422);
    const again = await h.request('POST', '/customers', body, { 'idempotency-key': 'k-422' });
    expect(again.status).toBe(422);
    expect(again.body).toEqual(first.body);
  });
});
