// Catalog writes and reads for the API: billable metrics, plans and their charges (Lago-shaped rows).
// The billing Plan used for rating is loaded by db/repositories/plans.ts; this file serves the API.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { AggregationType, BillableMetric, MetricFilter } from '../../billing/types';
import { setTaxes } from './taxes';

export interface BillableMetricRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string;
  description: string | null;
  aggregationType: AggregationType;
  fieldName: string | null;
  recurring: boolean;
  filters: MetricFilter[];
  createdAt: Date;
}

export interface NewBillableMetric {
  code: string;
  name: string;
  description: string | null;
  aggregationType: AggregationType;
  fieldName: string | null;
  recurring: boolean;
  filters: MetricFilter[];
}

export class DuplicateCodeError extends Error {
  constructor(readonly resource: string, readonly codeValue: string) {
    super(`${resource} with code ${codeValue} already exists`);
    this.name = 'DuplicateCodeError';
  }
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

function toMetric(row: Record<string, any>): BillableMetricRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    code: row.code,
    name: row.name,
    description: row.description ?? null,
    aggregationType: row.aggregation_type,
    fieldName: row.field_name ?? null,
    recurring: row.recurring,
    filters: row.filters ?? [],
    createdAt: row.created_at,
  };
}

export function toBillingMetric(m: BillableMetricRecord): BillableMetric {
  return {
    code: m.code,
    name: m.name,
    aggregationType: m.aggregationType,
    fieldName: m.fieldName,
    recurring: m.recurring,
    filters: m.filters,
  };
}

export async function createBillableMetric(db: Knex, organizationId: string, m: NewBillableMetric): Promise<BillableMetricRecord> {
  try {
    const [row] = await db('billable_metrics')
      .insert({
        organization_id: organizationId,
        code: m.code,
        name: m.name,
        description: m.description,
        aggregation_type: m.aggregationType,
        field_name: m.fieldName,
        recurring: m.recurring,
        filters: JSON.stringify(m.filters),
      })
      .returning('*');
    return toMetric(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCodeError('billable_metric', m.code);
    throw err;
  }
}

export async function getBillableMetricByCode(db: Knex, organizationId: string, code: string): Promise<BillableMetricRecord | null> {
  const row = await db('billable_metrics').where({ organization_id: organizationId, code }).first();
  return row ? toMetric(row) : null;
}

export async function listBillableMetrics(db: Knex, organizationId: string): Promise<BillableMetricRecord[]> {
  const rows = await db('billable_metrics').where({ organization_id: organizationId }).orderBy([{ column: 'created_at' }, { column: 'code' }]);
  return rows.map(toMetric);
}

/** The organization's metrics as ingest needs them (api/ingest/catalog-cache.ts): id, code, aggregation, field. */
export async function listMetricIngestInfo(
  db: Knex,
  organizationId: string,
): Promise<{ id: string; code: string; aggregationType: AggregationType; fieldName: string | null }[]> {
  const rows = await db('billable_metrics').where({ organization_id: organizationId }).select('id', 'code', 'aggregation_type', 'field_name');
  return rows.map((r: Record<string, any>) => ({ id: r.id, code: r.code, aggregationType: r.aggregation_type, fieldName: r.field_name ?? null }));
}

export async function listBillableMetricsPage(
  db: Knex,
  organizationId: string,
  page: number,
  perPage: number,
): Promise<{ metrics: BillableMetricRecord[]; totalCount: number }> {
  const [{ count }] = await db('billable_metrics').where({ organization_id: organizationId }).count<{ count: string }[]>('* as count');
  const rows = await db('billable_metrics')
    .where({ organization_id: organizationId })
    .orderBy([{ column: 'created_at' }, { column: 'code' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return { metrics: rows.map(toMetric), totalCount: Number(count) };
}

// ---------------------------------------------------------------------------------------------- plans

export interface NewCharge {
  billableMetricId: string;
  chargeModel: string;
  payInAdvance: boolean;
  invoiceable: boolean;
  prorated: boolean;
  minAmountCents: number;
  invoiceDisplayName: string | null;
  properties: Record<string, unknown>;
  filters: { invoice_display_name: string | null; properties: Record<string, unknown>; values: Record<string, string[]> }[];
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
}

export interface ChargeRecord {
  id: string;
  billableMetricId: string;
  billableMetricCode: string;
  position: number;
  chargeModel: string;
  payInAdvance: boolean;
  invoiceable: boolean;
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
  charges: ChargeRecord[];
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
            billable_metric_id: c.billableMetricId,
            position,
            charge_model: c.chargeModel,
            pay_in_advance: c.payInAdvance,
            invoiceable: c.invoiceable,
            prorated: c.prorated,
            min_amount_cents: c.minAmountCents,
            invoice_display_name: c.invoiceDisplayName,
            properties: JSON.stringify(c.properties),
            filters: JSON.stringify(c.filters),
          })),
        ).returning(['id', 'position']);
        for (const c of inserted) {
          const ids = p.chargeTaxIds?.[c.position] ?? [];
          if (ids.length > 0) await setTaxes(trx, organizationId, 'charge', c.id, ids);
        }
      }
      if (p.taxIds && p.taxIds.length > 0) await setTaxes(trx, organizationId, 'plan', plan.id, p.taxIds);
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
    charges,
  };
}

async function loadCharges(db: Knex, planId: string): Promise<ChargeRecord[]> {
  const rows = await db('charges as c')
    .join('billable_metrics as m', 'm.id', 'c.billable_metric_id')
    .where('c.plan_id', planId)
    .orderBy('c.position')
    .select('c.*', 'm.code as metric_code');
  return rows.map((r: Record<string, any>) => ({
    id: r.id,
    billableMetricId: r.billable_metric_id,
    billableMetricCode: r.metric_code,
    position: r.position,
    chargeModel: r.charge_model,
    payInAdvance: r.pay_in_advance,
    invoiceable: r.invoiceable,
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
  return row ? toPlan(row, await loadCharges(db, row.id)) : null;
}

export async function getPlanByCode(db: Knex, organizationId: string, code: string): Promise<PlanRecord | null> {
  const row = await db('plans').where({ organization_id: organizationId, code }).first();
  return row ? toPlan(row, await loadCharges(db, row.id)) : null;
}

/** Billable metrics of the organization by id and by code (for resolving a plan's charges). */
export async function metricsByIdsOrCodes(
  db: Knex,
  organizationId: string,
  ids: string[],
  codes: string[],
): Promise<BillableMetricRecord[]> {
  const uuidIds = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
  if (uuidIds.length === 0 && codes.length === 0) return [];
  const rows = await db('billable_metrics')
    .where({ organization_id: organizationId })
    .andWhere((q) => {
      if (uuidIds.length > 0) q.orWhereIn('id', uuidIds);
      if (codes.length > 0) q.orWhereIn('code', codes);
    });
  return rows.map(toMetric);
}
