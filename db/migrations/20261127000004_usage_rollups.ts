// Usage rollups: per (subscription, metric, hour, dims) running count / Σ / max of the events that were
// actually inserted (maintained by db/repositories/rollups.ts applyRollups in the ingest transaction), so
// current usage reads a few hundred rows instead of scanning millions of raw events.
//
// - bucket_start: the event timestamp's UTC hour (date_bin('1 hour', ts, '2000-01-01Z')), timezone independent.
// - dims: jsonb object {key: string | null} holding, for EVERY key of the metric's dimension key set at ingest
//   time, the event's property stringified like billing/aggregation does (String(v)), or null when absent.
//   The key set = the metric's filter keys ∪ the keys used by any charge filter on the metric ∪ every
//   pricing_group_keys (charge and charge-filter properties) of any charge on the metric in the organization.
//   jsonb equality is canonical (key order does not matter), so it is part of the primary key.
// - sum: Σ of the metric's numeric field over the bucket (0 for count_agg); max: max of it (NULL when no event
//   of the bucket carried a value); invalid_values_count: events whose field value is present but not numeric
//   (readers then fall back to the raw-event path, which reports 'invalid_event_value').
// fillfactor 70: the upserts only touch non-indexed columns, so they can be HOT updates.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE usage_rollups (
      organization_id uuid NOT NULL,
      subscription_id uuid NOT NULL,
      metric_code text NOT NULL,
      bucket_start timestamptz NOT NULL,
      dims jsonb NOT NULL DEFAULT '{}'::jsonb,
      events_count bigint NOT NULL,
      sum numeric NOT NULL DEFAULT 0,
      max numeric,
      invalid_values_count bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (organization_id, subscription_id, metric_code, bucket_start, dims)
    ) WITH (fillfactor = 70)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS usage_rollups');
}
