// The Stripe adapter of the payment-provider port (activities/payment-provider.ts), on the `stripe` SDK.
//
// - Every write carries an idempotency key from business ids (the SDK's default key is random per call);
//   the SDK's own network retries are off (maxNetworkRetries 0): the activity retry policy retries with the
//   same key.
// - Payments: an off-session, confirmed PaymentIntent on the customer's default payment method, metadata
//   {lago_invoice_id, lago_payment_attempt}. Before creating one, `findPayment` lists the customer's
//   PaymentIntents and filters on that metadata: the list endpoint is strongly consistent, while the search
//   endpoint (`/v1/payment_intents/search`) lags by up to about a minute, exactly the window of a retried
//   activity. Bounded to the customer's most recent 100 PaymentIntents (documented bound).
// - Amounts only through billing/stripe-amount.ts toStripeMinorUnits.
import Stripe from 'stripe';
import { fromStripeMinorUnits, toStripeMinorUnits } from '../../billing/stripe-amount';
import {
  PAYMENT_FAILURE_TYPES,
  type PaymentAttemptInput,
  type PaymentProvider,
  type ProviderCustomerInput,
  type ProviderPayment,
  type ProviderPaymentMethod,
  type ProviderPaymentStatus,
  type ProviderRefund,
  type RefundInput,
} from '../../activities/payment-provider';
import { ApplicationFailure } from '@temporalio/common';
import { classifiedStripe, isAuthenticationRequired } from './errors';

export interface StripeClientOptions {
  secretKey: string;
  /** Tests: Stripe.createFetchHttpClient(fakeFetch). */
  httpClient?: Stripe.HttpClient;
  timeoutMs?: number;
  /** Another Stripe API base URL (METERLINE_STRIPE_API_BASE: stripe-mock, a test fake), e.g. `http://127.0.0.1:12111`. */
  apiBase?: string;
}

/** The SDK's host/port/protocol options of an API base URL (`https://api.stripe.com` when absent). */
export function stripeHostOptions(apiBase: string | undefined): { host?: string; port?: number; protocol?: 'http' | 'https' } {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

export function createStripeClient(opts: StripeClientOptions): Stripe {
  return new Stripe(opts.secretKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs ?? 30_000,
    telemetry: false,
    ...stripeHostOptions(opts.apiBase),
    ...(opts.httpClient ? { httpClient: opts.httpClient } : {}),
  });
}

export function paymentStatusOf(pi: Stripe.PaymentIntent): ProviderPaymentStatus {
  switch (pi.status) {
    case 'succeeded':
      return 'succeeded';
    case 'processing':
    case 'requires_capture':
      return 'processing';
    case 'requires_action':
    case 'requires_confirmation':
      return 'requires_action';
    case 'canceled':
      return 'canceled';
    case 'requires_payment_method':
    default:
      return 'failed';
  }
}

function toPayment(pi: Stripe.PaymentIntent): ProviderPayment {
  const currency = pi.currency.toUpperCase();
  return {
    providerPaymentId: pi.id,
    status: paymentStatusOf(pi),
    amountCents: fromStripeMinorUnits(pi.amount, currency),
    currency,
    declineCode: pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code ?? null,
  };
}

function toRefund(refund: Stripe.Refund): ProviderRefund {
  return {
    providerRefundId: refund.id,
    status: (refund.status ?? 'pending') as ProviderRefund['status'],
    amountCents: fromStripeMinorUnits(refund.amount, refund.currency.toUpperCase()),
  };
}

export class StripePaymentProvider implements PaymentProvider {
  readonly name = 'stripe' as const;

  constructor(private readonly stripe: Stripe) {}

  async syncCustomer(input: ProviderCustomerInput): Promise<{ providerCustomerId: string }> {
    return classifiedStripe(async () => {
      if (input.providerCustomerId) {
        const existing = await this.stripe.customers.retrieve(input.providerCustomerId);
        if ((existing as Stripe.DeletedCustomer).deleted) {
          throw ApplicationFailure.create({
            message: `Stripe customer ${input.providerCustomerId} is deleted`,
            type: PAYMENT_FAILURE_TYPES.invalidRequest,
            nonRetryable: true,
            details: [{ code: 'resource_missing', declineCode: null, providerPaymentId: null, requestId: null }],
          });
        }
        return { providerCustomerId: existing.id };
      }
      const created = await this.stripe.customers.create(
        {
          ...(input.name ? { name: input.name } : {}),
          ...(input.email ? { email: input.email } : {}),
          metadata: { lago_customer_id: input.customerId, customer_id: input.externalCustomerId },
        },
        { idempotencyKey: `customer:${input.customerId}:create` },
      );
      return { providerCustomerId: created.id };
    });
  }

  async createSetupCheckoutUrl(input: { providerCustomerId: string; customerId: string; successUrl: string }): Promise<{ url: string }> {
    return classifiedStripe(async () => {
      const session = await this.stripe.checkout.sessions.create({
        mode: 'setup',
        customer: input.providerCustomerId,
        success_url: input.successUrl,
        setup_intent_data: { metadata: { lago_customer_id: input.customerId } },
      });
      if (!session.url) throw new Error('Stripe returned a checkout session without url');
      return { url: session.url };
    });
  }

