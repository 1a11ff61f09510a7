// Paid wallet credits and their top-up invoice on the real system (HTTP API, worker, Postgres, Temporal dev
// server). Lago: paid credits create an invoice of type `credit`; with invoice_requires_successful_payment they
// count once it is paid (granted credits at once); without it they count at once and the invoice is still issued.
// Asserted: the invoice (type credit, one credit fee, untaxed, finalized and numbered, never paid with the wallet's
// own credits); paying it with POST /payments settles the pending purchase and credits the balance exactly once —
// a replayed payment request, a PUT payment_status succeeded and a second settlement attempt add nothing; a
// replayed top-up request (same Idempotency-Key) issues no second invoice.
import { settleTopUpOfPaidInvoice } from '../../db/repositories/wallet-top-up-settlement';
import { startSystem, type System } from './harness';

jest.setTimeout(300_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/customers', { customer: { external_id: 'topup', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

async function raw(method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${sys.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${sys.apiKey}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

const db = () => sys.database.db;
const purchaseEntries = (txId: string) => db()('wallet_ledger_entries').where({ transaction_id: txId });

it('paid credits that require a payment: a credit invoice is issued, and paying it credits the wallet exactly once', async () => {
  const created = await r('POST', '/wallets', { wallet: { external_customer_id: 'topup', name: 'GPU', rate_amount: '1.5', currency: 'USD', paid_credits: '10', granted_credits: '5', invoice_requires_successful_payment: true } });
  expect(created.status).toBe(200);
  const walletId: string = created.body.wallet.lago_id;
  // Granted credits count at once; the 10 paid credits (15.00 USD) wait for their invoice's payment.
  expect(created.body.wallet.balance_cents).toBe(750);
  const txs = (await r('GET', `/wallets/${walletId}/wallet_transactions`)).body.wallet_transactions;
  const purchase = txs.find((t: any) => t.transaction_status === 'purchased');
  expect(purchase).toMatchObject({ status: 'pending', amount: '15', credit_amount: '10' });
  const txRow = await db()('wallet_transactions').where({ id: purchase.lago_id }).first();
  expect(txRow.invoice_id).toEqual(expect.any(String));

  const inv = (await r('GET', `/invoices/${txRow.invoice_id}`)).body.invoice;
  expect(inv).toMatchObject({ invoice_type: 'credit', status: 'finalized', currency: 'USD', fees_amount_cents: 1500, taxes_amount_cents: 0, total_amount_cents: 1500, prepaid_credit_amount_cents: 0, payment_status: 'pending' });
  expect(inv.number).toEqual(expect.any(String));
  expect(inv.fees).toHaveLength(1);
  expect(inv.fees[0]).toMatchObject({ amount_cents: 1500, units: '10', item: { type: 'credit', code: 'credit', item_type: 'WalletTransaction' } });
  // Nothing is in the ledger for the purchase yet.
  expect(await purchaseEntries(purchase.lago_id)).toHaveLength(0);

  // Paid by wire (Lago's manual payment): the purchase settles, 15.00 USD more on the wallet.
  const payment = { payment: { invoice_id: inv.lago_id, amount_cents: 1500, reference: 'wire-topup-1' } };
  const paid = await raw('POST', '/payments', payment, { 'idempotency-key': 'topup-pay-1' });
  expect(paid.status).toBe(200);
  expect((await r('GET', `/invoices/${inv.lago_id}`)).body.invoice.payment_status).toBe('succeeded');
  expect((await r('GET', `/wallets/${walletId}`)).body.wallet.balance_cents).toBe(2250);
  expect((await r('GET', `/wallet_transactions/${purchase.lago_id}`)).body.wallet_transaction).toMatchObject({ status: 'settled', settled_at: expect.any(String) });
  const entries = await purchaseEntries(purchase.lago_id);
  expect(entries.map((e: any) => [e.account, Number(e.amount_cents)]).sort()).toEqual([['purchases', -1500], ['wallet', 1500]]);

  // Exactly once: the same payment request replayed, the invoice marked succeeded again, a settlement retried.
  const replay = await raw('POST', '/payments', payment, { 'idempotency-key': 'topup-pay-1' });
  expect(replay.status).toBe(200);
  expect((await r('PUT', `/invoices/${inv.lago_id}`, { invoice: { payment_status: 'succeeded' } })).status).toBe(200);
  const { organization_id: organizationId } = await db()('invoices').where({ id: inv.lago_id }).first('organization_id');
  expect(await settleTopUpOfPaidInvoice(db(), organizationId, inv.lago_id, new Date())).toBe(false);
  expect((await r('GET', `/wallets/${walletId}`)).body.wallet.balance_cents).toBe(2250);
  expect(await purchaseEntries(purchase.lago_id)).toHaveLength(2);
  expect(await db()('payments').where({ invoice_id: inv.lago_id })).toHaveLength(1);
});

it('a replayed top-up request (same Idempotency-Key) issues one purchase and one invoice; a top-up that needs no payment counts at once', async () => {
  const w = await r('POST', '/wallets', { wallet: { external_customer_id: 'topup', name: 'Immediate', rate_amount: '1', currency: 'USD', priority: 2 } });
  const walletId: string = w.body.wallet.lago_id;
  const body = { wallet_transaction: { wallet_id: walletId, paid_credits: '20' } };
  const first = await raw('POST', '/wallet_transactions', body, { 'idempotency-key': 'topup-20' });
  const again = await raw('POST', '/wallet_transactions', body, { 'idempotency-key': 'topup-20' });
  expect([first.status, again.status]).toEqual([200, 200]);
  expect(again.body.wallet_transactions[0].lago_id).toBe(first.body.wallet_transactions[0].lago_id);
  // invoice_requires_successful_payment false: settled at once, and still invoiced (Lago).
  expect(first.body.wallet_transactions[0]).toMatchObject({ transaction_status: 'purchased', status: 'settled' });
  expect((await r('GET', `/wallets/${walletId}`)).body.wallet.balance_cents).toBe(2000);
  const invoices = await db()('invoices').where({ invoice_type: 'credit', source_key: `wallet_transaction:${first.body.wallet_transactions[0].lago_id}` });
  expect(invoices).toHaveLength(1);
  expect(Number(invoices[0].total_amount_cents)).toBe(2000);
  // Its payment does not credit the wallet a second time.
  expect((await r('POST', '/payments', { payment: { invoice_id: invoices[0].id, amount_cents: 2000, reference: 'wire-topup-2' } })).status).toBe(200);
  expect((await r('GET', `/wallets/${walletId}`)).body.wallet.balance_cents).toBe(2000);
  expect(await purchaseEntries(first.body.wallet_transactions[0].lago_id)).toHaveLength(2);
});

it("a top-up invoice is never paid with the customer's wallet credits (it buys them): due in full while the wallets hold 42.50 USD", async () => {
  // The 'Immediate' wallet holds 20.00 USD and 'GPU' 22.50 USD: a new paid top-up's invoice is still due in full.
  const w = (await r('GET', '/wallets?external_customer_id=topup')).body.wallets.find((x: any) => x.name === 'GPU');
  const res = await r('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: w.lago_id, paid_credits: '2', invoice_requires_successful_payment: true } });
  const txRow = await db()('wallet_transactions').where({ id: res.body.wallet_transactions[0].lago_id }).first();
  const inv = (await r('GET', `/invoices/${txRow.invoice_id}`)).body.invoice;
  expect([inv.total_amount_cents, inv.prepaid_credit_amount_cents, inv.total_due_amount_cents]).toEqual([300, 0, 300]);
});
