// Projected usage (Lago's GET /customers/:id/projected_usage): the open period's usage so far, extrapolated to the
// period end. Pure: the caller passes the instants (no clock here).
//
// The rule:
// - ratio = (period end − period start) / (now − period start), in milliseconds; 1 when no time has elapsed yet
//   (nothing to extrapolate from) or when the period is over.
// - Additive usage (count_agg, sum_agg, not recurring) grows with time: projected units = units × ratio, projected
//   amount = amount × ratio.
// - Other usage does not accumulate over the period (max_agg, latest_agg, unique_count_agg, weighted_sum_agg and every
//   recurring metric: a seat count or a peak is not doubled by waiting twice as long): projected = current.
// - Rounding point P1: the projected amount (minor units × ratio) is rounded once, half-up, to an integer of minor
//   units. Projected units are unrounded decimal strings. The projected total is the sum of the rounded
//   per-charge projections (never re-rounded). Charges are extrapolated on their priced amount (not re-priced at the
//   projected units), so a graduated or volume tier the projection would reach is not anticipated.
import type { AggregationType } from './types';
import { D, type Dec, str } from './money';

export type ProjectionMode = 'extrapolated' | 'held';

export function projectionMode(aggregationType: AggregationType, recurring: boolean): ProjectionMode {
  if (recurring) return 'held';
  return aggregationType === 'count_agg' || aggregationType === 'sum_agg' ? 'extrapolated' : 'held';
}

/** Period length over elapsed time (all ISO instants). */
export function projectionRatio(periodStart: string, periodEnd: string, now: string): Dec {
  const start = Date.parse(periodStart);
  const end = Date.parse(periodEnd);
  const at = Date.parse(now);
  if (![start, end, at].every(Number.isFinite) || end <= start) return new D(1);
  const elapsed = Math.min(at, end) - start;
  if (elapsed <= 0) return new D(1);
  return new D(end - start).div(elapsed);
}

export interface ProjectedUsage {
  /** Decimal string, unrounded. */
  projectedUnits: string;
  /** Integer minor units (P1). */
  projectedAmountCents: number;
}

export function projectUsage(units: string, amountCents: number, mode: ProjectionMode, ratio: Dec): ProjectedUsage {
  if (mode === 'held') return { projectedUnits: str(new D(units)), projectedAmountCents: amountCents };
  const projected = new D(amountCents).mul(ratio).toDecimalPlaces(0, D.ROUND_HALF_UP);
  return { projectedUnits: str(new D(units).mul(ratio)), projectedAmountCents: projected.toNumber() };
}
