// Pay in advance: which fees an invoice at a billing boundary carries, and the unused part of a paid advance fee.
//
// Boundary rule (Lago's published behaviour, docs "Plans > Subscription fee > Pay in advance"): a plan with
// `pay_in_advance: true` bills its subscription fee at the START of each period. The invoice issued at a period
// boundary B therefore carries (a) the usage charges of the period that ended at B (in arrears) and (b) the
// subscription fee of the period that begins at B (in advance). The first boundary is the subscription start:
// its invoice has no ended period (an EMPTY usage period [start, start)) and carries only the first period's
// fee, prorated for a partial first period by proration.ts (calendar billing: days remaining / days in period).
// A termination invoice of an advance plan carries only the usage of [period start, terminatedAt): the fee of
// that period was paid at its start; its unused part is credited (terminationCreditCents below, a credit note).
// A plan in arrears bills its fee with the period that ended (unchanged). Progressive-billing invoices bill
// usage only.
//
// Unused advance fee (Lago's CreditNotes::CreateFromTermination, numbers in test/billing/advance-billing.test.ts):
// the credit = fee amount × credited days / days of the fee's period, days in the customer's timezone:
// - on termination the termination day is used (not credited): credited days are the local days AFTER the
//   termination date up to the fee's end (terminated 2022-10-15 on a 31.00 October fee → 16 days → 16.00);
// - on an upgrade the termination day is credited too (→ 17 days → 17.00);
// - only days the fee paid for count (a trial before the fee's start is never credited);
// - ROUNDING point A1: the credit is rounded DOWN to the minor unit (a credit never exceeds the unused value;
//   Lago: 9.99 × 15/30 = 4.995 → 4.99), and what was already credited on the fee is deducted.
import { BillingError } from './errors';
import { buildInvoice, type InvoiceKind } from './invoice';
import { currencyExponent } from './currency';
import { D, str } from './money';
import { instantInZone, periodContaining, toIso, type PeriodPair, type ScheduleInput } from './period';
import { periodDays } from './proration';
import type { Period, Plan } from './types';

/** What an invoice at a boundary bills (see the header). */
export interface BoundaryBilling {
  /** The usage charges of `usagePeriod` are rated on this invoice (false when the period is empty: the start invoice). */
  rateUsage: boolean;
  /** A subscription fee is on this invoice. */
  chargeSubscriptionFee: boolean;
  /** The period the fee is for: the ended period (arrears) or the one that begins (advance). */
  subscriptionFeePeriod: PeriodPair | null;
  /** Advance plans: the period whose fee was billed on an EARLIER invoice (it counts toward its minimum commitment). */
  feePaidEarlierFor: PeriodPair | null;
}

export interface BoundaryBillingInput {
  plan: Plan;
  kind: Extract<InvoiceKind, 'subscription' | 'termination' | 'progressive_billing'>;
  /** The period billed in arrears: [start, end), empty ([start, start)) for the start invoice of an advance plan. */
  usagePeriod: Period;
  /** Its unclipped period (proration); for the start invoice any value (unused). */
  usageFullPeriod: Period;
  schedule: ScheduleInput;
}

/** True for the empty usage period of an advance plan's start invoice. */
export function isEmptyPeriod(p: Period): boolean {
  return Date.parse(p.start) === Date.parse(p.end);
}

/** The usage period of the invoice issued at the subscription start (advance plans): empty, at the start. */
export function startInvoicePeriod(subscriptionAt: string): Period {
  return { start: subscriptionAt, end: subscriptionAt };
}

/** What the invoice of `kind` for `usagePeriod` bills. Pure. */
export function boundaryBilling(input: BoundaryBillingInput): BoundaryBilling {
  const { plan, kind, usagePeriod, usageFullPeriod, schedule } = input;
  const empty = isEmptyPeriod(usagePeriod);
  if (empty && !(plan.payInAdvance && kind === 'subscription')) {
    throw new BillingError('invalid_period', 'Only the start invoice of a pay-in-advance plan has an empty period', 'period');
  }
  const own: PeriodPair = { period: usagePeriod, fullPeriod: usageFullPeriod };
  if (kind === 'progressive_billing') {
    return { rateUsage: true, chargeSubscriptionFee: false, subscriptionFeePeriod: null, feePaidEarlierFor: null };
  }
  if (!plan.payInAdvance) {
    return { rateUsage: true, chargeSubscriptionFee: true, subscriptionFeePeriod: own, feePaidEarlierFor: null };
  }
  if (kind === 'termination') {
    return { rateUsage: true, chargeSubscriptionFee: false, subscriptionFeePeriod: null, feePaidEarlierFor: own };
  }
  // An advance plan's period boundary: the period that begins at usagePeriod.end (or the first one).
  const begins = periodContaining(schedule, usagePeriod.end);
  return {
    rateUsage: !empty,
    chargeSubscriptionFee: true,
    subscriptionFeePeriod: begins,
    feePaidEarlierFor: empty ? null : own,
  };
}

