// Set-based dedup of events (issues 7 / 14: the ingest regression left by 20261201001900). The per-row BEFORE
// INSERT trigger `events_dedup` (one PL/pgSQL call and one speculative INSERT ... ON CONFLICT per event row) is
// dropped. The writers' ONE statement inserts the keys itself, set-based, before the events, in the same
// statement (db/repositories/events.ts eventInsertCtes):
//   keys AS (INSERT INTO event_transaction_ids (organization_id, transaction_id) SELECT o, t FROM src
//            ON CONFLICT DO NOTHING RETURNING ...),
//   ins  AS (INSERT INTO events (...) SELECT ... FROM src JOIN keys ... RETURNING ...)
// which is the same rule as the trigger and as the old UNIQUE + ON CONFLICT DO NOTHING: a key that exists (or
// that a concurrent uncommitted statement holds and then commits) skips its event, RETURNING lists only the
// inserted rows, and the key and the event commit or roll back together. Bulk loaders (insertEventsSelect)
// insert the keys without ON CONFLICT: a known transaction id fails the whole load (nothing written).
//
// The dedup now lives in the statement, not in the table: a plain `INSERT INTO events` would not be deduped.
// Every insert into `events` therefore goes through db/repositories/events.ts; test/db/event-insert-paths.test.ts
// fails when any other source file (app, scripts, benches, tests) inserts into `events`. A statement-level
// guard (AFTER INSERT over the transition table, checking each row's key) was measured and not kept: it cost
// about half of what dropping the row trigger saved, and made single-event statements slower than the trigger
// (`npm run bench:event-writer`, README ingest section).
//
// down(): restores the row trigger of 20261201001900 (same function body).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS events_dedup ON events');
  await knex.raw('DROP FUNCTION IF EXISTS meterline_events_dedup()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION meterline_events_dedup() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO event_transaction_ids (organization_id, transaction_id) VALUES (NEW.organization_id, NEW.transaction_id)
      ON CONFLICT DO NOTHING;
      IF NOT FOUND THEN RETURN NULL; END IF;
      RETURN NEW;
    END $$`);
  await knex.raw('CREATE TRIGGER events_dedup BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION meterline_events_dedup()');
}
