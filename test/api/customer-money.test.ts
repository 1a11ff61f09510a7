// Lago's customer-and-money operations (issue 13, ops13a) through the real HTTP API and Postgres: payments and their
// receipts, payment requests of overdue invoices, the customer's lists, wallets by code, DELETE /fees/:lago_id.
import { billedTransactionIds } from '../../db/repositories/pay-in-advance';
import { createApiKey } from '../../db/repositories/organizations';
import { finalizedInvoiceSetup } from '../support/payment-fixtures';
import { seedUninvoicedFee } from '../support/uninvoiced-fee';
import { seedSubscription, startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_cm' });
});
afterAll(async () => {
  await h?.stop();
});

/** A finalized 1999-cent invoice in an organization of its own, and a caller with that organization's key. */
async function setup() {
  const s = await finalizedInvoiceSetup(h.database.db, { stripe: false });
  const key = await createApiKey(h.database.db, s.org.id);
  const call = (method: string, path: string, body?: unknown) =>
    h.raw(method, path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const externalId: string = (await h.database.db('customers').where({ id: s.customer.id }).first('external_id')).external_id;
  return { s, call, externalId };
}

test('payments list newest first by customer and invoice, each with its receipt numbered in order; another organization sees none of them', async () => {
  const { s, call, externalId } = await setup();
  const first = (await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 999, reference: 'cm-wire-1' } })).body.payment;
  const second = (await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 1000, reference: 'cm-wire-2' } })).body.payment;
  const all = await call('GET', `/payments?external_customer_id=${externalId}`);
  expect(all.status).toBe(200);
  expect(all.body.payments.map((p: any) => [p.lago_id, p.amount_cents])).toEqual([[second.lago_id, 1000], [first.lago_id, 999]]);
  expect(all.body.meta).toMatchObject({ total_count: 2, current_page: 1 });
  expect((await call('GET', `/customers/${externalId}/payments?invoice_id=${s.ref.invoiceId}&per_page=1`)).body).toMatchObject({ payments: [{ lago_id: second.lago_id }], meta: { total_count: 2, total_pages: 2 } });
  expect((await call('GET', `/payments?invoice_id=00000000-0000-4000-8000-000000000000`)).body.payments).toEqual([]);
  expect((await call('GET', `/payments/${first.lago_id}`)).body.payment).toEqual(first);
  expect(await call('GET', `/customers/nobody_cm/payments`)).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });

  const receipts = (await call('GET', `/payment_receipts?invoice_id=${s.ref.invoiceId}`)).body.payment_receipts;
  expect(receipts.map((r: any) => [r.payment.lago_id, r.number])).toEqual([
    [second.lago_id, expect.stringMatching(/-RCPT-000002$/)],
    [first.lago_id, expect.stringMatching(/-RCPT-000001$/)],
  ]);
  expect((await call('GET', `/payment_receipts/${receipts[1].lago_id}`)).body.payment_receipt).toEqual(receipts[1]);

  // The API harness's own organization: another tenant.
  expect(await h.request('GET', `/payments/${first.lago_id}`)).toMatchObject({ status: 404, body: { code: 'payment_not_found' } });
  expect(await h.request('GET', `/payment_receipts/${receipts[0].lago_id}`)).toMatchObject({ status: 404, body: { code: 'payment_receipt_not_found' } });
  expect((await h.request('GET', '/payments')).body.payments.map((p: any) => p.lago_id)).not.toContain(first.lago_id);
});

test('a provider payment gets one receipt when it succeeds (pending → succeeded → a repeated succeeded write), none while pending or failed', async () => {
  const { s, call } = await setup();
  const db = h.database.db;
  const [pending] = await db('payments').insert({ organization_id: s.org.id, invoice_id: s.ref.invoiceId, payment_type: 'provider', attempt: 1, provider: 'stripe', amount_cents: 1999, currency: 'USD', status: 'pending' }).returning('id');
  const [failed] = await db('payments').insert({ organization_id: s.org.id, invoice_id: s.ref.invoiceId, payment_type: 'provider', attempt: 2, provider: 'stripe', amount_cents: 1999, currency: 'USD', status: 'failed' }).returning('id');
  expect((await call('GET', '/payment_receipts')).body.payment_receipts).toEqual([]);
  await db('payments').where({ id: pending.id }).update({ status: 'succeeded' });
  await db('payments').where({ id: pending.id }).update({ status: 'succeeded' });
  const receipts = (await call('GET', '/payment_receipts')).body.payment_receipts;
  expect(receipts.map((r: any) => r.payment.lago_id)).toEqual([pending.id]);
  expect(receipts[0].payment).toMatchObject({ type: 'provider', payment_status: 'succeeded' });
  expect(await db('payment_receipts').where({ payment_id: failed.id })).toHaveLength(0);
});

