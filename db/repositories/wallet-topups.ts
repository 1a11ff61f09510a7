// Wallet movements other than consumption: top-ups (paid, granted), voids, expiry and termination, and the
// recurring rules' top-ups. Amounts are converted by billing/wallet.ts (W1); every movement goes through
// wallets.ts postMovement on a wallet the caller locked, so it is idempotent on its business key and leaves the
// ledger balanced. Paid credits are `pending` (no entries) while their payment is required and not received
// (invoice_requires_successful_payment), else settled at once.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import { centsToCredits, creditsToCents, isEmptyTopUp, topUpCredits, type TopUpCredits } from '../../billing/wallet';
import { markWalletTerminated, postMovement, type MetadataPair, type RecurringRuleRecord, type TransactionSource, type WalletRecord, type WalletTransactionRecord } from './wallets';

export interface TopUpRequest {
  paidCredits: string;
  grantedCredits: string;
  voidedCredits: string;
  /** Overrides the wallet's setting when given. */
  invoiceRequiresSuccessfulPayment?: boolean;
  name: string | null;
  metadata: MetadataPair[];
  source: TransactionSource;
  ruleId?: string;
  /** Unique per request (Idempotency-Key, rule + period, …); each movement appends its kind. */
  businessKey: string;
}

/**
 * Posts a top-up request on a LOCKED active wallet: granted (settled), paid (pending or settled), voided
 * (settled; more than the balance is refused with nothing written — the caller's transaction rolls back).
 */
export async function topUpWallet(trx: Knex.Transaction, wallet: WalletRecord, r: TopUpRequest, now: Date): Promise<WalletTransactionRecord[]> {
  if (wallet.status !== 'active') throw new BillingError('wallet_terminated', `Wallet ${wallet.id} is terminated`, 'wallet_id');
  const out: WalletTransactionRecord[] = [];
  const cents = (credits: string) => creditsToCents(credits, wallet.rateAmount, wallet.currency);
  const paid = cents(r.paidCredits);
  const granted = cents(r.grantedCredits);
  const voided = cents(r.voidedCredits);
  if (paid > 0) {
    const requires = r.invoiceRequiresSuccessfulPayment ?? wallet.invoiceRequiresSuccessfulPayment;
    const { transaction } = await postMovement(trx, wallet, {
      transactionType: 'inbound', transactionStatus: 'purchased', status: requires ? 'pending' : 'settled', source: r.source,
      amountCents: paid, creditAmount: r.paidCredits, counterAccount: 'purchases', ruleId: r.ruleId ?? null, name: r.name, metadata: r.metadata,
      invoiceRequiresSuccessfulPayment: requires, businessKey: `${r.businessKey}:paid`,
    }, now);
    out.push(transaction);
  }
  if (granted > 0) {
    const { transaction } = await postMovement(trx, wallet, {
      transactionType: 'inbound', transactionStatus: 'granted', status: 'settled', source: r.source,
      amountCents: granted, creditAmount: r.grantedCredits, counterAccount: 'grants', ruleId: r.ruleId ?? null, name: r.name, metadata: r.metadata,
      businessKey: `${r.businessKey}:granted`,
    }, now);
    out.push(transaction);
  }
  if (voided > 0) {
    if (voided > wallet.balanceCents) {
      throw new BillingError('invalid_amount', `Cannot void ${r.voidedCredits} credits: the wallet holds ${centsToCredits(wallet.balanceCents, wallet.rateAmount, wallet.currency)}`, 'voided_credits');
    }
    const { transaction } = await postMovement(trx, wallet, {
      transactionType: 'outbound', transactionStatus: 'voided', status: 'settled', source: r.source,
      amountCents: voided, creditAmount: r.voidedCredits, counterAccount: 'voids', name: r.name, metadata: r.metadata,
      businessKey: `${r.businessKey}:voided`,
    }, now);
    out.push(transaction);
  }
  return out;
}

/** Posts what is left on a LOCKED wallet to `account` (expiry or termination). */
async function forfeitRemaining(trx: Knex.Transaction, wallet: WalletRecord, source: 'expiration' | 'termination', now: Date): Promise<WalletTransactionRecord | null> {
  if (wallet.balanceCents === 0) return null;
  const { transaction } = await postMovement(trx, wallet, {
    transactionType: 'outbound', transactionStatus: source === 'expiration' ? 'expired' : 'voided', status: 'settled', source,
    amountCents: wallet.balanceCents, creditAmount: centsToCredits(wallet.balanceCents, wallet.rateAmount, wallet.currency),
    counterAccount: source === 'expiration' ? 'expiry' : 'voids', name: source === 'expiration' ? 'Credits expired' : 'Wallet terminated',
    businessKey: `wallet:${wallet.id}:${source}`,
  }, now);
  return transaction;
}

/**
 * Expiration (lazy: every read, movement and finalization calls it under the wallet's lock; the
 * expireDueWallets activity does the same for wallets nobody reads). When expiration_at has passed: the
 * remaining credits expire (an `expiry` ledger movement) and the wallet is terminated. Returns true when it expired now.
 */
export async function expireWalletIfDue(trx: Knex.Transaction, wallet: WalletRecord, now: Date): Promise<boolean> {
  if (wallet.status !== 'active' || wallet.expirationAt === null || Date.parse(wallet.expirationAt) > now.getTime()) return false;
  await forfeitRemaining(trx, wallet, 'expiration', now);
  await markWalletTerminated(trx, wallet.organizationId, wallet.id, now);
  wallet.status = 'terminated';
  wallet.terminatedAt = now.toISOString();
  return true;
}

/** DELETE /wallets/:id — the remaining credits are voided (a `voids` movement), then the wallet is terminated. */
export async function terminateWallet(trx: Knex.Transaction, wallet: WalletRecord, now: Date): Promise<void> {
  if (wallet.status !== 'active') return;
  await forfeitRemaining(trx, wallet, 'termination', now);
  await markWalletTerminated(trx, wallet.organizationId, wallet.id, now);
  wallet.status = 'terminated';
}

/** The credits a rule adds now (W4 for target rules), or null when it adds nothing. */
export function ruleTopUp(rule: RecurringRuleRecord, ongoingCredits: string): TopUpCredits | null {
  const t = topUpCredits(rule, ongoingCredits);
  return isEmptyTopUp(t) ? null : t;
}

/**
 * Runs one rule's top-up on a LOCKED wallet, idempotent on `businessKey`. Returns only the movements this call
 * wrote: a movement already posted under the key (a repeated run) keeps its first created_at, so it is left out
 * and a repeated run counts 0 top-ups.
 */
export async function runRuleTopUp(
  trx: Knex.Transaction,
  wallet: WalletRecord,
  rule: RecurringRuleRecord,
  credits: TopUpCredits,
  businessKey: string,
  now: Date,
): Promise<WalletTransactionRecord[]> {
  const posted = await topUpWallet(trx, wallet, {
    paidCredits: credits.paidCredits,
    grantedCredits: credits.grantedCredits,
    voidedCredits: '0',
    invoiceRequiresSuccessfulPayment: rule.invoiceRequiresSuccessfulPayment,
    name: rule.transactionName,
    metadata: rule.transactionMetadata,
    source: rule.trigger,
    ruleId: rule.id,
    businessKey,
  }, now);
  return posted.filter((t) => t.createdAt === now.toISOString());
}