/**
 * The subscription fee (minor units) an advance plan bills for `pair` (trial and proration applied, rounded once
 * with R1 like every fee line): what the invoice at its start carried. 0 when a trial covers the period.
 */
export function advanceFeeCents(plan: Plan, pair: PeriodPair, timezone: string, subscriptionAt: string): number {
  const draft = buildInvoice({
    plan: { ...plan, charges: [], minimumCommitmentAmountCents: 0 },
    kind: 'progressive_billing',
    currency: plan.amountCurrency,
    timezone,
    period: pair.period,
    fullPeriod: pair.fullPeriod,
    chargeSubscriptionFee: true,
    subscriptionFeePeriod: pair,
    usage: [],
    subscriptionAt,
  });
  return draft.fees.filter((f) => f.kind === 'subscription').reduce((a, f) => a + f.amountCents, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Unused part of a paid advance fee (credit note amount before taxes)

export interface PaidAdvanceFee {
  /** The fee line as billed (minor units). */
  amountCents: number;
  currency: string;
  /** The days the fee paid for: the fee line's [from, to) (after trial and proration). */
  feePeriod: Period;
  /** Already credited on this fee by earlier credit notes (minor units). */
  alreadyCreditedCents?: number;
}

export interface UnusedFeeCredit {
  /** Credit before taxes, minor units, rounded down (A1); 0 when nothing is left to credit. */
  amountCents: number;
  /** The credited local days [from, to) (to = the fee's end). */
  creditedPeriod: Period;
  creditedDays: number;
  feeDays: number;
  /** Unrounded amount × creditedDays / feeDays (decimal string, major units). */
  preciseAmount: string;
}

function credit(fee: PaidAdvanceFee, creditFromLocalDay: string, timezone: string): UnusedFeeCredit {
  if (!Number.isSafeInteger(fee.amountCents) || fee.amountCents < 0) {
    throw new BillingError('invalid_amount', 'The fee amount must be an integer >= 0', 'amount_cents');
  }
  const already = fee.alreadyCreditedCents ?? 0;
  if (!Number.isSafeInteger(already) || already < 0) {
    throw new BillingError('invalid_amount', 'alreadyCreditedCents must be an integer >= 0', 'already_credited_cents');
  }
  const feeDays = periodDays(fee.feePeriod, timezone);
  const from = Date.parse(creditFromLocalDay) > Date.parse(fee.feePeriod.start) ? creditFromLocalDay : fee.feePeriod.start;
  const creditedPeriod = { start: from, end: fee.feePeriod.end };
  // Credited = the fee's days minus the days used before `from` (so a fee ending at 10:00 has its last day whole once).
  const usedDays = Date.parse(from) >= Date.parse(fee.feePeriod.end) ? feeDays : periodDays({ start: fee.feePeriod.start, end: from }, timezone);
  const creditedDays = Math.max(0, feeDays - usedDays);
  if (feeDays === 0 || creditedDays === 0 || fee.amountCents === 0) {
    return { amountCents: 0, creditedPeriod, creditedDays, feeDays, preciseAmount: '0' };
  }
  const exp = currencyExponent(fee.currency);
  const preciseMinor = new D(fee.amountCents).times(Math.min(creditedDays, feeDays)).div(feeDays);
  const roundedDown = preciseMinor.toDecimalPlaces(0, D.ROUND_DOWN).toNumber();
  return {
    amountCents: Math.max(0, roundedDown - already),
    creditedPeriod,
    creditedDays,
    feeDays,
    preciseAmount: str(preciseMinor.div(new D(10).pow(exp))),
  };
}

/** Start of the local day of `at` (+ `days`), as an ISO UTC instant. */
function localDayStart(at: string, timezone: string, days: number): string {
  return toIso(instantInZone(at, timezone, 'terminated_at').startOf('day').plus({ days }));
}

/** Credit of the unused part of a paid advance fee when the subscription is TERMINATED at `terminatedAt`. */
export function terminationCreditCents(fee: PaidAdvanceFee, terminatedAt: string, timezone: string): UnusedFeeCredit {
  return credit(fee, localDayStart(terminatedAt, timezone, 1), timezone);
}

/** Credit of the unused part of a paid advance fee when the plan is UPGRADED at `upgradedAt` (that day is credited). */
export function upgradeCreditCents(fee: PaidAdvanceFee, upgradedAt: string, timezone: string): UnusedFeeCredit {
  return credit(fee, localDayStart(upgradedAt, timezone, 0), timezone);
}
