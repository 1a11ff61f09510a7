import { Router } from 'express';
import { z } from 'zod';
import { currencyExponent } from '../../billing/currency';
import { getCustomersByIds, type CustomerRecord } from '../../db/repositories/customers';
import { getInvoice, listInvoices, type FeeRecord, type InvoiceRecord } from '../../db/repositories/invoices';
import { getSubscriptionsByIds, type SubscriptionRecord } from '../../db/repositories/subscriptions';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { shiftDecimal } from '../ingest/decimal';
import { iso, paginationMeta, parseBody } from '../schemas/common';
import { serializeCustomer } from './customers';
import { serializeSubscription } from './subscriptions';

const InvoiceListQuery = z.object({
  external_customer_id: z.string().optional(),
  external_subscription_id: z.string().optional(),
  status: z.enum(['draft', 'finalized']).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});

function minorUnits(majorDecimal: string, currency: string): string {
  try {
    return shiftDecimal(majorDecimal, currencyExponent(currency));
  } catch {
    return majorDecimal;
  }
}

function feeItem(f: FeeRecord, inv: InvoiceRecord, sub: SubscriptionRecord | undefined, metricIdByCharge: Map<string, string>) {
  const base = { name: f.displayName, invoice_display_name: f.displayName };
  switch (f.feeType) {
    case 'charge':
    case 'charge_minimum':
      return {
        ...base,
        type: 'charge',
        code: f.metricCode ?? '',
        lago_item_id: (f.chargeId && metricIdByCharge.get(f.chargeId)) ?? inv.subscriptionId,
        item_type: 'BillableMetric',
        filters: f.filterValues,
        filter_invoice_display_name: f.filterIndex !== null ? f.displayName : null,
        grouped_by: f.groupedBy ?? {},
      };
    // Late usage of an earlier, finalized period (billing/invoice.ts adjustmentFees). Lago has no such item type,
    // so it keeps the type of the line it corrects (existing Lago clients parse it); the name says
    // "Adjustment: ... (late events)" and the fee's `adjustment` object names the original invoice and period.
    case 'adjustment':
      if (f.adjustsFeeType === 'minimum_commitment') {
        return { ...base, type: 'commitment', code: 'minimum_commitment', lago_item_id: inv.subscriptionId, item_type: 'Subscription' };
      }
      return {
        ...base,
        type: 'charge',
        code: f.metricCode ?? '',
        lago_item_id: (f.chargeId && metricIdByCharge.get(f.chargeId)) ?? inv.subscriptionId,
        item_type: 'BillableMetric',
        filters: f.filterValues,
        filter_invoice_display_name: null,
        grouped_by: f.groupedBy ?? {},
      };
    case 'minimum_commitment':
      return { ...base, type: 'commitment', code: 'minimum_commitment', lago_item_id: inv.subscriptionId, item_type: 'Subscription' };
    case 'progressive_billing_credit':
      return { ...base, type: 'credit', code: 'progressive_billing_credit', lago_item_id: inv.subscriptionId, item_type: 'Subscription' };
    default:
      return { ...base, type: 'subscription', code: sub?.planCode ?? 'subscription', lago_item_id: inv.subscriptionId, item_type: 'Subscription' };
  }
}

function serializeFee(f: FeeRecord, inv: InvoiceRecord, sub: SubscriptionRecord | undefined, metricIdByCharge: Map<string, string>) {
  return {
    lago_id: f.id,
    lago_charge_id: f.chargeId,
    lago_invoice_id: inv.id,
    lago_subscription_id: inv.subscriptionId,
    lago_customer_id: inv.customerId,
    external_customer_id: inv.externalCustomerId,
    external_subscription_id: inv.externalSubscriptionId,
    item: feeItem(f, inv, sub, metricIdByCharge),
    amount_cents: f.amountCents,
    precise_amount: f.preciseAmount,
    precise_total_amount: f.preciseAmount,
    amount_currency: f.currency,
    // Taxes are computed per invoice (invoice.taxes_amount_cents); fee-level tax lines are not stored yet.
    taxes_amount_cents: 0,
    taxes_precise_amount: '0',
    taxes_rate: 0,
    total_amount_cents: f.amountCents,
    total_amount_currency: f.currency,
    units: f.units,
    total_aggregated_units: f.units,
    precise_unit_amount: f.unitAmount,
    sub_total_excluding_taxes_amount_cents: f.amountCents,
    sub_total_excluding_taxes_precise_amount_cents: minorUnits(f.preciseAmount, f.currency),
    events_count: f.eventsCount,
    pay_in_advance: false,
    invoiceable: true,
    from_date: f.fromDatetime,
    to_date: f.toDatetime,
    payment_status: inv.paymentStatus === 'succeeded' || inv.paymentStatus === 'failed' ? inv.paymentStatus : 'pending',
    created_at: inv.createdAt,
    succeeded_at: null,
    failed_at: null,
    refunded_at: null,
    event_transaction_id: null,
    self_billed: false,
    // Meterline extension: set on adjustment fees only (late events of an already finalized period).
    adjustment:
      f.feeType === 'adjustment'
        ? {
            lago_adjusted_invoice_id: f.adjustsInvoiceId,
            adjusted_fee_type: f.adjustsFeeType,
            from_datetime: f.adjustsPeriodStart,
            to_datetime: f.adjustsPeriodEnd,
            reason: 'late_events',
          }
        : null,
  };
}

