// The FX refresh Schedule, created idempotently at worker / system start: daily at 16:30 Europe/Berlin, skips a
// run while the previous one is still going, triggered once when first created so a new installation has rates
// at once. Its definition lives with every other Schedule in worker/schedules.ts.
import type { Client } from '@temporalio/client';
import { FX_REFRESH_SCHEDULE, FX_REFRESH_SCHEDULE_ID, ensureSchedule } from './schedules';

export { FX_REFRESH_SCHEDULE_ID };

export interface FxScheduleOptions {
  taskQueue?: string;
  scheduleId?: string;
}

export async function ensureFxRefreshSchedule(client: Client, opts: FxScheduleOptions = {}): Promise<'created' | 'exists'> {
  return ensureSchedule(client, FX_REFRESH_SCHEDULE, opts);
}
