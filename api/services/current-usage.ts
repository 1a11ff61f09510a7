// Current usage of a subscription (Lago's GET /customers/:external_customer_id/current_usage): the open billing
// period (usage/open-period.ts openPeriodAt with the subscription's schedule: subscription_at, plan interval,
// billing_time, customer timezone — else the organization's), its usage priced by usage/open-period.ts
// priceOpenPeriodUsage (rollups, billing/ratePeriod kind 'preview', no subscription fee; the same computation
// the usage thresholds and alerts act on). No money is computed here: amounts are the rounded `charge` fee
// lines of that draft, summed as integers; units are summed as exact decimal strings.
//
// Shape: Lago's CustomerUsage `{customer_usage: {from_datetime, to_datetime, issuing_date, lago_invoice_id,
// currency, amount_cents, taxes_amount_cents, total_amount_cents, charges_usage[...]}}`.
// Documented differences:
// - amount_cents = Σ charge fee lines (like Lago: no subscription fee, no minimum-spend or minimum-commitment
//   true-ups). Pay-in-advance charges are included, priced on the period's total usage (which equals the sum
//   of their per-event fees by construction of billing/rateInAdvanceEvent).
// - taxes_amount_cents is 0 (no tax engine yet), total = amount.
// - to_datetime is the EXCLUSIVE period end (the house convention of every period in this API, e.g. a
//   subscription's current_billing_period_ending_at), where Lago prints the last second (…T23:59:59Z).
// - issuing_date = the customer's local date at the period end (when the period's invoice is issued).
import type { Knex } from 'knex';
import { isOrgKey, orgKey, TtlCache } from '../../cache/ttl-cache';
import type { Fee } from '../../billing/invoice';
import { instantInZone } from '../../billing/period';
import type { Charge, Plan } from '../../billing/types';
import { loadPlan, metricIdsOfPlanCharges } from '../../db/repositories/plans';
import { findActiveSubscriptionBilling } from '../../db/repositories/subscriptions-billing';
import { openPeriodAt, priceOpenPeriodUsage } from '../../usage/open-period';
import type { UsageSource } from '../../usage/period-usage';
import { notFound } from '../errors';
import { nowOnClock } from './subscription-now';
import { addDecimal } from '../../billing/decimal-string';

export interface CurrentUsageQuery {
  externalCustomerId: string;
  externalSubscriptionId: string;
  /** Only this charge (its lago_id). */
  chargeId?: string;
  /** Only charges of this billable metric. */
  billableMetricCode?: string;
}

export interface CurrentUsageOptions {
  /** The instant whose period is "current" (default: now). */
  now?: string;
  readUsage?: UsageSource;
  /** Reuse loaded plans across calls (the route keeps one per process). */
  plans?: PlanCache;
}

interface LoadedPlan {
  plan: Plan;
  metricIdByCharge: Map<string, string>;
}

async function loadPlanWithMetricIds(db: Knex, organizationId: string, planId: string): Promise<LoadedPlan> {
  const [plan, metricIdByCharge] = await Promise.all([loadPlan(db, organizationId, planId), metricIdsOfPlanCharges(db, organizationId, planId)]);
  return { plan, metricIdByCharge };
}

/**
 * Plans (with their charges and metrics) by id for `ttlMs` (cache/ttl-cache.ts). Invalidated when the catalog
 * changes: api/server.ts's `catalogChanged(organizationId)` drops the organization's plans (POST /plans,
 * billable metric changes, and the future PUT /plans must call it), so an edited plan is priced with its new
 * charges at once; `invalidate(organizationId, planId)` drops one plan.
 */
export class PlanCache {
  private readonly cache: TtlCache<string, LoadedPlan>;

  constructor(ttlMs = 10_000, maxEntries = 10_000) {
    this.cache = new TtlCache<string, LoadedPlan>({ ttlMs, maxEntries });
  }

  get(db: Knex, organizationId: string, planId: string): Promise<LoadedPlan> {
    return this.cache.get(orgKey(organizationId, planId), () => loadPlanWithMetricIds(db, organizationId, planId));
  }

  invalidate(organizationId: string, planId: string): void {
    this.cache.invalidate(orgKey(organizationId, planId));
  }

  invalidateOrganization(organizationId: string): void {
    this.cache.invalidateWhere((k) => isOrgKey(k, organizationId));
  }
}

