// Issue 13 (del13): DELETE /invoices/:lago_id (Lago's Invoices::DeleteService). A deleted draft stays as a tombstone
// row with status 'deleted' (Lago keeps it too, as an "invisible" status): the row keeps the period's unique key
// (subscription, period, type, source_key), so a re-run close, the sweeper or a refresh finds it and never creates the
// period's invoice again. Readers that serve clients leave it out (db/repositories/invoices.ts VISIBLE). A deleted
// invoice never took a number (the CHECK below) and records when it was deleted.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.timestamp('deleted_at', { useTz: true }).nullable();
  });
  await knex.raw(`ALTER TABLE invoices ADD CONSTRAINT invoices_deleted_unnumbered CHECK (status <> 'deleted' OR (number IS NULL AND deleted_at IS NOT NULL))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE invoices DROP CONSTRAINT invoices_deleted_unnumbered');
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('deleted_at');
  });
}
