// The `event-partitions` Schedule's activity (worker/schedules.ts, daily): keeps `aheadMonths` monthly
// partitions of `events` ready beyond the current UTC month (so an insert never lands in the default partition
// in normal operation), and — when a retention is configured — drops the monthly partitions that ended more
// than `retentionMonths` months before the current month AND whose every event is invoiced
// (db/repositories/event-partitions.ts partitionFullyInvoiced). A partition past the retention that still holds
// un-invoiced usage is kept and reported (`keptNotInvoiced`), never dropped. Rollups (usage_rollups) are not
// touched: current-usage history and analytics keep working from them. Idempotent: a retried or repeated run
// finds the partitions it already created or dropped.
import { dropEventPartition, ensureEventPartition, listEventPartitions, partitionFullyInvoiced } from '../db/repositories/event-partitions';
import type { Knex } from 'knex';

export interface EventPartitionOptions {
  /** Months created beyond the current one (default 3). */
  aheadMonths: number;
  /** Drop invoiced partitions whose month ended more than this many months ago; null keeps raw events forever. */
  retentionMonths: number | null;
}

export interface MaintainEventPartitionsInput {
  /** The instant the run acts for (ISO); default: the activity's clock. */
  now?: string;
}

export interface MaintainEventPartitionsResult {
  created: string[];
  dropped: string[];
  keptNotInvoiced: string[];
}

export interface EventPartitionActivities {
  maintainEventPartitions(input: MaintainEventPartitionsInput): Promise<MaintainEventPartitionsResult>;
}

function utcMonthStart(d: Date, addMonths = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + addMonths, 1));
}

export function createEventPartitionActivities(deps: { db: Knex } & EventPartitionOptions): EventPartitionActivities {
  return {
    async maintainEventPartitions(input) {
      const now = input.now ? new Date(input.now) : new Date();
      const created: string[] = [];
      for (let i = 0; i <= deps.aheadMonths; i++) {
        const month = utcMonthStart(now, i);
        if (await ensureEventPartition(deps.db, month)) created.push(`events_p${month.toISOString().slice(0, 7).replace('-', '')}`);
      }
      const dropped: string[] = [];
      const keptNotInvoiced: string[] = [];
      if (deps.retentionMonths !== null) {
        const cutoff = utcMonthStart(now, -deps.retentionMonths);
        for (const p of await listEventPartitions(deps.db)) {
          if (!p.to || p.to > cutoff) continue;
          if (await partitionFullyInvoiced(deps.db, p.name)) {
            await dropEventPartition(deps.db, p.name);
            dropped.push(p.name);
          } else keptNotInvoiced.push(p.name);
        }
      }
      return { created, dropped, keptNotInvoiced };
    },
  };
}
