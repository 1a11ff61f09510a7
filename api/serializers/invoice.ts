// Lago's InvoiceObjectExtended (invoice, customer, subscriptions, fees, credits) for GET /invoices,
// GET /invoices/:lago_id (stored invoices) and POST /invoices/preview (computed, nothing stored).
//
// One serializer, `lagoInvoice`, over a neutral input (LagoInvoiceInput); the two adapters below say where each
// value comes from:
// - storedInvoice: an InvoiceRecord with its fees (FeeRecord); a draft without a number shows
//   `DRAFT-<first 8 of its id>`, its issuing date defaults to the period end's date.
// - invoicePreview: an InvoicePreview (api/services/invoice-preview.ts): invoice_type "subscription", status
//   "draft", payment_status "pending", null ids (lago_id, number, lago_invoice_id, fee lago_id, created_at);
//   fee `lago_charge_id` is null for an inline plan's charges (they have no identity); `pay_in_advance` is true
//   for pay-in-advance charges (priced on the period total). Preview fees have no `adjustment` key.
import { currencyExponent } from '../../billing/currency';
import type { Fee } from '../../billing/invoice';
import { instantInZone } from '../../billing/period';
import type { CustomerRecord } from '../../db/repositories/customers';
import type { InvoiceFx } from '../../db/repositories/invoice-fx';
import type { InvoiceErrorDetail } from '../../db/repositories/invoice-error-details';
import type { FeeRecord, InvoiceRecord, StoredFeeTaxes, StoredInvoiceTaxes } from '../../db/repositories/invoices';
import { addDecimal } from '../ingest/decimal';
import { lagoFeeAppliedTaxes, lagoInvoiceAppliedTaxes, lagoTaxDecision } from './taxes';
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';
import { shiftDecimal } from '../ingest/decimal';
import { serializeCustomer } from '../routes/customers';
import { serializeSubscription } from '../routes/subscriptions';
import { iso } from '../schemas/common';
import type { InvoicePreview } from '../services/invoice-preview';

/** Meterline extension on stored adjustment fees: the finalized invoice and period whose late usage they bill. */
export interface LagoFeeAdjustment {
  invoiceId: string | null;
  feeType: string | null;
  periodStart: string | null;
  periodEnd: string | null;
}

/** The lines of a fee, stored or computed (the fields FeeRecord and billing's Fee share). */
type FeeLine = Pick<
  FeeRecord,
  | 'chargeId'
  | 'metricCode'
  | 'displayName'
  | 'filterIndex'
  | 'filterValues'
  | 'groupedBy'
  | 'units'
  | 'eventsCount'
  | 'unitAmount'
  | 'preciseAmount'
  | 'amountCents'
  | 'currency'
  | 'fromDatetime'
  | 'toDatetime'
>;

export interface LagoFeeInput extends FeeLine {
  /** null: not stored (preview). */
  id: string | null;
  feeType: string;
  /** The charge's lago_id; null when the charge has no stored identity. */
  lagoChargeId: string | null;
  payInAdvance: boolean;
  /** null on a stored fee that adjusts nothing; undefined leaves the `adjustment` key out (previews). */
  adjustment?: LagoFeeAdjustment | null;
  /** billing/tax: the fee's taxes; absent = untaxed (previews). */
  taxes?: StoredFeeTaxes;
  /** billing/coupons: the fee's share of the coupons (minor units, decimal string); absent = none. */
  preciseCouponsAmountCents?: string;
  /** Add-on fees: the add-on's lago_id and code. */
  addOn?: { id: string; code: string } | null;
  /** A fee on no invoice (api/serializers/uninvoiced-fee.ts): its own payment status, timestamps and event. */
  uninvoiced?: UninvoicedFeeFacts;
  /** Subscription fees: the code of the plan the fee was billed under (fees.plan_id); absent/null → the invoice's planCode. */
  planCode?: string | null;
}

/** What a fee on no invoice has of its own (an invoiced fee takes these from its invoice). */
export interface UninvoicedFeeFacts {
  paymentStatus: 'pending' | 'succeeded' | 'failed' | 'refunded';
  createdAt: string;
  succeededAt: string | null;
  failedAt: string | null;
  refundedAt: string | null;
  eventTransactionId: string;
}

