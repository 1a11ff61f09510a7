// Producers of outgoing webhooks that live in db/ (called from the repositories that record the change, in
// the same transaction): alert.triggered and event.error. Each builds Lago's object and calls enqueueWebhook.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { enqueueWebhook } from './webhooks';

/** alert.triggered for each newly recorded trigger (ids from recordAlertTriggers), Lago's TriggeredAlertObject. */
export async function enqueueAlertTriggeredWebhooks(trx: Knex.Transaction, triggerIds: string[]): Promise<void> {
  if (triggerIds.length === 0) return;
  const rows: Record<string, any>[] = await trx('usage_alert_triggers as t')
    .join('usage_alerts as a', 'a.id', 't.alert_id')
    .join('subscriptions as s', 's.id', 't.subscription_id')
    .join('customers as c', 'c.id', 's.customer_id')
    .leftJoin('billable_metrics as m', 'm.id', 'a.billable_metric_id')
    .whereIn('t.id', triggerIds)
    .select(
      't.*', 'a.alert_type', 'a.code as alert_code', 'a.name as alert_name', 'a.previous_value', 'm.code as billable_metric_code',
      's.external_id as external_subscription_id', 'c.external_id as external_customer_id',
    );
  for (const t of rows) {
    await enqueueWebhook(trx, {
      organizationId: t.organization_id,
      webhookType: 'alert.triggered',
      objectType: 'triggered_alert',
      uniqueKey: `alert.triggered:${t.id}`,
      object: {
        lago_id: t.id,
        lago_organization_id: t.organization_id,
        lago_alert_id: t.alert_id,
        lago_subscription_id: t.subscription_id,
        external_subscription_id: t.external_subscription_id,
        external_customer_id: t.external_customer_id,
        billable_metric_code: t.billable_metric_code ?? null,
        alert_type: t.alert_type,
        alert_code: t.alert_code,
        alert_name: t.alert_name ?? null,
        current_value: canonicalDecimal(String(t.crossed_value)),
        previous_value: canonicalDecimal(String(t.previous_value)),
        triggered_at: t.triggered_at.toISOString(),
        crossed_thresholds: [{ code: t.threshold_code ?? null, value: canonicalDecimal(String(t.threshold_value)), recurring: t.threshold_recurring }],
      },
    });
  }
}

/** One new event_errors row, as recordEventErrors' INSERT … RETURNING gives it. */
export interface EventErrorRow {
  id: string;
  organization_id: string;
  transaction_id: string | null;
  external_subscription_id: string | null;
  code: string | null;
  timestamp: string | null;
  properties: unknown;
  error_code: string;
  field: string;
}

/** event.error for each newly recorded rejected event, Lago's EventErrorsObject ({status, error, message, event}). */
export async function enqueueEventErrorWebhooks(trx: Knex.Transaction, rows: EventErrorRow[]): Promise<void> {
  for (const r of rows) {
    await enqueueWebhook(trx, {
      organizationId: r.organization_id,
      webhookType: 'event.error',
      objectType: 'event_error',
      objectId: r.id,
      uniqueKey: `event.error:${r.id}`,
      object: {
        status: 422,
        error: 'Unprocessable entity',
        message: { [r.field]: [r.error_code] },
        event: {
          transaction_id: r.transaction_id,
          external_subscription_id: r.external_subscription_id,
          code: r.code,
          timestamp: r.timestamp,
          properties: r.properties ?? null,
        },
      },
    });
  }
}

/** The billable metric of each charge (invoice fees name their metric). */
export async function metricIdsOfCharges(db: Knex, organizationId: string, chargeIds: string[]): Promise<Map<string, string>> {
  if (chargeIds.length === 0) return new Map();
  const rows: { id: string; billable_metric_id: string }[] = await db('charges')
    .where({ organization_id: organizationId })
    .whereIn('id', [...new Set(chargeIds)])
    .select('id', 'billable_metric_id');
  return new Map(rows.map((c) => [c.id, c.billable_metric_id]));
}

export async function organizationDefaultTimezone(db: Knex, organizationId: string): Promise<string> {
  const row: { default_timezone: string } | undefined = await db('organizations').where({ id: organizationId }).first('default_timezone');
  return row?.default_timezone ?? 'UTC';
}
