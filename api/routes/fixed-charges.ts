// Lago 1.51's fixed charges (issues 11 + 13): a plan's recurring fee for a number of units of an add-on, billed
// every period without events (billing/fixed-charges.ts; invoices: activities/fixed-charges.ts).
//
// - In a plan: POST /plans and PUT /plans/:code carry `fixed_charges` (planBodyValidator calls
//   validateFixedChargesInput; PUT replaces the set by code: same code = same lago_id, units kept), GET returns them.
// - Plan-scoped (5): POST/GET /plans/:code/fixed_charges, GET/PUT/DELETE /plans/:code/fixed_charges/:fixed_charge_code.
// - Subscription-scoped (3): GET /subscriptions/:external_id/fixed_charges[/:fixed_charge_code] (units = the
//   subscription's units in force now, else the plan's), PUT …/:fixed_charge_code records a units override:
//   `apply_units_immediately: true` → from now (the subscription's test-clock time when it has one); false or absent
//   (Lago's default) → from the start of the next billing period. Only `units` (+ apply_units_immediately) are
//   accepted there: Lago turns other fields into a full plan override (not implemented: 422 not_supported).
// - A plan's units change (PUT /plans/:code/fixed_charges/:code or PUT /plans/:code with `units`) applies to every
//   subscription without an override of its own (units11, api/services/plan-fixed-charge-units.ts): with
//   `apply_units_immediately` from the subscription's now (a pay-in-advance fixed charge then bills the units not paid
//   yet on an immediate invoice: activities/fixed-charge-units.ts); else from the next period where an immediate
//   change was recorded, elsewhere through the plan's units (which price every period not yet finalized).
// - PUT …/subscriptions/:id/fixed_charges/:code with `apply_units_immediately: true` tells the workflow
//   (fixedChargeUnitsChangedSignal), which bills the raised units of a pay-in-advance fixed charge at once.
// Codes: a fixed charge's code defaults to its add-on's code (`_2`, `_3`… when taken), unique within the plan.
import { Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { fixedChargeIssues, unitsInForceAt, unitsString, FIXED_CHARGE_MODELS } from '../../billing/fixed-charges';
import type { Interval } from '../../billing/types';
import {
  createFixedCharge,
  deleteFixedCharge,
  effectiveFixedCharges,
  fixedChargeByCode,
  fixedChargesOfPlan,
  setSubscriptionUnits,
  taxRecordsByCodes,
  toBillingFixedCharge,
  unitsChangesOf,
  updateFixedCharge,
  type FixedChargeRecord,
  type NewFixedCharge,
  addOnsByIdsOrCodes,
} from '../../db/repositories/fixed-charges';
import { subscriptionBillingTime } from '../../db/repositories/pay-in-advance';
import { getPlanByCode, getPlanById } from '../../db/repositories/plans';
import { getSubscriptionByExternalId, type SubscriptionRecord } from '../../db/repositories/subscriptions';
import { loadSubscriptionBillingContext } from '../../db/repositories/subscriptions-billing';
import type { TaxRecord } from '../../db/repositories/taxes';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, addDetail, notFound, validationError } from '../errors';
import { iso, lagoErrorMap, paginationMeta, paginationQuery, parseBody, zodIssuesToDetails } from '../schemas/common';
import { taxCodes } from '../schemas/taxes';
import { subscriptionNow } from '../services/subscription-now';
import { nextPeriodStart, recordPlanUnitsChanges, tellUnitsChanged } from '../services/plan-fixed-charge-units';
import { lockCatalogPlanForEdit } from '../../db/repositories/plan-edit-lock';
import { serializeTax } from './taxes';

type Db = Knex | Knex.Transaction;

const unitsInput = z.union([z.number(), z.string()]);

