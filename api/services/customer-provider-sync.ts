// Lago's billing_configuration.sync_with_provider: a customer with `payment_provider: "stripe"` and no
// provider_customer_id gets its Stripe customer created when it is written (after the commit: never a network
// call under a row lock), idempotent on the customer (the adapter's key `customer:<id>:create`), and the app
// hears of it: `customer.payment_provider_created` (the customer object), or `customer.payment_provider_error`
// (Lago's payment_provider_customer_error) when Stripe refuses. A failure never fails the request: the first
// payment attempt creates the Stripe customer again the same way. Without a Stripe connection nothing is attempted.
import { ApplicationFailure } from '@temporalio/common';
import { getCustomerByExternalId, type CustomerRecord } from '../../db/repositories/customers';
import { getProviderConfig, setProviderCustomerId } from '../../db/repositories/payments';
import { enqueueWebhook } from '../../db/repositories/webhooks';
import type { RouteContext } from '../context';

export async function syncProviderCustomer(ctx: RouteContext, organizationId: string, customer: CustomerRecord, syncWithProvider: boolean): Promise<CustomerRecord> {
  if (!syncWithProvider || customer.paymentProvider !== 'stripe' || customer.providerCustomerId !== null || !ctx.paymentProviderFor) return customer;
  const config = await getProviderConfig(ctx.db, organizationId);
  if (!config) return customer;
  try {
    const { providerCustomerId } = await ctx.paymentProviderFor(config).syncCustomer({
      customerId: customer.id,
      externalCustomerId: customer.externalId,
      name: customer.name,
      email: customer.email,
      providerCustomerId: null,
    });
    await ctx.db.transaction(async (trx) => {
      await setProviderCustomerId(trx, organizationId, customer.id, providerCustomerId);
      await enqueueWebhook(trx, {
        organizationId,
        webhookType: 'customer.payment_provider_created',
        objectType: 'customer',
        object: { lago_id: customer.id, external_id: customer.externalId, billing_configuration: { payment_provider: 'stripe', payment_provider_code: config.code, provider_customer_id: providerCustomerId } },
        uniqueKey: `customer.payment_provider_created:${customer.id}:${providerCustomerId}`,
      });
    });
  } catch (err) {
    const failure = err instanceof ApplicationFailure ? err : null;
    if (!failure) ctx.logger.warn('payment provider customer sync failed', { organizationId, customerId: customer.id, error: String(err) });
    const details = (failure?.details?.[0] ?? {}) as { code?: string | null };
    await ctx.db.transaction((trx) =>
      enqueueWebhook(trx, {
        organizationId,
        webhookType: 'customer.payment_provider_error',
        objectType: 'payment_provider_customer_error',
        objectId: customer.id,
        object: {
          lago_customer_id: customer.id,
          external_customer_id: customer.externalId,
          payment_provider: 'stripe',
          payment_provider_code: config.code,
          provider_error: { message: failure?.message ?? 'Stripe customer creation failed', error_code: details.code ?? failure?.type ?? null },
        },
        uniqueKey: `customer.payment_provider_error:${customer.id}:${customer.updatedAt.toISOString()}`,
      }),
    );
    return customer;
  }
  return (await getCustomerByExternalId(ctx.db, organizationId, customer.externalId)) ?? customer;
}
