// Reference aggregation of raw usage events into per-bucket units (Lago semantics).
//
// - Only events with start <= timestamp < end count. Events of other metrics are the caller's problem.
// - Buckets: one per (filter, pricing-group values). filterIndex is the index into charge.filters
//   of the MOST SPECIFIC matching filter (the one constraining the most keys; ties: lowest index);
//   events matching no filter go to the `filterIndex: null` bucket (also used when the charge has no
//   filters). An event matches a filter when, for every key of filter.values, the event's property
//   (stringified) is one of the listed values.
// - Pricing groups: `pricing_group_keys` (Lago's name; legacy `grouped_by` is accepted too) in the
//   properties that apply to the bucket (the filter's properties, or the charge's for null). One
//   bucket per distinct combination; a missing property groups under "".
// - Every filter slot (each filter + null) always has at least one bucket; with no events it is
//   `{ groupedBy: {}, units: "0", eventsCount: 0 }` so an invoice can show zero lines.
// - Numeric aggregations read `billableMetric.fieldName`. An event WITHOUT that property is ignored by
//   the value (it still counts in eventsCount); a present but non-numeric value (boolean, "abc", NaN)
//   throws BillingError 'invalid_event_value' — never silently 0.
//
// Aggregations:
//   count_agg          number of events (+ carried units for recurring metrics)
//   sum_agg            Σ values (+ carried)
//   max_agg            max value (0 with no events; max with carried when recurring)
//   unique_count_agg   number of distinct values (stringified; + carried)
//   latest_agg         value of the latest event by timestamp (ties: last in input order); carried or 0 when none
//   weighted_sum_agg   time-weighted level over the period, Lago's semantics: each event value is a
//                      delta applied to a running level that starts at carriedUnits (0 if none);
//                      units = Σ level_i × duration_i / period_duration, durations in milliseconds of
//                      the half-open period (the same ratio as Lago's seconds for second-aligned events).
//                      Example: 1,000 GB from the 1st, +1,000 at mid-month of a 30-day month → 1,500.
//
// eventValues (per event units, in timestamp order) are attached for percentage charges (per
// transaction min/max and free units per events/total) and for dynamic charges
// (preciseTotalAmount). SQL rollups can provide the same shape; `units`/`eventsCount` suffice otherwise.

import { BillingError } from './errors';
import { D, isDecimalString, str, type Dec } from './money';
import { modelEventValuesUse, type EventValuesUse } from './pricing';
import type { AggregationType, Charge, ChargeProperties, EventPropertyValue, Period, UsageEvent } from './types';

export interface UsageBucket {
  /** Index into charge.filters; null = the "no filter matched" rest (or charge has no filters). */
  filterIndex: number | null;
  /** Pricing group values ({} when the charge has no pricing_group_keys). */
  groupedBy: Record<string, string>;
  /** Aggregated value, decimal string. */
  units: string;
  eventsCount: number;
  /** Per event, only when the model needs it (percentage per-transaction min/max & free units, dynamic). */
  eventValues?: { units: string; preciseTotalAmount?: string | null }[];
  /** Dynamic charges read in SQL: Σ of the bucket's events' precise_total_amount (instead of eventValues). */
  preciseTotalAmountSum?: string;
}

export interface ChargeUsage {
  chargeId: string;
  buckets: UsageBucket[];
}

export interface AggregateOptions {
  /** Recurring metrics: the value carried from the previous period (decimal string). */
  carriedUnits?: string;
}

/** Parse an event property into a Decimal, or throw 'invalid_event_value'. */
export function numericEventValue(v: EventPropertyValue | undefined, field: string, transactionId: string): Dec {
  if (typeof v === 'number' && Number.isFinite(v)) return new D(v);
  if (typeof v === 'string') {
    const t = v.trim();
    if (isDecimalString(t)) return new D(t);
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return new D(t);
  }
  throw new BillingError(
    'invalid_event_value',
    `Event ${transactionId}: property "${field}" is not numeric (${JSON.stringify(v)})`,
    `properties.${field}`,
  );
}

export function pricingGroupKeys(properties: ChargeProperties): string[] {
  const keys = properties['pricing_group_keys'] ?? properties['grouped_by'];
  if (!Array.isArray(keys)) return [];
  return keys.filter((k): k is string => typeof k === 'string');
}

function propString(v: EventPropertyValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return String(v);
}

