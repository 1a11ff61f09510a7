// The termination options stored on the subscription (db/repositories/termination-options.ts), read by the workflow
// when the subscription ends (workflows/termination-options.ts, patch termination-options-v1).
import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { getTerminationOptions, type StoredTerminationOptions } from '../db/repositories/termination-options';
import { classified } from './invoices';

export interface TerminationOptionsInput {
  organizationId: string;
  subscriptionId: string;
}

export interface TerminationOptionsActivities {
  /** The subscription's stored on_termination_invoice / on_termination_credit_note (null = Lago's default). */
  loadTerminationOptions(input: TerminationOptionsInput): Promise<StoredTerminationOptions>;
}

export function createTerminationOptionsActivities(deps: { db: Knex }): TerminationOptionsActivities {
  return {
    async loadTerminationOptions(input) {
      return classified(async () => {
        const stored = await getTerminationOptions(deps.db, input.organizationId, input.subscriptionId);
        if (!stored) throw ApplicationFailure.create({ message: `Subscription ${input.subscriptionId} not found`, type: 'subscription_not_found', nonRetryable: true });
        return stored;
      });
    },
  };
}