/** What a fee's serialization reads from its invoice (a fee on no invoice passes its own, with `id` null). */
export type LagoFeeContext = Pick<
  LagoInvoiceInput,
  'id' | 'subscriptionId' | 'customerId' | 'externalCustomerId' | 'externalSubscriptionId' | 'metricIdByCharge' | 'createdAt' | 'paymentStatus' | 'planCode'
>;

export interface LagoInvoiceInput {
  /** null: not stored (preview). */
  id: string | null;
  /** The issuing billing entity; null for a preview (not issued). */
  billingEntityCode: string | null;
  number: string | null;
  issuingDate: string | null;
  invoiceType: string;
  status: string;
  paymentStatus: string;
  currency: string;
  feesAmountCents: number;
  taxesAmountCents: number;
  totalAmountCents: number;
  /** What wallets paid (stored invoices; total_amount_cents is after it). */
  prepaidCreditAmountCents?: number;
  createdAt: string | null;
  updatedAt: string | null;
  customerId: string | null;
  externalCustomerId: string | null;
  subscriptionId: string | null;
  externalSubscriptionId: string | null;
  /** The code of the subscription fee's item. */
  planCode: string;
  customer: CustomerRecord | null;
  subscription: SubscriptionRecord | null;
  /** charge id → billable metric lago_id. */
  metricIdByCharge: Map<string, string>;
  fees: LagoFeeInput[];
  /** FX conversion of a stored invoice (null/undefined: invoiced in the plan's currency). */
  fx?: InvoiceFx | null;
  /** Absolute URL of the stored PDF (undefined: no document yet; the key is then left out, as Lago does). */
  fileUrl?: string;
  /** failed13: Lago's error_details (stored invoices; undefined for previews: the key is left out). */
  errorDetails?: InvoiceErrorDetail[];
  /** billing/tax: applied taxes and the automatic rule's decision; absent = untaxed (previews). */
  taxes?: StoredInvoiceTaxes;
  /** billing/coupons and credit-note balances (activities/credits.ts); absent = 0. */
  couponsAmountCents?: number;
  creditNotesAmountCents?: number;
}

/** Optional facts about a stored invoice that live beside it (FX, document). */
export interface StoredInvoiceExtras {
  fx?: InvoiceFx;
  fileUrl?: string;
  /** add-on id → code, for the items of add-on fees. */
  addOnCodes?: Map<string, string>;
  /** failed13: why a finalization failed (Lago's ErrorDetailObject); [] for an invoice without any. */
  errorDetails?: InvoiceErrorDetail[];
}

/**
 * Meterline extension (Lago has no FX fields on invoices): the price currency the lines were priced in, the
 * rate (1 price_currency = fx_rate currency), its source (ecb | manual) and publication date, and fx_status
 * (converted | waiting_for_rate, with fx_error saying why it waits). All null for an invoice in its plan's currency.
 */
function fxFields(fx: InvoiceFx | null | undefined) {
  return {
    price_currency: fx?.priceCurrency ?? null,
    fx_rate: fx?.rate ?? null,
    fx_rate_source: fx?.source ?? null,
    fx_rate_date: fx?.rateDate ?? null,
    fx_status: fx?.status ?? null,
    fx_error: fx?.error ?? null,
  };
}

function chargeItem(f: LagoFeeInput, inv: LagoFeeContext, filterInvoiceDisplayName: string | null) {
  return {
    name: f.displayName,
    invoice_display_name: f.displayName,
    type: 'charge',
    code: f.metricCode ?? '',
    lago_item_id: (f.chargeId && inv.metricIdByCharge.get(f.chargeId)) ?? inv.subscriptionId,
    item_type: 'BillableMetric',
    filters: f.filterValues,
    filter_invoice_display_name: filterInvoiceDisplayName,
    grouped_by: f.groupedBy ?? {},
  };
}

function subscriptionItem(f: LagoFeeInput, inv: LagoFeeContext, type: string, code: string) {
  return { name: f.displayName, invoice_display_name: f.displayName, type, code, lago_item_id: inv.subscriptionId, item_type: 'Subscription' };
}

