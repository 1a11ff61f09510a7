// The tax point date used to pick a dated rate: the last day of the service period in the customer's timezone
// (the supply of a period of a continuous service is completed at its end; Directive 2006/112/EC art. 64(1)).
// So June's usage, invoiced on July 1, is taxed at June's rate (EE: 22 % for June 2025, 24 % for July 2025).
import { DateTime } from 'luxon';
import { BillingError } from '../errors';
import type { Period } from '../types';

export function taxPointDate(period: Period, timezone: string): string {
  const endMs = Date.parse(period.end);
  if (Number.isNaN(endMs)) throw new BillingError('invalid_period', `Not an instant: ${period.end}`, 'period');
  const lastInstant = Math.max(Date.parse(period.start), endMs - 1);
  const d = DateTime.fromMillis(lastInstant, { zone: timezone });
  if (!d.isValid) throw new BillingError('invalid_timezone', `Invalid timezone: ${timezone}`, 'timezone');
  return d.toISODate()!;
}
