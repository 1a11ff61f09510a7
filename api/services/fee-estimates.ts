// Lago's fee estimates for a hypothetical event (issue 13: POST /events/estimate_fees, /events/estimate_instant_fees,
// /events/batch_estimate_instant_fees). Nothing is stored and nothing is signalled.
//
// The fee of the event is priced exactly as the worker would price it on arrival (activities/advance-billing.ts
// billInAdvanceCharges): the open period's events of the metric in arrival order, the hypothetical event appended
// last, through billing/inAdvanceChargeFees (rateInAdvanceEvent: price after − price before, proration of
// recurring prorated charges, unique_count dedup, R1 rounding), for every pay-in-advance charge of the
// subscription's plan on the event's metric; then taxed as its invoice would be (activities/taxes.ts
// withInvoiceTaxes on a one-fee draft). "Now" is the subscription's (its test clock's time when it has one).
// Events already ingested but not yet billed by the worker count as "before" (they are billed first).
// A subscription that is not active: 404 subscription_not_found; a code with no pay-in-advance charge on the plan:
// 422 {code: ['does_not_match_an_instant_charge']}.
import type { Knex } from 'knex';
import { inAdvanceChargeFees, type InAdvanceEventFee } from '../../billing/in-advance-charges';
import type { UsageEvent } from '../../billing/types';
import type { FeeTaxes } from '../../billing/tax/types';
import { invoiceCurrency } from '../../activities/invoices';
import { withInvoiceTaxes } from '../../activities/taxes';
import { eventsInArrivalOrder } from '../../db/repositories/pay-in-advance';
import { loadPlan, metricIdsOfPlanCharges } from '../../db/repositories/plans';
import { getSubscriptionByExternalId } from '../../db/repositories/subscriptions';
import { findActiveSubscriptionBilling } from '../../db/repositories/subscriptions-billing';
import { openPeriodAt } from '../../usage/open-period';
import { notFound, validationError } from '../errors';
import { subscriptionNow } from './subscription-now';

export interface HypotheticalEvent {
  code: string;
  externalSubscriptionId: string;
  properties: UsageEvent['properties'];
  transactionId: string | null;
}

export interface EstimatedFee {
  fee: InAdvanceEventFee;
  taxes: FeeTaxes | null;
  invoiceable: boolean;
  lagoItemId: string;
  metricName: string;
  filterValues: Record<string, string[]> | null;
  filterDisplayName: string | null;
  subscriptionId: string;
  customerId: string;
  externalCustomerId: string;
  externalSubscriptionId: string;
  eventTransactionId: string | null;
  period: { start: string; end: string };
}

/** An id no stored event can have (transaction ids are the client's): the estimate's own event in the list. */
const ESTIMATE_ID = '\u0001meterline-estimate';

/** The fees one hypothetical event would create, one per pay-in-advance charge of its metric. `field` names it in errors. */
export async function estimateEventFees(db: Knex, organizationId: string, event: HypotheticalEvent, realNow: Date, field = 'code'): Promise<EstimatedFee[]> {
  const subscription = await getSubscriptionByExternalId(db, organizationId, event.externalSubscriptionId);
  if (!subscription || subscription.status !== 'active') throw notFound('subscription');
  const found = await findActiveSubscriptionBilling(db, organizationId, subscription.externalCustomerId, subscription.externalId);
  if (!found.subscription) throw notFound('subscription');
  const { context: ctx, subscriptionAt, interval, billingTime } = found.subscription;
  const plan = await loadPlan(db, organizationId, ctx.planId);
  const charges = plan.charges.filter((c) => c.payInAdvance && c.billableMetric.code === event.code);
  if (charges.length === 0) throw validationError({ [field]: ['does_not_match_an_instant_charge'] });
  const now = (await subscriptionNow(db, subscription, realNow)).toISOString();
  const { period, fullPeriod } = openPeriodAt({ subscriptionAt, interval, billingTime, timezone: ctx.timezone }, now);
  const currency = invoiceCurrency(ctx, plan);
  const metricIds = await metricIdsOfPlanCharges(db, organizationId, ctx.planId);
  const stored = (await eventsInArrivalOrder(db, organizationId, ctx.subscriptionId, [event.code], period))[event.code] ?? [];
  const timestamp = Date.parse(now) < Date.parse(period.start) ? period.start : now;
  const hypothetical: UsageEvent = { transactionId: ESTIMATE_ID, timestamp, properties: event.properties };
  const out: EstimatedFee[] = [];
  for (const charge of charges) {
    const fees = inAdvanceChargeFees({ charge, events: [...stored, hypothetical], period, fullPeriod, currency, timezone: ctx.timezone });
    const fee = fees.find((f) => f.transactionId === ESTIMATE_ID);
    if (!fee) continue; // outside the open period (cannot happen: its timestamp is in it)
    const line = {
      kind: 'charge' as const, chargeId: fee.chargeId, metricCode: fee.metricCode, filterIndex: fee.filterIndex, filterValues: null, groupedBy: fee.groupedBy,
      displayName: fee.displayName, units: fee.units, eventsCount: 1, unitAmount: fee.unitAmount, preciseAmount: fee.preciseAmount, amountCents: fee.amountCents,
      currency: fee.currency, fromDatetime: period.start, toDatetime: period.end, prorationRatio: fee.prorationRatio,
    };
    const taxed = await withInvoiceTaxes(db, ctx, plan, { currency, fees: [line], feesAmountCents: line.amountCents, totalAmountCents: line.amountCents }, period);
    const filter = fee.filterIndex === null ? null : charge.filters[fee.filterIndex] ?? null;
    out.push({
      fee: { ...fee, transactionId: event.transactionId ?? '' },
      taxes: taxed.fees[0]?.taxes ?? null,
      invoiceable: charge.invoiceable,
      lagoItemId: metricIds.get(charge.id) ?? charge.id,
      metricName: charge.billableMetric.name,
      filterValues: filter ? filter.values : null,
      filterDisplayName: filter ? filter.invoiceDisplayName ?? null : null,
      subscriptionId: ctx.subscriptionId,
      customerId: ctx.customerId,
      externalCustomerId: ctx.externalCustomerId,
      externalSubscriptionId: ctx.externalSubscriptionId,
      eventTransactionId: event.transactionId,
      period,
    });
  }
  return out;
}