/** Lago's FixedChargeInput (plan create/update items, POST/PUT of the nested routes). */
export const FixedChargeInput = z.object({
  /** Lago's update input names the stored fixed charge by `id` (ignored: matched by code). */
  id: z.string().optional(),
  add_on_id: z.string().optional(),
  add_on_code: z.string().optional(),
  code: z.string().min(1).max(255).optional(),
  invoice_display_name: z.string().nullable().optional(),
  charge_model: z.enum(FIXED_CHARGE_MODELS),
  pay_in_advance: z.boolean().optional().default(false),
  prorated: z.boolean().optional().default(false),
  units: unitsInput.optional().default(0),
  apply_units_immediately: z.boolean().optional(),
  properties: z.record(z.string(), z.unknown()).optional().default({}),
  tax_codes: taxCodes.optional(),
  cascade_updates: z.boolean().optional(),
});

const FixedChargeBody = z.object({ fixed_charge: z.record(z.string(), z.unknown()) });

const SubscriptionUnitsBody = z.object({
  fixed_charge: z
    .object({
      units: unitsInput,
      apply_units_immediately: z.boolean().optional(),
      invoice_display_name: z.unknown().optional(),
      properties: z.unknown().optional(),
      tax_codes: z.unknown().optional(),
    })
    .superRefine((v, c) => {
      for (const k of ['invoice_display_name', 'properties', 'tax_codes'] as const) {
        if (v[k] !== undefined) c.addIssue({ code: 'custom', path: [k], message: 'not_supported' });
      }
    }),
});

/**
 * Validates Lago fixed charges (`raw`, the request's list) into rows to write; every issue goes to `details` under
 * `<prefix>[i].<field>` (prefix '' for a single fixed charge: the field alone). `taken`: codes already used in the plan.
 */
export async function validateFixedChargesInput(
  db: Db,
  organizationId: string,
  raw: unknown[],
  prefix: string,
  details: Record<string, string[]>,
  taken: Set<string> = new Set(),
): Promise<NewFixedCharge[]> {
  const path = (i: number) => (prefix === '' ? '' : `${prefix}[${i}].`);
  const parsed = raw.map((r, i) => {
    const p = FixedChargeInput.safeParse(r, { error: lagoErrorMap });
    if (!p.success) for (const [f, codes] of Object.entries(zodIssuesToDetails(p.error.issues, false))) for (const c of codes) addDetail(details, `${path(i)}${f}`, c);
    return p.success ? p.data : null;
  });
  const ok = parsed.filter((p): p is z.output<typeof FixedChargeInput> => p !== null);
  const addOns = await addOnsByIdsOrCodes(
    db, organizationId,
    ok.map((p) => p.add_on_id).filter((v): v is string => v !== undefined),
    ok.map((p) => p.add_on_code).filter((v): v is string => v !== undefined),
  );
  const byId = new Map(addOns.map((a) => [a.id, a]));
  const byCode = new Map(addOns.map((a) => [a.code, a]));
  const out: NewFixedCharge[] = [];
  const codes = new Set(taken);
  for (const c of ok) if (c.code !== undefined) codes.add(c.code);
  const seen = new Set<string>();
  for (const [i, c] of parsed.entries()) {
    if (c === null) continue;
    let bad = false;
    const add = (field: string, code: string) => {
      addDetail(details, `${path(i)}${field}`, code);
      bad = true;
    };
    if (c.add_on_id === undefined && c.add_on_code === undefined) {
      add('add_on_id', 'value_is_mandatory');
      continue;
    }
    const addOn = (c.add_on_id !== undefined ? byId.get(c.add_on_id) : undefined) ?? (c.add_on_code !== undefined ? byCode.get(c.add_on_code) : undefined);
    if (!addOn) {
      add(c.add_on_id !== undefined ? 'add_on_id' : 'add_on_code', 'add_on_not_found');
      continue;
    }
    for (const issue of fixedChargeIssues({ chargeModel: c.charge_model, units: c.units, properties: c.properties, payInAdvance: c.pay_in_advance, prorated: c.prorated }, '')) {
      add(issue.field, issue.code);
    }
    let code = c.code;
    if (code === undefined) {
      code = addOn.code;
      for (let n = 2; codes.has(code) || seen.has(code); n++) code = `${addOn.code}_${n}`;
      codes.add(code);
    }
    if (seen.has(code) || (c.code !== undefined && taken.has(c.code))) add('code', 'value_already_exist');
    seen.add(code);
    if (c.tax_codes && c.tax_codes.length > 0) {
      const found = await taxRecordsByCodes(db, organizationId, c.tax_codes);
      if (c.tax_codes.some((t) => !found.has(t))) add('tax_codes', 'tax_not_found');
    }
    if (bad) continue;
    out.push({
      addOnId: addOn.id,
      code,
      chargeModel: c.charge_model,
      payInAdvance: c.pay_in_advance,
      prorated: c.prorated,
      invoiceDisplayName: c.invoice_display_name ?? null,
      properties: c.properties,
      units: unitsString(c.units),
      taxCodes: c.tax_codes ?? [],
    });
  }
  return out;
}

