// Test clocks (issue 11c), the activity side. "Now" for an activity working for a subscription or an invoice is its
// test clock's frozen time when it lives on one (db/repositories/test-clocks.ts clockTimeOfSubscription / OfInvoice),
// the real time otherwise: finalizeInvoice issues a sandbox invoice on the clock's date (payment_due_date follows).
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { getTestClock } from '../db/repositories/test-clocks';
import { classified } from './invoices';

export function createTestClockActivities(deps: { db: Knex }) {
  return {
    /** The clock's current time (a workflow on a test clock reads it when it starts without one). */
    async readTestClock(input: { organizationId: string; testClockId: string }): Promise<{ frozenTime: string }> {
      return classified(async () => {
        const clock = await getTestClock(deps.db, input.organizationId, input.testClockId);
        if (!clock) throw ApplicationFailure.create({ message: `test clock ${input.testClockId} not found`, type: 'test_clock_not_found', nonRetryable: true });
        return { frozenTime: clock.frozenTime.toISOString() };
      });
    },
  };
}

export type TestClockActivities = ReturnType<typeof createTestClockActivities>;
