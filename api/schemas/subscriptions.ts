import { z } from 'zod';
import { isoDateTime } from './common';

export const SubscriptionCreateBody = z.object({
  subscription: z.object({
    external_customer_id: z.string().min(1),
    plan_code: z.string().min(1),
    external_id: z.string().min(1).max(255),
    name: z.string().nullable().optional(),
    subscription_at: isoDateTime.nullable().optional(),
    billing_time: z.enum(['calendar', 'anniversary']).optional().default('calendar'),
    // Not implemented (they change what is billed): refused rather than silently ignored.
    ending_at: z.null({ error: 'not_supported' }).optional(),
    plan_overrides: z.null({ error: 'not_supported' }).optional(),
  }),
});

export type SubscriptionCreateInput = z.output<typeof SubscriptionCreateBody>['subscription'];

export const SubscriptionListQuery = z.object({
  external_customer_id: z.string().optional(),
  plan_code: z.string().optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});
