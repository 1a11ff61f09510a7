// Lago's everyday catalog API (issues 11 and 13): PUT / DELETE /billable_metrics/:code, GET /plans, PUT / DELETE
// /plans/:code, GET /customers, DELETE /customers/:external_customer_id.
//
// What may change under live (active or pending) subscriptions — Meterline's choices, after Lago's documented rules:
// - A plan's amount, trial, minimum commitment, usage thresholds, taxes and charges (added, edited, removed) may be
//   edited at any time and apply to every subscription of the plan from its open period on (the period's invoice
//   is computed from Postgres at close; the subscription workflows are told through billingRulesChangedSignal, and
//   the API's catalog caches are dropped). Finalized invoices never change. Its code, interval, currency and
//   pay_in_advance are fixed once a live subscription uses it (Lago: "fully editable as long as it is not linked to
//   a customer"): a change is a 422 naming the field (`plan_has_subscriptions`), never silently ignored.
// - A billable metric used by a charge keeps its code, aggregation_type, field_name and recurring (they decide what
//   is billed for past events of the open period); its name, description and filters may change, filters only by
//   adding keys or values (a removed value could orphan a charge filter): 422 `billable_metric_in_use` otherwise.
// - Deleting a billable metric: Lago removes its charges from every plan; Meterline refuses while a charge or an
//   alert uses it (422 `billable_metric_in_use`: remove the charge with PUT /plans first, which bills it no more),
//   and otherwise deletes it (its code can be used again; stored events stay in the ledger).
// - Deleting a plan terminates its live subscriptions as Lago does (each through its workflow, as DELETE
//   /subscriptions does: the period so far is invoiced), then marks the plan deleted (its code free again).
// - Deleting a customer terminates its live subscriptions the same way, then marks the customer deleted (its
//   external_id free again; its invoices stay readable).
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Router } from 'express';
import { getBillableMetricByCode, type BillableMetricRecord } from '../../db/repositories/billable-metrics';
import {
  billableMetricUsage,
  deleteBillableMetric,
  listCustomersPage,
  listPlansPage,
  liveSubscriptionIdsOfCustomer,
  liveSubscriptionIdsOfPlans,
  planIdsUsingMetric,
  softDeleteCustomer,
  softDeletePlan,
  StillReferencedError,
  updateBillableMetric,
  updatePlan,
} from '../../db/repositories/catalog-edits';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import { DuplicateCodeError } from '../../db/repositories/errors';
import { getPlanByCode, type PlanRecord } from '../../db/repositories/plans';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { taxesOf } from '../../db/repositories/taxes';
import { subscriptionWorkflowId, terminateUpdate } from '../../workflows/messages';
import { defaultTimezoneOf, orgId } from '../auth';
import { sendWhilePeriodCloses } from '../services/period-closing-wait';
import type { RouteContext } from '../context';
import { ApiError, addDetail, notFound, validationError } from '../errors';
import { BillableMetricCreateBody } from '../schemas/billable-metrics';
import { paginationMeta, parseBody, paginationQuery } from '../schemas/common';
import { BillableMetricUpdateBody, CustomerListQuery, PlanUpdateBody } from '../schemas/everyday';
import { knownBillingEntityCodes } from './billing-entities';
import { serializeBillableMetric } from './billable-metrics';
import { serializeCustomer } from './customers';
import { loadPlanTaxes, newPlanOf, planBodyValidator, serializePlan } from './plans';
import { terminationUpdateId } from './subscriptions';
import { cascadeToChildren, childPlanIds } from '../services/plan-overrides';
import { inPlanEditTransaction } from '../services/plan-edit-transaction';
import type { Knex } from 'knex';
import { fixedChargesOfPlan, type NewFixedCharge } from '../../db/repositories/fixed-charges';
import { recordPlanUnitsChanges, tellUnitsChanged, type PlanUnitsChange } from '../services/plan-fixed-charge-units';
import { withStoredFixedChargeFields } from './fixed-charges';

