// Pay in advance across a plan change: what the invoice at the change boundary bills (issue 11, adv11).
//
// A plan change (an upgrade at its instant, a downgrade at the end of the period) ends the old plan's period at the
// change instant C. The invoice issued at C (Lago groups the old subscription's closing invoice and the new one's first
// advance invoice into one: lago-api PR 1712 "group invoices upon downgrade and upgrade") carries:
//   (a) the OLD plan's side, billed for the period that ended at C (`changeBoundaryBilling`):
//       - its in-arrears usage charges;
//       - an in-arrears old plan: its subscription fee for the days it ran (an upgrade: up to the change day, which
//         belongs to the new plan — plan-change.ts upgradedFeePeriod; a downgrade: the whole period);
//       - a pay-in-advance old plan: NO subscription fee. Its fee for the period was paid at the period's start; the
//         period that begins at C is the new plan's. (The defect this fixes: the boundary rule of advance plans,
//         advance-billing.ts boundaryBilling, billed "the period that begins at C" with the OLD plan — for an upgrade
//         on Jan 15 that is January again.) The unused part of the paid fee is credited (A1, a credit note).
//   (b) the NEW plan's side (`firstAdvanceFeeAfterChange`): when the new plan bills in advance, its first fee, for
//       [C, next boundary of the new plan's schedule) prorated over that schedule's full period (plan-change.ts
//       periodAfterChange; days counted by proration.ts, the change day whole). Lago: Plan B 200 EUR/month from
//       Jan 15 → 17/31 × 200 = 109.68. An in-arrears new plan bills its first fee at the end of that period, as usual.
// No new rounding point: the new fee is one subscription fee line, rounded once with R1 by buildInvoice.
//
// Pure: no clock; instants are ISO strings, days in the customer's timezone.
import { buildInvoice, type Fee } from './invoice';
import type { BoundaryBilling } from './advance-billing';
import { periodAfterChange, upgradedFeePeriod, type PlanChangeKind } from './plan-change';
import type { PeriodPair, ScheduleInput } from './period';
import type { Period, Plan } from './types';

export interface ChangeBoundaryInput {
  /** The plan of the period that ended at the change (the old plan). */
  plan: Pick<Plan, 'payInAdvance'>;
  kind: PlanChangeKind;
  /** The old plan's period [start, C), C = the change instant. */
  usagePeriod: Period;
  usageFullPeriod: Period;
  timezone: string;
}

/** What the invoice at a plan change bills of the OLD plan (see the header, (a)). */
export function changeBoundaryBilling(input: ChangeBoundaryInput): BoundaryBilling {
  const own: PeriodPair = { period: input.usagePeriod, fullPeriod: input.usageFullPeriod };
  if (input.plan.payInAdvance) {
    return { rateUsage: true, chargeSubscriptionFee: false, subscriptionFeePeriod: null, feePaidEarlierFor: own };
  }
  const feePeriod = input.kind === 'upgrade' ? upgradedFeePeriod(input.usagePeriod, input.usagePeriod.end, input.timezone) : input.usagePeriod;
  return { rateUsage: true, chargeSubscriptionFee: true, subscriptionFeePeriod: { period: feePeriod, fullPeriod: input.usageFullPeriod }, feePaidEarlierFor: null };
}

export interface FirstAdvanceFeeInput {
  /** The plan that takes effect at `changeAt` (the new plan). */
  plan: Plan;
  /** The new plan's schedule (its interval; the subscription's anchor, billing time and timezone). */
  schedule: ScheduleInput;
  changeAt: string;
  /** The subscription's start (a trial of the new plan counts from it, as for every fee of the subscription). */
  subscriptionAt: string;
}

/** The new plan's first period after the change: [C, its next boundary) over its schedule's full period. */
export function firstPeriodAfterChange(input: Pick<FirstAdvanceFeeInput, 'schedule' | 'changeAt'>): PeriodPair {
  return periodAfterChange(input.schedule, input.changeAt);
}

/**
 * The new plan's first subscription fee, billed in advance on the invoice at the change (see the header, (b)): one
 * fee line (R1), or none when the new plan bills in arrears, its amount is 0 or a trial covers the period.
 */
export function firstAdvanceFeeAfterChange(input: FirstAdvanceFeeInput): Fee[] {
  const { plan, schedule } = input;
  if (!plan.payInAdvance) return [];
  const pair = firstPeriodAfterChange(input);
  const draft = buildInvoice({
    plan: { ...plan, charges: [], minimumCommitmentAmountCents: 0 },
    kind: 'progressive_billing',
    currency: plan.amountCurrency,
    timezone: schedule.timezone,
    period: pair.period,
    fullPeriod: pair.fullPeriod,
    chargeSubscriptionFee: true,
    subscriptionFeePeriod: pair,
    usage: [],
    subscriptionAt: input.subscriptionAt,
  });
  return draft.fees.filter((f) => f.kind === 'subscription' && f.amountCents !== 0);
}
