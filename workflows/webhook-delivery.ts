// The webhook delivery loop: ONE long-running workflow per installation (id `webhook-delivery`), visible in the
// Temporal UI. Each iteration runs the deliverPendingWebhooks activity (claims due outbox rows, sends them,
// schedules retries), then sleeps until the next webhook is due, at most pollIntervalMs (new outbox rows are
// written by producers' transactions, so they are found by the next poll; webhooksEnqueuedSignal wakes the
// loop at once). A full batch loops without sleeping. Continue-as-new after maxIterations iterations or when
// Temporal suggests it, with the same (plain JSON) input: the history stays small.
//
// Deterministic: no clock, no randomness, no I/O here; the activity owns time (the outbox's next_attempt_at).
import { condition, continueAsNew, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks';

export const WEBHOOK_DELIVERY_WORKFLOW_ID = 'webhook-delivery';

/** Optional nudge: "rows were enqueued, look now". */
export const webhooksEnqueuedSignal = defineSignal('webhooksEnqueued');

export interface WebhookDeliveryInput {
  /** Longest sleep between two runs of the activity (default 5 000 ms). */
  pollIntervalMs?: number;
  /** Iterations per run before continue-as-new (default 200). */
  maxIterations?: number;
}

const { deliverPendingWebhooks } = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '2 minutes',
  // Database faults: retry forever with backoff (receiver faults never fail the activity).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput = {}): Promise<void> {
  const pollIntervalMs = input.pollIntervalMs ?? 5_000;
  const maxIterations = input.maxIterations ?? 200;
  let nudged = false;
  setHandler(webhooksEnqueuedSignal, () => {
    nudged = true;
  });
  for (let i = 0; i < maxIterations; i++) {
    nudged = false;
    const r = await deliverPendingWebhooks();
    if (workflowInfo().continueAsNewSuggested) break;
    if (r.claimed >= r.batchSize) continue;
    const waitMs = r.nextDueInMs === null ? pollIntervalMs : Math.min(pollIntervalMs, r.nextDueInMs);
    if (waitMs > 0) await condition(() => nudged, waitMs);
  }
  await continueAsNew<typeof webhookDeliveryWorkflow>(input);
}
