// GET /customers/:external_customer_id/past_usage query (Lago's path; pagination over billing periods).
import { z } from 'zod';
import { paginationQuery } from './common';

export const PastUsageQuery = paginationQuery.extend({
  external_subscription_id: z.string().min(1),
  billable_metric_code: z.string().min(1).optional(),
});
