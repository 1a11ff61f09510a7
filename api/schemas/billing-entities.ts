// Lago 1.51's BillingEntityCreateInput / BillingEntityUpdateInput (ops13g, issue 13).
import { z } from 'zod';
import { currencyCode, isValidTimezone } from './common';
import { arrayParam } from './everyday';

/**
 * Lago 1.51's `billing_entity_codes[]` list filter (GET /invoices, /customers, /credit_notes). The extended query
 * parser reads `billing_entity_codes[]=a` as `billing_entity_codes`; both spellings are accepted.
 */
export const billingEntityCodesFilter = { billing_entity_codes: arrayParam, 'billing_entity_codes[]': arrayParam };
export type BillingEntityCodesQuery = { billing_entity_codes?: string[] | undefined; 'billing_entity_codes[]'?: string[] | undefined };

const nstr = z.string().max(1000).nullable().optional();

const settings = {
  name: z.string().min(1).max(255).optional(),
  default_currency: currencyCode.optional(),
  document_numbering: z.enum(['per_customer', 'per_billing_entity']).optional(),
  document_number_prefix: z.string().regex(/^[A-Za-z0-9_-]{1,10}$/, 'value_is_invalid').nullable().optional(),
  finalize_zero_amount_invoice: z.boolean().optional(),
  billing_configuration: z
    .object({
      invoice_footer: z.string().max(2000).nullable().optional(),
      document_locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'value_is_invalid').optional(),
      invoice_grace_period: z.number().int().min(0).max(365).optional(),
      subscription_invoice_issuing_date_anchor: z.enum(['current_period_end', 'next_period_start']).optional(),
      subscription_invoice_issuing_date_adjustment: z.enum(['align_with_finalization_date', 'keep_anchor']).optional(),
    })
    .optional(),
  net_payment_term: z.number().int().min(0).max(3650).optional(),
  address_line1: nstr,
  address_line2: nstr,
  city: nstr,
  state: nstr,
  country: z.string().regex(/^[A-Z]{2}$/, 'not_a_valid_country_code').nullable().optional(),
  zipcode: nstr,
  email: z.email('invalid_email_format').nullable().optional(),
  legal_name: nstr,
  legal_number: nstr,
  tax_identification_number: nstr,
  timezone: z.string().refine((tz) => isValidTimezone(tz), 'invalid_timezone').optional(),
  email_settings: z.array(z.enum(['invoice.finalized', 'credit_note.created', 'payment_receipt.created'])).optional(),
  eu_tax_management: z.boolean().optional(),
  logo: z.url('value_is_invalid').nullable().optional(),
};

export const BillingEntityCreateBody = z.object({
  billing_entity: z.object({
    code: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'value_is_invalid'),
    ...settings,
    name: z.string().min(1).max(255),
  }),
});

export const BillingEntityUpdateBody = z.object({
  billing_entity: z.object({
    ...settings,
    tax_codes: z.array(z.string().min(1)).max(50).optional(),
    invoice_custom_section_codes: z.array(z.string()).max(0, 'not_supported').optional(),
  }),
});

export type BillingEntityInput = z.output<typeof BillingEntityUpdateBody>['billing_entity'];
