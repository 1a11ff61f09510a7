// A finalized invoice (through the real invoice activities) with a Stripe connection backed by the fake.
import type { Knex } from 'knex';
import { createActivities } from '../../activities';
import type { PaymentProvider } from '../../activities/payment-provider';
import { createPaymentActivities, type PaymentActivityDeps } from '../../activities/payments';
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { upsertDunningCampaign, upsertProviderConfig, type DunningCampaign } from '../../db/repositories/payments';
import { FakeStripe } from './fake-stripe';
import { createBillingSetup } from './fixtures';

export const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

export interface PaymentSetupOptions {
  /** Plan fee in cents (the invoice total). */
  amountCents?: number;
  /** Connect Stripe for the organization (default true). */
  stripe?: boolean;
  webhookSecret?: string;
  campaign?: DunningCampaign;
  /** Wraps the provider (e.g. to crash after a call). */
  wrapProvider?: (p: PaymentProvider) => PaymentProvider;
}

export async function finalizedInvoiceSetup(db: Knex, opts: PaymentSetupOptions = {}) {
  const s = await createBillingSetup(db, { planAmountCents: opts.amountCents ?? 1999, metrics: [], charges: () => [] });
  const billing = createActivities({ db });
  const draft = await billing.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  const ref = { organizationId: s.org.id, invoiceId: draft.invoiceId };
  await billing.finalizeInvoice(ref);
  const fake = new FakeStripe();
  if (opts.stripe !== false) {
    await upsertProviderConfig(db, { organizationId: s.org.id, code: 'stripe-test', secretKey: 'sk_test_fake', webhookSecret: opts.webhookSecret ?? 'whsec_test', successRedirectUrl: 'https://example.test/thanks' });
  }
  if (opts.campaign) await upsertDunningCampaign(db, s.org.id, { ...opts.campaign, appliedToOrganization: true });
  const deps: PaymentActivityDeps = {
    db,
    providerFor: (cfg) => {
      const p = new StripePaymentProvider(fake.client(cfg.secretKey));
      return opts.wrapProvider ? opts.wrapProvider(p) : p;
    },
  };
  const payments = createPaymentActivities(deps);
  return { ...s, ref, fake, payments, deps };
}

/** Creates the Stripe customer of the setup's customer (as the first attempt would) and gives it a card. */
export async function linkCard(db: Knex, setup: Awaited<ReturnType<typeof finalizedInvoiceSetup>>, behaviour: Parameters<FakeStripe['addCard']>[1] = 'succeeds') {
  const provider = new StripePaymentProvider(setup.fake.client());
  const { providerCustomerId } = await provider.syncCustomer({ customerId: setup.customer.id, externalCustomerId: 'ext', name: null, email: null, providerCustomerId: null });
  await db('customers').where({ id: setup.customer.id }).update({ payment_provider: 'stripe', provider_customer_id: providerCustomerId });
  const pm = setup.fake.addCard(providerCustomerId, behaviour);
  return { providerCustomerId, pm };
}