/** A stored fixed charge as Lago's input (the base an update's fields go on). */
export function storedFixedChargeInput(f: FixedChargeRecord): Record<string, unknown> {
  return {
    add_on_id: f.addOnId,
    code: f.code,
    charge_model: f.chargeModel,
    pay_in_advance: f.payInAdvance,
    prorated: f.prorated,
    invoice_display_name: f.invoiceDisplayName,
    properties: f.properties,
    units: f.units,
    tax_codes: f.taxCodes,
  };
}

/** PUT /plans' `fixed_charges`: an entry naming a stored fixed charge by `id` gets its stored fields under its own. */
export function withStoredFixedChargeFields(stored: FixedChargeRecord[], raw: unknown[]): unknown[] {
  const byId = new Map(stored.map((f) => [f.id, f]));
  return raw.map((e) => {
    const id = e && typeof e === 'object' ? (e as { id?: unknown }).id : undefined;
    const f = typeof id === 'string' ? byId.get(id) : undefined;
    return f ? { ...storedFixedChargeInput(f), ...(e as Record<string, unknown>), add_on_id: f.addOnId, code: f.code } : e;
  });
}

/** Lago's FixedChargeObject. `units`: the plan's, or (subscription-scoped) the subscription's units in force. */
export function serializeFixedCharge(f: FixedChargeRecord, taxes: Map<string, TaxRecord>, units: string = f.units) {
  return {
    lago_id: f.id,
    lago_add_on_id: f.addOnId,
    invoice_display_name: f.invoiceDisplayName ?? f.addOnInvoiceDisplayName ?? f.addOnName,
    add_on_code: f.addOnCode,
    created_at: iso(f.createdAt),
    code: f.code,
    charge_model: f.chargeModel,
    pay_in_advance: f.payInAdvance,
    prorated: f.prorated,
    properties: f.properties,
    // Lago's schema: a JSON number (a quantity, not money); stored exactly as numeric(40,15).
    units: Number(units),
    lago_parent_id: null,
    taxes: f.taxCodes.map((c) => taxes.get(c)).filter((t): t is TaxRecord => t !== undefined).map(serializeTax),
  };
}

/** The taxes named by some fixed charges (code → tax), for serializeFixedCharge. */
export async function fixedChargeTaxRecords(db: Db, organizationId: string, list: FixedChargeRecord[]): Promise<Map<string, TaxRecord>> {
  const codes = [...new Set(list.flatMap((f) => f.taxCodes))];
  return codes.length === 0 ? new Map() : taxRecordsByCodes(db, organizationId, codes);
}

/** A plan's `fixed_charges` as GET /plans shows them. */
export async function serializePlanFixedCharges(db: Db, organizationId: string, list: FixedChargeRecord[]) {
  const taxes = await fixedChargeTaxRecords(db, organizationId, list);
  return list.map((f) => serializeFixedCharge(f, taxes));
}

