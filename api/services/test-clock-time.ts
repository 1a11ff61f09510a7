// Test clocks on the API side (issue 11c): the receive time of events for test-clock subscriptions, the clock a new
// subscription is attached to, and the fan-out of an advance to the workflows living on the clock.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TEST_CLOCK_ADVANCED_SIGNAL, type TestClockAdvancedPayload } from '../../contracts/fleet';
import { invoiceWorkflowId, subscriptionWorkflowId } from '../../contracts/workflows';
import { clockTimesOfSubscriptions, getTestClock, liveSubscriptionIdsOnClock, openInvoiceIdsOnClock, type TestClockRecord } from '../../db/repositories/test-clocks';
import type { RouteContext } from '../context';
import type { ReceiveTime } from '../ingest/validate-event';
import { notFound } from '../errors';

/**
 * The receive time of a request's events (a `ReceiveTime` for validateEvents, given the subscriptions its lookup
 * found): the real time, or — when every event names a subscription on the same test clock — that clock's time (an
 * omitted timestamp defaults to it, and the accepted window is around it). No query for real-time subscriptions.
 */
export function eventsReceiveTime(ctx: RouteContext, organizationId: string): ReceiveTime {
  return (subs, externalIds) => {
    const realNow = new Date().toISOString();
    if (externalIds.size === 0) return realNow;
    const onClock = [...subs.values()].filter((s) => s.testClockId);
    if (onClock.length === 0) return realNow;
    return (async () => {
      // A fresh read: the clock may have moved since the cache loaded the subscription.
      const times = await clockTimesOfSubscriptions(ctx.db, organizationId, onClock.map((s) => s.externalId));
      const distinct = new Set([...times.values()].map((d) => d.toISOString()));
      // Mixed with real-time subscriptions or with other clocks: each event is judged against the real time.
      if (distinct.size !== 1 || onClock.length !== subs.size || externalIds.size !== subs.size) return realNow;
      return [...distinct][0]!;
    })();
  };
}

async function signal(client: Client, workflowId: string, payload: TestClockAdvancedPayload): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).signal(TEST_CLOCK_ADVANCED_SIGNAL, payload);
    return true;
  } catch (err) {
    // Finished (terminated subscription, paid invoice) or not started yet (it reads the clock when it starts).
    if (err instanceof WorkflowNotFoundError) return false;
    if (/already completed|not found/i.test(`${(err as Error)?.message ?? ''}`)) return false;
    throw err;
  }
}

/** Tells every workflow living on the clock its new time. Returns how many workflows were told. */
export async function announceClockTime(ctx: RouteContext, clock: TestClockRecord): Promise<number> {
  const payload: TestClockAdvancedPayload = { testClockId: clock.id, frozenTime: clock.frozenTime.toISOString() };
  const [subscriptionIds, invoiceIds] = await Promise.all([
    liveSubscriptionIdsOnClock(ctx.db, clock.organizationId, clock.id),
    openInvoiceIdsOnClock(ctx.db, clock.organizationId, clock.id),
  ]);
  const workflowIds = [...subscriptionIds.map(subscriptionWorkflowId), ...invoiceIds.map(invoiceWorkflowId)];
  let told = 0;
  for (const id of workflowIds) if (await signal(ctx.temporal, id, payload)) told += 1;
  return told;
}

/** The clock a new subscription is created on (POST /subscriptions `test_clock_id`); 404 test_clock_not_found. */
export async function testClockForNewSubscription(ctx: RouteContext, organizationId: string, testClockId: string | null | undefined): Promise<TestClockRecord | null> {
  if (testClockId === undefined || testClockId === null) return null;
  const clock = await getTestClock(ctx.db, organizationId, testClockId);
  if (!clock) throw notFound('test_clock');
  return clock;
}