test('a payment request takes only overdue unpaid invoices, asks for their due amount once (a repeated POST answers the same request) and is succeeded once they are paid', async () => {
  const { s, call, externalId } = await setup();
  const body = { payment_request: { external_customer_id: externalId, email: 'billing@example.com', lago_invoice_ids: [s.ref.invoiceId] } };
  expect(await call('POST', '/payment_requests', body)).toMatchObject({ status: 422, body: { code: 'validation_errors', error_details: { lago_invoice_ids: ['invoices_not_overdue'] } } });
  expect(await h.database.db('payment_requests').where({ organization_id: s.org.id })).toHaveLength(0);
  await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 499, reference: 'cm-part' } });
  await h.database.db('invoices').where({ id: s.ref.invoiceId }).update({ payment_overdue: true });

  const created = await call('POST', '/payment_requests', body);
  expect(created.status).toBe(200);
  expect(created.body.payment_request).toMatchObject({ email: 'billing@example.com', amount_cents: 1500, amount_currency: 'USD', payment_status: 'pending', customer: { external_id: externalId } });
  expect(created.body.payment_request.invoices.map((i: any) => i.lago_id)).toEqual([s.ref.invoiceId]);
  const again = await call('POST', '/payment_requests', body);
  expect(again.body.payment_request.lago_id).toBe(created.body.payment_request.lago_id);
  expect(await h.database.db('payment_requests').where({ organization_id: s.org.id })).toHaveLength(1);

  expect((await call('GET', `/customers/${externalId}/payment_requests?payment_status=pending`)).body.payment_requests).toHaveLength(1);
  await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 1500, reference: 'cm-rest' } });
  expect((await call('GET', `/payment_requests/${created.body.payment_request.lago_id}`)).body.payment_request.payment_status).toBe('succeeded');
  expect((await call('GET', '/payment_requests?payment_status=pending')).body.payment_requests).toEqual([]);
  expect((await call('GET', `/payment_requests?payment_status=succeeded&external_customer_id=${externalId}`)).body.payment_requests).toHaveLength(1);

  expect(await call('POST', '/payment_requests', { payment_request: { ...body.payment_request, lago_invoice_ids: ['00000000-0000-4000-8000-000000000000'] } })).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  const bad = await call('POST', '/payment_requests', { payment_request: { ...body.payment_request, email: 'not-an-email', lago_invoice_ids: [] } });
  expect(bad).toMatchObject({ status: 422, body: { code: 'validation_errors' } });
  expect(Object.keys(bad.body.error_details).sort()).toEqual(['email', 'lago_invoice_ids']);
  expect(await h.request('GET', `/payment_requests/${created.body.payment_request.lago_id}`)).toMatchObject({ status: 404, body: { code: 'payment_request_not_found' } });
});

test("a customer's invoices answer GET /invoices' filters (payment status, amount, issuing date, search); an unknown customer is 404", async () => {
  const { s, call, externalId } = await setup();
  const inv = (await call('GET', `/invoices/${s.ref.invoiceId}`)).body.invoice;
  const ids = async (q: string) => (await call('GET', `/customers/${externalId}/invoices${q}`)).body.invoices.map((i: any) => i.lago_id);
  expect(await ids('')).toEqual([s.ref.invoiceId]);
  expect(await ids('?payment_status=pending&amount_from=1999&amount_to=1999')).toEqual([s.ref.invoiceId]);
  expect(await ids('?amount_from=2000')).toEqual([]);
  expect(await ids(`?issuing_date_from=${inv.issuing_date}&issuing_date_to=${inv.issuing_date}`)).toEqual([s.ref.invoiceId]);
  expect(await ids(`?search_term=${inv.number.slice(-6)}`)).toEqual([s.ref.invoiceId]);
  expect(await ids('?search_term=zzz-none')).toEqual([]);
  expect(await ids('?payment_overdue=true')).toEqual([]);
  expect(await call('GET', `/customers/${externalId}/invoices?issuing_date_from=yesterday`)).toMatchObject({ status: 422, body: { error_details: { issuing_date_from: expect.any(Array) } } });
  expect(await call('GET', '/customers/nobody_cm/invoices')).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });
  expect(await call('GET', '/customers/nobody_cm/credit_notes')).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });
  expect((await call('GET', `/customers/${externalId}/credit_notes`)).body).toMatchObject({ credit_notes: [], meta: { total_count: 0 } });
  expect((await call('GET', `/customers/${externalId}/applied_coupons?coupon_code[]=none`)).body).toMatchObject({ applied_coupons: [], meta: { total_count: 0 } });
});

