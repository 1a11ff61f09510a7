// Lago 1.51's nested plan routes (issue 13): /plans/{code}/charges[/{charge_code}] and
// /plans/{code}/charges/{charge_code}/filters[/{filter_id}] — list, get, create, update, delete.
//
// Each write is an edit of the whole plan, made exactly as PUT /plans/:code makes it (api/routes/catalog-edits.ts):
// the stored plan with the one charge or filter added, changed or removed is validated by the same function as
// POST /plans (planBodyValidator: the billing engine's rules, limits, tax codes), written by updatePlan in ONE
// transaction, the catalog caches dropped and the live subscriptions' workflows told (billingRulesChangedSignal).
// So for subscriptions already running on the plan the rule is PUT /plans's: the change applies from their open
// period on (current usage is re-priced at once, the period's invoice is computed from Postgres at close, a removed
// charge bills nothing for the open period), finalized invoices and fees already issued never change.
// Edits are computed from a read of the plan: updatePlan refuses one whose plan changed since (plans.revision) and
// it is recomputed from a fresh read, so two edits at once never lose one.
// A charge is named by its `code` (unique in its plan; its lago_id is accepted too). Lago's `cascade_updates`
// (children plans of subscription overrides, api/services/plan-overrides.ts): true re-derives each child as the
// edited plan + its own overrides (as PUT /plans does); false or absent leaves the children as they are.
import { Router, type Response } from 'express';
import { liveSubscriptionIdsOfPlans, updatePlan } from '../../db/repositories/catalog-edits';
import { inPlanEditTransaction } from '../services/plan-edit-transaction';
import { cascadeToChildren } from '../services/plan-overrides';
import { DuplicateCodeError } from '../../db/repositories/errors';
import { getPlanByCode, type ChargeRecord, type PlanRecord, type StoredChargeFilter } from '../../db/repositories/plans';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound, validationError } from '../errors';
import { paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { PlanChargeBody, PlanChargeDeleteBody, PlanChargeFilterBody, PlanChargeFilterDeleteBody } from '../schemas/plan-charges';
import { planInput } from './catalog-edits';
import { loadPlanTaxes, newPlanOf, planBodyValidator, serializeCharge } from './plans';

type RawCharge = Record<string, unknown> & { id?: string; code?: string; filters?: StoredChargeFilter[] };

function chargeOf(plan: PlanRecord, chargeCode: string): ChargeRecord {
  const c = plan.charges.find((x) => x.code === chargeCode) ?? plan.charges.find((x) => x.id === chargeCode);
  if (!c) throw notFound('charge');
  return c;
}

/** The charge's field names in the error details: `charges[i].x` → `charge.x` (and `….filters[j]` → `filter`). */
function renamedDetails(err: ApiError, index: number, filterIndex?: number): ApiError {
  if (!err.errorDetails) return err;
  const out: Record<string, unknown> = {};
  for (const [field, codes] of Object.entries(err.errorDetails)) {
    let f = field;
    if (filterIndex !== undefined && f.startsWith(`charges[${index}].filters[${filterIndex}]`)) {
      f = `filter${f.slice(`charges[${index}].filters[${filterIndex}]`.length)}`;
    } else if (f.startsWith(`charges[${index}]`)) f = `charge${f.slice(`charges[${index}]`.length)}`;
    out[f] = codes;
  }
  return new ApiError(err.status, err.code, err.message, out);
}

interface Edit {
  /** The plan's charges (Lago input, with ids) after the change. */
  charges: RawCharge[];
  /** The index in `charges` of the charge the answer is about (-1: it was removed). */
  index: number;
  filterIndex?: number;
}

/**
 * Applies `edit` to the plan named by the request, validated and written as PUT /plans does; retried from a fresh
 * read when another edit of the plan committed in between. Returns the plan before and after.
 */
async function editPlanCharges(
  ctx: RouteContext,
  organizationId: string,
  planCode: string,
  edit: (plan: PlanRecord, charges: RawCharge[]) => Edit,
  cascade: { cascadeUpdates?: boolean | undefined } = {},
): Promise<{ before: PlanRecord; after: PlanRecord }> {
  // The edit and its cascade_updates: one transaction holding the plan's row lock, the plan read under it (adv11c).
  return inPlanEditTransaction(ctx, organizationId, planCode, async (tx) => {
    const plan = await getPlanByCode(tx.db, organizationId, planCode);
    if (!plan) throw notFound('plan');
    const base = await planInput(tx, organizationId, plan);
    const { charges, index, filterIndex } = edit(plan, base.charges as RawCharge[]);
    let validated;
    try {
      // Validated through the transaction: no second pool connection while the plan's lock is held.
      validated = await planBodyValidator(tx)(organizationId, { plan: { ...base, charges } });
    } catch (err) {
      throw err instanceof ApiError && index >= 0 ? renamedDetails(err, index, filterIndex) : err;
    }
    const record = newPlanOf(validated);
    const ownIds = new Set(plan.charges.map((c) => c.id));
    let after: PlanRecord;
    try {
      after = await updatePlan(tx.db, organizationId, plan.id, {
        ...record,
        expectedRevision: plan.revision,
        usageThresholds: record.usageThresholds.map((t, i) => ({ lago_id: plan.usageThresholds[i]!.lago_id, ...t })),
        charges: record.charges.map((c, i) => {
          const id = charges[i]?.id;
          return { ...(typeof id === 'string' && ownIds.has(id) ? { id } : {}), ...c };
        }),
      });
    } catch (err) {
      if (err instanceof DuplicateCodeError) throw validationError({ 'charge.code': ['value_already_exist'] });
      throw err;
    }
    const live = await liveSubscriptionIdsOfPlans(tx.db, organizationId, [plan.id]);
    const cascaded = cascade.cascadeUpdates === true ? (await cascadeToChildren(tx, organizationId, after)).subscriptionIds : [];
    return { value: { before: plan, after }, subscriptionIds: [...live, ...cascaded] };
  });
}

async function sendCharge(ctx: RouteContext, res: Response, organizationId: string, plan: PlanRecord, charge: ChargeRecord) {
  res.json({ charge: serializeCharge(charge, await loadPlanTaxes(ctx.db, organizationId, plan)) });
}

function serializeFilter(charge: ChargeRecord, f: StoredChargeFilter) {
  return { lago_id: f.lago_id!, charge_code: charge.code ?? charge.id, invoice_display_name: f.invoice_display_name ?? null, properties: f.properties ?? {}, values: f.values };
}

function filterOf(charge: ChargeRecord, filterId: string): { filter: StoredChargeFilter; index: number } {
  const index = charge.filters.findIndex((f) => f.lago_id === filterId);
  if (index < 0) throw notFound('charge_filter');
  return { filter: charge.filters[index]!, index };
}

export function planChargeRoutes(ctx: RouteContext): Router {
  const r = Router();
  const plan = async (res: Response, code: string) => {
    const p = await getPlanByCode(ctx.db, orgId(res), code);
    if (!p) throw notFound('plan');
    return p;
  };

  // ---- charges -------------------------------------------------------------------------------------------------

  r.get('/plans/:code/charges', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const p = await plan(res, req.params.code);
    const taxes = await loadPlanTaxes(ctx.db, orgId(res), p);
    const pageOf = p.charges.slice((page - 1) * per_page, page * per_page);
    res.json({ charges: pageOf.map((c) => serializeCharge(c, taxes)), meta: paginationMeta(page, per_page, p.charges.length) });
  });

  r.get('/plans/:code/charges/:charge_code', async (req, res) => {
    const p = await plan(res, req.params.code);
    await sendCharge(ctx, res, orgId(res), p, chargeOf(p, req.params.charge_code));
  });

  r.post('/plans/:code/charges', async (req, res) => {
    const organizationId = orgId(res);
    const { cascade_updates: cascade, ...body } = parseBody(PlanChargeBody, req.body).charge;
    const { after } = await editPlanCharges(ctx, organizationId, req.params.code, (_p, charges) => ({
      charges: [...charges, body],
      index: charges.length,
    }), { cascadeUpdates: cascade });
    await sendCharge(ctx, res, organizationId, after, after.charges[after.charges.length - 1]!);
  });

  r.put('/plans/:code/charges/:charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const { cascade_updates: cascade, ...body } = parseBody(PlanChargeBody, req.body).charge;
    let chargeId = '';
    const { after } = await editPlanCharges(ctx, organizationId, req.params.code, (p, charges) => {
      const charge = chargeOf(p, req.params.charge_code);
      chargeId = charge.id;
      if (body.billable_metric_id !== undefined && body.billable_metric_id !== charge.billableMetricId) {
        // A charge's metric is what it bills: another metric is another charge (POST, then DELETE this one).
        throw validationError({ 'charge.billable_metric_id': ['value_is_immutable'] });
      }
      const index = charges.findIndex((c) => c.id === charge.id);
      const { billable_metric_code: _code, ...rest } = body;
      return { charges: charges.map((c, i) => (i === index ? { ...c, ...rest } : c)), index };
    }, { cascadeUpdates: cascade });
    await sendCharge(ctx, res, organizationId, after, after.charges.find((c) => c.id === chargeId)!);
  });

  r.delete('/plans/:code/charges/:charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const cascade = parseBody(PlanChargeDeleteBody, req.body).charge?.cascade_updates;
    let removed: ChargeRecord | undefined;
    const { before, after } = await editPlanCharges(ctx, organizationId, req.params.code, (p, charges) => {
      removed = chargeOf(p, req.params.charge_code);
      return { charges: charges.filter((c) => c.id !== removed!.id), index: -1 };
    }, { cascadeUpdates: cascade });
    await sendCharge(ctx, res, organizationId, before, removed!);
  });

  // ---- charge filters ------------------------------------------------------------------------------------------

  r.get('/plans/:code/charges/:charge_code/filters', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const charge = chargeOf(await plan(res, req.params.code), req.params.charge_code);
    const pageOf = charge.filters.slice((page - 1) * per_page, page * per_page);
    res.json({ filters: pageOf.map((f) => serializeFilter(charge, f)), meta: paginationMeta(page, per_page, charge.filters.length) });
  });

  r.get('/plans/:code/charges/:charge_code/filters/:filter_id', async (req, res) => {
    const charge = chargeOf(await plan(res, req.params.code), req.params.charge_code);
    res.json({ filter: serializeFilter(charge, filterOf(charge, req.params.filter_id).filter) });
  });

  r.post('/plans/:code/charges/:charge_code/filters', async (req, res) => {
    const organizationId = orgId(res);
    const { cascade_updates: cascade, ...body } = parseBody(PlanChargeFilterBody, req.body).filter;
    if (body.values === undefined) throw validationError({ 'filter.values': ['value_is_mandatory'] });
    let chargeId = '';
    let position = 0;
    const { after } = await editPlanCharges(ctx, organizationId, req.params.code, (p, charges) => {
      const charge = chargeOf(p, req.params.charge_code);
      chargeId = charge.id;
      position = charge.filters.length;
      const index = charges.findIndex((c) => c.id === charge.id);
      const filter = { invoice_display_name: body.invoice_display_name ?? null, properties: body.properties ?? {}, values: body.values! };
      return { charges: charges.map((c, i) => (i === index ? { ...c, filters: [...(c.filters ?? []), filter] } : c)), index, filterIndex: position };
    }, { cascadeUpdates: cascade });
    const charge = after.charges.find((c) => c.id === chargeId)!;
    res.json({ filter: serializeFilter(charge, charge.filters[position]!) });
  });

  r.put('/plans/:code/charges/:charge_code/filters/:filter_id', async (req, res) => {
    const organizationId = orgId(res);
    const { cascade_updates: cascade, ...body } = parseBody(PlanChargeFilterBody, req.body).filter;
    let chargeId = '';
    const { after } = await editPlanCharges(ctx, organizationId, req.params.code, (p, charges) => {
      const charge = chargeOf(p, req.params.charge_code);
      chargeId = charge.id;
      const { index: filterIndex } = filterOf(charge, req.params.filter_id);
      const index = charges.findIndex((c) => c.id === charge.id);
      const edited = charges.map((c, i) =>
        i === index ? { ...c, filters: (c.filters ?? []).map((f, j) => (j === filterIndex ? { ...f, ...body } : f)) } : c,
      );
      return { charges: edited, index, filterIndex };
    }, { cascadeUpdates: cascade });
    const charge = after.charges.find((c) => c.id === chargeId)!;
    res.json({ filter: serializeFilter(charge, filterOf(charge, req.params.filter_id).filter) });
  });

  r.delete('/plans/:code/charges/:charge_code/filters/:filter_id', async (req, res) => {
    const organizationId = orgId(res);
    const cascade = parseBody(PlanChargeFilterDeleteBody, req.body).filter?.cascade_updates;
    let removed: { charge: ChargeRecord; filter: StoredChargeFilter } | undefined;
    const { after } = await editPlanCharges(ctx, organizationId, req.params.code, (p, charges) => {
      const charge = chargeOf(p, req.params.charge_code);
      const { filter } = filterOf(charge, req.params.filter_id);
      removed = { charge, filter };
      const index = charges.findIndex((c) => c.id === charge.id);
      const edited = charges.map((c, i) => (i === index ? { ...c, filters: (c.filters ?? []).filter((f) => f.lago_id !== filter.lago_id) } : c));
      return { charges: edited, index };
    }, { cascadeUpdates: cascade });
    res.json({ filter: serializeFilter(removed!.charge, removed!.filter) });
  });

  return r;
}
