// Package: (units − free_units) rounded UP to whole packages of package_size, × amount per package.
// Lago: app/services/charge_models/package_service.rb (121 units, size 10, 100/package → 1,300).
// unitAmount follows Lago: amount / paid units.
import { D } from '../money';
import type { UsageBucket } from '../aggregation';
import type { ChargeProperties } from '../types';
import { optProp, prop, type RateContext, type RatedDec } from './common';

export function ratePackage(properties: ChargeProperties, bucket: UsageBucket, _ctx: RateContext, path = 'properties'): RatedDec {
  const price = prop(properties, 'amount', path);
  const size = prop(properties, 'package_size', path);
  const free = optProp(properties, 'free_units', path) ?? new D(0);
  const paid = new D(bucket.units).minus(free);
  if (paid.lte(0) || size.lte(0)) return { amount: new D(0), unitAmount: new D(0) };
  const packages = paid.div(size).ceil();
  const amount = packages.times(price);
  return { amount, unitAmount: amount.div(paid) };
}
