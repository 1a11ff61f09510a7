// The events' key table also says where its event is (issue 7: ingest cost of the partitioned events table).
//
// Since 20261201001900 every ingested event wrote two (organization_id, transaction_id) index entries: the
// PRIMARY KEY of event_transaction_ids (the dedup) and events_organization_id_transaction_id_index on every
// partition (for the reads by transaction id). That second entry was the largest part of what the writer's
// statement cost more than the unpartitioned base (`npm run bench:event-writer`, README "Ingest cost").
// Now the key row carries its event's id and "timestamp" (the events' primary key (id, "timestamp")), the
// writer's one statement takes the id from the sequence and writes it in the key and in the event, and the
// reads by transaction id go key → event by primary key (the partition chosen by the timestamp). The
// per-partition (organization_id, transaction_id) index is dropped.
//
// event_id / event_timestamp are NULL for a key whose event is gone (moved by retention before this
// migration, or a key written without an event): such a key still refuses its transaction id, and a read
// finds no event, as before. Backfill: one UPDATE over the keys joined to the events (a full pass over both;
// on a large table run it in a maintenance window).
//
// down(): the index is rebuilt and the columns dropped (the writer of this revision then no longer works).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE event_transaction_ids ADD COLUMN event_id bigint, ADD COLUMN event_timestamp timestamptz');
  await knex.raw(`
    UPDATE event_transaction_ids k SET event_id = e.id, event_timestamp = e."timestamp"
    FROM events e WHERE e.organization_id = k.organization_id AND e.transaction_id = k.transaction_id`);
  await knex.raw('DROP INDEX events_organization_id_transaction_id_index');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX events_organization_id_transaction_id_index ON events (organization_id, transaction_id)');
  await knex.raw('ALTER TABLE event_transaction_ids DROP COLUMN event_id, DROP COLUMN event_timestamp');
}
