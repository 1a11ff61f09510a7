// Renders the objects that producers in db/ enqueue by id only (their serializers live here in api/), at the
// first delivery attempt of the webhook: invoices (invoice.created, invoice.drafted) as GET /invoices/:lago_id
// serializes them (Lago's InvoiceObjectExtended), and payments (payment.succeeded, payment.requires_action) as
// POST /payments answers them (Lago's PaymentObject), credit notes as GET /credit_notes/:lago_id (CreditNoteObject),
// subscriptions (subscription.started / terminated) as GET /subscriptions/:external_id plus their plan and customer
// (Lago's SubscriptionWithCustomerObject), and subscription.usage_threshold_reached (enqueued by the id of the
// progressive invoice that records the crossing) as that plus the usage_threshold reached
// (SubscriptionWithThresholdObject). The worker passes this to the delivery activity.
import type { Knex } from 'knex';
import { getCustomersByIds } from '../../db/repositories/customers';
import { getInvoiceAnyStatus } from '../../db/repositories/invoices';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { metricIdsOfCharges, organizationDefaultTimezone } from '../../db/repositories/webhook-events';
import { getCollectionContext, getPayment } from '../../db/repositories/payments';
import { storedInvoice } from './invoice';
import { serializePayment } from './payment';
import { getCreditNote } from '../../db/repositories/credit-notes';
import { getPlanById, type StoredUsageThreshold } from '../../db/repositories/plans';
import { planChangeViews } from '../../db/repositories/plan-changes';
import { thresholdCrossingOf } from '../../db/repositories/subscription-webhooks';
import { taxesOf } from '../../db/repositories/taxes';
import { serializeCreditNote } from '../routes/credit-notes';
import { creditNoteFees } from './credit-note-fees';
import { serializeCustomer } from '../routes/customers';
import { loadPlanTaxes, serializePlan } from '../routes/plans';
import { serializeSubscription } from '../routes/subscriptions';

export async function renderWebhookObject(db: Knex, organizationId: string, objectType: string, objectId: string, webhookType = ''): Promise<Record<string, unknown>> {
  if (objectType === 'payment') return renderPayment(db, organizationId, objectId);
  if (objectType === 'credit_note') return renderCreditNote(db, organizationId, objectId);
  if (objectType === 'subscription') {
    return webhookType === 'subscription.usage_threshold_reached' ? renderThresholdReached(db, organizationId, objectId) : renderSubscription(db, organizationId, objectId);
  }
  if (objectType !== 'invoice') throw new Error(`no renderer for ${objectType}`);
  const inv = await getInvoiceAnyStatus(db, organizationId, objectId); // invoice.deleted renders the tombstone
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

async function renderCreditNote(db: Knex, organizationId: string, creditNoteId: string): Promise<Record<string, unknown>> {
  const note = await getCreditNote(db, organizationId, creditNoteId);
  if (!note) throw new Error(`credit note ${creditNoteId} not found`);
  return serializeCreditNote(note, null, await creditNoteFees(db, organizationId, await organizationDefaultTimezone(db, organizationId), [note]));
}

/** GET /subscriptions/:external_id's object with its plan and customer (Lago's SubscriptionWithCustomerObject). */
async function renderSubscription(db: Knex, organizationId: string, subscriptionId: string): Promise<Record<string, unknown>> {
  const [subscriptions, views, timezone] = await Promise.all([
    getSubscriptionsByIds(db, organizationId, [subscriptionId]),
    planChangeViews(db, organizationId, [subscriptionId]),
    organizationDefaultTimezone(db, organizationId),
  ]);
  const s = subscriptions[0];
  if (!s) throw new Error(`subscription ${subscriptionId} not found`);
  const [plan, customers, customerTaxes] = await Promise.all([
    getPlanById(db, organizationId, s.planId),
    getCustomersByIds(db, organizationId, [s.customerId]),
    taxesOf(db, organizationId, 'customer', [s.customerId]),
  ]);
  const customer = customers.get(s.customerId);
  if (!plan || !customer) throw new Error(`subscription ${subscriptionId}: plan or customer not found`);
  return {
    ...serializeSubscription(s, timezone, new Date(), views.get(s.id)),
    plan: serializePlan(plan, await loadPlanTaxes(db, organizationId, plan)),
    customer: serializeCustomer(customer, timezone, customerTaxes.get(customer.id) ?? []),
  };
}

function usageThresholdObject(t: StoredUsageThreshold) {
  return { lago_id: t.lago_id, threshold_display_name: t.threshold_display_name, amount_cents: t.amount_cents, recurring: t.recurring, created_at: t.created_at, updated_at: t.created_at };
}

/**
 * The subscription with the plan's usage threshold that was reached: the non-recurring threshold of that level, else
 * the recurring one (a level past the highest fixed one is a repetition of it).
 */
async function renderThresholdReached(db: Knex, organizationId: string, progressiveInvoiceId: string): Promise<Record<string, unknown>> {
  const crossing = await thresholdCrossingOf(db, organizationId, progressiveInvoiceId);
  if (!crossing) throw new Error(`progressive invoice ${progressiveInvoiceId} not found`);
  const subscription = await renderSubscription(db, organizationId, crossing.subscriptionId);
  const plan = subscription.plan as { lago_id: string };
  const stored = (await getPlanById(db, organizationId, plan.lago_id))?.usageThresholds ?? [];
  const reached = stored.find((t) => !t.recurring && t.amount_cents === crossing.thresholdAmountCents) ?? stored.find((t) => t.recurring);
  if (!reached) throw new Error(`plan ${plan.lago_id} has no usage threshold of ${crossing.thresholdAmountCents}`);
  return {
    ...subscription,
    usage_threshold: usageThresholdObject(reached),
    applicable_usage_thresholds: stored.map((t) => ({ threshold_display_name: t.threshold_display_name, amount_cents: t.amount_cents, recurring: t.recurring })),
  };
}
