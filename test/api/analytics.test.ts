// GET /analytics/* over known invoices written straight into Postgres (amounts chosen so every rule shows):
// finalized invoices count, drafts and voided ones never; per currency and month; the filters of Lago's OpenAPI.
// Months are relative to the current UTC month (M0), since `months` counts back from today.
import crypto from 'node:crypto';
import { startApiHarness, type ApiHarness } from './harness';
import { createCustomer, createPlan, createSubscription } from '../support/fixtures';

let h: ApiHarness;
const now = new Date();
/** First day of the month `offset` months from the current one, UTC: `2026-11-01`. */
function monthDay(offset: number, day = 1): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, day)).toISOString().slice(0, 10);
}
const month = (offset: number) => `${monthDay(offset)}T00:00:00.000Z`;
const ids: Record<string, string> = {};
let seq = 0;
const A = `ana_a_${crypto.randomBytes(3).toString('hex')}`;
const B = `ana_b_${crypto.randomBytes(3).toString('hex')}`;

interface FeeSpec { feeType: string; amountCents: number; metricCode?: string; adjustsFeeType?: string; from?: string; to?: string }

async function invoice(
  name: string,
  spec: {
    customerId: string; subscriptionId: string; currency: string; issuingDate: string; totalAmountCents: number; fees: FeeSpec[];
    status?: string; invoiceType?: string; paymentStatus?: string; paidCents?: number; dueDate?: string; overdue?: boolean; voided?: boolean;
    periodStart?: string; periodEnd?: string;
  },
): Promise<void> {
  const id = crypto.randomUUID();
  // Distinct periods (one invoice per subscription, period and kind).
  seq += 1;
  const periodStart = spec.periodStart ?? `${spec.issuingDate}T00:${String(seq).padStart(2, '0')}:00Z`;
  const periodEnd = spec.periodEnd ?? `${spec.issuingDate}T00:${String(seq).padStart(2, '0')}:01Z`;
  await h.database.db('invoices').insert({
    id,
    organization_id: h.org.id,
    customer_id: spec.customerId,
    subscription_id: spec.subscriptionId,
    invoice_type: spec.invoiceType ?? 'subscription',
    status: spec.status ?? 'finalized',
    payment_status: spec.paymentStatus ?? 'pending',
    number: spec.status === 'draft' ? null : `ANA-${name}-${id.slice(0, 6)}`,
    period_start: periodStart,
    period_end: periodEnd,
    issuing_date: spec.issuingDate,
    currency: spec.currency,
    fees_amount_cents: spec.totalAmountCents,
    total_amount_cents: spec.totalAmountCents,
    finalized_at: spec.status === 'draft' ? null : `${spec.issuingDate}T00:00:00Z`,
    payment_due_date: spec.dueDate ?? null,
    payment_overdue: spec.overdue ?? false,
    total_paid_amount_cents: spec.paidCents ?? 0,
    voided_at: spec.voided ? new Date() : null,
  });
  await h.database.db('fees').insert(
    spec.fees.map((f, i) => ({
      organization_id: h.org.id,
      invoice_id: id,
      position: i,
      fee_type: f.feeType,
      metric_code: f.metricCode ?? null,
      adjusts_fee_type: f.adjustsFeeType ?? null,
      display_name: f.feeType,
      units: '1',
      unit_amount: String(f.amountCents),
      precise_amount: String(f.amountCents),
      amount_cents: f.amountCents,
      currency: spec.currency,
      from_datetime: f.from ?? periodStart,
      to_datetime: f.to ?? periodEnd,
    })),
  );
  ids[name] = id;
}

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'analytics' });
  const db = h.database.db;
  const org = h.org.id;
  const a = await createCustomer(db, org, { externalId: A, currency: 'USD' });
  const b = await createCustomer(db, org, { externalId: B, currency: 'EUR' });
  const monthly = await createPlan(db, org, { interval: 'monthly', amountCents: 10_000 });
  const yearly = await createPlan(db, org, { interval: 'yearly', amountCents: 10_000, currency: 'EUR' });
  const weekly = await createPlan(db, org, { interval: 'weekly', amountCents: 50 });
  const subA = await createSubscription(db, org, a.id, monthly.id);
  const subB = await createSubscription(db, org, b.id, yearly.id);
  const subW = await createSubscription(db, org, a.id, weekly.id);
  // M-2, USD, paid: subscription 100.00 + usage 20.00.
  await invoice('m2', { customerId: a.id, subscriptionId: subA.id, currency: 'USD', issuingDate: monthDay(-2, 5), totalAmountCents: 12_000, paymentStatus: 'succeeded', paidCents: 12_000,
    fees: [{ feeType: 'subscription', amountCents: 10_000 }, { feeType: 'charge', amountCents: 2_000, metricCode: 'tokens' }] });
  // M-1, USD, 0.50 paid, due on the 10th of M-1 (past): 50.00 overdue. Usage 20.50 + a late-event adjustment of 1.00.
  await invoice('m1', { customerId: a.id, subscriptionId: subA.id, currency: 'USD', issuingDate: monthDay(-1, 3), totalAmountCents: 5_150, paidCents: 50, dueDate: monthDay(-1, 10),
    fees: [{ feeType: 'subscription', amountCents: 3_000 }, { feeType: 'charge', amountCents: 2_050, metricCode: 'tokens' }, { feeType: 'adjustment', adjustsFeeType: 'charge', amountCents: 100, metricCode: 'tokens' }] });
  // M-1, EUR, a yearly fee of 100.00 covering 12 months from M-1: MRR 8.33 in M-1 and in M0 (833, 833, 834, ...);
  // due in the future: not overdue.
  const dueLater = new Date(now.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
  await invoice('yearly', { customerId: b.id, subscriptionId: subB.id, currency: 'EUR', issuingDate: monthDay(-1, 1), totalAmountCents: 10_000, dueDate: dueLater,
    fees: [{ feeType: 'subscription', amountCents: 10_000, from: `${monthDay(-1)}T00:00:00Z`, to: `${monthDay(11)}T00:00:00Z` }] });
  // Never counted: a voided and a draft invoice.
  await invoice('voided', { customerId: a.id, subscriptionId: subA.id, currency: 'USD', issuingDate: monthDay(0, 1), totalAmountCents: 99_999, voided: true, dueDate: monthDay(-1, 1),
    fees: [{ feeType: 'subscription', amountCents: 99_999 }, { feeType: 'charge', amountCents: 1, metricCode: 'tokens' }] });
  await invoice('draft', { customerId: a.id, subscriptionId: subA.id, currency: 'USD', issuingDate: monthDay(0, 1), totalAmountCents: 77_777, status: 'draft', overdue: true, dueDate: monthDay(-1, 1),
    fees: [{ feeType: 'subscription', amountCents: 77_777 }] });
  // M0, USD: a progressive-billing invoice (10.00 of usage: revenue, but its usage is billed again by the period's final invoice).
  await invoice('progressive', { customerId: a.id, subscriptionId: subA.id, currency: 'USD', issuingDate: monthDay(0, 1), totalAmountCents: 1_000, invoiceType: 'progressive_billing', paymentStatus: 'succeeded', paidCents: 1_000,
    fees: [{ feeType: 'charge', amountCents: 1_000, metricCode: 'tokens' }] });
  // M0, USD, weekly plan: fees 0.40 and 0.60, mean 0.50 × 4.33 = 2.165 → 2.17 (half-up).
  await invoice('w1', { customerId: a.id, subscriptionId: subW.id, currency: 'USD', issuingDate: monthDay(0, 1), totalAmountCents: 40, paymentStatus: 'succeeded', paidCents: 40, fees: [{ feeType: 'subscription', amountCents: 40 }] });
  await invoice('w2', { customerId: a.id, subscriptionId: subW.id, currency: 'USD', issuingDate: monthDay(0, 1), totalAmountCents: 60, paymentStatus: 'succeeded', paidCents: 60, fees: [{ feeType: 'subscription', amountCents: 60 }] });
});

