// The live ingest path accepts event timestamps up to 24 hours after the receive time, and — when ApiDeps
// ingest.timeWindow.maxAgeDays is set (production: METERLINE_EVENT_MAX_AGE_DAYS, default 90) — no older than
// that; outside, 422 timestamp: too_far_in_future / too_old, recorded in event_errors. The bounds are checked
// against Date.now() of the request.
import { checkTimeWindow, DEFAULT_MAX_AGE_DAYS, eventTimeWindow, IMPORT_TIME_WINDOW } from '../../api/ingest/timestamp';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('checkTimeWindow (pure)', () => {
  const now = Date.parse('2026-06-15T12:00:00.000Z');
  const w = eventTimeWindow({ maxAgeDays: DEFAULT_MAX_AGE_DAYS });
  const at = (deltaMs: number) => new Date(now + deltaMs).toISOString();

  test.each([
    ['exactly 24 h ahead', null, 24 * HOUR],
    ['24 h and 1 ms ahead', 'too_far_in_future', 24 * HOUR + 1],
    ['exactly 90 days back', null, -90 * DAY],
    ['90 days and 1 ms back', 'too_old', -90 * DAY - 1],
    ['now', null, 0],
  ])('24 h ahead, 90 days back: %s → %p', (_label, expected, delta) => {
    expect(checkTimeWindow(at(delta), now, w)).toBe(expected);
  });

  test('the import window has no age limit and no future at all', () => {
    expect(checkTimeWindow(at(-3650 * DAY), now, IMPORT_TIME_WINDOW)).toBeNull();
    expect(checkTimeWindow(at(1), now, IMPORT_TIME_WINDOW)).toBe('too_far_in_future');
  });

  test('options: without maxAgeDays (or null) there is no age limit; nonsensical values fail at boot', () => {
    expect(eventTimeWindow()).toEqual({ maxFutureMs: 24 * HOUR, maxAgeMs: null });
    expect(eventTimeWindow({ maxAgeDays: null }).maxAgeMs).toBeNull();
    expect(DEFAULT_MAX_AGE_DAYS).toBe(90);
    expect(eventTimeWindow({ maxAgeDays: 7, maxFutureHours: 1 })).toEqual({ maxAgeMs: 7 * DAY, maxFutureMs: HOUR });
    expect(() => eventTimeWindow({ maxAgeDays: 0 })).toThrow(/maxAgeDays/);
    expect(() => eventTimeWindow({ maxAgeDays: Number.NaN })).toThrow(/maxAgeDays/);
    expect(() => eventTimeWindow({ maxFutureHours: -1 })).toThrow(/maxFutureHours/);
  });
});

function ev(sub: { subscriptionId: string; metricCode: string }, tx: string, timestamp?: unknown) {
  return { transaction_id: tx, external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp, properties: { tokens: 1 } };
}
const iso = (deltaMs: number) => new Date(Date.now() + deltaMs).toISOString();

