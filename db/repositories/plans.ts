// Plans as the billing engine sees them: plans + charges (by position) + billable_metrics rows → Plan.
// The rows are mapped to Lago's plan JSON and go through billing/'s planFromLagoInput, so a plan read back
// from the database is validated by exactly the rules that accepted it at the API (a corrupt row surfaces
// as a PlanValidationError, code 'invalid_plan', never as a silently wrong price).
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import { planFromLagoInput } from '../../billing/lago-plan';
import type { AggregationType, BillableMetric, MetricFilter, Plan } from '../../billing/types';

type Db = Knex | Knex.Transaction;

interface PlanRow {
  id: string;
  code: string;
  name: string;
  interval: string;
  amount_cents: number;
  amount_currency: string;
  pay_in_advance: boolean;
  trial_period: string;
  minimum_commitment_amount_cents: number;
  usage_thresholds: unknown;
}

interface ChargeRow {
  id: string;
  billable_metric_id: string;
  position: number;
  charge_model: string;
  pay_in_advance: boolean;
  invoiceable: boolean;
  prorated: boolean;
  min_amount_cents: number;
  invoice_display_name: string | null;
  properties: unknown;
  filters: unknown;
}

interface MetricRow {
  id: string;
  code: string;
  name: string;
  aggregation_type: string;
  field_name: string | null;
  recurring: boolean;
  filters: unknown;
}

export function metricFromRow(r: MetricRow): BillableMetric {
  const filters: MetricFilter[] = Array.isArray(r.filters)
    ? (r.filters as { key?: unknown; values?: unknown }[]).map((f) => ({
        key: String(f.key ?? ''),
        values: Array.isArray(f.values) ? f.values.map(String) : [],
      }))
    : [];
  return {
    code: r.code,
    name: r.name,
    aggregationType: r.aggregation_type as AggregationType,
    fieldName: r.field_name === '' ? null : r.field_name,
    recurring: r.recurring,
    filters,
  };
}

/** The plan with its charges in position order. Throws BillingError 'plan_not_found' or PlanValidationError. */
export async function loadPlan(db: Db, organizationId: string, planId: string): Promise<Plan> {
  const plan: PlanRow | undefined = await db('plans').where({ organization_id: organizationId, id: planId }).first();
  if (!plan) throw new BillingError('plan_not_found', `Plan ${planId} not found`, 'plan_id');
  const charges: ChargeRow[] = await db('charges')
    .where({ organization_id: organizationId, plan_id: planId })
    .orderBy([{ column: 'position' }, { column: 'id' }]);
  const metricIds = [...new Set(charges.map((c) => c.billable_metric_id))];
  const metricRows: MetricRow[] =
    metricIds.length === 0 ? [] : await db('billable_metrics').where('organization_id', organizationId).whereIn('id', metricIds);
  const metricsById: Record<string, BillableMetric> = {};
  for (const m of metricRows) metricsById[m.id] = metricFromRow(m);

  const json = {
    code: plan.code,
    name: plan.name,
    interval: plan.interval,
    amount_cents: plan.amount_cents,
    amount_currency: plan.amount_currency.trim(),
    pay_in_advance: plan.pay_in_advance,
    trial_period: plan.trial_period,
    minimum_commitment: { amount_cents: plan.minimum_commitment_amount_cents },
    usage_thresholds: plan.usage_thresholds,
    charges: charges.map((c) => ({
      id: c.id,
      billable_metric_id: c.billable_metric_id,
      charge_model: c.charge_model,
      pay_in_advance: c.pay_in_advance,
      invoiceable: c.invoiceable,
      prorated: c.prorated,
      min_amount_cents: c.min_amount_cents,
      invoice_display_name: c.invoice_display_name,
      properties: c.properties,
      filters: c.filters,
    })),
  };
  return planFromLagoInput(json, metricsById);
}

/** charge id → billable metric id for the given charges of the organization (unknown ids are absent). */
export async function metricIdsOfCharges(db: Db, organizationId: string, chargeIds: string[]): Promise<Map<string, string>> {
  if (chargeIds.length === 0) return new Map();
  const rows: { id: string; billable_metric_id: string }[] = await db('charges')
    .where({ organization_id: organizationId })
    .whereIn('id', [...new Set(chargeIds)])
    .select('id', 'billable_metric_id');
  return new Map(rows.map((r) => [r.id, r.billable_metric_id]));
}

/** charge id → billable metric id for every charge of the plan. */
export async function metricIdsOfPlanCharges(db: Db, organizationId: string, planId: string): Promise<Map<string, string>> {
  const rows: { id: string; billable_metric_id: string }[] = await db('charges')
    .where({ organization_id: organizationId, plan_id: planId })
    .select('id', 'billable_metric_id');
  return new Map(rows.map((r) => [r.id, r.billable_metric_id]));
}
