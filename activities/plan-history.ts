// What the period rating (activities/invoices.ts) needs once a subscription has a plan history: which plan a
// period is billed with, and the old plan's fee period when an upgrade ended a period (billing/plan-change.ts:
// the change day belongs to the new plan). Derived from stored rows only, so a close, a refresh, a finalization
// and a late-event re-rating of the same period all agree.
import type { Knex } from 'knex';
import { upgradedFeePeriod } from '../billing/plan-change';
import type { Period } from '../billing/types';
import { planIdForPeriod, upgradeEndingPeriodAt } from '../db/repositories/plan-changes';

type Db = Knex | Knex.Transaction;

/** The plan id a period starting at `period.start` is billed with (the subscription's plan history). */
export function planIdOfPeriod(db: Db, ctx: { organizationId: string; subscriptionId: string; planId: string }, period: Period): Promise<string> {
  return planIdForPeriod(db, ctx.organizationId, ctx.subscriptionId, period.start, ctx.planId);
}

/**
 * The subscription-fee period of a period an upgrade ended (the change day belongs to the new plan), else
 * undefined (the fee covers the period itself).
 */
export async function subscriptionFeePeriodOf(
  db: Db,
  ctx: { organizationId: string; subscriptionId: string; timezone: string },
  period: Period,
  fullPeriod: Period,
): Promise<{ period: Period; fullPeriod: Period } | undefined> {
  const changeAt = await upgradeEndingPeriodAt(db, ctx.organizationId, ctx.subscriptionId, period.end);
  if (changeAt === null) return undefined;
  return { period: upgradedFeePeriod(period, changeAt, ctx.timezone), fullPeriod };
}
