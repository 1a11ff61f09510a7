// Bodies of Lago's fee estimates (EventEstimateFeesInput, EventEstimateInstantFeesInput,
// EventBatchEstimateInstantFeesInput of the Lago OpenAPI 1.51). The batch takes each item as Lago's schema
// documents it ({event: {...}}) or bare ({code, external_subscription_id, ...}, as Lago's API accepts it).
import { z } from 'zod';

const properties = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable().optional();

export const EstimateEventObject = z.object({
  code: z.string().min(1),
  external_subscription_id: z.string().min(1),
  properties,
  transaction_id: z.string().min(1).nullable().optional(),
  timestamp: z.union([z.number(), z.string()]).nullable().optional(),
});

export const EstimateFeesBody = z.object({ event: EstimateEventObject });

/** At most this many events per batch estimate (each is priced against the period's events). */
export const MAX_BATCH_ESTIMATE_EVENTS = 100;

export const BatchEstimateFeesBody = z.object({
  events: z.array(z.union([z.object({ event: EstimateEventObject }), EstimateEventObject])).min(1).max(MAX_BATCH_ESTIMATE_EVENTS),
});
