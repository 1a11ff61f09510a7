// The usage of a subscription's open billing period, priced: the one computation behind GET current_usage
// (api/services/current-usage.ts) and the usage thresholds and alerts (activities/thresholds.ts), which must
// show and act on the same amounts. Lives outside api/ and activities/ so both may import it; imports only
// billing/ and db/ (activities may not import api/).
//
// Every charge is priced in arrears, pay-in-advance ones included (on the period's total usage, which equals
// the sum of their per-event fees by construction of billing/rateInAdvanceEvent), from the rollups by default
// (db/repositories/rollups.ts rollupUsage: rollups for count/sum/max, raw events otherwise), by
// billing/buildInvoice (kind 'preview', no subscription fee, so no trial or subscriptionAt is involved).
import type { Knex } from 'knex';
import type { ChargeUsage } from '../billing/aggregation';
import { buildInvoice, type Fee } from '../billing/invoice';
import type { Charge, Period, Plan } from '../billing/types';
import { rollupUsage } from '../db/repositories/rollups';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';

/** Where usage comes from (rollups by default; benches compare with a raw-event reader). */
export type UsageReader = (db: Knex, ctx: SubscriptionBillingContext, plan: Plan, charges: Charge[], period: Period) => Promise<ChargeUsage[]>;

export const rollupUsageReader: UsageReader = (db, ctx, _plan, charges, period) =>
  rollupUsage(db, ctx.organizationId, ctx.subscriptionId, charges, period);

export interface PricedOpenPeriod {
  /** The plan's charges as priced (pay-in-advance ones turned in arrears). */
  charges: Charge[];
  usage: ChargeUsage[];
  /** The draft's `charge` lines (rounded once each; amounts are their integer sums). */
  chargeFees: Fee[];
}

/** Usage of `plan.charges` over `period` (of `fullPeriod`), priced. */
export async function priceOpenPeriodUsage(
  db: Knex,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  period: Period,
  fullPeriod: Period,
  readUsage: UsageReader = rollupUsageReader,
): Promise<PricedOpenPeriod> {
  const charges = plan.charges.map((c) => (c.payInAdvance ? { ...c, payInAdvance: false } : c));
  const pricedPlan: Plan = { ...plan, charges };
  const usage = charges.length > 0 ? await readUsage(db, ctx, pricedPlan, charges, period) : [];
  const draft = buildInvoice({
    plan: pricedPlan,
    kind: 'preview',
    currency: plan.amountCurrency,
    timezone: ctx.timezone,
    period,
    fullPeriod,
    chargeSubscriptionFee: false,
    usage,
  });
  return { charges, usage, chargeFees: draft.fees.filter((f) => f.kind === 'charge') };
}
