// Standard: amount × units. Lago: app/services/charge_models/standard_service.rb.
import { D } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import { prop, type RateContext, type RatedDec } from './common';

export function rateStandard(properties: ChargeProperties, bucket: UsageBucket, _ctx: RateContext, path = 'properties'): RatedDec {
  const price = prop(properties, 'amount', path);
  const units = new D(bucket.units);
  return { amount: units.times(price), unitAmount: units.isZero() ? new D(0) : price };
}
