// One transaction for an edit of a catalog plan and its `cascade_updates` to every override child (issue 11, adv11c).
//
// Before: the parent's edit committed, then each child plan was re-derived in a transaction of its own
// (cascadeToChildren), so a failure in the middle (a constraint, a lost connection) left the parent edited and only
// some children following it, and two concurrent edits could interleave their cascades. Now:
// - the edit and the whole cascade run in ONE transaction: all or nothing;
// - that transaction first locks the catalog plan's row (db/repositories/plan-edit-lock.ts) and the edit reads the
//   plan after the lock, so concurrent edits of one plan are serialized and none is lost;
// - what must only follow a commit (dropping the catalog caches, telling the subscription workflows to reload their
//   rules) runs after it: a workflow told before the commit would reload the old rules.
// Inside, `tx.db` is the transaction; nested `db.transaction()` calls of the repositories become savepoints.
// A child whose overrides no longer fit the edited parent is still kept as it is (a business outcome, not a failure).
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { lockCatalogPlanForEdit } from '../../db/repositories/plan-edit-lock';
import { tellSubscriptions } from './plan-input';

export interface PlanEditOutcome<T> {
  value: T;
  /** Subscriptions whose workflows reload their rules after the commit. */
  subscriptionIds: string[];
}

/** Runs `work` in one transaction holding the catalog plan's row lock; then the caches and workflows are told. */
export async function inPlanEditTransaction<T>(
  ctx: RouteContext,
  organizationId: string,
  planCode: string,
  work: (tx: RouteContext) => Promise<PlanEditOutcome<T>>,
): Promise<T> {
  const outcome = await ctx.db.transaction(async (trx) => {
    if (!(await lockCatalogPlanForEdit(trx, organizationId, planCode))) throw notFound('plan');
    // catalogChanged is a post-commit effect: the caller's runs once below.
    return work({ ...ctx, db: trx, catalogChanged: () => undefined });
  });
  ctx.catalogChanged(organizationId);
  await tellSubscriptions(ctx, [...new Set(outcome.subscriptionIds)]);
  return outcome.value;
}
