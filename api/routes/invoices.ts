import type { Request, Response } from 'express';
import { Router } from 'express';
import type { z } from 'zod';
import { getCustomersByIds } from '../../db/repositories/customers';
import { getInvoice, listInvoices, type InvoiceRecord } from '../../db/repositories/invoices';
import { metricIdsOfCharges } from '../../db/repositories/plans';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { knownBillingEntityCodes } from './billing-entities';
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
    const q = parseBody(InvoiceListQuery, req.query);
    await sendInvoiceList(ctx, req, res, q);
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

/**
 * One page of invoices with Lago's filters (GET /invoices, and GET /customers/:external_customer_id/invoices with
 * the customer fixed): InvoiceObject items with their fees, subscriptions and payment fields.
 */
export async function sendInvoiceList(ctx: RouteContext, req: Request, res: Response, q: z.output<typeof InvoiceListQuery>): Promise<void> {
  const organizationId = orgId(res);
  const billingEntityCodes = await knownBillingEntityCodes(ctx.db, organizationId, q);
  const { invoices, totalCount } = await listInvoices(ctx.db, organizationId, {
    billingEntityCodes,
    externalCustomerId: q.external_customer_id,
    externalSubscriptionId: q.external_subscription_id,
    status: q.status,
    paymentStatus: q.payment_status,
    paymentOverdue: q.payment_overdue,
    invoiceType: q.invoice_type,
    currency: q.currency,
    issuingDateFrom: q.issuing_date_from,
    issuingDateTo: q.issuing_date_to,
    amountFrom: q.amount_from,
    amountTo: q.amount_to,
    searchTerm: q.search_term,
    page: q.page,
    perPage: q.per_page,
  });
  res.json({ invoices: await serializeInvoiceRecords(ctx, req, res, invoices), meta: paginationMeta(q.page, q.per_page, totalCount) });
}

/** Invoice records as GET /invoices answers them (InvoiceObject with fees, subscriptions and payment fields). */
export async function serializeInvoiceRecords(ctx: RouteContext, req: Request, res: Response, invoices: InvoiceRecord[]) {
  const organizationId = orgId(res);
  const [customers, subscriptions, metricIdByCharge, extras] = await Promise.all([
    getCustomersByIds(ctx.db, organizationId, invoices.map((i) => i.customerId)),
    getSubscriptionsByIds(ctx.db, organizationId, invoices.map((i) => i.subscriptionId)),
    metricIdsOfCharges(ctx.db, organizationId, invoices.flatMap((i) => i.fees.map((f) => f.chargeId)).filter((id): id is string => id !== null)),
    loadStoredInvoiceExtras(ctx.db, organizationId, invoices.map((i) => i.id), publicBaseUrl(req)), // FX + file_url
  ]);
  const subById = new Map(subscriptions.map((s) => [s.id, s]));
  const payment = await invoicePaymentFields(ctx.db, organizationId, invoices.map((i) => i.id));
  return invoices.map((i) =>
    withPaymentFields(
      storedInvoice(i, customers.get(i.customerId), (i.subscriptionId === null ? undefined : subById.get(i.subscriptionId)), metricIdByCharge, defaultTimezoneOf(res), extras.get(i.id)),
      payment.get(i.id),
    ),
  );
}
