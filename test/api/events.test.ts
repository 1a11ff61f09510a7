import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let sub: Awaited<ReturnType<typeof seedSubscription>>;
let countSub: Awaited<ReturnType<typeof seedSubscription>>;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_events' });
  sub = await seedSubscription(h, { suffix: 'sum', aggregation: 'sum_agg', fieldName: 'tokens' });
  countSub = await seedSubscription(h, { suffix: 'cnt', aggregation: 'count_agg' });
});
afterAll(async () => {
  await h?.stop();
});

const eventsInDb = async (where: Record<string, unknown> = {}) =>
  h.database.db('events').where({ organization_id: h.org.id, ...where }).orderBy('id');

function ev(tx: string, extra: Record<string, unknown> = {}) {
  return { transaction_id: tx, external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: 1767225600, properties: { tokens: 12 }, ...extra };
}

describe('single event', () => {
  test('is written once and answered in Lago\'s envelope after commit', async () => {
    const res = await h.request('POST', '/events', { event: ev('tx-1', { properties: { tokens: '1.5' } }) });
    expect(res.status).toBe(200);
    expect(res.body.event).toMatchObject({
      transaction_id: 'tx-1',
      external_subscription_id: sub.subscriptionId,
      lago_subscription_id: sub.lagoSubscriptionId,
      lago_customer_id: null,
      code: sub.metricCode,
      timestamp: '2026-01-01T00:00:00.000Z',
      properties: { tokens: '1.5' },
      duplicate: false,
    });
    const rows = await eventsInDb({ transaction_id: 'tx-1' });
    expect(rows).toHaveLength(1);
    expect(rows[0].timestamp.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  test('a duplicate transaction_id is 200 with duplicate: true and is stored once', async () => {
    const first = await h.request('POST', '/events', { event: ev('tx-dup') });
    const second = await h.request('POST', '/events', { event: ev('tx-dup', { properties: { tokens: 99 } }) });
    expect(first.body.event.duplicate).toBe(false);
    expect(second.status).toBe(200);
    expect(second.body.event.duplicate).toBe(true);
    const rows = await eventsInDb({ transaction_id: 'tx-dup' });
    expect(rows).toHaveLength(1);
    expect(rows[0].properties).toEqual({ tokens: 12 });
  });

  test.each([
    ['unix seconds integer', 1767225600, '2026-01-01T00:00:00.000Z'],
    ['unix seconds string', '1767225600', '2026-01-01T00:00:00.000Z'],
    ['unix seconds with a fraction (string, truncated to ms)', '1767225600.1239', '2026-01-01T00:00:00.123Z'],
    ['unix seconds with a fraction (number)', 1767225600.5, '2026-01-01T00:00:00.500Z'],
    ['ISO-8601 with offset', '2026-01-01T02:00:00+02:00', '2026-01-01T00:00:00.000Z'],
  ])('timestamp as %s', async (_label, timestamp, expected) => {
    const tx = `ts-${String(timestamp)}`;
    const res = await h.request('POST', '/events', { event: ev(tx, { timestamp }) });
    expect(res.status).toBe(200);
    expect(res.body.event.timestamp).toBe(expected);
    expect((await eventsInDb({ transaction_id: tx }))[0].timestamp.toISOString()).toBe(expected);
  });

  test.each([
    ['transaction_id missing', { transaction_id: undefined }, { transaction_id: ['value_is_mandatory'] }],
    ['malformed timestamp', { timestamp: '2026-13-45' }, { timestamp: ['invalid_format'] }],
    ['timestamp without offset', { timestamp: '2026-01-01T00:00:00' }, { timestamp: ['invalid_format'] }],
    ['negative timestamp', { timestamp: -5 }, { timestamp: ['invalid_format'] }],
    ['unknown subscription', { external_subscription_id: 'ghost' }, { external_subscription_id: ['subscription_not_found'] }],
    ['unknown metric code', { code: 'ghost_metric' }, { code: ['billable_metric_not_found'] }],
    ['non-numeric value for a sum metric', { properties: { tokens: 'lots' } }, { 'properties.tokens': ['invalid_value'] }],
    ['boolean value for a sum metric', { properties: { tokens: true } }, { 'properties.tokens': ['invalid_value'] }],
    ['bad precise_total_amount_cents', { precise_total_amount_cents: '1,5' }, { precise_total_amount_cents: ['invalid_value'] }],
  ])('%s → 422 with field and code, nothing written', async (_label, patch, details) => {
    const before = (await eventsInDb()).length;
    const res = await h.request('POST', '/events', { event: ev('tx-invalid', patch) });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: details });
    expect((await eventsInDb()).length).toBe(before);
  });

  test('a count metric accepts any properties', async () => {
    const res = await h.request('POST', '/events', {
      event: { transaction_id: 'cnt-1', external_subscription_id: countSub.subscriptionId, code: countSub.metricCode, properties: { anything: 'x' } },
    });
    expect(res.status).toBe(200);
  });
});

describe('batch', () => {
  test('writes all events and answers them in order', async () => {
    const events = Array.from({ length: 100 }, (_, i) => ev(`b1-${i}`, { properties: { tokens: i } }));
    const res = await h.request('POST', '/events/batch', { events });
    expect(res.status).toBe(200);
    expect(res.body.events.map((e: any) => e.transaction_id)).toEqual(events.map((e) => e.transaction_id));
    expect(res.body.events.every((e: any) => e.duplicate === false)).toBe(true);
    expect((await h.database.db('events').where('transaction_id', 'like', 'b1-%')).length).toBe(100);
  });

  test('one bad event rejects the whole batch: per-index errors, 0 rows written', async () => {
    const events = [ev('b2-0'), ev('b2-1'), ev('b2-2'), ev('b2-3', { timestamp: 'not-a-date' }), ev('b2-4', { code: 'nope' })];
    const res = await h.request('POST', '/events/batch', { events });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { '3': { timestamp: ['invalid_format'] }, '4': { code: ['billable_metric_not_found'] } },
    });
    expect(await h.database.db('events').where('transaction_id', 'like', 'b2-%')).toHaveLength(0);
  });

  test('more than 100 events is 422 too_many_events; an empty batch is 422', async () => {
    const tooMany = await h.request('POST', '/events/batch', { events: Array.from({ length: 101 }, (_, i) => ev(`b3-${i}`)) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error_details).toEqual({ events: ['too_many_events'] });
    const empty = await h.request('POST', '/events/batch', { events: [] });
    expect(empty.status).toBe(422);
    expect(await h.database.db('events').where('transaction_id', 'like', 'b3-%')).toHaveLength(0);
  });

  test('duplicates inside a batch and across batches are flagged and stored once', async () => {
    const first = await h.request('POST', '/events/batch', { events: [ev('b4-0'), ev('b4-1'), ev('b4-0')] });
    expect(first.body.events.map((e: any) => e.duplicate)).toEqual([false, false, true]);
    const second = await h.request('POST', '/events/batch', { events: [ev('b4-1'), ev('b4-2')] });
    expect(second.body.events.map((e: any) => e.duplicate)).toEqual([true, false]);
    expect(await h.database.db('events').where('transaction_id', 'like', 'b4-%')).toHaveLength(3);
  });

  test('concurrent requests are group-committed into few statements', async () => {
    const before = { ...h.runtime.writer.counters };
    await Promise.all(
      Array.from({ length: 40 }, (_, r) => h.request('POST', '/events/batch', { events: Array.from({ length: 50 }, (_, i) => ev(`b5-${r}-${i}`)) })),
    );
    const statements = h.runtime.writer.counters.statements - before.statements;
    const requests = h.runtime.writer.counters.requests - before.requests;
    expect(requests).toBe(40);
    expect(statements).toBeLessThan(40);
    expect(await h.database.db('events').where('transaction_id', 'like', 'b5-%')).toHaveLength(2000);
  });

  test('an Idempotency-Key replay of a batch returns the first answer (no duplicate flags)', async () => {
    const body = { events: [ev('b6-0'), ev('b6-1')] };
    const first = await h.request('POST', '/events/batch', body, { 'idempotency-key': 'batch-b6' });
    const replay = await h.request('POST', '/events/batch', body, { 'idempotency-key': 'batch-b6' });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    const reuse = await h.request('POST', '/events/batch', { events: [ev('b6-2')] }, { 'idempotency-key': 'batch-b6' });
    expect(reuse.status).toBe(409);
    expect(reuse.body.code).toBe('idempotency_key_reused');
  });
});

describe('usage signals', () => {
  test('new events become coalesced deltas; duplicates add nothing', async () => {
    await h.runtime.signaller.flush();
    const before = { ...h.runtime.signaller.counters };
    await h.request('POST', '/events/batch', { events: [ev('s-0', { properties: { tokens: '0.1' } }), ev('s-1', { properties: { tokens: '0.2' } })] });
    await h.request('POST', '/events/batch', { events: [ev('s-0', { properties: { tokens: '0.1' } })] });
    await h.runtime.signaller.flush();
    const c = h.runtime.signaller.counters;
    expect(c.signalsSent - before.signalsSent).toBe(1);
    expect(c.eventsSignalled - before.eventsSignalled).toBe(2);
  });
});
