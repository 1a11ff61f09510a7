// Renders the objects that producers in db/ enqueue by id only (their serializers live here in api/), at the
// first delivery attempt of the webhook: invoices (invoice.created, invoice.drafted) as GET /invoices/:lago_id
// serializes them (Lago's InvoiceObjectExtended). The worker passes this to the delivery activity.
import type { Knex } from 'knex';
import { getCustomersByIds } from '../../db/repositories/customers';
import { getInvoice } from '../../db/repositories/invoices';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { metricIdsOfCharges, organizationDefaultTimezone } from '../../db/repositories/webhook-events';
import { storedInvoice } from './invoice';

export async function renderWebhookObject(db: Knex, organizationId: string, objectType: string, objectId: string): Promise<Record<string, unknown>> {
  if (objectType !== 'invoice') throw new Error(`no renderer for ${objectType}`);
  const inv = await getInvoice(db, organizationId, objectId);
  if (!inv) throw new Error(`invoice ${objectId} not found`);
  const [customers, subscriptions, metricIdByCharge, timezone] = await Promise.all([
    getCustomersByIds(db, organizationId, [inv.customerId]),
    getSubscriptionsByIds(db, organizationId, [inv.subscriptionId]),
    metricIdsOfCharges(db, organizationId, inv.fees.map((f) => f.chargeId).filter((id): id is string => id !== null)),
    organizationDefaultTimezone(db, organizationId),
  ]);
  return storedInvoice(inv, customers.get(inv.customerId), subscriptions[0], metricIdByCharge, timezone) as Record<string, unknown>;
}
