// The worker's activities: every group bound to its dependencies, merged into the SubscriptionActivities type.
import type { Knex } from 'knex';
import { withHeartbeats } from './heartbeat';
import { createInvoiceActivities } from './invoices';
import { createSubscriptionActivities } from './subscriptions';
import { createThresholdActivities } from './thresholds';
import type { SubscriptionActivities } from './types';

export interface ActivityDeps {
  db: Knex;
}

export function createActivities(deps: ActivityDeps): SubscriptionActivities {
  return withHeartbeats({
    ...createInvoiceActivities(deps),
    ...createSubscriptionActivities(deps),
    ...createThresholdActivities(deps),
  });
}

export type { SubscriptionActivities } from './types';
