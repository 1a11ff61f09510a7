// The subscription charge routes' one write guard (api/routes/subscription-charges.ts, issue 13): an override of one
// charge is computed from a read of the subscription's plan (the catalog plan, or its child plan after an earlier
// override) and written by plan-overrides' writeChildPlan. Two overrides at once must not both create a child, nor
// one overwrite the other: the write transaction locks the subscription row and checks that it still uses the plan
// the override was computed from (a child's own revision is checked by updatePlan's expectedRevision).
import type { Knex } from 'knex';
import { PlanChangedError } from './catalog-edits';

/**
 * Locks the subscription's row until the end of `trx` and throws PlanChangedError when its plan is no longer
 * `expectedPlanId` (another override or a plan change committed since the read): the caller recomputes.
 */
export async function lockSubscriptionPlan(trx: Knex.Transaction, organizationId: string, subscriptionId: string, expectedPlanId: string): Promise<void> {
  const row: { plan_id: string } | undefined = await trx('subscriptions')
    .where({ organization_id: organizationId, id: subscriptionId })
    .forUpdate()
    .first('plan_id');
  if (!row || row.plan_id !== expectedPlanId) throw new PlanChangedError(expectedPlanId);
}
