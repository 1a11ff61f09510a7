import { Router } from 'express';
import { getCustomerByExternalId, type CustomerRecord } from '../../db/repositories/customers';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { iso, parseBody } from '../schemas/common';
import { CustomerCreateBody } from '../schemas/customers';
import { upsertCustomerAnnounced } from '../webhooks/producers';

export function serializeCustomer(c: CustomerRecord, defaultTimezone = 'UTC') {
  return {
    lago_id: c.id,
    sequential_id: c.sequentialId,
    slug: `CUST-${String(c.sequentialId).padStart(6, '0')}`,
    external_id: c.externalId,
    name: c.name,
    email: c.email,
    currency: c.currency,
    timezone: c.timezone,
    applicable_timezone: c.timezone ?? defaultTimezone,
    country: c.country,
    tax_identification_number: c.taxIdentificationNumber,
    account_type: 'customer',
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    billing_configuration: {
      ...c.billingConfiguration,
      ...(c.invoiceGracePeriod !== null ? { invoice_grace_period: c.invoiceGracePeriod } : {}),
    },
    metadata: [],
    taxes: [],
    integration_customers: [],
  };
}

export function customerRoutes(ctx: RouteContext): Router {
  const r = Router();

  // Lago: create-or-update by external_id; 200 either way.
  r.post('/customers', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(CustomerCreateBody, req.body).customer;
    const { invoice_grace_period: gracePeriod, ...billingRest } = input.billing_configuration ?? {};
    // customer.created / customer.updated webhooks commit with the upsert.
    const { customer } = await upsertCustomerAnnounced(ctx.db, organizationId, {
      externalId: input.external_id,
      name: input.name,
      email: input.email,
      currency: input.currency,
      timezone: input.timezone,
      country: input.country,
      taxIdentificationNumber: input.tax_identification_number,
      invoiceGracePeriod: gracePeriod,
      billingConfiguration: input.billing_configuration !== undefined ? billingRest : undefined,
    }, (c) => serializeCustomer(c, defaultTimezoneOf(res)));
    res.status(200).json({ customer: serializeCustomer(customer, defaultTimezoneOf(res)) });
  });

  r.get('/customers/:external_id', async (req, res) => {
    const customer = await getCustomerByExternalId(ctx.db, orgId(res), req.params.external_id);
    if (!customer) throw notFound('customer');
    res.json({ customer: serializeCustomer(customer, defaultTimezoneOf(res)) });
  });

  return r;
}
