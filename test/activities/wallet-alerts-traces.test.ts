// Wallet alerts trigger where the balance changes (postEntries → evaluateWalletBalanceAlerts), once per crossing,
// with an alert.triggered webhook in the outbox; outbound movements are paired FIFO with the inbound credits they
// spent (wallet_transaction_consumptions). Real Postgres, the real ledger.
import type { Knex } from 'knex';
import { createWalletAlerts, listWalletAlertTriggers } from '../../db/repositories/wallet-alerts';
import { consumptionsOfInbound, fundingsOfOutbound } from '../../db/repositories/wallet-traces';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import { insertWallet, lockWallet, postMovement, type WalletRecord } from '../../db/repositories/wallets';
import { createCustomer, createOrganization } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('wallet_alerts_traces');
});
afterAll(async () => {
  await t.drop();
});

async function withLocked<T>(organizationId: string, walletId: string, fn: (trx: Knex.Transaction, w: WalletRecord) => Promise<T>): Promise<T> {
  return t.db.transaction(async (trx) => fn(trx, (await lockWallet(trx, organizationId, walletId))!));
}

const move = (type: 'inbound' | 'outbound', cents: number, key: string) => ({
  transactionType: type, transactionStatus: type === 'inbound' ? ('granted' as const) : ('invoiced' as const), status: 'settled' as const, source: 'manual' as const,
  amountCents: cents, creditAmount: String(cents / 100), counterAccount: type === 'inbound' ? ('grants' as const) : ('consumption' as const), businessKey: key,
});

test('a wallet balance alert fires once when consumption crosses its threshold, and outbound movements are paired FIFO with inbound credits', async () => {
  const org = await createOrganization(t.db, { slug: 'wat' });
  const customer = await createCustomer(t.db, org.id, { externalId: 'c_wat' });
  await createWebhookEndpoint(t.db, org.id, { webhookUrl: 'https://hooks.example.test/w', name: null, signatureAlgo: 'hmac', eventTypes: null });
  const walletId = await t.db.transaction((trx) => insertWallet(trx, org.id, {
    customerId: customer.id, name: null, code: 'w_wat', currency: 'USD', rateAmount: '1', priority: 50, expirationAt: null, invoiceRequiresSuccessfulPayment: false, feeTypes: null, billableMetricCodes: null,
  }));
  const now = new Date('2026-12-01T10:00:00Z');
  const first = await withLocked(org.id, walletId, (trx, w) => postMovement(trx, w, move('inbound', 1000, 'in1'), now));
  const second = await withLocked(org.id, walletId, (trx, w) => postMovement(trx, w, move('inbound', 1000, 'in2'), new Date('2026-12-01T11:00:00Z')));
  await withLocked(org.id, walletId, (trx, w) => createWalletAlerts(trx, w, [{ alertType: 'wallet_balance_amount', code: 'low', name: null, thresholds: [{ code: 'warn', value: '500', recurring: false }] }]));

  // 2000 → 1200: above 500, nothing. 1200 → 400: crosses 500 once. 400 → 300: already below, nothing.
  const out1 = await withLocked(org.id, walletId, (trx, w) => postMovement(trx, w, move('outbound', 800, 'out1'), now));
  expect(await listWalletAlertTriggers(t.db, org.id, walletId)).toEqual([]);
  await withLocked(org.id, walletId, (trx, w) => postMovement(trx, w, move('outbound', 800, 'out2'), now));
  await withLocked(org.id, walletId, (trx, w) => postMovement(trx, w, move('outbound', 100, 'out3'), now));
  const triggers = await listWalletAlertTriggers(t.db, org.id, walletId);
  expect(triggers.map((x) => [x.alertCode, x.thresholdValue, x.previousValue, x.crossedValue])).toEqual([['low', '500', '1200', '400']]);
  const hooks = await t.db('webhooks').where({ organization_id: org.id, webhook_type: 'alert.triggered' }).select('payload');
  expect(hooks).toHaveLength(1);
  const payload = typeof hooks[0].payload === 'string' ? JSON.parse(hooks[0].payload) : hooks[0].payload;
  expect(payload.triggered_alert).toMatchObject({ wallet_code: 'w_wat', alert_code: 'low', current_value: '400', crossed_thresholds: [{ code: 'warn', value: '500', recurring: false }] });

  // FIFO: out1 (800) from in1; out2 (800) = 200 from in1 + 600 from in2.
  const fundings = await fundingsOfOutbound(t.db, org.id, out1.transaction.id, { page: 1, perPage: 20 });
  expect(fundings.pairs.map((p) => [p.transactionId, p.amountCents])).toEqual([[first.transaction.id, 800]]);
  const c1 = await consumptionsOfInbound(t.db, org.id, first.transaction.id, { page: 1, perPage: 20 });
  expect(c1.pairs.map((p) => p.amountCents).sort((a, b) => a - b)).toEqual([200, 800]);
  const c2 = await consumptionsOfInbound(t.db, org.id, second.transaction.id, { page: 1, perPage: 20 });
  expect(c2.pairs.map((p) => p.amountCents).sort((a, b) => a - b)).toEqual([100, 600]);
});
