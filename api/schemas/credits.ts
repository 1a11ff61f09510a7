// Request bodies of coupons, applied coupons, add-ons, one-off invoices and credit notes (Lago v1 inputs:
// CouponCreateInput, AppliedCouponInput, AddOnCreateInput, InvoiceOneOffCreateInput, CreditNoteCreateInput,
// CreditNoteEstimateInput). Amounts are integer minor units; a percentage rate and units are decimal strings.
import { z } from 'zod';
import { CREDIT_NOTE_REASONS } from '../../billing/credit-notes';
import { currencyCode, isoDateTime, paginationQuery, safeCents } from './common';
import { billingEntityCodesFilter } from './billing-entities';
import { taxCodes, taxRate } from './taxes';

const code = z.string().min(1).max(255);
const positiveCents = safeCents.refine((n) => n > 0, 'value_is_out_of_range');
const FREQUENCIES = ['once', 'recurring', 'forever'] as const;
const units = z.string().regex(/^(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/, 'value_is_invalid');

const CouponFields = {
  name: z.string().min(1).max(255),
  code,
  description: z.string().max(2000).nullable().optional(),
  coupon_type: z.enum(['fixed_amount', 'percentage']),
  amount_cents: positiveCents.nullable().optional(),
  amount_currency: currencyCode.nullable().optional(),
  percentage_rate: taxRate.nullable().optional(),
  reusable: z.boolean().optional(),
  frequency: z.enum(FREQUENCIES),
  frequency_duration: z.number().int().min(1).max(1200).nullable().optional(),
  expiration: z.enum(['no_expiration', 'time_limit']),
  expiration_at: isoDateTime.nullable().optional(),
  applies_to: z
    .object({ plan_codes: z.array(code).max(100).nullable().optional(), billable_metric_codes: z.array(code).max(100).nullable().optional() })
    .nullable()
    .optional(),
};

type CouponInput = { coupon_type?: string; amount_cents?: number | null; amount_currency?: string | null; percentage_rate?: string | null; frequency?: string; frequency_duration?: number | null; expiration?: string; expiration_at?: string | null; applies_to?: { plan_codes?: string[] | null; billable_metric_codes?: string[] | null } | null };

/** The cross-field rules of a coupon (Lago's Coupons::ValidateService). */
function couponRules(c: CouponInput, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (c.coupon_type === 'fixed_amount') {
    if (c.amount_cents == null) issue('amount_cents', 'value_is_mandatory');
    if (c.amount_currency == null) issue('amount_currency', 'value_is_mandatory');
  }
  if (c.coupon_type === 'percentage' && (c.percentage_rate == null || c.percentage_rate === '0')) issue('percentage_rate', 'value_is_mandatory');
  if (c.frequency === 'recurring' && c.frequency_duration == null) issue('frequency_duration', 'value_is_mandatory');
  if (c.expiration === 'time_limit' && !c.expiration_at) issue('expiration_at', 'value_is_mandatory');
  if ((c.applies_to?.plan_codes?.length ?? 0) > 0 && (c.applies_to?.billable_metric_codes?.length ?? 0) > 0) issue('applies_to', 'only_one_limitation_type_per_coupon_allowed');
}

export const CouponCreateBody = z.object({ coupon: z.object(CouponFields).superRefine(couponRules) });
export const CouponUpdateBody = z.object({ coupon: z.object(CouponFields).partial().superRefine(couponRules) });

export const AppliedCouponBody = z.object({
  applied_coupon: z.object({
    external_customer_id: z.string().min(1).max(255),
    coupon_code: code,
    frequency: z.enum(FREQUENCIES).nullable().optional(),
    frequency_duration: z.number().int().min(1).max(1200).nullable().optional(),
    amount_cents: positiveCents.nullable().optional(),
    amount_currency: currencyCode.nullable().optional(),
    percentage_rate: taxRate.nullable().optional(),
  }),
});

export const AppliedCouponListQuery = paginationQuery.extend({
  external_customer_id: z.string().max(255).optional(),
  status: z.enum(['active', 'terminated']).optional(),
});

const AddOnFields = {
  name: z.string().min(1).max(255),
  invoice_display_name: z.string().max(255).nullable().optional(),
  code,
  amount_cents: safeCents,
  amount_currency: currencyCode,
  description: z.string().max(2000).nullable().optional(),
  tax_codes: taxCodes.optional(),
};
export const AddOnCreateBody = z.object({ add_on: z.object(AddOnFields) });
export const AddOnUpdateBody = z.object({ add_on: z.object(AddOnFields).partial() });

export const OneOffInvoiceBody = z.object({
  invoice: z.object({
    external_customer_id: z.string().min(1).max(255),
    currency: currencyCode.optional(),
    fees: z
      .array(
        z.object({
          add_on_code: code,
          invoice_display_name: z.string().max(255).optional(),
          unit_amount_cents: safeCents.nullable().optional(),
          units: units.nullable().optional(),
          description: z.string().max(2000).nullable().optional(),
          from_datetime: isoDateTime.optional(),
          to_datetime: isoDateTime.optional(),
          tax_codes: taxCodes.optional(),
        }),
      )
      .min(1)
      .max(100),
  }),
});

const Items = z.array(z.object({ fee_id: z.string().min(1).max(64), amount_cents: z.number().int() })).min(1).max(500);

export const CreditNoteCreateBody = z.object({
  credit_note: z.object({
    invoice_id: z.string().min(1).max(64),
    reason: z.enum(CREDIT_NOTE_REASONS as unknown as [string, ...string[]]).nullable().optional(),
    description: z.string().max(2000).nullable().optional(),
    credit_amount_cents: safeCents.nullable().optional(),
    refund_amount_cents: safeCents.nullable().optional(),
    offset_amount_cents: safeCents.nullable().optional(),
    items: Items,
  }),
});

export const CreditNoteEstimateBody = z.object({ credit_note: z.object({ invoice_id: z.string().min(1).max(64), items: Items }) });

export const CreditNoteListQuery = paginationQuery.extend({
  external_customer_id: z.string().max(255).optional(),
  invoice_id: z.string().max(64).optional(),
  ...billingEntityCodesFilter,
});
