// Billing periods, computed in the customer's IANA timezone and returned as UTC instants
// (`toISOString()` form). Periods are half-open [start, end).
//
// Calendar billing: boundaries at local midnight of the 1st of the month (monthly), Monday
// (weekly, ISO weeks), Jan/Apr/Jul/Oct 1 (quarterly), Jan/Jul 1 (semiannual), Jan 1 (yearly).
// The first period runs from the subscription instant to the first boundary: `period` is clipped,
// `fullPeriod` is the whole calendar period (used as the proration denominator).
//
// Anniversary billing: periods start at the subscription's local date-time, the same day every
// month, clamped to the month's end when the month is shorter (Jan 31 -> Feb 28/29 -> Mar 31: each
// boundary is computed from the anchor, never from the previous boundary, so the day comes back).
// A local time that does not exist on a DST spring-forward day is moved forward by the gap (luxon).
//
// Pure: no clock. Luxon is only used with explicit instants and zones.

import { DateTime, type DurationLikeObject } from 'luxon';
import { BillingError } from './errors';
import type { BillingTime, Interval, Period } from './types';

export interface ScheduleInput {
  subscriptionAt: string;
  interval: Interval;
  billingTime: BillingTime;
  /** IANA timezone of the customer, e.g. "America/New_York". */
  timezone: string;
}

export interface PeriodPair {
  period: Period;
  fullPeriod: Period;
}

const INTERVALS: readonly Interval[] = ['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly'];

/** Parse an ISO instant into a luxon DateTime in `zone`; throws BillingError on bad input. */
export function instantInZone(iso: string, zone: string, field = 'timestamp'): DateTime {
  if (typeof iso !== 'string') throw new BillingError('invalid_datetime', `Not an ISO datetime: ${String(iso)}`, field);
  const dt = DateTime.fromISO(iso, { setZone: true });
  if (!dt.isValid) throw new BillingError('invalid_datetime', `Not an ISO datetime: ${iso}`, field);
  const z = dt.setZone(zone);
  if (!z.isValid) throw new BillingError('invalid_timezone', `Unknown IANA timezone: ${zone}`, 'timezone');
  return z;
}

export function toIso(dt: DateTime): string {
  const s = dt.toUTC().toISO();
  if (s === null) throw new BillingError('invalid_datetime', 'Cannot format datetime');
  return s;
}

export function isValidTimezone(zone: string): boolean {
  return typeof zone === 'string' && zone.length > 0 && DateTime.fromMillis(0, { zone }).isValid;
}

function step(interval: Interval, k: number): DurationLikeObject {
  switch (interval) {
    case 'weekly':
      return { weeks: k };
    case 'monthly':
      return { months: k };
    case 'quarterly':
      return { months: 3 * k };
    case 'semiannual':
      return { months: 6 * k };
    case 'yearly':
      return { years: k };
    default: {
      const never: never = interval;
      throw new BillingError('invalid_interval', `Unknown interval ${String(never)}`, 'interval');
    }
  }
}

function checkInterval(interval: Interval): void {
  if (!INTERVALS.includes(interval)) {
    throw new BillingError('invalid_interval', `Unknown interval ${String(interval)}`, 'interval');
  }
}

/** Local start of the calendar period containing `local`. */
function calendarStart(local: DateTime, interval: Interval): DateTime {
  switch (interval) {
    case 'weekly':
      return local.startOf('week'); // ISO week: Monday 00:00 local
    case 'monthly':
      return local.startOf('month');
    case 'quarterly':
      return local.startOf('quarter');
    case 'semiannual':
      return local.startOf('year').plus({ months: local.month >= 7 ? 6 : 0 });
    case 'yearly':
      return local.startOf('year');
    default: {
      const never: never = interval;
      throw new BillingError('invalid_interval', `Unknown interval ${String(never)}`, 'interval');
    }
  }
}

/** Start of the k-th anniversary period (k = 0 is the subscription instant). */
function anniversaryStart(anchor: DateTime, interval: Interval, k: number): DateTime {
  return anchor.plus(step(interval, k));
}

/** The billing period of the subscription that contains instant `at` (at >= subscriptionAt). */
export function periodContaining(s: ScheduleInput, at: string): PeriodPair {
  checkInterval(s.interval);
  const sub = instantInZone(s.subscriptionAt, s.timezone, 'subscription_at');
  const t = instantInZone(at, s.timezone, 'at');
  if (t.toMillis() < sub.toMillis()) {
    throw new BillingError('before_subscription', `${at} is before the subscription start ${s.subscriptionAt}`, 'at');
  }

  if (s.billingTime === 'calendar') {
    const fullStart = calendarStart(t, s.interval);
    const fullEnd = fullStart.plus(step(s.interval, 1));
    const start = sub.toMillis() > fullStart.toMillis() ? sub : fullStart;
    return {
      period: { start: toIso(start), end: toIso(fullEnd) },
      fullPeriod: { start: toIso(fullStart), end: toIso(fullEnd) },
    };
  }
  if (s.billingTime !== 'anniversary') {
    throw new BillingError('invalid_billing_time', `Unknown billing time ${String(s.billingTime)}`, 'billing_time');
  }

  // Estimate k from the elapsed calendar units, then correct by at most a couple of steps.
  const unitsElapsed =
    s.interval === 'weekly'
      ? Math.floor(t.diff(sub, 'weeks').weeks)
      : Math.floor(t.diff(sub, 'months').months / (s.interval === 'monthly' ? 1 : s.interval === 'quarterly' ? 3 : s.interval === 'semiannual' ? 6 : 12));
  let k = Math.max(0, unitsElapsed - 1);
  while (anniversaryStart(sub, s.interval, k + 1).toMillis() <= t.toMillis()) k++;
  while (k > 0 && anniversaryStart(sub, s.interval, k).toMillis() > t.toMillis()) k--;
  const p = {
    start: toIso(anniversaryStart(sub, s.interval, k)),
    end: toIso(anniversaryStart(sub, s.interval, k + 1)),
  };
  return { period: p, fullPeriod: { ...p } };
}

/** The period right after `current` (which must be a period of this schedule). */
export function nextPeriod(s: ScheduleInput, current: Period): PeriodPair {
  return periodContaining(s, current.end);
}

/** Clip a period at a termination instant (partial last period); fullPeriod stays the unclipped one. */
export function terminatedPeriod(pair: PeriodPair, terminatedAt: string): PeriodPair {
  const endMs = Date.parse(terminatedAt);
  if (Number.isNaN(endMs)) throw new BillingError('invalid_datetime', `Not an ISO datetime: ${terminatedAt}`, 'terminated_at');
  if (endMs <= Date.parse(pair.period.start) || endMs > Date.parse(pair.period.end)) {
    throw new BillingError('invalid_datetime', 'Termination is outside the period', 'terminated_at');
  }
  return { period: { start: pair.period.start, end: new Date(endMs).toISOString() }, fullPeriod: pair.fullPeriod };
}
