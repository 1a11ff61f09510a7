// Test clocks end to end (real HTTP API, worker, Postgres, Temporal dev server in real time): a subscription created
// on a test clock lives a whole year in a few minutes. Each month: usage sent with no timestamp (it takes the
// clock's time), the clock advanced to the period end (the workflow closes the period: a draft, waiting in its
// 2-day grace period on the clock), then 3 days further (the draft is finalized, issued on the clock's date).
// Then one jump of two months closes two periods in a row, and a DELETE terminates at the clock's time.
import { advanceTestClock, startSystem, eventually, type System } from './harness';
import { createClockSandbox } from './clock-sandbox';

jest.setTimeout(900_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
const START = Date.UTC(2025, 0, 1);
const monthStart = (i: number) => new Date(Date.UTC(2025, i, 1));
const plusDays = (d: Date, n: number) => new Date(d.getTime() + n * 86_400_000);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  await createClockSandbox(sys, 'clocked');
});
afterAll(async () => {
  await sys?.stop();
});

async function periodInvoices(subscriptionId: string) {
  return sys.database.db('invoices')
    .where({ subscription_id: subscriptionId, invoice_type: 'subscription' })
    .orderBy('period_start')
    .select('id', 'status', 'period_start', 'period_end', 'total_amount_cents', sys.database.db.raw(`to_char(issuing_date, 'YYYY-MM-DD') as issuing_date`), sys.database.db.raw(`to_char(payment_due_date, 'YYYY-MM-DD') as payment_due_date`));
}

async function advance(clockId: string, to: Date) {
  expect((await advanceTestClock(sys, clockId, to)).frozen_time).toBe(to.toISOString());
}

it('a year on a test clock: 12 monthly invoices with the right amounts, none doubled, grace and issuing dates on the clock', async () => {
  const created = await r('POST', '/test_clocks', { test_clock: { name: 'year', frozen_time: new Date(START).toISOString() } });
  expect(created.status).toBe(200);
  expect(created.body.test_clock).toMatchObject({ name: 'year', frozen_time: '2025-01-01T00:00:00.000Z', status: 'ready' });
  const clockId: string = created.body.test_clock.lago_id;

  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'clocked', plan_code: 'sandbox', external_id: 'clocked-main', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  // subscription_at defaults to the clock's time, not the server's.
  expect(sub.body.subscription).toMatchObject({ status: 'active', subscription_at: '2025-01-01T00:00:00.000Z' });
  const subscriptionId: string = sub.body.subscription.lago_id;

  // An event stamped with the server's time is 2 years ahead of the clock: refused as the window is around the clock.
  const real = await r('POST', '/events', { event: { transaction_id: 'real-now', external_subscription_id: 'clocked-main', code: 'calls', timestamp: Math.floor(Date.now() / 1000) } });
  expect(real.status).toBe(422);
  expect(real.body.error_details).toEqual({ timestamp: ['too_far_in_future'] });

  for (let i = 0; i < 12; i++) {
    // i + 1 calls in month i, with no timestamp: they take the clock's time.
    const events = Array.from({ length: i + 1 }, (_, k) => ({ transaction_id: `m${i}-${k}`, external_subscription_id: 'clocked-main', code: 'calls' }));
    expect((await r('POST', '/events/batch', { events })).status).toBe(200);
    if (i === 0) {
      const stored = await r('GET', '/events/m0-0');
      expect(stored.body.event.timestamp).toBe('2025-01-01T00:00:00.000Z');
    }
    // The period end: the period is closed on the clock; its invoice waits in its 2-day grace period (on the clock).
    await advance(clockId, monthStart(i + 1));
    const drafted = await eventually(async () => {
      const list = await periodInvoices(subscriptionId);
      return list.length === i + 1 ? list[i] : undefined;
    }, 120_000, `the invoice of month ${i + 1}`);
    expect(drafted.period_start.toISOString()).toBe(monthStart(i).toISOString());
    expect(drafted.status).toBe('draft');
    // 3 days on: the grace period is over on the clock, the draft is finalized and issued on the clock's date.
    await advance(clockId, plusDays(monthStart(i + 1), 3));
    const final = await eventually(async () => {
      const list = await periodInvoices(subscriptionId);
      // Finalized, and its collection started (payment_due_date = issuing date + net payment term 0).
      return list[i]?.status === 'finalized' && list[i]!.payment_due_date !== null ? list[i] : undefined;
    }, 120_000, `month ${i + 1} finalized`);
    const day = plusDays(monthStart(i + 1), 3).toISOString().slice(0, 10);
    expect(final).toMatchObject({ total_amount_cents: 1000 + (i + 1), issuing_date: day, payment_due_date: day });
  }

  // One jump of two months (to Feb 4 → Apr 4, 2026): both periods close, one after the other.
  await advance(clockId, plusDays(monthStart(14), 3));
  const all = await eventually(async () => {
    const list = await periodInvoices(subscriptionId);
    return list.length === 14 ? list : undefined;
  }, 180_000, 'the two periods of the jump');
  expect(all.map((i) => i.period_start.toISOString())).toEqual(Array.from({ length: 14 }, (_, i) => monthStart(i).toISOString()));
  expect(all.slice(0, 12).map((i) => Number(i.total_amount_cents))).toEqual(Array.from({ length: 12 }, (_, i) => 1000 + i + 1));
  expect(all.slice(12).map((i) => Number(i.total_amount_cents))).toEqual([1000, 1000]);
  // Never doubled: one invoice per period.
  expect(new Set(all.map((i) => i.period_start.toISOString())).size).toBe(14);

  // Terminated at the clock's time: the open period so far is invoiced.
  // (Right after the 14th invoice the workflow may still be continuing into the next period: period_closing, retried.)
  const ended = await eventually(async () => {
    const res = await r('DELETE', '/subscriptions/clocked-main');
    if (res.status === 422 && JSON.stringify(res.body).includes('period_closing')) return undefined;
    return res;
  }, 60_000, 'the termination');
  expect(ended.status).toBe(200);
  expect(ended.body.subscription).toMatchObject({ status: 'terminated', terminated_at: plusDays(monthStart(14), 3).toISOString() });
  const termination = await sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'termination' });
  expect(termination).toHaveLength(1);
  expect(termination[0].period_start.toISOString()).toBe(monthStart(14).toISOString());

  // A clock never moves backwards.
  const back = await r('POST', `/test_clocks/${clockId}/advance`, { test_clock: { frozen_time: new Date(START).toISOString() } });
  expect(back.status).toBe(422);
  expect(back.body.error_details).toEqual({ frozen_time: ['cannot_move_backwards'] });
  expect((await r('GET', `/test_clocks/${clockId}`)).body.test_clock.frozen_time).toBe(plusDays(monthStart(14), 3).toISOString());
  expect((await r('GET', '/test_clocks')).body.test_clocks.map((c: any) => c.lago_id)).toEqual([clockId]);
});

it('a subscription on an unknown test clock is a 404 and nothing is written', async () => {
  const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'clocked', plan_code: 'sandbox', external_id: 'nowhere', test_clock_id: '00000000-0000-4000-8000-000000000000' } });
  expect(res.status).toBe(404);
  expect(res.body.code).toBe('test_clock_not_found');
  expect(await sys.database.db('subscriptions').where({ external_id: 'nowhere' })).toHaveLength(0);
});
