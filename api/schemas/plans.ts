import { z } from 'zod';
import { currencyCode, safeCents } from './common';
import { MAX_TRIAL_PERIOD_DAYS } from './limits';
import { taxCodes } from './taxes';

export const INTERVALS = ['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly'] as const;
export const CHARGE_MODELS = ['standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage', 'dynamic'] as const;

const ChargeFilterInput = z.object({
  /** A stored filter's id (PUT /plans and the nested filter routes keep it); ignored on create. */
  lago_id: z.string().optional(),
  invoice_display_name: z.string().nullable().optional(),
  properties: z.record(z.string(), z.unknown()).default({}),
  values: z.record(z.string(), z.array(z.string())),
});

export const ChargeInput = z
  .object({
    billable_metric_id: z.string().optional(),
    billable_metric_code: z.string().optional(),
    /** Lago's charge code, unique within the plan (default: the billable metric's code). */
    code: z.string().min(1).max(255).optional(),
    charge_model: z.enum(CHARGE_MODELS),
    pay_in_advance: z.boolean().optional().default(false),
    invoiceable: z.boolean().optional().default(true),
    /** Lago: null (paid fees never invoiced) or 'invoice' (grouped at the period end); pay_in_advance + invoiceable false only. */
    regroup_paid_fees: z.enum(['invoice']).nullable().optional().default(null),
    prorated: z.boolean().optional().default(false),
    min_amount_cents: safeCents.optional().default(0),
    invoice_display_name: z.string().nullable().optional(),
    properties: z.record(z.string(), z.unknown()).optional().default({}),
    filters: z.array(ChargeFilterInput).optional().default([]),
    tax_codes: taxCodes.optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.billable_metric_id && !c.billable_metric_code) {
      ctx.addIssue({ code: 'custom', path: ['billable_metric_id'], message: 'value_is_mandatory' });
    }
  });

export const PlanCreateBody = z.object({
  plan: z.object({
    /** Lago's fixed charges: validated item by item by api/routes/fixed-charges.ts validateFixedChargesInput. */
    fixed_charges: z.array(z.unknown()).optional(),
    name: z.string().min(1),
    code: z.string().min(1).max(255),
    description: z.string().nullable().optional(),
    invoice_display_name: z.string().nullable().optional(),
    interval: z.enum(INTERVALS),
    amount_cents: safeCents,
    amount_currency: currencyCode,
    pay_in_advance: z.boolean().optional().default(false),
    trial_period: z.number().min(0).max(MAX_TRIAL_PERIOD_DAYS).nullable().optional(),
    minimum_commitment: z
      .object({ amount_cents: safeCents, invoice_display_name: z.string().nullable().optional() })
      .nullable()
      .optional(),
    charges: z.array(ChargeInput).optional().default([]),
    tax_codes: taxCodes.optional(),
    usage_thresholds: z
      .array(
        z.object({
          amount_cents: safeCents,
          recurring: z.boolean().optional().default(false),
          threshold_display_name: z.string().nullable().optional(),
        }),
      )
      .optional()
      .default([]),
  }),
});

export type PlanCreateInput = z.output<typeof PlanCreateBody>['plan'];
