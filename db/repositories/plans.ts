// The plans aggregate: plans and their charges. Writes and Lago-shaped reads for the API (createPlan,
// getPlanById/ByCode → PlanRecord), and the plan as the billing engine sees it (loadPlan): plans + charges (by
// position) + billable_metrics rows → Plan.
// The rows are mapped to Lago's plan JSON and go through billing/'s planFromLagoInput, so a plan read back
// from the database is validated by exactly the rules that accepted it at the API (a corrupt row surfaces
// as a PlanValidationError, code 'invalid_plan', never as a silently wrong price).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import { planFromLagoInput } from '../../billing/lago-plan';
import type { BillableMetric, Plan } from '../../billing/types';
import { toBillingMetric, toMetric } from './billable-metrics';
import { DuplicateCodeError, isUniqueViolation } from './errors';
import { setTaxes } from './taxes';
import { fixedChargesOfPlan, insertFixedCharges, type FixedChargeRecord, type NewFixedCharge } from './fixed-charges';

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
  regroup_paid_fees?: string | null;
  prorated: boolean;
  min_amount_cents: number;
  invoice_display_name: string | null;
  properties: unknown;
  filters: unknown;
}

/** The plan with its charges in position order. Throws BillingError 'plan_not_found' or PlanValidationError. */
export async function loadPlan(db: Db, organizationId: string, planId: string): Promise<Plan> {
  const plan: PlanRow | undefined = await db('plans').where({ organization_id: organizationId, id: planId }).first();
  if (!plan) throw new BillingError('plan_not_found', `Plan ${planId} not found`, 'plan_id');
  const charges: ChargeRow[] = await db('charges')
    .where({ organization_id: organizationId, plan_id: planId })
    .orderBy([{ column: 'position' }, { column: 'id' }]);
  const metricIds = [...new Set(charges.map((c) => c.billable_metric_id))];
  const metricRows: Record<string, any>[] =
    metricIds.length === 0 ? [] : await db('billable_metrics').where('organization_id', organizationId).whereIn('id', metricIds);
  const metricsById: Record<string, BillableMetric> = {};
  for (const m of metricRows) metricsById[m.id] = toBillingMetric(toMetric(m));

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
      regroup_paid_fees: c.regroup_paid_fees ?? null,
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

/** A charge filter as stored (charges.filters JSON); `lago_id` is Lago's filter_id (kept across edits). */
export interface StoredChargeFilter {
  lago_id?: string;
  invoice_display_name: string | null;
  properties: Record<string, unknown>;
  values: Record<string, string[]>;
}

export interface NewCharge {
  /** Lago's charge code, unique within the plan. */
  code?: string | null;
  billableMetricId: string;
  chargeModel: string;
  payInAdvance: boolean;
  invoiceable: boolean;
  /** Lago's regroup_paid_fees (charges.regroup_paid_fees); absent: null. */
  regroupPaidFees?: 'invoice' | null;
  prorated: boolean;
  minAmountCents: number;
  invoiceDisplayName: string | null;
  properties: Record<string, unknown>;
  filters: StoredChargeFilter[];
}

export interface NewPlan {
  code: string;
  name: string;
  description: string | null;
  interval: string;
  amountCents: number;
  amountCurrency: string;
  payInAdvance: boolean;
  /** decimal string (days) */
  trialPeriod: string;
  minimumCommitmentAmountCents: number;
  usageThresholds: { amount_cents: number; recurring: boolean; threshold_display_name: string | null }[];
  charges: NewCharge[];
  /** Taxes attached to the plan (Lago `tax_codes`, resolved), written in the plan's transaction. */
  taxIds?: string[];
  /** Taxes attached to each charge, by the charge's index in `charges`. */
  chargeTaxIds?: string[][];
  /** Lago's fixed charges (db/repositories/fixed-charges.ts); absent on an edit: left as they are. */
  fixedCharges?: NewFixedCharge[];
}

export interface ChargeRecord {
  id: string;
  code: string | null;
  billableMetricId: string;
  billableMetricCode: string;
  position: number;
  chargeModel: string;
  payInAdvance: boolean;
  invoiceable: boolean;
  regroupPaidFees: 'invoice' | null;
  prorated: boolean;
  minAmountCents: number;
  invoiceDisplayName: string | null;
  properties: Record<string, unknown>;
  filters: NewCharge['filters'];
  createdAt: Date;
}

export interface StoredUsageThreshold {
  lago_id: string;
  amount_cents: number;
  recurring: boolean;
  threshold_display_name: string | null;
  created_at: string;
}

export interface PlanRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string;
  description: string | null;
  interval: string;
  amountCents: number;
  amountCurrency: string;
  payInAdvance: boolean;
  trialPeriod: string;
  minimumCommitmentAmountCents: number;
  usageThresholds: StoredUsageThreshold[];
  createdAt: Date;
  /** Bumped by every edit (updatePlan's optimistic check). */
  revision: number;
  charges: ChargeRecord[];
  /** A plan override's child plan: the plan it copies (null for a catalog plan). */
  parentId?: string | null;
  /** Lago's metadata (db/repositories/object-metadata.ts); null until set. */
  metadata?: Record<string, string | null> | null;
  /** Lago's fixed charges of the plan itself (db/repositories/fixed-charges.ts). */
  fixedCharges?: FixedChargeRecord[];
}

