// DELETE /invoices/:lago_id (Lago 1.51 deleteInvoice, Invoices::DeleteService) over the real HTTP API and Postgres, with
// the real activities the invoice workflow runs (the workflow side is test/workflows/invoice.test.ts and
// test/e2e/invoice-delete.test.ts): a draft becomes a tombstone that every read leaves out and every billing path
// respects; anything else is 405 not_deletable; and a delete racing the finalization has exactly one winner.
import { createActivities } from '../../activities';
import { deleteDraftInvoice } from '../../db/repositories/invoice-deletion';
import { lockInvoice, finalizeLockedInvoice } from '../../db/repositories/invoices';
import { createApiKey } from '../../db/repositories/organizations';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import { advanceFeeCovering } from '../../db/repositories/pay-in-advance';
import { createBillingSetup } from '../support/fixtures';
import { NOV } from '../support/payment-fixtures';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_del' });
});
afterAll(async () => {
  await h?.stop();
});

const DEC = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };

/** An organization with a 19.99 USD monthly plan, its subscription, an API key, and the real invoice activities. */
async function setup() {
  const s = await createBillingSetup(h.database.db, { planAmountCents: 1999, metrics: [], charges: () => [], customer: { invoiceGracePeriod: 3 } });
  const key = await createApiKey(h.database.db, s.org.id);
  const call = (method: string, path: string, body?: unknown) =>
    h.raw(method, path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const billing = createActivities({ db: h.database.db });
  const close = (period: typeof NOV) => billing.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period, fullPeriod: period });
  const invoiceRows = () => h.database.db('invoices').where({ organization_id: s.org.id }).orderBy('period_start').select('id', 'status', 'number', 'period_start', 'deleted_at');
  return { s, call, billing, close, invoiceRows, ref: (invoiceId: string) => ({ organizationId: s.org.id, invoiceId }) };
}

test('deleting a draft answers it once with status deleted; then GET, lists, the customer list, fees and a second DELETE are all 404 or empty', async () => {
  const { s, call, close } = await setup();
  await createWebhookEndpoint(h.database.db, s.org.id, { webhookUrl: 'http://127.0.0.1:9/hook' });
  const draft = await close(NOV);
  expect(draft.status).toBe('draft');
  const feeId = (await call('GET', `/invoices/${draft.invoiceId}`)).body.invoice.fees[0].lago_id;
  expect((await call('GET', `/fees/${feeId}`)).status).toBe(200);

  const res = await call('DELETE', `/invoices/${draft.invoiceId}`);
  expect(res.status).toBe(200);
  expect(res.body.invoice).toMatchObject({ lago_id: draft.invoiceId, status: 'deleted', number: expect.stringMatching(/^DRAFT-/), total_amount_cents: 1999 }); // as a draft shows it; the row has none

  expect(await call('GET', `/invoices/${draft.invoiceId}`)).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  expect((await call('GET', '/invoices')).body).toMatchObject({ invoices: [], meta: { total_count: 0 } });
  expect((await call('GET', `/customers/${s.customer.externalId}/invoices`)).body.invoices).toEqual([]);
  expect((await call('GET', '/fees')).body.fees).toEqual([]);
  expect((await call('GET', `/fees/${feeId}`)).status).toBe(404);
  expect((await call('GET', '/invoices?status=deleted')).status).toBe(422); // not a status a list can ask for
  expect(await call('DELETE', `/invoices/${draft.invoiceId}`)).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  expect(await call('PUT', `/invoices/${draft.invoiceId}/finalize`)).toMatchObject({ status: 404 });
  expect(await call('POST', `/invoices/${draft.invoiceId}/download`)).toMatchObject({ status: 404 });
  expect(await call('POST', `/invoices/${draft.invoiceId}/payment_url`)).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  expect(await call('POST', '/payments', { payment: { invoice_id: draft.invoiceId, amount_cents: 1, reference: 'wire' } })).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  expect(await call('POST', '/credit_notes', { credit_note: { invoice_id: draft.invoiceId, reason: 'other', credit_amount_cents: 1, items: [{ fee_id: feeId, amount_cents: 1 }] } })).toMatchObject({ status: 404 });

  // Lago's invoice.deleted webhook, once, rendered from the tombstone (status deleted).
  const hooks = await h.database.db('webhooks').where({ organization_id: s.org.id, webhook_type: 'invoice.deleted' }).select('object_id');
  expect(hooks).toEqual([{ object_id: draft.invoiceId }]);
  // and Lago's invoice.deleted activity log (its activity_loggable), in the same transaction.
  expect(await h.database.db('activity_logs').where({ organization_id: s.org.id, activity_type: 'invoice.deleted' }).pluck('resource_id')).toEqual([draft.invoiceId]);
  const { renderWebhookObject } = await import('../../api/serializers/webhook-objects');
  expect(await renderWebhookObject(h.database.db, s.org.id, 'invoice', draft.invoiceId, 'invoice.deleted')).toMatchObject({ lago_id: draft.invoiceId, status: 'deleted' });
});

