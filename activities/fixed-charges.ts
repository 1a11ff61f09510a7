// Fixed charges on a subscription's invoices (fixed13, issues 11 + 13): which fixed charges an invoice of `kind` for
// `period` bills, fed from Postgres for billing/ratePeriod (the one rating of create, refresh, finalize and the
// late-event re-rating; fixed-charge fees are not usage, so they never produce adjustments).
// - in arrears: on the period-end (`subscription`) and `termination` invoices, over their (non-empty) period;
// - pay in advance: on the `subscription` invoice at a boundary, over the period that BEGINS at its end: the start
//   invoice (empty period at subscription_at; activities/advance-billing.ts issues one when the plan bills anything
//   in advance, fixed charges included) carries the first period's, each period-end invoice the next one's. Not on
//   a termination invoice, not at a plan change's boundary (the new plan's are billed there by
//   activities/fixed-charges-at-change.ts), not on progressive-billing invoices. The period's advance fees billed
//   earlier (`paidEarlierCents`) count toward its minimum commitment (billing/fixed-charges.ts).
import type { Knex } from 'knex';
import { isEmptyPeriod } from '../billing/advance-billing';
import type { FixedChargesToRate } from '../billing/fixed-charges';
import type { InvoiceKind } from '../billing/invoice';
import { periodContaining, type PeriodPair } from '../billing/period';
import type { Period, Plan } from '../billing/types';
import { advanceFixedChargeCentsBilledFor, fixedChargesForBilling, unitsChangesOf } from '../db/repositories/fixed-charges';
import { planChangeEffectiveAt } from '../db/repositories/plan-changes';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { scheduleOf } from './advance-boundary';
import { planIdOfPeriod } from './plan-history';

type Db = Knex | Knex.Transaction;

/** The fixed charges of the invoice's plan and the periods this invoice bills them for; undefined when it has none. */
export async function fixedChargesOfInvoice(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  kind: InvoiceKind,
  period: Period,
  fullPeriod: Period,
): Promise<FixedChargesToRate | undefined> {
  if (kind === 'progressive_billing') return undefined;
  const charges = await fixedChargesForBilling(db, ctx.organizationId, await planIdOfPeriod(db, ctx, period));
  if (charges.length === 0) return undefined;
  const arrears: PeriodPair | null = isEmptyPeriod(period) ? null : { period, fullPeriod };
  let advance: PeriodPair | null = null;
  if ((kind === 'subscription' || kind === 'preview') && charges.some((c) => c.payInAdvance)) {
    const change = isEmptyPeriod(period) ? null : await planChangeEffectiveAt(db, ctx.organizationId, ctx.subscriptionId, period.end);
    if (!change || change.toPlanId === change.fromPlanId) advance = periodContaining(await scheduleOf(db, ctx, plan), period.end);
  }
  const changes = await unitsChangesOf(db, ctx.organizationId, ctx.subscriptionId, charges.map((c) => c.id));
  // Minimum commitment (Lago): the advance fixed-charge fees of this period, billed on an earlier invoice, count.
  const advanceIds = charges.filter((c) => c.payInAdvance).map((c) => c.id);
  const paidEarlierCents = arrears && advanceIds.length > 0 && plan.minimumCommitmentAmountCents > 0
    ? await advanceFixedChargeCentsBilledFor(db, ctx.organizationId, ctx.subscriptionId, advanceIds, period.start)
    : 0;
  return { charges, changes, arrears, advance, paidEarlierCents };
}

/** The plan bills fixed charges in advance: its first period needs a start invoice even when the plan fee is in arrears. */
export async function hasAdvanceFixedCharges(db: Db, organizationId: string, planId: string): Promise<boolean> {
  return (await fixedChargesForBilling(db, organizationId, planId)).some((c) => c.payInAdvance);
}
