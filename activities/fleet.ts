// Activities of the fleet Schedules (worker/schedules.ts): heal subscriptions whose workflow is gone or stuck,
// finalize drafts whose grace period is over, mark overdue invoices. Each is idempotent and returns counts that
// the calling workflow returns as its result (visible in the Schedule's run history in the Temporal UI).
//
// Healing is Postgres-driven: the subscriptions Postgres says are live (pending/active) are compared with the
// workflows Temporal runs. A workflow that is missing (never started: the API died between the insert and the
// start), failed, terminated or timed out is started again from Postgres state: at the period after the last
// period invoice (invoices are unique per subscription, period and kind, so a period billed before can never be
// billed twice). A running workflow whose period ended more than the slack ago without an invoice gets
// retryPeriodCloseSignal (it retries a close blocked by a business failure). Test-clock subscriptions follow
// their clock, so only their "not running" case is healed here.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { startSubscriptionWorkflow, subscriptionScheduleOf } from '../contracts/subscription-start';
import type { Knex } from 'knex';
import { nextPeriod } from '../billing/period';
import {
  FINALIZE_INVOICE_UPDATE,
  RETRY_PERIOD_CLOSE_SIGNAL,
  type FinalizeDraftsResult,
  type OverdueCheckResult,
  type SweepSubscriptionsResult,
} from '../contracts/fleet';
import {
  SEARCH_ATTRIBUTE_KEYS,
  invoiceWorkflowId,
  subscriptionWorkflowId,
  type InvoiceWorkflowInput,
  type SubscriptionWorkflowState,
} from '../contracts/workflows';
import {
  billedPeriodsOf,
  draftsPastGrace,
  listOrganizationIds,
  liveSubscriptionIdsPage,
  organizationDefaultTimezone,
  overdueCandidates,
} from '../db/repositories/fleet';
import { insertPaymentEvent, markPaymentOverdue } from '../db/repositories/payments';
import { getSubscriptionsByIds, type SubscriptionRecord } from '../db/repositories/subscriptions';
import { classified } from './invoices';

export interface FleetActivityDeps {
  db: Knex;
  /** The worker's Temporal client (describe, start, signal); fleet activities fail without it. */
  client?: Client;
  taskQueue: string;
}

export interface SweepSubscriptionsInput {
  /** A subscription younger than this is left alone (its API request may still be starting the workflow). */
  minAgeMs?: number;
  /** A running workflow whose CurrentPeriodEnd is older than this without an invoice is signaled. */
  stuckAfterMs?: number;
  pageSize?: number;
}

const CLOSED_FAILED = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED']);
const MAX_IDS = 50;

/** The workflow state of a subscription rebuilt from Postgres: the period after its last period invoice. */
export async function restartStateOf(db: Knex, s: SubscriptionRecord): Promise<SubscriptionWorkflowState> {
  const schedule = subscriptionScheduleOf(s, await organizationDefaultTimezone(db, s.organizationId));
  const billed = await billedPeriodsOf(db, s.organizationId, s.id);
  return {
    version: 1,
    organizationId: s.organizationId,
    subscriptionId: s.id,
    externalSubscriptionId: s.externalId,
    externalCustomerId: s.externalCustomerId,
    planCode: s.planCode,
    schedule,
    ...(billed.last ? { current: nextPeriod(schedule, billed.last.period) } : {}),
    liveUsage: {},
    closedPeriods: billed.count,
    usageSignalsReceived: 0,
    ...(s.testClockId ? { testClockId: s.testClockId } : {}),
  };
}

type Status = { name: string; periodEndMs: number | null } | 'not_found';

async function describeStatus(client: Client, workflowId: string): Promise<Status> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    const end = d.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.CurrentPeriodEnd);
    return { name: d.status.name, periodEndMs: end ? end.getTime() : null };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'not_found';
    throw err;
  }
}

