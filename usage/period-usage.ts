// The one reader of a period's usage: `readPeriodUsage(db, scope, charges, period, source)` → one billing
// ChargeUsage per charge (input order), behind one `UsageSource` interface. Every caller of billing/ratePeriod
// gets its usage here (DESIGN "Invoice to cash": usage (one reader) → fees (one ratePeriod) → ...).
//
// Sources (what each caller uses, and why):
// - `ledgerUsage` — the period close, draft refresh, finalization and progressive billing
//   (activities/invoices.ts, activities/thresholds.ts), and the invoice preview in real-usage mode: exact, read
//   from the events table inside the caller's transaction (after the invoice lock, see activities/invoices.ts).
//   A charge whose usage is ONE bucket that totals suffice for (billing/aggregation isSingleBucketCharge +
//   usageReadableFromTotals: count/sum/max, no per-event values required) is aggregated IN SQL
//   (db/repositories/usage.ts aggregateSimpleUsage, shared by charges on the same metric): a 1,000,000-event
//   period is one indexed scan returning one row. Every other charge reads the metric's events
//   (keyset-paginated) and runs billing/aggregateCharge on them; those events are held in memory for the
//   aggregation (bounded by that metric's volume: known limitation).
// - `rollupUsage` — the open period's reads (GET current_usage, the thresholds' confirmed usage): hourly rollups
//   plus the raw events of the edge hours, raw events where rollups cannot answer
//   (db/repositories/rollups.ts rollupUsage).
// - `givenUsage(usage)` — usage the caller already has (the preview's totals mode).
// Recurring metrics carry no value from the previous period yet (carriedUnits is not stored).
import type { Knex } from 'knex';
import { aggregateCharge, isSingleBucketCharge, usageReadableFromTotals, type ChargeUsage } from '../billing/aggregation';
import type { Charge, Period } from '../billing/types';
import { rollupUsage } from './rollup-usage';
import { aggregateSimpleUsage, loadPeriodEvents, type SimpleUsage } from '../db/repositories/usage';

type Db = Knex | Knex.Transaction;

/** Whose usage: one subscription of one organization. */
export interface UsageScope {
  organizationId: string;
  subscriptionId: string;
}

/** Where a period's usage comes from (see the header). */
export type UsageSource = (db: Db, scope: UsageScope, charges: Charge[], period: Period) => Promise<ChargeUsage[]>;

/** True when the ledger reader aggregates this charge's usage in SQL (one bucket, totals suffice). */
export function isSqlAggregatedCharge(charge: Charge): boolean {
  return isSingleBucketCharge(charge) && usageReadableFromTotals(charge);
}

function metricKey(c: Charge): string {
  return `${c.billableMetric.code}\u0000${c.billableMetric.aggregationType}\u0000${c.billableMetric.fieldName ?? ''}`;
}

/** Exact usage from the events table (see the header). */
export const ledgerUsage: UsageSource = async (db, scope, charges, period) => {
  const simple = new Map<string, SimpleUsage>();
  for (const c of charges.filter(isSqlAggregatedCharge)) {
    const key = metricKey(c);
    if (!simple.has(key)) simple.set(key, await aggregateSimpleUsage(db, scope.organizationId, scope.subscriptionId, c.billableMetric, period));
  }
  const codes = [...new Set(charges.filter((c) => !isSqlAggregatedCharge(c)).map((c) => c.billableMetric.code))];
  const events = codes.length > 0 ? await loadPeriodEvents(db, scope.organizationId, scope.subscriptionId, codes, period) : {};
  return charges.map((c): ChargeUsage => {
    if (isSqlAggregatedCharge(c)) {
      const u = simple.get(metricKey(c))!;
      return { chargeId: c.id, buckets: [{ filterIndex: null, groupedBy: {}, units: u.units, eventsCount: u.eventsCount }] };
    }
    return aggregateCharge(c, events[c.billableMetric.code] ?? [], period);
  });
};

/** Rollups where they suffice, raw events otherwise (see the header). */
export const rollupUsageSource: UsageSource = (db, scope, charges, period) =>
  rollupUsage(db, scope.organizationId, scope.subscriptionId, charges, period);

/** Usage the caller already has, per charge id (charges without an entry get none: ratePeriod prices them at zero usage). */
export function givenUsage(usage: ChargeUsage[]): UsageSource {
  return async (_db, _scope, charges) => {
    const byCharge = new Map(usage.map((u) => [u.chargeId, u]));
    return charges.flatMap((c) => {
      const u = byCharge.get(c.id);
      return u ? [u] : [];
    });
  };
}

/** The period's usage of `charges` from `source`; no read at all when there is no charge. */
export async function readPeriodUsage(db: Db, scope: UsageScope, charges: Charge[], period: Period, source: UsageSource): Promise<ChargeUsage[]> {
  if (charges.length === 0) return [];
  return source(db, scope, charges, period);
}