/** The stored metric as Lago's create input (the base a PUT body is merged onto). */
function metricInput(m: BillableMetricRecord) {
  return {
    name: m.name,
    code: m.code,
    description: m.description,
    aggregation_type: m.aggregationType,
    field_name: m.fieldName,
    recurring: m.recurring,
    filters: m.filters,
  };
}

// planInput and tellSubscriptions live in api/services/plan-input.ts (plan overrides use them too: no import cycle).
export { planInput, tellSubscriptions } from '../services/plan-input';
import { planInput, tellSubscriptions } from '../services/plan-input';

/**
 * Terminates each subscription through its workflow, as DELETE /subscriptions does (the same update id, so a retried
 * deletion joins the first termination instead of starting another). A subscription already terminated is skipped.
 */
async function terminateSubscriptions(ctx: RouteContext, organizationId: string, subscriptionIds: string[]): Promise<void> {
  for (const s of await getSubscriptionsByIds(ctx.db, organizationId, subscriptionIds)) {
    if (s.status === 'terminated') continue;
    try {
      const handle = ctx.temporal.workflow.getHandle(subscriptionWorkflowId(s.id));
      await sendWhilePeriodCloses(() => handle.executeUpdate(terminateUpdate, { args: [{}], updateId: terminationUpdateId(s.id) }));
    } catch (err) {
      const [after] = await getSubscriptionsByIds(ctx.db, organizationId, [s.id]);
      if (after?.status !== 'terminated') {
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
          throw new ApiError(422, 'validation_errors', err.cause.message, { base: [err.cause.type ?? 'termination_failed'] });
        }
        throw err;
      }
    }
    ctx.cache.invalidateSubscription(organizationId, s.externalId);
  }
}

