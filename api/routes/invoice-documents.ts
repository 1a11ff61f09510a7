// Invoice PDFs (documents/):
// - POST /invoices/:lago_id/download (Lago's downloadInvoice): renders and stores the PDF of a finalized
//   invoice on first use and answers the invoice with its `file_url`; a draft is 405 `is_draft` (Lago's answer).
// - GET /invoices/:lago_id/file: the PDF itself (application/pdf). AUTHENTICATED, like every /api/v1 route:
//   the organization's Bearer API key, scoped to the organization (another organization's invoice is a 404).
//   Chosen over signed URLs: no URL-signing secret to manage and rotate, and a leaked URL alone opens nothing.
import { Router } from 'express';
import { getCustomersByIds } from '../../db/repositories/customers';
import { metricIdsByCharge } from '../../db/repositories/invoice-documents';
import { getInvoice } from '../../db/repositories/invoices';
import { invoicePaymentFields } from '../../db/repositories/payments';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { DocumentError, ensureInvoiceDocument } from '../../documents/invoice-document';
import { defaultDocumentStore, type DocumentStore } from '../../documents/storage';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound } from '../errors';
import { storedInvoice } from '../serializers/invoice';
import { withPaymentFields } from '../serializers/invoice-payment';
import { loadStoredInvoiceExtras, publicBaseUrl } from '../services/invoice-extras';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function invoiceDocumentRoutes(ctx: RouteContext, store: DocumentStore = defaultDocumentStore()): Router {
  const r = Router();

  async function ensure(organizationId: string, invoiceId: string) {
    if (!UUID_RE.test(invoiceId)) throw notFound('invoice');
    try {
      return await ensureInvoiceDocument(ctx.db, store, organizationId, invoiceId);
    } catch (err) {
      if (err instanceof DocumentError && err.code === 'invoice_not_found') throw notFound('invoice');
      if (err instanceof DocumentError && err.code === 'is_draft') throw new ApiError(405, 'is_draft', err.message);
      throw err;
    }
  }

  r.post('/invoices/:lago_id/download', async (req, res) => {
    const organizationId = orgId(res);
    const invoiceId = req.params.lago_id;
    await ensure(organizationId, invoiceId);
    const inv = (await getInvoice(ctx.db, organizationId, invoiceId))!;
    const [customers, subscriptions, extras, payment] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, [inv.customerId]),
      getSubscriptionsByIds(ctx.db, organizationId, [inv.subscriptionId]),
      loadStoredInvoiceExtras(ctx.db, organizationId, [inv.id], publicBaseUrl(req)),
      invoicePaymentFields(ctx.db, organizationId, [inv.id]),
    ]);
    const metricIds = await metricIdsByCharge(ctx.db, organizationId, inv.fees.map((f) => f.chargeId).filter((c): c is string => c !== null));
    // The same invoice as GET /invoices/:id answers: with its payment fields (and `voided` status).
    res.json({
      invoice: withPaymentFields(storedInvoice(inv, customers.get(inv.customerId), subscriptions[0], metricIds, defaultTimezoneOf(res), extras.get(inv.id)), payment.get(inv.id)),
    });
  });

  r.get('/invoices/:lago_id/file', async (req, res) => {
    const organizationId = orgId(res);
    const doc = await ensure(organizationId, req.params.lago_id);
    const bytes = await store.get(doc.storageKey);
    if (!bytes) throw new ApiError(404, 'file_not_found', 'The invoice document is recorded but its file is missing from the store');
    const inv = await getInvoice(ctx.db, organizationId, doc.invoiceId);
    res
      .status(200)
      .type('application/pdf')
      .set('Content-Disposition', `inline; filename="${(inv?.number ?? doc.invoiceId).replace(/[^A-Za-z0-9_-]/g, '_')}.pdf"`)
      .set('ETag', `"${doc.sha256}"`)
      .set('Cache-Control', 'private, max-age=3600')
      .send(bytes);
  });

  return r;
}
