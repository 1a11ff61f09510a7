// Graduated percentage: like graduated, but each tier charges `rate` % of the units (amounts) that
// fall inside it, plus the tier's flat_amount once entered.
// Lago: app/services/charge_models/graduated_percentage_service.rb + amount_details/range_graduated_percentage_service.rb
// (0–10 @1 % + 200, 11–20 @2 % + 300, 21+ @3 % + 400: 21 units → 900.33).
// Zero usage: see common.ts (default "charge": first tier flat fee at 0 units, Lago 2026).
import type { UsageBucket } from '../aggregation';
import { dec } from '../money';
import type { ChargeProperties } from '../types';
import { rateTiersGraduated, type RateContext, type RatedDec } from './common';

export function rateGraduatedPercentage(properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext, path = 'properties'): RatedDec {
  return rateTiersGraduated(properties, bucket.units, ctx, 'graduated_percentage_ranges', path, (units, tier, tierPath) =>
    units.times(dec(tier.raw['rate'] ?? '0', `${tierPath}.rate`)).div(100),
  );
}
