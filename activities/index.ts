// The worker's activities: every group bound to its dependencies, merged into the SubscriptionActivities type.
import type { Knex } from 'knex';
import { createInvoiceActivities } from './invoices';
import { createSubscriptionActivities } from './subscriptions';
import { createThresholdActivities } from './thresholds';
import type { SubscriptionActivities } from './types';
import { createWebhookActivities, type WebhookActivityDeps, type WebhookActivities } from './webhooks';

export interface ActivityDeps {
  db: Knex;
  /** Outgoing webhook delivery options and the renderer of objects enqueued by id (invoices). */
  webhooks?: Omit<WebhookActivityDeps, 'db'>;
}

export function createActivities(deps: ActivityDeps): SubscriptionActivities & WebhookActivities {
  return {
    ...createInvoiceActivities(deps),
    ...createSubscriptionActivities(deps),
    ...createThresholdActivities(deps),
    ...createWebhookActivities({ db: deps.db, ...deps.webhooks }),
  };
}

export type { SubscriptionActivities } from './types';