function feeItem(f: LagoFeeInput, inv: LagoFeeContext) {
  switch (f.feeType) {
    case 'charge':
    case 'charge_minimum':
      return chargeItem(f, inv, f.filterIndex !== null ? f.displayName : null);
    // Late usage of an earlier, finalized period (billing/invoice.ts adjustmentFees). Lago has no such item type,
    // so it keeps the type of the line it corrects (existing Lago clients parse it); the name says
    // "Adjustment: ... (late events)" and the fee's `adjustment` object names the original invoice and period.
    case 'adjustment':
      if (f.adjustment?.feeType === 'minimum_commitment') return subscriptionItem(f, inv, 'commitment', 'minimum_commitment');
      return chargeItem(f, inv, null);
    case 'minimum_commitment':
      return subscriptionItem(f, inv, 'commitment', 'minimum_commitment');
    case 'progressive_billing_credit':
      return subscriptionItem(f, inv, 'credit', 'progressive_billing_credit');
    // Paid wallet credits (a top-up invoice, Lago's fee of type credit).
    case 'credit':
      return { name: f.displayName, invoice_display_name: f.displayName, type: 'credit', code: 'credit', lago_item_id: null, item_type: 'WalletTransaction' };
    case 'add_on':
      return { name: f.displayName, invoice_display_name: f.displayName, type: 'add_on', code: f.addOn?.code ?? '', lago_item_id: f.addOn?.id ?? null, item_type: 'AddOn' };
    // Lago's fixed charge fee (billing/fixed-charges.ts): code = the fixed charge's (stored in metric_code), the
    // item is the fixed charge (Lago's item_type enum has no FixedCharge: its add-on's type).
    case 'fixed_charge':
      return { name: f.displayName, invoice_display_name: f.displayName, type: 'fixed_charge', code: f.metricCode ?? '', lago_item_id: f.chargeId, item_type: 'AddOn' };
    default:
      // The fee's own plan (a fee billed before an upgrade keeps the old plan's code), else the invoice's.
      return subscriptionItem(f, inv, 'subscription', f.planCode ?? inv.planCode);
  }
}

/** Lago's FeeObject, as on its invoice (`inv`). */
export function lagoFee(f: LagoFeeInput, inv: LagoFeeContext) {
  const body = {
    lago_id: f.id,
    lago_charge_id: f.feeType === 'fixed_charge' ? null : f.lagoChargeId,
    lago_invoice_id: inv.id,
    lago_subscription_id: inv.subscriptionId,
    lago_customer_id: inv.customerId,
    external_customer_id: inv.externalCustomerId,
    external_subscription_id: inv.externalSubscriptionId,
    item: feeItem(f, inv),
    amount_cents: f.amountCents,
    precise_amount: f.preciseAmount,
    precise_total_amount: f.taxes ? addDecimal(f.preciseAmount, shiftDecimal(f.taxes.taxesPreciseAmountCents, -currencyExponent(f.currency))) : f.preciseAmount,
    amount_currency: f.currency,
    taxes_amount_cents: f.taxes?.taxesAmountCents ?? 0,
    taxes_precise_amount: f.taxes ? shiftDecimal(f.taxes.taxesPreciseAmountCents, -currencyExponent(f.currency)) : '0',
    taxes_rate: f.taxes ? Number(f.taxes.taxesRate) : 0, // Lago: a JSON number (a percentage with ≤ 8 significant digits, exact)
    applied_taxes: lagoFeeAppliedTaxes(f.taxes?.appliedTaxes ?? [], f.id, inv.createdAt),
    total_amount_cents: f.amountCents + (f.taxes?.taxesAmountCents ?? 0),
    total_amount_currency: f.currency,
    units: f.units,
    total_aggregated_units: f.units,
    precise_unit_amount: f.unitAmount,
    // Lago: the fee's amount after its coupons, rounded (half-up) to the minor unit.
    sub_total_excluding_taxes_amount_cents: f.amountCents - roundHalfUpCents(f.preciseCouponsAmountCents ?? '0'),
    sub_total_excluding_taxes_precise_amount_cents: shiftDecimal(f.preciseAmount, currencyExponent(f.currency)),
    events_count: f.eventsCount,
    pay_in_advance: f.payInAdvance,
    invoiceable: f.uninvoiced === undefined,
    from_date: f.fromDatetime,
    to_date: f.toDatetime,
    payment_status: f.uninvoiced?.paymentStatus ?? (inv.paymentStatus === 'succeeded' || inv.paymentStatus === 'failed' ? inv.paymentStatus : 'pending'),
    created_at: f.uninvoiced?.createdAt ?? inv.createdAt,
    succeeded_at: f.uninvoiced?.succeededAt ?? null,
    failed_at: f.uninvoiced?.failedAt ?? null,
    refunded_at: f.uninvoiced?.refundedAt ?? null,
    event_transaction_id: f.uninvoiced?.eventTransactionId ?? null,
    self_billed: false,
  };
  if (f.adjustment === undefined) return body;
  const a = f.adjustment;
  return {
    ...body,
    // Meterline extension: set on adjustment fees only (late events of an already finalized period).
    adjustment:
      a === null
        ? null
        : { lago_adjusted_invoice_id: a.invoiceId, adjusted_fee_type: a.feeType, from_datetime: a.periodStart, to_datetime: a.periodEnd, reason: 'late_events' },
  };
}

