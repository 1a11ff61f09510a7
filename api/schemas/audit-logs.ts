// Query filters of Lago's GET /api_logs and GET /activity_logs (ops13g, issue 13).
import { z } from 'zod';
import { paginationQuery } from './common';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'invalid_date');
/** `x[]=a&x[]=b` and `x=a` both read as an array. */
const list = <T extends z.ZodType>(item: T) => z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item).max(50).optional());

export const ApiLogsQuery = paginationQuery.extend({
  from_date: day.optional(),
  to_date: day.optional(),
  http_methods: list(z.enum(['post', 'put', 'delete'])),
  http_statuses: list(
    z.union([
      z.enum(['succeeded', 'failed']),
      z
        .string()
        .regex(/^[1-5]\d\d$/, 'value_is_invalid')
        .transform((s) => Number(s)),
    ]),
  ),
  api_version: z.string().max(10).optional(),
  request_paths: z.string().max(2048).optional(),
});

export const ActivityLogsQuery = paginationQuery.extend({
  from_date: day.optional(),
  to_date: day.optional(),
  activity_types: list(z.string().max(100)),
  activity_sources: list(z.enum(['api', 'front', 'system'])),
  user_emails: list(z.string().max(255)),
  external_customer_id: z.string().max(255).optional(),
  external_subscription_id: z.string().max(255).optional(),
  resource_ids: list(z.string().max(100)),
  resource_types: list(z.string().max(100)),
});
