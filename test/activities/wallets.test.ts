// Wallets against a real Postgres: the double-entry ledger (a property test over random operation sequences),
// the commit-time checks of the migration, prepaid credits applied at finalization (idempotent on retries), and
// concurrent finalizations of one customer's invoices that can never overspend its wallet.
import crypto from 'node:crypto';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { createActivities } from '../../activities';
import { latestIntervalBoundary } from '../../activities/wallets';
import { getInvoice } from '../../db/repositories/invoices';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import { expireWalletIfDue, terminateWallet, topUpWallet } from '../../db/repositories/wallet-topups';
import { getWallet, insertWallet, ledgerEntriesOfWallet, lockWallet, postMovement, settlePendingTransaction, transactionsOfWallet, type WalletRecord } from '../../db/repositories/wallets';
import { refreshOngoingBalances } from '../../usage/wallet-ongoing-balance';
import { createBillingSetup, createCustomer, createOrganization, createSubscription, ingestEvents, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_wallets');
});
afterAll(async () => {
  await t.drop();
});

async function newWallet(db: Knex, organizationId: string, customerId: string, extra: Partial<Parameters<typeof insertWallet>[2]> = {}): Promise<string> {
  return db.transaction((trx) =>
    insertWallet(trx, organizationId, {
      customerId, name: null, code: null, currency: 'USD', rateAmount: '1', priority: 50, expirationAt: null,
      invoiceRequiresSuccessfulPayment: false, feeTypes: null, billableMetricCodes: null, ...extra,
    }),
  );
}

async function withLocked<T>(organizationId: string, walletId: string, fn: (trx: Knex.Transaction, w: WalletRecord) => Promise<T>): Promise<T> {
  return t.db.transaction(async (trx) => fn(trx, (await lockWallet(trx, organizationId, walletId))!));
}

const topUp = (credits: Partial<{ paid: string; granted: string; voided: string }>, key: string, requiresPayment?: boolean) => ({
  paidCredits: credits.paid ?? '0', grantedCredits: credits.granted ?? '0', voidedCredits: credits.voided ?? '0', name: null, metadata: [], source: 'manual' as const,
  businessKey: key, ...(requiresPayment !== undefined ? { invoiceRequiresSuccessfulPayment: requiresPayment } : {}),
});

/** The wallet's balance replayed from its entries, and every transaction's entries summing to zero. */
async function replay(organizationId: string, walletId: string): Promise<{ balance: number; unbalanced: string[]; entries: number }> {
  const entries = await ledgerEntriesOfWallet(t.db, organizationId, walletId);
  const byTx = new Map<string, number>();
  for (const e of entries) byTx.set(e.transactionId, (byTx.get(e.transactionId) ?? 0) + e.amountCents);
  return {
    balance: entries.filter((e) => e.account === 'wallet').reduce((a, e) => a + e.amountCents, 0),
    unbalanced: [...byTx].filter(([, s]) => s !== 0).map(([id]) => id),
    entries: entries.length,
  };
}

type Op =
  | { kind: 'grant' | 'purchase' | 'purchase_pending' | 'void' | 'consume'; cents: number }
  | { kind: 'settle_pending' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('grant', 'purchase', 'purchase_pending', 'void', 'consume') as fc.Arbitrary<'grant'>, cents: fc.integer({ min: 0, max: 5000 }) }),
  fc.constant({ kind: 'settle_pending' as const }),
);

