// The period close's usage, aggregated in SQL for every aggregation, filter and pricing group (usage/period-usage.ts
// ledgerUsage uses it): per metric, one query returns one row per distinct combination of the dimension values
// the metric's charges read (db/repositories/usage-aggregates.ts aggregateDims), plus one query for latest_agg
// (latestPerDims) and one per unique_count_agg charge (uniqueCountsPerBucket); billing/dims-aggregates.ts turns
// those rows into the same buckets billing/aggregateCharge gives over the raw events. The worker never holds the
// period's events: memory is the number of distinct dimension combinations, whatever the event count.
// Issue 14: count / sum / max / weighted-sum groups read rollups instead where they answer exactly (usage/rollup-close.ts).
//
// Not here (the caller reads raw events for them): charges whose model needs each event's value
// (billing/pricing modelEventValuesUse 'required' — percentage with per-transaction min/max or free units per
// events), except dynamic charges, which need only Σ precise_total_amount (bucket.preciseTotalAmountSum).
//
// Invalid values: a present non-numeric value of the metric's field fails the close with 'invalid_event_value'
// (naming the first such event) whenever the raw path would have: numeric aggregations, and any non-count metric
// whose charge model reads per-event values (the quarantine hook then moves the row away and closes again).
import type { Knex } from 'knex';
import { eventValuesUse, pricingGroupKeys } from '../billing/aggregation';
import type { ChargeUsage } from '../billing/aggregation';
import { chargeDimKeys } from '../billing/dims-totals';
import { bucketAssignments, usageFromDimsAggregates, type DimsAggregate } from '../billing/dims-aggregates';
import { BillingError } from '../billing/errors';
import type { AggregationType, Charge, Period } from '../billing/types';
import { rollupDimsAggregates } from './rollup-close';
import { aggregateDims, firstInvalidValue, latestPerDims, uniqueCountsPerBucket, type DimsAggregateRow, type DimsQuery } from '../db/repositories/usage-aggregates';

type Db = Knex | Knex.Transaction;

/** True when the SQL reader answers this charge (see the header). */
export function isSqlReadableCharge(charge: Charge): boolean {
  return charge.chargeModel === 'dynamic' || eventValuesUse(charge) !== 'required';
}

function checksValues(charge: Charge): boolean {
  const agg = charge.billableMetric.aggregationType;
  if (agg === 'count_agg') return false;
  return agg !== 'unique_count_agg' || eventValuesUse(charge) !== 'none';
}

function chargeHasPricingGroups(c: Charge): boolean {
  return pricingGroupKeys(c.properties).length > 0 || c.filters.some((f) => pricingGroupKeys(f.properties).length > 0);
}

function metricKey(c: Charge): string {
  return `${c.billableMetric.code}\u0000${c.billableMetric.aggregationType}\u0000${c.billableMetric.fieldName ?? ''}`;
}

async function throwInvalid(db: Db, q: DimsQuery, count: number): Promise<never> {
  const bad = await firstInvalidValue(db, q);
  throw new BillingError(
    'invalid_event_value',
    `Event ${bad?.transactionId ?? '?'}: property "${q.fieldName}" is not numeric (${JSON.stringify(bad?.value)}); ${count} such event(s) in the period`,
    `properties.${q.fieldName}`,
  );
}

/** Where a metric group's dims aggregates come from. */
type DimsReader = (db: Db, q: DimsQuery, aggregationType: AggregationType) => Promise<DimsAggregateRow[]>;

const fromEvents: DimsReader = (db, q) => aggregateDims(db, q);
// Issue 14: rollups where they answer exactly (usage/rollup-close.ts), the raw SQL aggregate otherwise.
const fromRollupsOrEvents: DimsReader = async (db, q, agg) => (await rollupDimsAggregates(db, q, agg)) ?? (await aggregateDims(db, q));

/** Usage of `charges` (every one isSqlReadableCharge) from SQL aggregates, in input order: rollups where they answer exactly, raw events otherwise. */
export function sqlUsage(db: Db, organizationId: string, subscriptionId: string, charges: Charge[], period: Period): Promise<ChargeUsage[]> {
  return sqlUsageWith(fromRollupsOrEvents, db, organizationId, subscriptionId, charges, period);
}

/** The same, always aggregating the raw events (the reference the rollup path is tested and benchmarked against). */
export function sqlUsageFromEvents(db: Db, organizationId: string, subscriptionId: string, charges: Charge[], period: Period): Promise<ChargeUsage[]> {
  return sqlUsageWith(fromEvents, db, organizationId, subscriptionId, charges, period);
}

async function sqlUsageWith(read: DimsReader, db: Db, organizationId: string, subscriptionId: string, charges: Charge[], period: Period): Promise<ChargeUsage[]> {
  const groups = new Map<string, { charges: Charge[]; keys: Set<string> }>();
  for (const c of charges) {
    let g = groups.get(metricKey(c));
    if (!g) groups.set(metricKey(c), (g = { charges: [], keys: new Set() }));
    g.charges.push(c);
    for (const k of chargeDimKeys(c)) g.keys.add(k);
  }
  const byCharge = new Map<string, ChargeUsage>();
  for (const g of groups.values()) {
    const m = g.charges[0]!.billableMetric;
    const q: DimsQuery = {
      organizationId,
      subscriptionId,
      metricCode: m.code,
      fieldName: m.aggregationType === 'count_agg' ? null : m.fieldName,
      dimKeys: [...g.keys].sort(),
      period,
      needsArea: m.aggregationType === 'weighted_sum_agg',
      needsPrecise: g.charges.some((c) => c.chargeModel === 'dynamic'),
      needsFirst: g.charges.some((c) => chargeHasPricingGroups(c)),
    };
    if (m.aggregationType !== 'count_agg' && !q.fieldName) {
      throw new BillingError('missing_field_name', `Metric ${m.code} (${m.aggregationType}) needs a field_name`, 'field_name');
    }
    const rows: DimsAggregateRow[] = await read(db, q, m.aggregationType);
    const invalid = rows.reduce((n, r) => n + r.invalidCount, 0);
    if (invalid > 0 && g.charges.some(checksValues)) await throwInvalid(db, q, invalid);
    let aggs: DimsAggregate[] = rows;
    if (m.aggregationType === 'latest_agg') {
      const latest = new Map((await latestPerDims(db, q)).map((l) => [JSON.stringify(q.dimKeys.map((k) => l.dims[k] ?? null)), l]));
      aggs = rows.map((r) => {
        const l = latest.get(JSON.stringify(q.dimKeys.map((k) => r.dims[k] ?? null)));
        return { ...r, latest: l ? { key: l.key, value: l.value } : null };
      });
    }
    for (const c of g.charges) {
      const unique = m.aggregationType === 'unique_count_agg' ? await uniqueCountsPerBucket(db, q, bucketAssignments(c, aggs)) : undefined;
      byCharge.set(c.id, usageFromDimsAggregates(c, period, aggs, unique));
    }
  }
  return charges.map((c) => byCharge.get(c.id)!);
}

