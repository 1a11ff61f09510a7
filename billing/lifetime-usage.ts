// The usage thresholds of Lago's LifetimeUsageObject (GET /subscriptions/:id/lifetime_usage): how far the usage that
// progressive billing measures has come towards each of the plan's usage_thresholds. Pure.
//
// Meterline's progressive billing measures thresholds on the OPEN PERIOD's usage (activities/thresholds.ts; Lago
// measures lifetime usage), so the ratios are of that usage too — they say when the next progressive invoice comes:
// - a non-recurring threshold A: completion_ratio = min(1, usage / A); reached_at = when the period's first
//   progressive invoice for a level ≥ A was issued (crossing a higher level crosses A too), else null;
// - a recurring threshold R (it repeats after the highest non-recurring level L, or after 0): the entry is its next
//   repetition above the usage, amount L + k·R with k ≥ 1 the smallest such that L + k·R > usage; ratio = usage / that
//   amount; reached_at null (not reached by definition).
// Ratios are rounded half-up to 6 decimals (rounding point L1 in billing/README.md; display only, never money).
import { BillingError } from './errors';
import { dec, str } from './money';

export interface UsageThresholdInput {
  amountCents: number;
  recurring: boolean;
}

export interface ThresholdCompletion {
  amountCents: number;
  /** A decimal string in [0, 1], 6 decimals at most. */
  completionRatio: string;
  reachedAt: string | null;
}

const RATIO_DECIMALS = 6;

function ratio(usageCents: number, amountCents: number): string {
  if (amountCents <= 0) return '1';
  const r = dec(usageCents).div(amountCents);
  return str((r.gt(1) ? dec(1) : r).toDecimalPlaces(RATIO_DECIMALS));
}

/** One entry per threshold of the plan, in the plan's order (see the header). */
export function thresholdCompletions(thresholds: UsageThresholdInput[], usageCents: number, reached: { levelCents: number; at: string }[]): ThresholdCompletion[] {
  const fixed = thresholds.filter((t) => !t.recurring).map((t) => t.amountCents);
  const base = fixed.length > 0 ? Math.max(...fixed) : 0;
  return thresholds.map((t) => {
    if (!t.recurring) {
      const hit = reached.find((r) => r.levelCents >= t.amountCents);
      return { amountCents: t.amountCents, completionRatio: ratio(usageCents, t.amountCents), reachedAt: hit?.at ?? null };
    }
    const step = dec(t.amountCents);
    const k = usageCents < base || step.lte(0) ? dec(1) : dec(usageCents - base).div(step).floor().plus(1);
    const next = dec(base).plus(step.times(k));
    if (!next.isInteger() || !Number.isSafeInteger(next.toNumber())) throw new BillingError('amount_out_of_range', `Threshold level ${str(next)} is out of range`);
    const amountCents = next.toNumber();
    return { amountCents, completionRatio: ratio(usageCents, amountCents), reachedAt: null };
  });
}
