// The payment fields Lago puts on an invoice, added to the serialized invoice (additive: the base serializer
// stays as it is). payment_overdue is stored by the invoice workflow's due-date timer.
import type { InvoicePaymentFields } from '../../db/repositories/payments';

export function withPaymentFields<T extends Record<string, unknown>>(invoice: T, fields: InvoicePaymentFields | undefined) {
  return {
    ...invoice,
    ...(fields?.voided ? { status: 'voided' } : {}),
    ...(fields && fields.metadata.length > 0 ? { metadata: fields.metadata } : {}),
    total_paid_amount_cents: fields?.totalPaidAmountCents ?? 0,
    total_due_amount_cents: fields?.totalDueAmountCents ?? (invoice.total_amount_cents as number),
    payment_due_date: fields?.paymentDueDate ?? null,
    payment_overdue: fields?.paymentOverdue ?? false,
    net_payment_term: fields?.netPaymentTerm ?? 0,
    // Lago's field (a string in its schema): only once a dispute was lost (POST /invoices/:id/lose_dispute, ops13c).
    ...(fields?.paymentDisputeLostAt ? { payment_dispute_lost_at: fields.paymentDisputeLostAt } : {}),
  };
}
