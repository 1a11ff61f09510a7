// The fleet workflows the Temporal Schedules start (worker/schedules.ts): each one activity whose counts are
// the workflow's result, so every run's outcome is in the Schedule's recent actions and the run's history.
import { proxyActivities } from '@temporalio/workflow';
import type { FleetActivities, SweepSubscriptionsInput } from '../activities/fleet';
import type { FinalizeDraftsResult, OverdueCheckResult, SweepSubscriptionsResult } from '../contracts/fleet';

const fleet = proxyActivities<FleetActivities>({
  startToCloseTimeout: '4 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Heals subscriptions whose workflow is gone or whose period ended without an invoice (every 5 minutes). */
export async function sweepSubscriptionsWorkflow(input: SweepSubscriptionsInput = {}): Promise<SweepSubscriptionsResult> {
  return fleet.sweepSubscriptions(input);
}

/** Finalizes drafts whose grace period is over but which are still drafts (every 15 minutes). */
export async function finalizeDraftsWorkflow(input: { slackMinutes?: number } = {}): Promise<FinalizeDraftsResult> {
  return fleet.finalizeDraftsPastGrace(input);
}

/** Marks unpaid invoices past their payment_due_date `payment_overdue: true` (hourly). */
export async function overdueCheckWorkflow(): Promise<OverdueCheckResult> {
  return fleet.markOverdueInvoices({});
}