/** Index of the most specific matching filter, or null. */
export function matchFilter(charge: Charge, properties: Record<string, EventPropertyValue>): number | null {
  let best: number | null = null;
  let bestKeys = -1;
  charge.filters.forEach((f, i) => {
    const keys = Object.keys(f.values);
    const ok = keys.every((k) => {
      const v = propString(properties[k]);
      return v !== null && (f.values[k] ?? []).includes(v);
    });
    if (ok && keys.length > bestKeys) {
      best = i;
      bestKeys = keys.length;
    }
  });
  return best;
}

export function bucketProperties(charge: Charge, filterIndex: number | null): ChargeProperties {
  if (filterIndex === null) return charge.properties;
  const f = charge.filters[filterIndex];
  if (!f) throw new BillingError('invalid_bucket', `Charge ${charge.id} has no filter ${filterIndex}`);
  return f.properties;
}

/** How the charge's model uses per-event values, over every properties object of the charge (pricing/index.ts). */
export function eventValuesUse(charge: Charge): EventValuesUse {
  return modelEventValuesUse(charge.chargeModel, [charge.properties, ...charge.filters.map((f) => f.properties)]);
}

/**
 * Aggregations whose result over a period is a plain function of per-part totals (events count, Σ, max), so
 * they can be read from SQL aggregates or hourly rollups: count_agg, sum_agg, max_agg. The others
 * (unique_count, latest, weighted_sum) need the events themselves.
 */
export function aggregatesFromTotals(aggregationType: AggregationType): boolean {
  return aggregationType === 'count_agg' || aggregationType === 'sum_agg' || aggregationType === 'max_agg';
}

/** True when the charge's usage can be read as totals (count / Σ / max per bucket) without per-event values. */
export function usageReadableFromTotals(charge: Charge): boolean {
  return aggregatesFromTotals(charge.billableMetric.aggregationType) && eventValuesUse(charge) !== 'required';
}

/** True when the charge's usage is one bucket: no filters, no pricing groups. */
export function isSingleBucketCharge(charge: Charge): boolean {
  return charge.filters.length === 0 && pricingGroupKeys(charge.properties).length === 0;
}

interface Acc {
  filterIndex: number | null;
  groupedBy: Record<string, string>;
  events: UsageEvent[];
}

function sortKey(e: UsageEvent): number {
  return Date.parse(e.timestamp);
}

/** Usage of a charge with no events at all (one zero bucket per filter slot). */
export function emptyUsage(charge: Charge, opts?: AggregateOptions): ChargeUsage {
  return aggregateChargeEvents(charge, [], null, opts);
}

export function aggregateCharge(charge: Charge, events: UsageEvent[], period: Period, opts?: AggregateOptions): ChargeUsage {
  const startMs = Date.parse(period.start);
  const endMs = Date.parse(period.end);
  if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs < startMs) {
    throw new BillingError('invalid_period', `Invalid period ${period.start}..${period.end}`, 'period');
  }
  const inPeriod = events.filter((e) => {
    const t = Date.parse(e.timestamp);
    if (Number.isNaN(t)) throw new BillingError('invalid_event_timestamp', `Event ${e.transactionId}: bad timestamp`, 'timestamp');
    return t >= startMs && t < endMs;
  });
  return aggregateChargeEvents(charge, inPeriod, { startMs, endMs }, opts);
}

function aggregateChargeEvents(
  charge: Charge,
  events: UsageEvent[],
  window: { startMs: number; endMs: number } | null,
  opts?: AggregateOptions,
): ChargeUsage {
  const carried = opts?.carriedUnits !== undefined && charge.billableMetric.recurring ? new D(opts.carriedUnits) : null;
  const slots: (number | null)[] = [...charge.filters.map((_, i) => i), null];
  const accs = new Map<string, Acc>();
  const sorted = [...events].map((e, i) => ({ e, i })).sort((a, b) => sortKey(a.e) - sortKey(b.e) || a.i - b.i).map((x) => x.e);

  for (const e of sorted) {
    const filterIndex = charge.filters.length > 0 ? matchFilter(charge, e.properties) : null;
    const keys = pricingGroupKeys(bucketProperties(charge, filterIndex));
    const groupedBy: Record<string, string> = {};
    for (const k of keys) groupedBy[k] = propString(e.properties[k]) ?? '';
    const id = JSON.stringify([filterIndex, keys.map((k) => groupedBy[k])]);
    let acc = accs.get(id);
    if (!acc) {
      acc = { filterIndex, groupedBy, events: [] };
      accs.set(id, acc);
    }
    acc.events.push(e);
  }
  for (const slot of slots) {
    if (![...accs.values()].some((a) => a.filterIndex === slot)) {
      accs.set(JSON.stringify([slot, 'empty']), { filterIndex: slot, groupedBy: {}, events: [] });
    }
  }

  const buckets: UsageBucket[] = [];
  const slotOrder = (f: number | null) => (f === null ? charge.filters.length : f);
  const ordered = [...accs.values()].sort((a, b) => slotOrder(a.filterIndex) - slotOrder(b.filterIndex));
  for (const acc of ordered) {
    const units = aggregateEvents(charge, acc.events, window, carried);
    const bucket: UsageBucket = {
      filterIndex: acc.filterIndex,
      groupedBy: acc.groupedBy,
      units: str(units),
      eventsCount: acc.events.length,
    };
    if (eventValuesUse(charge) !== 'none') {
      bucket.eventValues = eventValuesOf(charge, acc.events);
    }
    buckets.push(bucket);
  }
  return { chargeId: charge.id, buckets };
}