function sameFilters(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The units changes of a PUT /plans (units11): each fixed charge of the new set (by code, `raw` its request entry at the
 * same position) whose units differ from the stored ones, or that says apply_units_immediately (a new one too).
 */
async function planUnitsChanges(db: Knex, organizationId: string, before: PlanRecord, list: NewFixedCharge[], raw: unknown): Promise<PlanUnitsChange[]> {
  const entries = Array.isArray(raw) ? (raw as { apply_units_immediately?: unknown }[]) : [];
  const stored = new Map((before.fixedCharges ?? []).map((f) => [f.code, f.units]));
  const after = new Map((await fixedChargesOfPlan(db, organizationId, before.id)).map((f) => [f.code, f.id]));
  const out: PlanUnitsChange[] = [];
  for (const [i, f] of list.entries()) {
    const applyImmediately = entries[i]?.apply_units_immediately === true;
    const id = after.get(f.code);
    if (id && (applyImmediately || stored.get(f.code) !== f.units)) out.push({ fixedChargeId: id, units: f.units, applyImmediately });
  }
  return out;
}

export function catalogEditRoutes(ctx: RouteContext): Router {
  const r = Router();
  const validatePlanBody = planBodyValidator(ctx);

  // ---- billable metrics ------------------------------------------------------------------------------------

  r.put('/billable_metrics/:code', async (req, res) => {
    const organizationId = orgId(res);
    const body = parseBody(BillableMetricUpdateBody, req.body).billable_metric;
    const metric = await getBillableMetricByCode(ctx.db, organizationId, req.params.code);
    if (!metric) throw notFound('billable_metric');
    const merged = parseBody(BillableMetricCreateBody, { billable_metric: { ...metricInput(metric), ...body } }).billable_metric;
    const fieldName = merged.aggregation_type === 'count_agg' ? null : (merged.field_name ?? null);
    const usage = await billableMetricUsage(ctx.db, organizationId, metric.id);
    if (usage.charges > 0) {
      const details: Record<string, string[]> = {};
      if (merged.code !== metric.code) addDetail(details, 'code', 'billable_metric_in_use');
      if (merged.aggregation_type !== metric.aggregationType) addDetail(details, 'aggregation_type', 'billable_metric_in_use');
      if (fieldName !== metric.fieldName) addDetail(details, 'field_name', 'billable_metric_in_use');
      if (merged.recurring !== metric.recurring) addDetail(details, 'recurring', 'billable_metric_in_use');
      const kept = new Map(merged.filters.map((f) => [f.key, new Set(f.values)]));
      const removesValue = metric.filters.some((f) => !kept.has(f.key) || f.values.some((v) => !kept.get(f.key)!.has(v)));
      if (removesValue) addDetail(details, 'filters', 'billable_metric_in_use');
      if (Object.keys(details).length > 0) throw validationError(details);
    }
    let updated: BillableMetricRecord;
    try {
      updated = await updateBillableMetric(ctx.db, organizationId, metric.id, {
        code: merged.code,
        name: merged.name,
        description: merged.description ?? null,
        aggregationType: merged.aggregation_type,
        fieldName,
        recurring: merged.recurring,
        filters: merged.filters,
      });
    } catch (err) {
      if (err instanceof DuplicateCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
    ctx.catalogChanged(organizationId);
    if (!sameFilters(updated.filters, metric.filters) || updated.name !== metric.name) {
      await tellSubscriptions(ctx, await liveSubscriptionIdsOfPlans(ctx.db, organizationId, await planIdsUsingMetric(ctx.db, organizationId, metric.id)));
    }
    res.json({ billable_metric: serializeBillableMetric(updated) });
  });

  r.delete('/billable_metrics/:code', async (req, res) => {
    const organizationId = orgId(res);
    const metric = await getBillableMetricByCode(ctx.db, organizationId, req.params.code);
    if (!metric) throw notFound('billable_metric');
    const usage = await billableMetricUsage(ctx.db, organizationId, metric.id);
    if (usage.charges > 0 || usage.alerts > 0) throw validationError({ base: ['billable_metric_in_use'] });
    try {
      await deleteBillableMetric(ctx.db, organizationId, metric.id);
    } catch (err) {
      if (err instanceof StillReferencedError) throw validationError({ base: ['billable_metric_in_use'] });
      throw err;
    }
    ctx.catalogChanged(organizationId);
    res.json({ billable_metric: serializeBillableMetric(metric) });
  });

  // ---- plans -------------------------------------------------------------------------------------------------

  r.get('/plans', async (req, res) => {
    const organizationId = orgId(res);
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const { plans, totalCount } = await listPlansPage(ctx.db, organizationId, page, per_page);
    const serialized = [];
    for (const p of plans) serialized.push(serializePlan(p, await loadPlanTaxes(ctx.db, organizationId, p)));
    res.json({ plans: serialized, meta: paginationMeta(page, per_page, totalCount) });
  });

  r.put('/plans/:code', async (req, res) => {
    const organizationId = orgId(res);
    const body = parseBody(PlanUpdateBody, req.body).plan;
    // The edit and its cascade_updates: one transaction holding the plan's row lock, the plan read under it (adv11c).
    let unitsTold: string[] = [];
    const updated = await inPlanEditTransaction(ctx, organizationId, req.params.code, async (tx) => {
      const plan = await getPlanByCode(tx.db, organizationId, req.params.code);
      if (!plan) throw notFound('plan');
      const { cascade_updates: cascade, ...fields } = body;
      const base = await planInput(tx, organizationId, plan);
      const merged = { ...base, ...fields };
      // Lago names a plan's stored fixed charge by `id` in an update (units11): its stored fields under the entry's.
      if (Array.isArray(fields.fixed_charges)) (merged as Record<string, unknown>).fixed_charges = withStoredFixedChargeFields(plan.fixedCharges ?? [], fields.fixed_charges);
      // The subscriptions of its override children (api/services/plan-overrides.ts) are the plan's too.
      const live = await liveSubscriptionIdsOfPlans(tx.db, organizationId, [plan.id, ...(await childPlanIds(tx, organizationId, plan.id))]);
      if (live.length > 0) {
        const details: Record<string, string[]> = {};
        for (const f of ['code', 'interval', 'amount_currency', 'pay_in_advance'] as const) {
          if (fields[f] !== undefined && fields[f] !== base[f]) addDetail(details, f, 'plan_has_subscriptions');
        }
        if (Object.keys(details).length > 0) throw validationError(details);
      }
      // Validated through the transaction: no second pool connection while the plan's lock is held.
      const record = newPlanOf(await planBodyValidator(tx)(organizationId, { plan: merged }));
      const ownChargeIds = new Set(plan.charges.map((c) => c.id));
      const rawCharges = merged.charges as { id?: unknown }[];
      const rawThresholds = (Array.isArray(merged.usage_thresholds) ? merged.usage_thresholds : []) as { lago_id?: unknown }[];
      let updated: PlanRecord;
      try {
        updated = await updatePlan(tx.db, organizationId, plan.id, {
          ...record,
          usageThresholds: record.usageThresholds.map((t, i) => {
            const id = rawThresholds[i]?.lago_id;
            return { ...(typeof id === 'string' ? { lago_id: id } : {}), ...t };
          }),
          charges: record.charges.map((c, i) => {
            const id = rawCharges[i]?.id;
            return { ...(typeof id === 'string' && ownChargeIds.has(id) ? { id } : {}), ...c };
          }),
        });
      } catch (err) {
        if (err instanceof DuplicateCodeError) throw validationError({ code: ['value_already_exist'] });
        throw err;
      }
      // units11: fixed-charge units changed (or sent with apply_units_immediately) on the plan's subscriptions.
      if (record.fixedCharges) unitsTold = await recordPlanUnitsChanges(tx.db as Knex.Transaction, organizationId, plan.id, await planUnitsChanges(tx.db, organizationId, plan, record.fixedCharges, (merged as { fixed_charges?: unknown }).fixed_charges));
      // Lago's cascade_updates: the children re-derived as the edited plan + their own overrides.
      const cascaded = cascade === true ? (await cascadeToChildren(tx, organizationId, updated)).subscriptionIds : [];
      return { value: updated, subscriptionIds: [...live, ...cascaded] };
    });
    await tellUnitsChanged(ctx, unitsTold); // units11: their workflows bill the units raised at once
    res.json({ plan: serializePlan(updated, await loadPlanTaxes(ctx.db, organizationId, updated)) });
  });

  r.delete('/plans/:code', async (req, res) => {
    const organizationId = orgId(res);
    const plan = await getPlanByCode(ctx.db, organizationId, req.params.code);
    if (!plan) throw notFound('plan');
    const taxes = await loadPlanTaxes(ctx.db, organizationId, plan);
    const planIds = [plan.id, ...(await childPlanIds(ctx, organizationId, plan.id))];
    await terminateSubscriptions(ctx, organizationId, await liveSubscriptionIdsOfPlans(ctx.db, organizationId, planIds));
    await softDeletePlan(ctx.db, organizationId, plan.id, new Date());
    ctx.catalogChanged(organizationId);
    res.json({ plan: serializePlan(plan, taxes) });
  });

  // ---- customers ---------------------------------------------------------------------------------------------

  r.get('/customers', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(CustomerListQuery, req.query);
    const { customers, totalCount } = await listCustomersPage(ctx.db, organizationId, {
      page: q.page,
      perPage: q.per_page,
      searchTerm: q.search_term,
      countries: q['countries[]'],
      currencies: q['currencies[]'],
      customerType: q.customer_type,
      billingEntityCodes: await knownBillingEntityCodes(ctx.db, organizationId, q),
    });
    const taxes = await taxesOf(ctx.db, organizationId, 'customer', customers.map((c) => c.id));
    res.json({
      customers: customers.map((c) => serializeCustomer(c, defaultTimezoneOf(res), taxes.get(c.id) ?? [])),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  r.delete('/customers/:external_customer_id', async (req, res) => {
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, req.params.external_customer_id);
    if (!customer) throw notFound('customer');
    const taxes = (await taxesOf(ctx.db, organizationId, 'customer', [customer.id])).get(customer.id) ?? [];
    await terminateSubscriptions(ctx, organizationId, await liveSubscriptionIdsOfCustomer(ctx.db, organizationId, customer.id));
    const deleted = await softDeleteCustomer(ctx.db, organizationId, customer.id, new Date());
    res.json({ customer: serializeCustomer(deleted, defaultTimezoneOf(res), taxes) });
  });

  return r;
}
