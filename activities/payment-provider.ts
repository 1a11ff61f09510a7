// The payment-provider port: what Meterline needs from a PSP, in its own terms. Stripe is the first adapter
// (adapters/stripe/); tests use the same adapter against a stateful fake of Stripe's HTTP API.
//
// Amounts are integer minor units of the invoice currency (`*AmountCents`); an adapter converts them to the
// provider's own representation with one function (Stripe: billing/stripe-amount.ts toStripeMinorUnits).
//
// Errors are classified by the adapter at the source:
// - permanent (card declined, invalid request, authentication with the provider failed, idempotency key reused
//   with other parameters) → non-retryable ApplicationFailure with one of PAYMENT_FAILURE_TYPES and the
//   provider's codes in `details[0]` (PaymentFailureDetails);
// - transient (rate limits, timeouts, connection errors, 5xx) → rethrown unchanged: the activity retry policy
//   retries with the SAME idempotency key.

/** Stable ApplicationFailure types of payment failures (non-retryable). */
export const PAYMENT_FAILURE_TYPES = {
  declined: 'payment_declined',
  invalidRequest: 'payment_invalid_request',
  providerAuthentication: 'payment_provider_authentication_failed',
  idempotencyConflict: 'payment_idempotency_conflict',
  noPaymentMethod: 'payment_method_missing',
  notConfigured: 'payment_provider_not_configured',
} as const;

export type PaymentFailureType = (typeof PAYMENT_FAILURE_TYPES)[keyof typeof PAYMENT_FAILURE_TYPES];

/** details[0] of a payment ApplicationFailure. */
export interface PaymentFailureDetails {
  /** Provider error code, e.g. "card_declined", "resource_missing". */
  code: string | null;
  /** Card decline code, e.g. "insufficient_funds" (declines only). */
  declineCode: string | null;
  /** The provider's payment object created by the failed attempt (a declined PaymentIntent), if any. */
  providerPaymentId: string | null;
  /** Provider request id, for support. */
  requestId: string | null;
}

/** Where a provider payment stands. `requires_action`: the customer must authenticate (3-D Secure). */
export type ProviderPaymentStatus = 'succeeded' | 'processing' | 'requires_action' | 'failed' | 'canceled';

export interface ProviderPayment {
  providerPaymentId: string;
  status: ProviderPaymentStatus;
  /** Amount in the invoice currency's minor units. */
  amountCents: number;
  currency: string;
  /** Set when status is failed. */
  declineCode: string | null;
}

export interface ProviderCustomerInput {
  /** Meterline customer id (lago_id), stored in the provider's metadata. */
  customerId: string;
  externalCustomerId: string;
  name: string | null;
  email: string | null;
  /** Link to this existing provider customer instead of creating one. */
  providerCustomerId: string | null;
}

export interface PaymentAttemptInput {
  invoiceId: string;
  /** 1-based attempt number from the invoice workflow's state. */
  attempt: number;
  /** `invoice:<id>:attempt:<n>` (paymentIdempotencyKey). */
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  providerCustomerId: string;
  /** Invoice number, for the statement descriptor / description. */
  invoiceNumber: string | null;
}

export interface RefundInput {
  providerPaymentId: string;
  amountCents: number;
  currency: string;
  /** e.g. `credit_note:<id>:refund`. */
  idempotencyKey: string;
  /** Stored in the provider's metadata. */
  reference: string;
  /** The credit note the refund is for, stored in the provider's metadata (`lago_credit_note_id`): findRefund's key. */
  creditNoteId: string;
}

export interface ProviderRefund {
  providerRefundId: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled' | 'requires_action';
  amountCents: number;
}

export interface PaymentProvider {
  /** Lago's payment_provider value ("stripe"). */
  readonly name: 'stripe';
  /** Creates the provider customer (idempotent on the Meterline customer id) or checks the given one exists. */
  syncCustomer(input: ProviderCustomerInput): Promise<{ providerCustomerId: string }>;
  /** A hosted page where the customer saves a payment method for later off-session charges. */
  createSetupCheckoutUrl(input: { providerCustomerId: string; customerId: string; successUrl: string }): Promise<{ url: string }>;
  /** A hosted page where the customer pays this invoice (3-D Secure, or a new card). */
  createInvoicePaymentUrl(input: {
    providerCustomerId: string;
    invoiceId: string;
    invoiceNumber: string | null;
    amountCents: number;
    currency: string;
    successUrl: string;
  }): Promise<{ url: string }>;
  /**
   * The provider payment already created for this invoice and attempt, looked up by metadata (never by the
   * idempotency key, which the provider forgets after 24 h); null when there is none.
   */
  findPayment(input: { providerCustomerId: string; invoiceId: string; attempt: number }): Promise<ProviderPayment | null>;
  /** Charges the customer's saved payment method off-session. A decline throws (see the header). */
  createPayment(input: PaymentAttemptInput): Promise<ProviderPayment>;
  /** Refunds (part of) a succeeded payment; the path credit notes will use. */
  refund(input: RefundInput): Promise<ProviderRefund>;
  /**
   * The refund already created for this credit note on this payment, looked up by metadata (never by the
   * idempotency key: the provider forgets it after 24 h, and replays a cached 500 while it remembers); null if none.
   */
  findRefund(input: { providerPaymentId: string; creditNoteId: string }): Promise<ProviderRefund | null>;
  /** The payment methods attached to the provider customer, the one its invoices are charged with marked default. */
  listPaymentMethods(providerCustomerId: string): Promise<ProviderPaymentMethod[]>;
  /** Makes the method the provider customer's default for off-session charges (idempotent). */
  setDefaultPaymentMethod(input: { providerCustomerId: string; providerMethodId: string }): Promise<void>;
  /** Detaches the method from its customer; a method already detached is success. */
  detachPaymentMethod(providerMethodId: string): Promise<void>;
}

export interface ProviderPaymentMethod {
  providerMethodId: string;
  isDefault: boolean;
}

/** The idempotency key of a payment attempt: business ids only (CONVENTIONS "Errors"). */
export function paymentIdempotencyKey(invoiceId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new Error(`attempt must be a positive integer, got ${String(attempt)}`);
  return `invoice:${invoiceId}:attempt:${attempt}`;
}
