// Exhaustive dispatch over charge models. Each model returns a precise, unrounded amount; rounding
// happens once per invoice line in invoice.ts.
import { D, str } from '../money';
import { BillingError } from '../errors';
import type { UsageBucket } from '../aggregation';
import type { Charge, ChargeModel, ChargeProperties } from '../types';
import type { RateContext, RatedAmount, RatedDec } from './common';
import { rateStandard } from './standard';
import { rateGraduated } from './graduated';
import { rateVolume } from './volume';
import { ratePackage } from './package';
import { ratePercentage } from './percentage';
import { rateGraduatedPercentage } from './graduated-percentage';
import { rateDynamic } from './dynamic';


export type { RateContext, RatedAmount, RatedDec, ZeroUsageFlatFee } from './common';

/** Precise (Decimal) price of a bucket under a model: the exhaustive switch. */
export function dispatchRate(model: ChargeModel, properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext): RatedDec {
  switch (model) {
    case 'standard':
      return rateStandard(properties, bucket, ctx);
    case 'graduated':
      return rateGraduated(properties, bucket, ctx);
    case 'volume':
      return rateVolume(properties, bucket, ctx);
    case 'package':
      return ratePackage(properties, bucket, ctx);
    case 'percentage':
      return ratePercentage(properties, bucket, ctx);
    case 'graduated_percentage':
      return rateGraduatedPercentage(properties, bucket, ctx);
    case 'dynamic':
      return rateDynamic(properties, bucket, ctx);
    default: {
      const never: never = model;
      throw new BillingError('unknown_charge_model', `Unknown charge model ${String(never)}`, 'charge_model');
    }
  }
}


/**
 * Price one usage bucket of a charge with the given properties (the charge's, or its filter's).
 * When ctx.prorationRatio is set and the charge is `prorated`, the amount is multiplied by it.
 */
export function rateBucket(charge: Charge, properties: ChargeProperties, bucket: UsageBucket, ctx: RateContext): RatedAmount {
  const r = dispatchRate(charge.chargeModel, properties, bucket, ctx);
  let amount = r.amount;
  let unitAmount = r.unitAmount;
  if (charge.prorated && ctx.prorationRatio !== undefined && ctx.prorationRatio !== '1') {
    const ratio = new D(ctx.prorationRatio);
    amount = amount.times(ratio);
    unitAmount = unitAmount.times(ratio);
  }
  return { units: bucket.units, amount: str(amount), unitAmount: str(unitAmount) };
}
