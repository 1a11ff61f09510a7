// Request schemas of Lago's everyday API (issue 13): updates of billable metrics and plans, list filters of
// customers, events and fees, the fee update. Validated with Lago's codes (api/schemas/common.ts).
import { z } from 'zod';
import { isoDateTime, paginationQuery } from './common';

/** PUT /billable_metrics/:code: Lago's BillableMetricUpdateInput, every field optional (merged with the stored metric). */
export const BillableMetricUpdateBody = z.object({
  billable_metric: z.looseObject({}),
});

/** PUT /plans/:code: Lago's PlanUpdateInput, every field optional (merged with the stored plan). */
export const PlanUpdateBody = z.object({
  plan: z.looseObject({
    charges: z.array(z.looseObject({ id: z.string().optional() })).optional(),
    /** Lago 1.51: whether plan-level edits also reach subscriptions' plan overrides; Meterline has no overrides yet. */
    cascade_updates: z.boolean().optional(),
  }),
});

export const arrayParam = z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)]), z.array(z.string()).optional());

/** GET /customers filters (Lago 1.51's subset that applies to Meterline's customers). */
export const CustomerListQuery = paginationQuery.extend({
  search_term: z.string().optional(),
  'countries[]': arrayParam,
  'currencies[]': arrayParam,
  customer_type: z.enum(['company', 'individual']).optional(),
  billing_entity_codes: arrayParam,
  'billing_entity_codes[]': arrayParam,
});

/** GET /events filters. */
export const EventListQuery = paginationQuery.extend({
  external_subscription_id: z.string().optional(),
  code: z.string().optional(),
  timestamp_from: isoDateTime.optional(),
  timestamp_to: isoDateTime.optional(),
  timestamp_from_started_at: z.enum(['true', 'false']).optional(),
});

export const FEE_TYPES = ['charge', 'add_on', 'subscription', 'credit', 'commitment'] as const;
export const FEE_PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'refunded'] as const;

/** GET /fees filters. */
export const FeeListQuery = paginationQuery.extend({
  external_customer_id: z.string().optional(),
  external_subscription_id: z.string().optional(),
  currency: z.string().optional(),
  fee_type: z.enum(FEE_TYPES).optional(),
  billable_metric_code: z.string().optional(),
  payment_status: z.enum(FEE_PAYMENT_STATUSES).optional(),
  event_transaction_id: z.string().optional(),
  created_at_from: isoDateTime.optional(),
  created_at_to: isoDateTime.optional(),
});

/** PUT /fees/:lago_id: Lago's FeeUpdateInput. */
export const FeeUpdateBody = z.object({
  fee: z.object({ payment_status: z.enum(FEE_PAYMENT_STATUSES) }),
});

/** GET /customers/:external_customer_id/projected_usage. */
export const ProjectedUsageQuery = z.object({
  external_subscription_id: z.string().min(1),
  apply_taxes: z.enum(['true', 'false']).optional(),
});
