// Bodies of Meterline's payment-collection settings (an extension: Lago configures these in its UI):
// PUT /payment_providers/stripe and /dunning_campaigns (Lago's dunning campaign fields: code, name,
// max_attempts, days_between_attempts, thresholds [{currency, amount_cents}], applied_to_organization;
// plus `consequence`, what happens after the last failed attempt).
import { z } from 'zod';
import { isSupportedCurrency } from '../../billing/currency';

const code = z.string().min(1).max(255).regex(/^[\w.-]+$/, 'value_is_invalid');

export const StripeProviderBody = z.object({
  payment_provider: z.object({
    code: code.optional(),
    /** The organization's Stripe secret (or restricted) key; write-only. */
    secret_key: z.string().regex(/^(sk|rk)_(test|live)_[\w]+$/, 'value_is_invalid'),
    /** The signing secret of the Stripe webhook endpoint that points at POST /webhooks/stripe/:organization_id. */
    webhook_secret: z.string().regex(/^whsec_[\w]+$/, 'value_is_invalid').nullable().optional(),
    success_redirect_url: z.url({ protocol: /^https?$/ }).max(1024).nullable().optional(),
  }),
});

const threshold = z.object({
  currency: z.string().refine((c) => isSupportedCurrency(c), 'value_is_invalid'),
  amount_cents: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

const CampaignFields = {
  code,
  name: z.string().min(1).max(255),
  max_attempts: z.number().int().min(1).max(20),
  days_between_attempts: z.number().int().min(1).max(365),
  thresholds: z
    .array(threshold)
    .min(1)
    .max(50)
    .refine((ts) => new Set(ts.map((t) => t.currency)).size === ts.length, 'value_is_duplicated'),
  consequence: z.enum(['mark_uncollectible', 'suspend_subscription', 'terminate_subscription']).optional(),
  applied_to_organization: z.boolean().optional(),
};

export const DunningCampaignCreateBody = z.object({ dunning_campaign: z.object(CampaignFields) });
export const DunningCampaignUpdateBody = z.object({ dunning_campaign: z.object(CampaignFields).partial() });
