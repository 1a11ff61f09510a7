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
  // Meterline plans have no fixed charges (POST /plans refuses them too) and no metadata.
  fixed_charges: z.array(z.unknown()).max(0, 'not_supported').optional(),
  metadata: z.null({ error: 'not_supported' }).optional(),
});

export type PlanOverrides = z.output<typeof PlanOverridesInput>;
