// POST /webhooks/stripe/:organization_id — Stripe's webhooks for one organization's connection.
//
// - The signature is verified on the RAW body (express.raw on this route only, mounted before express.json);
//   a missing or bad signature, an unknown organization or one without a webhook secret → 400.
// - Exactly once per Stripe event id: stripe_webhook_events is written in the same transaction as the change,
//   so a duplicated delivery changes nothing. Reordered events cannot move a payment backwards: payment status
//   transitions are forward-only (db/repositories/payments.ts STATUS_RANK); refunds take the cumulative amount.
// - After commit the invoice's workflow gets invoicePaymentSignal (it stops dunning once paid); a workflow that
//   is not running is fine (Postgres is already right).
// - Unknown event types are acknowledged (200) and recorded as processed.
import { WorkflowNotFoundError } from '@temporalio/client';
import express, { Router, type Request } from 'express';
import { isSignatureError, paymentUpdateOf, verifyStripeEvent, type PaymentUpdate } from '../../adapters/stripe/webhooks';
import {
  findPaymentByProviderId,
  getCollectionContext,
  getProviderConfig,
  insertPaymentEvent,
  markDisputed,
  recomputeInvoicePayment,
  recordPaymentOutcome,
  recordRefund,
  recordWebhookEvent,
  upsertWebhookPayment,
} from '../../db/repositories/payments';
import { invoicePaymentSignal, invoiceWorkflowId, type InvoicePaymentSignalPayload } from '../../workflows/messages';
import type { RouteContext } from '../context';
import { ApiError } from '../errors';
import type { Knex } from 'knex';
import { wakeSuspendedSubscriptions } from '../services/suspension-wake';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function badRequest(code: string, message: string): ApiError {
  return new ApiError(400, code, message);
}

interface Applied {
  invoiceId: string;
  paymentStatus: string;
}

async function applyUpdate(trx: Knex.Transaction, organizationId: string, eventId: string, u: PaymentUpdate): Promise<Applied | null> {
  let payment = await findPaymentByProviderId(trx, organizationId, u.providerPaymentId);
  if (!payment) {
    // First sight of this PaymentIntent (paid on the payment_url's Checkout page): only for our invoices.
    if (!u.invoiceId || !UUID.test(u.invoiceId) || u.amountCents === null || u.currency === null) return null;
    const ctx = await getCollectionContext(trx, organizationId, u.invoiceId);
    if (!ctx) return null;
    payment = await upsertWebhookPayment(trx, { organizationId, invoiceId: u.invoiceId, providerPaymentId: u.providerPaymentId, amountCents: u.amountCents, currency: u.currency });
  }
  if (u.kind === 'succeeded' || u.kind === 'failed' || u.kind === 'requires_action') {
    await recordPaymentOutcome(trx, organizationId, payment.id, { status: u.kind, providerPaymentId: u.providerPaymentId, declineCode: u.kind === 'failed' ? u.declineCode : payment.declineCode });
  } else if (u.kind === 'refunded' && u.refundedAmountCents !== null) {
    await recordRefund(trx, organizationId, payment.id, u.refundedAmountCents);
  } else if (u.kind === 'dispute') {
    await markDisputed(trx, organizationId, payment.id);
  }
  const { paymentStatus } = await recomputeInvoicePayment(trx, organizationId, payment.invoiceId);
  await insertPaymentEvent(trx, {
    organizationId,
    invoiceId: payment.invoiceId,
    eventType: u.kind === 'dispute' ? 'payment.dispute_opened' : u.kind === 'refunded' ? 'payment.refunded' : `payment.${u.kind}`,
    dedupeKey: `stripe_event:${eventId}`,
    paymentId: payment.id,
    payload: { provider_payment_id: u.providerPaymentId, stripe_event_id: eventId, invoice_payment_status: paymentStatus },
  });
  return { invoiceId: payment.invoiceId, paymentStatus };
}

export function stripeWebhookRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.post('/webhooks/stripe/:organization_id', express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res) => {
    const organizationId = String(req.params.organization_id);
    if (!UUID.test(organizationId)) throw badRequest('invalid_organization', 'Unknown organization');
    const config = await getProviderConfig(ctx.db, organizationId);
    if (!config?.webhookSecret) throw badRequest('webhook_not_configured', 'No Stripe webhook secret for this organization');
    if (!Buffer.isBuffer(req.body)) throw badRequest('invalid_body', 'Expected the raw request body');
    let event;
    try {
      event = verifyStripeEvent(req.body, req.header('stripe-signature'), config.webhookSecret);
    } catch (err) {
      if (isSignatureError(err)) throw badRequest('invalid_signature', 'Stripe signature verification failed');
      throw badRequest('invalid_payload', 'Not a Stripe event');
    }
    const update = paymentUpdateOf(event);
    const outcome = await ctx.db.transaction(async (trx) => {
      if (!(await recordWebhookEvent(trx, organizationId, event.id, event.type))) return { duplicate: true, applied: null };
      return { duplicate: false, applied: update ? await applyUpdate(trx, organizationId, event.id, update) : null };
    });
    if (outcome.applied && update) {
      const payload: InvoicePaymentSignalPayload = {
        source: 'webhook',
        eventId: event.id,
        kind: update.kind,
        invoicePaymentStatus: outcome.applied.paymentStatus,
        providerPaymentId: update.providerPaymentId,
      };
      try {
        await ctx.temporal.workflow.getHandle(invoiceWorkflowId(outcome.applied.invoiceId)).signal(invoicePaymentSignal, payload);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) {
          ctx.logger.warn('Signalling the invoice workflow after a Stripe webhook failed (Postgres is up to date)', { eventId: event.id, error: String(err) });
        }
      }
      if (outcome.applied.paymentStatus === 'succeeded') await wakeSuspendedSubscriptions(ctx, organizationId, outcome.applied.invoiceId); // dunning suspension (issue 10)
    }
    res.status(200).json({ received: true, duplicate: outcome.duplicate, handled: outcome.applied !== null });
  });
  return r;
}
