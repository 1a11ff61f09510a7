// Lago's fee estimates (issue 13; pricing in api/services/fee-estimates.ts, nothing stored):
//   POST /events/estimate_fees               {event}  → {fees: [FeeObject]}          (one per pay-in-advance charge)
//   POST /events/estimate_instant_fees       {event}  → {fees: [FeeEstimateObject]}
//   POST /events/batch_estimate_instant_fees {events} → {fees: [...]}                (each event priced on its own
//        against the stored events, as if it alone arrived next; errors name events[i])
// Precise amounts are decimal strings (the house rule outside billing/), where Lago's FeeEstimateObject types
// numbers. An event `timestamp` is accepted and ignored: the estimate is for an event arriving now.
import { Router } from 'express';
import { currencyExponent } from '../../billing/currency';
import { addDecimal, shiftDecimal } from '../../billing/decimal-string';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { parseBody } from '../schemas/common';
import { BatchEstimateFeesBody, EstimateFeesBody, type EstimateEventObject } from '../schemas/fee-estimates';
import { estimateEventFees, type EstimatedFee, type HypotheticalEvent } from '../services/fee-estimates';
import type { z } from 'zod';

function hypothetical(e: z.output<typeof EstimateEventObject>): HypotheticalEvent {
  return { code: e.code, externalSubscriptionId: e.external_subscription_id, properties: e.properties ?? {}, transactionId: e.transaction_id ?? null };
}

/** An unsaved fee, with the fields of both Lago's FeeObject and FeeEstimateObject. */
export function serializeEstimatedFee(e: EstimatedFee) {
  const f = e.fee;
  const exp = currencyExponent(f.currency);
  const taxesPrecise = e.taxes ? shiftDecimal(e.taxes.taxesPreciseAmountCents, -exp) : '0';
  const taxesCents = e.taxes?.taxesAmountCents ?? 0;
  return {
    lago_id: null,
    lago_charge_id: f.chargeId,
    lago_charge_filter_id: null,
    lago_invoice_id: null,
    lago_true_up_fee_id: null,
    lago_true_up_parent_fee_id: null,
    lago_subscription_id: e.subscriptionId,
    lago_customer_id: e.customerId,
    external_customer_id: e.externalCustomerId,
    external_subscription_id: e.externalSubscriptionId,
    item: {
      type: 'charge',
      code: f.metricCode,
      name: e.metricName,
      invoice_display_name: f.displayName,
      filters: e.filterValues,
      filter_invoice_display_name: e.filterDisplayName,
      lago_item_id: e.lagoItemId,
      item_type: 'BillableMetric',
      grouped_by: f.groupedBy,
    },
    amount_cents: f.amountCents,
    precise_amount: f.preciseAmount,
    precise_total_amount: addDecimal(f.preciseAmount, taxesPrecise),
    amount_currency: f.currency,
    taxes_amount_cents: taxesCents,
    taxes_precise_amount: taxesPrecise,
    taxes_rate: e.taxes ? Number(e.taxes.taxesRate) : 0, // a percentage, as on every fee (api/serializers/invoice.ts)
    total_amount_cents: f.amountCents + taxesCents,
    total_amount_currency: f.currency,
    units: f.units,
    total_aggregated_units: f.units,
    precise_unit_amount: f.unitAmount,
    precise_coupons_amount_cents: '0',
    sub_total_excluding_taxes_amount_cents: f.amountCents,
    sub_total_excluding_taxes_precise_amount_cents: shiftDecimal(f.preciseAmount, exp),
    events_count: 1,
    pay_in_advance: true,
    invoiceable: e.invoiceable,
    from_date: e.period.start,
    to_date: e.period.end,
    payment_status: 'pending',
    created_at: null,
    succeeded_at: null,
    failed_at: null,
    refunded_at: null,
    event_transaction_id: e.eventTransactionId,
  };
}

export function feeEstimateRoutes(ctx: RouteContext): Router {
  const r = Router();

  for (const path of ['/events/estimate_fees', '/events/estimate_instant_fees']) {
    r.post(path, async (req, res) => {
      const organizationId = orgId(res);
      const { event } = parseBody(EstimateFeesBody, req.body);
      const fees = await estimateEventFees(ctx.db, organizationId, hypothetical(event), new Date());
      res.json({ fees: fees.map(serializeEstimatedFee) });
    });
  }

  r.post('/events/batch_estimate_instant_fees', async (req, res) => {
    const organizationId = orgId(res);
    const { events } = parseBody(BatchEstimateFeesBody, req.body);
    const out: EstimatedFee[] = [];
    for (const [i, item] of events.entries()) {
      const e = 'event' in item ? item.event : item;
      out.push(...(await estimateEventFees(ctx.db, organizationId, hypothetical(e), new Date(), `events.${i}.code`)));
    }
    res.json({ fees: out.map(serializeEstimatedFee) });
  });

  return r;
}
