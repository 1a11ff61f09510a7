// The dunning consequence `terminate_subscription`: terminates through the subscription workflow's own update
// (so its termination invoice and state follow the usual path). A workflow that no longer runs is already ended.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { subscriptionWorkflowId, terminateUpdate } from '../workflows/messages';

export function subscriptionTerminator(client: Client): (organizationId: string, subscriptionId: string) => Promise<void> {
  return async (_organizationId, subscriptionId) => {
    try {
      await client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).executeUpdate(terminateUpdate, { args: [{}] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
  };
}
