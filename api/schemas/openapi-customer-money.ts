// The OpenAPI part of Lago's customer-and-money operations (issue 13, ops13a: api/routes/customer-money.ts), merged
// into api/schemas/openapi.ts method by method (several paths already hold other methods).
import {
  CustomerAppliedCouponListQuery,
  CustomerCreditNoteListQuery,
  CustomerInvoiceListQuery,
  CustomerPaymentListQuery,
  CustomerPaymentRequestListQuery,
  CustomerWalletCreateBody,
  CustomerWalletListQuery,
  PaymentListQuery,
  PaymentReceiptListQuery,
  PaymentRequestCreateBody,
  PaymentRequestListQuery,
} from './customer-money';
import { errorAnswers, idempotencyKeyHeader, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';

const errors = errorAnswers(['400', '401', '404', '422'], '`customer_not_found`, `invoice_not_found`, `payment_not_found`, `payment_receipt_not_found`, `payment_request_not_found`, `wallet_not_found`, `fee_not_found`');
const ok = (name: string) => ({ ...okResponse(name), ...errors });

function paths(): Record<string, Record<string, unknown>> {
  const customer = [pathParam('external_customer_id')];
  const wallet = [...customer, pathParam('code')];
  const lagoId = [pathParam('lago_id')];
  return {
    '/customers/{external_customer_id}/invoices': {
      get: { summary: "The customer's invoices (GET /invoices' filters)", parameters: [...customer, ...queryParameters(CustomerInvoiceListQuery)], responses: ok('InvoiceListResponse') },
    },
    '/customers/{external_customer_id}/credit_notes': {
      get: { summary: "The customer's credit notes", parameters: [...customer, ...queryParameters(CustomerCreditNoteListQuery)], responses: ok('CreditNoteListResponse') },
    },
    '/customers/{external_customer_id}/applied_coupons': {
      get: {
        summary: "The customer's applied coupons (status, coupon_code[])",
        parameters: [...customer, ...queryParameters(CustomerAppliedCouponListQuery)],
        responses: ok('AppliedCouponListResponse'),
      },
    },
    '/customers/{external_customer_id}/payments': {
      get: { summary: "The customer's payments, newest first", parameters: [...customer, ...queryParameters(CustomerPaymentListQuery)], responses: ok('PaymentListResponse') },
    },
    '/customers/{external_customer_id}/payment_requests': {
      get: { summary: "The customer's payment requests", parameters: [...customer, ...queryParameters(CustomerPaymentRequestListQuery)], responses: ok('PaymentRequestListResponse') },
    },
    '/customers/{external_customer_id}/wallets': {
      get: { summary: "The customer's wallets", parameters: [...customer, ...queryParameters(CustomerWalletListQuery)], responses: ok('WalletListResponse') },
      post: { summary: 'Create a wallet for the customer (as POST /wallets)', parameters: [...customer, idempotencyKeyHeader], requestBody: jsonBody('CustomerWalletCreateInput'), responses: ok('WalletResponse') },
    },
    '/customers/{external_customer_id}/wallets/{code}': {
      get: { summary: "The customer's wallet with this code (the active one, else the last terminated)", parameters: wallet, responses: ok('WalletResponse') },
      put: { summary: "Update the customer's wallet with this code", parameters: wallet, requestBody: jsonBody('WalletUpdateInput'), responses: ok('WalletResponse') },
      delete: { summary: "Terminate the customer's wallet with this code", parameters: wallet, responses: ok('WalletResponse') },
    },
    '/payments': { get: { summary: 'List payments (manual and provider), newest first', parameters: queryParameters(PaymentListQuery), responses: ok('PaymentListResponse') } },
    '/payments/{lago_id}': { get: { summary: 'Retrieve a payment', parameters: lagoId, responses: ok('PaymentResponse') } },
    '/payment_receipts': { get: { summary: 'List payment receipts (one per succeeded payment)', parameters: queryParameters(PaymentReceiptListQuery), responses: ok('PaymentReceiptListResponse') } },
    '/payment_receipts/{lago_id}': { get: { summary: 'Retrieve a payment receipt', parameters: lagoId, responses: ok('PaymentReceiptResponse') } },
    '/payment_requests': {
      post: {
        summary: "Request the payment of a customer's overdue invoices (one currency): each invoice's workflow makes a payment attempt now",
        parameters: [idempotencyKeyHeader],
        requestBody: jsonBody('PaymentRequestCreateInput'),
        responses: ok('PaymentRequestResponse'),
      },
      get: { summary: 'List payment requests', parameters: queryParameters(PaymentRequestListQuery), responses: ok('PaymentRequestListResponse') },
    },
    '/payment_requests/{lago_id}': { get: { summary: 'Retrieve a payment request (payment_status derived from its invoices)', parameters: lagoId, responses: ok('PaymentRequestResponse') } },
    '/wallet_transactions/{lago_id}/payment_url': {
      post: {
        summary: "A provider checkout link for a pending purchase's top-up invoice (405 wallet_transaction_not_payable otherwise)",
        parameters: lagoId,
        responses: { ...ok('WalletTransactionPaymentUrlResponse'), ...errorAnswers(['405']) },
      },
    },
    '/fees/{lago_id}': {
      delete: {
        summary: 'Delete a fee on no invoice (soft: its event is never billed again); 405 invoiced_fee for an invoiced fee',
        parameters: lagoId,
        responses: { ...ok('FeeResponse'), ...errorAnswers(['405']) },
      },
    },
  };
}

/** Adds the customer-and-money paths (method by method) and their request bodies to the document. */
export function addCustomerMoneyOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(paths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.CustomerWalletCreateInput = schemaOf(CustomerWalletCreateBody);
  doc.components.schemas.PaymentRequestCreateInput = schemaOf(PaymentRequestCreateBody);
}
