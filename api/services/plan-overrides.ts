// Lago's `plan_overrides` (POST /subscriptions, PUT /subscriptions/:external_id; issue 11).
//
// Model (migration 20261201002200): an override gives the subscription a CHILD plan, a copy of its catalog plan with
// the overridden fields changed, used by that subscription only (subscriptions.plan_id → the child). The child keeps
// the parent's code (the subscription still shows `plan_code` = the catalog plan's), is hidden from GET /plans and
// from lookups by code, and its charges copy the parent's (charges.parent_id). Because the subscription's plan id IS
// the child, every reader that prices a subscription (loadPlan(ctx.planId) at close, current usage, preview, advance
// fees, progressive billing, the workflow's estimate) and the upgrade / downgrade comparison (the subscription's plan
// amount) use the overridden plan with no change of their own.
//
// - First override: the child = the parent + the overrides. A later override edits the child (its current content +
//   the new overrides, Lago's way); the stored override input is merged (charges by parent charge id).
// - `charges[].id` names a charge of the plan: the catalog plan's charge id (Lago) or, once overridden, the child's
//   copy of it. An unknown id is a 422 on `plan_overrides.charges[i].id`; a billable_metric_id or code that is not
//   the charge's own too (an override changes a charge's price, not what it measures).
// - `amount_currency` must be the plan's (422 `currencies_does_not_match`): a subscription's invoices keep one currency.
// - The merged plan is validated exactly as POST /plans validates a plan (api/routes/plans.ts planBodyValidator), its
//   error fields prefixed with `plan_overrides.`. Nothing is written before it passes; the write is one transaction.
// - PUT /plans/:code with cascade_updates: true re-derives every child as the edited parent + its stored overrides
//   (Lago: the changes reach the children for the fields they do not override); without it, children keep theirs.
// - Lago's plan `invoice_display_name` and the minimum commitment's are accepted and not stored, as POST /plans does.
import type { Knex } from 'knex';
import { ERROR_CODES } from '../../billing/error-codes';
import { liveSubscriptionIdsOfPlans, type PlanEdit } from '../../db/repositories/catalog-edits';
import { childPlanIdsOf, childPlanInfo, parentChargeIdsOf, writeChildPlan, type ChildPlanWrite, type StoredPlanOverrides } from '../../db/repositories/plan-overrides';
import { getPlanById, type PlanRecord } from '../../db/repositories/plans';
import type { RouteContext } from '../context';
import { ApiError, addDetail, validationError } from '../errors';
import { newPlanOf, planBodyValidator } from '../routes/plans';
import type { PlanOverrides } from '../schemas/plan-overrides';
import { planInput, tellSubscriptions } from './plan-input';
import { tellUnitsChanged } from './plan-fixed-charge-units';
import { fixedChargesBody, mergeFixedChargeFields, prepareFixedChargeOverrides, writeFixedChargeOverrides, type FixedChargeUnitsOverride } from './fixed-charge-overrides';
import { fixedChargesOfPlan } from '../../db/repositories/fixed-charges';

const PLAN_FIELDS = ['amount_cents', 'description', 'name', 'tax_codes', 'trial_period', 'minimum_commitment', 'usage_thresholds'] as const;
const CHARGE_FIELDS = ['charge_model', 'invoice_display_name', 'min_amount_cents', 'properties', 'filters', 'tax_codes'] as const;

/** A validated override, ready to write (nothing written yet). */
export type PreparedOverride = Omit<ChildPlanWrite, 'subscriptionId'> & {
  /** Lago's units-only `fixed_charges` form: no child plan, units on the subscription (api/services/fixed-charge-overrides.ts). */
  fixedChargeUnitsOnly?: FixedChargeUnitsOverride[] | null;
};

interface BaseCharge {
  id: string;
  billable_metric_id: string;
  code?: string;
  [k: string]: unknown;
}

/** The plan the subscription's plan copies, and its child (null: no override yet). */
async function planPair(ctx: RouteContext, organizationId: string, planId: string): Promise<{ parent: PlanRecord; child: PlanRecord | null }> {
  const plan = (await getPlanById(ctx.db, organizationId, planId))!;
  if (!plan.parentId) return { parent: plan, child: null };
  return { parent: (await getPlanById(ctx.db, organizationId, plan.parentId))!, child: plan };
}

/**
 * Validates `input` as an override of the subscription's plan (`planId`: the catalog plan, or its child after an
 * earlier override). Throws 4xx in Lago's shape; writes nothing.
 */
