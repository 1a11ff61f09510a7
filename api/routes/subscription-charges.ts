// Lago 1.51's subscription charge routes (issue 13): the subscription's EFFECTIVE charges and their per-subscription
// overrides.
//   GET  /subscriptions/:external_id/charges[/:charge_code]                 the charges the subscription is billed with
//   PUT  /subscriptions/:external_id/charges/:charge_code                   override one charge (ChargeOverridableInput)
//   GET/POST /subscriptions/:external_id/charges/:charge_code/filters       its filters; add one
//   GET/PUT/DELETE /subscriptions/:external_id/charges/:charge_code/filters/:filter_id
//
// No second override mechanism: every write is a `plan_overrides.charges` override of the subscription
// (api/services/plan-overrides.ts, as PUT /subscriptions/:id with plan_overrides makes it). The first one gives the
// subscription its child plan (a copy of the catalog plan); later ones edit that child. The charge's new content is
// validated by POST /plans's rules (error fields renamed `charge.<field>` / `filter.<field>`), written in one
// transaction, the catalog caches dropped and the subscription's workflow told. Because the subscription's plan id
// IS the child, the override is priced at once by every reader (current usage, the period's invoice at close,
// progressive billing, the workflow's estimate); the catalog plan and other subscriptions never change.
//
// - A charge is named by its `code` (the child keeps the catalog codes; a lago_id is accepted too), a filter by its
//   lago_id. The first override copies the filters with new lago_ids (they belong to the child's charge): a PUT or
//   DELETE of a catalog filter id creates the override and answers the child's filter.
// - `subscription_status` (default active, Lago's): a subscription in another status is 404 subscription_not_found;
//   `canceled` is a subscription terminated before it started. A terminated subscription's charges can be read, not
//   overridden (422 `charge: subscription_terminated`, as plan_overrides refuses it).
// - Concurrency: the write transaction locks the subscription row and checks the plan it was computed from
//   (db/repositories/subscription-charges.ts) and the child's revision; a lost race is recomputed from a fresh read.
import { Router, type Response } from 'express';
import { PlanChangedError } from '../../db/repositories/catalog-edits';
import { getPlanById, type ChargeRecord, type PlanRecord, type StoredChargeFilter } from '../../db/repositories/plans';
import { lockSubscriptionPlan } from '../../db/repositories/subscription-charges';
import { getSubscriptionByExternalId, type SubscriptionRecord } from '../../db/repositories/subscriptions';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound, validationError } from '../errors';
import { paginationMeta, parseBody } from '../schemas/common';
import type { PlanOverrides } from '../schemas/plan-overrides';
import {
  SubscriptionChargeFilterCreateBody,
  SubscriptionChargeFilterUpdateBody,
  SubscriptionChargeListQuery,
  SubscriptionChargeOverrideBody,
  SubscriptionStatusQuery,
} from '../schemas/subscription-charges';
import { overrideWritten, prepareOverride, writeOverride } from '../services/plan-overrides';
import { loadPlanTaxes, serializeCharge } from './plans';

const MAX_ATTEMPTS = 3;

type OverrideCharge = NonNullable<PlanOverrides['charges']>[number];
type Filter = StoredChargeFilter;

/** The subscription of the external id in the requested status (Lago's lookup), else 404. */
async function subscriptionOf(ctx: RouteContext, organizationId: string, externalId: string, status: string): Promise<SubscriptionRecord> {
  const s = await getSubscriptionByExternalId(ctx.db, organizationId, externalId);
  const matches = s !== null && (status === 'canceled' ? s.status === 'terminated' && s.startedAt === null : s.status === status);
  if (!s || !matches) throw notFound('subscription');
  return s;
}

function chargeOf(plan: PlanRecord, chargeCode: string): ChargeRecord {
  const c = plan.charges.find((x) => x.code === chargeCode) ?? plan.charges.find((x) => x.id === chargeCode);
  if (!c) throw notFound('charge');
  return c;
}

function filterIndexOf(charge: ChargeRecord, filterId: string): number {
  const index = charge.filters.findIndex((f) => f.lago_id === filterId);
  if (index < 0) throw notFound('charge_filter');
  return index;
}

