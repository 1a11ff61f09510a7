// Request schemas of the payment routes (also the OpenAPI source).
import { z } from 'zod';

const ymd = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'invalid_date');

/** Lago's PaymentCreateInput: a manual payment (partial payments allowed, never more than the amount due). */
export const PaymentCreateBody = z.object({
  payment: z.object({
    invoice_id: z.string().uuid('value_is_invalid'),
    amount_cents: z.number().int().refine((n) => Number.isSafeInteger(n) && n > 0, 'value_is_out_of_range'),
    reference: z.string().min(1).max(255),
    paid_at: ymd.optional(),
  }),
});

/** POST /customers/:external_customer_id/checkout_url and POST /invoices/:id/payment_url take no body. */
export const EmptyBody = z.object({}).catchall(z.unknown());

/** PUT /invoices/:lago_id (Lago's InvoiceUpdateInput: payment_status and metadata). */
export const InvoiceUpdateBody = z.object({
  invoice: z.object({
    payment_status: z.enum(['pending', 'succeeded', 'failed']).optional(),
    metadata: z.array(z.object({ key: z.string().min(1).max(255), value: z.string().max(1000) })).max(50).optional(),
  }),
});
