// Invoice assembly: subscription fee, charge fees (one per usage bucket), charge minimums,
// minimum commitment, progressive-billing credit.
//
// ROUNDING: once per fee line, half-up to the currency's minor unit (money.ts, rounding point R1);
// every total is the sum of the rounded lines. Precise amounts (`preciseAmount`, `unitAmount`) are
// kept unrounded on the line.
//
// Lines:
//  - subscription: plan.amountCents × prorationRatio(fee period, its full period) (days in the
//    customer's timezone, proration.ts). Period = subscriptionFeePeriod (in advance: the next period)
//    or period. Trial: the part of the fee period before subscriptionAt + trialPeriodDays is free
//    (the fee is prorated to the days after the trial; no line when the trial covers the whole period).
//    A line is emitted when chargeSubscriptionFee is true, even at 0 (a free plan shows 0.00).
//  - charge: for every in-arrears charge (pay-in-advance charges are billed per event instead, see
//    rateInAdvanceEvent), one line per usage bucket (filter × pricing group), INCLUDING zero-usage
//    lines (Lago shows them; callers may hide amountCents = 0 lines when rendering).
//  - charge_minimum (subscription/termination/preview only): when a charge's rounded lines sum below
//    charge.minAmountCents × period proration ratio (rounded), a true-up line for the difference
//    (Lago's true-up fee, prorated for partial periods).
//  - minimum_commitment (subscription/termination/preview only): when the period's fees — the
//    subscription line(s) on this invoice for `period` (arrears) + charge and charge_minimum lines +
//    `inAdvanceFeesAmountCents` (fees of the period billed earlier: in-advance charges, an in-advance
//    subscription fee) — sum below plan.minimumCommitmentAmountCents × period proration ratio
//    (rounded), a true-up line for the difference.
//  - progressive_billing_credit: −alreadyBilledAmountCents, capped at the sum of this invoice's
//    charge-related lines so an invoice never goes negative because of it.

import { bucketProperties, emptyUsage, numericEventValue, type ChargeUsage, type UsageBucket } from './aggregation';
import { currencyExponent } from './currency';
import { BillingError } from './errors';
import { D, roundDecToMinorUnits, str, type Dec } from './money';
import { dispatchRate, rateBucket } from './pricing';
import type { RatedAmount } from './pricing/common';
import { prorationRatioDec } from './proration';
import { instantInZone, toIso } from './period';
import type { Charge, Period, Plan, UsageEvent } from './types';

export type InvoiceKind = 'subscription' | 'termination' | 'progressive_billing' | 'preview';

export interface InvoiceInput {
  plan: Plan;
  kind: InvoiceKind;
  /** Invoice currency (= plan.amountCurrency for now). */
  currency: string;
  /** Customer's IANA timezone (for proration days). */
  timezone: string;
  /** The (possibly partial) period billed in arrears. */
  period: Period;
  /** Its unclipped full period (proration). */
  fullPeriod: Period;
  /** Caller decides (advance vs arrears, trial). */
  chargeSubscriptionFee: boolean;
  /** When billed in advance it's the next period; default = period/fullPeriod. */
  subscriptionFeePeriod?: { period: Period; fullPeriod: Period };
  /** One per charge of the plan (missing charge => zero usage). */
  usage: ChargeUsage[];
  /** Progressive billing: deducted from this invoice as a negative line. */
  alreadyBilledAmountCents?: number;
  /** Subscription start instant: needed for the trial (plan.trialPeriodDays > 0). */
  subscriptionAt?: string;
  /** Fees of this period billed on earlier invoices (in-advance charges / subscription fee); counted toward the minimum commitment. */
  inAdvanceFeesAmountCents?: number;
}

