// Prepaid credits (Lago wallets): the money rules, pure. The ledger (db/repositories/wallets.ts) is kept in
// integer minor units of the wallet's currency; credits are a view of it through the wallet's `rate_amount`
// (Lago: "credits per currency unit" is the inverse — 1 credit is worth `rate_amount` currency units).
//
// Rounding points (billing/README.md table, rows W1–W4):
//   W1 creditsToCents: credits × rate_amount → minor units, half-up once (a top-up of 1 credit at rate 0.333
//      USD is 33 cents); the ledger then only adds and subtracts integers.
//   W2 centsToCredits: minor units ÷ (rate_amount × 10^exponent), half-up to CREDIT_DECIMALS (display only:
//      credits_balance, consumed_credits, a transaction's credit_amount; never fed back into the ledger).
//   W3 allocatePrepaidCredits: no rounding — integer cents; each wallet takes min(balance, eligible, remaining).
//   W4 targetTopUpCredits: (target − ongoing credits), exact decimal; then W1 on the resulting top-up.
import { BillingError } from './errors';
import { currencyExponent } from './currency';
import { D, dec, str, type Dec } from './money';

/** Credits shown with at most 5 decimals (Lago stores credits as numeric(30,5)). */
export const CREDIT_DECIMALS = 5;
/** An amount of credits accepted in input: at most 15 integer digits and 5 decimals. */
const CREDITS_RE = /^(?:0|[1-9]\d{0,14})(?:\.\d{1,5})?$/;
/** rate_amount: positive, at most 15 integer digits and 10 decimals. */
const RATE_RE = /^(?:0|[1-9]\d{0,14})(?:\.\d{1,10})?$/;

export type WalletFeeType = 'charge' | 'subscription' | 'commitment';
export const WALLET_FEE_TYPES: readonly WalletFeeType[] = ['charge', 'subscription', 'commitment'];

/** Parse a credits amount (string or JSON number) into a canonical decimal string ≥ 0; throws invalid_amount. */
export function parseCredits(value: unknown, field: string): string {
  const s = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof s !== 'string' || !CREDITS_RE.test(s.trim())) {
    throw new BillingError('invalid_amount', `${field} must be a non-negative decimal with at most 5 decimals`, field);
  }
  return str(new D(s.trim()));
}

/** Parse rate_amount: > 0; throws invalid_rate_amount. */
export function parseRateAmount(value: unknown): string {
  const s = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof s !== 'string' || !RATE_RE.test(s.trim()) || new D(s.trim()).lte(0)) {
    throw new BillingError('invalid_rate_amount', 'rate_amount must be a positive decimal', 'rate_amount');
  }
  return str(new D(s.trim()));
}

function scale(currency: string): Dec {
  return new D(10).pow(currencyExponent(currency));
}

/** W1: credits → minor units of the wallet currency (half-up once). */
export function creditsToCents(credits: string, rateAmount: string, currency: string): number {
  const cents = dec(credits).times(dec(rateAmount)).times(scale(currency)).toDecimalPlaces(0, D.ROUND_HALF_UP);
  if (cents.abs().gt(Number.MAX_SAFE_INTEGER)) throw new BillingError('amount_out_of_range', 'Top-up too large', 'credits');
  return cents.toNumber();
}

/** W2: minor units → credits, half-up to CREDIT_DECIMALS (display). */
export function centsToCredits(cents: number, rateAmount: string, currency: string): string {
  return str(new D(cents).div(dec(rateAmount).times(scale(currency))).toDecimalPlaces(CREDIT_DECIMALS, D.ROUND_HALF_UP));
}

/** Minor units → the currency amount as a decimal string (a transaction's `amount`). */
export function centsToAmount(cents: number, currency: string): string {
  return str(new D(cents).div(scale(currency)));
}

// ---- applying prepaid credits to an invoice (after taxes and credit notes) ---------------------------------

export interface CreditableFee {
  id: string;
  /** charge | subscription | commitment (Lago's wallet fee types; others such as adjustments are 'charge'). */
  walletFeeType: WalletFeeType;
  metricCode: string | null;
  /** What is still due on the fee, taxes included (after coupons), integer minor units ≥ 0. */
  dueCents: number;
}

export interface WalletForAllocation {
  id: string;
  priority: number;
  /** Tie-break after priority: older wallets first (ISO instant). */
  createdAt: string;
  balanceCents: number;
  feeTypes: WalletFeeType[] | null;
  billableMetricCodes: string[] | null;
}

export interface WalletAllocation {
  walletId: string;
  amountCents: number;
}

