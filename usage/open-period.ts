// A subscription's billing periods as the API reads them, and the open period's usage priced.
//
// - `openPeriodAt(schedule, now)`: THE "which period is open for this subscription" rule, used by every API read
//   (GET current_usage, a subscription's current_billing_period_*, the invoice preview's default period, the
//   last period of past_usage): the schedule's period containing `now`, or its first period when the
//   subscription has not started yet.
// - `startedPeriods(schedule, terminatedAt, now)`: every period that has started by `now`, clipped at the
//   termination (past_usage); `nthPeriod` the index-th of them (the preview's `billing_period.index`).
// - `priceOpenPeriodUsage`: the usage of the open period, priced — the one computation behind GET current_usage
//   (api/services/current-usage.ts) and the usage thresholds and alerts (activities/thresholds.ts), which must
//   show and act on the same amounts. Every charge is priced in arrears, pay-in-advance ones included
//   (billing/ratePeriod 'on_period_total'), from the rollups by default (usage/period-usage.ts), kind 'preview',
//   no subscription fee, so no trial or subscriptionAt is involved. Lives outside api/ and activities/ so both
//   may import it; imports only billing/ and db/ (through usage/period-usage.ts).
import type { Knex } from 'knex';
import type { ChargeUsage } from '../billing/aggregation';
import type { Fee } from '../billing/invoice';
import { nextPeriod, periodContaining, terminatedPeriod, type PeriodPair, type ScheduleInput } from '../billing/period';
import { chargesToRead, ratePeriod } from '../billing/rate-period';
import type { Charge, Period, Plan } from '../billing/types';
import { readPeriodUsage, rollupUsageSource, type UsageScope, type UsageSource } from './period-usage';

/** The period open at `now` (ISO instant): the one containing it, or the first one before the subscription starts. */
export function openPeriodAt(schedule: ScheduleInput, now: string): PeriodPair {
  const at = Date.parse(now) < Date.parse(schedule.subscriptionAt) ? schedule.subscriptionAt : now;
  return periodContaining(schedule, at);
}

/** A weekly subscription of two centuries; beyond that the schedule is not a real one. */
export const MAX_PERIODS = 10_000;

/** Every period that has started by `now` (clipped at `terminatedAt`), oldest first, at most MAX_PERIODS. */
export function startedPeriods(schedule: ScheduleInput, terminatedAt: string | null, now: string): Period[] {
  const nowMs = Date.parse(now);
  const endMs = terminatedAt !== null ? Math.min(nowMs, Date.parse(terminatedAt)) : nowMs;
  const periods: Period[] = [];
  if (Date.parse(schedule.subscriptionAt) >= endMs) return periods; // not started yet (or ended at its start)
  let pair = periodContaining(schedule, schedule.subscriptionAt);
  while (periods.length < MAX_PERIODS) {
    const startMs = Date.parse(pair.period.start);
    if (startMs >= endMs) break;
    const terminatedInside = terminatedAt !== null && Date.parse(terminatedAt) < Date.parse(pair.period.end);
    periods.push(terminatedInside ? { start: pair.period.start, end: new Date(Date.parse(terminatedAt)).toISOString() } : pair.period);
    if (terminatedInside) break;
    pair = nextPeriod(schedule, pair.period);
  }
  return periods;
}

/**
 * The `index`-th period of the schedule (0 = its first, clipped period), clipped at a termination inside it;
 * null when it starts at or after the termination.
 */
export function nthPeriod(schedule: ScheduleInput, index: number, terminatedAt: string | null): PeriodPair | null {
  let pair = periodContaining(schedule, schedule.subscriptionAt);
  for (let k = 0; k < index; k++) pair = nextPeriod(schedule, pair.period);
  if (terminatedAt !== null) {
    const t = Date.parse(terminatedAt);
    if (t <= Date.parse(pair.period.start)) return null;
    if (t < Date.parse(pair.period.end)) pair = terminatedPeriod(pair, new Date(t).toISOString());
  }
  return pair;
}

export interface PricedOpenPeriod {
  /** The plan's charges as priced (pay-in-advance ones turned in arrears). */
  charges: Charge[];
  usage: ChargeUsage[];
  /** The draft's `charge` lines (rounded once each; amounts are their integer sums). */
  chargeFees: Fee[];
  /** Σ chargeFees (billing/ratePeriod usageAmountCents). */
  usageAmountCents: number;
}

/** Usage of `plan.charges` over `period` (of `fullPeriod`), priced. */
export async function priceOpenPeriodUsage(
  db: Knex | Knex.Transaction,
  ctx: UsageScope & { timezone: string },
  plan: Plan,
  period: Period,
  fullPeriod: Period,
  source: UsageSource = rollupUsageSource,
): Promise<PricedOpenPeriod> {
  const usage = await readPeriodUsage(db, ctx, chargesToRead(plan, 'on_period_total'), period, source);
  const rated = ratePeriod({
    plan,
    kind: 'preview',
    timezone: ctx.timezone,
    period,
    fullPeriod,
    chargeSubscriptionFee: false,
    usage,
    payInAdvanceCharges: 'on_period_total',
  });
  return { charges: rated.plan.charges, usage, chargeFees: rated.chargeFees, usageAmountCents: rated.usageAmountCents };
}
