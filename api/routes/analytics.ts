// GET /analytics/gross_revenue, /analytics/invoiced_usage, /analytics/mrr, /analytics/overdue_balance (Lago's
// findAllGrossRevenues, findAllInvoicedUsages, findAllMrrs, findAllOverdueBalances): per currency and month, computed
// in SQL by db/repositories/analytics.ts (what each figure counts is written there). Filters as in Lago's OpenAPI:
// `currency` on all four, `external_customer_id` on gross revenue and overdue balance, `months` (last N months).
import express from 'express';
import type { Knex } from 'knex';
import { grossRevenues, invoicedUsages, mrrs, overdueBalances, type AnalyticsFilter } from '../../db/repositories/analytics';
import { orgId } from '../auth';
import { AnalyticsCustomerQuery, AnalyticsQuery } from '../schemas/analytics';
import { parseBody } from '../schemas/common';

export function analyticsRoutes(deps: { db: Knex; now?: () => Date }): express.Router {
  const r = express.Router();
  const filter = (organizationId: string, q: { currency?: string; months?: number; external_customer_id?: string }): AnalyticsFilter => ({
    organizationId,
    now: deps.now ? deps.now() : new Date(),
    ...(q.currency !== undefined ? { currency: q.currency } : {}),
    ...(q.months !== undefined ? { months: q.months } : {}),
    ...(q.external_customer_id !== undefined ? { externalCustomerId: q.external_customer_id } : {}),
  });

  r.get('/analytics/gross_revenue', async (req, res) => {
    const rows = await grossRevenues(deps.db, filter(orgId(res), parseBody(AnalyticsCustomerQuery, req.query)));
    res.json({ gross_revenues: rows.map((x) => ({ month: x.month, amount_cents: x.amountCents, currency: x.currency, invoices_count: x.invoicesCount })) });
  });
  r.get('/analytics/invoiced_usage', async (req, res) => {
    const rows = await invoicedUsages(deps.db, filter(orgId(res), parseBody(AnalyticsQuery, req.query)));
    res.json({ invoiced_usages: rows.map((x) => ({ month: x.month, code: x.code, amount_cents: x.amountCents, currency: x.currency })) });
  });
  r.get('/analytics/mrr', async (req, res) => {
    const rows = await mrrs(deps.db, filter(orgId(res), parseBody(AnalyticsQuery, req.query)));
    res.json({ mrrs: rows.map((x) => ({ month: x.month, amount_cents: x.amountCents, currency: x.currency })) });
  });
  r.get('/analytics/overdue_balance', async (req, res) => {
    const rows = await overdueBalances(deps.db, filter(orgId(res), parseBody(AnalyticsCustomerQuery, req.query)));
    res.json({ overdue_balances: rows.map((x) => ({ month: x.month, amount_cents: x.amountCents, currency: x.currency, lago_invoice_ids: x.invoiceIds })) });
  });
  return r;
}
