// Documented bounds of subscription_at (README "Input limits"): a subscription may be backdated at most
// 10 years and scheduled at most 5 years ahead. Without a lower bound `0001-01-01` would open ~24,000 periods,
// each invoiced at once; without an upper one `9999-12-31` overflows Temporal's timestamps (BadSearchAttributes)
// and the subscription could never be ended.
export const MAX_SUBSCRIPTION_BACKDATE_YEARS = 10;
export const MAX_SUBSCRIPTION_AHEAD_YEARS = 5;

function addUtcYears(at: Date, years: number): number {
  const d = new Date(at.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.getTime();
}

/** `too_old` / `too_far_in_future` when `subscriptionAt` is outside the bounds around `now`, else null. */
export function subscriptionAtViolation(subscriptionAt: Date, now: Date): 'too_old' | 'too_far_in_future' | null {
  if (subscriptionAt.getTime() < addUtcYears(now, -MAX_SUBSCRIPTION_BACKDATE_YEARS)) return 'too_old';
  if (subscriptionAt.getTime() > addUtcYears(now, MAX_SUBSCRIPTION_AHEAD_YEARS)) return 'too_far_in_future';
  return null;
}
