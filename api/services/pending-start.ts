// PUT /subscriptions/:external_id with `subscription_at` (issue 11): a pending subscription's start moves (Lago
// allows it until the subscription starts). The row is written first, then the workflow's subscriptionStartUpdate
// moves its start timer (workflows/pending-start.ts); when the workflow refuses (the start came meanwhile), the row
// goes back to the start the workflow holds and the refusal is the answer (422). Refused for a subscription that is
// not pending (its start has passed: it is what was billed) and for a migration start (billing_starts_at).
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { subscriptionWorkflowId } from '../../contracts/workflows';
import { updateSubscriptionTerms } from '../../db/repositories/plan-changes';
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';
import { subscriptionStartUpdate } from '../../workflows/pending-start';
import { ApiError, validationError } from '../errors';

export async function moveSubscriptionStart(
  deps: { db: Knex; temporal: Client },
  organizationId: string,
  s: SubscriptionRecord,
  subscriptionAt: string,
  now: Date,
): Promise<void> {
  if (s.status !== 'pending') throw validationError({ subscription_at: ['subscription_not_pending'] });
  if (s.billingStartsAt !== null) throw validationError({ subscription_at: ['not_supported_with_billing_starts_at'] });
  const at = new Date(subscriptionAt);
  if (at.getTime() <= now.getTime()) throw validationError({ subscription_at: ['invalid_date'] });
  await updateSubscriptionTerms(deps.db, organizationId, s.id, { subscriptionAt: at.toISOString() });
  try {
    await deps.temporal.workflow
      .getHandle(subscriptionWorkflowId(s.id))
      .executeUpdate(subscriptionStartUpdate, { args: [{ subscriptionAt: at.toISOString() }] });
  } catch (err) {
    await updateSubscriptionTerms(deps.db, organizationId, s.id, { subscriptionAt: s.subscriptionAt.toISOString() });
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      throw new ApiError(422, 'validation_errors', err.cause.message, { subscription_at: [err.cause.type ?? 'subscription_not_pending'] });
    }
    throw err;
  }
}
