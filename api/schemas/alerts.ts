// POST /subscriptions/:external_id/alerts body (Lago's AlertCreateInput; see routes/alerts.ts for the rules
// checked after parsing).
import { z } from 'zod';
import { ALERT_TYPES } from '../../db/repositories/alerts';

const DECIMAL_RE = /^[0-9]+(\.[0-9]+)?$/;

const ThresholdInput = z.object({
  code: z.string().nullable().optional(),
  value: z.union([z.number().int().min(0), z.string().regex(DECIMAL_RE, 'value_is_invalid')]),
  recurring: z.boolean().optional().default(false),
});

export const AlertCreateBody = z.object({
  alert: z.object({
    alert_type: z.enum(ALERT_TYPES as unknown as [string, ...string[]]),
    code: z.string().min(1),
    name: z.string().nullable().optional(),
    billable_metric_code: z.string().nullable().optional(),
    thresholds: z.array(ThresholdInput).min(1),
  }),
});

/** PUT /subscriptions/:external_id/alerts/:code body (Lago's AlertUpdateInput): every field optional; thresholds replace. */
export const AlertUpdateBody = z.object({
  alert: z.object({
    code: z.string().min(1).optional(),
    name: z.string().nullable().optional(),
    billable_metric_code: z.string().nullable().optional(),
    thresholds: z.array(ThresholdInput).min(1).optional(),
  }),
});