export async function prepareOverride(ctx: RouteContext, organizationId: string, planId: string, input: PlanOverrides): Promise<PreparedOverride> {
  const { parent, child } = await planPair(ctx, organizationId, planId);
  const details: Record<string, string[]> = {};
  if (input.amount_currency !== undefined && input.amount_currency !== parent.amountCurrency) {
    addDetail(details, 'plan_overrides.amount_currency', ERROR_CODES.currencies_does_not_match);
  }
  const base = child ?? parent;
  const parentOf = child ? await parentChargeIdsOf(ctx.db, organizationId, child.id) : new Map<string, string>();
  const baseCharges = base.charges.map((c) => ({ id: c.id, parentId: child ? (parentOf.get(c.id) ?? null) : c.id, metricId: c.billableMetricId, code: c.code }));
  const request: StoredPlanOverrides = { plan: {}, charges: {} };
  for (const f of PLAN_FIELDS) if (input[f] !== undefined) request.plan[f] = input[f];
  // Which request index overrode the charge at each base position (for the error fields).
  const requestIndex = new Map<number, number>();
  for (const [j, o] of (input.charges ?? []).entries()) {
    const position = baseCharges.findIndex((c) => c.id === o.id || (c.parentId !== null && c.parentId === o.id));
    const target = baseCharges[position];
    if (!target) {
      addDetail(details, `plan_overrides.charges[${j}].id`, 'value_is_invalid');
      continue;
    }
    if (o.billable_metric_id !== undefined && o.billable_metric_id !== target.metricId) addDetail(details, `plan_overrides.charges[${j}].billable_metric_id`, 'value_is_invalid');
    if (o.code !== undefined && o.code !== target.code) addDetail(details, `plan_overrides.charges[${j}].code`, 'value_is_invalid');
    const fields: Record<string, unknown> = {};
    for (const f of CHARGE_FIELDS) if (o[f] !== undefined) fields[f] = o[f];
    request.charges[target.parentId ?? target.id] = { ...(request.charges[target.parentId ?? target.id] ?? {}), ...fields };
    requestIndex.set(position, j);
  }
  const fixed = await prepareFixedChargeOverrides(ctx.db, organizationId, parent, child, input, details); // fixed11
  if (Object.keys(details).length > 0) throw validationError(details);
  const stored = child ? ((await childPlanInfo(ctx.db, organizationId, child.id)).overrides ?? { plan: {}, charges: {} }) : { plan: {}, charges: {} };
  const merged: StoredPlanOverrides = { plan: { ...stored.plan, ...request.plan }, charges: { ...stored.charges } };
  for (const [k, v] of Object.entries(request.charges)) merged.charges[k] = { ...(merged.charges[k] ?? {}), ...v };
  if (stored.fixedCharges || Object.keys(fixed.fields).length > 0) merged.fixedCharges = mergeFixedChargeFields(stored.fixedCharges, fixed.fields);
  const prepared = await childContent(ctx, organizationId, { parent, child, base, baseCharges, apply: { ...request, ...(merged.fixedCharges ? { fixedCharges: merged.fixedCharges } : {}) }, store: merged, requestIndex });
  return { ...prepared, fixedChargeUnitsOnly: fixed.unitsOnly };
}

/**
 * The child's full content: `base` (the child itself, or the parent) with `apply` merged on, validated as a plan.
 * `baseCharges[i]` says which child charge the base charge at position i keeps (its id when base is the child) and
 * which parent charge it copies.
 */
async function childContent(
  ctx: RouteContext,
  organizationId: string,
  o: {
    parent: PlanRecord;
    child: PlanRecord | null;
    base: PlanRecord;
    baseCharges: { id: string; parentId: string | null }[];
    apply: StoredPlanOverrides;
    store: StoredPlanOverrides;
    requestIndex?: Map<number, number>;
    /** Cascade (base = the parent): the parent charge a child charge copies. */
    childParentOf?: (childChargeId: string) => string | undefined;
  },
): Promise<PreparedOverride> {
  const input = await planInput(ctx, organizationId, o.base);
  const body = { ...input, ...o.apply.plan, code: o.parent.code } as Record<string, unknown>;
  body.charges = (input.charges as BaseCharge[]).map((c, i) => {
    const key = o.baseCharges[i]!.parentId ?? o.baseCharges[i]!.id;
    return { ...c, ...(o.apply.charges[key] ?? {}) };
  });
  // fixed11: the child's own fixed charges when some are overridden (api/services/fixed-charge-overrides.ts).
  const fixedCharges = await fixedChargesBody(ctx.db, organizationId, o.parent.id, o.apply.fixedCharges);
  if (fixedCharges) body.fixed_charges = fixedCharges;
  let validated;
  try {
    validated = await planBodyValidator(ctx)(organizationId, { plan: body });
  } catch (err) {
    throw err instanceof ApiError && err.errorDetails ? new ApiError(err.status, err.code, err.message, prefixed(err.errorDetails, o.requestIndex)) : err;
  }
  const record = newPlanOf(validated);
  const childIdOf = (i: number): string | undefined => {
    if (o.child === null) return undefined;
    if (o.base === o.child) return o.baseCharges[i]!.id;
    return o.child.charges.find((c) => o.childParentOf?.(c.id) === o.baseCharges[i]!.id)?.id;
  };
  const rawThresholds = (body.usage_thresholds ?? []) as { lago_id?: unknown }[];
  const edit: PlanEdit = {
    ...record,
    usageThresholds: record.usageThresholds.map((t, i) => {
      const id = rawThresholds[i]?.lago_id;
      return { ...(typeof id === 'string' ? { lago_id: id } : {}), ...t };
    }),
    charges: record.charges.map((c, i) => {
      const id = childIdOf(i);
      return { ...(id !== undefined ? { id } : {}), ...c };
    }),
  };
  return { parentId: o.parent.id, childId: o.child?.id ?? null, edit, parentChargeIds: o.baseCharges.map((c) => c.parentId), overrides: o.store };
}

