// Volume: all units are priced at the per_unit_amount of the ONE tier the total falls in, plus that
// tier's flat_amount. Tier match as Lago: from_value <= ceil(units) and (to_value null or units <= to_value),
// first match wins (so 100.5 with 0–100 / 101–200 is priced in the 101–200 tier).
// Lago: app/services/charge_models/volume_service.rb. Zero usage: see common.ts.
import { D, dec } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import { readTiers, zeroUsagePolicy, type RateContext, type RatedDec } from './common';

export function rateVolume(properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext, path = 'properties'): RatedDec {
  const tiers = readTiers(properties, 'volume_ranges', path);
  const units = new D(bucket.units);
  if (units.isNegative()) return { amount: new D(0), unitAmount: new D(0) };
  if (units.isZero() && zeroUsagePolicy(properties, ctx) === 'skip') return { amount: new D(0), unitAmount: new D(0) };
  const ceil = units.ceil();
  const i = tiers.findIndex((t) => t.from.lte(ceil) && (t.to === null || units.lte(t.to)));
  if (i < 0) return { amount: new D(0), unitAmount: new D(0) };
  const t = tiers[i]!;
  const perUnit = dec(t.raw['per_unit_amount'] ?? '0', `${path}.volume_ranges[${i}].per_unit_amount`);
  const flat = dec(t.raw['flat_amount'] ?? '0', `${path}.volume_ranges[${i}].flat_amount`);
  const amount = units.times(perUnit).plus(flat);
  return { amount, unitAmount: units.isZero() ? new D(0) : amount.div(units) };
}