/** True when the wallet may pay for the fee (Lago applies_to: fee types and/or metric codes; empty = all). */
export function walletAppliesTo(w: Pick<WalletForAllocation, 'feeTypes' | 'billableMetricCodes'>, fee: CreditableFee): boolean {
  const types = w.feeTypes ?? [];
  const codes = w.billableMetricCodes ?? [];
  if (types.length === 0 && codes.length === 0) return true;
  if (types.includes(fee.walletFeeType)) return true;
  return fee.metricCode !== null && codes.includes(fee.metricCode);
}

function unrestricted(w: WalletForAllocation): boolean {
  return (w.feeTypes ?? []).length === 0 && (w.billableMetricCodes ?? []).length === 0;
}

/**
 * W3. Lago's order: wallets by priority (1 first), then oldest; each pays min(its balance, what the fees it
 * applies to still owe, what the invoice still owes). `invoiceDueCents` is the invoice's total after taxes and
 * credit notes; Σ fee dues can differ from it by tax rounding (T4), so an unrestricted wallet is capped by the
 * invoice amount only, a restricted one by both. Integer arithmetic: Σ allocations ≤ invoiceDueCents, each
 * allocation ≤ its wallet's balance.
 */
export function allocatePrepaidCredits(invoiceDueCents: number, fees: CreditableFee[], wallets: WalletForAllocation[]): WalletAllocation[] {
  if (!Number.isSafeInteger(invoiceDueCents)) throw new BillingError('invalid_amount', 'invoice due must be an integer', 'invoice');
  const order = [...wallets].sort((a, b) => a.priority - b.priority || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const feeDue = new Map(fees.map((f) => [f.id, Math.max(0, f.dueCents)]));
  let remaining = Math.max(0, invoiceDueCents);
  const out: WalletAllocation[] = [];
  for (const w of order) {
    if (remaining === 0) break;
    if (w.balanceCents <= 0) continue;
    const eligible = fees.filter((f) => walletAppliesTo(w, f));
    const eligibleDue = unrestricted(w) ? remaining : eligible.reduce((a, f) => a + feeDue.get(f.id)!, 0);
    const take = Math.min(w.balanceCents, eligibleDue, remaining);
    if (take <= 0) continue;
    // Consume the fees it covers in order, so a later restricted wallet sees what is left on them.
    let left = take;
    for (const f of eligible) {
      if (left === 0) break;
      const d = feeDue.get(f.id)!;
      const part = Math.min(d, left);
      feeDue.set(f.id, d - part);
      left -= part;
    }
    remaining -= take;
    out.push({ walletId: w.id, amountCents: take });
  }
  return out;
}

// ---- ongoing balance and recurring top-ups -----------------------------------------------------------------

/** Lago: ongoing_balance_cents = balance_cents − ongoing_usage_balance_cents (may go below zero). */
export function ongoingBalanceCents(balanceCents: number, ongoingUsageCents: number): number {
  return balanceCents - ongoingUsageCents;
}

/** A depletion is the ongoing balance reaching zero from above (once per crossing). */
export function isDepletion(previousOngoingCents: number | null, ongoingCents: number): boolean {
  return ongoingCents <= 0 && (previousOngoingCents === null || previousOngoingCents > 0);
}

export interface TopUpRule {
  method: 'fixed' | 'target';
  paidCredits: string;
  grantedCredits: string;
  targetOngoingBalance: string | null;
  thresholdCredits: string | null;
  grantsTargetTopUp: boolean;
}

export interface TopUpCredits {
  paidCredits: string;
  grantedCredits: string;
}

/** W4: the credits a rule tops up given the ongoing balance in credits (target: the gap, ≥ 0; fixed: as set). */
export function topUpCredits(rule: TopUpRule, ongoingCredits: string): TopUpCredits {
  if (rule.method === 'fixed') return { paidCredits: rule.paidCredits, grantedCredits: rule.grantedCredits };
  const gap = D.max(0, dec(rule.targetOngoingBalance ?? '0').minus(dec(ongoingCredits)));
  return rule.grantsTargetTopUp ? { paidCredits: '0', grantedCredits: str(gap) } : { paidCredits: str(gap), grantedCredits: '0' };
}

/** A threshold rule fires when the ongoing balance in credits is at or below its threshold (Lago). */
export function thresholdReached(rule: TopUpRule, ongoingCredits: string): boolean {
  return rule.thresholdCredits !== null && dec(ongoingCredits).lte(dec(rule.thresholdCredits));
}

/** True when a top-up adds nothing. */
export function isEmptyTopUp(t: TopUpCredits): boolean {
  return dec(t.paidCredits).isZero() && dec(t.grantedCredits).isZero();
}
