// The FX refresh Schedule, created idempotently at worker / system start. The ECB publishes its reference
// rates around 16:00 CET on TARGET business days; the Schedule runs every day at 16:30 Europe/Berlin (DST
// handled by the Schedule's timezone), skips a run while the previous one is still going, and is triggered
// once when first created so a new installation has rates at once.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/messages';

export const FX_REFRESH_SCHEDULE_ID = 'fx-refresh-ecb';

export interface FxScheduleOptions {
  taskQueue?: string;
  scheduleId?: string;
}

export async function ensureFxRefreshSchedule(client: Client, opts: FxScheduleOptions = {}): Promise<'created' | 'exists'> {
  const scheduleId = opts.scheduleId ?? FX_REFRESH_SCHEDULE_ID;
  try {
    const handle = await client.schedule.create({
      scheduleId,
      spec: { calendars: [{ hour: 16, minute: 30, comment: 'after the ECB publication (~16:00 CET)' }], timezone: 'Europe/Berlin' },
      action: {
        type: 'startWorkflow',
        workflowType: 'refreshFxRatesWorkflow',
        workflowId: `${scheduleId}-run`,
        taskQueue: opts.taskQueue ?? SUBSCRIPTION_TASK_QUEUE,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    await handle.trigger();
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