test('the tombstone holds: a re-run close, a refresh and the grace-period end neither re-create, rate nor number the period; the next period takes number 1', async () => {
  const { s, call, billing, close, invoiceRows, ref } = await setup();
  const draft = await close(NOV);
  expect((await call('DELETE', `/invoices/${draft.invoiceId}`)).status).toBe(200);
  const deletedAt = (await invoiceRows())[0]!.deleted_at;
  expect(deletedAt).toBeInstanceOf(Date);

  // The close re-run (a retried activity, the sweeper's heal): the same row, still deleted, nothing new.
  expect(await close(NOV)).toMatchObject({ invoiceId: draft.invoiceId, status: 'deleted', created: false });
  // A late event's refresh and the grace-period end (what the invoice workflow runs).
  expect(await billing.refreshDraftInvoice(ref(draft.invoiceId))).toMatchObject({ status: 'deleted' });
  expect(await billing.finalizeInvoice(ref(draft.invoiceId))).toMatchObject({ status: 'deleted' });
  expect(await invoiceRows()).toEqual([{ id: draft.invoiceId, status: 'deleted', number: null, period_start: new Date(NOV.start), deleted_at: deletedAt }]);
  expect(await h.database.db('invoice_sequences').where({ organization_id: s.org.id }).first()).toBeUndefined(); // no number taken

  // The next period bills normally, and its number is the organization's first: no gap.
  const next = await close(DEC);
  expect(next.invoiceId).not.toBe(draft.invoiceId);
  const finalized = await billing.finalizeInvoice(ref(next.invoiceId));
  expect(finalized).toMatchObject({ status: 'finalized', totalAmountCents: 1999 });
  const got = (await call('GET', `/invoices/${next.invoiceId}`)).body.invoice;
  expect(got.number).toMatch(/-000001$/);
  expect((await call('GET', '/invoices')).body.invoices.map((i: any) => i.lago_id)).toEqual([next.invoiceId]);
});

test('what a draft holds is released: the coupon it showed goes to the next invoice, the wallet ongoing balance no longer counts it', async () => {
  const { s, call, billing, close, ref } = await setup();
  expect((await call('POST', '/coupons', { coupon: { name: 'Once', code: 'once', coupon_type: 'fixed_amount', amount_cents: 500, amount_currency: 'USD', frequency: 'once', expiration: 'no_expiration' } })).status).toBe(200);
  expect((await call('POST', '/applied_coupons', { applied_coupon: { external_customer_id: s.customer.externalId, coupon_code: 'once' } })).status).toBe(200);
  const wallet = await call('POST', '/wallets', { wallet: { external_customer_id: s.customer.externalId, rate_amount: '1', currency: 'USD', granted_credits: '50' } });
  expect(wallet.status).toBe(200);
  const walletId = wallet.body.wallet.lago_id;

  const draft = await close(NOV);
  const shown = (await call('GET', `/invoices/${draft.invoiceId}`)).body.invoice;
  expect(shown).toMatchObject({ coupons_amount_cents: 500, total_amount_cents: 1499 });
  expect((await call('GET', `/wallets/${walletId}`)).body.wallet).toMatchObject({ balance_cents: 5000, ongoing_balance_cents: 5000 - 1499 });

  expect((await call('DELETE', `/invoices/${draft.invoiceId}`)).status).toBe(200);
  expect((await call('GET', `/wallets/${walletId}`)).body.wallet).toMatchObject({ balance_cents: 5000, ongoing_balance_cents: 5000 });
  expect(await h.database.db('applied_coupons').where({ organization_id: s.org.id }).first('status')).toEqual({ status: 'active' });

  // The next invoice gets the once coupon, then the wallet pays the rest.
  const next = await close(DEC);
  await billing.finalizeInvoice(ref(next.invoiceId));
  const inv = (await call('GET', `/invoices/${next.invoiceId}`)).body.invoice;
  expect(inv).toMatchObject({ status: 'finalized', coupons_amount_cents: 500, prepaid_credit_amount_cents: 1499, total_amount_cents: 0 });
  expect((await call('GET', `/wallets/${walletId}`)).body.wallet).toMatchObject({ balance_cents: 5000 - 1499 });
});

test('the advance subscription fee a deleted draft carried is never credited back (nothing was billed): the unused-fee lookup skips it, as a voided one', async () => {
  const s = await createBillingSetup(h.database.db, { planAmountCents: 3100, payInAdvance: true, metrics: [], charges: () => [], customer: { invoiceGracePeriod: 3 } });
  const billing = createActivities({ db: h.database.db });
  const draft = await billing.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  const midDecember = '2026-12-16T00:00:00.000Z';
  expect(await advanceFeeCovering(h.database.db, s.org.id, s.sub.id, midDecember)).toMatchObject({ invoiceId: draft.invoiceId, amountCents: 3100 });
  expect(await h.database.db.transaction((trx) => deleteDraftInvoice(trx, s.org.id, draft.invoiceId, new Date()))).toBe('deleted');
  expect(await advanceFeeCovering(h.database.db, s.org.id, s.sub.id, midDecember)).toBeNull();
});

