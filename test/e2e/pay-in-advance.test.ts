// Pay in advance end to end (real API + worker + Postgres + the Temporal dev server, in real time): an advance plan
// bills its first period's fee on the invoice issued when the subscription starts, a pay-in-advance charge is billed
// once per event (a duplicate event id is one fee), and `on_termination_invoice=skip` issues no termination invoice.
import { startSystem, eventually, type System } from './harness';

jest.setTimeout(180_000);

describe('pay in advance end to end (Temporal dev server)', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('dev-server'); });
  afterAll(async () => { await sys?.stop(); });

  it('bills the fee at the start, one invoice per in-advance event (duplicate id → one fee), and skips the termination invoice', async () => {
    const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
    expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Transfers', code: 'transfers', aggregation_type: 'sum_agg', field_name: 'amount' } })).status).toBe(200);
    const plan = await r('POST', '/plans', { plan: {
      name: 'Advance', code: 'advance_e2e', interval: 'monthly', amount_cents: 3100, amount_currency: 'USD', pay_in_advance: true,
      charges: [{ billable_metric_code: 'transfers', charge_model: 'standard', pay_in_advance: true, invoiceable: true, properties: { amount: '0.5' } }],
    } });
    expect(plan.status).toBe(200);
    await r('POST', '/customers', { customer: { external_id: 'acme-adv', currency: 'USD', timezone: 'UTC' } });
    const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'acme-adv', plan_code: 'advance_e2e', external_id: 'acme-adv-1' } });
    expect(sub.status).toBe(200);

    // The start invoice: the fee of the first (calendar, so partial) period, prorated by days left / days in month.
    const subscriptionId = sub.body.subscription.lago_id;
    await eventually(async () => (await sys.database.db('invoices').where({ subscription_id: subscriptionId }).first('id')) ?? undefined, 60_000, 'the start invoice row');
    const start = await eventually(async () => {
      const list = await r('GET', '/invoices?external_customer_id=acme-adv');
      return list.body.invoices.find((i: any) => i.fees?.some((f: any) => f.item.type === 'subscription'));
    }, 60_000, 'the start invoice');
    expect(start.invoice_type).toBe('subscription');
    const fee = start.fees.find((f: any) => f.item.type === 'subscription');
    const startedAt = new Date(sub.body.subscription.started_at ?? sub.body.subscription.subscription_at);
    const daysInMonth = new Date(Date.UTC(startedAt.getUTCFullYear(), startedAt.getUTCMonth() + 1, 0)).getUTCDate();
    const daysLeft = daysInMonth - startedAt.getUTCDate() + 1;
    // 31.00 × daysLeft / daysInMonth, half-up to the cent (integer arithmetic: cents × 2 to round half up).
    expect(fee.amount_cents).toBe(Math.floor((3100 * daysLeft * 2 + daysInMonth) / (2 * daysInMonth)));

    const ts = Math.floor(Date.now() / 1000);
    const ev = (id: string, amount: number) => ({ event: { transaction_id: id, external_subscription_id: 'acme-adv-1', code: 'transfers', timestamp: ts, properties: { amount } } });
    expect((await r('POST', '/events', ev('adv-tr-1', 3))).status).toBe(200);
    const dup = await r('POST', '/events', ev('adv-tr-1', 3));
    expect(dup.status).toBe(200);
    expect(dup.body.event.duplicate).toBe(true);
    expect((await r('POST', '/events', ev('adv-tr-2', 4))).status).toBe(200);

    const perEvent = await eventually(async () => {
      const list = await r('GET', '/invoices?external_customer_id=acme-adv');
      const others = list.body.invoices.filter((i: any) => i.lago_id !== start.lago_id);
      return others.length >= 2 ? others : undefined;
    }, 60_000, 'two per-event invoices');
    expect(perEvent.map((i: any) => i.total_amount_cents).sort((a: number, b: number) => a - b)).toEqual([150, 200]);
    expect(perEvent.every((i: any) => i.invoice_type === 'subscription' && i.status === 'finalized')).toBe(true);
    const fees = await sys.database.db('pay_in_advance_fees').orderBy('transaction_id').select('transaction_id', 'amount_cents');
    expect(fees.map((f: any) => [f.transaction_id, Number(f.amount_cents)])).toEqual([['adv-tr-1', 150], ['adv-tr-2', 200]]);

    const terminated = await r('DELETE', '/subscriptions/acme-adv-1?on_termination_invoice=skip');
    expect(terminated.status).toBe(200);
    expect(terminated.body.subscription.status).toBe('terminated');
    const after = await r('GET', '/invoices?external_customer_id=acme-adv');
    expect(after.body.invoices).toHaveLength(3); // the start invoice and the two per-event invoices: no termination invoice
    expect((await r('DELETE', '/subscriptions/acme-adv-2?on_termination_invoice=maybe')).status).toBe(422);
  });
});
