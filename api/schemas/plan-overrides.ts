// Lago's PlanOverridesObject (SubscriptionCreateInput / SubscriptionUpdateInput `plan_overrides`), as far as Meterline
// stores plans. Charges name the plan's charge they override by `id`; the rest is merged onto it and validated as a
// whole plan (api/services/plan-overrides.ts).
import { z } from 'zod';
import { currencyCode, safeCents } from './common';
import { MAX_TRIAL_PERIOD_DAYS } from './limits';
import { CHARGE_MODELS } from './plans';
import { taxCodes } from './taxes';

export const PlanOverrideChargeInput = z.object({
  id: z.string().min(1),
  billable_metric_id: z.string().optional(),
  code: z.string().optional(),
  charge_model: z.enum(CHARGE_MODELS).optional(),
  invoice_display_name: z.string().nullable().optional(),
  min_amount_cents: safeCents.optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  filters: z.array(z.record(z.string(), z.unknown())).optional(),
  tax_codes: taxCodes.optional(),
  // Not stored by Meterline's plans at all: refused rather than dropped.
  applied_pricing_unit: z.null({ error: 'not_supported' }).optional(),
});

/** Lago's PlanOverridesObject `fixed_charges[]`: the plan's fixed charge named by `id`, the fields it overrides. */
export const PlanOverrideFixedChargeInput = z.object({
  id: z.string().min(1),
  invoice_display_name: z.string().nullable().optional(),
  units: z.union([z.number(), z.string()]).optional(),
  apply_units_immediately: z.boolean().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  tax_codes: taxCodes.optional(),
});

export const PlanOverridesInput = z.object({
  amount_cents: safeCents.optional(),
  amount_currency: currencyCode.optional(),
  description: z.string().nullable().optional(),
  invoice_display_name: z.string().nullable().optional(),
  name: z.string().min(1).optional(),
  tax_codes: taxCodes.optional(),
  trial_period: z.number().min(0).max(MAX_TRIAL_PERIOD_DAYS).nullable().optional(),
  minimum_commitment: z
    .object({ amount_cents: safeCents, invoice_display_name: z.string().nullable().optional() })
    .nullable()
    .optional(),
  charges: z.array(PlanOverrideChargeInput).optional(),
  usage_thresholds: z
    .array(
      z.object({
        amount_cents: safeCents,
        recurring: z.boolean().optional(),
        threshold_display_name: z.string().nullable().optional(),
      }),
    )
    .optional(),
  // Lago's fixed charge overrides by `id` (fixed11: api/services/fixed-charge-overrides.ts). No metadata.
  fixed_charges: z.array(PlanOverrideFixedChargeInput).optional(),
  metadata: z.null({ error: 'not_supported' }).optional(),
});

export type PlanOverrides = z.output<typeof PlanOverridesInput>;