/** Plan and charges in ONE transaction: a failure writes nothing. */
export async function createPlan(db: Knex, organizationId: string, p: NewPlan): Promise<PlanRecord> {
  const nowIso = new Date().toISOString();
  try {
    const planId = await db.transaction(async (trx) => {
      const [plan] = await trx('plans')
        .insert({
          organization_id: organizationId,
          code: p.code,
          name: p.name,
          description: p.description,
          interval: p.interval,
          amount_cents: p.amountCents,
          amount_currency: p.amountCurrency,
          pay_in_advance: p.payInAdvance,
          trial_period: p.trialPeriod,
          minimum_commitment_amount_cents: p.minimumCommitmentAmountCents,
          usage_thresholds: JSON.stringify(
            p.usageThresholds.map((t) => ({ lago_id: crypto.randomUUID(), ...t, created_at: nowIso })),
          ),
        })
        .returning('id');
      if (p.charges.length > 0) {
        const inserted: { id: string; position: number }[] = await trx('charges').insert(
          p.charges.map((c, position) => ({
            organization_id: organizationId,
            plan_id: plan.id,
            code: c.code ?? null,
            billable_metric_id: c.billableMetricId,
            position,
            charge_model: c.chargeModel,
            pay_in_advance: c.payInAdvance,
            invoiceable: c.invoiceable,
            regroup_paid_fees: c.regroupPaidFees ?? null,
            prorated: c.prorated,
            min_amount_cents: c.minAmountCents,
            invoice_display_name: c.invoiceDisplayName,
            properties: JSON.stringify(c.properties),
            filters: JSON.stringify(c.filters.map(({ lago_id: _given, ...f }) => ({ lago_id: crypto.randomUUID(), ...f }))),
          })),
        ).returning(['id', 'position']);
        for (const c of inserted) {
          const ids = p.chargeTaxIds?.[c.position] ?? [];
          if (ids.length > 0) await setTaxes(trx, organizationId, 'charge', c.id, ids);
        }
      }
      if (p.taxIds && p.taxIds.length > 0) await setTaxes(trx, organizationId, 'plan', plan.id, p.taxIds);
      if (p.fixedCharges) await insertFixedCharges(trx, organizationId, plan.id, p.fixedCharges); // fixed13
      return plan.id as string;
    });
    return (await getPlanById(db, organizationId, planId))!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCodeError('plan', p.code);
    throw err;
  }
}

function toPlan(row: Record<string, any>, charges: ChargeRecord[]): PlanRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    code: row.code,
    name: row.name,
    description: row.description ?? null,
    interval: row.interval,
    amountCents: row.amount_cents,
    amountCurrency: String(row.amount_currency).trim(),
    payInAdvance: row.pay_in_advance,
    trialPeriod: String(row.trial_period),
    minimumCommitmentAmountCents: row.minimum_commitment_amount_cents,
    usageThresholds: row.usage_thresholds ?? [],
    createdAt: row.created_at,
    revision: row.revision ?? 0,
    charges,
    parentId: row.parent_id ?? null,
    metadata: row.metadata ?? null,
  };
}

async function loadCharges(db: Knex, organizationId: string, planId: string): Promise<ChargeRecord[]> {
  const rows = await db('charges as c')
    .join('billable_metrics as m', 'm.id', 'c.billable_metric_id')
    .where({ 'c.organization_id': organizationId, 'c.plan_id': planId })
    .orderBy('c.position')
    .select('c.*', 'm.code as metric_code');
  return rows.map((r: Record<string, any>) => ({
    id: r.id,
    code: r.code ?? null,
    billableMetricId: r.billable_metric_id,
    billableMetricCode: r.metric_code,
    position: r.position,
    chargeModel: r.charge_model,
    payInAdvance: r.pay_in_advance,
    invoiceable: r.invoiceable,
    regroupPaidFees: r.regroup_paid_fees ?? null,
    prorated: r.prorated,
    minAmountCents: r.min_amount_cents,
    invoiceDisplayName: r.invoice_display_name ?? null,
    properties: r.properties ?? {},
    filters: r.filters ?? [],
    createdAt: r.created_at,
  }));
}

export async function getPlanById(db: Knex, organizationId: string, planId: string): Promise<PlanRecord | null> {
  const row = await db('plans').where({ organization_id: organizationId, id: planId }).first();
  return row ? { ...toPlan(row, await loadCharges(db, organizationId, row.id)), fixedCharges: await fixedChargesOfPlan(db, organizationId, row.id) } : null;
}

export async function getPlanByCode(db: Knex, organizationId: string, code: string): Promise<PlanRecord | null> {
  // Child plans of plan overrides share their parent's code and are never found by it (db/repositories/plan-overrides.ts).
  const row = await db('plans').where({ organization_id: organizationId, code }).whereNull('deleted_at').whereNull('parent_id').first();
  return row ? { ...toPlan(row, await loadCharges(db, organizationId, row.id)), fixedCharges: await fixedChargesOfPlan(db, organizationId, row.id) } : null;
}