export interface Fee {
  kind: 'subscription' | 'charge' | 'charge_minimum' | 'minimum_commitment' | 'progressive_billing_credit';
  chargeId: string | null;
  metricCode: string | null;
  filterIndex: number | null;
  filterValues: Record<string, string[]> | null;
  groupedBy: Record<string, string>;
  displayName: string;
  units: string;
  eventsCount: number;
  /** Precise. */
  unitAmount: string;
  /** Precise, unrounded. */
  preciseAmount: string;
  /** Rounded once, half-up, to the currency's minor unit. */
  amountCents: number;
  currency: string;
  fromDatetime: string;
  toDatetime: string;
  prorationRatio: string | null;
}

export interface InvoiceDraft {
  currency: string;
  fees: Fee[];
  feesAmountCents: number;
  totalAmountCents: number;
}

function minorToMajor(cents: number, currency: string): Dec {
  return new D(cents).div(new D(10).pow(currencyExponent(currency)));
}

function chargeName(charge: Charge): string {
  return charge.invoiceDisplayName ?? charge.billableMetric.name;
}

function bucketDisplayName(charge: Charge, bucket: UsageBucket): string {
  let name = chargeName(charge);
  if (bucket.filterIndex !== null) {
    const f = charge.filters[bucket.filterIndex]!;
    name = f.invoiceDisplayName ?? `${name} • ${Object.values(f.values).map((v) => v.join(', ')).join(' • ')}`;
  }
  const groups = Object.values(bucket.groupedBy);
  if (groups.length > 0) name = `${name} • ${groups.join(' • ')}`;
  return name;
}

function sumCents(fees: Fee[]): number {
  const total = fees.reduce((a, f) => a + f.amountCents, 0);
  if (!Number.isSafeInteger(total)) throw new BillingError('amount_out_of_range', 'Invoice total is not a safe integer');
  return total;
}

function appliesMinimums(kind: InvoiceKind): boolean {
  return kind === 'subscription' || kind === 'termination' || kind === 'preview';
}

