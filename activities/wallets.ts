// Wallet activities, Schedule-friendly (each is idempotent and takes only an optional `now`, so a Temporal
// Schedule can run it every few minutes; worker/schedules.ts WALLET_SCHEDULES → workflows/wallet-fleet.ts):
//
// - expireDueWallets: wallets whose expiration_at has passed: remaining credits expire (an `expiry` ledger
//   movement) and the wallet is terminated. Expiry is ALSO lazy — every read, movement and finalization expires
//   a due wallet under its lock first — so a late run of this activity never lets expired credits be spent.
// - runIntervalTopUps: each active `interval` rule tops up at every interval boundary after its started_at
//   (else its creation): weekly, monthly, quarterly, semiannual, yearly, counted in UTC. Idempotent on (rule,
//   boundary): a run repeated or two workers at once top up once. Only the latest boundary reached is topped
//   up (missed boundaries are not back-filled). `target` rules top up to the target from the confirmed ongoing
//   balance (refreshed first).
// - refreshWalletOngoingBalances: confirms a customer's ongoing balances (usage/wallet-ongoing-balance.ts);
//   the subscription workflow's usage checks call it through evaluateUsageThresholds.
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { centsToCredits } from '../billing/wallet';
import { getCustomersByIds } from '../db/repositories/customers';
import { expireWalletIfDue, ruleTopUp, runRuleTopUp } from '../db/repositories/wallet-topups';
import { issueTopUpInvoices } from '../db/repositories/wallet-top-up-invoices';
import { activeIntervalRules, getWallet, lockWallet, walletsDueForExpiry } from '../db/repositories/wallets';
import { customerOfSubscription } from '../db/repositories/wallet-subscriptions';
import { refreshOngoingBalances } from '../usage/wallet-ongoing-balance';
import type { BillingRules, EvaluateThresholdsInput } from './types';

/**
 * The subscription workflow's usage checks also watch the customer's wallets: when it has an active wallet the
 * rules are active with periodic checks (periodicOnly), so usage keeps the ongoing balance confirmed.
 */
export function watchWallets(rules: BillingRules, customerHasActiveWallet: boolean): BillingRules {
  return customerHasActiveWallet && !rules.active ? { ...rules, active: true, periodicOnly: true } : rules;
}

/** After a usage check committed: confirm the ongoing balances of the subscription's customer (depletion, threshold top-ups). */
export async function afterUsageCheck<T>(db: Knex, input: EvaluateThresholdsInput, result: T): Promise<T> {
  const customer = await customerOfSubscription(db, input.organizationId, input.subscriptionId);
  // A check on a test clock runs as of the clock's time (input.asOf): the ongoing balance is the clock's open period's.
  if (customer) await refreshCustomer(db, input.organizationId, customer, input.asOf ? new Date(input.asOf) : new Date());
  return result;
}

const INTERVAL_MONTHS: Record<string, number> = { monthly: 1, quarterly: 3, semiannual: 6, yearly: 12 };

/** The latest interval boundary in (anchor, now], or null before the first one. */
export function latestIntervalBoundary(anchorIso: string, interval: string, now: Date): string | null {
  const anchor = DateTime.fromISO(anchorIso, { zone: 'utc' });
  const step = (n: number) => (interval === 'weekly' ? anchor.plus({ weeks: n }) : anchor.plus({ months: n * (INTERVAL_MONTHS[interval] ?? 1) }));
  const nowDt = DateTime.fromJSDate(now, { zone: 'utc' });
  let n = 0;
  // Jump close first (at most a few iterations after), then walk.
  const approx = interval === 'weekly' ? Math.floor(nowDt.diff(anchor, 'weeks').weeks) : Math.floor(nowDt.diff(anchor, 'months').months / (INTERVAL_MONTHS[interval] ?? 1));
  n = Math.max(0, approx - 1);
  while (step(n + 1) <= nowDt) n += 1;
  return n === 0 ? null : step(n).toISO();
}

export interface WalletActivities {
  expireDueWallets(input?: { now?: string }): Promise<{ expired: number }>;
  runIntervalTopUps(input?: { now?: string }): Promise<{ topUps: number }>;
  refreshWalletOngoingBalances(input: { organizationId: string; customerId: string; now?: string }): Promise<{ depletions: number; topUps: number }>;
}

async function refreshCustomer(db: Knex, organizationId: string, customerId: string, now: Date) {
  const customer = (await getCustomersByIds(db, organizationId, [customerId])).get(customerId);
  if (!customer) return { wallets: [], depletions: [], topUps: 0 };
  return refreshOngoingBalances(db, organizationId, { id: customer.id, externalId: customer.externalId, currency: customer.currency }, now);
}

export function createWalletActivities(deps: { db: Knex }): WalletActivities {
  const { db } = deps;
  return {
    async expireDueWallets(input = {}) {
      const now = input.now ? new Date(input.now) : new Date();
      let expired = 0;
      for (const due of await walletsDueForExpiry(db, now, 500)) {
        const done = await db.transaction(async (trx) => {
          const w = await lockWallet(trx, due.organizationId, due.walletId);
          return w ? expireWalletIfDue(trx, w, now) : false;
        });
        if (done) expired += 1;
      }
      return { expired };
    },

    async runIntervalTopUps(input = {}) {
      const now = input.now ? new Date(input.now) : new Date();
      let topUps = 0;
      for (const r of await activeIntervalRules(db, 1000)) {
        const wallet = await getWallet(db, r.organizationId, r.walletId);
        const rule = wallet?.rules.find((x) => x.id === r.ruleId);
        if (!wallet || !rule || rule.interval === null) continue;
        if (rule.expirationAt !== null && Date.parse(rule.expirationAt) <= now.getTime()) continue;
        const boundary = latestIntervalBoundary(rule.startedAt ?? rule.createdAt, rule.interval, now);
        if (boundary === null) continue;
        if (rule.method === 'target') await refreshCustomer(db, r.organizationId, wallet.customerId, now);
        topUps += await db.transaction(async (trx) => {
          const w = await lockWallet(trx, r.organizationId, r.walletId);
          if (!w || (await expireWalletIfDue(trx, w, now)) || w.status !== 'active') return 0;
          const credits = ruleTopUp(rule, centsToCredits(w.ongoingBalanceConfirmedAt === null ? w.balanceCents : w.ongoingBalanceCents, w.rateAmount, w.currency));
          if (!credits) return 0;
          const posted = await runRuleTopUp(trx, w, rule, credits, `rule:${rule.id}:interval:${boundary}`, now);
          await issueTopUpInvoices(trx, w, posted, now); // paid credits: their top-up invoice
          return posted.length;
        });
      }
      return { topUps };
    },

    async refreshWalletOngoingBalances(input) {
      const r = await refreshCustomer(db, input.organizationId, input.customerId, input.now ? new Date(input.now) : new Date());
      return { depletions: r.depletions.length, topUps: r.topUps };
    },
  };
}