describe('the library default (no ingest.timeWindow): 24 hours ahead, any age', () => {
  let h: ApiHarness;
  let sub: Awaited<ReturnType<typeof seedSubscription>>;
  beforeAll(async () => {
    h = await startApiHarness({ prefix: 'api_time_lib' });
    sub = await seedSubscription(h, { suffix: 'twl' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('25 hours ahead is 422 too_far_in_future; 23 hours ahead and Lago\'s 2022 example are stored', async () => {
    const ahead = await h.request('POST', '/events', { event: ev(sub, 'lib-ahead', iso(25 * HOUR)) });
    expect(ahead.status).toBe(422);
    expect(ahead.body.error_details).toEqual({ timestamp: ['too_far_in_future'] });
    expect((await h.request('POST', '/events', { event: ev(sub, 'lib-soon', iso(23 * HOUR)) })).status).toBe(200);
    expect((await h.request('POST', '/events', { event: ev(sub, 'lib-2022', '2022-04-29T13:59:51.123Z') })).status).toBe(200);
  });
});

describe('the production window (maxAgeDays: DEFAULT_MAX_AGE_DAYS = 90, 24 hours ahead) over the API', () => {
  let h: ApiHarness;
  let sub: Awaited<ReturnType<typeof seedSubscription>>;
  beforeAll(async () => {
    h = await startApiHarness({ prefix: 'api_time_default', ingest: { timeWindow: { maxAgeDays: DEFAULT_MAX_AGE_DAYS } } });
    sub = await seedSubscription(h, { suffix: 'tw' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test.each([
    ['23 hours ahead', 23 * HOUR],
    ['89 days back', -89 * DAY],
  ])('%s is accepted and stored', async (label, delta) => {
    const tx = `ok-${label.replace(/\W+/g, '-')}`;
    const res = await h.request('POST', '/events', { event: ev(sub, tx, iso(delta)) });
    expect(res.status).toBe(200);
    expect(await h.database.db('events').where({ transaction_id: tx })).toHaveLength(1);
  });

  test('an omitted timestamp is the receive time, always inside the window', async () => {
    const res = await h.request('POST', '/events', { event: ev(sub, 'ok-omitted') });
    expect(res.status).toBe(200);
    expect(Math.abs(Date.parse(res.body.event.timestamp) - Date.now())).toBeLessThan(60_000);
  });

  test.each([
    ['25 hours ahead (ISO)', 'too_far_in_future', () => iso(25 * HOUR)],
    ['25 hours ahead (unix seconds)', 'too_far_in_future', () => Math.floor((Date.now() + 25 * HOUR) / 1000)],
    ['91 days back', 'too_old', () => iso(-91 * DAY)],
    ['Lago\'s 2022 example timestamp', 'too_old', () => '2022-04-29T13:59:51.123Z'],
  ])('%s → 422 timestamp: %s, nothing stored, the rejection recorded', async (label, code, timestamp) => {
    const tx = `bad-${label.replace(/\W+/g, '-')}`;
    const res = await h.request('POST', '/events', { event: ev(sub, tx, timestamp()) });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { timestamp: [code] } });
    expect(await h.database.db('events').where({ transaction_id: tx })).toHaveLength(0);
    const recorded = await h.database.db('event_errors').where({ organization_id: h.org.id, transaction_id: tx });
    expect(recorded.map((r) => [r.field, r.error_code])).toEqual([['timestamp', code]]);
  });

  test('one out-of-window event rejects its whole batch (per-index details)', async () => {
    const res = await h.request('POST', '/events/batch', { events: [ev(sub, 'wb-0', iso(-HOUR)), ev(sub, 'wb-1', iso(-100 * DAY)), ev(sub, 'wb-2', iso(2 * DAY))] });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ '1': { timestamp: ['too_old'] }, '2': { timestamp: ['too_far_in_future'] } });
    expect(await h.database.db('events').where('transaction_id', 'like', 'wb-%')).toHaveLength(0);
  });
});

describe('a configured window (ingest.timeWindow: 7 days back, 1 hour ahead)', () => {
  let h: ApiHarness;
  let sub: Awaited<ReturnType<typeof seedSubscription>>;
  beforeAll(async () => {
    h = await startApiHarness({ prefix: 'api_time_custom', ingest: { timeWindow: { maxAgeDays: 7, maxFutureHours: 1 } } });
    sub = await seedSubscription(h, { suffix: 'tw7' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test.each([
    ['6 days back', 200, '(accepted)', -6 * DAY],
    ['8 days back', 422, 'too_old', -8 * DAY],
    ['30 minutes ahead', 200, '(accepted)', 30 * 60_000],
    ['2 hours ahead', 422, 'too_far_in_future', 2 * HOUR],
  ])('%s → %s %s', async (label, status, code, delta) => {
    const res = await h.request('POST', '/events', { event: ev(sub, `c-${label.replace(/\W+/g, '-')}`, iso(delta)) });
    expect(res.status).toBe(status);
    if (status === 422) expect(res.body.error_details).toEqual({ timestamp: [code] });
  });
});
