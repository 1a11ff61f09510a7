// Usage from per-dimension totals (hourly rollups + edge events): the aggregation math of the rollup reader
// (usage/rollup-usage.ts), pure. A "dims" row = the totals (events count, Σ value, max value) of the events
// with one combination of dimension values; filter matching and pricing groups run over those few rows with
// this module's matchFilter / bucketProperties / pricingGroupKeys, so buckets equal billing/aggregateCharge over
// the raw events (modulo bucket order inside one filter slot, sorted here by group values). Only for
// aggregations that totals answer (aggregation.ts aggregatesFromTotals: count, sum, max).
import { BillingError } from './errors';
import { bucketProperties, matchFilter, numericEventValue, pricingGroupKeys, type ChargeUsage, type UsageBucket } from './aggregation';
import { D, str, type Dec } from './money';
import type { AggregationType, Charge, EventPropertyValue } from './types';

export interface DimsTotals {
  dims: Record<string, string | null>;
  eventsCount: number;
  /** Decimal strings. */
  sum: string;
  max: string | null;
}

/** Dimension keys a charge reads: its filters' keys and the pricing group keys of every filter slot. */
export function chargeDimKeys(charge: Charge): string[] {
  const keys = new Set<string>(pricingGroupKeys(charge.properties));
  for (const f of charge.filters) {
    for (const k of Object.keys(f.values)) keys.add(k);
    for (const k of pricingGroupKeys(f.properties)) keys.add(k);
  }
  return [...keys];
}

interface Acc {
  dims: Record<string, string | null>;
  eventsCount: number;
  sum: Dec;
  max: Dec | null;
}

/** Sums totals per projected dims key, for one metric. */
export class DimsTotalsAccumulator {
  private readonly accs = new Map<string, Acc>();

  constructor(private readonly metric: { code: string; aggregationType: AggregationType; fieldName: string | null }) {}

  private acc(key: string, dims: Record<string, string | null>): Acc {
    let a = this.accs.get(key);
    if (!a) this.accs.set(key, (a = { dims, eventsCount: 0, sum: new D(0), max: null }));
    return a;
  }

  /** A rollup row's totals (sum / max as Postgres numeric text). */
  addTotals(key: string, dims: Record<string, string | null>, eventsCount: number, sum: string, max: string | null): void {
    const a = this.acc(key, dims);
    a.eventsCount += eventsCount;
    a.sum = a.sum.plus(sum);
    if (max !== null) a.max = a.max === null ? new D(max) : D.max(a.max, max);
  }

  /** One raw event (edge hours); a present non-numeric value throws 'invalid_event_value'. */
  addEvent(key: string, dims: Record<string, string | null>, transactionId: string, properties: Record<string, EventPropertyValue>): void {
    const a = this.acc(key, dims);
    a.eventsCount += 1;
    const m = this.metric;
    if (m.aggregationType === 'count_agg') return;
    if (!m.fieldName) throw new BillingError('missing_field_name', `Metric ${m.code} (${m.aggregationType}) needs a field_name`, 'field_name');
    const raw = properties[m.fieldName];
    if (raw === undefined || raw === null) return;
    const v = numericEventValue(raw, m.fieldName, transactionId);
    a.sum = a.sum.plus(v);
    a.max = a.max === null ? v : D.max(a.max, v);
  }

  totals(): DimsTotals[] {
    return [...this.accs.values()].map((a) => ({ dims: a.dims, eventsCount: a.eventsCount, sum: str(a.sum), max: a.max === null ? null : str(a.max) }));
  }
}

/** The charge's usage buckets from its metric's dims totals (every filter slot has a bucket, zero when empty). */
export function usageFromDimsTotals(charge: Charge, rows: Iterable<DimsTotals>): ChargeUsage {
  const agg = charge.billableMetric.aggregationType;
  const accs = new Map<string, { filterIndex: number | null; groupedBy: Record<string, string>; eventsCount: number; sum: Dec; max: Dec | null }>();
  for (const r of rows) {
    if (r.eventsCount === 0) continue;
    const filterIndex = charge.filters.length > 0 ? matchFilter(charge, r.dims) : null;
    const keys = pricingGroupKeys(bucketProperties(charge, filterIndex));
    const groupedBy: Record<string, string> = {};
    for (const k of keys) groupedBy[k] = r.dims[k] ?? '';
    const id = JSON.stringify([filterIndex, keys.map((k) => groupedBy[k])]);
    let a = accs.get(id);
    if (!a) accs.set(id, (a = { filterIndex, groupedBy, eventsCount: 0, sum: new D(0), max: null }));
    a.eventsCount += r.eventsCount;
    a.sum = a.sum.plus(r.sum);
    if (r.max !== null) a.max = a.max === null ? new D(r.max) : D.max(a.max, r.max);
  }
  const slotOrder = (f: number | null) => (f === null ? charge.filters.length : f);
  const ordered = [...accs.entries()].sort(
    ([ka, a], [kb, b]) => slotOrder(a.filterIndex) - slotOrder(b.filterIndex) || (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
  const buckets: UsageBucket[] = [];
  const slots: (number | null)[] = [...charge.filters.map((_, i) => i), null];
  for (const slot of slots) {
    const inSlot = ordered.filter(([, a]) => a.filterIndex === slot);
    if (inSlot.length === 0) {
      buckets.push({ filterIndex: slot, groupedBy: {}, units: '0', eventsCount: 0 });
      continue;
    }
    for (const [, a] of inSlot) {
      const units = agg === 'count_agg' ? new D(a.eventsCount) : agg === 'sum_agg' ? a.sum : (a.max ?? new D(0));
      buckets.push({ filterIndex: a.filterIndex, groupedBy: a.groupedBy, units: str(units), eventsCount: a.eventsCount });
    }
  }
  return { chargeId: charge.id, buckets };
}
