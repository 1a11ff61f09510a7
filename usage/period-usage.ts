// The one reader of a period's usage: `readPeriodUsage(db, scope, charges, period, source)` → one billing
// ChargeUsage per charge (input order), behind one `UsageSource` interface. Every caller of billing/ratePeriod
// gets its usage here (DESIGN "Invoice to cash": usage (one reader) → fees (one ratePeriod) → ...).
//
// Sources (what each caller uses, and why):
// - `ledgerUsage` — the period close, draft refresh, finalization and progressive billing
//   (activities/invoices.ts, activities/thresholds.ts), and the invoice preview in real-usage mode: exact, read
//   from the events table inside the caller's transaction (after the invoice lock, see activities/invoices.ts).
//   Every charge of every aggregation (count, sum, max, unique count, latest, weighted sum), with filters and
//   pricing groups, and dynamic charges, is aggregated IN SQL (usage/sql-usage.ts: one row per distinct
//   combination of dimension values, never the events). Only percentage charges whose properties need each
//   event's value (per-transaction min/max, free units per events; billing/pricing modelEventValuesUse
//   'required') still read the metric's events (keyset-paginated) into memory: known limitation.
// - `rollupUsage` — the open period's reads (GET current_usage, the thresholds' confirmed usage): hourly rollups
//   plus the raw events of the edge hours, raw events where rollups cannot answer
//   (db/repositories/rollups.ts rollupUsage).
// - `givenUsage(usage)` — usage the caller already has (the preview's totals mode).
// Recurring metrics carry no value from the previous period yet (carriedUnits is not stored).
import type { Knex } from 'knex';
import { aggregateCharge, type ChargeUsage } from '../billing/aggregation';
import type { Charge, Period } from '../billing/types';
import { rollupUsage } from './rollup-usage';
import { loadPeriodEvents } from '../db/repositories/usage';
import { isSqlReadableCharge, sqlUsage } from './sql-usage';

type Db = Knex | Knex.Transaction;

/** Whose usage: one subscription of one organization. */
export interface UsageScope {
  organizationId: string;
  subscriptionId: string;
}

/** Where a period's usage comes from (see the header). */
export type UsageSource = (db: Db, scope: UsageScope, charges: Charge[], period: Period) => Promise<ChargeUsage[]>;

/** True when the ledger reader aggregates this charge's usage in SQL (usage/sql-usage.ts isSqlReadableCharge). */
export function isSqlAggregatedCharge(charge: Charge): boolean {
  return isSqlReadableCharge(charge);
}

/** Exact usage from the events table (see the header). */
export const ledgerUsage: UsageSource = async (db, scope, charges, period) => {
  const inSql = charges.filter(isSqlAggregatedCharge);
  const sql = new Map((await sqlUsage(db, scope.organizationId, scope.subscriptionId, inSql, period)).map((u) => [u.chargeId, u]));
  const codes = [...new Set(charges.filter((c) => !isSqlAggregatedCharge(c)).map((c) => c.billableMetric.code))];
  const events = codes.length > 0 ? await loadPeriodEvents(db, scope.organizationId, scope.subscriptionId, codes, period) : {};
  return charges.map((c): ChargeUsage => sql.get(c.id) ?? aggregateCharge(c, events[c.billableMetric.code] ?? [], period));
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
