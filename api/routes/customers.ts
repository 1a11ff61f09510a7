import { Router } from 'express';
import { getCustomerByExternalId, hasLiveSubscription, type CustomerRecord } from '../../db/repositories/customers';
import { setTaxes, taxesOf, type TaxRecord } from '../../db/repositories/taxes';
import { serializeTax } from './taxes';
import { resolveTaxCodes } from './tax-codes';
import { verifyCustomerVatNumber } from '../../adapters/vies/customer-check';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { currencyError, customerCurrencyChangeViolation } from '../currency-policy';
import { notFound } from '../errors';
import { resolveBillingEntity } from './billing-entities';
import { iso, parseBody } from '../schemas/common';
import { CustomerCreateBody } from '../schemas/customers';
import { upsertCustomerAnnounced } from '../webhooks/producers';
import { syncProviderCustomer } from '../services/customer-provider-sync';

export function serializeCustomer(c: CustomerRecord, defaultTimezone = 'UTC', taxes: TaxRecord[] = []) {
  return {
    lago_id: c.id,
    sequential_id: c.sequentialId,
    slug: `CUST-${String(c.sequentialId).padStart(6, '0')}`,
    external_id: c.externalId,
    name: c.name,
    email: c.email,
    currency: c.currency,
    timezone: c.timezone,
    // Lago: the customer's timezone, else its billing entity's (the default entity's is the organization's).
    applicable_timezone: c.timezone ?? c.billingEntityTimezone ?? defaultTimezone,
    country: c.country,
    tax_identification_number: c.taxIdentificationNumber,
    customer_type: c.customerType,
    state: c.state,
    zipcode: c.zipcode,
    net_payment_term: c.netPaymentTerm,
    billing_entity_code: c.billingEntityCode,
    account_type: 'customer',
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    billing_configuration: {
      ...c.billingConfiguration,
      ...(c.invoiceGracePeriod !== null ? { invoice_grace_period: c.invoiceGracePeriod } : {}),
      ...(c.paymentProvider !== null ? { payment_provider: c.paymentProvider, provider_customer_id: c.providerCustomerId } : {}),
    },
    metadata: [],
    taxes: taxes.map(serializeTax),
    integration_customers: [],
  };
}

export function customerRoutes(ctx: RouteContext): Router {
  const r = Router();

  // Lago: create-or-update by external_id; 200 either way.
  r.post('/customers', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(CustomerCreateBody, req.body).customer;
    if (input.currency !== undefined) {
      // A live subscription pins the customer's currency (api/currency-policy.ts).
      const existing = await getCustomerByExternalId(ctx.db, organizationId, input.external_id);
      const live = existing !== null && existing.currency !== input.currency && (await hasLiveSubscription(ctx.db, organizationId, existing.id));
      const violation = existing ? customerCurrencyChangeViolation(existing.currency, input.currency, live) : null;
      if (violation) throw currencyError(violation);
    }
    const { invoice_grace_period: gracePeriod, payment_provider: paymentProvider, provider_customer_id: providerCustomerId, ...billingRest } = input.billing_configuration ?? {};
    // Unknown tax codes → 404 tax_not_found before anything is written; the customer, its taxes and the
    // customer.created / customer.updated webhook in one transaction.
    const taxes = input.tax_codes !== undefined ? await resolveTaxCodes(ctx.db, organizationId, input.tax_codes, 'tax_codes') : undefined;
    // Lago's BillingEntities::ResolveService: an unknown code (or another organization's) → 404 billing_entity_not_found.
    const entity = input.billing_entity_code !== undefined ? await resolveBillingEntity(ctx.db, organizationId, input.billing_entity_code) : undefined;
    const { customer } = await upsertCustomerAnnounced(
      ctx.db,
      organizationId,
      {
        externalId: input.external_id,
        name: input.name,
        email: input.email,
        currency: input.currency,
        timezone: input.timezone,
        country: input.country,
        taxIdentificationNumber: input.tax_identification_number,
        customerType: input.customer_type,
        state: input.state,
        zipcode: input.zipcode,
        invoiceGracePeriod: gracePeriod,
        netPaymentTerm: input.net_payment_term,
        billingConfiguration: input.billing_configuration !== undefined ? billingRest : undefined,
        paymentProvider,
        // Linking a Stripe customer sets the provider; leaving the provider clears the link.
        providerCustomerId: paymentProvider === null ? null : providerCustomerId,
        billingEntityCode: entity?.code,
      },
      async (c, trx) => serializeCustomer(c, defaultTimezoneOf(res), (await taxesOf(trx, organizationId, 'customer', [c.id])).get(c.id) ?? []),
      async (trx, c) => {
        if (taxes) await setTaxes(trx, organizationId, 'customer', c.id, taxes.map((t) => t.id));
      },
    );
    // After the commit (never holding a row lock over a network call): a number not yet confirmed is checked; VIES
    // failures are recorded as unknown, never as invalid, and never fail the request.
    if (ctx.vatNumbers && customer.taxIdentificationNumber && customer.vatNumberStatus !== 'valid' && customer.vatNumberStatus !== 'invalid') {
      await verifyCustomerVatNumber(ctx.db, ctx.vatNumbers, organizationId, customer.id, new Date());
    }
    // sync_with_provider: the Stripe customer is created now (after the commit), announced by webhook.
    const synced = await syncProviderCustomer(ctx, organizationId, customer, input.billing_configuration?.sync_with_provider === true);
    const attached = (await taxesOf(ctx.db, organizationId, 'customer', [synced.id])).get(synced.id) ?? [];
    res.status(200).json({ customer: serializeCustomer(synced, defaultTimezoneOf(res), attached) });
  });

  r.get('/customers/:external_id', async (req, res) => {
    const customer = await getCustomerByExternalId(ctx.db, orgId(res), req.params.external_id);
    if (!customer) throw notFound('customer');
    const taxes = (await taxesOf(ctx.db, orgId(res), 'customer', [customer.id])).get(customer.id) ?? [];
    res.json({ customer: serializeCustomer(customer, defaultTimezoneOf(res), taxes) });
  });

  return r;
}
