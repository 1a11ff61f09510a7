// Taxes on invoices and fees (billing/tax): each fee's taxes_amount_cents, its precise amount, its summed rate and
// its applied taxes (Lago FeeAppliedTaxObject, camel-cased JSON); each invoice's applied taxes (Lago
// InvoiceAppliedTaxObject), its pro-rated taxes_rate and the automatic rule's decision with its reasons (null when
// tax objects applied). invoices.taxes_amount_cents already exists.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('fees', (t) => {
    t.bigInteger('taxes_amount_cents').notNullable().defaultTo(0);
    t.decimal('taxes_precise_amount_cents', 40, 15).notNullable().defaultTo(0);
    t.decimal('taxes_rate', 12, 5).notNullable().defaultTo(0);
    t.jsonb('applied_taxes').notNullable().defaultTo('[]');
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.decimal('taxes_rate', 12, 5).notNullable().defaultTo(0);
    t.jsonb('applied_taxes').notNullable().defaultTo('[]');
    t.jsonb('tax_decision');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('taxes_rate');
    t.dropColumn('applied_taxes');
    t.dropColumn('tax_decision');
  });
  await knex.schema.alterTable('fees', (t) => {
    t.dropColumn('taxes_amount_cents');
    t.dropColumn('taxes_precise_amount_cents');
    t.dropColumn('taxes_rate');
    t.dropColumn('applied_taxes');
  });
}
