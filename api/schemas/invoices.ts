// GET /invoices filters (Lago-style pagination).
import { z } from 'zod';
import { paginationQuery } from './common';
import { billingEntityCodesFilter } from './billing-entities';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'invalid_date');
const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');

export const InvoiceListQuery = paginationQuery.extend({
  external_customer_id: z.string().optional(),
  external_subscription_id: z.string().optional(),
  status: z.enum(['draft', 'finalized', 'failed']).optional(), // failed13: failed invoices
  // Lago's further filters (issue 13; also on GET /customers/:external_customer_id/invoices).
  payment_status: z.enum(['pending', 'failed', 'succeeded']).optional(),
  payment_overdue: boolString.optional(),
  invoice_type: z.enum(['subscription', 'add_on', 'credit', 'one_off', 'advance_charges', 'progressive_billing']).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'value_is_invalid').optional(),
  issuing_date_from: day.optional(),
  issuing_date_to: day.optional(),
  amount_from: z.coerce.number().int().min(0).optional(),
  amount_to: z.coerce.number().int().min(0).optional(),
  search_term: z.string().max(255).optional(),
  // Lago 1.51: invoices issued by these billing entities (an unknown code → 404 billing_entity_not_found).
  ...billingEntityCodesFilter,
});
