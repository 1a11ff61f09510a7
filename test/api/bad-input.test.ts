// Hostile input gets a 4xx in Lago's error shape, never a 500; rejected events are still recorded.
import zlib from 'node:zlib';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let sub: Awaited<ReturnType<typeof seedSubscription>>;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_badin' });
  sub = await seedSubscription(h, { suffix: 'bad' });
});
afterAll(async () => {
  await h?.stop();
});

function ev(tx: string, extra: Record<string, unknown> = {}) {
  return { transaction_id: tx, external_subscription_id: sub.subscriptionId, code: sub.metricCode, properties: { tokens: 1 }, ...extra };
}

function expectLagoError(res: { status: number; body: any }, status: number) {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ status, error: expect.any(String), code: expect.any(String) });
}

describe('NUL bytes', () => {
  test.each([
    ['a property value', ['nul-prop', { properties: { tokens: 1, model: 'gpt\u0000x' } }], 'properties.model'],
    ['a property key', ['nul-key', { properties: { tokens: 1, 'mo\u0000del': 'x' } }], 'properties'],
    ['the transaction_id', ['nul\u0000tx', {}], 'transaction_id'],
    ['the code', ['nul-code', { code: 'tok\u0000ens' }], 'code'],
  ] as [string, [string, Record<string, unknown>], string][])('in %s of an event: 422 invalid_characters, recorded (sanitized) in the event-error log', async (_label, [tx, extra], field) => {
    const event = ev(tx, extra);
    const res = await h.request('POST', '/events/batch', { events: [ev('nul-ok'), event] });
    expectLagoError(res, 422);
    expect(res.body.error_details['1'][field]).toContain('invalid_characters');
    const recorded = await h.request('GET', '/events/errors?error_code=invalid_characters&per_page=100');
    expect(recorded.status).toBe(200);
    expect(recorded.body.event_errors.some((e: { field: string }) => e.field === field)).toBe(true);
    expect(JSON.stringify(recorded.body)).not.toContain('\\u0000');
  });

  test('in a customer field: 422 naming the field, nothing written', async () => {
    const res = await h.request('POST', '/customers', { customer: { external_id: 'nul-cust', name: 'A\u0000B' } });
    expectLagoError(res, 422);
    expect(res.body.error_details).toEqual({ 'customer.name': ['invalid_characters'] });
    expect(await h.database.db('customers').where({ external_id: 'nul-cust' })).toHaveLength(0);
  });

  test('in a charge filter value: 422', async () => {
    const res = await h.request('POST', '/plans', {
      plan: { name: 'N', code: 'nul_plan', interval: 'monthly', amount_cents: 0, amount_currency: 'USD',
        charges: [{ billable_metric_code: sub.metricCode, charge_model: 'standard', properties: { amount: '1' },
          filters: [{ properties: { amount: '2' }, values: { model: ['a\u0000'] } }] }] },
    });
    expectLagoError(res, 422);
  });

  test('in a path segment and in a query parameter: 4xx, not 500', async () => {
    expectLagoError(await h.request('GET', '/customers/ab%00cd'), 422);
    expectLagoError(await h.request('GET', '/events/tx%00x'), 422);
    expectLagoError(await h.request('GET', `/customers/${sub.customerId}/current_usage?external_subscription_id=a%00b`), 422);
    expectLagoError(await h.request('GET', '/events/errors?transaction_id=a%00'), 422);
  });
});

describe('lone UTF-16 surrogates', () => {
  test('in an event property: 422 invalid_characters for that index, recorded', async () => {
    const body = `{"events":[${JSON.stringify(ev('sur-ok'))},{"transaction_id":"sur-1","external_subscription_id":"${sub.subscriptionId}","code":"${sub.metricCode}","properties":{"tokens":1,"model":"\\ud800x"}}]}`;
    const res = await h.raw('POST', '/events/batch', body, { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' });
    expectLagoError(res, 422);
    expect(res.body.error_details).toEqual({ '1': { 'properties.model': ['invalid_characters'] } });
    expect(await h.database.db('event_errors').where({ organization_id: h.org.id, transaction_id: 'sur-1' })).toHaveLength(1);
  });

  test('a well-formed emoji (a surrogate pair) is accepted', async () => {
    expect((await h.request('POST', '/events', { event: ev('emoji', { properties: { tokens: 1, model: 'gpt 😀' } }) })).status).toBe(200);
  });
});

describe('body shape', () => {
  test('JSON nested 5,000 levels deep is a 400 json_too_deep', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const res = await h.raw('POST', '/events', `{"event":${deep}}`, { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' });
    expectLagoError(res, 400);
    expect(res.body.code).toBe('json_too_deep');
  });

  test('64 levels are fine (refused for content, not for depth)', async () => {
    const deep = '{"a":'.repeat(60) + '1' + '}'.repeat(60);
    const res = await h.raw('POST', '/events', `{"event":${JSON.stringify(ev('deep-ok')).slice(0, -1)},"extra":${deep}}}`, {
      authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json',
    });
    expect(res.status).toBe(200);
  });

  test('a corrupt gzip body is a 400', async () => {
    const gz = zlib.gzipSync(Buffer.from(JSON.stringify({ event: ev('gz-1') })));
    const corrupt = Buffer.concat([gz.subarray(0, 12), Buffer.from('garbage-garbage'), gz.subarray(20)]);
    const res = await fetch(`${h.api.url}/api/v1/events`, {
      method: 'POST', body: corrupt,
      headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 400, code: 'invalid_body_encoding' });
  });

  test('a valid gzip body is accepted', async () => {
    const res = await fetch(`${h.api.url}/api/v1/events`, {
      method: 'POST', body: zlib.gzipSync(Buffer.from(JSON.stringify({ event: ev('gz-ok') }))),
      headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
  });
});

describe('401', () => {
  test('answers carry Lago\'s code unauthorized', async () => {
    const res = await h.raw('GET', '/customers', undefined, {});
    expect(res.body).toEqual({ status: 401, error: 'Unauthorized', code: 'unauthorized' });
  });
});
