import { Router } from 'express';
import { getCustomersByIds } from '../../db/repositories/customers';
import { getInvoice, listInvoices, type InvoiceRecord } from '../../db/repositories/invoices';
import { metricIdsOfCharges } from '../../db/repositories/plans';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { paginationMeta, parseBody } from '../schemas/common';
import { InvoiceListQuery } from '../schemas/invoices';
import { storedInvoice } from '../serializers/invoice';
import { loadStoredInvoiceExtras, publicBaseUrl } from '../services/invoice-extras';
import { invoicePaymentFields } from '../../db/repositories/payments';
import { withPaymentFields } from '../serializers/invoice-payment';

export function invoiceRoutes(ctx: RouteContext): Router {
  const r = Router();

  async function metricIdsByCharge(organizationId: string, invoices: InvoiceRecord[]): Promise<Map<string, string>> {
    const chargeIds = invoices.flatMap((i) => i.fees.map((f) => f.chargeId)).filter((id): id is string => id !== null);
    return metricIdsOfCharges(ctx.db, organizationId, chargeIds);
  }

  // Lago's list items are InvoiceObject; the fees and subscriptions are included as well (extra fields are
  // allowed by the schema) so a client needs no second call per invoice.
  r.get('/invoices', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(InvoiceListQuery, req.query);
    const { invoices, totalCount } = await listInvoices(ctx.db, organizationId, {
      externalCustomerId: q.external_customer_id,
      externalSubscriptionId: q.external_subscription_id,
      status: q.status,
      page: q.page,
      perPage: q.per_page,
    });
    const [customers, subscriptions, metricIdByCharge, extras] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, invoices.map((i) => i.customerId)),
      getSubscriptionsByIds(ctx.db, organizationId, invoices.map((i) => i.subscriptionId)),
      metricIdsByCharge(organizationId, invoices),
      loadStoredInvoiceExtras(ctx.db, organizationId, invoices.map((i) => i.id), publicBaseUrl(req)), // FX + file_url
    ]);
    const subById = new Map(subscriptions.map((s) => [s.id, s]));
    const payment = await invoicePaymentFields(ctx.db, organizationId, invoices.map((i) => i.id));
    res.json({
      invoices: invoices.map((i) =>
        withPaymentFields(
          storedInvoice(i, customers.get(i.customerId), (i.subscriptionId === null ? undefined : subById.get(i.subscriptionId)), metricIdByCharge, defaultTimezoneOf(res), extras.get(i.id)),
          payment.get(i.id),
        ),
      ),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  r.get('/invoices/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const inv = await getInvoice(ctx.db, organizationId, req.params.lago_id);
    if (!inv) throw notFound('invoice');
    const [customers, subscriptions, metricIdByCharge, extras] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, [inv.customerId]),
      getSubscriptionsByIds(ctx.db, organizationId, [inv.subscriptionId]),
      metricIdsByCharge(organizationId, [inv]),
      loadStoredInvoiceExtras(ctx.db, organizationId, [inv.id], publicBaseUrl(req)), // FX + file_url
    ]);
    const payment = await invoicePaymentFields(ctx.db, organizationId, [inv.id]);
    res.json({
      invoice: withPaymentFields(
        storedInvoice(inv, customers.get(inv.customerId), subscriptions[0], metricIdByCharge, defaultTimezoneOf(res), extras.get(inv.id)),
        payment.get(inv.id),
      ),
    });
  });

  return r;
}