describe('the credit ledger', () => {
  it('property (seeded): over random operation sequences the balance never goes below zero, never changes without entries, and equals the replay of its entries', async () => {
    const org = await createOrganization(t.db);
    const customer = await createCustomer(t.db, org.id);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const walletId = await newWallet(t.db, org.id, customer.id);
        for (const op of ops) {
          const before = (await getWallet(t.db, org.id, walletId))!.balanceCents;
          const entriesBefore = (await replay(org.id, walletId)).entries;
          const key = crypto.randomUUID();
          const credits = op.kind === 'settle_pending' ? '0' : `${Math.floor(op.cents / 100)}.${String(op.cents % 100).padStart(2, '0')}`; // cents → credits at rate 1
          let rejected = false;
          try {
            await withLocked(org.id, walletId, async (trx, w) => {
              if (op.kind === 'grant') await topUpWallet(trx, w, topUp({ granted: credits }, key), new Date());
              else if (op.kind === 'purchase') await topUpWallet(trx, w, topUp({ paid: credits }, key, false), new Date());
              else if (op.kind === 'purchase_pending') await topUpWallet(trx, w, topUp({ paid: credits }, key, true), new Date());
              else if (op.kind === 'void') await topUpWallet(trx, w, topUp({ voided: credits }, key), new Date());
              else if (op.kind === 'consume') {
                await postMovement(trx, w, { transactionType: 'outbound', transactionStatus: 'invoiced', status: 'settled', source: 'manual', amountCents: op.cents, creditAmount: credits, counterAccount: 'consumption', businessKey: key }, new Date());
              } else {
                const pending = (await transactionsOfWallet(trx, org.id, walletId)).find((x) => x.status === 'pending');
                if (pending) await settlePendingTransaction(trx, w, pending.id, new Date());
              }
            });
          } catch (err) {
            rejected = true;
            expect(String((err as Error).message)).toMatch(/cannot take|Cannot void|below zero/);
          }
          const after = (await getWallet(t.db, org.id, walletId))!.balanceCents;
          const r = await replay(org.id, walletId);
          expect(after).toBeGreaterThanOrEqual(0);
          expect(r.balance).toBe(after);
          expect(r.unbalanced).toEqual([]);
          if (after !== before) expect(r.entries).toBeGreaterThan(entriesBefore);
          if (rejected) {
            expect(after).toBe(before);
            expect(r.entries).toBe(entriesBefore);
            expect(op.kind === 'void' || op.kind === 'consume').toBe(true);
            expect(op.kind !== 'settle_pending' && op.cents > before).toBe(true);
          }
          if (op.kind === 'purchase_pending') expect(after).toBe(before);
        }
      }),
      { seed: 20261201, numRuns: 15 },
    );
  });

  it('Postgres refuses at commit a balance changed without ledger entries, an unbalanced movement, and any edit of an entry', async () => {
    const org = await createOrganization(t.db);
    const customer = await createCustomer(t.db, org.id);
    const walletId = await newWallet(t.db, org.id, customer.id);
    await withLocked(org.id, walletId, (trx, w) => topUpWallet(trx, w, topUp({ granted: '10' }, 'g1'), new Date()));
    await expect(t.db.transaction((trx) => trx('wallets').where({ id: walletId }).update({ balance_cents: 5000 }))).rejects.toThrow(/changed without ledger entries/);
    const tx = (await transactionsOfWallet(t.db, org.id, walletId))[0]!;
    await expect(
      t.db.transaction(async (trx) => {
        await trx('wallet_ledger_entries').insert({ organization_id: org.id, wallet_id: walletId, transaction_id: tx.id, account: 'grants', amount_cents: 1 });
      }),
    ).rejects.toThrow(/sum to 1, not 0/);
    await expect(t.db('wallet_ledger_entries').where({ wallet_id: walletId }).update({ amount_cents: 0 })).rejects.toThrow(/append-only/);
    expect((await getWallet(t.db, org.id, walletId))!.balanceCents).toBe(1000);
  });

  it('a top-up is idempotent on its business key; expiry and termination post the remaining credits to expiry / voids', async () => {
    const org = await createOrganization(t.db);
    const customer = await createCustomer(t.db, org.id);
    const walletId = await newWallet(t.db, org.id, customer.id, { expirationAt: '2026-06-01T00:00:00.000Z' });
    for (let i = 0; i < 2; i += 1) await withLocked(org.id, walletId, (trx, w) => topUpWallet(trx, w, topUp({ granted: '12.34' }, 'same-key'), new Date('2026-05-01T00:00:00Z')));
    expect((await getWallet(t.db, org.id, walletId))!.balanceCents).toBe(1234);
    expect(await withLocked(org.id, walletId, (trx, w) => expireWalletIfDue(trx, w, new Date('2026-05-31T23:59:59Z')))).toBe(false);
    expect(await withLocked(org.id, walletId, (trx, w) => expireWalletIfDue(trx, w, new Date('2026-06-01T00:00:00Z')))).toBe(true);
    const expired = (await getWallet(t.db, org.id, walletId))!;
    expect(expired).toMatchObject({ status: 'terminated', balanceCents: 0 });
    const entries = await ledgerEntriesOfWallet(t.db, org.id, walletId);
    expect(entries.filter((e) => e.account === 'expiry')).toEqual([expect.objectContaining({ amountCents: 1234 })]);

    const other = await newWallet(t.db, org.id, customer.id);
    await withLocked(org.id, other, (trx, w) => topUpWallet(trx, w, topUp({ paid: '5' }, 'p'), new Date()));
    await withLocked(org.id, other, (trx, w) => terminateWallet(trx, w, new Date()));
    expect((await ledgerEntriesOfWallet(t.db, org.id, other)).filter((e) => e.account === 'voids')).toEqual([expect.objectContaining({ amountCents: 500 })]);
    await expect(withLocked(org.id, other, (trx, w) => topUpWallet(trx, w, topUp({ granted: '1' }, 'late'), new Date()))).rejects.toThrow(/terminated/);
  });
});

