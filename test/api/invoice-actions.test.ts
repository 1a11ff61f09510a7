// Invoice actions over the real HTTP API and Postgres when no invoice workflow runs (the workflow path is in
// test/workflows/invoice-collection.test.ts): Lago's 405 codes for illegal transitions.
import { createApiKey } from '../../db/repositories/organizations';
import { listPaymentEvents } from '../../db/repositories/payments';
import { finalizedInvoiceSetup } from '../support/payment-fixtures';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_act' });
});
afterAll(async () => {
  await h?.stop();
});

async function setup() {
  const s = await finalizedInvoiceSetup(h.database.db, { stripe: false });
  const key = await createApiKey(h.database.db, s.org.id);
  const call = (method: string, path: string, body?: unknown) =>
    h.raw(method, path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  return { s, call };
}

test('void a finalized unpaid invoice: status voided, number kept, a webhook-ready record; voiding again is 405 not_voidable', async () => {
  const { s, call } = await setup();
  const before = (await call('GET', `/invoices/${s.ref.invoiceId}`)).body.invoice;
  const res = await call('POST', `/invoices/${s.ref.invoiceId}/void`);
  expect(res.status).toBe(200);
  expect(res.body.invoice).toMatchObject({ lago_id: s.ref.invoiceId, status: 'voided', number: before.number });
  expect(before.number).toMatch(/\S/);
  expect((await listPaymentEvents(h.database.db, s.ref.organizationId, s.ref.invoiceId)).map((e) => e.eventType)).toEqual(['invoice.voided']);
  await expect(call('POST', `/invoices/${s.ref.invoiceId}/void`)).resolves.toMatchObject({ status: 405, body: { status: 405, code: 'not_voidable' } });
  // A voided invoice takes no payment.
  await expect(call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 1, reference: 'x' } })).resolves.toMatchObject({ status: 422 });
});

test('a paid invoice is not voidable (405 not_voidable) and retry_payment with no collection running is 405 payment_not_retryable', async () => {
  const { s, call } = await setup();
  await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 1999, reference: 'wire' } });
  await expect(call('POST', `/invoices/${s.ref.invoiceId}/void`)).resolves.toMatchObject({ status: 405, body: { code: 'not_voidable' } });
  await expect(call('POST', `/invoices/${s.ref.invoiceId}/retry_payment`)).resolves.toMatchObject({ status: 405, body: { code: 'payment_not_retryable' } });
});

test('refresh and finalize of a finalized invoice are 405 is_not_draft; an unknown invoice is 404', async () => {
  const { s, call } = await setup();
  await expect(call('PUT', `/invoices/${s.ref.invoiceId}/refresh`)).resolves.toMatchObject({ status: 405, body: { code: 'is_not_draft' } });
  await expect(call('PUT', `/invoices/${s.ref.invoiceId}/finalize`)).resolves.toMatchObject({ status: 405, body: { code: 'is_not_draft' } });
  await expect(call('POST', '/invoices/00000000-0000-4000-8000-000000000000/void')).resolves.toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
});

test('PUT /invoices/:id sets payment_status and metadata; an unknown payment_status is 422 naming the field', async () => {
  const { s, call } = await setup();
  const res = await call('PUT', `/invoices/${s.ref.invoiceId}`, { invoice: { payment_status: 'succeeded', metadata: [{ key: 'po', value: 'PO-42' }] } });
  expect(res.status).toBe(200);
  expect(res.body.invoice).toMatchObject({ payment_status: 'succeeded', metadata: [{ key: 'po', value: 'PO-42' }] });
  const bad = await call('PUT', `/invoices/${s.ref.invoiceId}`, { invoice: { payment_status: 'paid' } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details)).toContain('payment_status');
});
