// Lago's alert edits by code (issue 13), on the alerts of api/routes/alerts.ts:
//   GET    /subscriptions/:external_id/alerts/:code  → {alert}
//   PUT    /subscriptions/:external_id/alerts/:code  {alert: {code?, name?, billable_metric_code?, thresholds?}} → {alert}
//   DELETE /subscriptions/:external_id/alerts/:code  → {alert} (the deleted alert)
//   DELETE /subscriptions/:external_id/alerts        → {alerts: [the deleted alerts]} (Lago documents a bare 200)
// The alert type is fixed (Lago's AlertUpdateInput has none); thresholds, when sent, replace the old ones (same
// rules as a create: at most one recurring). A metric alert may move to another metric, an amount alert has none.
// After a change the subscription workflow is told (billingRulesChangedSignal), as after a create.
import { Router } from 'express';
import { deleteAlert, deleteSubscriptionAlerts, DuplicateAlertCodeError, getAlertByCode, listAlerts, updateAlert, type AlertRecord } from '../../db/repositories/alerts';
import { getBillableMetricByCode, type BillableMetricRecord } from '../../db/repositories/billable-metrics';
import { getSubscriptionByExternalId } from '../../db/repositories/subscriptions';
import { canonicalDecimal } from '../../billing/decimal-string';
import { billingRulesChangedSignal, subscriptionWorkflowId } from '../../workflows/messages';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { AlertUpdateBody } from '../schemas/alerts';
import { parseBody } from '../schemas/common';
import { serializeAlert } from './alerts';

export function alertEditRoutes(ctx: RouteContext): Router {
  const r = Router();

  async function subscriptionOf(organizationId: string, externalId: string) {
    const s = await getSubscriptionByExternalId(ctx.db, organizationId, externalId);
    if (!s) throw notFound('subscription');
    return s;
  }

  async function alertOf(organizationId: string, subscriptionId: string, code: string): Promise<AlertRecord> {
    const a = await getAlertByCode(ctx.db, organizationId, subscriptionId, code);
    if (!a) throw notFound('alert');
    return a;
  }

  async function metricOf(organizationId: string, a: AlertRecord): Promise<BillableMetricRecord | null> {
    return a.billableMetricCode ? getBillableMetricByCode(ctx.db, organizationId, a.billableMetricCode) : null;
  }

  async function tellWorkflow(subscriptionId: string) {
    try {
      await ctx.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).signal(billingRulesChangedSignal);
    } catch (err) {
      ctx.logger.warn('could not tell the subscription workflow about an alert change; it is seen from the next period', {
        subscriptionId,
        error: (err as Error)?.message,
      });
    }
  }

  r.get('/subscriptions/:external_id/alerts/:code', async (req, res) => {
    const organizationId = orgId(res);
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const alert = await alertOf(organizationId, subscription.id, req.params.code);
    res.json({ alert: serializeAlert(alert, organizationId, await metricOf(organizationId, alert)) });
  });

  r.put('/subscriptions/:external_id/alerts/:code', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(AlertUpdateBody, req.body).alert;
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const alert = await alertOf(organizationId, subscription.id, req.params.code);
    const needsMetric = alert.alertType !== 'current_usage_amount';
    let billableMetricId: string | undefined;
    if (input.billable_metric_code !== undefined) {
      if (!needsMetric && input.billable_metric_code !== null) throw validationError({ billable_metric_code: ['value_is_invalid'] });
      if (needsMetric && input.billable_metric_code === null) throw validationError({ billable_metric_code: ['value_is_mandatory'] });
      if (needsMetric) {
        const metric = await getBillableMetricByCode(ctx.db, organizationId, input.billable_metric_code!);
        if (!metric) throw notFound('billable_metric');
        billableMetricId = metric.id;
      }
    }
    if (input.thresholds && input.thresholds.filter((t) => t.recurring).length > 1) throw validationError({ thresholds: ['only_one_recurring_threshold'] });
    let updated: AlertRecord;
    try {
      updated = await updateAlert(ctx.db, organizationId, alert.id, {
        code: input.code,
        name: input.name,
        billableMetricId,
        thresholds: input.thresholds?.map((t) => ({ code: t.code ?? null, value: canonicalDecimal(String(t.value)), recurring: t.recurring })),
      });
    } catch (err) {
      if (err instanceof DuplicateAlertCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
    await tellWorkflow(subscription.id);
    res.json({ alert: serializeAlert(updated, organizationId, await metricOf(organizationId, updated)) });
  });

  r.delete('/subscriptions/:external_id/alerts/:code', async (req, res) => {
    const organizationId = orgId(res);
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const alert = await alertOf(organizationId, subscription.id, req.params.code);
    const metric = await metricOf(organizationId, alert);
    await deleteAlert(ctx.db, organizationId, alert.id);
    await tellWorkflow(subscription.id);
    res.json({ alert: serializeAlert(alert, organizationId, metric) });
  });

  r.delete('/subscriptions/:external_id/alerts', async (req, res) => {
    const organizationId = orgId(res);
    const subscription = await subscriptionOf(organizationId, req.params.external_id);
    const alerts = await listAlerts(ctx.db, organizationId, subscription.id);
    const serialized = [];
    for (const a of alerts) serialized.push(serializeAlert(a, organizationId, await metricOf(organizationId, a)));
    await deleteSubscriptionAlerts(ctx.db, organizationId, subscription.id);
    if (alerts.length > 0) await tellWorkflow(subscription.id);
    res.json({ alerts: serialized });
  });

  return r;
}
