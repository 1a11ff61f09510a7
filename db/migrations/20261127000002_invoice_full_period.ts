// The unclipped plan period of an invoice (the proration denominator of its subscription fee). Stored so a
// draft refreshed during its grace period is re-rated with exactly the period pair it was created with.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.timestamp('full_period_start', { useTz: true });
    t.timestamp('full_period_end', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('full_period_start');
    t.dropColumn('full_period_end');
  });
}
