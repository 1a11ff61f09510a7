// Query filters of GET /analytics/* (Lago: `currency`, `months`; `external_customer_id` on gross revenue and
// overdue balance).
import { z } from 'zod';
import { currencyCode } from './common';

export const AnalyticsQuery = z.object({ currency: currencyCode.optional(), months: z.coerce.number().int().min(1).max(240).optional() });
export const AnalyticsCustomerQuery = AnalyticsQuery.extend({ external_customer_id: z.string().min(1).max(255).optional() });
