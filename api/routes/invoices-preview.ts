// POST /invoices/preview (Lago's path): `{invoice: ...}` in the shape of GET /invoices/:lago_id (Lago's
// InvoiceObjectExtended) with invoice_type "subscription", status "draft" and null ids (nothing is stored:
// lago_id, number, lago_invoice_id, fee lago_id and created_at are null). Computed by
// api/services/invoice-preview.ts; writes nothing (the Idempotency-Key middleware may store the answer, as
// for any POST). Mounted before invoiceRoutes so `preview` is never read as a lago_id.
//
// Fee `lago_charge_id` is the stored charge id for a stored plan and null for an inline plan (its charges
// have no identity). Fees also carry Meterline's `precise_unit_amount` / `precise_amount` (unrounded), and
// `pay_in_advance: true` for pay-in-advance charges priced on the period's total usage.
import { Router } from 'express';
import { currencyExponent } from '../../billing/currency';
import type { Fee } from '../../billing/invoice';
import { instantInZone } from '../../billing/period';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { validationError } from '../errors';
import { shiftDecimal } from '../ingest/decimal';
import { zodIssuesToDetails, lagoErrorMap } from '../schemas/common';
import { InvoicePreviewBody } from '../schemas/invoices-preview';
import { previewInvoice, type InvoicePreview } from '../services/invoice-preview';
import { serializeCustomer } from './customers';
import { serializeSubscription } from './subscriptions';

function feeItem(f: Fee, p: InvoicePreview) {
  const base = { name: f.displayName, invoice_display_name: f.displayName };
  const subscriptionId = p.subscription?.id ?? null;
  switch (f.kind) {
    case 'charge':
    case 'charge_minimum':
      return {
        ...base,
        type: 'charge',
        code: f.metricCode ?? '',
        lago_item_id: (f.chargeId && p.metricIdByCharge.get(f.chargeId)) ?? null,
        item_type: 'BillableMetric',
        filters: f.filterValues,
        filter_invoice_display_name: f.filterIndex !== null ? f.displayName : null,
        grouped_by: f.groupedBy,
      };
    case 'minimum_commitment':
      return { ...base, type: 'commitment', code: 'minimum_commitment', lago_item_id: subscriptionId, item_type: 'Subscription' };
    case 'progressive_billing_credit':
      return { ...base, type: 'credit', code: 'progressive_billing_credit', lago_item_id: subscriptionId, item_type: 'Subscription' };
    default:
      return { ...base, type: 'subscription', code: p.plan.code, lago_item_id: subscriptionId, item_type: 'Subscription' };
  }
}

function serializeFee(f: Fee, p: InvoicePreview) {
  return {
    lago_id: null,
    lago_charge_id: p.storedPlan ? f.chargeId : null,
    lago_invoice_id: null,
    lago_subscription_id: p.subscription?.id ?? null,
    lago_customer_id: p.customer?.id ?? null,
    external_customer_id: p.customer?.externalId ?? null,
    external_subscription_id: p.subscription?.externalId ?? null,
    item: feeItem(f, p),
    amount_cents: f.amountCents,
    precise_amount: f.preciseAmount,
    precise_total_amount: f.preciseAmount,
    amount_currency: f.currency,
    taxes_amount_cents: 0,
    taxes_precise_amount: '0',
    taxes_rate: 0,
    total_amount_cents: f.amountCents,
    total_amount_currency: f.currency,
    units: f.units,
    total_aggregated_units: f.units,
    precise_unit_amount: f.unitAmount,
    sub_total_excluding_taxes_amount_cents: f.amountCents,
    sub_total_excluding_taxes_precise_amount_cents: shiftDecimal(f.preciseAmount, currencyExponent(f.currency)),
    events_count: f.eventsCount,
    pay_in_advance: f.chargeId !== null && p.payInAdvanceChargeIds.has(f.chargeId),
    invoiceable: true,
    from_date: f.fromDatetime,
    to_date: f.toDatetime,
    payment_status: 'pending',
    created_at: null,
    succeeded_at: null,
    failed_at: null,
    refunded_at: null,
    event_transaction_id: null,
    self_billed: false,
  };
}

export function serializePreview(p: InvoicePreview, defaultTimezone: string) {
  const d = p.draft;
  return {
    lago_id: null,
    billing_entity_code: null,
    number: null,
    issuing_date: instantInZone(p.period.end, p.timezone, 'period_end').toISODate(),
    invoice_type: 'subscription',
    status: 'draft',
    payment_status: 'pending',
    currency: d.currency,
    fees_amount_cents: d.feesAmountCents,
    coupons_amount_cents: 0,
    credit_notes_amount_cents: 0,
    sub_total_excluding_taxes_amount_cents: d.feesAmountCents,
    taxes_amount_cents: 0,
    sub_total_including_taxes_amount_cents: d.feesAmountCents,
    prepaid_credit_amount_cents: 0,
    progressive_billing_credit_amount_cents: 0,
    total_amount_cents: d.totalAmountCents,
    version_number: 4,
    self_billed: false,
    created_at: null,
    updated_at: null,
    applied_taxes: [],
    metadata: [],
    customer: p.customer ? serializeCustomer(p.customer, defaultTimezone) : null,
    subscriptions: p.subscription ? [serializeSubscription(p.subscription, defaultTimezone)] : [],
    fees: d.fees.map((f) => serializeFee(f, p)),
    credits: [],
  };
}

export function invoicePreviewRoutes(ctx: RouteContext, opts: { now?: () => string } = {}): Router {
  const r = Router();
  r.post('/invoices/preview', async (req, res) => {
    const organizationId = orgId(res);
    const defaultTimezone = (res.locals.organization?.defaultTimezone as string | undefined) ?? 'UTC';
    // Bare body (no envelope): issues keep their full path.
    const parsed = InvoicePreviewBody.safeParse(req.body ?? {}, { error: lagoErrorMap });
    if (!parsed.success) throw validationError(zodIssuesToDetails(parsed.error.issues, false));
    const preview = await previewInvoice(
      ctx.db,
      { organizationId, defaultTimezone, now: opts.now ? opts.now() : new Date().toISOString() },
      parsed.data,
    );
    res.status(200).json({ invoice: serializePreview(preview, defaultTimezone) });
  });
  return r;
}
