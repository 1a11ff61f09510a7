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
import { percentageNeedsEventValues, ratePercentage } from './percentage';
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
 * How a charge model uses per-event values (bucket.eventValues), the one rule every usage reader follows:
 * - 'required': the model cannot be priced from totals (units, eventsCount): dynamic (each event's own amount),
 *   percentage with per-event properties (per-transaction min/max, free units per events, free total + fixed fee);
 * - 'optional': the model reads them when present but totals give the same price (other percentage charges);
 * - 'none': the model never reads them.
 * `properties` = every properties object that prices a bucket of the charge (the charge's and its filters').
 */
export type EventValuesUse = 'required' | 'optional' | 'none';

export function modelEventValuesUse(model: ChargeModel, properties: ChargeProperties[]): EventValuesUse {
  switch (model) {
    case 'dynamic':
      return 'required';
    case 'percentage':
      return properties.some(percentageNeedsEventValues) ? 'required' : 'optional';
    case 'standard':
    case 'graduated':
    case 'volume':
    case 'package':
    case 'graduated_percentage':
      return 'none';
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