/** A decimal string of minor units rounded half-up to an integer, by string arithmetic (no float). */
function roundHalfUpCents(precise: string): number {
  const [int, frac = ''] = precise.replace(/^-/, '').split('.');
  const up = frac.length > 0 && frac[0]! >= '5' ? 1 : 0;
  const n = Number(int) + up;
  return precise.startsWith('-') ? -n : n;
}

/** Lago's InvoiceObjectExtended. */
export function lagoInvoice(inv: LagoInvoiceInput, defaultTimezone: string) {
  return {
    lago_id: inv.id,
    billing_entity_code: inv.billingEntityCode,
    number: inv.number,
    issuing_date: inv.issuingDate,
    // A pay-in-advance charge's per-event invoice is stored as `in_advance_charge`; Lago calls it `subscription`.
    invoice_type: inv.invoiceType === 'in_advance_charge' ? 'subscription' : inv.invoiceType,
    status: inv.status,
    payment_status: inv.paymentStatus,
    currency: inv.currency,
    fees_amount_cents: inv.feesAmountCents,
    coupons_amount_cents: inv.couponsAmountCents ?? 0,
    credit_notes_amount_cents: inv.creditNotesAmountCents ?? 0,
    sub_total_excluding_taxes_amount_cents: inv.feesAmountCents - (inv.couponsAmountCents ?? 0),
    taxes_amount_cents: inv.taxesAmountCents,
    sub_total_including_taxes_amount_cents: inv.feesAmountCents - (inv.couponsAmountCents ?? 0) + inv.taxesAmountCents,
    prepaid_credit_amount_cents: inv.prepaidCreditAmountCents ?? 0,
    // What earlier progressive-billing invoices of the period already billed (the credit line, as a positive amount).
    progressive_billing_credit_amount_cents: inv.fees.filter((f) => f.feeType === 'progressive_billing_credit').reduce((a, f) => a - f.amountCents, 0),
    total_amount_cents: inv.totalAmountCents,
    version_number: 4,
    self_billed: false,
    created_at: iso(inv.createdAt),
    updated_at: iso(inv.updatedAt),
    applied_taxes: lagoInvoiceAppliedTaxes(inv.taxes?.appliedTaxes ?? [], inv.id, iso(inv.createdAt)),
    // Meterline extension: which automatic tax rule applied and why (null when tax objects applied).
    tax_decision: lagoTaxDecision(inv.taxes?.taxDecision ?? null),
    metadata: [],
    customer: inv.customer ? serializeCustomer(inv.customer, defaultTimezone) : null,
    subscriptions: inv.subscription ? [serializeSubscription(inv.subscription, defaultTimezone)] : [],
    fees: inv.fees.map((f) => lagoFee(f, inv)),
    credits: [],
    ...fxFields(inv.fx),
    ...(inv.fileUrl !== undefined ? { file_url: inv.fileUrl } : {}),
    ...(inv.errorDetails !== undefined ? { error_details: inv.errorDetails.map((d) => ({ lago_id: d.id, error_code: d.errorCode, details: d.details })) } : {}),
  };
}

