// Builds the billing worker: the workflows bundle plus the activities bound to their dependencies.
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { FxRateFeed } from '../adapters/fx/port';
import { createActivities } from '../activities';
import { createEventPartitionActivities } from '../activities/event-partitions';
import { createFleetActivities } from '../activities/fleet';
import { createTestClockActivities } from '../activities/test-clocks';
import type { WebhookDeliveryOptions } from '../activities/webhooks';
import { renderWebhookObject } from '../api/serializers/webhook-objects';
import { createPaymentActivities, type PaymentActivityDeps } from '../activities/payments';
import { StripePaymentProvider, createStripeClient } from '../adapters/stripe/provider';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/messages';
import { eventPartitionOptions } from './event-partitions';
import { workerTuning } from './tuning';
import { createSuspensionActivities } from '../activities/suspensions';
import { createUnusedFeeRefundActivities } from '../activities/unused-fee-refund';
import { subscriptionSuspensionNotifier } from './subscription-suspension-notifier';

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
  /** Payment provider adapter per organization connection (default: the Stripe SDK). */
  paymentProviderFor?: PaymentActivityDeps['providerFor'];
  /** Dunning consequence terminate_subscription (terminates through the subscription workflow). */
  terminateSubscription?: PaymentActivityDeps['terminateSubscription'];
  /** Temporal client of the fleet Schedules' activities (sweeper, draft finalization); they fail without it. */
  client?: Client;
}

export async function createBillingWorker(deps: BillingWorkerDeps): Promise<Worker> {
  const code = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : { workflowsPath: require.resolve('../workflows') };
  const taskQueue = deps.taskQueue ?? SUBSCRIPTION_TASK_QUEUE;
  const providerFor: PaymentActivityDeps['providerFor'] = deps.paymentProviderFor ?? ((cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey })));
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue,
    ...code,
    // Slots and pollers for the month-start burst (worker/tuning.ts, METERLINE_WORKER_* variables).
    ...workerTuning(),
    activities: {
      ...createActivities({ db: deps.db, fxFeed: deps.fxFeed, webhooks: { webhooks: deps.webhooks, renderWebhookObject } }),
      ...createPaymentActivities({
        db: deps.db,
        providerFor,
        terminateSubscription: deps.terminateSubscription,
        // Dunning consequence suspend_subscription (issue 10): signals the subscription workflow.
        notifySubscriptionSuspension: deps.client ? subscriptionSuspensionNotifier(deps.client) : undefined,
      }),
      ...createSuspensionActivities({ db: deps.db }),
      // on_termination_credit_note=refund (issue 11): the unused advance fee's paid part refunded through the provider.
      ...createUnusedFeeRefundActivities({ db: deps.db, providerFor }),
      // Fleet Schedules and test clocks (issue 11c).
      ...createFleetActivities({ db: deps.db, client: deps.client, taskQueue }),
      ...createTestClockActivities({ db: deps.db }),
      // Events partitions ahead / retention (issue 14; the event-partitions Schedule).
      ...createEventPartitionActivities({ db: deps.db, ...eventPartitionOptions() }),
    },
  });
}
