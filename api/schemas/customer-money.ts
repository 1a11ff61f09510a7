// Queries and bodies of Lago's customer-and-money operations (issue 13, ops13a: api/routes/customer-money.ts).
import { z } from 'zod';
import { currencyCode, paginationQuery } from './common';
import { CreditNoteListQuery } from './credits';
import { InvoiceListQuery } from './invoices';
import { WalletCreateBody, WalletListQuery } from './wallets';

const lagoId = z.string().max(64);

/** GET /customers/:external_customer_id/invoices: GET /invoices' filters, the customer fixed by the path. */
export const CustomerInvoiceListQuery = InvoiceListQuery.omit({ external_customer_id: true });
/** GET /customers/:external_customer_id/credit_notes. */
export const CustomerCreditNoteListQuery = CreditNoteListQuery.omit({ external_customer_id: true });
/** GET /customers/:external_customer_id/applied_coupons (`coupon_code[]` is read from the query as well). */
export const CustomerAppliedCouponListQuery = paginationQuery.extend({
  status: z.enum(['active', 'terminated']).optional(),
  coupon_code: z.union([z.string().max(255), z.array(z.string().max(255)).max(100)]).optional(),
});
/** GET /customers/:external_customer_id/wallets. */
export const CustomerWalletListQuery = WalletListQuery.omit({ external_customer_id: true });

export const PaymentListQuery = paginationQuery.extend({
  external_customer_id: z.string().max(255).optional(),
  invoice_id: lagoId.optional(),
});
export const CustomerPaymentListQuery = PaymentListQuery.omit({ external_customer_id: true });

export const PaymentReceiptListQuery = paginationQuery.extend({ invoice_id: lagoId.optional() });

const paymentStatus = z.enum(['pending', 'succeeded', 'failed']);
export const PaymentRequestListQuery = paginationQuery.extend({
  external_customer_id: z.string().max(255).optional(),
  currency: currencyCode.optional(),
  payment_status: paymentStatus.optional(),
});
export const CustomerPaymentRequestListQuery = PaymentRequestListQuery.omit({ external_customer_id: true });

/** Lago's PaymentRequestCreateInput: a request to pay the customer's overdue invoices (one currency). */
export const PaymentRequestCreateBody = z.object({
  payment_request: z.object({
    external_customer_id: z.string().min(1).max(255),
    email: z.string().email('invalid_email_format').max(255),
    lago_invoice_ids: z.array(lagoId).min(1, 'no_invoices').max(100),
    payment_method: z.object({ payment_method_type: z.enum(['provider', 'manual']).optional(), payment_method_id: z.string().max(64).nullable().optional() }).optional(),
  }),
});

/** POST /customers/:external_customer_id/wallets: Lago's WalletCreateInput; the path names the customer. */
export const CustomerWalletCreateBody = z.object({
  wallet: WalletCreateBody.shape.wallet.extend({ external_customer_id: z.string().min(1).max(255).optional() }),
});
