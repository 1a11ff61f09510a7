// Builds the billing worker: the workflows bundle plus the activities bound to their dependencies.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { FxRateFeed } from '../adapters/fx/port';
import { createActivities } from '../activities';
import type { WebhookDeliveryOptions } from '../activities/webhooks';
import { renderWebhookObject } from '../api/serializers/webhook-objects';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/messages';

export interface BillingWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Knex;
  /** The FX feed (default: the ECB over HTTP); tests pass a fake. */
  fxFeed?: FxRateFeed;
  taskQueue?: string;
  /** A prebuilt workflow bundle (tests build it once); the workflows module is bundled when absent. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Outgoing webhook delivery (attempts, backoff, timeout, JWT issuer). */
  webhooks?: WebhookDeliveryOptions;
}

export async function createBillingWorker(deps: BillingWorkerDeps): Promise<Worker> {
  const code = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : { workflowsPath: require.resolve('../workflows') };
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? SUBSCRIPTION_TASK_QUEUE,
    ...code,
    activities: createActivities({ db: deps.db, fxFeed: deps.fxFeed, webhooks: { webhooks: deps.webhooks, renderWebhookObject } }),
  });
}
