import { z } from 'zod';
import { isoDateTime, paginationQuery } from './common';
import { PlanOverridesInput } from './plan-overrides';
import { billingEntityCodesFilter } from './billing-entities';

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
    /** When the workflow terminates the subscription (Lago's ending_at). */
    ending_at: isoDateTime.nullable().optional(),
    /**
     * Meterline (migration from another billing system): the first instant Meterline bills. Periods before it were
     * billed elsewhere: no invoice for them; the period containing it is billed from it (prorated). subscription_at
     * stays the subscription's real start (anniversary anchor, trial). See README "Plan changes, trials and migration".
     */
    billing_starts_at: isoDateTime.nullable().optional(),
    /** Lago's plan overrides: a child plan used by this subscription only (api/services/plan-overrides.ts). */
    plan_overrides: PlanOverridesInput.nullable().optional(),
    // Lago's termination options, stored on the subscription and used whenever it ends (DELETE, ending_at, a test
    // clock); a DELETE's query overrides them. Lago 1.51 returns them on the Subscription object.
    on_termination_invoice: z.enum(['generate', 'skip']).optional(),
    on_termination_credit_note: z.enum(['credit', 'refund', 'skip']).optional(),
  }),
});

/** PUT /subscriptions/:external_id (Lago's UpdateSubscriptionInput). */
export const SubscriptionUpdateBody = z.object({
  subscription: z.object({
    name: z.string().nullable().optional(),
    ending_at: isoDateTime.nullable().optional(),
    // A pending subscription's start moves (api/services/pending-start.ts); refused once it has started.
    subscription_at: isoDateTime.optional(),
    /** Lago's plan overrides: creates the subscription's child plan, or edits it (api/services/plan-overrides.ts). */
    plan_overrides: PlanOverridesInput.nullable().optional(),
    // Lago's termination options, stored on the subscription and used whenever it ends (DELETE, ending_at, a test
    // clock); a DELETE's query overrides them. Lago 1.51 returns them on the Subscription object.
    on_termination_invoice: z.enum(['generate', 'skip']).optional(),
    on_termination_credit_note: z.enum(['credit', 'refund', 'skip']).optional(),
  }),
});

export type SubscriptionCreateInput = z.output<typeof SubscriptionCreateBody>['subscription'];

/** GET /subscriptions filters; `status` / `status[]` is read by `subscriptionStatusFilter`. */
export const SubscriptionListQuery = paginationQuery.extend({
  // Lago 1.51: subscriptions of customers of these billing entities.
  ...billingEntityCodesFilter,
  external_customer_id: z.string().optional(),
  plan_code: z.string().optional(),
});

export type SubscriptionListStatus = 'active' | 'pending' | 'terminated';

/** The `status` / `status[]` filter of a subscription list (one value or many); `defaults` when absent. Values
 * Meterline has no subscriptions in (Lago's `canceled`) match nothing. */
export function subscriptionStatusFilter(query: Record<string, unknown>, defaults: SubscriptionListStatus[]): SubscriptionListStatus[] {
  const param = query['status[]'] ?? query.status;
  const values = Array.isArray(param) ? param : param !== undefined ? [param] : defaults;
  return values.map(String).filter((s): s is SubscriptionListStatus => s === 'active' || s === 'pending' || s === 'terminated');
}
