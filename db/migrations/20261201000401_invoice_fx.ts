// Invoicing in another currency than the plan's (billing/fx.ts convertInvoice):
// - organizations.fx_invoicing_enabled: the organization allows a customer currency ≠ the plan's price currency.
// - invoices.price_currency: the plan's currency the lines were priced in (null: no conversion);
//   fx_rate (1 price_currency = fx_rate invoice currency), fx_rate_source (ecb | manual), fx_rate_date.
// - invoices.fx_status: null (no conversion), `converted`, or `waiting_for_rate` (no usable rate yet: the
//   draft has no fees, cannot be finalized, and fx_error says why).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organizations', (t) => {
    t.boolean('fx_invoicing_enabled').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.specificType('price_currency', 'char(3)').nullable();
    t.specificType('fx_rate', 'numeric').nullable();
    t.text('fx_rate_source').nullable();
    t.date('fx_rate_date').nullable();
    t.text('fx_status').nullable();
    t.text('fx_error').nullable();
  });
  await knex.raw(
    "ALTER TABLE invoices ADD CONSTRAINT invoices_fx_status_check CHECK (fx_status IS NULL OR fx_status IN ('converted', 'waiting_for_rate'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_fx_status_check');
  await knex.schema.alterTable('invoices', (t) => {
    for (const c of ['fx_error', 'fx_status', 'fx_rate_date', 'fx_rate_source', 'fx_rate', 'price_currency']) t.dropColumn(c);
  });
  await knex.schema.alterTable('organizations', (t) => {
    t.dropColumn('fx_invoicing_enabled');
  });
}