/** Plan: 20.00 USD + 0.01 USD per GPU second. */
async function gpuSetup() {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    metrics: [{ code: 'gpu_seconds', aggregationType: 'sum_agg', fieldName: 'seconds' }],
    charges: ([gpu]) => [{ metricId: gpu!.id, properties: { amount: '0.01' } }],
  });
  const activities = createActivities({ db: t.db });
  return { ...s, activities };
}

describe('prepaid credits at finalization', () => {
  it('the wallet pays the invoice after taxes: prepaid_credit_amount_cents is set, total_amount_cents reduced, once even when finalize is retried', async () => {
    const s = await gpuSetup();
    await insertEvents(t.db, s.ref, [{ code: 'gpu_seconds', timestamp: '2026-11-05T00:00:00Z', properties: { seconds: 500 } }]);
    const walletId = await newWallet(t.db, s.org.id, s.customer.id);
    await withLocked(s.org.id, walletId, (trx, w) => topUpWallet(trx, w, topUp({ granted: '15' }, 'g'), new Date()));
    const draft = await s.activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
    expect(draft.totalAmountCents).toBe(2500);
    const ref = { organizationId: s.org.id, invoiceId: draft.invoiceId };
    const first = await s.activities.finalizeInvoice(ref);
    const again = await s.activities.finalizeInvoice(ref);
    expect(first.totalAmountCents).toBe(1000);
    expect(again.totalAmountCents).toBe(1000);
    const inv = (await getInvoice(t.db, s.org.id, draft.invoiceId))!;
    expect(inv).toMatchObject({ status: 'finalized', prepaidCreditAmountCents: 1500, totalAmountCents: 1000, feesAmountCents: 2500 });
    const w = (await getWallet(t.db, s.org.id, walletId))!;
    expect(w).toMatchObject({ balanceCents: 0, consumedCents: 1500 });
    expect((await transactionsOfWallet(t.db, s.org.id, walletId)).filter((x) => x.transactionStatus === 'invoiced')).toEqual([expect.objectContaining({ amountCents: 1500, invoiceId: draft.invoiceId })]);
  });

  it('applies_to: a wallet limited to the gpu_seconds metric pays only that fee', async () => {
    const s = await gpuSetup();
    await insertEvents(t.db, s.ref, [{ code: 'gpu_seconds', timestamp: '2026-11-05T00:00:00Z', properties: { seconds: 300 } }]);
    const walletId = await newWallet(t.db, s.org.id, s.customer.id, { billableMetricCodes: ['gpu_seconds'] });
    await withLocked(s.org.id, walletId, (trx, w) => topUpWallet(trx, w, topUp({ granted: '100' }, 'g'), new Date()));
    const draft = await s.activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
    const fin = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: draft.invoiceId });
    expect(fin.totalAmountCents).toBe(2000); // the subscription fee stays due; the 300-cent GPU fee is paid
    expect((await getWallet(t.db, s.org.id, walletId))!.balanceCents).toBe(10000 - 300);
  });

  it('concurrent finalizations of one customer\'s invoices never overspend its wallet (row lock; each invoice consumes once)', async () => {
    const s = await gpuSetup();
    const subs = [s.sub];
    for (let i = 0; i < 3; i += 1) subs.push(await createSubscription(t.db, s.org.id, s.customer.id, s.plan.id));
    const walletId = await newWallet(t.db, s.org.id, s.customer.id);
    await withLocked(s.org.id, walletId, (trx, w) => topUpWallet(trx, w, topUp({ granted: '50' }, 'g'), new Date())); // 5000 cents for 4 × 2000
    const drafts = [];
    for (const sub of subs) drafts.push(await s.activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV }));
    const results = await Promise.all([...drafts, ...drafts].map((d) => s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: d.invoiceId })));
    const invoices = await Promise.all(drafts.map((d) => getInvoice(t.db, s.org.id, d.invoiceId)));
    const prepaid = invoices.map((i) => i!.prepaidCreditAmountCents);
    expect(prepaid.reduce((a, b) => a + b, 0)).toBe(5000);
    expect([...prepaid].sort((a, b) => a - b)).toEqual([0, 1000, 2000, 2000]);
    expect(invoices.every((i) => i!.totalAmountCents + i!.prepaidCreditAmountCents === 2000)).toBe(true);
    expect(results.every((r) => r.status === 'finalized')).toBe(true);
    const w = (await getWallet(t.db, s.org.id, walletId))!;
    expect(w.balanceCents).toBe(0);
    expect((await replay(s.org.id, walletId)).balance).toBe(0);
    expect((await transactionsOfWallet(t.db, s.org.id, walletId)).filter((x) => x.transactionStatus === 'invoiced')).toHaveLength(3);
  });
});

