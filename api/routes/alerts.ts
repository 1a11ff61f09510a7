// Usage alerts of a subscription, Lago's shape (AlertCreateInput / AlertObject of the Lago OpenAPI 1.51):
//   POST /subscriptions/:external_id/alerts            {alert: {alert_type, code, name?, billable_metric_code?,
//                                                       thresholds: [{code?, value, recurring?}]}}  → {alert}
//   GET  /subscriptions/:external_id/alerts            → {alerts, meta}
//   GET  /subscriptions/:external_id/alerts/triggered  → {triggered_alerts, meta} (Meterline extension: the
//        durable trigger records, newest first, each with its threshold, crossed value and webhook_status)
// Supported alert types: current_usage_amount, billable_metric_current_usage_amount,
// billable_metric_current_usage_units (lifetime_usage_amount is refused: 422 value_is_invalid). Amount
// values are minor units (Lago compares them with amount_cents); at most one recurring threshold per alert
// (Lago's rule). The batch form `{alerts: [...]}`, update and delete are not implemented yet.
// After a create the subscription workflow is told (billingRulesChangedSignal) so it watches the new alert
// at once; when that signal cannot be sent the workflow still picks the alert up at the next period.
import { Router } from 'express';
import { createAlert, DuplicateAlertCodeError, listAlerts, listAlertTriggers, type AlertRecord } from '../../db/repositories/alerts';
import { getBillableMetricByCode, type BillableMetricRecord } from '../../db/repositories/billable-metrics';
import { getSubscriptionByExternalId } from '../../db/repositories/subscriptions';
import { billingRulesChangedSignal, subscriptionWorkflowId } from '../../workflows/messages';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { canonicalDecimal } from '../../billing/decimal-string';
import { notFound, validationError } from '../errors';
import { AlertCreateBody } from '../schemas/alerts';
import { paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { decimalAsJsonNumber } from '../serializers/json-number';
import { serializeBillableMetric } from './billable-metrics';

/** The one canonicalizer (billing/decimal-string.ts) for threshold values. */
function canonicalThreshold(v: number | string): string {
  return canonicalDecimal(String(v));
}

export function serializeAlert(a: AlertRecord, organizationId: string, metric: BillableMetricRecord | null) {
  return {
    lago_id: a.id,
    lago_organization_id: organizationId,
    external_subscription_id: a.externalSubscriptionId,
    lago_wallet_id: null,
    wallet_code: null,
    billable_metric: metric ? serializeBillableMetric(metric) : null,
    alert_type: a.alertType,
    code: a.code,
    name: a.name,
    direction: 'increasing',
    previous_value: decimalAsJsonNumber(a.previousValue), // Lago's schema and the official client: a number
    last_processed_at: a.lastProcessedAt,
    thresholds: a.thresholds.map((t) => ({ code: t.code, value: t.value, recurring: t.recurring })),
    created_at: a.createdAt,
  };
}

export function alertRoutes(ctx: RouteContext): Router {
  const r = Router();

  async function subscriptionOf(organizationId: string, externalId: string) {
    const s = await getSubscriptionByExternalId(ctx.db, organizationId, externalId);
    if (!s) throw notFound('subscription');
    return s;
  }

  async function metricsOf(organizationId: string, alerts: AlertRecord[]): Promise<Map<string, BillableMetricRecord>> {
    const codes = [...new Set(alerts.map((a) => a.billableMetricCode).filter((c): c is string => c !== null))];
    const out = new Map<string, BillableMetricRecord>();
    for (const code of codes) {
      const m = await getBillableMetricByCode(ctx.db, organizationId, code);
      if (m) out.set(code, m);
    }
    return out;
  }

  r.post('/subscriptions/:external_id/alerts', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(AlertCreateBody, req.body).alert;
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const needsMetric = input.alert_type !== 'current_usage_amount';
    if (needsMetric && !input.billable_metric_code) throw validationError({ billable_metric_code: ['value_is_mandatory'] });
    if (!needsMetric && input.billable_metric_code) throw validationError({ billable_metric_code: ['value_is_invalid'] });
    if (input.thresholds.filter((t) => t.recurring).length > 1) throw validationError({ thresholds: ['only_one_recurring_threshold'] });
    const metric = needsMetric ? await getBillableMetricByCode(ctx.db, organizationId, input.billable_metric_code!) : null;
    if (needsMetric && !metric) throw notFound('billable_metric');

    let alert: AlertRecord;
    try {
      alert = await createAlert(ctx.db, organizationId, {
        subscriptionId: subscription.id,
        alertType: input.alert_type as AlertRecord['alertType'],
        code: input.code,
        name: input.name ?? null,
        billableMetricId: metric?.id ?? null,
        thresholds: input.thresholds.map((t) => ({ code: t.code ?? null, value: canonicalThreshold(t.value), recurring: t.recurring })),
      });
    } catch (err) {
      if (err instanceof DuplicateAlertCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
    try {
      await ctx.temporal.workflow.getHandle(subscriptionWorkflowId(subscription.id)).signal(billingRulesChangedSignal);
    } catch (err) {
      ctx.logger.warn('could not tell the subscription workflow about a new alert; it is watched from the next period', {
        subscriptionId: subscription.id,
        error: (err as Error)?.message,
      });
    }
    res.status(200).json({ alert: serializeAlert(alert, organizationId, metric) });
  });

  r.get('/subscriptions/:external_id/alerts', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(paginationQuery, req.query);
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const alerts = await listAlerts(ctx.db, organizationId, subscription.id);
    const metrics = await metricsOf(organizationId, alerts);
    const page = alerts.slice((q.page - 1) * q.per_page, q.page * q.per_page);
    res.json({
      alerts: page.map((a) => serializeAlert(a, organizationId, a.billableMetricCode ? metrics.get(a.billableMetricCode) ?? null : null)),
      meta: paginationMeta(q.page, q.per_page, alerts.length),
    });
  });

  r.get('/subscriptions/:external_id/alerts/triggered', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(paginationQuery, req.query);
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const { triggers, totalCount } = await listAlertTriggers(ctx.db, organizationId, subscription.id, { page: q.page, perPage: q.per_page });
    res.json({
      triggered_alerts: triggers.map((t) => ({
        lago_id: t.id,
        lago_organization_id: t.organizationId,
        lago_alert_id: t.alertId,
        lago_subscription_id: t.subscriptionId,
        external_subscription_id: t.externalSubscriptionId,
        external_customer_id: t.externalCustomerId,
        billable_metric_code: t.billableMetricCode,
        alert_type: t.alertType,
        alert_code: t.alertCode,
        alert_name: t.alertName,
        current_value: t.crossedValue,
        triggered_at: t.triggeredAt,
        crossed_thresholds: [{ code: t.thresholdCode, value: t.thresholdValue, recurring: t.thresholdRecurring }],
        // Meterline: one record per crossed threshold and period, ready for webhook delivery.
        threshold_value: t.thresholdValue,
        period_start: t.periodStart,
        period_end: t.periodEnd,
        webhook_status: t.webhookStatus,
      })),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  return r;
}
