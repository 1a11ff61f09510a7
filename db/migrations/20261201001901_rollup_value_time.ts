// Rollups for the weighted sum (issue 14): usage_rollups.value_time_sum = Σ vᵢ × tᵢ (tᵢ = the event's timestamp
// in whole ms since the epoch, floor, as the raw SQL path computes it) over the bucket's numeric values, so a
// close reads Σ vᵢ × (end − tᵢ) = end × Σ vᵢ − Σ vᵢ × tᵢ from the rollups. NULL = unknown: rows written before
// this column existed stay NULL (NULL + x stays NULL on every later upsert) until `npm run rollups:backfill`
// rebuilds them; the close reads raw events for a weighted metric whose rows in the period have a NULL.
// weighted_sum_agg metrics are rolled up from now on (db/repositories/rollups.ts isRolledUp); their events
// stored before are counted by the backfill (the close checks Σ events_count against the raw count first).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE usage_rollups ADD COLUMN value_time_sum numeric');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE usage_rollups DROP COLUMN IF EXISTS value_time_sum');
}