function laterOf(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

export function buildInvoice(input: InvoiceInput): InvoiceDraft {
  const { plan, currency, timezone, period, fullPeriod } = input;
  currencyExponent(currency); // throws on unsupported currency
  if (plan.amountCurrency !== currency) {
    throw new BillingError('currency_mismatch', `Invoice currency ${currency} differs from the plan's ${plan.amountCurrency}`, 'currency');
  }
  for (const u of input.usage) {
    if (!plan.charges.some((c) => c.id === u.chargeId)) {
      throw new BillingError('unknown_charge', `Usage given for charge ${u.chargeId}, which is not in plan ${plan.code}`, 'usage');
    }
  }
  const periodRatio = prorationRatioDec(period, fullPeriod, timezone);
  const fees: Fee[] = [];
  const base = {
    currency,
    metricCode: null,
    filterIndex: null,
    filterValues: null,
    groupedBy: {},
  };

  // Subscription fee.
  let subscriptionFeeForPeriodCents = 0;
  if (input.chargeSubscriptionFee) {
    const sp = input.subscriptionFeePeriod ?? { period, fullPeriod };
    let start = sp.period.start;
    if (plan.trialPeriodDays > 0) {
      if (!input.subscriptionAt) {
        throw new BillingError('missing_subscription_at', 'subscriptionAt is required to apply a trial period', 'subscription_at');
      }
      // Trial days are whole days from the subscription instant (Lago: started_at + trial_period days).
      const trialEnd = toIso(instantInZone(input.subscriptionAt, timezone, 'subscription_at').plus({ days: plan.trialPeriodDays }));
      start = laterOf(start, trialEnd);
    }
    if (Date.parse(start) < Date.parse(sp.period.end)) {
      const feePeriod = { start, end: sp.period.end };
      const ratio = prorationRatioDec(feePeriod, sp.fullPeriod, timezone);
      const precise = minorToMajor(plan.amountCents, currency).times(ratio);
      const fee: Fee = {
        ...base,
        kind: 'subscription',
        chargeId: null,
        displayName: plan.name,
        units: '1',
        eventsCount: 0,
        unitAmount: str(precise),
        preciseAmount: str(precise),
        amountCents: roundDecToMinorUnits(precise, currency),
        fromDatetime: feePeriod.start,
        toDatetime: feePeriod.end,
        prorationRatio: str(ratio),
      };
      fees.push(fee);
      if (sp.period.start === period.start && sp.period.end === period.end) subscriptionFeeForPeriodCents += fee.amountCents;
    }
  }

  // Charges billed in arrears.
  let chargeRelatedCents = 0;
  for (const charge of plan.charges) {
    if (charge.payInAdvance) continue;
    const usage = input.usage.find((u) => u.chargeId === charge.id) ?? emptyUsage(charge);
    const ctx = { currency, prorationRatio: str(periodRatio) };
    const chargeFees: Fee[] = [];
    for (const bucket of usage.buckets) {
      const properties = bucketProperties(charge, bucket.filterIndex);
      const rated = rateBucket(charge, properties, bucket, ctx);
      const precise = new D(rated.amount);
      chargeFees.push({
        ...base,
        kind: 'charge',
        chargeId: charge.id,
        metricCode: charge.billableMetric.code,
        filterIndex: bucket.filterIndex,
        filterValues: bucket.filterIndex === null ? null : charge.filters[bucket.filterIndex]!.values,
        groupedBy: bucket.groupedBy,
        displayName: bucketDisplayName(charge, bucket),
        units: rated.units,
        eventsCount: bucket.eventsCount,
        unitAmount: rated.unitAmount,
        preciseAmount: rated.amount,
        amountCents: roundDecToMinorUnits(precise, currency),
        fromDatetime: period.start,
        toDatetime: period.end,
        prorationRatio: charge.prorated ? str(periodRatio) : null,
      });
    }
    fees.push(...chargeFees);
    let chargeCents = sumCents(chargeFees);
    if (appliesMinimums(input.kind) && charge.minAmountCents > 0) {
      const minCents = roundDecToMinorUnits(minorToMajor(charge.minAmountCents, currency).times(periodRatio), currency);
      if (chargeCents < minCents) {
        const diff = minCents - chargeCents;
        const precise = minorToMajor(diff, currency);
        fees.push({
          ...base,
          kind: 'charge_minimum',
          chargeId: charge.id,
          metricCode: charge.billableMetric.code,
          displayName: `${chargeName(charge)} - minimum spend true-up`,
          units: '1',
          eventsCount: 0,
          unitAmount: str(precise),
          preciseAmount: str(precise),
          amountCents: diff,
          fromDatetime: period.start,
          toDatetime: period.end,
          prorationRatio: str(periodRatio),
        });
        chargeCents += diff;
      }
    }
    chargeRelatedCents += chargeCents;
  }

  // Plan minimum commitment.
  if (appliesMinimums(input.kind) && plan.minimumCommitmentAmountCents > 0) {
    const commitmentCents = roundDecToMinorUnits(minorToMajor(plan.minimumCommitmentAmountCents, currency).times(periodRatio), currency);
    const baseCents = subscriptionFeeForPeriodCents + chargeRelatedCents + (input.inAdvanceFeesAmountCents ?? 0);
    if (baseCents < commitmentCents) {
      const diff = commitmentCents - baseCents;
      const precise = minorToMajor(diff, currency);
      fees.push({
        ...base,
        kind: 'minimum_commitment',
        chargeId: null,
        displayName: 'Minimum commitment true-up',
        units: '1',
        eventsCount: 0,
        unitAmount: str(precise),
        preciseAmount: str(precise),
        amountCents: diff,
        fromDatetime: period.start,
        toDatetime: period.end,
        prorationRatio: str(periodRatio),
      });
    }
  }

  // Progressive billing: what was already invoiced for this period's usage.
  const already = input.alreadyBilledAmountCents ?? 0;
  if (!Number.isSafeInteger(already) || already < 0) {
    throw new BillingError('invalid_amount', 'alreadyBilledAmountCents must be an integer >= 0', 'already_billed_amount_cents');
  }
  if (already > 0) {
    const credit = Math.min(already, Math.max(chargeRelatedCents, 0));
    if (credit > 0) {
      const precise = minorToMajor(-credit, currency);
      fees.push({
        ...base,
        kind: 'progressive_billing_credit',
        chargeId: null,
        displayName: 'Usage already billed',
        units: '1',
        eventsCount: 0,
        unitAmount: str(precise),
        preciseAmount: str(precise),
        amountCents: -credit,
        fromDatetime: period.start,
        toDatetime: period.end,
        prorationRatio: null,
      });
    }
  }

  const total = sumCents(fees);
  return { currency, fees, feesAmountCents: total, totalAmountCents: total };
}

/** The bucket after adding one event (the event must belong to this bucket: same filter/group). */
export function applyEventToBucket(charge: Charge, before: UsageBucket, event: UsageEvent): UsageBucket {
  const agg = charge.billableMetric.aggregationType;
  const field = charge.billableMetric.fieldName;
  const value = (): Dec => {
    if (!field) throw new BillingError('missing_field_name', `Metric ${charge.billableMetric.code} needs a field_name`, 'field_name');
    const raw = event.properties[field];
    if (raw === undefined || raw === null) return new D(0);
    return numericEventValue(raw, field, event.transactionId);
  };
  const prev = new D(before.units);
  let units: Dec;
  let eventUnits: Dec;
  switch (agg) {
    case 'count_agg':
      eventUnits = new D(1);
      units = prev.plus(1);
      break;
    case 'sum_agg':
      eventUnits = value();
      units = prev.plus(eventUnits);
      break;
    case 'unique_count_agg':
      // The caller passes only events that add a new unique value.
      eventUnits = new D(1);
      units = prev.plus(1);
      break;
    case 'max_agg':
    case 'latest_agg':
    case 'weighted_sum_agg':
      throw new BillingError('invalid_pay_in_advance', `pay_in_advance is not available for ${agg}`, 'pay_in_advance');
    default: {
      const never: never = agg;
      throw new BillingError('unknown_aggregation', `Unknown aggregation ${String(never)}`);
    }
  }
  const after: UsageBucket = { ...before, units: str(units), eventsCount: before.eventsCount + 1 };
  if (charge.chargeModel === 'percentage' || charge.chargeModel === 'dynamic' || before.eventValues) {
    const ev: { units: string; preciseTotalAmount?: string | null } = { units: str(eventUnits) };
    if (charge.chargeModel === 'dynamic') ev.preciseTotalAmount = event.preciseTotalAmount ?? null;
    after.eventValues = [...(before.eventValues ?? []), ev];
  }
  return after;
}

/**
 * Pay-in-advance rating of one event (Lago's semantics): price(usage after) − price(usage before),
 * so the deltas of a period sum exactly to pricing its total. The "before" side of the very first
 * event (0 units, 0 events) is priced WITHOUT the zero-usage flat fee, so that fee is carried by the
 * first event. Returned amounts are precise; round each fee line once (roundToMinorUnits).
 */
export function rateInAdvanceEvent(charge: Charge, usageBefore: UsageBucket, event: UsageEvent): RatedAmount {
  const properties = bucketProperties(charge, usageBefore.filterIndex);
  const after = applyEventToBucket(charge, usageBefore, event);
  const first = usageBefore.eventsCount === 0 && new D(usageBefore.units).isZero();
  const priceBefore = dispatchRate(charge.chargeModel, properties, usageBefore, first ? { zeroUsageFlatFee: 'skip' } : {});
  const priceAfter = dispatchRate(charge.chargeModel, properties, after, {});
  const amount = priceAfter.amount.minus(priceBefore.amount);
  const units = new D(after.units).minus(usageBefore.units);
  return { units: str(units), amount: str(amount), unitAmount: str(units.isZero() ? new D(0) : amount.div(units)) };
}
