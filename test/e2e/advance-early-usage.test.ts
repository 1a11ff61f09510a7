// Pay-in-advance charges and the run's first fee (issue 11, adv11b; patch advance-early-usage-v1), end to end: real
// API + worker + Postgres + the Temporal dev server. Events sent at once after POST /subscriptions reach the workflow
// while its startAdvancePeriod (the start invoice) may still be running; each is billed per event right away — not
// left for the close — and once: the termination invoice bills no pay-in-advance charge again. (The deterministic
// order, the signal held before the start, is proven in test/workflows/advance-early-usage.test.ts.)
import { startSystem, eventually, type System } from './harness';

jest.setTimeout(180_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
beforeAll(async () => {
  sys = await startSystem('dev-server');
});
afterAll(async () => {
  await sys?.stop();
});

it('events sent right after the subscription is created are billed per event before any close (50 + 150 cents), each once, and the termination invoice bills none of them again', async () => {
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Early transfers', code: 'early_transfers', aggregation_type: 'sum_agg', field_name: 'amount' } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Early advance', code: 'early_advance', interval: 'monthly', amount_cents: 3100, amount_currency: 'USD', pay_in_advance: true,
    charges: [{ billable_metric_code: 'early_transfers', charge_model: 'standard', pay_in_advance: true, invoiceable: true, properties: { amount: '0.5' } }],
  } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'early-cust', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'early-cust', plan_code: 'early_advance', external_id: 'early-sub' } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  const ts = Math.floor(Date.now() / 1000);
  const ev = (id: string, amount: number) => ({ transaction_id: id, external_subscription_id: 'early-sub', code: 'early_transfers', timestamp: ts, properties: { amount } });
  // At once, no wait for the start invoice.
  expect((await r('POST', '/events/batch', { events: [ev('early-1', 1), ev('early-2', 3)] })).status).toBe(200);

  const fees = await eventually(async () => {
    const rows = await sys.database.db('pay_in_advance_fees').where({ subscription_id: subscriptionId }).orderBy('transaction_id').select('transaction_id', 'amount_cents');
    return rows.length === 2 ? rows : undefined;
  }, 60_000, 'both events billed per event');
  expect(fees.map((f: any) => [f.transaction_id, Number(f.amount_cents)])).toEqual([['early-1', 50], ['early-2', 150]]);
  // No close yet (the month is open): the start invoice (an empty period at the start) and the two per-event invoices.
  const beforeClose = await eventually(async () => {
    const rows = await sys.database.db('invoices').where({ subscription_id: subscriptionId }).select('period_start', 'period_end', 'total_amount_cents');
    return rows.length >= 3 ? rows : undefined;
  }, 60_000, 'the invoices before any close');
  expect(beforeClose).toHaveLength(3);
  expect(beforeClose.filter((i: any) => i.period_start.getTime() === i.period_end.getTime())).toHaveLength(1);
  expect(beforeClose.filter((i: any) => i.period_start.getTime() !== i.period_end.getTime()).map((i: any) => Number(i.total_amount_cents)).sort((a: number, b: number) => a - b)).toEqual([50, 150]);

  const terminated = await r('DELETE', '/subscriptions/early-sub');
  expect(terminated.status).toBe(200);
  const chargeFees = await eventually(async () => {
    const list = (await r('GET', '/invoices?external_customer_id=early-cust')).body.invoices;
    return list.length >= 3 ? list.flatMap((i: any) => (i.fees ?? []).filter((f: any) => f.item.type === 'charge' && f.item.code === 'early_transfers')) : undefined;
  }, 60_000, 'the invoices after the termination');
  // Billed once in all: 50 + 150 cents, on the per-event invoices only.
  expect(chargeFees.reduce((s: number, f: any) => s + f.amount_cents, 0)).toBe(200);
  expect(Number((await sys.database.db('pay_in_advance_fees').where({ subscription_id: subscriptionId }).count('* as n').first())!.n)).toBe(2);
});
