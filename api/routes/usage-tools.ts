// GET /analytics/usage (Lago's findAllUsages: usage as invoiced, per period bucket, currency and metric;
// db/repositories/usage-analytics.ts says what it counts) and POST /billable_metrics/evaluate_expression (Lago's
// evaluateBillableMetricExpression: a custom expression evaluated against one sample event, nothing stored;
// billing/expression.ts is the evaluator). Issue 13, ops13d.
import { Router } from 'express';
import { evaluateExpression } from '../../billing/expression';
import { usageAnalytics } from '../../db/repositories/usage-analytics';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { validationError } from '../errors';
import { parseBody } from '../schemas/common';
import { EvaluateExpressionBody, UsageAnalyticsQuery } from '../schemas/ops13d';

/** An event timestamp as Unix seconds: an integer, a numeric string, or an ISO 8601 instant; absent: 0. */
function unixSeconds(ts: number | string | undefined): number {
  if (ts === undefined) return 0;
  if (typeof ts === 'number') return ts;
  if (/^-?\d+$/.test(ts)) return Number(ts);
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) throw validationError({ 'event.timestamp': ['invalid_format'] });
  return Math.floor(ms / 1000);
}

export function usageToolRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/analytics/usage', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(UsageAnalyticsQuery, req.query);
    if (q.from_date && q.to_date && q.from_date > q.to_date) throw validationError({ to_date: ['before_from_date'] });
    const rows = await usageAnalytics(ctx.db, {
      organizationId,
      granularity: q.time_granularity,
      ...(q.currency ? { currency: q.currency } : {}),
      ...(q.from_date ? { fromDate: q.from_date } : {}),
      ...(q.to_date ? { toDate: q.to_date } : {}),
      ...(q.customer_type ? { customerType: q.customer_type } : {}),
      ...(q.external_customer_id ? { externalCustomerId: q.external_customer_id } : {}),
      ...(q.customer_country ? { customerCountry: q.customer_country } : {}),
      ...(q.external_subscription_id ? { externalSubscriptionId: q.external_subscription_id } : {}),
      ...(q.is_billable_metric_recurring ? { metricRecurring: q.is_billable_metric_recurring === 'true' } : {}),
      ...(q.plan_code ? { planCode: q.plan_code } : {}),
      ...(q.billable_metric_code ? { billableMetricCode: q.billable_metric_code } : {}),
    });
    res.json({
      usages: rows.map((x) => ({
        organization_id: organizationId,
        start_of_period_dt: x.startOfPeriod,
        end_of_period_dt: x.endOfPeriod,
        amount_currency: x.currency,
        amount_cents: x.amountCents,
        billable_metric_code: x.billableMetricCode,
        units: x.units,
        is_billable_metric_deleted: x.metricDeleted,
      })),
    });
  });

  r.post('/billable_metrics/evaluate_expression', (req, res) => {
    orgId(res);
    const body = parseBody(EvaluateExpressionBody, req.body);
    const value = evaluateExpression(body.expression, { code: body.event.code, timestamp: unixSeconds(body.event.timestamp), properties: body.event.properties });
    res.json({ expression_result: { value } });
  });

  return r;
}
