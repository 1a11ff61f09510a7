// API key management (POST/GET /api_keys, revoke, rotate): a key is revoked by stamping revoked_at (the row stays
// for the audit trail); authentication only matches keys with revoked_at IS NULL. last_four lets a list tell
// keys apart without storing them (the key itself is still only a sha256).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz');
  await knex.raw("ALTER TABLE api_keys ADD COLUMN last_four text NOT NULL DEFAULT ''");
  await knex.raw('CREATE INDEX api_keys_org ON api_keys (organization_id, created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS api_keys_org');
  await knex.raw('ALTER TABLE api_keys DROP COLUMN IF EXISTS last_four');
  await knex.raw('ALTER TABLE api_keys DROP COLUMN IF EXISTS revoked_at');
}
