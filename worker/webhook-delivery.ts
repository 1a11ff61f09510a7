// Starts the webhook delivery workflow once per installation (idempotent: an already running one is kept).
import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/messages';
import { WEBHOOK_DELIVERY_WORKFLOW_ID, webhookDeliveryWorkflow, type WebhookDeliveryInput } from '../workflows/webhook-delivery';

export async function ensureWebhookDeliveryWorkflow(
  client: Client,
  opts: { taskQueue?: string; workflowId?: string; input?: WebhookDeliveryInput } = {},
): Promise<void> {
  await client.workflow.start(webhookDeliveryWorkflow, {
    workflowId: opts.workflowId ?? WEBHOOK_DELIVERY_WORKFLOW_ID,
    taskQueue: opts.taskQueue ?? SUBSCRIPTION_TASK_QUEUE,
    args: [opts.input ?? {}],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
}
