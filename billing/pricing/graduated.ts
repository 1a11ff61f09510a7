// Graduated: each tier prices the units that fall inside it, plus its flat_amount once the tier is
// entered. Lago: app/services/charge_models/graduated_service.rb + amount_details/range_graduated_service.rb.
// Zero usage: see common.ts (default "charge": first tier flat fee at 0 units).
import type { UsageBucket } from '../aggregation';
import { dec } from '../money';
import type { ChargeProperties } from '../types';
import { rateTiersGraduated, type RateContext, type RatedDec } from './common';

export function rateGraduated(properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext, path = 'properties'): RatedDec {
  return rateTiersGraduated(properties, bucket.units, ctx, 'graduated_ranges', path, (units, tier, tierPath) =>
    units.times(dec(tier.raw['per_unit_amount'] ?? '0', `${tierPath}.per_unit_amount`)),
  );
}
