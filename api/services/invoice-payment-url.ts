// One flow for a provider checkout link that pays an invoice's amount due (review mend D1): POST
// /invoices/:lago_id/payment_url and POST /wallet_transactions/:lago_id/payment_url (a pending purchase's top-up
// invoice) both call it. The invoice must be finalized, not voided, with an amount due; the organization needs a
// payment provider; a customer without a provider customer gets one first (syncCustomer is idempotent on the
// customer), stored before the link is asked for.
import type { PaymentProvider } from '../../activities/payment-provider';
import { getCollectionContext, getProviderConfig, setProviderCustomerId, type CollectionContext, type ProviderConfig } from '../../db/repositories/payments';
import type { RouteContext } from '../context';
import { ApiError, notFound } from '../errors';

export type ProviderFactory = (config: ProviderConfig) => PaymentProvider;

/** The organization's provider, or 422 payment_provider_not_configured. */
export async function providerOfOrganization(ctx: RouteContext, providerFor: ProviderFactory, organizationId: string): Promise<{ provider: PaymentProvider; config: ProviderConfig }> {
  const config = await getProviderConfig(ctx.db, organizationId);
  if (!config) throw new ApiError(422, 'payment_provider_not_configured', 'No payment provider is configured for this organization');
  return { provider: providerFor(config), config };
}

/** A checkout link for the invoice's amount due, and the invoice it pays. 404 / 422 as Lago. */
export async function invoicePaymentUrl(
  ctx: RouteContext,
  providerFor: ProviderFactory,
  organizationId: string,
  invoiceId: string,
): Promise<{ invoice: CollectionContext; url: string }> {
  const inv = await getCollectionContext(ctx.db, organizationId, invoiceId);
  if (!inv || inv.status === 'deleted') throw notFound('invoice'); // a deleted draft (del13) is not found
  if (inv.status !== 'finalized' || inv.voided) throw new ApiError(422, 'invoice_not_payable', `A ${inv.voided ? 'voided' : inv.status} invoice cannot be paid`);
  if (inv.paymentStatus === 'succeeded' || inv.totalDueAmountCents <= 0) throw new ApiError(422, 'invoice_payment_already_succeeded', 'The invoice is already paid');
  const { provider, config } = await providerOfOrganization(ctx, providerFor, organizationId);
  let providerCustomerId = inv.customer.providerCustomerId;
  if (!providerCustomerId) {
    ({ providerCustomerId } = await provider.syncCustomer({ customerId: inv.customer.id, externalCustomerId: inv.customer.externalId, name: inv.customer.name, email: inv.customer.email, providerCustomerId: null }));
    await setProviderCustomerId(ctx.db, organizationId, inv.customer.id, providerCustomerId);
  }
  const { url } = await provider.createInvoicePaymentUrl({
    providerCustomerId,
    invoiceId: inv.invoiceId,
    invoiceNumber: inv.number,
    amountCents: inv.totalDueAmountCents,
    currency: inv.currency,
    successUrl: config.successRedirectUrl ?? 'https://www.getlago.com/',
  });
  return { invoice: inv, url };
}
