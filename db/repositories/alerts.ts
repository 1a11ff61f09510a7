// Usage alerts of a subscription (table usage_alerts) and their triggers (usage_alert_triggers), migration
// 20261127000007. The only place these rows become domain records.
//
// Threshold values are decimal strings: minor units of the plan currency for amount alerts (Lago compares
// amount alerts with the usage's amount_cents), units for unit alerts.
// Triggers: one row per (alert, period start, threshold value), written with ON CONFLICT DO NOTHING, so a
// repeated or concurrent evaluation records a crossed threshold exactly once. webhook_status starts 'pending'.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { enqueueAlertTriggeredWebhooks } from './webhook-events';

type Db = Knex | Knex.Transaction;

export type AlertType = 'current_usage_amount' | 'billable_metric_current_usage_amount' | 'billable_metric_current_usage_units';

export const ALERT_TYPES: readonly AlertType[] = ['current_usage_amount', 'billable_metric_current_usage_amount', 'billable_metric_current_usage_units'];

export interface AlertThreshold {
  code: string | null;
  /** Decimal string. */
  value: string;
  recurring: boolean;
}

export interface AlertRecord {
  id: string;
  organizationId: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  alertType: AlertType;
  code: string;
  name: string | null;
  billableMetricId: string | null;
  billableMetricCode: string | null;
  thresholds: AlertThreshold[];
  /** Decimal string: the value seen by the last evaluation. */
  previousValue: string;
  lastProcessedAt: string | null;
  createdAt: string;
}

export interface NewAlert {
  subscriptionId: string;
  alertType: AlertType;
  code: string;
  name: string | null;
  billableMetricId: string | null;
  thresholds: AlertThreshold[];
}

export interface AlertTriggerRecord {
  id: string;
  organizationId: string;
  alertId: string;
  alertType: AlertType;
  alertCode: string;
  alertName: string | null;
  billableMetricCode: string | null;
  subscriptionId: string;
  externalSubscriptionId: string;
  externalCustomerId: string;
  periodStart: string;
  periodEnd: string;
  thresholdCode: string | null;
  thresholdValue: string;
  thresholdRecurring: boolean;
  crossedValue: string;
  triggeredAt: string;
  webhookStatus: string;
}

export interface NewAlertTrigger {
  organizationId: string;
  alertId: string;
  subscriptionId: string;
  period: { start: string; end: string };
  thresholdCode: string | null;
  thresholdValue: string;
  thresholdRecurring: boolean;
  crossedValue: string;
  triggeredAt: Date;
}

export class DuplicateAlertCodeError extends Error {
  constructor(readonly code: string) {
    super(`An alert with code ${code} already exists for this subscription`);
    this.name = 'DuplicateAlertCodeError';
  }
}

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

function alertFromRow(r: Record<string, any>): AlertRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    subscriptionId: r.subscription_id,
    externalSubscriptionId: r.external_subscription_id,
    alertType: r.alert_type,
    code: r.code,
    name: r.name ?? null,
    billableMetricId: r.billable_metric_id ?? null,
    billableMetricCode: r.billable_metric_code ?? null,
    thresholds: (Array.isArray(r.thresholds) ? r.thresholds : []).map((t: Record<string, unknown>) => ({
      code: typeof t.code === 'string' ? t.code : null,
      value: String(t.value),
      recurring: t.recurring === true,
    })),
    previousValue: canonicalDecimal(String(r.previous_value)),
    lastProcessedAt: iso(r.last_processed_at),
    createdAt: r.created_at.toISOString(),
  };
}

function alertsQuery(db: Db, organizationId: string): Knex.QueryBuilder {
  return db('usage_alerts as a')
    .join('subscriptions as s', 's.id', 'a.subscription_id')
    .leftJoin('billable_metrics as m', 'm.id', 'a.billable_metric_id')
    .where('a.organization_id', organizationId)
    .select('a.*', 's.external_id as external_subscription_id', 'm.code as billable_metric_code');
}

