// Event envelopes. The envelope is checked by zod; each event is then validated by hand
// (api/ingest/validate-event.ts) so a batch answers errors per index and nothing is written.
import { z } from 'zod';

export const MAX_BATCH_EVENTS = 100;

/** Documented shape of one event (validation of its fields is per index, see validate-event.ts). */
export const EventInputObject = z.object({
  transaction_id: z.string().min(1),
  external_subscription_id: z.string().min(1),
  code: z.string().min(1),
  timestamp: z.union([z.number(), z.string()]).optional(),
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable().optional(),
  precise_total_amount_cents: z.string().nullable().optional(),
});

export const EventCreateBody = z.object({ event: z.record(z.string(), z.unknown()) });
export const EventBatchBody = z.object({ events: z.array(z.unknown()) });