describe('ongoing balance', () => {
  it('balance minus the open period usage; reaching zero records one depletion and enqueues one wallet.depleted_ongoing_balance webhook; a threshold rule tops up', async () => {
    const s = await gpuSetup();
    await createWebhookEndpoint(t.db, s.org.id, { webhookUrl: 'https://hooks.example.test/w', name: null, signatureAlgo: 'hmac', eventTypes: null });
    const now = new Date();
    const ts = new Date(now.getTime() - 60_000).toISOString();
    // The subscription started long ago: its open period contains `now`.
    const walletId = await newWallet(t.db, s.org.id, s.customer.id);
    await withLocked(s.org.id, walletId, (trx, w) => topUpWallet(trx, w, topUp({ granted: '10' }, 'g'), now));
    const customer = { id: s.customer.id, externalId: s.customer.externalId, currency: 'USD' };
    await ingestEvents(t.db, s.ref, [{ code: 'gpu_seconds', timestamp: ts, properties: { seconds: 400 } }]);
    let r = await refreshOngoingBalances(t.db, s.org.id, customer, now);
    expect(r.wallets[0]).toMatchObject({ balanceCents: 1000, ongoingUsageBalanceCents: 400, ongoingBalanceCents: 600 });
    expect(r.depletions).toEqual([]);
    await ingestEvents(t.db, s.ref, [{ code: 'gpu_seconds', timestamp: ts, properties: { seconds: 700 } }]);
    r = await refreshOngoingBalances(t.db, s.org.id, customer, now);
    expect(r.wallets[0]).toMatchObject({ ongoingUsageBalanceCents: 1100, ongoingBalanceCents: -100 });
    expect(r.depletions).toEqual([{ walletId, sequence: 1 }]);
    r = await refreshOngoingBalances(t.db, s.org.id, customer, now); // still depleted: not again
    expect(r.depletions).toEqual([]);
    const hooks = await t.db('webhooks').where({ organization_id: s.org.id, webhook_type: 'wallet.depleted_ongoing_balance' });
    expect(hooks).toHaveLength(1);
    expect(JSON.parse(hooks[0].payload).wallet).toMatchObject({ lago_id: walletId, ongoing_balance_cents: -100, balance_cents: 1000 });

    // A threshold rule (at or below 2 credits → target 20 credits, granted) fires once from the ongoing balance.
    await t.db('wallet_recurring_transaction_rules').insert({ organization_id: s.org.id, wallet_id: walletId, trigger: 'threshold', method: 'target', threshold_credits: '2', target_ongoing_balance: '20', grants_target_top_up: true });
    r = await refreshOngoingBalances(t.db, s.org.id, customer, now);
    expect(r.topUps).toBe(1);
    expect(r.wallets[0]).toMatchObject({ balanceCents: 1000 + 2100, ongoingBalanceCents: 2000 });
    r = await refreshOngoingBalances(t.db, s.org.id, customer, now);
    expect(r.topUps).toBe(0);
  });
});

