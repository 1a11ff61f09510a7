// Taxes (Lago's tax objects) and where they apply.
//
// - taxes: organization-scoped, unique code per organization; `rate` a percentage (numeric, never a float);
//   `applied_to_organization` = one of the organization's default taxes (Lago's deprecated flag, kept as the
//   organization default until billing entities exist).
// - customer_taxes, plan_taxes, charge_taxes, add_on_taxes: the tax codes attached at each level of Lago's
//   precedence. Deleting a tax detaches it everywhere (ON DELETE CASCADE), as Lago does. add_on_taxes is ready
//   for add-ons (no add_ons table yet, so add_on_id has no foreign key).
// - customers.customer_type (company | individual), state, zipcode, and the VAT number's last VIES check
//   (status, evidence, when): what the automatic rules need.
// - organization_tax_settings: the automatic rules switch, the seller's country and the configured rates (US states,
//   other countries), one row per organization.
import type { Knex } from 'knex';

function joinTable(knex: Knex, name: string, owner: string, ownerTable: string | null) {
  return knex.schema.createTable(name, (t) => {
    t.uuid('organization_id').notNullable().references('organizations.id');
    const col = t.uuid(owner).notNullable();
    if (ownerTable) col.references(`${ownerTable}.id`).onDelete('CASCADE');
    t.uuid('tax_id').notNullable().references('taxes.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary([owner, 'tax_id']);
    t.index(['tax_id']);
  });
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('taxes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.text('name').notNullable();
    t.text('description');
    t.decimal('rate', 9, 5).notNullable();
    t.boolean('applied_to_organization').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'code']);
  });
  await knex.raw('ALTER TABLE taxes ADD CONSTRAINT taxes_rate_range CHECK (rate >= 0 AND rate <= 100)');
  await joinTable(knex, 'customer_taxes', 'customer_id', 'customers');
  await joinTable(knex, 'plan_taxes', 'plan_id', 'plans');
  await joinTable(knex, 'charge_taxes', 'charge_id', 'charges');
  await joinTable(knex, 'add_on_taxes', 'add_on_id', null);

  await knex.schema.alterTable('customers', (t) => {
    t.text('customer_type');
    t.text('state');
    t.text('zipcode');
    // valid | invalid | unknown (VIES could not tell) | null (never checked); the VIES answer kept as evidence.
    t.text('vat_number_status');
    t.jsonb('vat_number_check');
    t.timestamp('vat_number_checked_at', { useTz: true });
  });

  await knex.schema.createTable('organization_tax_settings', (t) => {
    t.uuid('organization_id').primary().references('organizations.id');
    t.boolean('automatic_taxes_enabled').notNullable().defaultTo(false);
    t.specificType('seller_country', 'char(2)');
    // {"NY": "8.875"}: state → percentage as a decimal string
    t.jsonb('us_state_rates').notNullable().defaultTo('{}');
    // {"CH": "8.1"}: country → percentage as a decimal string
    t.jsonb('country_rates').notNullable().defaultTo('{}');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('organization_tax_settings');
  await knex.schema.alterTable('customers', (t) => {
    t.dropColumn('customer_type');
    t.dropColumn('state');
    t.dropColumn('zipcode');
    t.dropColumn('vat_number_status');
    t.dropColumn('vat_number_check');
    t.dropColumn('vat_number_checked_at');
  });
  for (const name of ['add_on_taxes', 'charge_taxes', 'plan_taxes', 'customer_taxes']) await knex.schema.dropTable(name);
  await knex.schema.dropTable('taxes');
}
