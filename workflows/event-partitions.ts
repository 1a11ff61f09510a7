// The daily events-partition maintenance, started by the Temporal Schedule `event-partitions`
// (worker/schedules.ts): one activity (activities/event-partitions.ts) whose result — partitions created,
// dropped, and kept because they still hold un-invoiced usage — is the run's result in the Schedule's history.
import { proxyActivities } from '@temporalio/workflow';
import type { EventPartitionActivities, MaintainEventPartitionsInput, MaintainEventPartitionsResult } from '../activities/event-partitions';

const { maintainEventPartitions } = proxyActivities<EventPartitionActivities>({
  // Creating a partition moves the default partition's rows of that month; dropping one first checks every event is invoiced.
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 10 },
});

export async function maintainEventPartitionsWorkflow(input: MaintainEventPartitionsInput = {}): Promise<MaintainEventPartitionsResult> {
  return maintainEventPartitions(input);
}
