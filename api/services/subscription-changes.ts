// Plan changes and subscription updates as Lago's API makes them (issue 11b), through the subscription's workflow
// (workflows/plan-changes.ts). Postgres first (the change row), then the workflow update; a change the workflow
// refuses is canceled, so nothing half-done is left.
//
// - POST /subscriptions with an existing external_id and another plan_code: billing/plan-change.ts decides upgrade
//   (now) or downgrade (the period end) from the plans' yearly amounts. The same plan as the current one while a
//   downgrade is pending cancels the downgrade (Lago keeps one next plan). A repeated request for the same pending
//   change is the same change (the update id is the change id: Temporal deduplicates it).
// - PUT /subscriptions/:external_id: name (the row only), ending_at (the row, then the workflow's timer).
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { sendWhilePeriodCloses } from './period-closing-wait';
import { ApplicationFailure } from '@temporalio/common';
import { planChangeKind } from '../../billing/plan-change';
import type { Interval } from '../../billing/types';
import {
  cancelPendingPlanChange,
  cancelPlanChange,
  getPendingPlanChange,
  requestPlanChange,
  setPlanChangeEffectiveAt,
  updateSubscriptionTerms,
} from '../../db/repositories/plan-changes';
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';
import type { Knex } from 'knex';
import { subscriptionWorkflowId } from '../../contracts/workflows';
import { planChangeUpdate, subscriptionTermsUpdate, type PlanChangeRequest } from '../../workflows/plan-changes';
import { ApiError, validationError } from '../errors';

interface Deps {
  db: Knex;
  temporal: Client;
}

interface TargetPlan {
  id: string;
  code: string;
  interval: string;
  amountCents: number;
}

/** Update id of a plan change: the change's own id (a business id), so a retried request joins the first. */
export function planChangeUpdateId(changeId: string): string {
  return `plan-change:${changeId}`;
}

function workflowRefusal(err: unknown): ApiError | null {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const type = err.cause.type ?? 'plan_change_failed';
    return new ApiError(422, 'validation_errors', err.cause.message, { base: [type] });
  }
  return null;
}

async function sendPlanChange(deps: Deps, s: SubscriptionRecord, req: PlanChangeRequest): Promise<void> {
  const handle = deps.temporal.workflow.getHandle(subscriptionWorkflowId(s.id));
  await sendWhilePeriodCloses(() => handle.executeUpdate(planChangeUpdate, { args: [req], updateId: planChangeUpdateId(req.changeId) }));
}

/**
 * Changes the plan of an existing subscription (see the header). Returns nothing: the caller re-reads the row.
 * Refused (422) for a subscription that is not active: a pending one has not started, a terminated one is over.
 */
export async function changeSubscriptionPlan(deps: Deps, organizationId: string, s: SubscriptionRecord, plan: TargetPlan, now: Date): Promise<void> {
  if (s.status !== 'active') throw validationError({ plan_code: [s.status === 'pending' ? 'subscription_pending' : 'subscription_terminated'] });
  const pending = await getPendingPlanChange(deps.db, organizationId, s.id);
  // An overridden subscription's plan (a child plan, api/services/plan-overrides.ts) is its catalog plan here.
  if (plan.id === s.planId || plan.id === s.planParentId) {
    if (pending?.kind === 'downgrade') {
      await sendPlanChange(deps, s, { changeId: pending.id, kind: 'cancel_downgrade', planCode: plan.code });
      await cancelPendingPlanChange(deps.db, organizationId, s.id);
    }
    return;
  }
  if (pending && pending.toPlanId === plan.id) {
    // The same request again (a retry): join it.
    await sendPlanChange(deps, s, { changeId: pending.id, kind: pending.kind, planCode: plan.code, ...(pending.kind === 'upgrade' ? { effectiveAt: pending.effectiveAt } : {}) });
    return;
  }
  if (pending?.kind === 'upgrade') throw validationError({ plan_code: ['plan_change_in_progress'] });
  const kind = planChangeKind(
    { amountCents: s.planAmountCents, interval: s.planInterval as Interval },
    { amountCents: plan.amountCents, interval: plan.interval as Interval },
  );
  // Whole seconds, as Lago shows instants; a downgrade's instant is the workflow's period end (written below).
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  const change = await requestPlanChange(deps.db, organizationId, { subscriptionId: s.id, fromPlanId: s.planId, toPlanId: plan.id, kind, effectiveAt: at });
  try {
    const handle = deps.temporal.workflow.getHandle(subscriptionWorkflowId(s.id));
    const result = await sendWhilePeriodCloses(() =>
      handle.executeUpdate(planChangeUpdate, {
        args: [{ changeId: change.id, kind, planCode: plan.code, ...(kind === 'upgrade' ? { effectiveAt: at } : {}) }],
        updateId: planChangeUpdateId(change.id),
      }),
    );
    if (kind === 'downgrade') {
      await setPlanChangeEffectiveAt(deps.db, organizationId, change.id, result.effectiveAt);
    }
  } catch (err) {
    await cancelPlanChange(deps.db, organizationId, change.id);
    throw workflowRefusal(err) ?? err;
  }
}

/** PUT /subscriptions/:external_id: name and ending_at (see the header). */
export async function updateSubscription(
  deps: Deps,
  organizationId: string,
  s: SubscriptionRecord,
  input: { name?: string | null; ending_at?: string | null },
  now: Date,
): Promise<void> {
  if (input.ending_at !== undefined) {
    if (s.status === 'terminated') throw validationError({ ending_at: ['subscription_terminated'] });
    if (input.ending_at !== null && Date.parse(input.ending_at) <= now.getTime()) throw validationError({ ending_at: ['invalid_date'] });
  }
  await updateSubscriptionTerms(deps.db, organizationId, s.id, { name: input.name, endingAt: input.ending_at });
  if (input.ending_at === undefined) return;
  try {
    await deps.temporal.workflow
      .getHandle(subscriptionWorkflowId(s.id))
      .executeUpdate(subscriptionTermsUpdate, { args: [{ endingAt: input.ending_at === null ? null : new Date(input.ending_at).toISOString() }] });
  } catch (err) {
    // The workflow refused it: the row goes back to what the workflow holds.
    await updateSubscriptionTerms(deps.db, organizationId, s.id, { endingAt: s.endingAt === null ? null : s.endingAt.toISOString() });
    throw workflowRefusal(err) ?? err;
  }
}
