// Lago's regroup_paid_fees end to end (real HTTP API, worker, Postgres, Temporal dev server; the periods are
// closed by a test clock): a pay-in-advance charge with invoiceable false and regroup_paid_fees "invoice" makes
// one fee per event and no invoice; the fees marked succeeded over PUT /fees/:lago_id are grouped at the period
// end into one `advance_charges` invoice, already paid; an unpaid fee is left out, and joins the next period's
// regrouping invoice once it is paid. Never on two invoices, never on the period invoice.
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { newTestClock, startSystem, eventually, advanceTestClock, type System } from './harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Rg transfers', code: 'rg_transfers', aggregation_type: 'count_agg' } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'rg-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

const charge = (extra: Record<string, unknown>) => ({ billable_metric_code: 'rg_transfers', charge_model: 'standard', properties: { amount: '2' }, ...extra });
const planBody = (code: string, charges: unknown[]) => ({ plan: { name: code, code, interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false, charges } });

it('regroup_paid_fees is accepted only on pay-in-advance, non-invoiceable charges, returned on the plan and changed through the nested charge route', async () => {
  const invoiceable = await r('POST', '/plans', planBody('rg-bad-1', [charge({ pay_in_advance: true, invoiceable: true, regroup_paid_fees: 'invoice' })]));
  expect(invoiceable.status).toBe(422);
  expect(invoiceable.body.error_details).toEqual({ 'charges[0].regroup_paid_fees': ['invalid_regroup_paid_fees'] });
  const arrears = await r('POST', '/plans', planBody('rg-bad-2', [charge({ pay_in_advance: false, regroup_paid_fees: 'invoice' })]));
  expect(arrears.status).toBe(422);
  expect(Object.keys(arrears.body.error_details)).toContain('charges[0].regroup_paid_fees');
  const unknown = await r('POST', '/plans', planBody('rg-bad-3', [charge({ pay_in_advance: true, invoiceable: false, regroup_paid_fees: 'wallet' })]));
  expect(unknown.status).toBe(422);
  expect(Object.keys(unknown.body.error_details)).toContain('charges[0].regroup_paid_fees');
  expect(await sys.database.db('plans').whereIn('code', ['rg-bad-1', 'rg-bad-2', 'rg-bad-3'])).toHaveLength(0);

  const ok = await r('POST', '/plans', planBody('rg-shape', [charge({ code: 'rg-shape-c', pay_in_advance: true, invoiceable: false, regroup_paid_fees: 'invoice' })]));
  expect(ok.status).toBe(200);
  expect(ok.body.plan.charges[0]).toMatchObject({ pay_in_advance: true, invoiceable: false, regroup_paid_fees: 'invoice' });
  expect((await r('GET', '/plans/rg-shape')).body.plan.charges[0].regroup_paid_fees).toBe('invoice');
  const cleared = await r('PUT', '/plans/rg-shape/charges/rg-shape-c', { charge: { regroup_paid_fees: null } });
  expect(cleared.status).toBe(200);
  expect(cleared.body.charge.regroup_paid_fees).toBeNull();
  // Making the charge invoiceable while it regroups is refused (nothing changed).
  const again = await r('PUT', '/plans/rg-shape/charges/rg-shape-c', { charge: { regroup_paid_fees: 'invoice' } });
  expect(again.body.charge.regroup_paid_fees).toBe('invoice');
  const conflict = await r('PUT', '/plans/rg-shape/charges/rg-shape-c', { charge: { invoiceable: true } });
  expect(conflict.status).toBe(422);
  expect((await r('GET', '/plans/rg-shape')).body.plan.charges[0]).toMatchObject({ invoiceable: false, regroup_paid_fees: 'invoice' });
  // A plain charge answers null.
  const plain = await r('POST', '/plans', planBody('rg-plain', [charge({})]));
  expect(plain.body.plan.charges[0].regroup_paid_fees).toBeNull();
});

