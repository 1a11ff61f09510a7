// The events table partitioned by time (issue 14): declarative RANGE partitioning on the event's own
// "timestamp" (the instant usage happened, the column every period read filters on, so a close reads one or
// two monthly partitions), one partition per UTC calendar month `events_pYYYYMM`, plus `events_default` for
// events outside every created month (far past / far future timestamps never fail an insert).
//
// IDEMPOTENCY ACROSS PARTITIONS. Postgres only allows a unique index on a partitioned table when it contains the
// partition key, so UNIQUE (organization_id, transaction_id) cannot live on `events` any more (a UNIQUE
// (organization_id, transaction_id, "timestamp") would let the same transaction id in with another timestamp).
// The key moves to its own unpartitioned table `event_transaction_ids` (PRIMARY KEY (organization_id,
// transaction_id): the same unique index as before, just beside the events), written by a BEFORE INSERT row
// trigger on `events` (cloned onto every partition): the trigger inserts the key ON CONFLICT DO NOTHING and,
// when the key already existed, returns NULL, which skips the event row. That is exactly the semantics of the
// old `INSERT ... ON CONFLICT (organization_id, transaction_id) DO NOTHING` for EVERY writer: a concurrent
// insert of the same key waits on the uncommitted key row and is skipped if that commits, inserted if it rolls
// back; RETURNING lists only the inserted rows. The keys outlive the events: dropping a partition (retention)
// keeps them, so a replay of an old, already billed event stays a duplicate forever. A writer that removes an
// event on purpose (quarantine) removes its key in the same transaction (db/repositories/quarantine.ts).
//
// MOVING AN EXISTING TABLE. The old table is renamed, the partitioned one created with the same columns (same
// `events_id_seq` sequence, so ids keep growing), monthly partitions created for every month that has rows and
// for the current month and the next three, every row copied (INSERT ... SELECT, one statement; the keys are
// copied from the old unique index first), the old table dropped — all inside the migration's transaction, so
// a failure leaves the old table as it was. The copy costs one pass over the table (measured in
// test/db/partitioned-events.test.ts on a populated table). Later months come from the `event-partitions`
// Schedule (worker/schedules.ts, activities/event-partitions.ts), which calls meterline_ensure_event_partition.
//
// meterline_ensure_event_partition(month): creates `events_pYYYYMM` for [month start, next month start) UTC if
// it does not exist: a standalone table LIKE events, the default partition's rows of that month moved into it
// (the default partition is locked for the moment, so no row of that month can slip in meanwhile), then
// ATTACH PARTITION (indexes and triggers are created on it by the attach). Returns true when it created it.
import type { Knex } from 'knex';

