// One index on events for the period reads, the rollup backfill's paging and the rollup safety count (issue 14):
// (subscription_id, code, "timestamp", id) INCLUDE (organization_id) replaces (subscription_id, code, "timestamp"),
// under the same name.
//
// - Backfill paging (db/repositories/rollup-backfill.ts) walks a (subscription, metric, day) in keyset order
//   ("timestamp", id) > (cursor). With the old index the row comparison was no index condition (id was not in
//   the index), so every page re-read the day from its start and sorted it: O(events of the day) per page, i.e.
//   quadratic per day (EXPLAIN in README "Backfill paging"). With id as the last key column the row comparison
//   is an index condition: a page reads its own PAGE entries, in index order, no sort.
// - Safety count (db/repositories/rollup-close.ts eventCountOfHours): now scoped by organization_id like every
//   query (CONVENTIONS); with organization_id INCLUDEd the count stays an index-only scan (no heap row read).
// - Everything that used the old index (subscription_id, code, "timestamp" prefix) uses this one: one index
//   replaces one, so ingest maintains as many event indexes as before (entries ~24 bytes wider).
// On a partitioned table CREATE INDEX builds it on every partition (no CONCURRENTLY: this migration locks
// events against writes while it builds; on a large table run it in a maintenance window, or build the
// partitions' indexes CONCURRENTLY first and attach them).
import type { Knex } from 'knex';

// The new index keeps the old one's name (events_subscription_id_code_timestamp_index): migration 20261201001900's
// down() and the partition tooling refer to it by that name.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX events_sub_code_ts_id_index ON events (subscription_id, code, "timestamp", id) INCLUDE (organization_id)');
  await knex.raw('DROP INDEX events_subscription_id_code_timestamp_index');
  await knex.raw('ALTER INDEX events_sub_code_ts_id_index RENAME TO events_subscription_id_code_timestamp_index');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER INDEX events_subscription_id_code_timestamp_index RENAME TO events_sub_code_ts_id_index');
  await knex.raw('CREATE INDEX events_subscription_id_code_timestamp_index ON events (subscription_id, code, "timestamp")');
  await knex.raw('DROP INDEX events_sub_code_ts_id_index');
}
