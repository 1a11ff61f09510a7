// Rejected events are answered 422 as before AND recorded in event_errors in the same request; GET
// /events/:transaction_id and GET /events/errors report them. Real Postgres, real API.
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let sub: Awaited<ReturnType<typeof seedSubscription>>;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_event_errors' });
  sub = await seedSubscription(h, { suffix: 'err', aggregation: 'sum_agg', fieldName: 'tokens' });
});
afterAll(async () => {
  await h?.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
function ev(tx: string, extra: Record<string, unknown> = {}) {
  return { transaction_id: tx, external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: nowSeconds(), properties: { tokens: 12 }, ...extra };
}
const errorRows = (where: Record<string, unknown>) => h.database.db('event_errors').where({ organization_id: h.org.id, ...where }).orderBy('id');
const eventRows = (where: Record<string, unknown>) => h.database.db('events').where({ organization_id: h.org.id, ...where });

describe('recording rejected events', () => {
  test('an event for an unknown subscription is still 422 subscription_not_found, and is recorded as received with the request id', async () => {
    const ts = `${nowSeconds() - 60}.5`;
    const res = await h.request('POST', '/events', { event: ev('rec-1', { external_subscription_id: 'ghost-sub', timestamp: ts, properties: { tokens: '7', region: 'eu' } }) });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { external_subscription_id: ['subscription_not_found'] } });
    const rows = await errorRows({ transaction_id: 'rec-1' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      external_subscription_id: 'ghost-sub',
      code: sub.metricCode,
      timestamp: ts,
      properties: { tokens: '7', region: 'eu' },
      error_code: 'subscription_not_found',
      field: 'external_subscription_id',
      request_id: res.headers.get('x-request-id'),
      occurrences: 1,
    });
    expect(await eventRows({ transaction_id: 'rec-1' })).toHaveLength(0);
  });

  test('a client retry of the same rejected event adds no row: occurrences counts it', async () => {
    const body = { event: ev('rec-retry', { code: 'ghost_metric' }) };
    await h.request('POST', '/events', body);
    await h.request('POST', '/events', body);
    const third = await h.request('POST', '/events', body);
    expect(third.status).toBe(422);
    const rows = await errorRows({ transaction_id: 'rec-retry' });
    expect(rows.map((r) => [r.error_code, r.field, r.occurrences])).toEqual([['billable_metric_not_found', 'code', 3]]);
  });

  test('one event with two bad fields gets one row per (field, code); a JSON-number timestamp is kept as its text', async () => {
    const ts = nowSeconds() - 60 + 0.25;
    const res = await h.request('POST', '/events', { event: ev('rec-2', { code: 'ghost_metric', external_subscription_id: 'ghost-sub', timestamp: ts }) });
    expect(res.status).toBe(422);
    const rows = await errorRows({ transaction_id: 'rec-2' });
    expect(rows.map((r) => `${r.field}:${r.error_code}`).sort()).toEqual(['code:billable_metric_not_found', 'external_subscription_id:subscription_not_found']);
    expect(rows.every((r) => r.timestamp === String(ts) && /\.25$/.test(r.timestamp))).toBe(true);
  });

  test.each([
    ['malformed timestamp', 'timestamp', 'invalid_format', { timestamp: '2026-13-45' }],
    ['non-numeric value for a sum metric', 'properties.tokens', 'invalid_value', { properties: { tokens: 'lots' } }],
    ['bad precise_total_amount_cents', 'precise_total_amount_cents', 'invalid_value', { precise_total_amount_cents: '1,5' }],
    ['properties not an object', 'properties', 'invalid_type', { properties: [1, 2] }],
    ['code missing', 'code', 'value_is_mandatory', { code: undefined }],
  ])('content error "%s" is recorded as %s / %s', async (label, field, code, patch) => {
    const tx = `rec-content-${label.replace(/\W+/g, '-')}`;
    const res = await h.request('POST', '/events', { event: ev(tx, patch) });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ [field]: [code] });
    const rows = await errorRows({ transaction_id: tx });
    expect(rows.map((r) => [r.field, r.error_code])).toEqual([[field, code]]);
  });

  test('an event without a transaction_id is recorded with a null id, and its retry is deduplicated by content', async () => {
    const body = { event: { external_subscription_id: 'ghost-sub-2', code: sub.metricCode, properties: { tokens: 1 } } };
    const first = await h.request('POST', '/events', body);
    await h.request('POST', '/events', body);
    expect(first.status).toBe(422);
    const rows = await errorRows({ external_subscription_id: 'ghost-sub-2' });
    expect(rows.map((r) => [r.transaction_id, r.field, r.error_code, r.occurrences]).sort()).toEqual([
      [null, 'external_subscription_id', 'subscription_not_found', 2],
      [null, 'transaction_id', 'value_is_mandatory', 2],
    ]);
  });

  test('a batch stays all-or-nothing: only its failed events are recorded, none of its events is stored', async () => {
    const events = [ev('rb-0'), ev('rb-1', { code: 'nope' }), ev('rb-2'), ev('rb-3', { external_subscription_id: 'ghost-sub' })];
    const res = await h.request('POST', '/events/batch', { events });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ '1': { code: ['billable_metric_not_found'] }, '3': { external_subscription_id: ['subscription_not_found'] } });
    const rows = await h.database.db('event_errors').where('transaction_id', 'like', 'rb-%').orderBy('transaction_id');
    expect(rows.map((r) => [r.transaction_id, r.error_code])).toEqual([['rb-1', 'billable_metric_not_found'], ['rb-3', 'subscription_not_found']]);
    expect(await h.database.db('events').where('transaction_id', 'like', 'rb-%')).toHaveLength(0);
  });

  test('request-level failures (malformed JSON, bad key, empty or oversized batch) record nothing', async () => {
    const before = (await errorRows({})).length;
    const malformed = await h.raw('POST', '/events', '{"event": {"transaction_id": "x"', { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    const unauthorized = await h.raw('POST', '/events', JSON.stringify({ event: ev('rec-unauth', { code: 'nope' }) }), { authorization: 'Bearer wrong', 'content-type': 'application/json' });
    expect(unauthorized.status).toBe(401);
    expect((await h.request('POST', '/events/batch', { events: [] })).status).toBe(422);
    expect((await h.request('POST', '/events/batch', { events: Array.from({ length: 101 }, (_, i) => ev(`rec-big-${i}`, { code: 'nope' })) })).status).toBe(422);
    expect((await errorRows({})).length).toBe(before);
  });
});

