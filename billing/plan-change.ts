// Plan changes (Lago's rule, docs "Upgrades and downgrades", guide/subscriptions/upgrades-downgrades):
//
// - Upgrade or downgrade is decided by the plans' subscription fees on a common basis, charges ignored: we compare
//   YEARLY amounts (amount_cents × periods per year: weekly 52, monthly 12, quarterly 4, semiannual 2, yearly 1).
//   Lago's examples: $20/month → $40/month upgrade; → $15/month downgrade; → $300/year upgrade ($25/month);
//   → $180/year downgrade ($15/month). Equal amounts are an upgrade ("equals or exceeds").
// - An upgrade takes effect at once; a downgrade at the end of the current billing period.
// - Proration convention of an upgrade (Lago's published example: Plan A 100 EUR/month from Jan 1, upgraded to
//   Plan B 200 EUR/month on Jan 15 → Plan A is billed 14/31 × 100 = 45.16, Plan B 17/31 × 200 = 109.68): THE
//   CHANGE DAY BELONGS TO THE NEW PLAN. The old plan's subscription fee covers the local days before the change day
//   (its fee period ends at local midnight of the change day); usage is split at the exact change instant. The
//   new plan's first period starts at the change instant and counts the change day whole (proration.ts: the first
//   day counts whole), so the days billed add up to the period's days.
//
// Pure: no clock; instants are ISO strings, days in the customer's timezone.
import { BillingError } from './errors';
import { instantInZone, periodContaining, toIso, type PeriodPair, type ScheduleInput } from './period';
import type { Interval, Period, Plan } from './types';

export type PlanChangeKind = 'upgrade' | 'downgrade';

const PERIODS_PER_YEAR: Record<Interval, number> = { weekly: 52, monthly: 12, quarterly: 4, semiannual: 2, yearly: 1 };

/** The plan's subscription fee over a year, minor units (an exact integer). */
export function yearlyAmountCents(plan: Pick<Plan, 'amountCents' | 'interval'>): number {
  const n = PERIODS_PER_YEAR[plan.interval];
  if (n === undefined) throw new BillingError('invalid_interval', `Unknown interval ${String(plan.interval)}`, 'interval');
  const yearly = plan.amountCents * n;
  if (!Number.isSafeInteger(yearly)) throw new BillingError('amount_out_of_range', 'Yearly plan amount is not a safe integer', 'amount_cents');
  return yearly;
}

/** Lago's rule: the new plan's yearly fee equal to or above the current one's is an upgrade, below a downgrade. */
export function planChangeKind(current: Pick<Plan, 'amountCents' | 'interval'>, next: Pick<Plan, 'amountCents' | 'interval'>): PlanChangeKind {
  return yearlyAmountCents(next) >= yearlyAmountCents(current) ? 'upgrade' : 'downgrade';
}

/** Local midnight (customer timezone) of the day containing `at`, as a UTC instant. */
export function startOfLocalDay(at: string, timezone: string): string {
  return toIso(instantInZone(at, timezone, 'at').startOf('day'));
}

/**
 * The old plan's subscription-fee period when an upgrade at `changeAt` ends `period` early: from the period's
 * start to local midnight of the change day (the change day belongs to the new plan). Empty (start = end) when
 * the change happens on the period's first day.
 */
export function upgradedFeePeriod(period: Period, changeAt: string, timezone: string): Period {
  const dayStart = startOfLocalDay(changeAt, timezone);
  const end = Date.parse(dayStart) < Date.parse(period.start) ? period.start : dayStart;
  return { start: period.start, end };
}

/**
 * The new plan's first period after a change effective at `effectiveAt` (an upgrade's instant, or a downgrade's
 * period boundary): the period of the new schedule that contains it, clipped to start there; its full period is
 * the new schedule's unclipped period (the proration denominator). A monthly → yearly change on Jan 15 (calendar)
 * gives [Jan 15, next Jan 1) over the calendar year.
 */
export function periodAfterChange(schedule: ScheduleInput, effectiveAt: string): PeriodPair {
  const at = new Date(Date.parse(effectiveAt)).toISOString();
  const pair = periodContaining(schedule, at);
  return { period: { start: at, end: pair.period.end }, fullPeriod: pair.fullPeriod };
}

/**
 * Migration start (`billing_starts_at`): the first period Meterline bills, for a subscription whose earlier periods
 * were billed elsewhere. The period of the schedule containing `billingStartsAt`, clipped to start there; no
 * period before it is ever invoiced.
 */
export function firstBilledPeriod(schedule: ScheduleInput, billingStartsAt: string): PeriodPair {
  return periodAfterChange(schedule, billingStartsAt);
}

/** When a trial ends: subscriptionAt + trial days in the customer's timezone; null without a trial. */
export function trialEndsAt(subscriptionAt: string, trialPeriodDays: number, timezone: string): string | null {
  if (!(trialPeriodDays > 0)) return null;
  return toIso(instantInZone(subscriptionAt, timezone, 'subscription_at').plus({ days: trialPeriodDays }));
}