test("a customer's wallet by its code: created, read, updated and terminated through the customer's path; a duplicate active code is 422, an unknown one 404", async () => {
  const seeded = await seedSubscription(h, { suffix: 'cmw' });
  const path = `/customers/${seeded.customerId}/wallets`;
  const created = await h.request('POST', path, { wallet: { code: 'main', name: 'Main', rate_amount: '1', currency: 'USD', granted_credits: '10' } });
  expect(created.status).toBe(200);
  expect(created.body.wallet).toMatchObject({ code: 'main', external_customer_id: seeded.customerId, status: 'active', balance_cents: 1000 });
  expect(await h.request('POST', path, { wallet: { code: 'main', rate_amount: '1', currency: 'USD' } })).toMatchObject({ status: 422, body: { error_details: { code: ['value_already_exist'] } } });
  expect((await h.request('GET', path)).body.wallets.map((w: any) => w.code)).toEqual(['main']);
  expect((await h.request('GET', `${path}/main`)).body.wallet.lago_id).toBe(created.body.wallet.lago_id);
  expect((await h.request('PUT', `${path}/main`, { wallet: { name: 'Renamed', priority: 3 } })).body.wallet).toMatchObject({ name: 'Renamed', priority: 3 });
  expect((await h.request('DELETE', `${path}/main`)).body.wallet).toMatchObject({ lago_id: created.body.wallet.lago_id, status: 'terminated' });
  expect((await h.request('GET', `${path}/main`)).body.wallet).toMatchObject({ lago_id: created.body.wallet.lago_id, status: 'terminated' });
  expect(await h.request('GET', `${path}/nope`)).toMatchObject({ status: 404, body: { code: 'wallet_not_found' } });
  expect(await h.request('GET', '/customers/nobody_cm/wallets')).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });
});

test('DELETE /fees/:lago_id soft-deletes a fee on no invoice (gone from reads, its event still billed once); an invoiced fee is 405 invoiced_fee', async () => {
  const seeded = await seedSubscription(h, { suffix: 'cmf' });
  const fee = await seedUninvoicedFee(h.database.db, { organizationId: h.org.id, subscriptionId: seeded.lagoSubscriptionId, transactionId: 'cm-fee-tx', amount: '2', amountCents: 200 });
  const deleted = await h.request('DELETE', `/fees/${fee}`);
  expect(deleted).toMatchObject({ status: 200, body: { fee: { lago_id: fee, amount_cents: 200 } } });
  expect(await h.request('GET', `/fees/${fee}`)).toMatchObject({ status: 404, body: { code: 'fee_not_found' } });
  expect((await h.request('GET', '/fees?event_transaction_id=cm-fee-tx')).body.fees).toEqual([]);
  expect(await h.request('PUT', `/fees/${fee}`, { fee: { payment_status: 'succeeded' } })).toMatchObject({ status: 404 });
  expect(await h.request('DELETE', `/fees/${fee}`)).toMatchObject({ status: 404, body: { code: 'fee_not_found' } });
  const row = await h.database.db('pay_in_advance_fees').where({ id: fee }).first();
  expect(row.deleted_at).not.toBeNull();
  expect(await billedTransactionIds(h.database.db, h.org.id, row.charge_id, ['cm-fee-tx'])).toEqual(new Set(['cm-fee-tx']));

  const { s, call } = await setup();
  const invoiced: { id: string } = await h.database.db('fees').where({ invoice_id: s.ref.invoiceId }).first('id');
  expect(await call('DELETE', `/fees/${invoiced.id}`)).toMatchObject({ status: 405, body: { code: 'invoiced_fee' } });
  expect(await h.request('DELETE', `/fees/${invoiced.id}`)).toMatchObject({ status: 404 }); // another organization's
});

test('a wallet transaction payment link exists only for a pending purchase (granted credits: 405) and needs a payment provider (422); an unknown transaction is 404', async () => {
  const seeded = await seedSubscription(h, { suffix: 'cmp' });
  const wallet = (await h.request('POST', `/customers/${seeded.customerId}/wallets`, { wallet: { code: 'pay', rate_amount: '1', currency: 'USD' } })).body.wallet;
  const txs = (await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: wallet.lago_id, granted_credits: '1', paid_credits: '2', invoice_requires_successful_payment: true } })).body.wallet_transactions;
  const granted = txs.find((t: any) => t.transaction_status === 'granted');
  const purchased = txs.find((t: any) => t.transaction_status === 'purchased');
  expect(purchased.status).toBe('pending');
  expect(await h.request('POST', `/wallet_transactions/${granted.lago_id}/payment_url`)).toMatchObject({ status: 405, body: { code: 'wallet_transaction_not_payable' } });
  expect(await h.request('POST', `/wallet_transactions/${purchased.lago_id}/payment_url`)).toMatchObject({ status: 422, body: { code: 'payment_provider_not_configured' } });
  expect(await h.request('POST', '/wallet_transactions/00000000-0000-4000-8000-000000000000/payment_url')).toMatchObject({ status: 404, body: { code: 'wallet_transaction_not_found' } });
});
