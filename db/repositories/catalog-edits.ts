// Edits and deletions of the catalog and of customers (Lago's PUT / DELETE /billable_metrics/:code, /plans/:code,
// DELETE /customers/:external_id) and the lists Lago pages through (GET /plans, GET /customers). Every query is
// scoped by organization_id; every multi-row write is one transaction (nothing half-written).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { AggregationType, MetricFilter } from '../../billing/types';
import { toMetric, type BillableMetricRecord } from './billable-metrics';
import { billingEntityTimezoneColumn, toCustomer, type CustomerRecord } from './customers';
import { DuplicateCodeError, isUniqueViolation } from './errors';
import { getPlanById, type NewCharge, type NewPlan, type PlanRecord, type StoredChargeFilter, type StoredUsageThreshold } from './plans';
import { setTaxes } from './taxes';
import { replaceFixedCharges } from './fixed-charges';

/** Postgres foreign_key_violation (SQLSTATE 23503): something still references the row. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23503';
}

export class StillReferencedError extends Error {
  constructor(readonly resource: string) {
    super(`${resource} is still referenced`);
    this.name = 'StillReferencedError';
  }
}

// ---------------------------------------------------------------------------------------------- billable metrics

/** How many charges (of plans not deleted) and usage alerts use the metric. */
export async function billableMetricUsage(db: Knex, organizationId: string, metricId: string): Promise<{ charges: number; alerts: number }> {
  const [charges] = await db('charges as c')
    .join('plans as p', 'p.id', 'c.plan_id')
    .where({ 'c.organization_id': organizationId, 'c.billable_metric_id': metricId })
    .count<{ count: string }[]>('* as count');
  const [alerts] = await db('usage_alerts').where({ organization_id: organizationId, billable_metric_id: metricId }).count<{ count: string }[]>('* as count');
  return { charges: Number(charges!.count), alerts: Number(alerts!.count) };
}

/** The ids of the plans (not deleted) with a charge on the metric. */
export async function planIdsUsingMetric(db: Knex, organizationId: string, metricId: string): Promise<string[]> {
  const rows: { plan_id: string }[] = await db('charges as c')
    .join('plans as p', 'p.id', 'c.plan_id')
    .where({ 'c.organization_id': organizationId, 'c.billable_metric_id': metricId })
    .whereNull('p.deleted_at')
    .distinct('c.plan_id');
  return rows.map((r) => r.plan_id);
}

export interface BillableMetricChanges {
  code?: string;
  name?: string;
  description?: string | null;
  aggregationType?: AggregationType;
  fieldName?: string | null;
  recurring?: boolean;
  filters?: MetricFilter[];
}

