// Incoming Stripe webhooks: signature verification on the raw body and the mapping of the events Meterline
// acts on to provider-neutral payment updates. Anything else maps to null (acknowledged, changes nothing).
import Stripe from 'stripe';
import { fromStripeMinorUnits } from '../../billing/stripe-amount';

// Only the webhook helper is used (no API calls): a placeholder key is enough to build the client.
const verifier = new Stripe('sk_webhook_verification_only', { telemetry: false, maxNetworkRetries: 0 });

/** The verified event, or throws Stripe.errors.StripeSignatureVerificationError (tolerance 300 s, Stripe's default). */
export function verifyStripeEvent(rawBody: Buffer, signatureHeader: string | undefined, webhookSecret: string): Stripe.Event {
  return verifier.webhooks.constructEvent(rawBody, signatureHeader ?? '', webhookSecret);
}

export function isSignatureError(err: unknown): boolean {
  return err instanceof Stripe.errors.StripeSignatureVerificationError;
}

export type PaymentUpdateKind = 'succeeded' | 'failed' | 'requires_action' | 'refunded' | 'dispute';

export interface PaymentUpdate {
  kind: PaymentUpdateKind;
  providerPaymentId: string;
  /** From the PaymentIntent's metadata (payment_intent.* events); null for charge events. */
  invoiceId: string | null;
  amountCents: number | null;
  currency: string | null;
  /** charge.refunded: cumulative refunded amount (minor units of the invoice currency). */
  refundedAmountCents: number | null;
  declineCode: string | null;
}

function idOf(v: string | { id: string } | null | undefined): string | null {
  if (!v) return null;
  return typeof v === 'string' ? v : v.id;
}

export function paymentUpdateOf(event: Stripe.Event): PaymentUpdate | null {
  switch (event.type) {
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
    case 'payment_intent.requires_action': {
      const pi = event.data.object;
      const currency = pi.currency.toUpperCase();
      return {
        kind: event.type === 'payment_intent.succeeded' ? 'succeeded' : event.type === 'payment_intent.payment_failed' ? 'failed' : 'requires_action',
        providerPaymentId: pi.id,
        invoiceId: pi.metadata?.lago_invoice_id ?? null,
        amountCents: fromStripeMinorUnits(pi.amount, currency),
        currency,
        refundedAmountCents: null,
        declineCode: pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code ?? null,
      };
    }
    case 'charge.refunded': {
      const charge = event.data.object;
      const pi = idOf(charge.payment_intent);
      if (!pi) return null;
      const currency = charge.currency.toUpperCase();
      return { kind: 'refunded', providerPaymentId: pi, invoiceId: null, amountCents: null, currency, refundedAmountCents: fromStripeMinorUnits(charge.amount_refunded, currency), declineCode: null };
    }
    case 'charge.dispute.created': {
      const dispute = event.data.object;
      const pi = idOf(dispute.payment_intent);
      if (!pi) return null;
      return { kind: 'dispute', providerPaymentId: pi, invoiceId: null, amountCents: null, currency: null, refundedAmountCents: null, declineCode: null };
    }
    default:
      return null;
  }
}
