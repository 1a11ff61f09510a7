// Renders the objects that producers in db/ enqueue by id only (their serializers live here in api/), at the
// first delivery attempt of the webhook: invoices (invoice.created, invoice.drafted) as GET /invoices/:lago_id
// serializes them (Lago's InvoiceObjectExtended), and payments (payment.succeeded, payment.requires_action) as
// POST /payments answers them (Lago's PaymentObject). The worker passes this to the delivery activity.
import type { Knex } from 'knex';
import { getCustomersByIds } from '../../db/repositories/customers';
import { getInvoice } from '../../db/repositories/invoices';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { metricIdsOfCharges, organizationDefaultTimezone } from '../../db/repositories/webhook-events';
import { getCollectionContext, getPayment } from '../../db/repositories/payments';
import { storedInvoice } from './invoice';
import { serializePayment } from './payment';

export async function renderWebhookObject(db: Knex, organizationId: string, objectType: string, objectId: string): Promise<Record<string, unknown>> {
  if (objectType === 'payment') return renderPayment(db, organizationId, objectId);
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

async function renderPayment(db: Knex, organizationId: string, paymentId: string): Promise<Record<string, unknown>> {
  const payment = await getPayment(db, organizationId, paymentId);
  if (!payment) throw new Error(`payment ${paymentId} not found`);
  const ctx = await getCollectionContext(db, organizationId, payment.invoiceId);
  if (!ctx) throw new Error(`invoice ${payment.invoiceId} not found`);
  return serializePayment(payment, {
    customerId: ctx.customer.id,
    externalCustomerId: ctx.customer.externalId,
    providerCustomerId: ctx.customer.providerCustomerId,
    invoiceNumber: ctx.number,
  });
}
