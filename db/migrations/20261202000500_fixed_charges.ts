// Lago's fixed charges (issues 11 + 13): a plan's recurring fee for a number of units of an add-on, billed every
// period without events (billing/fixed-charges.ts).
// - fixed_charges: one row per fixed charge of a plan; `code` unique within the plan; `units` the plan-level units.
//   Plan overrides' child plans have none of their own: they bill their parent's (db/repositories/fixed-charges.ts).
// - subscription_fixed_charge_units: a subscription's units timeline (Lago's fixed charge events): the units in
//   force from `effective_at` on. Unique on (subscription, fixed charge, effective_at): a repeated PUT at the same
//   instant replaces the value instead of adding a second change.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fixed_charges', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('plan_id').notNullable().references('plans.id').onDelete('CASCADE');
    t.uuid('add_on_id').notNullable().references('add_ons.id');
    t.text('code').notNullable();
    t.integer('position').notNullable().defaultTo(0);
    t.text('charge_model').notNullable();
    t.boolean('pay_in_advance').notNullable().defaultTo(false);
    t.boolean('prorated').notNullable().defaultTo(false);
    t.text('invoice_display_name');
    t.jsonb('properties').notNullable().defaultTo('{}');
    t.decimal('units', 40, 15).notNullable().defaultTo(0);
    t.jsonb('tax_codes').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['plan_id', 'code']);
    t.index(['organization_id', 'plan_id']);
  });
  await knex.schema.createTable('subscription_fixed_charge_units', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('subscription_id').notNullable().references('subscriptions.id').onDelete('CASCADE');
    t.uuid('fixed_charge_id').notNullable().references('fixed_charges.id').onDelete('CASCADE');
    t.decimal('units', 40, 15).notNullable();
    t.timestamp('effective_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['subscription_id', 'fixed_charge_id', 'effective_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('subscription_fixed_charge_units');
  await knex.schema.dropTableIfExists('fixed_charges');
}
