// GET /customers/:external_customer_id/current_usage query (Lago's parameters). external_subscription_id is
// required (a missing, empty or repeated value is 422 value_is_mandatory); the optional filters are used only
// when they are a non-empty string and are otherwise ignored, as Lago does.
import { z } from 'zod';

const optionalFilter = z
  .string()
  .optional()
  .catch(undefined)
  .transform((v) => (v === '' ? undefined : v));

export const CurrentUsageQuery = z.object({
  external_subscription_id: z.string({ error: 'value_is_mandatory' }).min(1, { error: 'value_is_mandatory' }),
  /** Only this charge (its lago_id). */
  charge_id: optionalFilter,
  /** Deprecated name of charge_id. */
  filter_by_charge_id: optionalFilter,
  /** Only charges of this billable metric. */
  billable_metric_code: optionalFilter,
});
