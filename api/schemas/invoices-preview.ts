// POST /invoices/preview (Lago's path). The body is bare (no envelope), like Lago's InvoicePreviewInput, so
// its issues are reported with their full paths (`usage[0].units`, `billing_period.to_datetime`).
//
// Plan: `plan_code` (a stored plan) XOR `plan` (an inline plan in POST /plans' shape, validated by the billing
// engine + PlanCreateBody in the service, errors under `plan.`). In real-usage mode the subscription's own
// plan is the default.
// Usage: `usage` (explicit totals) XOR real usage (`customer.external_id` + `subscription.external_id` —
// or Lago's `subscriptions.external_ids` with exactly one id — + `billing_period`).
import { z } from 'zod';
import { toDecimalString } from '../ingest/decimal';
import { currencyCode, isoDateTime, isValidTimezone, parseIsoInstant } from './common';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const UsageTotalInput = z.object({
  billable_metric_code: z.string().min(1),
  /** Decimal string or JSON number; never a float in the pipeline (normalized to an exact decimal string). */
  units: z
    .union([z.string(), z.number()], { error: (iss) => (iss.input === undefined ? 'value_is_mandatory' : 'invalid_decimal') })
    .refine((v) => toDecimalString(v) !== null, 'invalid_decimal'),
  events_count: z.number().int().min(0).refine((n) => Number.isSafeInteger(n), 'value_is_out_of_range').optional(),
  /** Event properties that select the charge filter (`{model: "gpt-4o"}`), or a charge filter's `values` verbatim. */
  filters: z.record(z.string(), z.union([scalar, z.array(z.string()).min(1)])).optional(),
  /** Pricing group values (`{region: "eu"}`); keys must be pricing_group_keys of the charge. */
  grouped_by: z.record(z.string(), scalar).optional(),
});

const PeriodInput = z.object({ from_datetime: isoDateTime, to_datetime: isoDateTime });

const BillingPeriodInput = z.object({
  from_datetime: isoDateTime.optional(),
  to_datetime: isoDateTime.optional(),
  /** 0 = the subscription's first billing period (its own schedule), 1 = the next one, ... */
  index: z.number().int().min(0).max(1000).optional(),
});

export const InvoicePreviewBody = z
  .object({
    plan_code: z.string().min(1).optional(),
    plan: z.record(z.string(), z.unknown()).optional(),
    usage: z.array(UsageTotalInput).max(1000).optional(),
    customer: z
      .object({
        external_id: z.string().min(1).optional(),
        timezone: z.string().refine((tz) => isValidTimezone(tz), 'invalid_timezone').nullable().optional(),
      })
      .catchall(z.unknown())
      .optional(),
    subscription: z.object({ external_id: z.string().min(1) }).optional(),
    /** Lago's field; exactly one subscription can be previewed on real usage. */
    subscriptions: z
      .object({
        external_ids: z.array(z.string().min(1)).length(1),
        // Lago's upgrade / termination previews change what is billed: refused rather than silently ignored.
        plan_code: z.undefined({ error: 'not_supported' }).optional(),
        terminated_at: z.undefined({ error: 'not_supported' }).optional(),
      })
      .optional(),
    billing_period: BillingPeriodInput.optional(),
    period: PeriodInput.optional(),
    currency: currencyCode.optional(),
    timezone: z.string().refine((tz) => isValidTimezone(tz), 'invalid_timezone').optional(),
    /** Totals mode: the hypothetical subscription start (trial, calendar clipping); default = period start. */
    subscription_at: isoDateTime.optional(),
    billing_time: z.enum(['calendar', 'anniversary']).optional(),
    /** Not implemented: refused rather than silently ignored. */
    coupons: z.array(z.unknown()).max(0, 'not_supported').optional(),
  })
  .superRefine((b, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (b.plan_code !== undefined && b.plan !== undefined) issue(['plan'], 'mutually_exclusive_with_plan_code');
    if (b.subscription !== undefined && b.subscriptions !== undefined) issue(['subscriptions'], 'mutually_exclusive_with_subscription');
    const realMode = b.subscription !== undefined || b.subscriptions !== undefined || b.billing_period !== undefined;
    if (realMode) {
      if (b.usage !== undefined) issue(['usage'], 'mutually_exclusive_with_billing_period');
      if (b.period !== undefined) issue(['period'], 'mutually_exclusive_with_billing_period');
      if (b.subscription === undefined && b.subscriptions === undefined) issue(['subscription', 'external_id'], 'value_is_mandatory');
      if (b.customer?.external_id === undefined) issue(['customer', 'external_id'], 'value_is_mandatory');
      if (b.billing_period === undefined) issue(['billing_period'], 'value_is_mandatory');
      if (b.subscription_at !== undefined) issue(['subscription_at'], 'not_allowed_with_billing_period');
      if (b.billing_time !== undefined) issue(['billing_time'], 'not_allowed_with_billing_period');
    } else if (b.plan_code === undefined && b.plan === undefined) {
      issue(['plan_code'], 'value_is_mandatory');
    }
    const bp = b.billing_period;
    if (bp) {
      const dates = bp.from_datetime !== undefined || bp.to_datetime !== undefined;
      if (bp.index !== undefined && dates) issue(['billing_period', 'index'], 'mutually_exclusive_with_datetimes');
      else if (bp.index === undefined) {
        if (bp.from_datetime === undefined) issue(['billing_period', 'from_datetime'], 'value_is_mandatory');
        if (bp.to_datetime === undefined) issue(['billing_period', 'to_datetime'], 'value_is_mandatory');
      }
    }
    for (const [key, p] of [['period', b.period], ['billing_period', bp]] as const) {
      if (p?.from_datetime === undefined || p.to_datetime === undefined) continue;
      const from = parseIsoInstant(p.from_datetime);
      const to = parseIsoInstant(p.to_datetime);
      if (from !== null && to !== null && Date.parse(to) <= Date.parse(from)) issue([key, 'to_datetime'], 'must_be_after_from_datetime');
    }
  });

export type InvoicePreviewInput = z.output<typeof InvoicePreviewBody>;
export type UsageTotal = z.output<typeof UsageTotalInput>;
