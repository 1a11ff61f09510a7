// Subscription row side effects of the subscription workflow.
import type { Knex } from 'knex';
import { markSubscriptionTerminated as markTerminatedRow } from '../db/repositories/subscriptions';
import { classified } from './invoices';
import type { MarkTerminatedInput, SubscriptionActivities } from './types';

export function createSubscriptionActivities(deps: { db: Knex }): Pick<SubscriptionActivities, 'markSubscriptionTerminated'> {
  return {
    /** Idempotent: an already terminated subscription keeps its first terminated_at. */
    async markSubscriptionTerminated(input: MarkTerminatedInput): Promise<void> {
      await classified(() => markTerminatedRow(deps.db, input.organizationId, input.subscriptionId, input.terminatedAt));
    },
  };
}
