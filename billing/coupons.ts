// The coupons step of the invoice pipeline (Lago's order: fees → progressive-billing credit → COUPONS → taxes →
// credit notes → wallets), as pure functions. Follows lago-api Credits::AppliedCouponsService /
// Credits::AppliedCouponService / AppliedCoupons::AmountService, checked against spec/scenarios/coupons_breakdown_spec.rb:
//
// - Order: coupons limited to billable metrics first, then coupons limited to plans, then the others; oldest
//   applied coupon first inside each group. Each coupon works on what the previous ones left (the fees' amount
//   minus the coupons already allocated to them); when nothing is left, the remaining coupons are skipped (not
//   consumed: a `once` coupon waits for the next invoice).
// - A coupon's credit (integer minor units, rounding point C1): fixed_amount → min(remaining amount of the coupon,
//   ⌊base⌋); percentage → base × rate / 100 rounded half-up, capped at ⌊base⌋. The base is the Σ of what its
//   eligible fees have left; ⌊ ⌋ so a coupon never discounts more than the fees (never a negative tax base).
// - Pro-rata split (rounding point C2): the credit is spread over its eligible fees in proportion to what each
//   has left, in steps of 0.00001 minor units (Lago's precise_coupons_amount_cents scale), by largest remainder,
//   so the fee shares sum exactly to the credit. (Lago rounds each share on its own: its shares can miss the
//   credit by 0.00001; ours never do, and agree with Lago's to within that.)
// - Taxes then use each fee's amount minus its coupons (`preTaxAmountCents`, billing/tax). The invoice's
//   coupons_amount_cents is the Σ of the credits; its total drops by as much.
import { BillingError } from './errors';
import { D, dec, str, allocateLargestRemainder, type Dec } from './money';

export type CouponType = 'fixed_amount' | 'percentage';
export type CouponFrequency = 'once' | 'recurring' | 'forever';

/** What the coupons step needs of a fee. */
export interface CouponableFee {
  amountCents: number;
  /** The billable metric the fee bills (charges, their minimums and late-usage adjustments), else null. */
  metricCode: string | null;
  /** The plan of the subscription the fee belongs to; null for fees of no plan (add-ons). */
  planCode: string | null;
}

/** An applied coupon as it stands for this invoice (its consumption by OTHER invoices already deducted). */
export interface ApplicableCoupon {
  appliedCouponId: string;
  couponType: CouponType;
  /** fixed_amount: what may still be discounted on this invoice (once: amount − consumed; else the amount). */
  amountCents: number | null;
  /** percentage: a percentage as a decimal string ("10" = 10 %). */
  percentageRate: string | null;
  planCodes: string[];
  metricCodes: string[];
  /** When it was applied to the customer (ISO instant): the order inside a group. */
  createdAt: string;
}

export interface CouponCredit {
  appliedCouponId: string;
  amountCents: number;
}

export interface CouponsResult {
  /** One per coupon that discounted something, in application order. */
  credits: CouponCredit[];
  /** Per fee (same order as the input): Σ of its coupon shares, minor units, a decimal string (≤ 5 decimals). */
  feeCoupons: string[];
  couponsAmountCents: number;
}

/** 0.00001 minor units: the scale of a fee's share of a coupon (Lago's precise_coupons_amount_cents). */
const SHARE_SCALE = 100_000;

function group(c: ApplicableCoupon): number {
  if (c.metricCodes.length > 0) return 0;
  if (c.planCodes.length > 0) return 1;
  return 2;
}

/** Lago's application order: metric-limited, plan-limited, the rest; oldest first; then by id (stable). */
export function orderCoupons(coupons: ApplicableCoupon[]): ApplicableCoupon[] {
  return [...coupons].sort(
    (a, b) => group(a) - group(b) || a.createdAt.localeCompare(b.createdAt) || a.appliedCouponId.localeCompare(b.appliedCouponId),
  );
}

function eligible(c: ApplicableCoupon, fee: CouponableFee): boolean {
  if (c.metricCodes.length > 0) return fee.metricCode !== null && c.metricCodes.includes(fee.metricCode);
  if (c.planCodes.length > 0) return fee.planCode !== null && c.planCodes.includes(fee.planCode);
  return true;
}

/** C1: the coupon's credit on a base (unrounded minor units). */
export function couponCredit(c: ApplicableCoupon, base: Dec): number {
  if (!base.isPositive()) return 0;
  const cap = base.floor();
  let amount: Dec;
  if (c.couponType === 'fixed_amount') {
    if (c.amountCents === null || !Number.isSafeInteger(c.amountCents) || c.amountCents < 0) {
      throw new BillingError('invalid_amount', `Coupon ${c.appliedCouponId} has no valid amount_cents`, 'amount_cents');
    }
    amount = D.min(new D(c.amountCents), cap);
  } else {
    const rate = dec(c.percentageRate, 'percentage_rate');
    if (rate.isNegative() || rate.greaterThan(100)) throw new BillingError('invalid_amount', `Coupon ${c.appliedCouponId} has a percentage outside 0..100`, 'percentage_rate');
    amount = D.min(base.times(rate).div(100).toDecimalPlaces(0, D.ROUND_HALF_UP), cap);
  }
  const n = amount.toNumber();
  if (!Number.isSafeInteger(n * SHARE_SCALE)) throw new BillingError('amount_out_of_range', `Coupon credit ${amount.toString()} is out of range`);
  return n;
}

