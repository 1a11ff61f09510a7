// Every Temporal Schedule of an installation, in one table, created idempotently when the worker (or `npm start`)
// boots: `temporal schedule list` shows them, each run's result is in its workflow's history. A Schedule that
// already exists is left as it is (an operator may have paused or retuned it in the UI). Runs never overlap
// (SKIP): a sweep still going when the next is due makes the next one wait for its turn.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { SUBSCRIPTION_TASK_QUEUE } from '../contracts/workflows';

export interface ScheduleDefinition {
  scheduleId: string;
  workflowType: string;
  spec: ScheduleSpec;
  catchupWindow: Duration;
  /** Run once as soon as the Schedule is first created (a new installation does not wait for the first tick). */
  triggerOnCreate: boolean;
  memo: string;
}

export const FX_REFRESH_SCHEDULE_ID = 'fx-refresh-ecb';
export const SUBSCRIPTION_SWEEPER_SCHEDULE_ID = 'subscription-sweeper';
export const DRAFT_FINALIZATION_SCHEDULE_ID = 'draft-finalization';
export const OVERDUE_CHECK_SCHEDULE_ID = 'invoice-overdue-check';
export const WALLET_EXPIRY_SCHEDULE_ID = 'wallet-expiry';
export const WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID = 'wallet-interval-top-ups';
export const EVENT_PARTITIONS_SCHEDULE_ID = 'event-partitions';

export const FX_REFRESH_SCHEDULE: ScheduleDefinition = {
  scheduleId: FX_REFRESH_SCHEDULE_ID,
  workflowType: 'refreshFxRatesWorkflow',
  // The ECB publishes around 16:00 CET on TARGET business days; DST handled by the Schedule's timezone.
  spec: { calendars: [{ hour: 16, minute: 30, comment: 'after the ECB publication (~16:00 CET)' }], timezone: 'Europe/Berlin' },
  catchupWindow: '1 day',
  triggerOnCreate: true,
  memo: 'ECB reference rates into fx_rates',
};

export const FLEET_SCHEDULES: readonly ScheduleDefinition[] = [
  {
    scheduleId: SUBSCRIPTION_SWEEPER_SCHEDULE_ID,
    workflowType: 'sweepSubscriptionsWorkflow',
    spec: { intervals: [{ every: '5 minutes' }] },
    catchupWindow: '10 minutes',
    triggerOnCreate: true,
    memo: 'restarts subscription workflows that are gone, signals periods that ended without an invoice',
  },
  {
    scheduleId: DRAFT_FINALIZATION_SCHEDULE_ID,
    workflowType: 'finalizeDraftsWorkflow',
    spec: { intervals: [{ every: '15 minutes' }] },
    catchupWindow: '30 minutes',
    triggerOnCreate: false,
    memo: 'finalizes drafts whose grace period is over',
  },
  {
    scheduleId: OVERDUE_CHECK_SCHEDULE_ID,
    workflowType: 'overdueCheckWorkflow',
    spec: { intervals: [{ every: '1 hour' }] },
    catchupWindow: '2 hours',
    triggerOnCreate: false,
    memo: 'marks unpaid invoices past payment_due_date payment_overdue',
  },
  {
    // Issue 14: monthly events partitions created ahead; past the retention, invoiced ones dropped.
    scheduleId: EVENT_PARTITIONS_SCHEDULE_ID,
    workflowType: 'maintainEventPartitionsWorkflow',
    spec: { intervals: [{ every: '1 day', offset: '197 minutes' }] },
    catchupWindow: '1 day',
    triggerOnCreate: true,
    memo: 'creates the events table partitions ahead, drops invoiced ones past the retention',
  },
];

/** Wallet automation (workflows/wallet-fleet.ts): both activities are idempotent, so a missed or repeated run is harmless. */
export const WALLET_SCHEDULES: readonly ScheduleDefinition[] = [
  {
    scheduleId: WALLET_EXPIRY_SCHEDULE_ID,
    workflowType: 'expireDueWalletsWorkflow',
    spec: { intervals: [{ every: '1 hour' }] },
    catchupWindow: '2 hours',
    triggerOnCreate: true,
    memo: 'expires wallets past expiration_at (remaining credits expire, wallet terminated)',
  },
  {
    scheduleId: WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID,
    workflowType: 'intervalTopUpsWorkflow',
    spec: { intervals: [{ every: '15 minutes' }] },
    catchupWindow: '30 minutes',
    triggerOnCreate: true,
    memo: 'tops up wallets whose interval recurring rule reached a boundary (once per rule and boundary)',
  },
];

export interface EnsureScheduleOptions {
  taskQueue?: string;
  /** Replaces the definition's id (tests use their own ids on a shared server). */
  scheduleId?: string;
}

export async function ensureSchedule(client: Client, def: ScheduleDefinition, opts: EnsureScheduleOptions = {}): Promise<'created' | 'exists'> {
  const scheduleId = opts.scheduleId ?? def.scheduleId;
  try {
    const handle = await client.schedule.create({
      scheduleId,
      spec: def.spec,
      action: {
        type: 'startWorkflow',
        workflowType: def.workflowType,
        // The Schedule appends the run's time to this id: one id per run, from the schedule's name.
        workflowId: `${scheduleId}-run`,
        taskQueue: opts.taskQueue ?? SUBSCRIPTION_TASK_QUEUE,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: def.catchupWindow },
      memo: { description: def.memo },
    });
    if (def.triggerOnCreate) await handle.trigger();
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}

/** Every Schedule the worker ensures at boot (ensureAllSchedules), in one list. */
export const ALL_SCHEDULES: readonly ScheduleDefinition[] = [FX_REFRESH_SCHEDULE, ...FLEET_SCHEDULES, ...WALLET_SCHEDULES];

/** The FX refresh, the fleet Schedules (sweeper, draft finalization, overdue checks) and the wallet ones, each created once. */
export async function ensureAllSchedules(client: Client, opts: { taskQueue?: string } = {}): Promise<Record<string, 'created' | 'exists'>> {
  const out: Record<string, 'created' | 'exists'> = {};
  for (const def of ALL_SCHEDULES) out[def.scheduleId] = await ensureSchedule(client, def, opts);
  return out;
}