describe('Schedule-friendly wallet activities', () => {
  it('latestIntervalBoundary: monthly from Jan 31 → Feb 28, Mar 31; none before the first boundary', () => {
    expect(latestIntervalBoundary('2026-01-31T10:00:00.000Z', 'monthly', new Date('2026-01-31T12:00:00Z'))).toBeNull();
    expect(latestIntervalBoundary('2026-01-31T10:00:00.000Z', 'monthly', new Date('2026-03-01T00:00:00Z'))).toBe('2026-02-28T10:00:00.000Z');
    expect(latestIntervalBoundary('2026-01-31T10:00:00.000Z', 'monthly', new Date('2026-03-31T10:00:00Z'))).toBe('2026-03-31T10:00:00.000Z');
    expect(latestIntervalBoundary('2026-01-01T00:00:00.000Z', 'weekly', new Date('2026-01-15T00:00:00Z'))).toBe('2026-01-15T00:00:00.000Z');
    expect(latestIntervalBoundary('2026-01-01T00:00:00.000Z', 'quarterly', new Date('2026-12-31T00:00:00Z'))).toBe('2026-10-01T00:00:00.000Z');
  });

  it('runIntervalTopUps tops up once per boundary (a repeated run adds nothing); expireDueWallets expires due wallets only', async () => {
    const org = await createOrganization(t.db);
    const customer = await createCustomer(t.db, org.id);
    const walletId = await newWallet(t.db, org.id, customer.id);
    await t.db('wallet_recurring_transaction_rules').insert({ organization_id: org.id, wallet_id: walletId, trigger: 'interval', method: 'fixed', interval: 'monthly', granted_credits: '7', started_at: '2026-01-01T00:00:00Z' });
    const acts = createActivities({ db: t.db });
    await acts.runIntervalTopUps({ now: '2026-03-15T00:00:00.000Z' });
    await acts.runIntervalTopUps({ now: '2026-03-20T00:00:00.000Z' }); // same boundary (Mar 1)
    expect((await getWallet(t.db, org.id, walletId))!.balanceCents).toBe(700);
    await acts.runIntervalTopUps({ now: '2026-04-01T00:00:00.000Z' });
    expect((await getWallet(t.db, org.id, walletId))!.balanceCents).toBe(1400);
    expect((await transactionsOfWallet(t.db, org.id, walletId)).map((x) => x.source)).toEqual(['interval', 'interval']);

    const due = await newWallet(t.db, org.id, customer.id, { expirationAt: '2026-02-01T00:00:00.000Z' });
    await withLocked(org.id, due, (trx, w) => topUpWallet(trx, w, topUp({ granted: '3' }, 'g'), new Date('2026-01-15T00:00:00Z')));
    await acts.expireDueWallets({ now: '2026-02-01T00:00:00.000Z' });
    expect((await getWallet(t.db, org.id, due))!).toMatchObject({ status: 'terminated', balanceCents: 0 });
    expect((await getWallet(t.db, org.id, walletId))!.status).toBe('active');
  });

  it('a customer with an active wallet makes the workflow\'s usage checks active (periodic) so its ongoing balance is confirmed from usage', async () => {
    const s = await gpuSetup();
    const acts = createActivities({ db: t.db });
    expect((await acts.loadBillingRules({ organizationId: s.org.id, subscriptionId: s.sub.id, period: NOV })).active).toBe(false);
    await newWallet(t.db, s.org.id, s.customer.id);
    expect(await acts.loadBillingRules({ organizationId: s.org.id, subscriptionId: s.sub.id, period: NOV })).toMatchObject({ active: true, periodicOnly: true });
  });
});
