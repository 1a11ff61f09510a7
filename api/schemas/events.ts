// Event envelopes. The envelope is checked by zod; each event is then validated by hand
// (api/ingest/validate-event.ts) so a batch answers errors per index and nothing is written.
import { z } from 'zod';
import { paginationQuery } from './common';

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

/** POST /events/import (Meterline extension): usage already billed by a previous system. */
export const MAX_IMPORT_EVENTS = 1000;
export const EventImportBody = z.object({
  /** Where the usage was billed (e.g. "stripe-legacy"); shown in past_usage. */
  source: z.string().min(1).max(100),
  /** Optional label of this import run (e.g. a file name). */
  import_batch: z.string().min(1).max(255).nullable().optional(),
  events: z.array(z.unknown()),
});

/** GET /events/errors filters (Lago-style pagination). */
export const EventErrorsQuery = paginationQuery.extend({
  error_code: z.string().min(1).optional(),
  external_subscription_id: z.string().min(1).optional(),
  transaction_id: z.string().min(1).optional(),
});
