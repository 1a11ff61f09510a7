// Child plans of per-subscription plan overrides (migration 20261201002200): a copy of a parent plan (plans.parent_id)
// whose charges copy the parent's (charges.parent_id), used by one subscription (subscriptions.plan_id). The fields,
// thresholds, charges and taxes are written by catalog-edits' updatePlan (the same writer as PUT /plans), inside the
// caller's transaction, so an override is one commit: the child, its charges' parent links, the stored override
// input and the subscription's plan_id together.
import type { Knex } from 'knex';
import { updatePlan, type PlanEdit } from './catalog-edits';
import { getPlanById, type PlanRecord } from './plans';

/** What a child plan keeps of the override input (charges keyed by the PARENT charge id). Plain JSON. */
export interface StoredPlanOverrides {
  plan: Record<string, unknown>;
  charges: Record<string, Record<string, unknown>>;
  /** Fixed-charge fields by fixed charge code (fixed11, api/services/fixed-charge-overrides.ts); absent: none. */
  fixedCharges?: Record<string, Record<string, unknown>>;
}

export interface ChildPlanWrite {
  parentId: string;
  /** The child being edited, or null to create one. */
  childId: string | null;
  /** The child's full content (updatePlan's edit: charges carry the child charge id they keep). */
  edit: PlanEdit;
  /** For each charge of `edit.charges`, by index: the parent charge it copies (null: none). */
  parentChargeIds: (string | null)[];
  overrides: StoredPlanOverrides;
  /** The subscription that uses the child (its plan_id is set to the child). */
  subscriptionId?: string;
}

/** Creates or rewrites a child plan. Run it inside a transaction (the caller's commit is the override's). */
export async function writeChildPlan(trx: Knex.Transaction, organizationId: string, w: ChildPlanWrite): Promise<PlanRecord> {
  let childId = w.childId;
  if (childId === null) {
    const [row] = await trx('plans')
      .insert({
        organization_id: organizationId,
        parent_id: w.parentId,
        code: w.edit.code,
        name: w.edit.name,
        interval: w.edit.interval,
        amount_cents: w.edit.amountCents,
        amount_currency: w.edit.amountCurrency,
      })
      .returning('id');
    childId = row.id as string;
  }
  await updatePlan(trx, organizationId, childId, w.edit);
  await trx('plans').where({ organization_id: organizationId, id: childId }).update({ overrides: JSON.stringify(w.overrides) });
  for (const [position, parentChargeId] of w.parentChargeIds.entries()) {
    await trx('charges').where({ organization_id: organizationId, plan_id: childId, position }).update({ parent_id: parentChargeId });
  }
  if (w.subscriptionId !== undefined) {
    await trx('subscriptions').where({ organization_id: organizationId, id: w.subscriptionId }).update({ plan_id: childId });
  }
  return (await getPlanById(trx, organizationId, childId))!;
}

/** child charge id → the parent charge id it copies (charges of the given plan that have one). */
export async function parentChargeIdsOf(db: Knex, organizationId: string, planId: string): Promise<Map<string, string>> {
  const rows: { id: string; parent_id: string }[] = await db('charges')
    .where({ organization_id: organizationId, plan_id: planId })
    .whereNotNull('parent_id')
    .select('id', 'parent_id');
  return new Map(rows.map((r) => [r.id, r.parent_id]));
}

/** A plan's parent id and stored overrides (null parent: not a child plan). */
export async function childPlanInfo(db: Knex, organizationId: string, planId: string): Promise<{ parentId: string | null; overrides: StoredPlanOverrides | null }> {
  const row: { parent_id: string | null; overrides: StoredPlanOverrides | null } | undefined = await db('plans')
    .where({ organization_id: organizationId, id: planId })
    .first('parent_id', 'overrides');
  return { parentId: row?.parent_id ?? null, overrides: row?.overrides ?? null };
}

/** The child plans (not deleted) of a parent plan, oldest first. */
export async function childPlanIdsOf(db: Knex, organizationId: string, parentId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('plans')
    .where({ organization_id: organizationId, parent_id: parentId })
    .whereNull('deleted_at')
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .select('id');
  return rows.map((r) => r.id);
}

/** A child plan written for a change that did not happen (adv11b, api/services/plan-change-overrides.ts): soft-deleted, if no subscription uses it. */
export async function discardChildPlan(db: Knex, organizationId: string, childId: string): Promise<void> {
  await db('plans')
    .where({ organization_id: organizationId, id: childId })
    .whereNotNull('parent_id')
    .whereNotExists(db('subscriptions').where({ organization_id: organizationId }).whereRaw('subscriptions.plan_id = plans.id'))
    .update({ deleted_at: db.fn.now() });
}