export async function createAlert(db: Knex, organizationId: string, a: NewAlert): Promise<AlertRecord> {
  const inserted: { id: string }[] = await db('usage_alerts')
    .insert({
      organization_id: organizationId,
      subscription_id: a.subscriptionId,
      alert_type: a.alertType,
      code: a.code,
      name: a.name,
      billable_metric_id: a.billableMetricId,
      thresholds: JSON.stringify(a.thresholds),
    })
    .onConflict(['subscription_id', 'code'])
    .ignore()
    .returning('id');
  if (inserted.length === 0) throw new DuplicateAlertCodeError(a.code);
  const row = await alertsQuery(db, organizationId).where('a.id', inserted[0]!.id).first();
  return alertFromRow(row);
}

/** The subscription's alerts, oldest first. */
export async function listAlerts(db: Db, organizationId: string, subscriptionId: string): Promise<AlertRecord[]> {
  const rows = await alertsQuery(db, organizationId)
    .where('a.subscription_id', subscriptionId)
    .orderBy([{ column: 'a.created_at' }, { column: 'a.id' }]);
  return rows.map(alertFromRow);
}

/** Records what the last evaluation saw (Lago's previous_value / last_processed_at). */
export async function markAlertProcessed(db: Db, organizationId: string, alertId: string, value: string, at: Date): Promise<void> {
  await db('usage_alerts').where({ organization_id: organizationId, id: alertId }).update({ previous_value: value, last_processed_at: at });
}

/** The highest threshold value already triggered for (alert, period start), or null. */
export async function highestTriggeredValue(db: Db, organizationId: string, alertId: string, periodStart: string): Promise<string | null> {
  const row = (await db('usage_alert_triggers')
    .where({ organization_id: organizationId, alert_id: alertId, period_start: new Date(periodStart) })
    .max({ max: 'threshold_value' })
    .first()) as { max: string | null } | undefined;
  return row?.max == null ? null : canonicalDecimal(String(row.max));
}

/** Inserts the triggers that do not exist yet; returns how many were new. */
export async function recordAlertTriggers(db: Db, triggers: NewAlertTrigger[]): Promise<number> {
  if (triggers.length === 0) return 0;
  const rows = triggers.map((t) => ({
    organization_id: t.organizationId,
    alert_id: t.alertId,
    subscription_id: t.subscriptionId,
    period_start: new Date(t.period.start),
    period_end: new Date(t.period.end),
    threshold_code: t.thresholdCode,
    threshold_value: t.thresholdValue,
    threshold_recurring: t.thresholdRecurring,
    crossed_value: t.crossedValue,
    triggered_at: t.triggeredAt,
  }));
  // alert.triggered webhooks for the new triggers commit with them (the outbox pattern).
  const inserted: { id: string }[] = await db.transaction(async (trx) => { const ids: { id: string }[] = await trx('usage_alert_triggers')
    .insert(rows)
    .onConflict(['alert_id', 'period_start', 'threshold_value'])
    .ignore()
    .returning('id');
  await enqueueAlertTriggeredWebhooks(trx, ids.map((r) => r.id)); return ids; });
  return inserted.length;
}