it('paid fees of a regroup_paid_fees charge are invoiced once at the period end on one paid advance_charges invoice; an unpaid fee waits for a later one', async () => {
  expect((await r('POST', '/plans', planBody('rg-plan', [charge({ pay_in_advance: true, invoiceable: false, regroup_paid_fees: 'invoice' })]))).status).toBe(200);
  const clockId = await newTestClock(sys, 'rg', '2025-01-01T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'rg-cust', plan_code: 'rg-plan', external_id: 'rg-sub', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;

  // The run has started its pay-in-advance period (its rules are loaded after it): a usage signal that arrives
  // before that start is only billed at the period close (workflows/advance-billing.ts), too late to be paid first.
  await eventually(async () => ((await sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).query(stateQuery)).usageChecks !== null ? true : undefined), 60_000, 'the run started');
  const events = Array.from({ length: 3 }, (_, k) => ({ transaction_id: `rg-${k}`, external_subscription_id: 'rg-sub', code: 'rg_transfers' }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);
  const fees = await eventually(async () => {
    const rows = await sys.database.db('pay_in_advance_fees').where({ subscription_id: subscriptionId }).orderBy('transaction_id').select('id', 'transaction_id', 'amount_cents', 'invoice_id');
    return rows.length === 3 ? rows : undefined;
  }, 60_000, 'three instant fees');
  expect(fees.map((f) => [Number(f.amount_cents), f.invoice_id])).toEqual([[200, null], [200, null], [200, null]]);
  // Two of them paid (Lago: PUT /fees/:lago_id payment_status succeeded); the third stays pending.
  for (const f of fees.slice(0, 2)) {
    const put = await r('PUT', `/fees/${f.id}`, { fee: { payment_status: 'succeeded' } });
    expect(put.status).toBe(200);
    expect(put.body.fee.payment_status).toBe('succeeded');
  }

  await advance(clockId, '2025-02-02T00:00:00.000Z');
  const regrouped = await eventually(async () => {
    const rows = await advanceChargesInvoices(subscriptionId);
    return rows.length === 1 ? rows : undefined;
  }, 120_000, 'the regrouping invoice');
  const invoice = (await r('GET', `/invoices/${regrouped[0]!.id}`)).body.invoice;
  expect(invoice).toMatchObject({ invoice_type: 'advance_charges', status: 'finalized', payment_status: 'succeeded', fees_amount_cents: 400, total_amount_cents: 400 });
  expect(invoice.fees.map((f: any) => [f.item.code, f.amount_cents])).toEqual([['rg_transfers', 200], ['rg_transfers', 200]]);
  expect(regrouped[0]!.period_start.toISOString()).toBe('2025-01-01T00:00:00.000Z');
  const linked = await sys.database.db('pay_in_advance_fees').where({ subscription_id: subscriptionId }).orderBy('transaction_id').select('regrouped_invoice_id');
  expect(linked.map((f) => f.regrouped_invoice_id)).toEqual([regrouped[0]!.id, regrouped[0]!.id, null]);
  // The period invoice bills the subscription fee only: the in-advance charge is never on it.
  const january = await eventually(async () => {
    const rows = await sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'subscription' }).select('id', 'total_amount_cents');
    return rows.length === 1 ? rows[0] : undefined;
  }, 60_000, 'the January invoice');
  expect(Number(january.total_amount_cents)).toBe(1000);
  // A regrouped fee's payment status is its invoice's now.
  expect((await r('PUT', `/fees/${fees[0]!.id}`, { fee: { payment_status: 'failed' } })).status).toBe(405);

  // The third fee paid in February: it joins February's regrouping invoice, the January one is unchanged.
  expect((await r('PUT', `/fees/${fees[2]!.id}`, { fee: { payment_status: 'succeeded' } })).status).toBe(200);
  await advance(clockId, '2025-03-02T00:00:00.000Z');
  const both = await eventually(async () => {
    const rows = await advanceChargesInvoices(subscriptionId);
    return rows.length === 2 ? rows : undefined;
  }, 120_000, 'the February regrouping invoice');
  expect(both.map((i) => [i.period_start.toISOString(), Number(i.total_amount_cents), i.payment_status])).toEqual([
    ['2025-01-01T00:00:00.000Z', 400, 'succeeded'],
    ['2025-02-01T00:00:00.000Z', 200, 'succeeded'],
  ]);
  const [{ n }] = await sys.database.db('fees').whereIn('invoice_id', both.map((i) => i.id)).count({ n: '*' });
  expect(Number(n)).toBe(3);
});

const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);

async function advanceChargesInvoices(subscriptionId: string) {
  return sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'advance_charges' }).orderBy('period_start').select('id', 'period_start', 'total_amount_cents', 'payment_status');
}
