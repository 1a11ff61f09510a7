// Usage from per-dimension aggregates computed in SQL (the period close's reader, usage/sql-usage.ts): pure.
// A "dims aggregate" = the aggregates of the period's events of one metric that share one combination of
// dimension values (the raw JSON values of the charge's filter keys and pricing group keys): events count,
// Σ value, max value, the time-weighted area Σ vᵢ × (period end − tᵢ), the latest value, Σ precise_total_amount,
// and the (timestamp µs, id) of the first event. Filter matching and pricing groups run over those few rows with
// billing/aggregation's matchFilter / bucketProperties / pricingGroupKeys (String(v) of the JSON value, as for raw
// events), so the buckets equal billing/aggregateCharge over the raw events, in the same order (first event of
// the bucket, as the raw path's stable time sort gives).
//
// Every aggregation is answered from these rows:
//   count / sum / max                 additive / max over the dims rows of a bucket;
//   weighted_sum_agg                  Σ vᵢ × (end − tᵢ) / (end − start): with the level starting at 0 (no carried
//                                     units at close), Σ levelᵢ × durationᵢ telescopes to Σ vᵢ × (end − tᵢ); additive;
//   latest_agg                        the value of the dims row whose latest valued event is the greatest
//                                     (timestamp µs, id) — the raw path's "last in timestamp, then input order";
//   unique_count_agg                  NOT mergeable across dims rows: counted in SQL per bucket
//                                     (bucketAssignments → the SQL reader counts distinct values per bucket id);
//   dynamic charges                   Σ precise_total_amount per bucket (bucket.preciseTotalAmountSum).
import { bucketProperties, matchFilter, pricingGroupKeys, type ChargeUsage, type UsageBucket } from './aggregation';
import { BillingError } from './errors';
import { D, str, type Dec } from './money';
import type { Charge, EventPropertyValue, Period } from './types';

/** (timestamp in µs since the epoch, event id), both non-negative integers as decimal strings. */
export type EventOrderKey = [string, string];

export interface DimsAggregate {
  /** The raw JSON values of the dimension keys (null when absent or JSON null). */
  dims: Record<string, EventPropertyValue>;
  eventsCount: number;
  /** Σ of the numeric values (decimal string). */
  sum: string;
  /** Max of the numeric values; null when no event carried one. */
  max: string | null;
  /** Σ vᵢ × (period end ms − tᵢ ms) (decimal string). */
  weightedArea: string;
  /** The latest event carrying a value, when the metric is latest_agg. */
  latest: { key: EventOrderKey; value: string } | null;
  /** Σ precise_total_amount (decimal string). */
  preciseSum: string;
  /** The first event of the row in (timestamp, id) order. */
  first: EventOrderKey;
}

