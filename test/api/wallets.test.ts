// /wallets and /wallet_transactions in Lago's shapes on a real API over a real Postgres: create with paid and
// granted credits, rate_amount, priority, applies_to and a recurring rule; get, list by customer, update,
// terminate; top-ups, voids and their list; bad input answered in Lago's error shape with nothing written.
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_wallets' });
  await h.request('POST', '/customers', { customer: { external_id: 'acme', name: 'Acme', currency: 'USD' } });
  await h.request('POST', '/customers', { customer: { external_id: 'nocur', name: 'No currency' } });
});
afterAll(async () => {
  await h?.stop();
});

async function rowCounts() {
  const n = async (table: string) => Number((await h.database.db(table).where({ organization_id: h.org.id }).count<{ n: string }[]>('* as n'))[0]!.n);
  return { wallets: await n('wallets'), transactions: await n('wallet_transactions'), entries: await n('wallet_ledger_entries') };
}

describe('/wallets', () => {
  let walletId: string;

  test('create: 10 paid + 5 granted credits at rate 1.5 USD → balance 2250 cents, credits 15; Lago WalletObject', async () => {
    const res = await h.request('POST', '/wallets', {
      wallet: {
        external_customer_id: 'acme', name: 'GPU credits', code: 'gpu', rate_amount: '1.5', currency: 'USD', paid_credits: '10', granted_credits: '5',
        priority: 10, invoice_requires_successful_payment: false, applies_to: { fee_types: ['charge'], billable_metric_codes: [] },
        recurring_transaction_rules: [{ trigger: 'threshold', method: 'target', threshold_credits: '2', target_ongoing_balance: '20' }],
      },
    });
    expect(res.status).toBe(200);
    walletId = res.body.wallet.lago_id;
    expect(res.body.wallet).toMatchObject({
      external_customer_id: 'acme', status: 'active', currency: 'USD', rate_amount: '1.5', priority: 10, name: 'GPU credits', code: 'gpu',
      balance_cents: 2250, credits_balance: '15', consumed_credits: '0', applies_to: { fee_types: ['charge'], billable_metric_codes: [] },
      recurring_transaction_rules: [expect.objectContaining({ trigger: 'threshold', method: 'target', threshold_credits: '2', target_ongoing_balance: '20', status: 'active' })],
    });
    const txs = await h.request('GET', `/wallets/${walletId}/wallet_transactions`);
    expect(txs.body.wallet_transactions.map((t: any) => [t.transaction_status, t.status, t.amount, t.credit_amount]).sort()).toEqual([
      ['granted', 'settled', '7.5', '5'],
      ['purchased', 'settled', '15', '10'],
    ]);
    expect(txs.body.meta.total_count).toBe(2);
  });

  test('get confirms the ongoing balance from Postgres (no usage: equal to the balance); list by external_customer_id', async () => {
    const got = await h.request('GET', `/wallets/${walletId}`);
    expect(got.body.wallet).toMatchObject({ balance_cents: 2250, ongoing_balance_cents: 2250, ongoing_usage_balance_cents: 0, ongoing_balance_confirmed_at: expect.any(String) });
    const list = await h.request('GET', '/wallets?external_customer_id=acme');
    expect(list.body.wallets.map((w: any) => w.lago_id)).toEqual([walletId]);
    expect((await h.request('GET', '/wallets?external_customer_id=nobody')).body.wallets).toEqual([]);
  });

  test('top-ups: paid with invoice_requires_successful_payment stays pending (balance unchanged); granted counts at once; void takes credits back', async () => {
    const res = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, paid_credits: '4', granted_credits: '2', invoice_requires_successful_payment: true } });
    expect(res.status).toBe(200);
    expect(res.body.wallet_transactions.map((t: any) => [t.transaction_status, t.status])).toEqual([['purchased', 'pending'], ['granted', 'settled']]);
    expect((await h.request('GET', `/wallets/${walletId}`)).body.wallet.balance_cents).toBe(2250 + 300);
    const v = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, voided_credits: '1' } });
    expect(v.body.wallet_transactions).toEqual([expect.objectContaining({ transaction_type: 'outbound', transaction_status: 'voided', amount: '1.5', credit_amount: '1' })]);
    expect((await h.request('GET', `/wallets/${walletId}`)).body.wallet.balance_cents).toBe(2550 - 150);
    const one = await h.request('GET', `/wallet_transactions/${v.body.wallet_transactions[0].lago_id}`);
    expect(one.body.wallet_transaction.lago_id).toBe(v.body.wallet_transactions[0].lago_id);
    const pending = await h.request('GET', `/wallets/${walletId}/wallet_transactions?status=pending`);
    expect(pending.body.wallet_transactions).toHaveLength(1);
  });

  test('bad input: negative or malformed credits, void above the balance → 422 naming the field, nothing written', async () => {
    const before = await rowCounts();
    const neg = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, paid_credits: '-5', granted_credits: '1' } });
    expect(neg.status).toBe(422);
    expect(neg.body).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { paid_credits: ['invalid_paid_credits'] } });
    const bad = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, granted_credits: '1e3' } });
    expect(bad.body.error_details).toEqual({ granted_credits: ['invalid_granted_credits'] });
    const tooMuch = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, granted_credits: '1', voided_credits: '1000' } });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error_details).toEqual({ voided_credits: ['insufficient_credits'] });
    const unknown = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: '00000000-0000-0000-0000-000000000000', granted_credits: '1' } });
    expect(unknown.body.error_details).toEqual({ wallet_id: ['wallet_not_found'] });
    const negWallet = await h.request('POST', '/wallets', { wallet: { external_customer_id: 'acme', rate_amount: '0', currency: 'USD', granted_credits: '-1' } });
    expect(negWallet.status).toBe(422);
    expect(negWallet.body.error_details).toEqual({ rate_amount: ['invalid_rate_amount'], granted_credits: ['invalid_granted_credits'] });
    expect(await rowCounts()).toEqual(before);
  });

  test('a wallet in another currency than the customer is 422 currencies_does_not_match; an unknown customer is 404; nothing written', async () => {
    const before = await rowCounts();
    const eur = await h.request('POST', '/wallets', { wallet: { external_customer_id: 'acme', rate_amount: '1', currency: 'EUR', paid_credits: '10' } });
    expect(eur.status).toBe(422);
    expect(eur.body.error_details).toEqual({ currency: ['currencies_does_not_match'] });
    const nobody = await h.request('POST', '/wallets', { wallet: { external_customer_id: 'nobody', rate_amount: '1', currency: 'USD' } });
    expect(nobody.status).toBe(404);
    expect(nobody.body.code).toBe('customer_not_found');
    expect(await rowCounts()).toEqual(before);
  });

  test('a customer without a currency takes the wallet\'s', async () => {
    const res = await h.request('POST', '/wallets', { wallet: { external_customer_id: 'nocur', rate_amount: '1', currency: 'EUR', granted_credits: '3' } });
    expect(res.status).toBe(200);
    expect((await h.request('GET', '/customers/nocur')).body.customer.currency).toBe('EUR');
  });

  test('update (priority, applies_to, rule); terminate voids the remaining credits; a top-up of a terminated wallet is 422 wallet_is_terminated with nothing written', async () => {
    const up = await h.request('PUT', `/wallets/${walletId}`, { wallet: { priority: 3, name: 'Renamed', applies_to: { billable_metric_codes: ['gpu_seconds'] }, recurring_transaction_rules: [{ trigger: 'interval', interval: 'monthly', method: 'fixed', granted_credits: '10' }] } });
    expect(up.status).toBe(200);
    expect(up.body.wallet).toMatchObject({ priority: 3, name: 'Renamed', applies_to: { fee_types: [], billable_metric_codes: ['gpu_seconds'] } });
    expect(up.body.wallet.recurring_transaction_rules).toEqual([expect.objectContaining({ trigger: 'interval', interval: 'monthly', granted_credits: '10' })]);
    const del = await h.request('DELETE', `/wallets/${walletId}`);
    expect(del.body.wallet).toMatchObject({ status: 'terminated', balance_cents: 0, terminated_at: expect.any(String) });
    const before = await rowCounts();
    const late = await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, granted_credits: '1' } });
    expect(late.status).toBe(422);
    expect(late.body.error_details).toEqual({ wallet_id: ['wallet_is_terminated'] });
    expect(await rowCounts()).toEqual(before);
    expect((await h.request('DELETE', `/wallets/${walletId}`)).status).toBe(200); // terminating twice changes nothing
    expect(await rowCounts()).toEqual(before);
  });

  test('unknown wallet ids are 404 wallet_not_found', async () => {
    for (const [m, p] of [['GET', '/wallets/nope'], ['PUT', '/wallets/00000000-0000-0000-0000-000000000000'], ['DELETE', '/wallets/nope'], ['GET', '/wallets/nope/wallet_transactions'], ['GET', '/wallet_transactions/nope']] as const) {
      const res = await h.request(m, p, m === 'PUT' ? { wallet: { name: 'x' } } : undefined);
      expect([res.status, res.body.code]).toEqual([404, p.startsWith('/wallet_transactions') ? 'wallet_transaction_not_found' : 'wallet_not_found']);
    }
  });
});
