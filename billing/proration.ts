// Proration by days, in the customer's timezone (Lago's convention: a partial period's fee is
// `full_amount × days_in_partial_period / days_in_full_period`, counting calendar days in the
// customer's timezone, the first day counted whole; see Lago docs "Plans > Subscription fee >
// Prorated subscription fee" and lago-api Subscriptions::DatesService / Fees::SubscriptionService).
//
// Day count of a half-open period [start, end): the number of local calendar days it has started,
// i.e. ceil(elapsed wall-clock days) =
//   (localDate(end) − localDate(start)) + (1 if end's local time-of-day > start's local time-of-day).
// So a calendar month is 28..31 days even across a DST change (wall-clock days, not 24 h blocks),
// a subscription started on Mar 15 at 10:30 is billed 17/31 of March (Mar 15 counts whole), and a
// termination on Apr 3 at 14:00 of a period starting Apr 1 00:00 counts Apr 1, 2, 3 = 3 days.
//
// The ratio is returned as a decimal string, unrounded at 40 significant digits (e.g. 17/31).

import { instantInZone } from './period';
import { BillingError } from './errors';
import { D, str, type Dec } from './money';
import type { Period } from './types';

function timeOfDayMs(dt: { hour: number; minute: number; second: number; millisecond: number }): number {
  return ((dt.hour * 60 + dt.minute) * 60 + dt.second) * 1000 + dt.millisecond;
}

/** Number of local calendar days started by [start, end) in `timezone` (0 for an empty period). */
export function periodDays(period: Period, timezone: string): number {
  const s = instantInZone(period.start, timezone, 'period.start');
  const e = instantInZone(period.end, timezone, 'period.end');
  if (e.toMillis() < s.toMillis()) throw new BillingError('invalid_period', 'Period ends before it starts', 'period');
  if (e.toMillis() === s.toMillis()) return 0;
  // Whole days between the two local dates (exact: both are UTC midnights, a multiple of 86,400,000 ms apart).
  const dateDiff = (Date.UTC(e.year, e.month - 1, e.day) - Date.UTC(s.year, s.month - 1, s.day)) / 86_400_000;
  return dateDiff + (timeOfDayMs(e) > timeOfDayMs(s) ? 1 : 0);
}

export function prorationRatioDec(period: Period, fullPeriod: Period, timezone: string): Dec {
  const full = periodDays(fullPeriod, timezone);
  if (full <= 0) throw new BillingError('invalid_period', 'Full period is empty', 'full_period');
  const part = periodDays(period, timezone);
  if (part >= full) return new D(1);
  return new D(part).div(full);
}

/** days_in_partial / days_in_full_period as a decimal string ("1" when the period is full). */
export function prorationRatio(period: Period, fullPeriod: Period, timezone: string): string {
  return str(prorationRatioDec(period, fullPeriod, timezone));
}