describe('GET /events/:transaction_id', () => {
  test('a stored event is answered in Lago\'s Event shape, with its customer and subscription', async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    const posted = await h.request('POST', '/events', { event: ev('get-1', { timestamp: at.toISOString().replace('.000Z', 'Z'), properties: { tokens: '1.5' }, precise_total_amount_cents: '12.50' }) });
    expect(posted.status).toBe(200);
    const res = await h.request('GET', '/events/get-1');
    expect(res.status).toBe(200);
    const customer = await h.database.db('customers').where({ organization_id: h.org.id, external_id: sub.customerId }).first();
    expect(res.body).toEqual({
      event: {
        lago_id: posted.body.event.lago_id,
        transaction_id: 'get-1',
        lago_customer_id: customer.id,
        code: sub.metricCode,
        timestamp: at.toISOString(),
        precise_total_amount_cents: '12.5',
        properties: { tokens: '1.5' },
        lago_subscription_id: sub.lagoSubscriptionId,
        external_subscription_id: sub.subscriptionId,
        created_at: posted.body.event.created_at,
      },
    });
  });

  test('a transaction id known only from rejections is 404 event_not_found listing every recorded error', async () => {
    await h.request('POST', '/events', { event: ev('get-rejected', { external_subscription_id: 'ghost-sub', properties: { tokens: 'x' } }) });
    await h.request('POST', '/events', { event: ev('get-rejected', { external_subscription_id: 'ghost-sub', properties: { tokens: 1 } }) });
    const res = await h.request('GET', '/events/get-rejected');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      status: 404,
      error: 'Not Found',
      code: 'event_not_found',
      error_details: { external_subscription_id: ['subscription_not_found'], 'properties.tokens': ['invalid_value'] },
    });
  });

  test('an unknown transaction id is a plain 404 event_not_found; an URL-encoded id is decoded', async () => {
    const res = await h.request('GET', '/events/never-sent');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ status: 404, error: 'Not Found', code: 'event_not_found' });
    await h.request('POST', '/events', { event: ev('a/b c') });
    expect((await h.request('GET', `/events/${encodeURIComponent('a/b c')}`)).body.event.transaction_id).toBe('a/b c');
  });

  test('after the client fixes and resends a rejected event, it is found and its errors are marked resolved', async () => {
    await h.request('POST', '/events', { event: ev('fixed-1', { code: 'tokns' }) });
    expect((await h.request('GET', '/events/fixed-1')).status).toBe(404);
    expect((await h.request('POST', '/events', { event: ev('fixed-1') })).status).toBe(200);
    expect((await h.request('GET', '/events/fixed-1')).status).toBe(200);
    const listed = await h.request('GET', '/events/errors?transaction_id=fixed-1');
    expect(listed.body.event_errors.map((e: any) => [e.error_code, e.resolved])).toEqual([['billable_metric_not_found', true]]);
  });
});

describe('GET /events/errors', () => {
  beforeAll(async () => {
    // Six fresh errors on one subscription id of their own, in a known order.
    for (let i = 0; i < 6; i++) {
      await h.request('POST', '/events', { event: ev(`list-${i}`, { external_subscription_id: 'list-ghost', code: i % 2 === 0 ? sub.metricCode : 'nope' }) });
    }
  });

  test('is routed to the listing, not read as the transaction id "errors"', async () => {
    const res = await h.request('GET', '/events/errors');
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body.event_errors)).toBe(true);
    expect(res.body.meta).toMatchObject({ current_page: 1 });
  });

  test('filters by external_subscription_id and error_code, newest first, with Lago pagination meta', async () => {
    const all = await h.request('GET', '/events/errors?external_subscription_id=list-ghost&per_page=100');
    // 6 × subscription_not_found + 3 × billable_metric_not_found (odd indexes).
    expect(all.body.meta).toEqual({ current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 9 });
    const metricErrors = await h.request('GET', '/events/errors?external_subscription_id=list-ghost&error_code=billable_metric_not_found');
    expect(metricErrors.body.event_errors.map((e: any) => e.transaction_id)).toEqual(['list-5', 'list-3', 'list-1']);
    expect(metricErrors.body.event_errors[0]).toMatchObject({
      transaction_id: 'list-5',
      external_subscription_id: 'list-ghost',
      code: 'nope',
      error_code: 'billable_metric_not_found',
      field: 'code',
      occurrences: 1,
      resolved: false,
    });
    const page2 = await h.request('GET', '/events/errors?external_subscription_id=list-ghost&error_code=subscription_not_found&page=2&per_page=4');
    expect(page2.body.meta).toEqual({ current_page: 2, next_page: null, prev_page: 1, total_pages: 2, total_count: 6 });
    expect(page2.body.event_errors.map((e: any) => e.transaction_id)).toEqual(['list-1', 'list-0']);
  });

  test('a bad page parameter is 422', async () => {
    const res = await h.request('GET', '/events/errors?per_page=1000');
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ per_page: ['value_is_out_of_range'] });
  });
});