export function createFleetActivities(deps: FleetActivityDeps) {
  const { db } = deps;
  const clientOf = (): Client => {
    if (!deps.client) throw new Error('fleet activities need the worker to be given a Temporal client (createBillingWorker deps.client)');
    return deps.client;
  };

  async function restart(client: Client, s: SubscriptionRecord): Promise<boolean> {
    const state = await restartStateOf(db, s);
    // A failed / terminated / timed-out run may be replaced; a completed one (a termination) never.
    const started = await startSubscriptionWorkflow(client, s, state, { taskQueue: deps.taskQueue, workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' });
    return started === 'started';
  }

  return {
    async sweepSubscriptions(input: SweepSubscriptionsInput = {}): Promise<SweepSubscriptionsResult> {
      return classified(async () => {
        const client = clientOf();
        const minAgeMs = input.minAgeMs ?? 60_000;
        const stuckAfterMs = input.stuckAfterMs ?? 15 * 60_000;
        const pageSize = input.pageSize ?? 200;
        const result: SweepSubscriptionsResult = { checked: 0, running: 0, restarted: 0, signaled: 0, inconsistent: 0, healedSubscriptionIds: [] };
        const healed = (id: string) => {
          if (result.healedSubscriptionIds.length < MAX_IDS) result.healedSubscriptionIds.push(id);
        };
        const createdBefore = new Date(Date.now() - minAgeMs);
        for (const organizationId of await listOrganizationIds(db)) {
          let afterId: string | null = null;
          for (;;) {
            const ids = await liveSubscriptionIdsPage(db, organizationId, { afterId, limit: pageSize, createdBefore });
            if (ids.length === 0) break;
            afterId = ids[ids.length - 1]!;
            for (const s of await getSubscriptionsByIds(db, organizationId, ids)) {
              result.checked += 1;
              const status = await describeStatus(client, subscriptionWorkflowId(s.id));
              if (status === 'not_found' || CLOSED_FAILED.has(status.name)) {
                if (await restart(client, s)) {
                  result.restarted += 1;
                  healed(s.id);
                }
              } else if (status.name === 'RUNNING') {
                result.running += 1;
                const ended = status.periodEndMs !== null && status.periodEndMs < Date.now() - stuckAfterMs;
                if (ended && !s.testClockId && (await billedPeriodsOf(db, organizationId, s.id)).last?.period.end !== new Date(status.periodEndMs!).toISOString()) {
                  await client.workflow.getHandle(subscriptionWorkflowId(s.id)).signal(RETRY_PERIOD_CLOSE_SIGNAL);
                  result.signaled += 1;
                  healed(s.id);
                }
              } else if (status.name === 'COMPLETED') {
                result.inconsistent += 1;
              }
            }
          }
        }
        return result;
      });
    },

    async finalizeDraftsPastGrace(input: { slackMinutes?: number; limit?: number } = {}): Promise<FinalizeDraftsResult> {
      return classified(async () => {
        const client = clientOf();
        const result: FinalizeDraftsResult = { found: 0, finalizedByUpdate: 0, restarted: 0, failed: 0, invoiceIds: [] };
        for (const organizationId of await listOrganizationIds(db)) {
          const drafts = await draftsPastGrace(db, organizationId, { slackMinutes: input.slackMinutes ?? 15, limit: input.limit ?? 500 });
          for (const d of drafts) {
            result.found += 1;
            const workflowId = invoiceWorkflowId(d.invoiceId);
            const status = await describeStatus(client, workflowId);
            try {
              if (status !== 'not_found' && status.name === 'RUNNING') {
                await client.workflow.getHandle(workflowId).executeUpdate(FINALIZE_INVOICE_UPDATE, { updateId: `sweep-finalize:${d.invoiceId}` });
                result.finalizedByUpdate += 1;
              } else if (status === 'not_found' || CLOSED_FAILED.has(status.name)) {
                const args: [InvoiceWorkflowInput] = [{ version: 1, organizationId, invoiceId: d.invoiceId, gracePeriodDays: 0 }];
                await client.workflow.start('invoiceWorkflow', { taskQueue: deps.taskQueue, workflowId, args, workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' });
                result.restarted += 1;
              } else {
                result.failed += 1;
                continue;
              }
              if (result.invoiceIds.length < MAX_IDS) result.invoiceIds.push(d.invoiceId);
            } catch (err) {
              if (err instanceof WorkflowExecutionAlreadyStartedError) continue;
              // A refused update (no longer a draft) or a failed finalization: the next run looks again.
              result.failed += 1;
            }
          }
        }
        return result;
      });
    },

    async markOverdueInvoices(input: { limit?: number } = {}): Promise<OverdueCheckResult> {
      return classified(async () => {
        const result: OverdueCheckResult = { marked: 0, invoiceIds: [] };
        for (const organizationId of await listOrganizationIds(db)) {
          for (const invoiceId of await overdueCandidates(db, organizationId, input.limit ?? 1000)) {
            const marked = await db.transaction(async (trx) => {
              if (!(await markPaymentOverdue(trx, organizationId, invoiceId))) return false;
              // The same business key as the invoice workflow's own overdue timer: one event whoever marks it first.
              await insertPaymentEvent(trx, { organizationId, invoiceId, eventType: 'invoice.payment_overdue', dedupeKey: `invoice:${invoiceId}:overdue`, payload: {} });
              return true;
            });
            if (marked) {
              result.marked += 1;
              if (result.invoiceIds.length < MAX_IDS) result.invoiceIds.push(invoiceId);
            }
          }
        }
        return result;
      });
    },
  };
}

export type FleetActivities = ReturnType<typeof createFleetActivities>;
