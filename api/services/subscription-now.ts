// "Now" for a request about an existing subscription (issue 11, test clocks): its test clock's time when it lives
// on one, else the request's real time. A plan change (POST /subscriptions with another plan_code) of a
// subscription on a clock takes effect at the clock's time even when the request does not repeat test_clock_id.
import type { Knex } from 'knex';
import { clockTimeOfSubscription } from '../../db/repositories/test-clocks';
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';

/**
 * The same rule where the clock's time was already read with the subscription (current usage reads it in its one
 * lookup query, db/repositories/subscriptions-billing.ts): the clock's time, else the request's real time.
 */
export function nowOnClock(testClockTime: string | null, realNow: string): string {
  return testClockTime ?? realNow;
}

/** By id, for a read that has not loaded the subscription row (past usage): one query, null-safe in real time. */
export async function subscriptionNowById(db: Knex, organizationId: string, subscriptionId: string, realNow: Date): Promise<Date> {
  return (await clockTimeOfSubscription(db, organizationId, subscriptionId)) ?? realNow;
}

export async function subscriptionNow(db: Knex, s: SubscriptionRecord, realNow: Date): Promise<Date> {
  if (!s.testClockId) return realNow;
  return (await clockTimeOfSubscription(db, s.organizationId, s.id)) ?? realNow;
}