  async createInvoicePaymentUrl(input: {
    providerCustomerId: string;
    invoiceId: string;
    invoiceNumber: string | null;
    amountCents: number;
    currency: string;
    successUrl: string;
  }): Promise<{ url: string }> {
    return classifiedStripe(async () => {
      const session = await this.stripe.checkout.sessions.create({
        mode: 'payment',
        customer: input.providerCustomerId,
        success_url: input.successUrl,
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: input.currency.toLowerCase(),
              unit_amount: toStripeMinorUnits(input.amountCents, input.currency),
              product_data: { name: `Invoice ${input.invoiceNumber ?? input.invoiceId}` },
            },
          },
        ],
        payment_intent_data: { metadata: { lago_invoice_id: input.invoiceId, lago_payment_attempt: 'payment_url' } },
        metadata: { lago_invoice_id: input.invoiceId },
      });
      if (!session.url) throw new Error('Stripe returned a checkout session without url');
      return { url: session.url };
    });
  }

  async findPayment(input: { providerCustomerId: string; invoiceId: string; attempt: number }): Promise<ProviderPayment | null> {
    return classifiedStripe(async () => {
      const page = await this.stripe.paymentIntents.list({ customer: input.providerCustomerId, limit: 100 });
      const match = page.data.find(
        (pi) => pi.metadata?.lago_invoice_id === input.invoiceId && pi.metadata?.lago_payment_attempt === String(input.attempt),
      );
      return match ? toPayment(match) : null;
    });
  }

  private async defaultPaymentMethod(providerCustomerId: string): Promise<string> {
    const customer = await this.stripe.customers.retrieve(providerCustomerId);
    const fromSettings = (customer as Stripe.Customer).invoice_settings?.default_payment_method;
    if (fromSettings) return typeof fromSettings === 'string' ? fromSettings : fromSettings.id;
    const methods = await this.stripe.paymentMethods.list({ customer: providerCustomerId, limit: 1 });
    const first = methods.data[0];
    if (!first) {
      throw ApplicationFailure.create({
        message: `Stripe customer ${providerCustomerId} has no payment method`,
        type: PAYMENT_FAILURE_TYPES.noPaymentMethod,
        nonRetryable: true,
        details: [{ code: 'payment_method_missing', declineCode: null, providerPaymentId: null, requestId: null }],
      });
    }
    return first.id;
  }

  async createPayment(input: PaymentAttemptInput): Promise<ProviderPayment> {
    return classifiedStripe(async () => {
      const paymentMethod = await this.defaultPaymentMethod(input.providerCustomerId);
      try {
        const pi = await this.stripe.paymentIntents.create(
          {
            amount: toStripeMinorUnits(input.amountCents, input.currency),
            currency: input.currency.toLowerCase(),
            customer: input.providerCustomerId,
            payment_method: paymentMethod,
            confirm: true,
            off_session: true,
            description: `Invoice ${input.invoiceNumber ?? input.invoiceId}`,
            metadata: { lago_invoice_id: input.invoiceId, lago_payment_attempt: String(input.attempt) },
          },
          { idempotencyKey: input.idempotencyKey },
        );
        return toPayment(pi);
      } catch (err) {
        // Off-session 3-D Secure: Stripe answers 402 authentication_required with the PaymentIntent; the
        // customer must come back on session (payment_url). Not a decline.
        if (isAuthenticationRequired(err)) {
          const raw = err.raw as { payment_intent?: Stripe.PaymentIntent };
          const pi = raw.payment_intent;
          if (pi?.id) return { ...toPayment(pi), status: 'requires_action', declineCode: 'authentication_required' };
        }
        throw err;
      }
    });
  }

  async refund(input: RefundInput): Promise<ProviderRefund> {
    return classifiedStripe(async () => {
      const refund = await this.stripe.refunds.create(
        {
          payment_intent: input.providerPaymentId,
          amount: toStripeMinorUnits(input.amountCents, input.currency),
          metadata: { lago_reference: input.reference, lago_credit_note_id: input.creditNoteId },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      return toRefund(refund);
    });
  }

  async findRefund(input: { providerPaymentId: string; creditNoteId: string }): Promise<ProviderRefund | null> {
    return classifiedStripe(async () => {
      // The list endpoint is strongly consistent; a PaymentIntent has few refunds (bounded to its latest 100).
      const list = await this.stripe.refunds.list({ payment_intent: input.providerPaymentId, limit: 100 });
      const found = list.data.find((r) => r.metadata?.lago_credit_note_id === input.creditNoteId);
      return found ? toRefund(found) : null;
    });
  }

  async listPaymentMethods(providerCustomerId: string): Promise<ProviderPaymentMethod[]> {
    return classifiedStripe(async () => {
      const customer = (await this.stripe.customers.retrieve(providerCustomerId)) as Stripe.Customer;
      const d = customer.invoice_settings?.default_payment_method;
      const defaultId = d ? (typeof d === 'string' ? d : d.id) : null;
      const list = await this.stripe.paymentMethods.list({ customer: providerCustomerId, limit: 100 });
      return list.data.map((pm) => ({ providerMethodId: pm.id, isDefault: pm.id === defaultId }));
    });
  }

  async setDefaultPaymentMethod(input: { providerCustomerId: string; providerMethodId: string }): Promise<void> {
    await classifiedStripe(() => this.stripe.customers.update(input.providerCustomerId, { invoice_settings: { default_payment_method: input.providerMethodId } }));
  }

  async detachPaymentMethod(providerMethodId: string): Promise<void> {
    await classifiedStripe(async () => {
      // Detaching twice is refused by Stripe: a method already detached (no customer) is done.
      const pm = await this.stripe.paymentMethods.retrieve(providerMethodId);
      if (pm.customer === null) return;
      await this.stripe.paymentMethods.detach(providerMethodId);
    });
  }
}
