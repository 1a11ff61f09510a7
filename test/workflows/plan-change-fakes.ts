// Test doubles of the plan-change activities (activities/plan-change-types.ts), recording every call.
import type { ActivateSubscriptionInput, ApplyPlanChangeInput, PlanChangeActivities } from '../../activities/plan-change-types';
import type { Interval } from '../../billing/types';

export interface PlanChangeCalls {
  applyPlanChange: ApplyPlanChangeInput[];
  activateSubscription: ActivateSubscriptionInput[];
}

/** `changes`: change id → the plan it applies (code, interval), as the subscription_plan_changes row would say. */
export function fakePlanChangeActivities(changes: Record<string, { planCode: string; interval: Interval }> = {}): {
  activities: PlanChangeActivities;
  calls: PlanChangeCalls;
} {
  const calls: PlanChangeCalls = { applyPlanChange: [], activateSubscription: [] };
  return {
    calls,
    activities: {
      async applyPlanChange(input) {
        calls.applyPlanChange.push(input);
        const change = changes[input.changeId];
        if (!change) throw new Error(`unknown change ${input.changeId}`);
        return { changeId: input.changeId, ...change };
      },
      async activateSubscription(input) {
        calls.activateSubscription.push(input);
      },
    },
  };
}
