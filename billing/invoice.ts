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
//    subscription fee) + `fixedChargeFeesAmountCents` (the period's fixed-charge fees) — sum below plan.minimumCommitmentAmountCents × period proration ratio
//    (rounded), a true-up line for the difference.
//  - progressive_billing_credit: −alreadyBilledAmountCents, capped at the sum of this invoice's
//    charge-related lines so an invoice never goes negative because of it.
//  - adjustment (adjustmentFees, appended by the caller to a later invoice): late usage of an already
//    finalized period, as the difference between that period re-rated now and what was billed for it so
//    far. A difference of already-rounded integer lines: no new rounding point.

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
  /** Fixed-charge fees of this period (this invoice's in-arrears ones + advance ones billed earlier); counted toward the minimum commitment (Lago). */
  fixedChargeFeesAmountCents?: number;
}

export type FeeKind = 'subscription' | 'charge' | 'charge_minimum' | 'minimum_commitment' | 'progressive_billing_credit' | 'adjustment' | 'add_on' | 'credit' | 'fixed_charge';

/** The lines of a period that an adjustment can correct (the usage-related ones). */
export type AdjustableFeeKind = 'charge' | 'charge_minimum' | 'minimum_commitment';

/** What an `adjustment` fee corrects: a line of an earlier, finalized invoice. */
export interface FeeAdjustsRef {
  /** The finalized invoice whose period is adjusted. */
  invoiceId: string;
  /** Its period [start, end) (= the adjustment fee's from/to). */
  period: Period;
  /** The kind of line corrected; with chargeId / filterIndex / groupedBy it names the line. */
  feeKind: AdjustableFeeKind;
}

