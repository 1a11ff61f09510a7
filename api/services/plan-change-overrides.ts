// plan_overrides together with a plan change (issue 11, adv11b): Lago accepts POST /subscriptions with an existing
// external_id, another plan_code AND plan_overrides; the overrides apply to the NEW plan.
//
// - The overrides are validated against the new plan exactly as an override of a subscription on it would be
//   (api/services/plan-overrides.ts prepareOverride: 422 `plan_overrides.*` before anything is written).
// - They become a child plan of the new plan (the same model as every override: hidden, the parent's code), written
//   in one transaction, and the change targets that child: upgrade or downgrade is decided on the child's amount (the
//   plan the customer will pay: our reading of Lago, which builds the overridden plan before comparing), an upgrade
//   applied at once and a downgrade at the period end (api/services/subscription-changes.ts, unchanged), the workflow
//   applying the child as the subscription's plan.
// - The same request again while its downgrade is pending reuses that pending child (the overrides merged into it), so a
//   retry joins the pending change instead of making another child plan. A change the workflow refuses discards the
//   child it wrote (soft delete): nothing is left half-done.
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';
import { getPendingPlanChange } from '../../db/repositories/plan-changes';
import { discardChildPlan, writeChildPlan } from '../../db/repositories/plan-overrides';
import { getPlanById } from '../../db/repositories/plans';
import type { RouteContext } from '../context';
import type { PlanOverrides } from '../schemas/plan-overrides';
import { overrideWritten, prepareOverride } from './plan-overrides';
import { changeSubscriptionPlan } from './subscription-changes';

export async function changePlanWithOverrides(
  ctx: RouteContext,
  organizationId: string,
  s: SubscriptionRecord,
  plan: { id: string; code: string },
  overrides: PlanOverrides,
  now: Date,
): Promise<void> {
  const pending = await getPendingPlanChange(ctx.db, organizationId, s.id);
  const pendingChild = pending ? await getPlanById(ctx.db, organizationId, pending.toPlanId) : null;
  const reuse = pendingChild !== null && pendingChild !== undefined && pendingChild.parentId === plan.id ? pendingChild : null;
  const prepared = await prepareOverride(ctx, organizationId, reuse?.id ?? plan.id, overrides);
  const child = await ctx.db.transaction((trx) => writeChildPlan(trx, organizationId, prepared));
  await overrideWritten(ctx, organizationId, []); // catalog caches (the child's charges shape rollups)
  try {
    await changeSubscriptionPlan(ctx, organizationId, s, { id: child.id, code: plan.code, interval: child.interval, amountCents: child.amountCents }, now);
  } catch (err) {
    if (!reuse) await discardChildPlan(ctx.db, organizationId, child.id);
    throw err;
  }
}