function groupSum(fees: Fee[]): { units: string; eventsCount: number; amountCents: number } {
  let units = '0';
  let eventsCount = 0;
  let amountCents = 0;
  for (const f of fees) {
    units = addDecimal(units, f.units);
    eventsCount += f.eventsCount;
    amountCents += f.amountCents;
  }
  return { units, eventsCount, amountCents };
}

function filtersUsage(charge: Charge, fees: Fee[]) {
  if (charge.filters.length === 0) return [];
  const slots: (number | null)[] = [...charge.filters.map((_, i) => i), null];
  return slots.map((slot) => {
    const s = groupSum(fees.filter((f) => f.filterIndex === slot));
    const f = slot === null ? null : charge.filters[slot]!;
    return {
      units: s.units,
      total_aggregated_units: s.units,
      amount_cents: s.amountCents,
      events_count: s.eventsCount,
      invoice_display_name: f ? f.invoiceDisplayName : null,
      values: f ? f.values : null,
    };
  });
}

function groupedUsage(charge: Charge, fees: Fee[]) {
  const groups = new Map<string, Fee[]>();
  for (const f of fees) {
    if (Object.keys(f.groupedBy).length === 0) continue;
    const k = JSON.stringify(Object.entries(f.groupedBy).sort());
    const list = groups.get(k);
    if (list) list.push(f);
    else groups.set(k, [f]);
  }
  return [...groups.values()].map((list) => {
    const s = groupSum(list);
    return {
      amount_cents: s.amountCents,
      events_count: s.eventsCount,
      units: s.units,
      total_aggregated_units: s.units,
      grouped_by: list[0]!.groupedBy,
      filters: filtersUsage(charge, list),
    };
  });
}

/** The subscription's usage in its open period, Lago-shaped (`{customer_usage: ...}`). */
export async function computeCurrentUsage(db: Knex, organizationId: string, q: CurrentUsageQuery, opts: CurrentUsageOptions = {}) {
  // 404 customer_not_found / subscription_not_found (only the customer's ACTIVE subscriptions, like Lago).
  const found = await findActiveSubscriptionBilling(db, organizationId, q.externalCustomerId, q.externalSubscriptionId);
  if (!found.customerFound) throw notFound('customer');
  if (!found.subscription) throw notFound('subscription');
  const { context: ctx, subscriptionAt, interval, billingTime } = found.subscription;
  const { plan, metricIdByCharge } = await (opts.plans ? opts.plans.get(db, organizationId, ctx.planId) : loadPlanWithMetricIds(db, organizationId, ctx.planId));
  const timezone = ctx.timezone;
  // On a test clock the open period is the clock's (api/services/subscription-now.ts), else the request's.
  const nowIso = nowOnClock(found.subscription.testClockTime, opts.now ?? new Date().toISOString());
  const { period, fullPeriod } = openPeriodAt({ subscriptionAt, interval, billingTime, timezone }, nowIso);

  const selected: Plan = {
    ...plan,
    charges: plan.charges
      .filter((c) => q.chargeId === undefined || c.id === q.chargeId)
      .filter((c) => q.billableMetricCode === undefined || c.billableMetric.code === q.billableMetricCode),
  };
  const { charges, chargeFees, usageAmountCents: amountCents } = await priceOpenPeriodUsage(db, ctx, selected, period, fullPeriod, opts.readUsage);
  const currency = plan.amountCurrency;
  const chargesUsage = charges.map((c) => {
    const fees = chargeFees.filter((f) => f.chargeId === c.id);
    const s = groupSum(fees);
    return {
      units: s.units,
      total_aggregated_units: s.units,
      events_count: s.eventsCount,
      amount_cents: s.amountCents,
      amount_currency: currency,
      charge: { lago_id: c.id, charge_model: c.chargeModel, invoice_display_name: c.invoiceDisplayName },
      billable_metric: {
        lago_id: metricIdByCharge.get(c.id) ?? null,
        name: c.billableMetric.name,
        code: c.billableMetric.code,
        aggregation_type: c.billableMetric.aggregationType,
      },
      filters: filtersUsage(c, fees),
      grouped_usage: groupedUsage(c, fees),
    };
  });
  return {
    customer_usage: {
      from_datetime: period.start,
      to_datetime: period.end,
      issuing_date: instantInZone(period.end, timezone, 'period_end').toISODate(),
      lago_invoice_id: null,
      currency,
      amount_cents: amountCents,
      taxes_amount_cents: 0,
      total_amount_cents: amountCents,
      charges_usage: chargesUsage,
    },
  };
}