export interface Fee {
  kind: FeeKind;
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
  /** Only on `adjustment` fees. */
  adjusts?: FeeAdjustsRef;
  /** Subscription fees of stored invoices: the id of the plan the fee was billed under (fees.plan_id). */
  planId?: string;
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
  // A true-up line (charge minimum, minimum commitment): an exact integer difference, one unit, over the period.
  const trueUp = (diffCents: number) => {
    const precise = str(minorToMajor(diffCents, currency));
    return {
      ...base,
      units: '1',
      eventsCount: 0,
      unitAmount: precise,
      preciseAmount: precise,
      amountCents: diffCents,
      fromDatetime: period.start,
      toDatetime: period.end,
      prorationRatio: str(periodRatio),
    };
  };

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
        fees.push({
          ...trueUp(diff),
          kind: 'charge_minimum',
          chargeId: charge.id,
          metricCode: charge.billableMetric.code,
          displayName: `${chargeName(charge)} - minimum spend true-up`,
        });
        chargeCents += diff;
      }
    }
    chargeRelatedCents += chargeCents;
  }

  // Plan minimum commitment.
  if (appliesMinimums(input.kind) && plan.minimumCommitmentAmountCents > 0) {
    const commitmentCents = roundDecToMinorUnits(minorToMajor(plan.minimumCommitmentAmountCents, currency).times(periodRatio), currency);
    const baseCents = subscriptionFeeForPeriodCents + chargeRelatedCents + (input.inAdvanceFeesAmountCents ?? 0) + (input.fixedChargeFeesAmountCents ?? 0);
    if (baseCents < commitmentCents) {
      fees.push({
        ...trueUp(commitmentCents - baseCents),
        kind: 'minimum_commitment',
        chargeId: null,
        displayName: 'Minimum commitment true-up',
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

// ---------------------------------------------------------------------------------------------------------
// Late-event adjustments

/** The finalized invoice a set of adjustments refers to. */
export interface AdjustedInvoice {
  invoiceId: string;
  /** Its period [start, end). */
  period: Period;
  /** Customer's IANA timezone: the period's dates in the labels are local dates. */
  timezone: string;
}

interface LineTotals {
  feeKind: AdjustableFeeKind;
  sample: Fee;
  units: Dec;
  eventsCount: number;
  amountCents: number;
}

const ADJUSTABLE: readonly AdjustableFeeKind[] = ['charge', 'charge_minimum', 'minimum_commitment'];

function isAdjustable(kind: FeeKind): kind is AdjustableFeeKind {
  return (ADJUSTABLE as readonly string[]).includes(kind);
}

function canonicalGroups(g: Record<string, string>): string {
  return JSON.stringify(Object.keys(g).sort().map((k) => [k, g[k]]));
}

function lineKey(feeKind: AdjustableFeeKind, f: Fee): string {
  return [feeKind, f.chargeId ?? '', f.filterIndex === null ? '' : String(f.filterIndex), canonicalGroups(f.groupedBy ?? {})].join('\u0000');
}

function addLine(map: Map<string, LineTotals>, feeKind: AdjustableFeeKind, f: Fee): void {
  const k = lineKey(feeKind, f);
  const t = map.get(k);
  if (t) {
    t.units = t.units.plus(f.units);
    t.eventsCount += f.eventsCount;
    t.amountCents += f.amountCents;
  } else {
    map.set(k, { feeKind, sample: f, units: new D(f.units), eventsCount: f.eventsCount, amountCents: f.amountCents });
  }
}

function localDate(iso: string, zone: string): string {
  return instantInZone(iso, zone, 'period').toFormat('yyyy-MM-dd');
}

/** "Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)". */
export function adjustmentDisplayName(line: Fee, feeKind: AdjustableFeeKind, original: AdjustedInvoice): string {
  const what = feeKind === 'charge' ? `${line.displayName} usage` : line.displayName;
  const dates = `${localDate(original.period.start, original.timezone)} – ${localDate(original.period.end, original.timezone)}`;
  return `Adjustment: ${what} of ${dates} (late events)`;
}

/**
 * Adjustment lines for ONE finalized period: `rerated` = that period's invoice re-built now from Postgres
 * (buildInvoice with the same kind, period and full period), `previouslyBilled` = every fee billed for it so
 * far (the original invoice's own fees + `adjustment` fees for it on other finalized invoices). Pure.
 *
 * - Only usage-related lines are compared: charge buckets (charge, filter, pricing group), charge minimum
 *   true-ups and the minimum commitment true-up. The subscription fee and progressive-billing credits never
 *   produce adjustments.
 * - A charge takes part only when its USAGE changed (units or events count of one of its buckets differs);
 *   the minimum commitment takes part when any charge does. So an edit of a plan's prices alone never
 *   produces adjustments for past periods (prices are not versioned; see activities/invoices.ts).
 * - Charges no longer in the plan are absent from `rerated` and are left alone (they cannot be re-rated).
 * - For each line taking part: amount = rerated − billed (integer cents, exact: both sides are rounded lines),
 *   units and events likewise. Negative differences are kept (a volume tier reached by late usage can lower
 *   the price; a minimum true-up shrinks as late usage fills it): the customer pays exactly the re-rated period.
 * - A line whose amount, units and events are all unchanged yields nothing, so a period without late events
 *   yields no adjustment, and re-running with the adjustment already billed yields nothing either.
 */
export function adjustmentFees(previouslyBilled: Fee[], rerated: Fee[], original: AdjustedInvoice): Fee[] {
  const billed = new Map<string, LineTotals>();
  for (const f of previouslyBilled) {
    if (f.kind === 'adjustment') {
      if (!f.adjusts) throw new BillingError('invalid_adjustment', 'An adjustment fee must say what it adjusts', 'adjusts');
      if (f.adjusts.invoiceId !== original.invoiceId) {
        throw new BillingError('invalid_adjustment', `Adjustment for invoice ${f.adjusts.invoiceId} given for ${original.invoiceId}`, 'adjusts');
      }
      addLine(billed, f.adjusts.feeKind, f);
    } else if (isAdjustable(f.kind)) {
      addLine(billed, f.kind, f);
    }
  }
  const now = new Map<string, LineTotals>();
  for (const f of rerated) {
    if (f.kind === 'adjustment') throw new BillingError('invalid_adjustment', 'A re-rated period cannot contain adjustments', 'rerated');
    if (isAdjustable(f.kind)) addLine(now, f.kind, f);
  }

  const reratedCharges = new Set([...now.values()].filter((l) => l.feeKind !== 'minimum_commitment').map((l) => l.sample.chargeId));
  const usageChanged = new Set<string | null>();
  for (const k of new Set([...billed.keys(), ...now.keys()])) {
    const b = billed.get(k);
    const n = now.get(k);
    const line = (n ?? b)!;
    if (line.feeKind !== 'charge' || !reratedCharges.has(line.sample.chargeId)) continue;
    const bu = b?.units ?? new D(0);
    const nu = n?.units ?? new D(0);
    if (!bu.eq(nu) || (b?.eventsCount ?? 0) !== (n?.eventsCount ?? 0)) usageChanged.add(line.sample.chargeId);
  }
  if (usageChanged.size === 0) return [];

  const out: Fee[] = [];
  // Rerated order first (the invoice's line order), then lines that only exist on the billed side.
  const keys = [...now.keys(), ...[...billed.keys()].filter((k) => !now.has(k))];
  for (const k of keys) {
    const b = billed.get(k);
    const n = now.get(k);
    const line = (n ?? b)!;
    const takesPart = line.feeKind === 'minimum_commitment' ? true : reratedCharges.has(line.sample.chargeId) && usageChanged.has(line.sample.chargeId);
    if (!takesPart) continue;
    const units = (n?.units ?? new D(0)).minus(b?.units ?? new D(0));
    const eventsCount = (n?.eventsCount ?? 0) - (b?.eventsCount ?? 0);
    const amountCents = (n?.amountCents ?? 0) - (b?.amountCents ?? 0);
    if (!Number.isSafeInteger(amountCents)) throw new BillingError('amount_out_of_range', 'Adjustment amount is not a safe integer');
    if (amountCents === 0 && units.isZero() && eventsCount === 0) continue;
    const currency = line.sample.currency;
    const precise = minorToMajor(amountCents, currency);
    out.push({
      kind: 'adjustment',
      chargeId: line.sample.chargeId,
      metricCode: line.sample.metricCode,
      filterIndex: line.sample.filterIndex,
      filterValues: line.sample.filterValues,
      groupedBy: line.sample.groupedBy ?? {},
      displayName: adjustmentDisplayName(line.sample, line.feeKind, original),
      units: str(units),
      eventsCount,
      unitAmount: line.feeKind === 'charge' && !units.isZero() ? str(precise.div(units)) : str(precise),
      preciseAmount: str(precise),
      amountCents,
      currency,
      fromDatetime: original.period.start,
      toDatetime: original.period.end,
      prorationRatio: null,
      adjusts: { invoiceId: original.invoiceId, period: original.period, feeKind: line.feeKind },
    });
  }
  return out;
}

/** `draft` with `extra` lines appended; totals are again the sums of the rounded lines. */
export function withExtraFees(draft: InvoiceDraft, extra: Fee[]): InvoiceDraft {
  if (extra.length === 0) return draft;
  for (const f of extra) {
    if (f.currency !== draft.currency) {
      throw new BillingError('currency_mismatch', `Fee in ${f.currency} on an invoice in ${draft.currency}`, 'currency');
    }
  }
  const fees = [...draft.fees, ...extra];
  const total = sumCents(fees);
  return { currency: draft.currency, fees, feesAmountCents: total, totalAmountCents: total };
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
