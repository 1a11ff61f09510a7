// A plan's fixed-charge units change for its subscriptions (units11, issue 11; Lago's FixedCharges::UpdateService +
// FixedCharges::EmitEventsService: a plan update emits a fixed charge event per subscription, at once with
// `apply_units_immediately`, else at the next billing period; a subscription's own units override is kept,
// spec/scenarios/fixed_charges/plan_update_preserves_subscription_overrides_spec.rb).
// Recorded on each active subscription's units timeline with source `plan` (db/repositories/fixed-charges.ts):
// - apply_units_immediately: the new units from the subscription's now (its test clock's time); its workflow, told
//   after the commit (tellUnitsChanged: fixedChargeUnitsChangedSignal), bills the units not paid yet for a pay-in-advance fixed charge
//   (activities/fixed-charge-units.ts);
// - otherwise: from the subscription's next period, but only where an earlier immediate change (a `plan` row) would
//   otherwise keep its units in force; elsewhere the plan's units are the fallback (unchanged rule).
// Subscriptions of the plan's override children that bill its fixed charges are the plan's too.
import type { Knex } from 'knex';
import type { Interval } from '../../billing/types';
import { setSubscriptionUnits, unitsChangeSources } from '../../db/repositories/fixed-charges';
import { childPlanIdsOf } from '../../db/repositories/plan-overrides';
import { liveSubscriptionIdsOfPlans } from '../../db/repositories/catalog-edits';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { nextPeriod, periodContaining } from '../../billing/period';
import { subscriptionBillingTime } from '../../db/repositories/pay-in-advance';
import { loadSubscriptionBillingContext } from '../../db/repositories/subscriptions-billing';
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';
import { fixedChargeUnitsChangedSignal, subscriptionWorkflowId } from '../../workflows/messages';
import type { RouteContext } from '../context';
import { subscriptionNow } from './subscription-now';

export interface PlanUnitsChange {
  fixedChargeId: string;
  units: string;
  applyImmediately: boolean;
}

/**
 * Records the plan's units changes on its active subscriptions' timelines (inside the plan edit's transaction); answers
 * the subscriptions given units at once (their workflows are told after the commit: tellUnitsChanged).
 */
export async function recordPlanUnitsChanges(trx: Knex.Transaction, organizationId: string, planId: string, changes: PlanUnitsChange[]): Promise<string[]> {
  if (changes.length === 0) return [];
  const told = new Set<string>();
  const ids = await liveSubscriptionIdsOfPlans(trx, organizationId, [planId, ...(await childPlanIdsOf(trx, organizationId, planId))]);
  const subscriptions = (await getSubscriptionsByIds(trx, organizationId, ids)).filter((s) => s.status === 'active');
  for (const s of subscriptions) {
    for (const c of changes) {
      const sources = await unitsChangeSources(trx, organizationId, s.id, c.fixedChargeId);
      if (sources.has('subscription')) continue; // the subscription's own override wins over the plan's units
      if (!c.applyImmediately && !sources.has('plan')) continue;
      const now = (await subscriptionNow(trx, s, new Date())).toISOString();
      const at = c.applyImmediately ? now : await nextPeriodStart(trx, s, s.planInterval as Interval, now);
      await setSubscriptionUnits(trx, organizationId, s.id, c.fixedChargeId, c.units, at, 'plan');
      if (c.applyImmediately) told.add(s.id);
    }
  }
  return [...told];
}

/** The start of the subscription's next billing period after `at` (where a deferred units change takes effect). */
export async function nextPeriodStart(db: Knex, s: SubscriptionRecord, interval: Interval, at: string): Promise<string> {
  const ctx = await loadSubscriptionBillingContext(db, s.organizationId, s.id);
  const schedule = { subscriptionAt: ctx.subscriptionAt, interval, billingTime: await subscriptionBillingTime(db, s.organizationId, s.id), timezone: ctx.timezone };
  const from = Date.parse(at) < Date.parse(ctx.subscriptionAt) ? ctx.subscriptionAt : at;
  const open = periodContaining(schedule, from);
  if (Date.parse(at) < Date.parse(ctx.subscriptionAt)) return open.period.start;
  return nextPeriod(schedule, open.period).period.start;
}


/**
 * units11: the subscription's workflow bills the units just raised (workflows/fixed-charge-units.ts). The change is
 * durable already: an unreachable workflow is logged, and its period close bills the change.
 */
export async function tellUnitsChanged(ctx: RouteContext, subscriptionIds: string[]): Promise<void> {
  for (const subscriptionId of subscriptionIds) {
    try {
      await ctx.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).signal(fixedChargeUnitsChangedSignal);
    } catch (err) {
      ctx.logger.warn('could not tell a subscription workflow that fixed-charge units changed; its period close bills them', { subscriptionId, error: (err as Error)?.message });
    }
  }
}