/** plan_overrides' error fields (`plan_overrides.charges[0].x`) as this route's (`charge.x`, `filter.x`). */
function renamed(err: unknown, filterIndex?: number): unknown {
  if (!(err instanceof ApiError) || !err.errorDetails) return err;
  const out: Record<string, unknown> = {};
  for (const [field, codes] of Object.entries(err.errorDetails)) {
    let f = field.replace(/^plan_overrides\.charges\[0\]/, 'charge').replace(/^plan_overrides\./, 'charge.');
    if (filterIndex !== undefined && f.startsWith(`charge.filters[${filterIndex}]`)) f = `filter${f.slice(`charge.filters[${filterIndex}]`.length)}`;
    out[f] = codes;
  }
  return new ApiError(err.status, err.code, err.message, out);
}

/**
 * Overrides one charge of the subscription: `edit` gets the effective plan and charge (re-read on every attempt) and
 * returns the override's fields. Returns the child plan after the write and the edit's charge id in it.
 */
async function overrideCharge(
  ctx: RouteContext,
  organizationId: string,
  externalId: string,
  status: string,
  chargeCode: string,
  edit: (charge: ChargeRecord) => { fields: Omit<OverrideCharge, 'id'>; filterIndex?: number },
): Promise<{ plan: PlanRecord; charge: ChargeRecord }> {
  for (let attempt = 1; ; attempt++) {
    const s = await subscriptionOf(ctx, organizationId, externalId, status);
    if (s.status === 'terminated') throw validationError({ charge: ['subscription_terminated'] });
    const plan = (await getPlanById(ctx.db, organizationId, s.planId))!;
    const charge = chargeOf(plan, chargeCode);
    const position = plan.charges.indexOf(charge);
    const { fields, filterIndex } = edit(charge);
    let prepared;
    try {
      prepared = await prepareOverride(ctx, organizationId, s.planId, { charges: [{ ...fields, id: charge.id }] });
    } catch (err) {
      throw renamed(err, filterIndex);
    }
    // A child already there is edited only if it has not moved since this read (plans.revision).
    const guarded = plan.parentId ? { ...prepared, edit: { ...prepared.edit, expectedRevision: plan.revision } } : prepared;
    try {
      const child = await ctx.db.transaction(async (trx) => {
        await lockSubscriptionPlan(trx, organizationId, s.id, s.planId);
        return writeOverride(trx, organizationId, guarded, s.id);
      });
      await overrideWritten(ctx, organizationId, [s.id]);
      // The child keeps the charges in the plan's order (charges.position).
      return { plan: child, charge: child.charges[position]! };
    } catch (err) {
      if (err instanceof PlanChangedError && attempt < MAX_ATTEMPTS) continue;
      throw err;
    }
  }
}

function serializeFilter(charge: ChargeRecord, f: Filter) {
  return { lago_id: f.lago_id!, charge_code: charge.code ?? charge.id, invoice_display_name: f.invoice_display_name ?? null, properties: f.properties ?? {}, values: f.values };
}

/** The charge's filters as override input (lago_ids kept: the child's filters keep theirs). */
function filterInputs(charge: ChargeRecord): Record<string, unknown>[] {
  return charge.filters.map((f) => ({ ...(f.lago_id !== undefined ? { lago_id: f.lago_id } : {}), invoice_display_name: f.invoice_display_name ?? null, properties: f.properties ?? {}, values: f.values }));
}