/** The coupons step: credits of each coupon, in Lago's order, and each fee's share of them. */
export function applyCoupons(fees: CouponableFee[], coupons: ApplicableCoupon[]): CouponsResult {
  // Shares kept as integers of 0.00001 minor units, so sums are exact.
  const shares = fees.map(() => 0);
  const credits: CouponCredit[] = [];
  const left = (i: number): Dec => new D(fees[i]!.amountCents).minus(new D(shares[i]!).div(SHARE_SCALE));
  for (const c of orderCoupons(coupons)) {
    const targets = fees.map((f, i) => i).filter((i) => eligible(c, fees[i]!) && left(i).isPositive());
    const base = targets.reduce((a, i) => a.plus(left(i)), new D(0));
    const credit = couponCredit(c, base);
    if (credit === 0) continue;
    const split = allocateLargestRemainder(credit * SHARE_SCALE, targets.map((i) => str(left(i))));
    targets.forEach((i, k) => {
      shares[i] = shares[i]! + split[k]!;
    });
    credits.push({ appliedCouponId: c.appliedCouponId, amountCents: credit });
  }
  const couponsAmountCents = credits.reduce((a, c) => a + c.amountCents, 0);
  return { credits, feeCoupons: shares.map((s) => str(new D(s).div(SHARE_SCALE))), couponsAmountCents };
}

// ---- the applied coupon's life ----------------------------------------------------------------------------

export interface AppliedCouponState {
  couponType: CouponType;
  frequency: CouponFrequency;
  /** fixed_amount: the amount granted to the customer. */
  amountCents: number | null;
  /** recurring: how many invoices it applies to. */
  frequencyDuration: number | null;
}

export interface AppliedCouponUsage {
  /** fixed_amount once: what is left for later invoices; else null. */
  amountCentsRemaining: number | null;
  frequencyDurationRemaining: number | null;
  /** True when the coupon has nothing left to give: its status becomes terminated. */
  terminated: boolean;
}

/**
 * What remains of an applied coupon after the credits of `usedOnInvoices` finalized invoices summing to
 * `consumedCents` (Lago: a fixed `once` coupon carries its unused amount to the next invoices; a percentage `once`
 * coupon is used by one invoice; `recurring` counts down `frequency_duration` invoices; `forever` never ends).
 */
export function appliedCouponUsage(s: AppliedCouponState, usedOnInvoices: number, consumedCents: number): AppliedCouponUsage {
  if (s.frequency === 'forever') return { amountCentsRemaining: null, frequencyDurationRemaining: null, terminated: false };
  if (s.frequency === 'recurring') {
    const remaining = Math.max(0, (s.frequencyDuration ?? 0) - usedOnInvoices);
    return { amountCentsRemaining: null, frequencyDurationRemaining: remaining, terminated: remaining === 0 };
  }
  if (s.couponType === 'percentage') return { amountCentsRemaining: null, frequencyDurationRemaining: null, terminated: usedOnInvoices > 0 };
  const remaining = Math.max(0, (s.amountCents ?? 0) - consumedCents);
  return { amountCentsRemaining: remaining, frequencyDurationRemaining: null, terminated: remaining === 0 };
}

// ---- the pipeline step over an invoice draft ---------------------------------------------------------------

/** A draft after the coupons step: each fee's coupon share and tax base, the credits, the total lowered by them. */
export interface CouponedDraft<F> {
  currency: string;
  fees: (F & { preciseCouponsAmountCents: string; preTaxAmountCents: string })[];
  feesAmountCents: number;
  totalAmountCents: number;
  couponsAmountCents: number;
  couponCredits: CouponCredit[];
}

/**
 * The coupons step over an invoice draft (before taxes): `planCodeOf` says which plan a fee belongs to (null: none).
 * totalAmountCents = the draft's total − coupons (integers, no new rounding).
 */
export function couponInvoiceDraft<F extends { amountCents: number; metricCode: string | null }>(
  draft: { currency: string; fees: F[]; feesAmountCents: number; totalAmountCents: number },
  coupons: ApplicableCoupon[],
  planCodeOf: (fee: F) => string | null,
): CouponedDraft<F> {
  const r = applyCoupons(draft.fees.map((f) => ({ amountCents: f.amountCents, metricCode: f.metricCode, planCode: planCodeOf(f) })), coupons);
  return {
    ...draft,
    fees: draft.fees.map((f, i) => ({ ...f, preciseCouponsAmountCents: r.feeCoupons[i]!, preTaxAmountCents: str(new D(f.amountCents).minus(r.feeCoupons[i]!)) })),
    totalAmountCents: draft.totalAmountCents - r.couponsAmountCents,
    couponsAmountCents: r.couponsAmountCents,
    couponCredits: r.credits,
  };
}