function cmpUint(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export function compareOrderKeys(a: EventOrderKey, b: EventOrderKey): number {
  return cmpUint(a[0], b[0]) || cmpUint(a[1], b[1]);
}

function propString(v: EventPropertyValue | undefined): string | null {
  return v === undefined || v === null ? null : String(v);
}

/** Which bucket of the charge a dims row belongs to: its id (stable JSON), filter slot and group values. */
export function dimsBucket(charge: Charge, dims: Record<string, EventPropertyValue>): { id: string; filterIndex: number | null; groupedBy: Record<string, string> } {
  const filterIndex = charge.filters.length > 0 ? matchFilter(charge, dims) : null;
  const keys = pricingGroupKeys(bucketProperties(charge, filterIndex));
  const groupedBy: Record<string, string> = {};
  for (const k of keys) groupedBy[k] = propString(dims[k]) ?? '';
  return { id: JSON.stringify([filterIndex, keys.map((k) => groupedBy[k])]), filterIndex, groupedBy };
}

interface Acc {
  filterIndex: number | null;
  groupedBy: Record<string, string>;
  eventsCount: number;
  sum: Dec;
  max: Dec | null;
  area: Dec;
  latest: { key: EventOrderKey; value: string } | null;
  precise: Dec;
  first: EventOrderKey;
}

/**
 * The charge's usage buckets from its metric's dims aggregates (every filter slot has a bucket, zero when empty).
 * `uniqueCounts` (bucket id → distinct values) is required for unique_count_agg metrics.
 */
export function usageFromDimsAggregates(charge: Charge, period: Period, rows: Iterable<DimsAggregate>, uniqueCounts?: Map<string, number>): ChargeUsage {
  const agg = charge.billableMetric.aggregationType;
  const startMs = Date.parse(period.start);
  const endMs = Date.parse(period.end);
  if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs < startMs) {
    throw new BillingError('invalid_period', `Invalid period ${period.start}..${period.end}`, 'period');
  }
  if (agg === 'unique_count_agg' && !uniqueCounts) throw new BillingError('unique_counts_required', `Charge ${charge.id}: unique counts per bucket are required`);
  const accs = new Map<string, Acc>();
  for (const r of rows) {
    if (r.eventsCount === 0) continue;
    const b = dimsBucket(charge, r.dims);
    let a = accs.get(b.id);
    if (!a) {
      a = { filterIndex: b.filterIndex, groupedBy: b.groupedBy, eventsCount: 0, sum: new D(0), max: null, area: new D(0), latest: null, precise: new D(0), first: r.first };
      accs.set(b.id, a);
    }
    a.eventsCount += r.eventsCount;
    a.sum = a.sum.plus(r.sum);
    if (r.max !== null) a.max = a.max === null ? new D(r.max) : D.max(a.max, r.max);
    a.area = a.area.plus(r.weightedArea);
    if (r.latest && (!a.latest || compareOrderKeys(r.latest.key, a.latest.key) > 0)) a.latest = r.latest;
    a.precise = a.precise.plus(r.preciseSum);
    if (compareOrderKeys(r.first, a.first) < 0) a.first = r.first;
  }
  const duration = endMs - startMs;
  const unitsOf = (id: string, a: Acc): Dec => {
    switch (agg) {
      case 'count_agg':
        return new D(a.eventsCount);
      case 'sum_agg':
        return a.sum;
      case 'max_agg':
        return a.max ?? new D(0);
      case 'unique_count_agg':
        return new D(uniqueCounts!.get(id) ?? 0);
      case 'latest_agg':
        return a.latest ? new D(a.latest.value) : new D(0);
      case 'weighted_sum_agg':
        return duration <= 0 ? new D(0) : a.area.div(duration);
      default: {
        const never: never = agg;
        throw new BillingError('unknown_aggregation', `Unknown aggregation ${String(never)}`, 'aggregation_type');
      }
    }
  };
  const ordered = [...accs.entries()].sort(([, a], [, b]) => compareOrderKeys(a.first, b.first));
  const buckets: UsageBucket[] = [];
  const slots: (number | null)[] = [...charge.filters.map((_, i) => i), null];
  for (const slot of slots) {
    const inSlot = ordered.filter(([, a]) => a.filterIndex === slot);
    if (inSlot.length === 0) {
      buckets.push({ filterIndex: slot, groupedBy: {}, units: '0', eventsCount: 0 });
      continue;
    }
    for (const [id, a] of inSlot) {
      const bucket: UsageBucket = { filterIndex: a.filterIndex, groupedBy: a.groupedBy, units: str(unitsOf(id, a)), eventsCount: a.eventsCount };
      if (charge.chargeModel === 'dynamic') bucket.preciseTotalAmountSum = str(a.precise);
      buckets.push(bucket);
    }
  }
  return { chargeId: charge.id, buckets };
}

/** Bucket id of every dims row (the SQL reader's input for counting distinct values per bucket). */
export function bucketAssignments(charge: Charge, rows: Iterable<DimsAggregate>): { dims: Record<string, EventPropertyValue>; bucket: string }[] {
  const out: { dims: Record<string, EventPropertyValue>; bucket: string }[] = [];
  for (const r of rows) out.push({ dims: r.dims, bucket: dimsBucket(charge, r.dims).id });
  return out;
}
