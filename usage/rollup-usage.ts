// The rollup reader: usage of `charges` over [period.start, period.end) for one subscription → billing
// ChargeUsage[] (same buckets as billing/aggregateCharge over the raw events, modulo bucket order inside one
// filter slot, which is sorted by group values here instead of first-event time). usage/period-usage.ts
// `rollupUsageSource` serves it.
//   - rollup rows of the whole hours inside the period + raw events of the partial edge hours (a period
//     starting at a subscription instant or a non-whole-hour timezone offset), merged per projected dims
//     (db/repositories/rollups.ts rollupTotalsOfHours / eventsInRanges / splitPeriod: rows only);
//   - the sums, filter matching and pricing groups: billing/dims-totals.ts (pure);
//   - RAW FALLBACK (db/repositories/usage.ts loadPeriodEvents + billing aggregateCharge) for every charge that
//     billing/aggregation usageReadableFromTotals refuses (unique_count, latest and weighted_sum metrics; charge
//     models that say they need per-event values: dynamic, percentage with per-event properties); and any metric
//     whose rollup rows in the period lack a dimension key the charges need (a charge created after those events
//     were rolled up) or contain non-numeric values.
import type { Knex } from 'knex';
import { aggregateCharge, usageReadableFromTotals, type ChargeUsage } from '../billing/aggregation';
import { chargeDimKeys, DimsTotalsAccumulator, usageFromDimsTotals, type DimsTotals } from '../billing/dims-totals';
import type { AggregationType, Charge, Period } from '../billing/types';
import { eventsInRanges, rollupTotalsOfHours, splitPeriod, type RollupTotalsRow } from '../db/repositories/rollups';
import { loadPeriodEvents } from '../db/repositories/usage';

type Db = Knex | Knex.Transaction;

/** Where the whole hours' totals come from: rollupTotalsOfHours, or usage/closed-hours-cache.ts's cached variant. */
export type TotalsOfHours = (db: Db, organizationId: string, subscriptionId: string, codes: string[], fromHour: Date, toHour: Date) => Promise<RollupTotalsRow[]>;

interface MetricSpec {
  keys: string[];
  aggregationType: AggregationType;
  fieldName: string | null;
}

function propString(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return String(v);
}

/** Per metric code, the period's totals per projected dims, or 'raw' when the rollups cannot answer for it. */
async function rolledUpDims(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  metrics: Map<string, MetricSpec>,
  period: Period,
  totalsOfHours: TotalsOfHours,
): Promise<Map<string, DimsTotals[] | 'raw'>> {
  const codes = [...metrics.keys()];
  const split = splitPeriod(period);
  const accs = new Map<string, DimsTotalsAccumulator | 'raw'>();
  for (const [code, m] of metrics) accs.set(code, new DimsTotalsAccumulator({ code, aggregationType: m.aggregationType, fieldName: m.fieldName }));

  const project = (code: string, source: Record<string, unknown>, fromRollup: boolean): { key: string; dims: Record<string, string | null> } | null => {
    const keys = metrics.get(code)!.keys;
    const dims: Record<string, string | null> = {};
    for (const k of keys) {
      if (fromRollup) {
        if (!(k in source)) return null;
        dims[k] = (source[k] as string | null) ?? null;
      } else dims[k] = propString(source[k]);
    }
    return { key: JSON.stringify(keys.map((k) => dims[k])), dims };
  };

  const [rollups, edges] = await Promise.all([
    totalsOfHours(db, organizationId, subscriptionId, codes, split.fromHour, split.toHour),
    eventsInRanges(db, organizationId, subscriptionId, codes, split.rawRanges),
  ]);
  for (const r of rollups) {
    const acc = accs.get(r.metricCode);
    if (acc === 'raw' || acc === undefined) continue;
    const p = project(r.metricCode, r.dims, true);
    if (!p || (r.invalidValuesCount > 0 && metrics.get(r.metricCode)!.aggregationType !== 'count_agg')) {
      accs.set(r.metricCode, 'raw');
      continue;
    }
    acc.addTotals(p.key, p.dims, r.eventsCount, r.sum, r.max);
  }
  for (const e of edges) {
    const acc = accs.get(e.code);
    if (acc === 'raw' || acc === undefined) continue;
    const p = project(e.code, e.properties, false)!;
    acc.addEvent(p.key, p.dims, e.transactionId, e.properties);
  }
  const out = new Map<string, DimsTotals[] | 'raw'>();
  for (const [code, acc] of accs) out.set(code, acc === 'raw' ? 'raw' : acc.totals());
  return out;
}

/** Usage of `charges` from rollups where they suffice and from raw events otherwise (see the header). */
export async function rollupUsage(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  charges: Charge[],
  period: Period,
  totalsOfHours: TotalsOfHours = rollupTotalsOfHours,
): Promise<ChargeUsage[]> {
  const metrics = new Map<string, { keys: Set<string>; aggregationType: AggregationType; fieldName: string | null }>();
  for (const c of charges) {
    if (!usageReadableFromTotals(c)) continue;
    const m = c.billableMetric;
    let e = metrics.get(m.code);
    if (!e) metrics.set(m.code, (e = { keys: new Set(), aggregationType: m.aggregationType, fieldName: m.fieldName }));
    for (const k of chargeDimKeys(c)) e.keys.add(k);
  }
  const specs = new Map([...metrics].map(([code, e]) => [code, { ...e, keys: [...e.keys].sort() }]));
  const dims = specs.size > 0 ? await rolledUpDims(db, organizationId, subscriptionId, specs, period, totalsOfHours) : new Map<string, 'raw'>();

  const rawCodes = new Set<string>();
  for (const c of charges) {
    const d = dims.get(c.billableMetric.code);
    if (!usageReadableFromTotals(c) || d === 'raw' || d === undefined) rawCodes.add(c.billableMetric.code);
  }
  const events = rawCodes.size > 0 ? await loadPeriodEvents(db, organizationId, subscriptionId, [...rawCodes], period) : {};

  return charges.map((c) => {
    const d = dims.get(c.billableMetric.code);
    if (usageReadableFromTotals(c) && d !== undefined && d !== 'raw') return usageFromDimsTotals(c, d);
    return aggregateCharge(c, events[c.billableMetric.code] ?? [], period);
  });
}
