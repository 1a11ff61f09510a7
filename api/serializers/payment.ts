// Lago's PaymentObject: the answer of POST /payments and the object of the payment.* webhooks.
import type { PaymentRecord } from '../../db/repositories/payments';
import { iso } from '../schemas/common';

export function serializePayment(p: PaymentRecord, c: { customerId: string; externalCustomerId: string; providerCustomerId: string | null; invoiceNumber: string | null }) {
  return {
    lago_id: p.id,
    lago_customer_id: c.customerId,
    external_customer_id: c.externalCustomerId,
    invoice_ids: [p.invoiceId],
    invoice_numbers: c.invoiceNumber ? [c.invoiceNumber] : [],
    lago_payable_id: p.invoiceId,
    payable_type: 'Invoice',
    amount_cents: p.amountCents,
    amount_currency: p.currency,
    status: p.status,
    payment_status: p.status === 'succeeded' || p.status === 'failed' || p.status === 'processing' ? p.status : 'pending',
    type: p.paymentType,
    reference: p.reference,
    payment_provider_code: p.paymentType === 'provider' ? 'stripe' : null,
    payment_provider_type: p.paymentType === 'provider' ? 'stripe' : null,
    external_payment_id: p.providerPaymentId,
    provider_payment_id: p.providerPaymentId,
    provider_customer_id: c.providerCustomerId,
    next_action: {},
    created_at: iso(p.createdAt),
  };
}
