// Numbers one tenant can see no longer count the others'.
// - customers.sequential_id (and its slug CUST-000042) came from one global sequence: it now comes from a
//   per-organization counter row (organization_counters, name 'customer'), bumped in the customer's insert
//   transaction. Existing customers keep their numbers; each organization's counter starts at its highest one.
// - events: Lago's event lago_id is a UUID; it was the global bigserial `id`, which counts every tenant's events.
//   `lago_id uuid` is generated in the insert itself (no extra round trip on the group-commit path); `id` stays
//   the internal key (keyset pagination, quarantine).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE organization_counters (
      organization_id uuid NOT NULL REFERENCES organizations(id),
      name text NOT NULL,
      last_value bigint NOT NULL,
      PRIMARY KEY (organization_id, name)
    )`);
  await knex.raw(`
    INSERT INTO organization_counters (organization_id, name, last_value)
    SELECT organization_id, 'customer', max(sequential_id) FROM customers GROUP BY organization_id`);
  await knex.raw('ALTER TABLE customers ALTER COLUMN sequential_id DROP DEFAULT');
  await knex.raw('DROP SEQUENCE IF EXISTS customers_sequential_id_seq');
  await knex.raw('CREATE UNIQUE INDEX customers_org_sequential_id ON customers (organization_id, sequential_id)');
  // Inserts that give no sequential_id (fixtures, tools) get the next per-organization value too. The API's upsert
  // passes it explicitly (taken only for a new customer), since a BEFORE INSERT trigger also fires for a row that
  // ON CONFLICT then turns into an update.
  await knex.raw(`
    CREATE FUNCTION customers_assign_sequential_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.sequential_id IS NULL THEN
        INSERT INTO organization_counters AS c (organization_id, name, last_value) VALUES (NEW.organization_id, 'customer', 1)
        ON CONFLICT (organization_id, name) DO UPDATE SET last_value = c.last_value + 1
        RETURNING last_value INTO NEW.sequential_id;
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER customers_sequential_id BEFORE INSERT ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_assign_sequential_id()`);
  await knex.raw('ALTER TABLE events ADD COLUMN lago_id uuid NOT NULL DEFAULT gen_random_uuid()');
  await knex.raw('ALTER TABLE quarantined_events ADD COLUMN event_lago_id uuid');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE quarantined_events DROP COLUMN IF EXISTS event_lago_id');
  await knex.raw('ALTER TABLE events DROP COLUMN IF EXISTS lago_id');
  await knex.raw('DROP TRIGGER IF EXISTS customers_sequential_id ON customers');
  await knex.raw('DROP FUNCTION IF EXISTS customers_assign_sequential_id()');
  await knex.raw('DROP INDEX IF EXISTS customers_org_sequential_id');
  await knex.raw('CREATE SEQUENCE IF NOT EXISTS customers_sequential_id_seq OWNED BY customers.sequential_id');
  await knex.raw("SELECT setval('customers_sequential_id_seq', coalesce((SELECT max(sequential_id) FROM customers), 0) + 1, false)");
  await knex.raw("ALTER TABLE customers ALTER COLUMN sequential_id SET DEFAULT nextval('customers_sequential_id_seq')");
  await knex.raw('DROP TABLE IF EXISTS organization_counters');
}
