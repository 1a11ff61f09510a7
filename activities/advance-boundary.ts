// The pay-in-advance boundary rule (billing/advance-billing.ts boundaryBilling) fed from Postgres: how
// activities/invoices.ts rateInvoiceDraft rates an invoice of a kind and period (see activities/advance-billing.ts).
import type { Knex } from 'knex';
import { advanceFeeCents, boundaryBilling, isEmptyPeriod } from '../billing/advance-billing';
import type { InvoiceKind } from '../billing/invoice';
import type { PeriodPair, ScheduleInput } from '../billing/period';
import type { Period, Plan } from '../billing/types';
import { changeBoundaryBilling } from '../billing/plan-change-advance';
import { inAdvanceFeesAmountCents, subscriptionBillingTime } from '../db/repositories/pay-in-advance';
import { planChangeEffectiveAt } from '../db/repositories/plan-changes';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';

type Db = Knex | Knex.Transaction;

export async function scheduleOf(db: Db, ctx: SubscriptionBillingContext, plan: Plan): Promise<ScheduleInput> {
  return {
    subscriptionAt: ctx.subscriptionAt,
    interval: plan.interval,
    billingTime: await subscriptionBillingTime(db, ctx.organizationId, ctx.subscriptionId),
    timezone: ctx.timezone,
  };
}

/** How rateInvoiceDraft rates an invoice of `kind` for `period` (the boundary rule, fed from Postgres). */
export interface BoundaryRatingOptions {
  rateUsage: boolean;
  chargeSubscriptionFee: boolean;
  subscriptionFeePeriod?: PeriodPair;
  /** Fees of `period` billed on earlier invoices: its advance fee + its pay-in-advance charge fees. */
  inAdvanceFeesAmountCents: number;
}

export async function boundaryRatingOptions(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  kind: Extract<InvoiceKind, 'subscription' | 'termination' | 'progressive_billing'>,
  period: Period,
  fullPeriod: Period,
): Promise<BoundaryRatingOptions> {
  const hasAdvanceCharges = plan.charges.some((c) => c.payInAdvance);
  if (isEmptyPeriod(period) && !plan.payInAdvance) {
    // An advance plan's start invoice re-rated after the plan became an arrears plan (late-event look-back):
    // it bills nothing new (its fee line is not re-rated by adjustments).
    return { rateUsage: false, chargeSubscriptionFee: false, inAdvanceFeesAmountCents: 0 };
  }
  if (!plan.payInAdvance) {
    // Arrears plans: unchanged (fee with its period, except on progressive-billing invoices).
    return {
      rateUsage: true,
      chargeSubscriptionFee: kind !== 'progressive_billing',
      inAdvanceFeesAmountCents: hasAdvanceCharges ? await inAdvanceFeesAmountCents(db, ctx.organizationId, ctx.subscriptionId, period) : 0,
    };
  }
  const schedule = await scheduleOf(db, ctx, plan);
  // A plan change effective at period.end (billing/plan-change-advance.ts): the period that begins is the new plan's,
  // so the old plan's fee is not billed again (the new plan's first advance fee: activities/plan-change-boundary.ts).
  const change = kind === 'subscription' && !isEmptyPeriod(period) ? await planChangeEffectiveAt(db, ctx.organizationId, ctx.subscriptionId, period.end) : null;
  const b = change && change.toPlanId !== change.fromPlanId
    ? changeBoundaryBilling({ plan, kind: change.kind, usagePeriod: period, usageFullPeriod: fullPeriod, timezone: ctx.timezone })
    : boundaryBilling({ plan, kind, usagePeriod: period, usageFullPeriod: fullPeriod, schedule });
  let earlier = 0;
  if (b.feePaidEarlierFor) earlier += advanceFeeCents(plan, b.feePaidEarlierFor, ctx.timezone, ctx.subscriptionAt);
  if (b.rateUsage && hasAdvanceCharges) earlier += await inAdvanceFeesAmountCents(db, ctx.organizationId, ctx.subscriptionId, period);
  return {
    rateUsage: b.rateUsage,
    chargeSubscriptionFee: b.chargeSubscriptionFee,
    ...(b.subscriptionFeePeriod ? { subscriptionFeePeriod: b.subscriptionFeePeriod } : {}),
    inAdvanceFeesAmountCents: earlier,
  };
}
