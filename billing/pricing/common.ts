// Shared pieces of the charge models: the rating result, the context, and property readers.
//
// Zero-usage policy (graduated, graduated_percentage, volume) — property `zero_usage_flat_fee`:
//   "charge" (DEFAULT, current Lago since 2026): at 0 units the FIRST tier's flat_amount is billed
//            (lago-api spec/services/charge_models/graduated_service_spec.rb "when aggregation is 0:
//            applies the flat amount from the first tier" → 2; volume_service_spec.rb → 10).
//   "skip"   (Lago before 2026): at 0 units nothing is billed.
// Pay-in-advance deltas always price the "before" side of the very first event with "skip", so the
// first event carries the first tier's flat fee and Σ deltas = price(total) (Lago's exclude_event).

import { BillingError } from '../errors';
import { D, dec, type Dec } from '../money';
import type { ChargeProperties } from '../types';

export interface RatedAmount {
  units: string;
  /** Precise decimal amount in major units, unrounded. */
  amount: string;
  /** Precise average unit price (amount / units, 0 when no units; package: amount / paid units). */
  unitAmount: string;
}

export type ZeroUsageFlatFee = 'charge' | 'skip';

export interface RateContext {
  /** Invoice currency (informational: models return unrounded major-unit amounts). */
  currency?: string;
  /** Overrides the charge's `zero_usage_flat_fee` (used for the "before" side of pay-in-advance deltas). */
  zeroUsageFlatFee?: ZeroUsageFlatFee;
  /** Ratio applied to the amount of a prorated charge (decimal string), "1" or absent = none. */
  prorationRatio?: string;
}

export interface RatedDec {
  amount: Dec;
  unitAmount: Dec;
}

export function prop(properties: ChargeProperties, key: string, path: string): Dec {
  const v = properties[key];
  if (v === undefined || v === null) {
    throw new BillingError('missing_property', `Missing property ${key}`, `${path}.${key}`);
  }
  return dec(v, `${path}.${key}`);
}

export function optProp(properties: ChargeProperties, key: string, path: string): Dec | null {
  const v = properties[key];
  if (v === undefined || v === null || v === '') return null;
  return dec(v, `${path}.${key}`);
}

export function zeroUsagePolicy(properties: ChargeProperties, ctx: RateContext): ZeroUsageFlatFee {
  if (ctx.zeroUsageFlatFee) return ctx.zeroUsageFlatFee;
  const v = properties['zero_usage_flat_fee'];
  return v === 'skip' ? 'skip' : 'charge';
}

export interface Tier {
  /** Exclusive lower bound of the tier: 0 for the first, the previous tier's to_value otherwise. */
  lower: Dec;
  from: Dec;
  /** Inclusive upper bound; null = infinity. */
  to: Dec | null;
  raw: Record<string, unknown>;
}

/**
 * Read `ranges` in Lago's shape. Both Lago range styles are supported: "classic" (from_value =
 * previous to_value + 1, e.g. 0–10, 11–20, 21–∞) and "adjacent" (from_value = previous to_value,
 * e.g. 0–0.1, 0.1–1, 1–∞). In both, a tier covers the units in (previous to_value, to_value], so
 * 10.5 units fill 10 + 0.5 (this is Lago's RangeGraduatedService: units = min(total,to) − from + 1
 * for classic, − from for adjacent).
 */
export function readTiers(properties: ChargeProperties, key: string, path: string): Tier[] {
  const ranges = properties[key];
  if (!Array.isArray(ranges) || ranges.length === 0) {
    throw new BillingError('missing_property', `Missing ${key}`, `${path}.${key}`);
  }
  let prevTo: Dec | null = null;
  return ranges.map((r: unknown, i: number) => {
    if (typeof r !== 'object' || r === null) throw new BillingError('invalid_range', `Bad range`, `${path}.${key}[${i}]`);
    const raw = r as Record<string, unknown>;
    const from = dec(raw['from_value'], `${path}.${key}[${i}].from_value`);
    const to = raw['to_value'] === null || raw['to_value'] === undefined ? null : dec(raw['to_value'], `${path}.${key}[${i}].to_value`);
    const lower: Dec = i === 0 ? from : (prevTo ?? from);
    prevTo = to;
    return { lower, from, to, raw };
  });
}

/**
 * The graduated walk shared by `graduated` and `graduated_percentage`: each tier entered prices the units inside
 * it with `slice` (per-unit amount, or a rate of them) plus its `flat_amount` once; at zero units the first
 * tier's flat fee follows the zero-usage policy.
 */
export function rateTiersGraduated(
  properties: ChargeProperties,
  units: string,
  ctx: RateContext,
  key: string,
  path: string,
  slice: (tierUnits: Dec, tier: Tier, tierPath: string) => Dec,
): RatedDec {
  const tiers = readTiers(properties, key, path);
  const total = new D(units);
  if (total.lte(0)) {
    const flat = zeroUsagePolicy(properties, ctx) === 'charge' ? dec(tiers[0]!.raw['flat_amount'] ?? '0', `${path}.${key}[0].flat_amount`) : new D(0);
    return { amount: flat, unitAmount: new D(0) };
  }
  let amount = new D(0);
  tiers.forEach((t, i) => {
    if (i > 0 && total.lte(t.lower)) return;
    const top = t.to === null || total.lt(t.to) ? total : t.to;
    const tierUnits = D.max(top.minus(i === 0 ? 0 : t.lower), 0);
    const tierPath = `${path}.${key}[${i}]`;
    const flat = dec(t.raw['flat_amount'] ?? '0', `${tierPath}.flat_amount`);
    amount = amount.plus(slice(tierUnits, t, tierPath)).plus(flat);
  });
  return { amount, unitAmount: amount.div(total) };
}
