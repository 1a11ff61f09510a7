// Starting a subscription's workflow: the one set of start options (workflow id, task queue, state, search
// attributes, the fallback for a namespace without Meterline's search attributes), shared by the API (a new
// subscription: api/routes/subscriptions.ts) and the fleet sweeper (a workflow healed from Postgres state:
// activities/fleet.ts). The callers differ only in their id reuse policy, passed explicitly.
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ScheduleInput } from '../billing/period';
import type { Interval } from '../billing/types';
import { SEARCH_ATTRIBUTE_KEYS, subscriptionWorkflowId, type SubscriptionWorkflowState } from './workflows';

/** The fields of a subscription row the start options need (structural: db/ and api/ records both fit). */
export interface SubscriptionStartRecord {
  id: string;
  externalId: string;
  externalCustomerId: string;
  planCode: string;
  planInterval: string;
  billingTime: ScheduleInput['billingTime'];
  subscriptionAt: Date;
  customerTimezone: string | null;
}

/**
 * How a start treats an earlier run with the same id: the API never replaces one (REJECT_DUPLICATE: a completed
 * or failed run means the subscription's process already ended); the sweeper replaces a failed / terminated /
 * timed-out run (ALLOW_DUPLICATE_FAILED_ONLY), never a completed one (a termination).
 */
export type SubscriptionIdReusePolicy = 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE_FAILED_ONLY';

export interface SubscriptionStartLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** The subscription's billing schedule from its row (the customer's timezone, else the organization's). */
export function subscriptionScheduleOf(s: SubscriptionStartRecord, defaultTimezone: string): ScheduleInput {
  return {
    subscriptionAt: s.subscriptionAt.toISOString(),
    interval: s.planInterval as Interval,
    billingTime: s.billingTime,
    timezone: s.customerTimezone ?? defaultTimezone,
  };
}

function isUndefinedSearchAttribute(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ''} ${String((err as Error)?.cause ?? '')}`;
  return /search attribute .* is not defined/i.test(text);
}

/**
 * Starts `subscriptionWorkflow` for `s` with `state`, joining a running one (USE_EXISTING). 'already_started' when
 * the reuse policy refused a new run. In a namespace without the search attributes (the time-skipping test
 * server) it starts without them and says so: billing must run, operators only lose the UI filters.
 */
export async function startSubscriptionWorkflow(
  client: Client,
  s: SubscriptionStartRecord,
  state: SubscriptionWorkflowState,
  opts: { taskQueue: string; workflowIdReusePolicy: SubscriptionIdReusePolicy; logger?: SubscriptionStartLogger },
): Promise<'started' | 'already_started'> {
  const options = {
    taskQueue: opts.taskQueue,
    workflowId: subscriptionWorkflowId(s.id),
    args: [state] as [SubscriptionWorkflowState],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    workflowIdReusePolicy: opts.workflowIdReusePolicy,
  };
  const typedSearchAttributes = [
    { key: SEARCH_ATTRIBUTE_KEYS.CustomerId, value: s.externalCustomerId },
    { key: SEARCH_ATTRIBUTE_KEYS.SubscriptionId, value: s.externalId },
    { key: SEARCH_ATTRIBUTE_KEYS.PlanCode, value: s.planCode },
    { key: SEARCH_ATTRIBUTE_KEYS.SubscriptionStatus, value: 'active' },
  ];
  try {
    await client.workflow.start('subscriptionWorkflow', { ...options, typedSearchAttributes });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
    if (!isUndefinedSearchAttribute(err)) throw err;
    opts.logger?.warn('search attributes are not registered in this Temporal namespace; starting the workflow without them', {
      workflowId: options.workflowId,
    });
    try {
      await client.workflow.start('subscriptionWorkflow', options);
      return 'started';
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
      throw e;
    }
  }
}
