// The dunning consequence `suspend_subscription`: after the suspension is written to Postgres, the subscription
// workflow is signalled to re-read it (workflows/suspension.ts). A workflow that no longer runs has nothing to hold.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SubscriptionSuspensionSignalPayload } from '../contracts/workflows';
import { subscriptionSuspensionSignal, subscriptionWorkflowId } from '../workflows/messages';

export function subscriptionSuspensionNotifier(client: Client): (organizationId: string, subscriptionId: string, payload: SubscriptionSuspensionSignalPayload) => Promise<void> {
  return async (_organizationId, subscriptionId, payload) => {
    try {
      await client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).signal(subscriptionSuspensionSignal, payload);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
  };
}
