// Ongoing balance of a customer's wallets (Lago: ongoing_balance_cents = balance_cents − ongoing usage), confirmed
// from Postgres: the open period's usage of each ACTIVE subscription of the customer, priced exactly as GET
// current_usage prices it (usage/open-period.ts openPeriodAt + priceOpenPeriodUsage, the same calls
// api/services/current-usage.ts makes), plus what the customer's DRAFT invoices (grace period) will owe.
// Taxes are not included in current usage yet (current usage is untaxed here), so neither are they in it.
//
// The usage is spread over the wallets as finalization would consume it (billing/wallet.ts
// allocatePrepaidCredits: priority, applies_to); what no wallet covers is carried by the lowest-priority
// wallet that applies, so its ongoing balance goes below zero.
//
// Depletion: when a wallet's ongoing balance reaches zero from above, ONE wallet_depletions row is written
// and a `wallet.depleted_ongoing_balance` webhook enqueued through the outbox (unique key per wallet and
// depletion sequence), in the same transaction; it re-arms once the ongoing balance is positive again.
// Threshold rules fire here too (ongoing balance in credits at or below threshold_credits), idempotent on
// (rule, latest inbound transaction), never while the rule's previous top-up is still pending.
//
// Callers: the API on every wallet read (lazy, confirmed), and activities/wallets.ts refreshWalletOngoingBalances,
// which the subscription workflow's usage checks call (see activities/thresholds.ts).
import type { Knex } from 'knex';
import type { Fee } from '../billing/invoice';
import { allocatePrepaidCredits, centsToCredits, isDepletion, ongoingBalanceCents, thresholdReached, walletAppliesTo, type CreditableFee } from '../billing/wallet';
import { loadPlan } from '../db/repositories/plans';
import { findActiveSubscriptionBilling } from '../db/repositories/subscriptions-billing';
import { enqueueWebhook } from '../db/repositories/webhooks';
import { expireWalletIfDue, ruleTopUp, runRuleTopUp } from '../db/repositories/wallet-topups';
import { issueTopUpInvoices } from '../db/repositories/wallet-top-up-invoices';
import {
  activeSubscriptionsOfCustomer,
  draftInvoicesTotalOfCustomer,
  latestInboundTransactionId,
  lockActiveWalletsOfCustomer,
  recordOngoingBalance,
  ruleHasPendingTopUp,
  type WalletRecord,
} from '../db/repositories/wallets';
import { serializeWallet } from '../api/serializers/wallet';
import { openPeriodAt, priceOpenPeriodUsage } from './open-period';

/** The open period's charge lines of every active subscription of the customer (as current usage prices them). */
export async function customerOpenUsageFees(db: Knex, organizationId: string, customerId: string, externalCustomerId: string, nowIso: string): Promise<Fee[]> {
  const fees: Fee[] = [];
  for (const s of await activeSubscriptionsOfCustomer(db, organizationId, customerId)) {
    const found = await findActiveSubscriptionBilling(db, organizationId, externalCustomerId, s.externalId);
    if (!found.subscription) continue;
    const { context: ctx, subscriptionAt, interval, billingTime } = found.subscription;
    const plan = await loadPlan(db, organizationId, ctx.planId);
    const { period, fullPeriod } = openPeriodAt({ subscriptionAt, interval, billingTime, timezone: ctx.timezone }, nowIso);
    const priced = await priceOpenPeriodUsage(db, ctx, plan, period, fullPeriod);
    fees.push(...priced.chargeFees);
  }
  return fees;
}

export interface OngoingBalanceResult {
  wallets: WalletRecord[];
  depletions: { walletId: string; sequence: number }[];
  topUps: number;
}

/** Each wallet's share of the ongoing usage (see the header). */
export function ongoingUsageShares(wallets: WalletRecord[], fees: CreditableFee[], draftCents: number): Map<string, number> {
  const usageCents = fees.reduce((a, f) => a + f.dueCents, 0) + draftCents;
  const forAlloc = wallets.map((w) => ({ id: w.id, priority: w.priority, createdAt: w.createdAt, balanceCents: w.balanceCents, feeTypes: w.feeTypes, billableMetricCodes: w.billableMetricCodes }));
  const drafts: CreditableFee[] = draftCents > 0 ? [{ id: 'drafts', walletFeeType: 'charge', metricCode: null, dueCents: draftCents }] : [];
  const allocations = allocatePrepaidCredits(usageCents, [...fees, ...drafts], forAlloc);
  const shares = new Map(wallets.map((w) => [w.id, 0]));
  for (const a of allocations) shares.set(a.walletId, a.amountCents);
  const covered = allocations.reduce((a, x) => a + x.amountCents, 0);
  const uncovered = usageCents - covered;
  if (uncovered > 0 && wallets.length > 0) {
    const order = [...forAlloc].sort((a, b) => b.priority - a.priority || b.createdAt.localeCompare(a.createdAt));
    const last = order.find((w) => [...fees, ...drafts].some((f) => walletAppliesTo(w, f))) ?? order[0]!;
    shares.set(last.id, (shares.get(last.id) ?? 0) + uncovered);
  }
  return shares;
}

