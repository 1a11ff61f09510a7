// API-side additions: Lago's customer `sequential_id` (a per-database sequence, assigned on insert).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE customers ADD COLUMN sequential_id bigserial NOT NULL');
  await knex.raw('CREATE INDEX subscriptions_org_customer_idx ON subscriptions (organization_id, customer_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS subscriptions_org_customer_idx');
  await knex.raw('ALTER TABLE customers DROP COLUMN IF EXISTS sequential_id');
}