function fieldOf(charge: Charge): string {
  const f = charge.billableMetric.fieldName;
  if (!f) {
    throw new BillingError(
      'missing_field_name',
      `Metric ${charge.billableMetric.code} (${charge.billableMetric.aggregationType}) needs a field_name`,
      'field_name',
    );
  }
  return f;
}

function eventValuesOf(charge: Charge, events: UsageEvent[]): { units: string; preciseTotalAmount?: string | null }[] {
  const agg = charge.billableMetric.aggregationType;
  return events.map((e) => {
    let units: string;
    if (agg === 'count_agg') units = '1';
    else {
      const field = fieldOf(charge);
      const raw = e.properties[field];
      units = raw === undefined || raw === null ? '0' : str(numericEventValue(raw, field, e.transactionId));
    }
    const out: { units: string; preciseTotalAmount?: string | null } = { units };
    if (charge.chargeModel === 'dynamic') {
      const p = e.preciseTotalAmount;
      if (p !== undefined && p !== null && !isDecimalString(p)) {
        throw new BillingError('invalid_event_value', `Event ${e.transactionId}: precise_total_amount is not a decimal`, 'precise_total_amount');
      }
      out.preciseTotalAmount = p ?? null;
    }
    return out;
  });
}

/** Aggregate already-filtered events (timestamp order) of one bucket. */
function aggregateEvents(
  charge: Charge,
  events: UsageEvent[],
  window: { startMs: number; endMs: number } | null,
  carried: Dec | null,
): Dec {
  const agg = charge.billableMetric.aggregationType;
  const values = (): Dec[] => {
    const field = fieldOf(charge);
    const out: Dec[] = [];
    for (const e of events) {
      const raw = e.properties[field];
      if (raw === undefined || raw === null) continue;
      out.push(numericEventValue(raw, field, e.transactionId));
    }
    return out;
  };
  switch (agg) {
    case 'count_agg':
      return new D(events.length).plus(carried ?? 0);
    case 'sum_agg':
      return values().reduce((a, b) => a.plus(b), carried ?? new D(0));
    case 'max_agg': {
      const vs = values();
      if (carried) vs.push(carried);
      return vs.length === 0 ? new D(0) : D.max(...vs);
    }
    case 'unique_count_agg': {
      const field = fieldOf(charge);
      const set = new Set<string>();
      for (const e of events) {
        const v = propString(e.properties[field]);
        if (v !== null) set.add(v);
      }
      return new D(set.size).plus(carried ?? 0);
    }
    case 'latest_agg': {
      const vs = values();
      const last = vs[vs.length - 1];
      return last ?? carried ?? new D(0);
    }
    case 'weighted_sum_agg': {
      if (!window) return carried ?? new D(0);
      const field = fieldOf(charge);
      const duration = window.endMs - window.startMs;
      if (duration <= 0) return new D(0);
      let level = carried ?? new D(0);
      let t = window.startMs;
      let area = new D(0);
      for (const e of events) {
        const raw = e.properties[field];
        if (raw === undefined || raw === null) continue;
        const v = numericEventValue(raw, field, e.transactionId);
        const ts = Date.parse(e.timestamp);
        area = area.plus(level.times(ts - t));
        level = level.plus(v);
        t = ts;
      }
      area = area.plus(level.times(window.endMs - t));
      return area.div(duration);
    }
    default: {
      const never: never = agg;
      throw new BillingError('unknown_aggregation', `Unknown aggregation ${String(never)}`, 'aggregation_type');
    }
  }
}