const COLUMNS = 'id, organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount, created_at, lago_id';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE events RENAME TO events_unpartitioned');
  await knex.raw('ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey');
  await knex.raw('ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_organization_id_transaction_id_unique TO events_unpartitioned_org_tx_unique');
  await knex.raw('ALTER INDEX events_subscription_id_code_timestamp_index RENAME TO events_unpartitioned_sub_code_ts');

  await knex.raw(`
    CREATE TABLE events (
      id bigint NOT NULL DEFAULT nextval('events_id_seq'::regclass),
      organization_id uuid NOT NULL,
      transaction_id text NOT NULL,
      external_subscription_id text NOT NULL,
      subscription_id uuid,
      code text NOT NULL,
      "timestamp" timestamptz NOT NULL,
      properties jsonb NOT NULL DEFAULT '{}'::jsonb,
      precise_total_amount numeric(40, 15),
      created_at timestamptz NOT NULL DEFAULT now(),
      lago_id uuid NOT NULL DEFAULT gen_random_uuid(),
      PRIMARY KEY (id, "timestamp")
    ) PARTITION BY RANGE ("timestamp")`);
  await knex.raw('ALTER SEQUENCE events_id_seq OWNED BY events.id');
  await knex.raw('CREATE INDEX events_subscription_id_code_timestamp_index ON events (subscription_id, code, "timestamp")');
  await knex.raw('CREATE INDEX events_organization_id_transaction_id_index ON events (organization_id, transaction_id)');
  await knex.raw('CREATE TABLE events_default PARTITION OF events DEFAULT');

  await knex.raw(`
    CREATE FUNCTION meterline_ensure_event_partition(p_month date) RETURNS boolean LANGUAGE plpgsql AS $$
    DECLARE
      m date := date_trunc('month', p_month)::date;
      from_ts timestamptz := (m::timestamp AT TIME ZONE 'UTC');
      to_ts timestamptz := ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      part text := 'events_p' || to_char(m, 'YYYYMM');
    BEGIN
      IF to_regclass(part) IS NOT NULL THEN RETURN false; END IF;
      LOCK TABLE events_default IN SHARE ROW EXCLUSIVE MODE;
      EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      EXECUTE format('WITH moved AS (DELETE FROM events_default WHERE "timestamp" >= $1 AND "timestamp" < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', part)
        USING from_ts, to_ts;
      EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, from_ts, to_ts);
      RETURN true;
    END $$`);

  // Every month with rows, and the current month and the next three (the Schedule keeps three ahead).
  await knex.raw(`
    SELECT meterline_ensure_event_partition(m::date)
    FROM generate_series(
      date_trunc('month', least(coalesce((SELECT min("timestamp") FROM events_unpartitioned), now()), now()) AT TIME ZONE 'UTC'),
      date_trunc('month', greatest(coalesce((SELECT max("timestamp") FROM events_unpartitioned), now()), now() + interval '3 months') AT TIME ZONE 'UTC'),
      interval '1 month') AS m
    WHERE EXISTS (SELECT 1 FROM events_unpartitioned e
                  WHERE e."timestamp" >= (m AT TIME ZONE 'UTC') AND e."timestamp" < ((m + interval '1 month') AT TIME ZONE 'UTC'))
       OR (m >= date_trunc('month', now() AT TIME ZONE 'UTC') AND m <= date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months')`);

  await knex.raw(`
    CREATE TABLE event_transaction_ids (
      organization_id uuid NOT NULL,
      transaction_id text NOT NULL,
      PRIMARY KEY (organization_id, transaction_id)
    )`);
  await knex.raw('INSERT INTO event_transaction_ids (organization_id, transaction_id) SELECT organization_id, transaction_id FROM events_unpartitioned');
  await knex.raw(`INSERT INTO events (${COLUMNS}) SELECT ${COLUMNS} FROM events_unpartitioned`);
  await knex.raw('DROP TABLE events_unpartitioned');

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

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE events RENAME TO events_partitioned');
  await knex.raw('ALTER TABLE events_partitioned RENAME CONSTRAINT events_pkey TO events_partitioned_pkey');
  await knex.raw('ALTER INDEX events_subscription_id_code_timestamp_index RENAME TO events_partitioned_sub_code_ts');
  await knex.raw(`
    CREATE TABLE events (
      id bigint NOT NULL DEFAULT nextval('events_id_seq'::regclass) CONSTRAINT events_pkey PRIMARY KEY,
      organization_id uuid NOT NULL,
      transaction_id text NOT NULL,
      external_subscription_id text NOT NULL,
      subscription_id uuid,
      code text NOT NULL,
      "timestamp" timestamptz NOT NULL,
      properties jsonb NOT NULL DEFAULT '{}'::jsonb,
      precise_total_amount numeric(40, 15),
      created_at timestamptz NOT NULL DEFAULT now(),
      lago_id uuid NOT NULL DEFAULT gen_random_uuid()
    )`);
  await knex.raw(`INSERT INTO events (${COLUMNS}) SELECT ${COLUMNS} FROM events_partitioned`);
  await knex.raw('ALTER SEQUENCE events_id_seq OWNED BY events.id');
  await knex.raw('DROP TABLE events_partitioned');
  await knex.raw('DROP FUNCTION IF EXISTS meterline_events_dedup()');
  await knex.raw('DROP FUNCTION IF EXISTS meterline_ensure_event_partition(date)');
  await knex.raw('DROP TABLE IF EXISTS event_transaction_ids');
  await knex.raw('ALTER TABLE events ADD CONSTRAINT events_organization_id_transaction_id_unique UNIQUE (organization_id, transaction_id)');
  await knex.raw('CREATE INDEX events_subscription_id_code_timestamp_index ON events (subscription_id, code, "timestamp")');
}
