// Pay in advance across a plan change, fed from Postgres (billing/plan-change-advance.ts has the rules): the invoice
// issued at a change instant C (the upgrade's close, or the period-end close before a downgrade) also carries the
// NEW plan's first advance fee for [C, its next boundary). Derived from the stored change (subscription_plan_changes,
// pending or applied, effective exactly at the invoice period's end), so the close, a refresh, the finalization and a
// late-event re-rating of that invoice all bill the same fee.
import type { Knex } from 'knex';
import { firstAdvanceFeeAfterChange } from '../billing/plan-change-advance';
import { isEmptyPeriod } from '../billing/advance-billing';
import type { Fee, InvoiceDraft, InvoiceKind } from '../billing/invoice';
import type { Period } from '../billing/types';
import { planChangeEffectiveAt } from '../db/repositories/plan-changes';
import { loadPlan } from '../db/repositories/plans';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { scheduleOf } from './advance-boundary';

type Db = Knex | Knex.Transaction;

/** The plan change effective at the end of `period`, for the invoice kinds a change closes (else null). */
export async function changeEndingPeriod(db: Db, ctx: SubscriptionBillingContext, kind: InvoiceKind, period: Period) {
  if (kind !== 'subscription' || isEmptyPeriod(period)) return null;
  return planChangeEffectiveAt(db, ctx.organizationId, ctx.subscriptionId, period.end);
}

/** The new plan's first advance fee when a change takes effect at `period.end` (none for an in-arrears new plan). */
export async function firstAdvanceFeesAtChange(db: Db, ctx: SubscriptionBillingContext, kind: InvoiceKind, period: Period): Promise<Fee[]> {
  const change = await changeEndingPeriod(db, ctx, kind, period);
  if (change === null || change.toPlanId === change.fromPlanId) return [];
  const next = await loadPlan(db, ctx.organizationId, change.toPlanId);
  if (!next.payInAdvance) return [];
  const fees = firstAdvanceFeeAfterChange({ plan: next, schedule: await scheduleOf(db, ctx, next), changeAt: change.effectiveAt, subscriptionAt: ctx.subscriptionAt });
  return fees.map((f) => ({ ...f, planId: change.toPlanId }));
}

/** Every subscription fee of `draft` not yet attributed is the fee of `planId` (stored on the fee: fees.plan_id). */
export function withSubscriptionFeePlan(draft: InvoiceDraft, planId: string): InvoiceDraft {
  return { ...draft, fees: draft.fees.map((f) => (f.kind === 'subscription' && f.planId === undefined ? { ...f, planId } : f)) };
}
