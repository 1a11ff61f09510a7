import { z } from 'zod';
import { isoDateTime, paginationQuery } from './common';

export const SubscriptionCreateBody = z.object({
  subscription: z.object({
    external_customer_id: z.string().min(1),
    plan_code: z.string().min(1),
    external_id: z.string().min(1).max(255),
    name: z.string().nullable().optional(),
    subscription_at: isoDateTime.nullable().optional(),
    billing_time: z.enum(['calendar', 'anniversary']).optional().default('calendar'),
    /** Meterline sandbox (README "Test clocks"): the subscription lives on this test clock's time. */
    test_clock_id: z.string().max(64).nullable().optional(),
    // Not implemented (they change what is billed): refused rather than silently ignored.
    ending_at: z.null({ error: 'not_supported' }).optional(),
    plan_overrides: z.null({ error: 'not_supported' }).optional(),
  }),
});

export type SubscriptionCreateInput = z.output<typeof SubscriptionCreateBody>['subscription'];

/** GET /subscriptions filters; `status` / `status[]` (default active) is read by the route. */
export const SubscriptionListQuery = paginationQuery.extend({
  external_customer_id: z.string().optional(),
  plan_code: z.string().optional(),
});