/** A subscription's units of each fixed charge, in force at `at`. */
async function subscriptionUnits(db: Db, organizationId: string, subscriptionId: string, list: FixedChargeRecord[], at: string): Promise<Map<string, string>> {
  const changes = await unitsChangesOf(db, organizationId, subscriptionId, list.map((f) => f.id));
  return new Map(list.map((f) => [f.id, unitsInForceAt(toBillingFixedCharge(f), changes[f.id] ?? [], at)]));
}

export function fixedChargeRoutes(ctx: RouteContext): Router {
  const r = Router();

  async function planOf(organizationId: string, code: string) {
    const plan = await getPlanByCode(ctx.db, organizationId, code);
    if (!plan) throw notFound('plan');
    return plan;
  }

  async function fixedChargeOf(organizationId: string, planId: string, code: string) {
    const f = await fixedChargeByCode(ctx.db, organizationId, planId, code);
    if (!f) throw notFound('fixed_charge');
    return f;
  }

  async function one(organizationId: string, f: FixedChargeRecord, units?: string) {
    return { fixed_charge: serializeFixedCharge(f, await fixedChargeTaxRecords(ctx.db, organizationId, [f]), units) };
  }

  r.post('/plans/:code/fixed_charges', async (req, res) => {
    const organizationId = orgId(res);
    const plan = await planOf(organizationId, req.params.code);
    const body = parseBody(FixedChargeBody, req.body);
    const details: Record<string, string[]> = {};
    const taken = new Set((await fixedChargesOfPlan(ctx.db, organizationId, plan.id)).map((f) => f.code));
    const [input] = await validateFixedChargesInput(ctx.db, organizationId, [body.fixed_charge], '', details, taken);
    if (Object.keys(details).length > 0 || !input) throw validationError(details);
    const created = await createFixedCharge(ctx.db, organizationId, plan.id, input);
    res.status(200).json(await one(organizationId, created));
  });

  r.get('/plans/:code/fixed_charges', async (req, res) => {
    const organizationId = orgId(res);
    const plan = await planOf(organizationId, req.params.code);
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const all = await fixedChargesOfPlan(ctx.db, organizationId, plan.id);
    const pageItems = all.slice((page - 1) * per_page, page * per_page);
    res.json({ fixed_charges: await serializePlanFixedCharges(ctx.db, organizationId, pageItems), meta: paginationMeta(page, per_page, all.length) });
  });

  r.get('/plans/:code/fixed_charges/:fixed_charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const plan = await planOf(organizationId, req.params.code);
    res.json(await one(organizationId, await fixedChargeOf(organizationId, plan.id, req.params.fixed_charge_code)));
  });

  r.put('/plans/:code/fixed_charges/:fixed_charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const plan = await planOf(organizationId, req.params.code);
    const stored = await fixedChargeOf(organizationId, plan.id, req.params.fixed_charge_code);
    const body = parseBody(FixedChargeBody, req.body);
    // The stored fixed charge with the given fields on top (the add-on and the code stay: they name it).
    const merged = { ...storedFixedChargeInput(stored), ...body.fixed_charge };
    delete (merged as Record<string, unknown>).add_on_code;
    merged.add_on_id = stored.addOnId;
    merged.code = stored.code;
    const details: Record<string, string[]> = {};
    const [input] = await validateFixedChargesInput(ctx.db, organizationId, [merged], '', details);
    if (Object.keys(details).length > 0 || !input) throw validationError(details);
    // units11: the new units on the plan's subscriptions (now with apply_units_immediately, their workflows told
    // after the commit and billing the units not paid yet; else from their next period).
    const applyImmediately = body.fixed_charge.apply_units_immediately === true;
    const told = await ctx.db.transaction(async (trx) => {
      if (!(await lockCatalogPlanForEdit(trx, organizationId, plan.code))) throw notFound('plan');
      await updateFixedCharge(trx, organizationId, stored.id, input);
      if (input.units === stored.units && !applyImmediately) return [];
      return recordPlanUnitsChanges(trx, organizationId, plan.id, [{ fixedChargeId: stored.id, units: input.units, applyImmediately }]);
    });
    await tellUnitsChanged(ctx, told);
    res.json(await one(organizationId, await fixedChargeOf(organizationId, plan.id, stored.code)));
  });

  r.delete('/plans/:code/fixed_charges/:fixed_charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const plan = await planOf(organizationId, req.params.code);
    const stored = await fixedChargeOf(organizationId, plan.id, req.params.fixed_charge_code);
    const body = await one(organizationId, stored);
    await deleteFixedCharge(ctx.db, organizationId, stored.id);
    res.json(body);
  });

  async function subscriptionOf(organizationId: string, externalId: string) {
    const s = await getSubscriptionByExternalId(ctx.db, organizationId, externalId);
    if (!s) throw notFound('subscription');
    const plan = await getPlanById(ctx.db, organizationId, s.planId);
    if (!plan) throw notFound('plan');
    return { s, plan, list: await effectiveFixedCharges(ctx.db, organizationId, s.planId) };
  }

  r.get('/subscriptions/:external_id/fixed_charges', async (req, res) => {
    const organizationId = orgId(res);
    const { s, list } = await subscriptionOf(organizationId, req.params.external_id);
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const now = (await subscriptionNow(ctx.db, s, new Date())).toISOString();
    const units = await subscriptionUnits(ctx.db, organizationId, s.id, list, now);
    const taxes = await fixedChargeTaxRecords(ctx.db, organizationId, list);
    const pageItems = list.slice((page - 1) * per_page, page * per_page);
    res.json({ fixed_charges: pageItems.map((f) => serializeFixedCharge(f, taxes, units.get(f.id))), meta: paginationMeta(page, per_page, list.length) });
  });

  r.get('/subscriptions/:external_id/fixed_charges/:fixed_charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const { s, list } = await subscriptionOf(organizationId, req.params.external_id);
    const f = list.find((x) => x.code === req.params.fixed_charge_code);
    if (!f) throw notFound('fixed_charge');
    const now = (await subscriptionNow(ctx.db, s, new Date())).toISOString();
    res.json(await one(organizationId, f, (await subscriptionUnits(ctx.db, organizationId, s.id, [f], now)).get(f.id)));
  });

  r.put('/subscriptions/:external_id/fixed_charges/:fixed_charge_code', async (req, res) => {
    const organizationId = orgId(res);
    const { s, plan, list } = await subscriptionOf(organizationId, req.params.external_id);
    const f = list.find((x) => x.code === req.params.fixed_charge_code);
    if (!f) throw notFound('fixed_charge');
    const input = parseBody(SubscriptionUnitsBody, req.body).fixed_charge;
    let units: string;
    try {
      units = unitsString(input.units);
    } catch {
      throw validationError({ units: ['value_is_invalid'] });
    }
    if (s.status === 'terminated') throw new ApiError(405, 'not_allowed', 'The subscription is terminated');
    const now = (await subscriptionNow(ctx.db, s, new Date())).toISOString();
    const effectiveAt = input.apply_units_immediately === true ? now : await nextPeriodStart(ctx.db, s, plan.interval as Interval, now);
    await setSubscriptionUnits(ctx.db, organizationId, s.id, f.id, units, effectiveAt);
    if (input.apply_units_immediately === true) await tellUnitsChanged(ctx, [s.id]);
    // The answer shows the units in force now (a deferred change shows from the next period on, as Lago's reads do).
    res.json(await one(organizationId, f, (await subscriptionUnits(ctx.db, organizationId, s.id, [f], now)).get(f.id)));
  });

  return r;
}

