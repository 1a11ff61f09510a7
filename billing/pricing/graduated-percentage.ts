// Graduated percentage: like graduated, but each tier charges `rate` % of the units (amounts) that
// fall inside it, plus the tier's flat_amount once entered.
// Lago: app/services/charge_models/graduated_percentage_service.rb + amount_details/range_graduated_percentage_service.rb
// (0–10 @1 % + 200, 11–20 @2 % + 300, 21+ @3 % + 400: 21 units → 900.33).
// Zero usage: see common.ts (default "charge": first tier flat fee at 0 units, Lago 2026).
import { D, dec } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import { readTiers, zeroUsagePolicy, type RateContext, type RatedDec } from './common';

export function rateGraduatedPercentage(properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext, path = 'properties'): RatedDec {
  const key = 'graduated_percentage_ranges';
  const tiers = readTiers(properties, key, path);
  const total = new D(bucket.units);
  if (total.lte(0)) {
    const flat = zeroUsagePolicy(properties, ctx) === 'charge' ? dec(tiers[0]!.raw['flat_amount'] ?? '0', `${path}.${key}[0].flat_amount`) : new D(0);
    return { amount: flat, unitAmount: new D(0) };
  }
  let amount = new D(0);
  tiers.forEach((t, i) => {
    if (i > 0 && total.lte(t.lower)) return;
    const top = t.to === null || total.lt(t.to) ? total : t.to;
    const units = D.max(top.minus(i === 0 ? 0 : t.lower), 0);
    const rate = dec(t.raw['rate'] ?? '0', `${path}.${key}[${i}].rate`);
    const flat = dec(t.raw['flat_amount'] ?? '0', `${path}.${key}[${i}].flat_amount`);
    amount = amount.plus(units.times(rate).div(100)).plus(flat);
  });
  return { amount, unitAmount: amount.div(total) };
}
