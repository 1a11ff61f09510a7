// Request bodies and queries of the ops13d operations (issue 13): wallet alerts, GET /analytics/usage, POST
// /billable_metrics/evaluate_expression (Lago's WalletAlertCreateInput / WalletAlertBatchCreateInput /
// WalletAlertUpdateInput, findAllUsages' query, BillableMetricEvaluateExpressionInput).
import { z } from 'zod';
import { WALLET_ALERT_TYPES } from '../../billing/wallet-alerts';
import { currencyCode } from './common';

const DECIMAL_RE = /^[0-9]+(\.[0-9]+)?$/;
const ThresholdInput = z.object({
  code: z.string().max(255).nullable().optional(),
  value: z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().max(40).regex(DECIMAL_RE, 'value_is_invalid')]),
  recurring: z.boolean().optional().default(false),
});

const WalletAlertInput = z.object({
  alert_type: z.enum(WALLET_ALERT_TYPES as unknown as [string, ...string[]]),
  code: z.string().min(1).max(255),
  name: z.string().max(255).nullable().optional(),
  thresholds: z.array(ThresholdInput).min(1).max(21),
});

/** One alert (`{alert}`) or several at once (`{alerts: [...]}`, all or none). */
export const WalletAlertCreateBody = z.union([z.object({ alert: WalletAlertInput }), z.object({ alerts: z.array(WalletAlertInput).min(1).max(4) })]);

export const WalletAlertUpdateBody = z.object({
  alert: z.object({
    code: z.string().min(1).max(255).optional(),
    name: z.string().max(255).nullable().optional(),
    thresholds: z.array(ThresholdInput).min(1).max(21).optional(),
  }),
});

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'invalid_date').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'invalid_date');

export const UsageAnalyticsQuery = z.object({
  time_granularity: z.enum(['daily', 'weekly', 'monthly']).optional().default('monthly'),
  currency: currencyCode.optional(),
  from_date: isoDate.optional(),
  to_date: isoDate.optional(),
  customer_type: z.enum(['individual', 'company']).optional(),
  external_customer_id: z.string().min(1).max(255).optional(),
  customer_country: z.string().regex(/^[A-Z]{2}$/, 'not_a_valid_country_code').optional(),
  external_subscription_id: z.string().min(1).max(255).optional(),
  is_billable_metric_recurring: z.enum(['true', 'false']).optional(),
  plan_code: z.string().min(1).max(255).optional(),
  billable_metric_code: z.string().min(1).max(255).optional(),
});

export const EvaluateExpressionBody = z.object({
  expression: z.string().min(1).max(2_000),
  event: z.object({
    code: z.string().min(1).max(255),
    timestamp: z.union([z.number().int(), z.string().max(64)]).optional(),
    properties: z.record(z.string(), z.union([z.string().max(1_000), z.number().finite()])),
  }),
});