export function subscriptionChargeRoutes(ctx: RouteContext): Router {
  const r = Router();

  const effective = async (res: Response, externalId: string, status: string) => {
    const organizationId = orgId(res);
    const s = await subscriptionOf(ctx, organizationId, externalId, status);
    return (await getPlanById(ctx.db, organizationId, s.planId))!;
  };
  const sendCharge = async (res: Response, plan: PlanRecord, charge: ChargeRecord) => {
    res.json({ charge: serializeCharge(charge, await loadPlanTaxes(ctx.db, orgId(res), plan)) });
  };

  // ---- charges -------------------------------------------------------------------------------------------------

  r.get('/subscriptions/:external_id/charges', async (req, res) => {
    const q = parseBody(SubscriptionChargeListQuery, req.query);
    const plan = await effective(res, req.params.external_id, q.subscription_status);
    const taxes = await loadPlanTaxes(ctx.db, orgId(res), plan);
    const page = plan.charges.slice((q.page - 1) * q.per_page, q.page * q.per_page);
    res.json({ charges: page.map((c) => serializeCharge(c, taxes)), meta: paginationMeta(q.page, q.per_page, plan.charges.length) });
  });

  r.get('/subscriptions/:external_id/charges/:charge_code', async (req, res) => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, req.query);
    const plan = await effective(res, req.params.external_id, status);
    await sendCharge(res, plan, chargeOf(plan, req.params.charge_code));
  });

  r.put('/subscriptions/:external_id/charges/:charge_code', async (req, res) => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, req.query);
    const { applied_pricing_unit: _unit, ...fields } = parseBody(SubscriptionChargeOverrideBody, req.body).charge;
    const { plan, charge } = await overrideCharge(ctx, orgId(res), req.params.external_id, status, req.params.charge_code, () => ({ fields }));
    await sendCharge(res, plan, charge);
  });

  // ---- filters -------------------------------------------------------------------------------------------------

  r.get('/subscriptions/:external_id/charges/:charge_code/filters', async (req, res) => {
    const q = parseBody(SubscriptionChargeListQuery, req.query);
    const charge = chargeOf(await effective(res, req.params.external_id, q.subscription_status), req.params.charge_code);
    const page = charge.filters.slice((q.page - 1) * q.per_page, q.page * q.per_page);
    res.json({ filters: page.map((f) => serializeFilter(charge, f)), meta: paginationMeta(q.page, q.per_page, charge.filters.length) });
  });

  r.get('/subscriptions/:external_id/charges/:charge_code/filters/:filter_id', async (req, res) => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, req.query);
    const charge = chargeOf(await effective(res, req.params.external_id, status), req.params.charge_code);
    res.json({ filter: serializeFilter(charge, charge.filters[filterIndexOf(charge, req.params.filter_id)]!) });
  });

  r.post('/subscriptions/:external_id/charges/:charge_code/filters', async (req, res) => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, req.query);
    const { cascade_updates: _c, ...body } = parseBody(SubscriptionChargeFilterCreateBody, req.body).filter;
    let at = 0;
    const { charge } = await overrideCharge(ctx, orgId(res), req.params.external_id, status, req.params.charge_code, (c) => {
      at = c.filters.length;
      const filter = { invoice_display_name: body.invoice_display_name ?? null, properties: body.properties, values: body.values };
      return { fields: { filters: [...filterInputs(c), filter] }, filterIndex: at };
    });
    res.json({ filter: serializeFilter(charge, charge.filters[at]!) });
  });

  r.put('/subscriptions/:external_id/charges/:charge_code/filters/:filter_id', async (req, res) => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, req.query);
    const { cascade_updates: _c, ...body } = parseBody(SubscriptionChargeFilterUpdateBody, req.body).filter;
    let at = 0;
    const { charge } = await overrideCharge(ctx, orgId(res), req.params.external_id, status, req.params.charge_code, (c) => {
      at = filterIndexOf(c, req.params.filter_id);
      const filters = filterInputs(c).map((f, i) => (i === at ? { ...f, ...body } : f));
      return { fields: { filters }, filterIndex: at };
    });
    res.json({ filter: serializeFilter(charge, charge.filters[at]!) });
  });

  r.delete('/subscriptions/:external_id/charges/:charge_code/filters/:filter_id', async (req, res) => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, req.query);
    let removed: { charge: ChargeRecord; filter: Filter } | undefined;
    await overrideCharge(ctx, orgId(res), req.params.external_id, status, req.params.charge_code, (c) => {
      const at = filterIndexOf(c, req.params.filter_id);
      removed = { charge: c, filter: c.filters[at]! };
      return { fields: { filters: filterInputs(c).filter((_f, i) => i !== at) } };
    });
    res.json({ filter: serializeFilter(removed!.charge, removed!.filter) });
  });

  return r;
}
