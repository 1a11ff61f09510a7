// Activities of the plan-change workflow module (workflows/plan-changes.ts): plain JSON in and out.
import type { Interval } from '../billing/types';

export interface ApplyPlanChangeInput {
  organizationId: string;
  subscriptionId: string;
  /** subscription_plan_changes.id (the API recorded it before asking the workflow). */
  changeId: string;
}

export interface AppliedPlanChange {
  changeId: string;
  /** The subscription's plan from now on. */
  planCode: string;
  interval: Interval;
}

export interface ActivateSubscriptionInput {
  organizationId: string;
  subscriptionId: string;
}

export interface PlanChangeActivities {
  /** The subscription's plan becomes the change's plan (idempotent; a canceled change fails with plan_change_canceled). */
  applyPlanChange(input: ApplyPlanChangeInput): Promise<AppliedPlanChange>;
  /** A pending subscription whose start has come: status active, started_at = subscription_at (idempotent). */
  activateSubscription(input: ActivateSubscriptionInput): Promise<void>;
}
