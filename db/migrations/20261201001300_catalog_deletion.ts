// Deleting plans and customers (Lago's DELETE /plans/:code, DELETE /customers/:external_id, issue 13).
//
// Both are soft deletes: subscriptions, invoices and fees keep referencing the rows (history stays readable),
// while the live API no longer finds them. As in Lago, a deleted plan's code and a deleted customer's external_id
// can be used again: the (organization_id, code) / (organization_id, external_id) uniqueness becomes a partial
// unique index over the rows that are not deleted.
// Billable metrics are deleted for real (only when nothing references them: see api/routes/catalog-edits.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => {
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.schema.alterTable('customers', (t) => {
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw('ALTER TABLE plans DROP CONSTRAINT plans_organization_id_code_unique');
  await knex.raw('CREATE UNIQUE INDEX plans_organization_id_code_live ON plans (organization_id, code) WHERE deleted_at IS NULL');
  await knex.raw('ALTER TABLE customers DROP CONSTRAINT customers_organization_id_external_id_unique');
  await knex.raw(
    'CREATE UNIQUE INDEX customers_organization_id_external_id_live ON customers (organization_id, external_id) WHERE deleted_at IS NULL',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX customers_organization_id_external_id_live');
  await knex.raw('DROP INDEX plans_organization_id_code_live');
  await knex.raw('ALTER TABLE customers ADD CONSTRAINT customers_organization_id_external_id_unique UNIQUE (organization_id, external_id)');
  await knex.raw('ALTER TABLE plans ADD CONSTRAINT plans_organization_id_code_unique UNIQUE (organization_id, code)');
  await knex.schema.alterTable('customers', (t) => t.dropColumn('deleted_at'));
  await knex.schema.alterTable('plans', (t) => t.dropColumn('deleted_at'));
}