export async function updateBillableMetric(
  db: Knex,
  organizationId: string,
  metricId: string,
  changes: BillableMetricChanges,
): Promise<BillableMetricRecord> {
  const patch: Record<string, unknown> = {};
  if (changes.code !== undefined) patch.code = changes.code;
  if (changes.name !== undefined) patch.name = changes.name;
  if (changes.description !== undefined) patch.description = changes.description;
  if (changes.aggregationType !== undefined) patch.aggregation_type = changes.aggregationType;
  if (changes.fieldName !== undefined) patch.field_name = changes.fieldName;
  if (changes.recurring !== undefined) patch.recurring = changes.recurring;
  if (changes.filters !== undefined) patch.filters = JSON.stringify(changes.filters);
  try {
    const q = db('billable_metrics').where({ organization_id: organizationId, id: metricId });
    const [row] = Object.keys(patch).length > 0 ? await q.update(patch).returning('*') : [await q.first()];
    return toMetric(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCodeError('billable_metric', changes.code ?? '');
    throw err;
  }
}

/** Deletes the metric row; StillReferencedError when a charge or an alert references it (also under a race). */
export async function deleteBillableMetric(db: Knex, organizationId: string, metricId: string): Promise<void> {
  try {
    await db('billable_metrics').where({ organization_id: organizationId, id: metricId }).delete();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new StillReferencedError('billable_metric');
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------- plans

export async function listPlansPage(db: Knex, organizationId: string, page: number, perPage: number): Promise<{ plans: PlanRecord[]; totalCount: number }> {
  // Child plans of plan overrides are not catalog plans (Lago hides them from the list).
  const base = db('plans').where({ organization_id: organizationId }).whereNull('deleted_at').whereNull('parent_id');
  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  const rows: { id: string }[] = await base
    .clone()
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(perPage)
    .offset((page - 1) * perPage)
    .select('id');
  const plans = await Promise.all(rows.map((r) => getPlanById(db, organizationId, r.id)));
  return { plans: plans.filter((p): p is PlanRecord => p !== null), totalCount: Number(count) };
}

/** Subscriptions of the plan that still bill (active or pending). */
export async function liveSubscriptionIdsOfPlans(db: Knex, organizationId: string, planIds: string[]): Promise<string[]> {
  if (planIds.length === 0) return [];
  const rows: { id: string }[] = await db('subscriptions')
    .where({ organization_id: organizationId })
    .whereIn('plan_id', planIds)
    .whereIn('status', ['active', 'pending'])
    .orderBy('created_at')
    .select('id');
  return rows.map((r) => r.id);
}

/** A charge of the new set: `id` keeps an existing charge of the plan (its lago_id, fees and taxes); none creates one. */
export type ChargeEdit = NewCharge & { id?: string };

export type PlanEdit = Omit<NewPlan, 'charges' | 'usageThresholds'> & {
  charges: ChargeEdit[];
  usageThresholds: (NewPlan['usageThresholds'][number] & { lago_id?: string })[];
  /** The plan's revision the edit was computed from: another edit committed since → PlanChangedError, nothing written. */
  expectedRevision?: number;
};

/** The plan changed between the read an edit was computed from and its write (see PlanEdit.expectedRevision). */
export class PlanChangedError extends Error {
  constructor(readonly planId: string) {
    super(`plan ${planId} changed during the edit`);
    this.name = 'PlanChangedError';
  }
}

/**
 * The filters to store for a charge: a filter keeps its lago_id when it names one of the charge's stored filters,
 * else the id of the stored filter with the same values (PUT /plans sends filters without ids), else gets a new one.
 */
function filtersWithIds(given: StoredChargeFilter[], stored: StoredChargeFilter[]): StoredChargeFilter[] {
  const storedIds = new Set(stored.map((f) => f.lago_id).filter((id): id is string => id !== undefined));
  const key = (v: Record<string, string[]>) => JSON.stringify(Object.keys(v).sort().map((k) => [k, [...v[k]!].sort()]));
  const byValues = new Map(stored.filter((f) => f.lago_id !== undefined).map((f) => [key(f.values), f.lago_id!]));
  const used = new Set<string>();
  return given.map(({ lago_id, ...f }) => {
    let id = lago_id !== undefined && storedIds.has(lago_id) && !used.has(lago_id) ? lago_id : byValues.get(key(f.values));
    if (id === undefined || used.has(id)) id = crypto.randomUUID();
    used.add(id);
    return { lago_id: id, ...f };
  });
}

/**
 * Replaces the plan's fields and its set of charges in ONE transaction, as Lago's plan update does: a charge given
 * with the id of one of the plan's charges is updated in place (same lago_id), one without an id is created, and
 * the plan's charges not listed are removed (finalized invoices keep their fees; the next close bills the new set).
 * Taxes of the plan and of every listed charge are replaced.
 */
export async function updatePlan(db: Knex, organizationId: string, planId: string, p: PlanEdit): Promise<PlanRecord> {
  const nowIso = new Date().toISOString();
  try {
    await db.transaction(async (trx) => {
      const plan = await trx('plans').where({ organization_id: organizationId, id: planId }).forUpdate().first('usage_thresholds', 'revision');
      if (p.expectedRevision !== undefined && plan?.revision !== p.expectedRevision) throw new PlanChangedError(planId);
      const stored = new Map<string, StoredUsageThreshold>(((plan?.usage_thresholds ?? []) as StoredUsageThreshold[]).map((t) => [t.lago_id, t]));
      await trx('plans')
        .where({ organization_id: organizationId, id: planId })
        .update({
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
            p.usageThresholds.map(({ lago_id, ...t }) => {
              const kept = lago_id !== undefined ? stored.get(lago_id) : undefined;
              return { lago_id: kept?.lago_id ?? crypto.randomUUID(), ...t, created_at: kept?.created_at ?? nowIso };
            }),
          ),
          revision: trx.raw('revision + 1'),
        });
      const existing: { id: string; filters: StoredChargeFilter[] }[] = await trx('charges')
        .where({ organization_id: organizationId, plan_id: planId })
        .select('id', 'filters');
      const existingIds = new Set(existing.map((c) => c.id));
      const storedFilters = new Map(existing.map((c) => [c.id, c.filters ?? []]));
      const keptIds = new Set(p.charges.map((c) => c.id).filter((id): id is string => id !== undefined && existingIds.has(id)));
      const removed = [...existingIds].filter((id) => !keptIds.has(id));
      if (removed.length > 0) await trx('charges').where({ organization_id: organizationId, plan_id: planId }).whereIn('id', removed).delete();
      // Codes are unique per plan: a code moving from one charge to another within this edit must not collide.
      if (keptIds.size > 0) await trx('charges').where({ organization_id: organizationId, plan_id: planId }).whereIn('id', [...keptIds]).update({ code: null });
      for (const [position, c] of p.charges.entries()) {
        const kept = c.id !== undefined && keptIds.has(c.id);
        const row = {
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
          filters: JSON.stringify(filtersWithIds(c.filters, kept ? (storedFilters.get(c.id!) ?? []) : [])),
        };
        let chargeId: string;
        if (kept) {
          await trx('charges').where({ organization_id: organizationId, plan_id: planId, id: c.id }).update(row);
          chargeId = c.id!;
        } else {
          const [inserted] = await trx('charges').insert({ organization_id: organizationId, plan_id: planId, ...row }).returning('id');
          chargeId = inserted.id;
        }
        await setTaxes(trx, organizationId, 'charge', chargeId, p.chargeTaxIds?.[position] ?? []);
      }
      await setTaxes(trx, organizationId, 'plan', planId, p.taxIds ?? []);
      if (p.fixedCharges) await replaceFixedCharges(trx, organizationId, planId, p.fixedCharges); // fixed13: only when given
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCodeError('plan', p.code);
    throw err;
  }
  return (await getPlanById(db, organizationId, planId))!;
}

/** Marks the plan deleted (its code free again); subscriptions and invoices keep referencing the row. */
export async function softDeletePlan(db: Knex, organizationId: string, planId: string, at: Date): Promise<void> {
  await db('plans').where({ organization_id: organizationId, id: planId }).whereNull('deleted_at').update({ deleted_at: at });
}

// ---------------------------------------------------------------------------------------------- customers

export async function listCustomersPage(
  db: Knex,
  organizationId: string,
  filter: { page: number; perPage: number; searchTerm?: string; countries?: string[]; currencies?: string[]; customerType?: string; billingEntityCodes?: string[] },
): Promise<{ customers: CustomerRecord[]; totalCount: number }> {
  const base = db('customers').where({ organization_id: organizationId }).whereNull('deleted_at');
  if (filter.searchTerm) {
    const like = `%${filter.searchTerm.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base.andWhere((q) => q.whereILike('name', like).orWhereILike('external_id', like).orWhereILike('email', like));
  }
  if (filter.countries && filter.countries.length > 0) base.whereIn('country', filter.countries);
  if (filter.currencies && filter.currencies.length > 0) base.whereIn('currency', filter.currencies);
  if (filter.customerType) base.andWhere('customer_type', filter.customerType);
  if (filter.billingEntityCodes && filter.billingEntityCodes.length > 0) base.whereIn('billing_entity_code', filter.billingEntityCodes);
  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  const rows = await base
    .clone()
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(filter.perPage)
    .offset((filter.page - 1) * filter.perPage)
    .select('*', billingEntityTimezoneColumn(db));
  return { customers: rows.map(toCustomer), totalCount: Number(count) };
}

/** The customer's subscriptions that still bill (active or pending). */
export async function liveSubscriptionIdsOfCustomer(db: Knex, organizationId: string, customerId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('subscriptions')
    .where({ organization_id: organizationId, customer_id: customerId })
    .whereIn('status', ['active', 'pending'])
    .orderBy('created_at')
    .select('id');
  return rows.map((r) => r.id);
}

/** Marks the customer deleted (its external_id free again); its invoices and subscriptions stay readable. */
export async function softDeleteCustomer(db: Knex, organizationId: string, customerId: string, at: Date): Promise<CustomerRecord> {
  const [row] = await db('customers')
    .where({ organization_id: organizationId, id: customerId })
    .update({ deleted_at: db.raw('coalesce(deleted_at, ?)', [at]), updated_at: at })
    .returning('*');
  return toCustomer(row);
}
