// Outgoing webhooks (Lago's contract) for payment and dunning steps. Every step is first a payment_events row
// (db/repositories/payments.ts insertPaymentEvent, unique on its dedupe key); the first time a row is written,
// this module enqueues the Lago webhooks it stands for, in the same transaction (the outbox rule: a step is
// recorded and announced together or not at all). Mapping (payment_events.event_type → Lago webhook):
//
//   invoice.voided                  → invoice.voided                 (object: invoice, rendered at delivery)
//   invoice.payment_status_updated  → invoice.payment_status_updated (invoice)
//   invoice.payment_overdue         → invoice.payment_overdue        (invoice)
//   invoice.payment_dispute_lost    → invoice.payment_dispute_lost   (invoice)
//   payment.succeeded               → payment.succeeded              (payment, rendered at delivery)
//   payment.requires_action         → payment.requires_action        (payment)
//   payment.failed                  → invoice.payment_failure        (payment_provider_invoice_payment_error)
//   dunning.exhausted               → dunning_campaign.finished      (dunning_campaign)
//
// Other steps (refunds, disputes, manual records, dunning attempts) stay webhook-ready records only: Lago has no
// webhook for them (a refund is announced with the credit note that causes it).
import type { Knex } from 'knex';
import { enqueueWebhook, type WebhookEvent } from './webhooks';

export interface PaymentStep {
  organizationId: string;
  invoiceId: string;
  eventType: string;
  dedupeKey: string;
  payload: Record<string, unknown>;
  /** The payments row the step is about (payment.* steps). */
  paymentId?: string | null;
}

type Producer = (trx: Knex.Transaction, step: PaymentStep) => Promise<Omit<WebhookEvent, 'organizationId' | 'uniqueKey'> | null>;

const invoiceWebhook = (webhookType: string): Producer => async (_trx, step) => ({ webhookType, objectType: 'invoice', objectId: step.invoiceId });

const paymentWebhook = (webhookType: string): Producer => async (_trx, step) =>
  step.paymentId ? { webhookType, objectType: 'payment', objectId: step.paymentId } : null;

async function customerOfInvoice(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<Record<string, any> | undefined> {
  return trx('invoices as i')
    .join('customers as c', 'c.id', 'i.customer_id')
    .where({ 'i.organization_id': organizationId, 'i.id': invoiceId })
    .first('c.id as customer_id', 'c.external_id', 'c.provider_customer_id', 'i.currency');
}

const PRODUCERS: Readonly<Record<string, Producer>> = {
  'invoice.voided': invoiceWebhook('invoice.voided'),
  'invoice.payment_status_updated': invoiceWebhook('invoice.payment_status_updated'),
  'invoice.payment_overdue': invoiceWebhook('invoice.payment_overdue'),
  'invoice.payment_dispute_lost': invoiceWebhook('invoice.payment_dispute_lost'), // ops13c: POST /invoices/:id/lose_dispute
  'payment.succeeded': paymentWebhook('payment.succeeded'),
  'payment.requires_action': paymentWebhook('payment.requires_action'),
  'payment.failed': async (trx, step) => {
    const c = await customerOfInvoice(trx, step.organizationId, step.invoiceId);
    if (!c) return null;
    const provider = await trx('payment_providers').where({ organization_id: step.organizationId }).first('code');
    return {
      webhookType: 'invoice.payment_failure',
      objectType: 'payment_provider_invoice_payment_error',
      objectId: step.invoiceId,
      object: {
        lago_invoice_id: step.invoiceId,
        lago_customer_id: c.customer_id,
        external_customer_id: c.external_id,
        provider_customer_id: c.provider_customer_id ?? null,
        payment_provider: 'stripe',
        payment_provider_code: provider?.code ?? null,
        provider_error: {
          message: String(step.payload.failure_type ?? 'payment_failed'),
          error_code: (step.payload.decline_code as string | null | undefined) ?? null,
        },
      },
    };
  },
  'dunning.exhausted': async (trx, step) => {
    const c = await customerOfInvoice(trx, step.organizationId, step.invoiceId);
    if (!c) return null;
    // The customer's overdue balance per currency: what is still due on its finalized, unvoided, unpaid invoices
    // past their due date (this one included, whatever its due date: dunning ran on it).
    const rows: { currency: string; due: string }[] = await trx('invoices')
      .where({ organization_id: step.organizationId, customer_id: c.customer_id, status: 'finalized' })
      .whereNull('voided_at')
      .whereNot({ payment_status: 'succeeded' })
      .where((q) => q.where({ payment_overdue: true }).orWhere({ id: step.invoiceId }))
      .groupBy('currency')
      .orderBy('currency')
      .select('currency', trx.raw('sum(total_amount_cents - total_paid_amount_cents)::text as due'));
    const balances = rows.map((r) => ({ currency: String(r.currency).trim(), amount_cents: Number(BigInt(r.due)) }));
    const own = balances.find((b) => b.currency === String(c.currency).trim()) ?? { currency: String(c.currency).trim(), amount_cents: 0 };
    return {
      webhookType: 'dunning_campaign.finished',
      objectType: 'dunning_campaign',
      objectId: step.invoiceId,
      object: {
        external_customer_id: c.external_id,
        dunning_campaign_code: (step.payload.dunning_campaign_code as string | undefined) ?? null,
        overdue_balance_cents: own.amount_cents,
        overdue_balance_currency: own.currency,
        overdue_balances: balances,
      },
    };
  },
};

/** The Lago webhook types a payment step produces (for the README and tests). */
export const PAYMENT_STEP_WEBHOOKS: Readonly<Record<string, string>> = {
  'invoice.voided': 'invoice.voided',
  'invoice.payment_status_updated': 'invoice.payment_status_updated',
  'invoice.payment_overdue': 'invoice.payment_overdue',
  'invoice.payment_dispute_lost': 'invoice.payment_dispute_lost',
  'payment.succeeded': 'payment.succeeded',
  'payment.requires_action': 'payment.requires_action',
  'payment.failed': 'invoice.payment_failure',
  'dunning.exhausted': 'dunning_campaign.finished',
};

/** Enqueues the Lago webhook of a newly recorded payment step (none for steps Lago does not announce). */
export async function enqueuePaymentStepWebhooks(trx: Knex.Transaction, step: PaymentStep): Promise<void> {
  const producer = PRODUCERS[step.eventType];
  if (!producer) return;
  const e = await producer(trx, step);
  if (!e) return;
  // A payment's webhook is keyed by the payment: the activity and a Stripe webhook both record a success (under
  // their own dedupe keys), the app hears of it once.
  const about = step.eventType.startsWith('payment.') && step.paymentId ? `payment:${step.paymentId}` : step.dedupeKey;
  await enqueueWebhook(trx, { ...e, organizationId: step.organizationId, uniqueKey: `${e.webhookType}:${about}` });
}
