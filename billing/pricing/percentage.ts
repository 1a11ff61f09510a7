// Percentage (of a transaction amount aggregated by sum): (units − free units) × rate / 100, plus
// fixed_amount per paid event. Lago: app/services/charge_models/percentage_service.rb and its spec.
//
// Free units (both optional; 0/absent = unset):
//   free_units_per_events = E: the first E events (timestamp order) are free;
//   free_units_per_total_aggregation = T: the first T units are free.
//   Both set: whichever is reached first ends the free allowance (Lago docs). Concretely, with
//   cum_i the running total of the first min(E, n) events (all events when E is unset):
//     free units  = min(cum_last, T)         (T unset → cum_last)
//     free events = min(E, #{i : cum_i < T})  (E unset → #{cum_i < T}; T unset → min(E, n))
//   Lago spec: values 50,100,250,400 (sum 800), E=3, T=250, rate 1.3, fixed 2 → 7.15 + 4 = 11.15.
// Per-transaction min/max (per_transaction_min_amount / per_transaction_max_amount): each paid
// event is priced value × rate / 100 + fixed_amount, then clamped to [min, max]; free events and
// free units are consumed event by event first (Lago's compute_amount_with_transaction_min_max:
// 10, 80, 10,000 at 2.99 % with min 1.75 / max 12 → 1.75 + 2.392 + 12 = 16.142).
//
// Needs bucket.eventValues whenever E is set, min/max is set, or T is set with a fixed_amount;
// otherwise units/eventsCount suffice (SQL rollups).
import { BillingError } from '../errors';
import { D, type Dec } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import { optProp, prop, type RateContext, type RatedDec } from './common';

function isZeroish(v: unknown): boolean {
  return v === undefined || v === null || v === '' || /^\s*[+-]?0*(\.0*)?\s*$/.test(String(v));
}

/** True when these properties make the percentage model read per-event values (see the header). */
export function percentageNeedsEventValues(p: ChargeProperties): boolean {
  if ((p['per_transaction_min_amount'] ?? null) !== null && p['per_transaction_min_amount'] !== '') return true;
  if ((p['per_transaction_max_amount'] ?? null) !== null && p['per_transaction_max_amount'] !== '') return true;
  if (!isZeroish(p['free_units_per_events'])) return true;
  return !isZeroish(p['free_units_per_total_aggregation']) && !isZeroish(p['fixed_amount']);
}

function values(bucket: UsageBucket, why: string): Dec[] {
  if (!bucket.eventValues) {
    if (bucket.eventsCount === 0) return [];
    throw new BillingError('event_values_required', `Percentage charge with ${why} needs per-event values (bucket.eventValues)`);
  }
  return bucket.eventValues.map((e) => new D(e.units));
}

export function ratePercentage(properties: ChargeProperties, bucket: UsageBucket, _ctx: RateContext, path = 'properties'): RatedDec {
  const rate = prop(properties, 'rate', path);
  const fixed = optProp(properties, 'fixed_amount', path) ?? new D(0);
  const freeEvents = (optProp(properties, 'free_units_per_events', path) ?? new D(0)).floor().toNumber();
  const freeTotal = optProp(properties, 'free_units_per_total_aggregation', path) ?? new D(0);
  const min = optProp(properties, 'per_transaction_min_amount', path);
  const max = optProp(properties, 'per_transaction_max_amount', path);
  const units = new D(bucket.units);
  const n = bucket.eventsCount;
  const unitAmountOf = (a: Dec) => (units.isZero() ? new D(0) : a.div(units));

  if (min !== null || max !== null) {
    const vals = values(bucket, 'per-transaction min/max');
    let remainingEvents = freeEvents;
    let remainingAmount = freeTotal;
    let amount = new D(0);
    for (const v0 of vals) {
      let v = v0;
      if (remainingEvents > 0 || remainingAmount.gt(0)) {
        remainingEvents -= 1;
        if (!remainingAmount.gt(0)) continue;
        if (remainingAmount.gt(v)) {
          remainingAmount = remainingAmount.minus(v);
          continue;
        }
        v = v.minus(remainingAmount);
        remainingAmount = new D(0);
        remainingEvents = 0;
      }
      let e = v.times(rate).div(100).plus(fixed);
      if (min !== null && e.lt(min)) e = min;
      else if (max !== null && e.gt(max)) e = max;
      amount = amount.plus(e);
    }
    return { amount, unitAmount: unitAmountOf(amount) };
  }

  let freeUnits = new D(0);
  let freeCount = 0;
  if (freeEvents > 0 || freeTotal.gt(0)) {
    if (freeEvents === 0 && (fixed.isZero() || n === 0)) {
      // T only, no per-event fee: the free allowance is simply min(units, T).
      freeUnits = D.min(units, freeTotal);
    } else {
      const vals = values(bucket, 'free_units_per_events / free_units_per_total_aggregation');
      const considered = freeEvents > 0 ? vals.slice(0, freeEvents) : vals;
      const cums: Dec[] = [];
      considered.reduce((a, v) => {
        const c = a.plus(v);
        cums.push(c);
        return c;
      }, new D(0));
      const last = cums[cums.length - 1] ?? new D(0);
      freeUnits = freeTotal.gt(0) ? D.min(last, freeTotal) : last;
      if (freeTotal.gt(0)) {
        const under = cums.filter((c) => c.lt(freeTotal)).length;
        freeCount = freeEvents > 0 ? Math.min(freeEvents, under) : under;
      } else {
        freeCount = Math.min(freeEvents, vals.length);
      }
    }
  }
  const pct = freeUnits.gt(units) ? new D(0) : units.minus(freeUnits).times(rate).div(100);
  const fixedTotal = units.isZero() || fixed.isZero() || freeCount >= n ? new D(0) : fixed.times(n - freeCount);
  const amount = pct.plus(fixedTotal);
  return { amount, unitAmount: unitAmountOf(amount) };
}
