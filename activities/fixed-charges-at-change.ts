// The NEW plan's pay-in-advance fixed charges at a plan change (fixed11, issue 11): the invoice issued at the change
// instant C (an upgrade's close, or the period-end close before a downgrade: activities/plan-change-boundary.ts)
// also bills each advance fixed charge of the new plan for its first period [C, the new plan's next boundary), over
// that schedule's full period: prorated ones for the days left (upgrade mid-period), others in full (Lago bills
// fixed charges in full unless `prorated`); a downgrade at the period end starts a whole period, so both bill in
// full. Units: the subscription's units timeline on the new plan's fixed charges, else the plan's. Derived from the
// stored change (pending or applied, effective exactly at the invoice period's end), so the close, a refresh, the
// finalization and a re-rating of that invoice bill the same fees; the new plan's later periods are billed by the
// ordinary rule (activities/fixed-charges.ts: each close bills the next period's advance fixed charges).
// No new rounding point: one fee line each (R1, FC1).
import type { Knex } from 'knex';
import { fixedChargeAdvanceFee } from '../billing/fixed-charges';
import type { Fee, InvoiceKind } from '../billing/invoice';
import { firstPeriodAfterChange } from '../billing/plan-change-advance';
import type { Period } from '../billing/types';
import { fixedChargesForBilling, unitsChangesOf } from '../db/repositories/fixed-charges';
import { loadPlan } from '../db/repositories/plans';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { scheduleOf } from './advance-boundary';
import { changeEndingPeriod } from './plan-change-boundary';

type Db = Knex | Knex.Transaction;

/** The new plan's first advance fixed-charge fees when a plan change takes effect at `period.end` (else none). */
export async function newPlanAdvanceFixedChargeFeesAtChange(db: Db, ctx: SubscriptionBillingContext, kind: InvoiceKind, period: Period): Promise<Fee[]> {
  const change = await changeEndingPeriod(db, ctx, kind, period);
  if (change === null || change.toPlanId === change.fromPlanId) return [];
  const charges = (await fixedChargesForBilling(db, ctx.organizationId, change.toPlanId)).filter((c) => c.payInAdvance);
  if (charges.length === 0) return [];
  const next = await loadPlan(db, ctx.organizationId, change.toPlanId);
  const pair = firstPeriodAfterChange({ schedule: await scheduleOf(db, ctx, next), changeAt: change.effectiveAt });
  const changes = await unitsChangesOf(db, ctx.organizationId, ctx.subscriptionId, charges.map((c) => c.id));
  return charges.map((fc) => fixedChargeAdvanceFee({ fixedCharge: fc, changes: changes[fc.id] ?? [], pair, timezone: ctx.timezone, currency: next.amountCurrency }));
}
