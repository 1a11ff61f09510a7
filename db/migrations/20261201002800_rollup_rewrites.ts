// Rollup rewrites (issue 14, usage14): one row per transaction that rewrites usage_rollups rows WITHOUT inserting
// the events that explain the change — the rollup backfill (db/repositories/rollup-backfill.ts, per
// (subscription, metric, day)) and the quarantine's bucket rebuild (db/repositories/quarantine.ts). The current
// usage cache of closed hours (usage/closed-hours-cache.ts) watches new events for late ones; a rewrite is the
// other way rollups of closed hours change, so every API process clears the cache entries of that subscription
// when it sees a new row here (rows are only appended; the ingest path never writes here).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE rollup_rewrites (
      id bigserial PRIMARY KEY,
      organization_id uuid NOT NULL,
      subscription_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS rollup_rewrites');
}
