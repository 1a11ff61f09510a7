// Worker tuning for the month-start burst (every calendar subscription closes at the same instant): slots and
// pollers of the billing worker, read once from the environment (validated; a bad value fails at boot).
//
//   METERLINE_WORKER_MAX_ACTIVITIES         concurrent activity executions (default 200: the activities wait on
//                                           Postgres, not on this process' CPU; bounded by the DB pool anyway)
//   METERLINE_WORKER_MAX_WORKFLOW_TASKS     concurrent workflow tasks (default 100)
//   METERLINE_WORKER_ACTIVITY_POLLERS       activity task pollers (default 10)
//   METERLINE_WORKER_WORKFLOW_POLLERS       workflow task pollers (default 10)
//   METERLINE_WORKER_MAX_CACHED_WORKFLOWS   sticky cache size (default: the SDK's, from the heap size, ~600
//                                           workflows per GB; a miss replays the workflow's history: short here,
//                                           since every period continues-as-new; the cache bounds the memory)
// bench/close.ts measures the effect; README "Scale-out" has the figures.
import type { WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';

const count = (dflt: number) => z.coerce.number().int().min(1).max(1_000_000).default(dflt);

const TuningEnv = z.object({
  METERLINE_WORKER_MAX_ACTIVITIES: count(200),
  METERLINE_WORKER_MAX_WORKFLOW_TASKS: count(100),
  METERLINE_WORKER_ACTIVITY_POLLERS: count(10),
  METERLINE_WORKER_WORKFLOW_POLLERS: count(10),
  METERLINE_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
});

export type WorkerTuning = Pick<
  WorkerOptions,
  'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskPolls' | 'maxConcurrentWorkflowTaskPolls' | 'maxCachedWorkflows'
>;

/** The worker's slots, pollers and cache size from `env` (see the header). Throws naming the bad variable. */
export function workerTuning(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  const parsed = TuningEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Invalid worker tuning: ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    maxConcurrentActivityTaskExecutions: e.METERLINE_WORKER_MAX_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: e.METERLINE_WORKER_MAX_WORKFLOW_TASKS,
    maxConcurrentActivityTaskPolls: e.METERLINE_WORKER_ACTIVITY_POLLERS,
    maxConcurrentWorkflowTaskPolls: e.METERLINE_WORKER_WORKFLOW_POLLERS,
    ...(e.METERLINE_WORKER_MAX_CACHED_WORKFLOWS === undefined ? {} : { maxCachedWorkflows: e.METERLINE_WORKER_MAX_CACHED_WORKFLOWS }),
  };
}
