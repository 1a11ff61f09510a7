// Dunning consequence `suspend_subscription` (issue 10): the activity the subscription workflow reads its
// suspension with (workflows/suspension.ts). Postgres is the source of truth; signals only wake the workflow.
import type { Knex } from 'knex';
import { syncSubscriptionSuspension, type SuspensionState } from '../db/repositories/subscription-suspensions';
import { classified } from './invoices';

export interface SuspensionRef {
  organizationId: string;
  subscriptionId: string;
}

export interface SuspensionActivities {
  /** The subscription's open suspensions, after closing those whose invoice was paid or voided (idempotent). */
  syncSubscriptionSuspension(input: SuspensionRef): Promise<SuspensionState>;
}

export function createSuspensionActivities(deps: { db: Knex }): SuspensionActivities {
  return {
    async syncSubscriptionSuspension(input: SuspensionRef): Promise<SuspensionState> {
      return classified(() => syncSubscriptionSuspension(deps.db, input.organizationId, input.subscriptionId));
    },
  };
}