/** The validator's error fields as fields of `plan_overrides` (a charge position → the request's charge index). */
function prefixed(details: Record<string, unknown>, requestIndex?: Map<number, number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, codes] of Object.entries(details)) {
    const renamed = field.replace(/^charges\[(\d+)\]/, (whole, n: string) => {
      const j = requestIndex?.get(Number(n));
      return j !== undefined ? `charges[${j}]` : whole;
    });
    out[`plan_overrides.${renamed}`] = codes;
  }
  return out;
}

/** Writes a prepared override in the caller's transaction; the subscription then uses the child plan. */
export async function writeOverride(trx: Knex.Transaction, organizationId: string, prepared: PreparedOverride, subscriptionId: string, opts: { fromStart?: boolean } = {}): Promise<PlanRecord> {
  // fixed11: Lago's units-only fixed_charges form writes no child plan, only the subscription's units.
  const { fixedChargeUnitsOnly: unitsOnly, ...write } = prepared;
  const childHadOwn = prepared.childId !== null && (await fixedChargesOfPlan(trx, organizationId, prepared.childId)).length > 0;
  const child = unitsOnly ? (await getPlanById(trx, organizationId, prepared.childId ?? prepared.parentId))! : await writeChildPlan(trx, organizationId, { ...write, subscriptionId });
  const fields = prepared.overrides.fixedCharges ?? {};
  await writeFixedChargeOverrides(trx, organizationId, subscriptionId, { unitsOnly: unitsOnly ?? null, fields, parentId: prepared.parentId, childHadOwn, fromStart: opts.fromStart === true });
  return child;
}

/** After an override is written: catalog caches dropped (charge filters shape rollups), the workflow told. */
export async function overrideWritten(ctx: RouteContext, organizationId: string, subscriptionIds: string[]): Promise<void> {
  ctx.catalogChanged(organizationId);
  await tellSubscriptions(ctx, subscriptionIds);
  await tellUnitsChanged(ctx, subscriptionIds); // units11: fixed-charge units an override raised at once are billed
}

/** The parent's children (for PUT / DELETE /plans: their subscriptions are the plan's too). */
export function childPlanIds(ctx: RouteContext, organizationId: string, parentId: string): Promise<string[]> {
  return childPlanIdsOf(ctx.db, organizationId, parentId);
}

/**
 * PUT /plans/:code with cascade_updates: each child re-derived as the edited parent + its stored overrides. A child
 * whose overrides no longer fit the edited parent (e.g. a charge model changed under overridden properties) keeps its
 * current content; its id is returned so the caller can report it. Runs in the caller's transaction (`tx.db`, the
 * parent's edit: api/services/plan-edit-transaction.ts), so the edit and every child commit together or not at all;
 * it tells nobody: the caller announces `subscriptionIds` after the commit.
 */
export async function cascadeToChildren(tx: RouteContext, organizationId: string, parent: PlanRecord): Promise<{ updated: string[]; kept: string[]; subscriptionIds: string[] }> {
  const updated: string[] = [];
  const kept: string[] = [];
  for (const childId of await childPlanIdsOf(tx.db, organizationId, parent.id)) {
    const child = (await getPlanById(tx.db, organizationId, childId))!;
    const stored = (await childPlanInfo(tx.db, organizationId, childId)).overrides ?? { plan: {}, charges: {} };
    const parentOf = await parentChargeIdsOf(tx.db, organizationId, childId);
    let prepared: PreparedOverride;
    try {
      prepared = await childContent(tx, organizationId, {
        parent,
        child,
        base: parent,
        baseCharges: parent.charges.map((c) => ({ id: c.id, parentId: c.id })),
        apply: stored,
        store: stored,
        childParentOf: (id) => parentOf.get(id),
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      tx.logger.warn('plan override no longer fits its edited parent plan: the child plan keeps its content', { childId, error: err.message });
      kept.push(childId);
      continue;
    }
    // A failure writing any child (a constraint, the connection) fails the whole edit: no savepoint swallows it.
    await tx.db.transaction((trx) => writeChildPlan(trx, organizationId, prepared));
    updated.push(childId);
  }
  const subscriptionIds = updated.length > 0 ? await liveSubscriptionIdsOfPlans(tx.db, organizationId, updated) : [];
  return { updated, kept, subscriptionIds };
}
