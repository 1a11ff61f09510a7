// The events-partition maintenance options (activities/event-partitions.ts), read once from the environment
// (validated; a bad value fails at boot):
//
//   METERLINE_EVENT_PARTITIONS_AHEAD_MONTHS  monthly partitions kept ready beyond the current month (default 3)
//   METERLINE_EVENT_RETENTION_MONTHS         raw events of a month are dropped this many months after it ended,
//                                            once every one of them is invoiced; unset (the default) keeps raw
//                                            events forever. Must leave more than the late-event window
//                                            (METERLINE_EVENT_MAX_AGE_DAYS, default 90) after the month ends.
import { z } from 'zod';
import type { EventPartitionOptions } from '../activities/event-partitions';

const PartitionEnv = z.object({
  METERLINE_EVENT_PARTITIONS_AHEAD_MONTHS: z.coerce.number().int().min(1).max(36).default(3),
  METERLINE_EVENT_RETENTION_MONTHS: z.coerce.number().int().min(1).max(1200).optional(),
  METERLINE_EVENT_MAX_AGE_DAYS: z.coerce.number().int().min(1).default(90),
});

/** The options from `env` (see the header). Throws naming the bad variable. */
export function eventPartitionOptions(env: NodeJS.ProcessEnv = process.env): EventPartitionOptions {
  const parsed = PartitionEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Invalid event partition settings: ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const retention = e.METERLINE_EVENT_RETENTION_MONTHS ?? null;
  // A month's partition is dropped `retention` whole months after it ended: at least 28 × retention days later.
  if (retention !== null && retention * 28 <= e.METERLINE_EVENT_MAX_AGE_DAYS) {
    throw new Error(
      `Invalid event partition settings: METERLINE_EVENT_RETENTION_MONTHS (${retention}) must leave more than the late-event window of ${e.METERLINE_EVENT_MAX_AGE_DAYS} days`,
    );
  }
  return { aheadMonths: e.METERLINE_EVENT_PARTITIONS_AHEAD_MONTHS, retentionMonths: retention };
}