afterAll(async () => {
  await h?.stop();
});

async function get(path: string) {
  const res = await h.request('GET', path);
  expect(res.status).toBe(200);
  return res.body;
}

test('gross revenue: finalized, unvoided invoice totals per currency and issuing month, with their count', async () => {
  expect((await get('/analytics/gross_revenue')).gross_revenues).toEqual([
    { month: month(-2), amount_cents: 12_000, currency: 'USD', invoices_count: 1 },
    { month: month(-1), amount_cents: 10_000, currency: 'EUR', invoices_count: 1 },
    { month: month(-1), amount_cents: 5_150, currency: 'USD', invoices_count: 1 },
    { month: month(0), amount_cents: 1_100, currency: 'USD', invoices_count: 3 },
  ]);
});

test('gross revenue filters: currency, external_customer_id and months (the last N months up to this one)', async () => {
  expect((await get('/analytics/gross_revenue?currency=EUR')).gross_revenues).toEqual([{ month: month(-1), amount_cents: 10_000, currency: 'EUR', invoices_count: 1 }]);
  expect((await get(`/analytics/gross_revenue?external_customer_id=${B}`)).gross_revenues.map((r: any) => r.currency)).toEqual(['EUR']);
  expect((await get('/analytics/gross_revenue?months=2')).gross_revenues.map((r: any) => r.month)).toEqual([month(-1), month(-1), month(0)]);
  expect((await get('/analytics/gross_revenue?months=1&currency=USD')).gross_revenues).toEqual([{ month: month(0), amount_cents: 1_100, currency: 'USD', invoices_count: 3 }]);
  expect((await get('/analytics/gross_revenue?external_customer_id=nobody')).gross_revenues).toEqual([]);
});

