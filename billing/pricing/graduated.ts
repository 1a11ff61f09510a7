// Graduated: each tier prices the units that fall inside it, plus its flat_amount once the tier is
// entered. Lago: app/services/charge_models/graduated_service.rb + amount_details/range_graduated_service.rb.
// Zero usage: see common.ts (default "charge": first tier flat fee at 0 units).
import { D } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import { readTiers, zeroUsagePolicy, type RateContext, type RatedDec } from './common';
import { dec } from '../money';

export function rateGraduated(properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext, path = 'properties'): RatedDec {
  const tiers = readTiers(properties, 'graduated_ranges', path);
  const total = new D(bucket.units);
  if (total.lte(0)) {
    const first = tiers[0]!;
    const flat = zeroUsagePolicy(properties, ctx) === 'charge' ? dec(first.raw['flat_amount'] ?? '0', `${path}.graduated_ranges[0].flat_amount`) : new D(0);
    return { amount: flat, unitAmount: new D(0) };
  }
  let amount = new D(0);
  tiers.forEach((t, i) => {
    if (i > 0 && total.lte(t.lower)) return;
    const top = t.to === null || total.lt(t.to) ? total : t.to;
    const units = D.max(top.minus(i === 0 ? 0 : t.lower), 0);
    const perUnit = dec(t.raw['per_unit_amount'] ?? '0', `${path}.graduated_ranges[${i}].per_unit_amount`);
    const flat = dec(t.raw['flat_amount'] ?? '0', `${path}.graduated_ranges[${i}].flat_amount`);
    amount = amount.plus(units.times(perUnit)).plus(flat);
  });
  return { amount, unitAmount: amount.div(total) };
}
