// Subscription webhook producers (Lago's subscription.started, subscription.terminated,
// subscription.usage_threshold_reached): each enqueued by id in the transaction of the change it announces, and
// rendered at delivery by api/serializers/webhook-objects.ts (the subscription serializer lives in api/).
import type { Knex } from 'knex';
import { enqueueWebhook } from './webhooks';

export type SubscriptionLifecycleWebhook = 'subscription.started' | 'subscription.terminated';

/** Enqueued by subscription id; unique on the business event: a subscription starts once and terminates once. */
export async function announceSubscription(trx: Knex.Transaction, organizationId: string, webhookType: SubscriptionLifecycleWebhook, subscriptionId: string): Promise<void> {
  await enqueueWebhook(trx, { organizationId, webhookType, objectType: 'subscription', objectId: subscriptionId, uniqueKey: `${webhookType}:${subscriptionId}` });
}

/**
 * A progressive-billing threshold crossing is recorded as its progressive_billing invoice (unique per subscription,
 * period start and threshold level): enqueued by that invoice's id, so the render finds the subscription and the
 * level reached, and the event is announced once per crossing.
 */
export async function announceUsageThresholdReached(trx: Knex.Transaction, organizationId: string, progressiveInvoiceId: string): Promise<void> {
  await enqueueWebhook(trx, {
    organizationId,
    webhookType: 'subscription.usage_threshold_reached',
    objectType: 'subscription',
    objectId: progressiveInvoiceId,
    uniqueKey: `subscription.usage_threshold_reached:${progressiveInvoiceId}`,
  });
}

/** The crossing a usage_threshold_reached webhook announces (its progressive invoice), or null. */
export async function thresholdCrossingOf(
  db: Knex,
  organizationId: string,
  progressiveInvoiceId: string,
): Promise<{ subscriptionId: string; thresholdAmountCents: number; createdAt: Date } | null> {
  const row: { subscription_id: string; threshold_amount_cents: string | number; created_at: Date } | undefined = await db('invoices')
    .where({ organization_id: organizationId, id: progressiveInvoiceId, invoice_type: 'progressive_billing' })
    .first('subscription_id', 'threshold_amount_cents', 'created_at');
  return row ? { subscriptionId: row.subscription_id, thresholdAmountCents: Number(row.threshold_amount_cents), createdAt: row.created_at } : null;
}