/** A stored invoice (GET /invoices, GET /invoices/:lago_id). */
export function storedInvoice(
  inv: InvoiceRecord,
  customer: CustomerRecord | undefined,
  subscription: SubscriptionRecord | undefined,
  metricIdByCharge: Map<string, string>,
  defaultTimezone: string,
  extras: StoredInvoiceExtras = {},
) {
  return lagoInvoice(
    {
      fx: extras.fx ?? null,
      ...(extras.fileUrl !== undefined ? { fileUrl: extras.fileUrl } : {}),
      ...(extras.errorDetails !== undefined ? { errorDetails: extras.errorDetails } : {}),
      id: inv.id,
      billingEntityCode: inv.billingEntityCode,
      number: inv.number ?? `DRAFT-${inv.id.slice(0, 8).toUpperCase()}`,
      issuingDate: inv.issuingDate ?? inv.periodEnd.slice(0, 10),
      invoiceType: inv.invoiceType === 'progressive_billing' || inv.invoiceType === 'one_off' || inv.invoiceType === 'credit' || inv.invoiceType === 'advance_charges' ? inv.invoiceType : 'subscription',
      status: inv.status,
      paymentStatus: inv.paymentStatus,
      currency: inv.currency,
      feesAmountCents: inv.feesAmountCents,
      taxesAmountCents: inv.taxesAmountCents,
      totalAmountCents: inv.totalAmountCents,
      prepaidCreditAmountCents: inv.prepaidCreditAmountCents,
      createdAt: inv.createdAt,
      updatedAt: inv.updatedAt,
      customerId: inv.customerId,
      externalCustomerId: inv.externalCustomerId,
      subscriptionId: inv.subscriptionId,
      externalSubscriptionId: inv.externalSubscriptionId,
      planCode: subscription?.planCode ?? 'subscription',
      customer: customer ?? null,
      subscription: subscription ?? null,
      metricIdByCharge,
      taxes: inv.taxes,
      couponsAmountCents: inv.couponsAmountCents,
      creditNotesAmountCents: inv.creditNotesAmountCents,
      fees: inv.fees.map((f) => ({
        ...f,
        addOn: f.addOnId ? { id: f.addOnId, code: extras.addOnCodes?.get(f.addOnId) ?? '' } : null,
        lagoChargeId: f.chargeId,
        // The fee of a pay-in-advance charge's per-event invoice is a pay-in-advance fee.
        payInAdvance: inv.invoiceType === 'in_advance_charge' && f.feeType === 'charge',
        adjustment:
          f.feeType === 'adjustment'
            ? { invoiceId: f.adjustsInvoiceId, feeType: f.adjustsFeeType, periodStart: f.adjustsPeriodStart, periodEnd: f.adjustsPeriodEnd }
            : null,
      })),
    },
    defaultTimezone,
  );
}

/** A computed, unstored invoice (POST /invoices/preview). */
export function invoicePreview(p: InvoicePreview, defaultTimezone: string) {
  const d = p.draft;
  return lagoInvoice(
    {
      id: null,
      billingEntityCode: null,
      number: null,
      issuingDate: instantInZone(p.period.end, p.timezone, 'period_end').toISODate(),
      invoiceType: 'subscription',
      status: 'draft',
      paymentStatus: 'pending',
      currency: d.currency,
      feesAmountCents: d.feesAmountCents,
      taxesAmountCents: 0,
      totalAmountCents: d.totalAmountCents,
      createdAt: null,
      updatedAt: null,
      customerId: p.customer?.id ?? null,
      externalCustomerId: p.customer?.externalId ?? null,
      subscriptionId: p.subscription?.id ?? null,
      externalSubscriptionId: p.subscription?.externalId ?? null,
      planCode: p.plan.code,
      customer: p.customer,
      subscription: p.subscription,
      metricIdByCharge: p.metricIdByCharge,
      fees: d.fees.map((f: Fee) => ({
        ...f,
        id: null,
        feeType: f.kind,
        lagoChargeId: p.storedPlan ? f.chargeId : null,
        payInAdvance: f.chargeId !== null && p.payInAdvanceChargeIds.has(f.chargeId),
      })),
    },
    defaultTimezone,
  );
}
