import { z } from 'zod';
import { isValidTimezone } from './common';

/** Lago's OrganizationUpdateInput, the fields Meterline holds. */
export const OrganizationUpdateBody = z.object({
  organization: z.object({
    timezone: z.string().refine((tz) => isValidTimezone(tz), 'invalid_timezone').optional(),
    /** Days from an invoice's issuing date to its payment due date, for customers without their own. */
    net_payment_term: z.number().int().min(0).max(3650).optional(),
    billing_configuration: z
      .object({ invoice_grace_period: z.number().int().min(0).max(365).optional() })
      .catchall(z.unknown())
      .optional(),
  }),
});