test('a finalized invoice is 405 not_deletable and stays finalized; an unknown or malformed id is 404 invoice_not_found', async () => {
  const { call, billing, close, ref, invoiceRows } = await setup();
  const inv = await close(NOV);
  await billing.finalizeInvoice(ref(inv.invoiceId));
  const res = await call('DELETE', `/invoices/${inv.invoiceId}`);
  expect(res).toMatchObject({ status: 405, body: { status: 405, error: 'Method Not Allowed', code: 'not_deletable' } });
  expect((await invoiceRows()).map((r) => r.status)).toEqual(['finalized']);
  expect((await h.database.db('webhooks').where({ webhook_type: 'invoice.deleted', object_id: inv.invoiceId })).length).toBe(0);
  expect(await call('DELETE', '/invoices/00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  expect(await call('DELETE', '/invoices/not-a-uuid')).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
});

describe('a delete racing the finalization has exactly one winner (row lock + status = draft)', () => {
  test('finalization holding the row: the DELETE waits, then answers 405 and the invoice is finalized with its number', async () => {
    const { s, call, close, invoiceRows } = await setup();
    const draft = await close(NOV);
    let deleted: ReturnType<typeof call> | undefined;
    await h.database.db.transaction(async (trx) => {
      const locked = (await lockInvoice(trx, s.org.id, draft.invoiceId))!;
      deleted = call('DELETE', `/invoices/${draft.invoiceId}`);
      await new Promise((r) => setTimeout(r, 300)); // the DELETE is now waiting on the row lock
      await finalizeLockedInvoice(trx, locked);
    });
    expect(await deleted!).toMatchObject({ status: 405, body: { code: 'not_deletable' } });
    const [row] = await invoiceRows();
    expect(row).toMatchObject({ status: 'finalized', number: expect.stringMatching(/-000001$/), deleted_at: null });
  });

  test('the delete holding the row: the finalization waits, then finds the tombstone and numbers nothing', async () => {
    const { s, billing, close, invoiceRows, ref } = await setup();
    const draft = await close(NOV);
    let finalized: ReturnType<typeof billing.finalizeInvoice> | undefined;
    await h.database.db.transaction(async (trx) => {
      expect(await deleteDraftInvoice(trx, s.org.id, draft.invoiceId, new Date())).toBe('deleted');
      finalized = billing.finalizeInvoice(ref(draft.invoiceId));
      await new Promise((r) => setTimeout(r, 300)); // the finalization is now waiting on the row lock
    });
    expect(await finalized!).toMatchObject({ status: 'deleted' });
    expect(await invoiceRows()).toMatchObject([{ status: 'deleted', number: null }]);
  });

  test('20 real races of DELETE and finalizeInvoice: each ends either deleted (200, no number) or finalized (405, numbered), numbers without gaps', async () => {
    const { s, call, billing, close, ref } = await setup();
    const outcomes: string[] = [];
    for (let m = 0; m < 20; m++) {
      const period = { start: new Date(Date.UTC(2024, m, 1)).toISOString(), end: new Date(Date.UTC(2024, m + 1, 1)).toISOString() };
      const draft = await close(period);
      // Odd rounds give the HTTP request a few ms of head start, so both orders happen.
      const finalize = async () => { if (m % 2 === 1) await new Promise((r) => setTimeout(r, m % 4 === 1 ? 2 : 6)); return billing.finalizeInvoice(ref(draft.invoiceId)); };
      const [del, fin] = await Promise.all([call('DELETE', `/invoices/${draft.invoiceId}`), finalize()]);
      const row = await h.database.db('invoices').where({ id: draft.invoiceId }).first('status', 'number');
      if (del.status === 200) {
        expect(fin.status).toBe('deleted');
        expect(row).toEqual({ status: 'deleted', number: null });
      } else {
        expect(del).toMatchObject({ status: 405, body: { code: 'not_deletable' } });
        expect(fin.status).toBe('finalized');
        expect(row.status).toBe('finalized');
      }
      outcomes.push(row.status);
    }
    if (process.env.DEL13_RACE_LOG) console.log('race outcomes', outcomes.join(' '));
    const numbers = (await h.database.db('invoices').where({ organization_id: s.org.id }).whereNotNull('number').orderBy('number').pluck('number')).map((n: string) => Number(n.slice(-6)));
    expect(numbers).toEqual(Array.from({ length: outcomes.filter((o) => o === 'finalized').length }, (_, i) => i + 1));
  });
});
