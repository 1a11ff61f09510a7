// Payment routes (Lago API v1): POST /customers/:external_customer_id/checkout_url, POST /invoices/:id/payment_url,
// POST /payments (manual payments, partial allowed).
//
// Manual payments: the invoice row is locked, the payment inserted, total_paid / payment_status recomputed and a
// payment_events record written in ONE transaction; then the invoice workflow (if it runs) gets
// invoicePaymentSignal so it stops dunning when the invoice is fully paid. An amount above the amount due is 422
// `amount_exceeds_due` (nothing written); a draft or voided invoice is 422 `invoice_not_payable`.
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import {
  getCollectionContext,
  getProviderCustomerId,
  insertManualPayment,
  insertPaymentEvent,
  lockInvoiceForPayment,
  recomputeInvoicePayment,
  setProviderCustomerId,
  type PaymentRecord,
} from '../../db/repositories/payments';
import { invoicePaymentSignal, invoiceWorkflowId, type InvoicePaymentSignalPayload } from '../../workflows/messages';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound } from '../errors';
import { parseBody } from '../schemas/common';
import { PaymentCreateBody } from '../schemas/payments';
import { serializePayment } from '../serializers/payment';
import { invoicePaymentUrl, providerOfOrganization, type ProviderFactory } from '../services/invoice-payment-url';
import { wakeSuspendedSubscriptions } from '../services/suspension-wake';

export { serializePayment };

export type { ProviderFactory };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function unprocessable(code: string, message: string): ApiError {
  return new ApiError(422, code, message);
}

export function paymentRoutes(ctx: RouteContext, providerFor: ProviderFactory): Router {
  const r = Router();

  const providerOf = (organizationId: string) => providerOfOrganization(ctx, providerFor, organizationId);

  r.post('/customers/:external_customer_id/checkout_url', async (req, res) => {
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, req.params.external_customer_id);
    if (!customer) throw notFound('customer');
    const { provider, config } = await providerOf(organizationId);
    let providerCustomerId = await getProviderCustomerId(ctx.db, organizationId, customer.id);
    if (!providerCustomerId) {
      ({ providerCustomerId } = await provider.syncCustomer({ customerId: customer.id, externalCustomerId: customer.externalId, name: customer.name, email: customer.email, providerCustomerId: null }));
      await setProviderCustomerId(ctx.db, organizationId, customer.id, providerCustomerId);
    }
    const { url } = await provider.createSetupCheckoutUrl({ providerCustomerId, customerId: customer.id, successUrl: config.successRedirectUrl ?? 'https://www.getlago.com/' });
    res.json({
      customer: { lago_customer_id: customer.id, external_customer_id: customer.externalId, payment_provider: 'stripe', payment_provider_code: config.code, checkout_url: url },
    });
  });

  r.post('/invoices/:lago_id/payment_url', async (req, res) => {
    const organizationId = orgId(res);
    if (!UUID.test(req.params.lago_id)) throw notFound('invoice');
    const { invoice: inv, url } = await invoicePaymentUrl(ctx, providerFor, organizationId, req.params.lago_id);
    res.json({
      invoice_payment_details: { lago_customer_id: inv.customer.id, lago_invoice_id: inv.invoiceId, external_customer_id: inv.customer.externalId, payment_provider: 'stripe', payment_url: url },
    });
  });

  r.post('/payments', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(PaymentCreateBody, req.body).payment;
    const outcome = await ctx.db.transaction(async (trx) => {
      const locked = await lockInvoiceForPayment(trx, organizationId, input.invoice_id);
      if (!locked) throw notFound('invoice');
      const inv = (await getCollectionContext(trx, organizationId, input.invoice_id))!;
      if (inv.status !== 'finalized' || inv.voided) throw unprocessable('invoice_not_payable', `A ${inv.voided ? 'voided' : inv.status} invoice cannot be paid`);
      if (input.amount_cents > inv.totalDueAmountCents) {
        throw new ApiError(422, 'validation_errors', 'Validation errors', { amount_cents: ['amount_exceeds_due'] });
      }
      const payment = await insertManualPayment(trx, {
        organizationId,
        invoiceId: inv.invoiceId,
        amountCents: input.amount_cents,
        currency: inv.currency,
        reference: input.reference,
        paidAt: input.paid_at ?? new Date().toISOString().slice(0, 10),
      });
      const { paymentStatus } = await recomputeInvoicePayment(trx, organizationId, inv.invoiceId);
      await insertPaymentEvent(trx, {
        organizationId,
        invoiceId: inv.invoiceId,
        eventType: 'payment.manual_recorded',
        dedupeKey: `payment:${payment.id}:manual`,
        payload: { amount_cents: payment.amountCents, currency: payment.currency, reference: payment.reference, invoice_payment_status: paymentStatus },
      });
      return { payment, inv, paymentStatus };
    });
    const signal: InvoicePaymentSignalPayload = {
      source: 'manual',
      eventId: outcome.payment.id,
      kind: outcome.paymentStatus === 'succeeded' ? 'succeeded' : 'partial',
      invoicePaymentStatus: outcome.paymentStatus,
      providerPaymentId: null,
    };
    try {
      await ctx.temporal.workflow.getHandle(invoiceWorkflowId(outcome.inv.invoiceId)).signal(invoicePaymentSignal, signal);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) ctx.logger.warn('Signalling the invoice workflow after a manual payment failed', { error: String(err) });
    }
    if (outcome.paymentStatus === 'succeeded') await wakeSuspendedSubscriptions(ctx, organizationId, outcome.inv.invoiceId); // dunning suspension (issue 10)
    res.status(200).json({
      payment: serializePayment(outcome.payment, {
        customerId: outcome.inv.customer.id,
        externalCustomerId: outcome.inv.customer.externalId,
        providerCustomerId: outcome.inv.customer.providerCustomerId,
        invoiceNumber: outcome.inv.number,
      }),
    });
  });

  return r;
}
