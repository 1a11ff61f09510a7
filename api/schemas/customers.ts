import { z } from 'zod';
import { isValidTimezone } from './common';
import { taxCodes } from './taxes';

export const CustomerCreateBody = z.object({
  customer: z.object({
    external_id: z.string().min(1).max(255),
    name: z.string().max(255).nullable().optional(),
    email: z.string().nullable().optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'value_is_invalid').nullable().optional(),
    timezone: z
      .string()
      .refine((tz) => isValidTimezone(tz), 'invalid_timezone')
      .nullable()
      .optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'not_a_valid_country_code').nullable().optional(),
    tax_identification_number: z.string().nullable().optional(),
    /** Lago: replaces the customer's taxes (codes of existing taxes). */
    tax_codes: taxCodes.optional(),
    customer_type: z.enum(['company', 'individual']).nullable().optional(),
    state: z.string().max(255).nullable().optional(),
    zipcode: z.string().max(255).nullable().optional(),
    /** Lago: days from the issuing date to the payment due date; null = the organization's default. */
    net_payment_term: z.number().int().min(0).max(3650).nullable().optional(),
    /** Lago 1.51: the customer's billing entity (its invoices' issuer); absent or null: the organization's default. */
    billing_entity_code: z.string().min(1).max(255).nullable().optional(),
    billing_configuration: z
      .object({
        invoice_grace_period: z.number().int().min(0).max(365).nullable().optional(),
        // Lago's payment provider fields: link an existing Stripe customer (provider_customer_id), or let
        // Meterline create one (sync_with_provider; `sync` is accepted: creation always runs in the request).
        payment_provider: z.enum(['stripe']).nullable().optional(),
        payment_provider_code: z.string().max(255).nullable().optional(),
        provider_customer_id: z.string().regex(/^cus_\w+$/, 'value_is_invalid').nullable().optional(),
        sync: z.boolean().optional(),
        sync_with_provider: z.boolean().optional(),
        provider_payment_methods: z
          .array(z.enum(['card', 'sepa_debit', 'us_bank_account', 'bacs_debit', 'boleto', 'link', 'crypto', 'customer_balance']))
          .max(8)
          .nullable()
          .optional(),
      })
      .catchall(z.unknown())
      .optional(),
  }),
});

export type CustomerCreateInput = z.output<typeof CustomerCreateBody>['customer'];
