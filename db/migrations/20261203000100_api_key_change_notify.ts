// Issue 7 (ingest7c): API processes cache known API keys (api/auth.ts) and evict them when Postgres tells them a
// key or its organization changed. The notification is sent by triggers, so EVERY path is covered (the API's
// revoke and rotate, PUT /organizations, a key row edited or deleted by hand, an organization deleted) and it is
// sent in the changing transaction: Postgres delivers it to every listener at commit, never before, never for a
// rolled-back change. Channel `meterline_api_key_changes`, payloads:
//   k:<key_hash>          a key row was inserted, updated or deleted (revoked, rotated, un-revoked, re-hashed)
//   o:<organization id>   an organization row was updated or deleted (the cached organization is stale)
//   *                     api_keys or organizations was truncated
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION meterline_notify_api_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('meterline_api_key_changes', '*');
        RETURN NULL;
      END IF;
      IF TG_TABLE_NAME = 'api_keys' THEN
        IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('meterline_api_key_changes', 'k:' || OLD.key_hash); END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.key_hash IS DISTINCT FROM OLD.key_hash) THEN
          PERFORM pg_notify('meterline_api_key_changes', 'k:' || NEW.key_hash);
        END IF;
      ELSE
        PERFORM pg_notify('meterline_api_key_changes', 'o:' || OLD.id::text);
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER api_keys_notify_change AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION meterline_notify_api_key_change()`);
  await knex.raw(`CREATE TRIGGER api_keys_notify_truncate AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION meterline_notify_api_key_change()`);
  // Only a real change of the row (an UPDATE that sets the same values, or SELECT ... FOR UPDATE, sends nothing).
  await knex.raw(`CREATE TRIGGER organizations_notify_change AFTER UPDATE ON organizations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION meterline_notify_api_key_change()`);
  await knex.raw(`CREATE TRIGGER organizations_notify_delete AFTER DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION meterline_notify_api_key_change()`);
  await knex.raw(`CREATE TRIGGER organizations_notify_truncate AFTER TRUNCATE ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION meterline_notify_api_key_change()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS organizations_notify_truncate ON organizations');
  await knex.raw('DROP TRIGGER IF EXISTS organizations_notify_delete ON organizations');
  await knex.raw('DROP TRIGGER IF EXISTS organizations_notify_change ON organizations');
  await knex.raw('DROP TRIGGER IF EXISTS api_keys_notify_truncate ON api_keys');
  await knex.raw('DROP TRIGGER IF EXISTS api_keys_notify_change ON api_keys');
  await knex.raw('DROP FUNCTION IF EXISTS meterline_notify_api_key_change()');
}
