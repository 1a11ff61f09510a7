// Lago's payment methods of a customer (issue 13, ops13d):
//   GET    /customers/:external_customer_id/payment_methods                      → {payment_methods, meta}
//   PUT    /customers/:external_customer_id/payment_methods/:lago_id/set_as_default → {payment_method}
//   DELETE /customers/:external_customer_id/payment_methods/:lago_id            → {payment_method} (as it was)
// The methods live at the payment provider (Stripe: cards saved through the checkout_url setup page). A list first
// brings Meterline's rows in line with the provider's (db/repositories/payment-methods.ts syncPaymentMethods) when
// the organization has a provider and the customer a provider customer; without one, the stored rows answer.
// set_as_default is written through to the provider first (Stripe: invoice_settings.default_payment_method, the
// method off-session collection charges), then stored (one default per customer). Delete detaches the method at the
// provider, then soft-deletes it. Chosen rule: the default method cannot be deleted while the customer has other
// methods (422 payment_method: [cannot_delete_default]): set another default first; the only method can go.
import { Router, type Response } from 'express';
import { getCustomerByExternalId, type CustomerRecord } from '../../db/repositories/customers';
import {
  countPaymentMethods,
  deletePaymentMethod,
  getPaymentMethod,
  listPaymentMethods,
  setDefaultPaymentMethod,
  syncPaymentMethods,
  type PaymentMethodRecord,
} from '../../db/repositories/payment-methods';
import { getProviderConfig } from '../../db/repositories/payments';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import type { ProviderFactory } from '../services/invoice-payment-url';

export function serializePaymentMethod(m: PaymentMethodRecord) {
  return {
    lago_id: m.id,
    is_default: m.isDefault,
    payment_provider_code: m.providerCode,
    payment_provider_name: m.providerType === 'stripe' ? 'Stripe' : null,
    payment_provider_type: m.providerType,
    provider_method_id: m.providerMethodId,
    created_at: m.createdAt,
  };
}

export function paymentMethodRoutes(ctx: RouteContext, providerFor: ProviderFactory): Router {
  const r = Router();
  const base = '/customers/:external_customer_id/payment_methods';

  async function customerOf(res: Response, externalId: string): Promise<CustomerRecord> {
    const c = await getCustomerByExternalId(ctx.db, orgId(res), externalId);
    if (!c) throw notFound('customer');
    return c;
  }

  /** The provider and its customer id, when both exist. */
  async function providerOf(organizationId: string, customer: CustomerRecord) {
    if (!customer.providerCustomerId) return null;
    const config = await getProviderConfig(ctx.db, organizationId);
    return config ? { provider: providerFor(config), config, providerCustomerId: customer.providerCustomerId } : null;
  }

  async function methodOf(res: Response, customer: CustomerRecord, id: string): Promise<PaymentMethodRecord> {
    const m = await getPaymentMethod(ctx.db, orgId(res), customer.id, id);
    if (!m) throw notFound('payment_method');
    return m;
  }

  r.get(base, async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(paginationQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    const p = await providerOf(organizationId, customer);
    if (p) {
      const methods = await p.provider.listPaymentMethods(p.providerCustomerId);
      await syncPaymentMethods(ctx.db, organizationId, customer.id, { type: 'stripe', code: p.config.code }, methods, new Date());
    }
    const { methods, totalCount } = await listPaymentMethods(ctx.db, organizationId, customer.id, { page: q.page, perPage: q.per_page });
    res.json({ payment_methods: methods.map(serializePaymentMethod), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.put(`${base}/:lago_id/set_as_default`, async (req, res) => {
    const organizationId = orgId(res);
    const customer = await customerOf(res, req.params.external_customer_id);
    const method = await methodOf(res, customer, req.params.lago_id);
    const p = await providerOf(organizationId, customer);
    if (p) await p.provider.setDefaultPaymentMethod({ providerCustomerId: p.providerCustomerId, providerMethodId: method.providerMethodId });
    res.json({ payment_method: serializePaymentMethod(await setDefaultPaymentMethod(ctx.db, organizationId, customer.id, method.id)) });
  });

  r.delete(`${base}/:lago_id`, async (req, res) => {
    const organizationId = orgId(res);
    const customer = await customerOf(res, req.params.external_customer_id);
    const method = await methodOf(res, customer, req.params.lago_id);
    if (method.isDefault && (await countPaymentMethods(ctx.db, organizationId, customer.id)) > 1) throw validationError({ payment_method: ['cannot_delete_default'] });
    const p = await providerOf(organizationId, customer);
    if (p) await p.provider.detachPaymentMethod(method.providerMethodId);
    const deleted = await deletePaymentMethod(ctx.db, organizationId, customer.id, method.id, new Date());
    res.json({ payment_method: serializePaymentMethod(deleted ?? method) });
  });

  return r;
}
