// Current usage of a subscription (Lago's GET /customers/:external_customer_id/current_usage): the open billing
// period (billing/period.ts periodContaining with the subscription's schedule: subscription_at, plan interval,
// billing_time, customer timezone — else the organization's), usage from the rollups
// (db/repositories/rollups.ts rollupUsage: rollups for count/sum/max, raw events otherwise), priced by
// billing/buildInvoice (kind 'preview', no subscription fee). No money is computed here: amounts are the
// rounded `charge` fee lines of that draft, summed as integers; units are summed as exact decimal strings.
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
import type { ChargeUsage } from '../../billing/aggregation';
import { buildInvoice, type Fee } from '../../billing/invoice';
import { instantInZone, periodContaining } from '../../billing/period';
import type { BillingTime, Charge, Interval, Period, Plan } from '../../billing/types';
import { loadPlan } from '../../db/repositories/plans';
import { rollupUsage } from '../../db/repositories/rollups';
import type { SubscriptionBillingContext } from '../../db/repositories/subscriptions-billing';
import { notFound } from '../errors';
import { addDecimal } from '../ingest/decimal';

/** Where usage comes from (rollups by default; benches compare with a raw-event reader). */
export type UsageReader = (db: Knex, ctx: SubscriptionBillingContext, plan: Plan, charges: Charge[], period: Period) => Promise<ChargeUsage[]>;

export const rollupUsageReader: UsageReader = (db, ctx, _plan, charges, period) =>
  rollupUsage(db, ctx.organizationId, ctx.subscriptionId, charges, period);

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
  readUsage?: UsageReader;
  /** Reuse loaded plans across calls (the route keeps one per process). */
  plans?: PlanCache;
}

interface LoadedPlan {
  plan: Plan;
  metricIdByCharge: Map<string, string>;
}

async function loadPlanWithMetricIds(db: Knex, organizationId: string, planId: string): Promise<LoadedPlan> {
  const [plan, rows] = await Promise.all([
    loadPlan(db, organizationId, planId),
    db('charges').where({ organization_id: organizationId, plan_id: planId }).select('id', 'billable_metric_id') as Promise<
      { id: string; billable_metric_id: string }[]
    >,
  ]);
  return { plan, metricIdByCharge: new Map(rows.map((r) => [r.id, r.billable_metric_id])) };
}

/**
 * Plans (with their charges and metrics) by id for `ttlMs`. Plans and charges have no update path today, so
 * the TTL only bounds memory and staleness should an update route appear (it must then invalidate).
 */
export class PlanCache {
  private readonly entries = new Map<string, { expiresAt: number; value: Promise<LoadedPlan> }>();

  constructor(private readonly ttlMs = 10_000, private readonly maxEntries = 10_000) {}

  get(db: Knex, organizationId: string, planId: string): Promise<LoadedPlan> {
    const key = `${organizationId}\u0000${planId}`;
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.value;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const value = loadPlanWithMetricIds(db, organizationId, planId);
    this.entries.set(key, { expiresAt: Date.now() + this.ttlMs, value });
    value.catch(() => this.entries.delete(key));
    return value;
  }
}

interface SubscriptionRow {
  id: string;
  organization_id: string;
  external_id: string;
  status: string;
  plan_id: string;
  billing_time: BillingTime;
  subscription_at: Date;
  terminated_at: Date | null;
  customer_id: string;
  external_customer_id: string;
  customer_timezone: string | null;
  customer_currency: string | null;
  customer_grace: number | null;
  org_timezone: string;
  org_grace: number;
  plan_interval: Interval;
}

/** 404 customer_not_found / subscription_not_found (only the customer's ACTIVE subscriptions, like Lago). */
async function findSubscription(db: Knex, organizationId: string, q: CurrentUsageQuery): Promise<SubscriptionRow> {
  const row: SubscriptionRow | undefined = await db('customers as c')
    .join('organizations as o', 'o.id', 'c.organization_id')
    .leftJoin('subscriptions as s', function on() {
      this.on('s.customer_id', '=', 'c.id')
        .andOn('s.organization_id', '=', 'c.organization_id')
        .andOn('s.external_id', '=', db.raw('?', [q.externalSubscriptionId]))
        .andOn('s.status', '=', db.raw('?', ['active']));
    })
    .leftJoin('plans as p', 'p.id', 's.plan_id')
    .where({ 'c.organization_id': organizationId, 'c.external_id': q.externalCustomerId })
    .first(
      's.id', 's.organization_id', 's.external_id', 's.status', 's.plan_id', 's.billing_time', 's.subscription_at', 's.terminated_at',
      'c.id as customer_id', 'c.external_id as external_customer_id', 'c.timezone as customer_timezone', 'c.currency as customer_currency',
      'c.invoice_grace_period as customer_grace', 'o.default_timezone as org_timezone', 'o.invoice_grace_period as org_grace',
      'p.interval as plan_interval',
    );
  if (!row) throw notFound('customer');
  if (!row.id) throw notFound('subscription');
  return row;
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
  const row = await findSubscription(db, organizationId, q);
  const { plan, metricIdByCharge } = await (opts.plans ? opts.plans.get(db, organizationId, row.plan_id) : loadPlanWithMetricIds(db, organizationId, row.plan_id));
  const timezone = row.customer_timezone || row.org_timezone || 'UTC';
  const subscriptionAt = row.subscription_at.toISOString();
  const nowIso = opts.now ?? new Date().toISOString();
  const at = Date.parse(nowIso) < row.subscription_at.getTime() ? subscriptionAt : nowIso;
  const { period, fullPeriod } = periodContaining({ subscriptionAt, interval: row.plan_interval, billingTime: row.billing_time, timezone }, at);

  // Usage is shown for every charge, pay-in-advance ones included (priced on the period total).
  const charges = plan.charges
    .filter((c) => q.chargeId === undefined || c.id === q.chargeId)
    .filter((c) => q.billableMetricCode === undefined || c.billableMetric.code === q.billableMetricCode)
    .map((c) => (c.payInAdvance ? { ...c, payInAdvance: false } : c));
  const usagePlan: Plan = { ...plan, charges };
  const ctx: SubscriptionBillingContext = {
    organizationId,
    subscriptionId: row.id,
    externalSubscriptionId: row.external_id,
    status: row.status,
    planId: row.plan_id,
    terminatedAt: row.terminated_at === null ? null : row.terminated_at.toISOString(),
    customerId: row.customer_id,
    externalCustomerId: row.external_customer_id,
    timezone,
    customerCurrency: row.customer_currency === null ? null : row.customer_currency.trim(),
    gracePeriodDays: row.customer_grace ?? row.org_grace,
  };
  const usage = await (opts.readUsage ?? rollupUsageReader)(db, ctx, usagePlan, charges, period);
  const currency = plan.amountCurrency;
  const draft = buildInvoice({
    plan: usagePlan,
    kind: 'preview',
    currency,
    timezone,
    period,
    fullPeriod,
    chargeSubscriptionFee: false,
    usage,
    subscriptionAt,
  });
  const chargeFees = draft.fees.filter((f) => f.kind === 'charge');
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
  const amountCents = chargesUsage.reduce((a, c) => a + c.amount_cents, 0);
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
