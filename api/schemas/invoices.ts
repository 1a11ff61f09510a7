// GET /invoices filters (Lago-style pagination).
import { z } from 'zod';
import { paginationQuery } from './common';

export const InvoiceListQuery = paginationQuery.extend({
  external_customer_id: z.string().optional(),
  external_subscription_id: z.string().optional(),
  status: z.enum(['draft', 'finalized']).optional(),
});