/** Confirms and stores the ongoing balance of the customer's wallets (see the header). */
export async function refreshOngoingBalances(db: Knex, organizationId: string, customer: { id: string; externalId: string; currency: string | null }, now: Date): Promise<OngoingBalanceResult> {
  const usageFees = await customerOpenUsageFees(db, organizationId, customer.id, customer.externalId, now.toISOString());
  return db.transaction(async (trx) => {
    const out: OngoingBalanceResult = { wallets: [], depletions: [], topUps: 0 };
    const currency = customer.currency;
    if (currency === null) return out;
    const wallets = [];
    for (const w of await lockActiveWalletsOfCustomer(trx, organizationId, customer.id, currency)) if (!(await expireWalletIfDue(trx, w, now))) wallets.push(w);
    if (wallets.length === 0) return out;
    const fees: CreditableFee[] = usageFees
      .filter((f) => f.currency === currency)
      .map((f, i) => ({ id: `u${i}`, walletFeeType: 'charge', metricCode: f.metricCode, dueCents: Math.max(0, f.amountCents) }));
    const draftCents = await draftInvoicesTotalOfCustomer(trx, organizationId, customer.id, currency);
    let shares = ongoingUsageShares(wallets, fees, draftCents);
    // Threshold rules first (a top-up that lands now counts in this very confirmation).
    for (const w of wallets) {
      for (const rule of w.rules.filter((r) => r.status === 'active' && r.trigger === 'threshold')) {
        const ongoingCredits = centsToCredits(ongoingBalanceCents(w.balanceCents, shares.get(w.id) ?? 0), w.rateAmount, w.currency);
        if (!thresholdReached(rule, ongoingCredits) || (await ruleHasPendingTopUp(trx, organizationId, rule.id))) continue;
        const credits = ruleTopUp(rule, ongoingCredits);
        if (!credits) continue;
        const after = (await latestInboundTransactionId(trx, organizationId, w.id)) ?? 'none';
        const posted = await runRuleTopUp(trx, w, rule, credits, `rule:${rule.id}:threshold:after:${after}`, now);
        await issueTopUpInvoices(trx, w, posted, now); // paid credits: their top-up invoice
        out.topUps += posted.length;
      }
    }
    if (out.topUps > 0) shares = ongoingUsageShares(wallets, fees, draftCents);
    for (const w of wallets) {
      const usage = shares.get(w.id) ?? 0;
      const ongoing = ongoingBalanceCents(w.balanceCents, usage);
      const previous = w.ongoingBalanceConfirmedAt === null ? w.balanceCents : w.ongoingBalanceCents;
      const depleted = isDepletion(previous, ongoing);
      const { depletionSequence } = await recordOngoingBalance(trx, w, { ongoingUsageCents: usage, ongoingBalanceCents: ongoing, depleted }, now);
      if (w.ongoingBalanceConfirmedAt === null || w.ongoingUsageBalanceCents !== usage || w.ongoingBalanceCents !== ongoing || depleted) w.ongoingBalanceConfirmedAt = now.toISOString();
      w.ongoingUsageBalanceCents = usage;
      w.ongoingBalanceCents = ongoing;
      if (depletionSequence !== null) {
        w.depletionsCount = depletionSequence;
        out.depletions.push({ walletId: w.id, sequence: depletionSequence });
        await enqueueWebhook(trx, {
          organizationId,
          webhookType: 'wallet.depleted_ongoing_balance',
          objectType: 'wallet',
          object: serializeWallet(w),
          uniqueKey: `wallet.depleted_ongoing_balance:${w.id}:${depletionSequence}`,
        });
      }
      out.wallets.push(w);
    }
    return out;
  });
}