/** Triggers of a subscription, newest first. */
export async function listAlertTriggers(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  page: { page: number; perPage: number },
): Promise<{ triggers: AlertTriggerRecord[]; totalCount: number }> {
  const base = () =>
    db('usage_alert_triggers as t')
      .join('usage_alerts as a', 'a.id', 't.alert_id')
      .join('subscriptions as s', 's.id', 't.subscription_id')
      .join('customers as c', 'c.id', 's.customer_id')
      .leftJoin('billable_metrics as m', 'm.id', 'a.billable_metric_id')
      .where({ 't.organization_id': organizationId, 't.subscription_id': subscriptionId });
  const count = (await base().count<{ n: string | number }[]>({ n: '*' }).first()) as { n: string | number } | undefined;
  const rows: Record<string, any>[] = await base()
    .select(
      't.*', 'a.alert_type', 'a.code as alert_code', 'a.name as alert_name', 'm.code as billable_metric_code',
      's.external_id as external_subscription_id', 'c.external_id as external_customer_id',
    )
    .orderBy([{ column: 't.triggered_at', order: 'desc' }, { column: 't.threshold_value', order: 'desc' }])
    .limit(page.perPage)
    .offset((page.page - 1) * page.perPage);
  return {
    totalCount: Number(count?.n ?? 0),
    triggers: rows.map((r) => ({
      id: r.id,
      organizationId: r.organization_id,
      alertId: r.alert_id,
      alertType: r.alert_type,
      alertCode: r.alert_code,
      alertName: r.alert_name ?? null,
      billableMetricCode: r.billable_metric_code ?? null,
      subscriptionId: r.subscription_id,
      externalSubscriptionId: r.external_subscription_id,
      externalCustomerId: r.external_customer_id,
      periodStart: r.period_start.toISOString(),
      periodEnd: r.period_end.toISOString(),
      thresholdCode: r.threshold_code ?? null,
      thresholdValue: canonicalDecimal(String(r.threshold_value)),
      thresholdRecurring: r.threshold_recurring,
      crossedValue: canonicalDecimal(String(r.crossed_value)),
      triggeredAt: r.triggered_at.toISOString(),
      webhookStatus: r.webhook_status,
    })),
  };
}

// ---- Edits by code (issue 13: GET/PUT/DELETE /subscriptions/:external_id/alerts/:code, DELETE …/alerts) ----------
// A deleted alert is gone (hard delete): its code can be reused at once, and its trigger records go with it
// (usage_alert_triggers cascades); webhooks already written to the outbox are delivered as they are.

/** The subscription's alert with this code, or null. */
export async function getAlertByCode(db: Db, organizationId: string, subscriptionId: string, code: string): Promise<AlertRecord | null> {
  const row = await alertsQuery(db, organizationId).where({ 'a.subscription_id': subscriptionId, 'a.code': code }).first();
  return row ? alertFromRow(row) : null;
}

export interface AlertEdit {
  code?: string;
  name?: string | null;
  billableMetricId?: string | null;
  thresholds?: AlertThreshold[];
}

/** Updates the alert's code, name, metric or thresholds; DuplicateAlertCodeError when the new code is taken. */
export async function updateAlert(db: Knex, organizationId: string, alertId: string, edit: AlertEdit): Promise<AlertRecord> {
  const patch: Record<string, unknown> = {};
  if (edit.code !== undefined) patch.code = edit.code;
  if (edit.name !== undefined) patch.name = edit.name;
  if (edit.billableMetricId !== undefined) patch.billable_metric_id = edit.billableMetricId;
  if (edit.thresholds !== undefined) patch.thresholds = JSON.stringify(edit.thresholds);
  if (Object.keys(patch).length > 0) {
    try {
      await db('usage_alerts').where({ organization_id: organizationId, id: alertId }).update(patch);
    } catch (err) {
      if ((err as { code?: string }).code === '23505' && edit.code !== undefined) throw new DuplicateAlertCodeError(edit.code);
      throw err;
    }
  }
  const row = await alertsQuery(db, organizationId).where('a.id', alertId).first();
  return alertFromRow(row);
}

/** Deletes one alert (and its trigger records). */
export async function deleteAlert(db: Db, organizationId: string, alertId: string): Promise<void> {
  await db('usage_alerts').where({ organization_id: organizationId, id: alertId }).delete();
}

/** Deletes every alert of the subscription; returns how many. */
export async function deleteSubscriptionAlerts(db: Db, organizationId: string, subscriptionId: string): Promise<number> {
  return db('usage_alerts').where({ organization_id: organizationId, subscription_id: subscriptionId }).delete();
}
