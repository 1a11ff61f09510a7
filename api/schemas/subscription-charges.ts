// Request bodies and queries of the subscription charge routes (api/routes/subscription-charges.ts), after Lago 1.51's
// SubscriptionChargeOverride (ChargeOverridableInput), ChargeFilterCreateInput / ChargeFilterUpdateInput and the
// `subscription_status` query parameter. Charge content is checked by the plan validator (POST /plans's rules).
import { z } from 'zod';
import { paginationQuery, safeCents } from './common';
import { taxCodes } from './taxes';

/** Lago's `subscription_status`: which subscription of the external id is meant (default active). */
export const SubscriptionStatusQuery = z.object({
  subscription_status: z.enum(['pending', 'active', 'terminated', 'canceled']).default('active'),
});

export const SubscriptionChargeListQuery = paginationQuery.extend(SubscriptionStatusQuery.shape);

/** ChargeOverridableInput: what a subscription may change of a charge (not its metric, model or payment timing). */
export const SubscriptionChargeOverrideBody = z.object({
  charge: z.object({
    invoice_display_name: z.string().nullable().optional(),
    min_amount_cents: safeCents.optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    filters: z.array(z.record(z.string(), z.unknown())).optional(),
    tax_codes: taxCodes.optional(),
    // Meterline plans have no pricing units (POST /plans and plan_overrides refuse them too).
    applied_pricing_unit: z.null({ error: 'not_supported' }).optional(),
  }),
});

const filterFields = {
  invoice_display_name: z.string().nullable().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  values: z.record(z.string(), z.array(z.string())).optional(),
  // Lago documents it for plan children; a subscription's override has no children: accepted, reaches nothing.
  cascade_updates: z.boolean().optional(),
};

export const SubscriptionChargeFilterCreateBody = z.object({
  filter: z.object({ ...filterFields, properties: filterFields.properties.unwrap(), values: filterFields.values.unwrap() }),
});

export const SubscriptionChargeFilterUpdateBody = z.object({ filter: z.object(filterFields) });
