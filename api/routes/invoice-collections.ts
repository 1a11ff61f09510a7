// GET /analytics/invoice_collection (Lago's findAllInvoiceCollections; issue 13): finalized invoices per issuing
// month, currency and payment status, counted and summed in SQL (db/repositories/analytics.ts invoiceCollections).
// Filters as Lago's OpenAPI: `currency`, `months` (last N months).
import express from 'express';
import type { Knex } from 'knex';
import { invoiceCollections } from '../../db/repositories/analytics';
import { orgId } from '../auth';
import { AnalyticsQuery } from '../schemas/analytics';
import { parseBody } from '../schemas/common';

export function invoiceCollectionRoutes(deps: { db: Knex; now?: () => Date }): express.Router {
  const r = express.Router();
  r.get('/analytics/invoice_collection', async (req, res) => {
    const q = parseBody(AnalyticsQuery, req.query);
    const rows = await invoiceCollections(deps.db, {
      organizationId: orgId(res),
      now: deps.now ? deps.now() : new Date(),
      ...(q.currency !== undefined ? { currency: q.currency } : {}),
      ...(q.months !== undefined ? { months: q.months } : {}),
    });
    res.json({
      invoice_collections: rows.map((x) => ({ month: x.month, payment_status: x.paymentStatus, invoices_count: x.invoicesCount, amount_cents: x.amountCents, currency: x.currency })),
    });
  });
  return r;
}
