// Side effects of plan changes and scheduled starts (workflows/plan-changes.ts). The lookups the period rating
// needs once a subscription has a plan history are in plan-history.ts.
import type { Knex } from 'knex';
import type { Interval } from '../billing/types';
import { activatePendingSubscription, applyPlanChange } from '../db/repositories/plan-changes';
import { classified } from './invoices';
import type { PlanChangeActivities } from './plan-change-types';

export function createPlanChangeActivities(deps: { db: Knex }): PlanChangeActivities {
  return {
    async applyPlanChange(input) {
      return classified(async () => {
        const applied = await applyPlanChange(deps.db, input.organizationId, input.changeId);
        return { changeId: applied.id, planCode: applied.toPlanCode, interval: applied.toPlanInterval as Interval };
      });
    },
    async activateSubscription(input) {
      await classified(() => activatePendingSubscription(deps.db, input.organizationId, input.subscriptionId));
    },
  };
}