test('invoiced usage: charge fees and their adjustments per metric code, progressive-billing invoices left out', async () => {
  expect((await get('/analytics/invoiced_usage')).invoiced_usages).toEqual([
    { month: month(-2), code: 'tokens', amount_cents: 2_000, currency: 'USD' },
    { month: month(-1), code: 'tokens', amount_cents: 2_150, currency: 'USD' },
  ]);
  expect((await get('/analytics/invoiced_usage?currency=EUR')).invoiced_usages).toEqual([]);
  expect((await get('/analytics/invoiced_usage?months=2')).invoiced_usages).toEqual([{ month: month(-1), code: 'tokens', amount_cents: 2_150, currency: 'USD' }]);
});

test('MRR: monthly fees in their issuing month, a yearly fee spread in twelfths (833 + 833 so far), weekly fees as mean × 4.33 half-up', async () => {
  expect((await get('/analytics/mrr')).mrrs).toEqual([
    { month: month(-2), amount_cents: 10_000, currency: 'USD' },
    { month: month(-1), amount_cents: 833, currency: 'EUR' },
    { month: month(-1), amount_cents: 3_000, currency: 'USD' },
    { month: month(0), amount_cents: 833, currency: 'EUR' },
    { month: month(0), amount_cents: 217, currency: 'USD' },
  ]);
  expect((await get('/analytics/mrr?currency=USD&months=1')).mrrs).toEqual([{ month: month(0), amount_cents: 217, currency: 'USD' }]);
});

test("the cumulative-floor split MRR applies to yearly fees: twelve integer parts, at most 1 apart, summing exactly to the fee", async () => {
  // The split itself, over all twelve months: the same SQL rule the MRR query applies, checked for several amounts.
  for (const amount of [10_000, 1, 11, 99_999_999, 7]) {
    const { rows } = await h.database.db.raw(`SELECT ((?::bigint * (k + 1)) / 12 - (?::bigint * k) / 12)::bigint AS part FROM generate_series(0, 11) k`, [amount, amount]);
    const parts = rows.map((r: any) => Number(r.part));
    expect(parts.reduce((s: number, p: number) => s + p, 0)).toBe(amount);
    expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
  }
});

test('overdue balance: what is still due on finalized, unpaid invoices past their due date, by due month, with their ids', async () => {
  expect((await get('/analytics/overdue_balance')).overdue_balances).toEqual([{ month: month(-1), amount_cents: 5_100, currency: 'USD', lago_invoice_ids: [ids.m1] }]);
  expect((await get(`/analytics/overdue_balance?external_customer_id=${B}`)).overdue_balances).toEqual([]);
  expect((await get('/analytics/overdue_balance?currency=EUR')).overdue_balances).toEqual([]);
  // Flagged overdue by the payment workflow: counted although its due date (today) is not yet past. Today, not the
  // invoice's later due date: that can fall in next month, which `months` (up to this month) leaves out.
  const yearlyDue = (await h.database.db('invoices').where({ id: ids.yearly }).first('payment_due_date')).payment_due_date;
  await h.database.db('invoices').where({ id: ids.yearly }).update({ payment_overdue: true, payment_due_date: monthDay(0, now.getUTCDate()) });
  try {
    const eur = (await get('/analytics/overdue_balance?currency=EUR')).overdue_balances;
    expect(eur).toEqual([{ month: month(0), amount_cents: 10_000, currency: 'EUR', lago_invoice_ids: [ids.yearly] }]);
  } finally {
    await h.database.db('invoices').where({ id: ids.yearly }).update({ payment_overdue: false, payment_due_date: yearlyDue });
  }
});

test('bad filters are 422 with the offending field', async () => {
  const res = await h.request('GET', '/analytics/mrr?months=0&currency=usd');
  expect(res.status).toBe(422);
  expect(Object.keys(res.body.error_details).sort()).toEqual(['currency', 'months']);
  expect((await h.request('GET', '/analytics/gross_revenue', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
});
