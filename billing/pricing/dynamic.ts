// Dynamic: the amount is the sum of the events' own precise_total_amount (events without one add 0).
// Lago: app/services/charge_models/dynamic_service.rb. Needs bucket.eventValues, or their Σ precise_total_amount
// (bucket.preciseTotalAmountSum, the period close's SQL reader: the same sum, computed by Postgres).
import { BillingError } from '../errors';
import { D, dec } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import type { RateContext, RatedDec } from './common';

export function rateDynamic(_properties: ChargeProperties, bucket: UsageBucket, _ctx: RateContext): RatedDec {
  if (!bucket.eventValues && bucket.preciseTotalAmountSum !== undefined) {
    const total = dec(bucket.preciseTotalAmountSum, 'preciseTotalAmountSum');
    const u = new D(bucket.units);
    return { amount: total, unitAmount: u.isZero() ? new D(0) : total.div(u) };
  }
  if (!bucket.eventValues) {
    if (bucket.eventsCount === 0) return { amount: new D(0), unitAmount: new D(0) };
    throw new BillingError('event_values_required', 'Dynamic charges need per-event precise_total_amount (bucket.eventValues)');
  }
  const amount = bucket.eventValues.reduce(
    (a, e, i) => a.plus(e.preciseTotalAmount === undefined || e.preciseTotalAmount === null ? 0 : dec(e.preciseTotalAmount, `eventValues[${i}].precise_total_amount`)),
    new D(0),
  );
  const units = new D(bucket.units);
  return { amount, unitAmount: units.isZero() ? new D(0) : amount.div(units) };
}