function serializeInvoice(
  inv: InvoiceRecord,
  customer: CustomerRecord | undefined,
  subscription: SubscriptionRecord | undefined,
  extended: { metricIdByCharge: Map<string, string> } | null,
  defaultTimezone: string,
) {
  const subTotalIncludingTaxes = inv.feesAmountCents + inv.taxesAmountCents;
  const body: Record<string, unknown> = {
    lago_id: inv.id,
    billing_entity_code: null,
    number: inv.number ?? `DRAFT-${inv.id.slice(0, 8).toUpperCase()}`,
    issuing_date: inv.issuingDate ?? inv.periodEnd.slice(0, 10),
    invoice_type: inv.invoiceType === 'progressive_billing' ? 'progressive_billing' : 'subscription',
    status: inv.status,
    payment_status: inv.paymentStatus,
    currency: inv.currency,
    fees_amount_cents: inv.feesAmountCents,
    coupons_amount_cents: 0,
    credit_notes_amount_cents: 0,
    sub_total_excluding_taxes_amount_cents: inv.feesAmountCents,
    taxes_amount_cents: inv.taxesAmountCents,
    sub_total_including_taxes_amount_cents: subTotalIncludingTaxes,
    prepaid_credit_amount_cents: 0,
    // What earlier progressive-billing invoices of the period already billed (the credit line, as a positive amount).
    progressive_billing_credit_amount_cents: -inv.fees.filter((f) => f.feeType === 'progressive_billing_credit').reduce((a, f) => a + f.amountCents, 0),
    total_amount_cents: inv.totalAmountCents,
    version_number: 4,
    self_billed: false,
    created_at: iso(inv.createdAt),
    updated_at: iso(inv.updatedAt),
    applied_taxes: [],
    metadata: [],
  };
  if (customer) body.customer = serializeCustomer(customer, defaultTimezone);
  if (extended) {
    body.subscriptions = subscription ? [serializeSubscription(subscription, defaultTimezone)] : [];
    body.fees = inv.fees.map((f) => serializeFee(f, inv, subscription, extended.metricIdByCharge));
    body.credits = [];
  }
  return body;
}

export function invoiceRoutes(ctx: RouteContext): Router {
  const r = Router();
  const tz = (res: { locals: Record<string, any> }) => (res.locals.organization?.defaultTimezone as string | undefined) ?? 'UTC';

  async function metricIdsByCharge(organizationId: string, invoices: InvoiceRecord[]): Promise<Map<string, string>> {
    const chargeIds = [...new Set(invoices.flatMap((i) => i.fees.map((f) => f.chargeId)).filter((id): id is string => id !== null))];
    if (chargeIds.length === 0) return new Map();
    const rows = await ctx.db('charges').where({ organization_id: organizationId }).whereIn('id', chargeIds).select('id', 'billable_metric_id');
    return new Map(rows.map((c: { id: string; billable_metric_id: string }) => [c.id, c.billable_metric_id]));
  }

  // Lago's list items are InvoiceObject; the fees and subscriptions are included as well (extra fields are
  // allowed by the schema) so a client needs no second call per invoice.
  r.get('/invoices', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(InvoiceListQuery, req.query);
    const { invoices, totalCount } = await listInvoices(ctx.db, organizationId, {
      externalCustomerId: q.external_customer_id,
      externalSubscriptionId: q.external_subscription_id,
      status: q.status,
      page: q.page,
      perPage: q.per_page,
    });
    const [customers, subscriptions, metricIdByCharge] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, invoices.map((i) => i.customerId)),
      getSubscriptionsByIds(ctx.db, organizationId, invoices.map((i) => i.subscriptionId)),
      metricIdsByCharge(organizationId, invoices),
    ]);
    const subById = new Map(subscriptions.map((s) => [s.id, s]));
    res.json({
      invoices: invoices.map((i) => serializeInvoice(i, customers.get(i.customerId), subById.get(i.subscriptionId), { metricIdByCharge }, tz(res))),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  r.get('/invoices/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const inv = await getInvoice(ctx.db, organizationId, req.params.lago_id);
    if (!inv) throw notFound('invoice');
    const [customers, subscriptions, metricIdByCharge] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, [inv.customerId]),
      getSubscriptionsByIds(ctx.db, organizationId, [inv.subscriptionId]),
      metricIdsByCharge(organizationId, [inv]),
    ]);
    res.json({
      invoice: serializeInvoice(inv, customers.get(inv.customerId), subscriptions[0], { metricIdByCharge }, tz(res)),
    });
  });

  return r;
}
